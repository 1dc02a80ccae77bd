/*-------------------------------------------------------------------------
 *
 * amount_guard.h
 *	  The amount guard (doc/amounts.md): a protected money column may only
 *	  change in ways that cannot lose a concurrent update.  Three files
 *	  share the work:
 *
 *	  amount_statement.c	which amount columns an UPDATE computes from
 *							themselves, worked out when it is planned and
 *							pushed as a per-statement context when it runs;
 *	  row_locks.c			the rows this transaction locked FOR UPDATE or
 *							FOR NO KEY UPDATE, and when;
 *	  amount_guard.c		the trigger that judges each changed row.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_AMOUNT_GUARD_H
#define TENANT_GUARD_AMOUNT_GUARD_H

#include "tenant_guard.h"

#include "executor/execdesc.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

/* The documented SQLSTATE of a refused amount update: class 23. */
#define ERRCODE_NON_ATOMIC_AMOUNT	MAKE_SQLSTATE('2','3','T','G','1')

/* amount_guard.c */
extern bool relation_has_amount_guard(Relation rel);
extern bool amount_column_is_protected(Relation rel, AttrNumber attnum);
extern const char *amount_version_column(Relation rel);
extern void amount_guard_skip_for_relative_statement(QueryDesc *queryDesc);

/* amount_statement.c */
/* The context of one running statement; lives on the hook's stack. */
typedef struct AmountStatement
{
	List	   *relative;		/* carried relative assignments, see .c */
	PlannedStmt *plan;
	CommandId	command_id;		/* the statement's own command id */
	MemoryContext cxt;			/* lives as long as the statement */
	Oid			ancestors_of;	/* the partition whose ancestors ... */
	List	   *ancestors;		/* ... are these, in cxt */
	struct AmountStatement *outer;
} AmountStatement;

extern List *amount_relative_assignments(Query *parse);
extern void amount_statement_enter(AmountStatement *statement,
								   QueryDesc *queryDesc);
extern void amount_statement_leave(AmountStatement *statement);
extern bool amount_statement_is_relative(Relation rel, const char *column);
extern bool amount_statement_compares(Relation rel, const char *column);
extern bool amount_plan_is_relative(PlannedStmt *plan, Relation rel,
									const char *column);
extern const char *amount_statement_command(void);
extern CommandId amount_statement_command_id(void);

/* row_locks.c */
extern void row_locks_watch(QueryDesc *queryDesc);
extern bool row_locked_before_statement(Relation rel, ItemPointer tid);

#endif							/* TENANT_GUARD_AMOUNT_GUARD_H */

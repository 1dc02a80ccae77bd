/*-------------------------------------------------------------------------
 *
 * scope_values.h
 *	  The tenant values a scoped statement names, checked against the tenant
 *	  context when the plan runs.  See scope_values.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_SCOPE_VALUES_H
#define TENANT_GUARD_SCOPE_VALUES_H

#include "tenant_guard.h"

#include "executor/execdesc.h"
#include "nodes/pathnodes.h"

extern List *scope_values_collect(List *checks, PlannerInfo *root,
								  RelOptInfo *rel, Oid relid,
								  AttrNumber tenant_attnum, bool writes);
extern List *scope_values_collect_clause(List *checks, PlannerInfo *root,
										 Node *clause, Oid relid,
										 AttrNumber tenant_attnum, bool writes);
extern List *scope_values_add_written(List *checks, Oid relid, Expr *value);
extern List *scope_values_add_pinned(List *checks, Oid relid, Node *value);
extern List *scope_values_changeable_tables(List *checks);
extern void scope_values_check_execution(QueryDesc *queryDesc, int eflags);

/* A value a plan names, outside the current context, seen at planning. */
typedef struct ScopeValueViolation
{
	Oid			relid;
	const char *column;
	bool		writes;
	char	   *value;
} ScopeValueViolation;

extern List *scope_values_constant_violations(PlannedStmt *stmt);

#endif							/* TENANT_GUARD_SCOPE_VALUES_H */

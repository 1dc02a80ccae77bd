/*-------------------------------------------------------------------------
 *
 * written_scopes.h
 *	  What a statement's conditions as written say of the tenant scope of
 *	  each of its tables, before the planner runs.  See written_scopes.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_WRITTEN_SCOPES_H
#define TENANT_GUARD_WRITTEN_SCOPES_H

#include "tenant_guard.h"

#include "nodes/bitmapset.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

/*
 * By range-table index: not scoped, scoped by a term of its own, or pinned
 * to a single value (directly, or through equal tenant columns).
 */
typedef enum ScopeAsWritten
{
	NOT_SCOPED = 0,
	SCOPED,
	PINNED
} ScopeAsWritten;

/* statements of up to this many range-table entries need no allocation */
#define WRITTEN_SCOPES_INLINE 8

typedef struct WrittenScopes
{
	int			nrels;
	AttrNumber *tenant_attnum;	/* [rti], InvalidAttrNumber: no tenant table */
	char	   *scope;			/* [rti], a ScopeAsWritten */
	Node	  **pinned_to;		/* [rti], the value of a PINNED one */
	List	   *equal_pairs;	/* rti, rti, ... of equal tenant columns */
	List	   *outer_pairs;	/* rti, rti: the second equals the first where it has a row */
	Bitmapset  *nullable;		/* rtis on the nullable side of an outer join */
	bool		pinned_alone;	/* no pinned table's tenant column in another term */
	AttrNumber	inline_attnum[WRITTEN_SCOPES_INLINE + 1];
	char		inline_scope[WRITTEN_SCOPES_INLINE + 1];
	Node	   *inline_pinned_to[WRITTEN_SCOPES_INLINE + 1];
} WrittenScopes;

extern void written_scopes_note(Query *parse, WrittenScopes *ws);
extern bool written_scopes_all_scoped(WrittenScopes *ws, bool *all_pinned);
extern List *written_scopes_value_checks(WrittenScopes *ws, Query *parse);
extern bool written_scopes_pin_plan(WrittenScopes *ws, Query *parse, PlannedStmt *stmt);
extern void jointree_relations(Node *node, bool nullable, Bitmapset **in_tree,
							   Bitmapset **nullable_rtis);

#endif							/* TENANT_GUARD_WRITTEN_SCOPES_H */

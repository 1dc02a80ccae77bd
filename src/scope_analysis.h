/*-------------------------------------------------------------------------
 *
 * scope_analysis.h
 *	  Does a scan's restriction contain a tenant scope?  See
 *	  scope_analysis.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_SCOPE_ANALYSIS_H
#define TENANT_GUARD_SCOPE_ANALYSIS_H

#include "tenant_guard.h"

#include "nodes/pathnodes.h"

extern bool clause_is_tenant_scope(PlannerInfo *root, Node *clause,
								   Index relid, AttrNumber tenant_attnum);
extern bool restriction_has_tenant_scope(PlannerInfo *root, RelOptInfo *rel,
										 AttrNumber tenant_attnum);
extern bool restriction_may_answer(PlannerInfo *root, RestrictInfo *rinfo);
extern bool restriction_has_leaky_code(PlannerInfo *root, RelOptInfo *rel,
									   AttrNumber tenant_attnum);
extern bool clause_is_checked_scope(PlannerInfo *root, Index relid,
									AttrNumber tenant_attnum, Node *clause);
extern bool clause_equates_columns(Node *clause, Var **left, Var **right);
extern bool clause_pins_column(Node *clause, Index relid, AttrNumber attnum);
extern Node *clause_pinned_value(Node *clause, Index relid, AttrNumber attnum);
extern bool is_single_value(Node *node);

#endif							/* TENANT_GUARD_SCOPE_ANALYSIS_H */

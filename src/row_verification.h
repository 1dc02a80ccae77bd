/*-------------------------------------------------------------------------
 *
 * row_verification.h
 *	  Row verification of statements without a tenant scope: a check of
 *	  each row they return, join, aggregate, update or delete against the
 *	  tenant context.  See row_verification.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_ROW_VERIFICATION_H
#define TENANT_GUARD_ROW_VERIFICATION_H

#include "tenant_guard.h"

#include "nodes/bitmapset.h"
#include "nodes/parsenodes.h"
#include "nodes/pathnodes.h"
#include "written_scopes.h"

extern Query *row_verification_candidate(Query *parse, List **predicted,
										 WrittenScopes *ws, bool *pinned);
extern bool row_verification_instrument(Query *query, List *findings,
										List *changeable,
										List **row_checks);

/* The row checks of a plan's output, read when it runs (row_checks.c). */
#define ROW_CHECK_COLUMN "tenant_guard_row_check"
#define ROW_CHECK_WRITES	0x01
#define ROW_CHECK_NULLABLE	0x02
extern bool row_verification_covers(RangeTblEntry *rte);
extern void row_verification_referential_checks(Query *parse);
extern Query *row_verification_citus_candidate(Query *parse);
extern bool row_verification_citus_instrument(Query *query, List *findings,
											  List **planned);
extern bool row_verification_planned_settings_hold(List *planned);
extern void row_verification_citus_remark(Query *parse);

extern bool row_verification_merge_exposed(Query *parse);
extern void row_verification_order_barriers(PlannerInfo *root, RelOptInfo *rel,
											RangeTblEntry *rte);

#endif							/* TENANT_GUARD_ROW_VERIFICATION_H */

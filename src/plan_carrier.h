/*-------------------------------------------------------------------------
 *
 * plan_carrier.h
 *	  What tenant_guard works out while a statement is planned and needs
 *	  again when the plan runs, carried inside the PlannedStmt.  See
 *	  plan_carrier.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_PLAN_CARRIER_H
#define TENANT_GUARD_PLAN_CARRIER_H

#include "tenant_guard.h"

#include "nodes/plannodes.h"

extern void plan_carrier_attach(PlannedStmt *stmt, List *scope_findings,
								List *relative_amounts, List *value_checks,
								List *verified_findings, List *row_checks,
								List *verified_under);
extern bool plan_carrier_is_attached(PlannedStmt *stmt, List **value_checks);
extern List *plan_carrier_scope_findings(PlannedStmt *stmt);
extern List *plan_carrier_relative_amounts(PlannedStmt *stmt);
extern List *plan_carrier_value_checks(PlannedStmt *stmt);
extern bool plan_carrier_judges_more_than_values(PlannedStmt *stmt);
extern List *plan_carrier_verified_findings(PlannedStmt *stmt);
extern List *plan_carrier_row_checks(PlannedStmt *stmt);
extern List *plan_carrier_verified_under(PlannedStmt *stmt);
extern bool plan_carrier_can_pin(PlannedStmt *stmt, Index rti, Oid relid);
extern void plan_carrier_pin(PlannedStmt *stmt, Index rti, Node *value);
extern Node *plan_carrier_pinned_value(RangeTblEntry *rte);

/*
 * False when the plan surely carries nothing: its range table does not end
 * in an RTE_RESULT entry.  Inline, for the executor hooks of the plans
 * that carry nothing, almost all of them.
 */
static inline bool
plan_carrier_may_be_present(PlannedStmt *stmt)
{
	return stmt->rtable != NIL &&
		llast_node(RangeTblEntry, stmt->rtable)->rtekind == RTE_RESULT;
}

#endif							/* TENANT_GUARD_PLAN_CARRIER_H */

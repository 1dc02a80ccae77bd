/*-------------------------------------------------------------------------
 *
 * plan_carrier.c
 *	  Carrying the guards' planning results inside the PlannedStmt.
 *
 * The scoping guard's findings (scoping_guard.c) and the amount guard's
 * relative assignments (amount_statement.c) are worked out from the
 * statement while it is planned and used each time the plan runs.  They
 * travel inside the PlannedStmt, so they survive plan caching (prepared
 * statements, PL/pgSQL, SPI), which copies plans with copyObject.
 *
 * They ride on one extra RTE_RESULT entry appended to the plan's final
 * range table, named "tenant_guard": the findings in its securityQuals
 * field, the relative assignments in its values_lists field, and what the
 * tenant context needs (the tenant values of scopes, the findings that
 * row verification covers, the row checks of the output, the settings a
 * Citus row condition was planned with) in its functions field, as a
 * four-element List.  The executor
 * ignores range-table entries that are not relations, and both fields of
 * an RTE_RESULT entry in a final range table are otherwise always empty
 * (setrefs.c clears securityQuals; only RTE_VALUES uses values_lists).
 * Both are Lists of plain value nodes, which copyObject copies.  Parallel
 * workers receive the securityQuals only (the plan serialization writes
 * just the fields an RTE_RESULT uses), which is all they read: they never
 * run UPDATE triggers.  Plans with nothing to carry carry nothing.
 *
 * The commonest scoped statement, a SELECT whose every tenant table its
 * conditions as written pin to a constant or parameter (written_scopes.c),
 * needs nothing but those values, and carries each on its table's own
 * entry instead, in values_lists, as a one-element List: no entry is added
 * to its range table, and a plan carries pinned tables or such an entry,
 * never both.  setrefs.c copies the top query's entries to the
 * same indexes of the final range table (and clears values_lists, which
 * only RTE_VALUES uses); copyObject copies the field; the serialization
 * for parallel workers leaves it out, like the carrier's other Lists but
 * securityQuals.  The value node is the statement's own, not a copy, as
 * the final range table shares its entries' names with the Query: the
 * plan lives in the Query's memory or is copied whole (plan caching,
 * cursors).
 *
 * This file owns the carrier's shape; it must not interpret what it
 * carries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "plan_carrier.h"

#include "nodes/makefuncs.h"
#include "parser/parsetree.h"

#define CARRIER_NAME "tenant_guard"

/* the carrier's name, shared by the carriers made in this process */
static Alias carrier_alias = {.type = T_Alias, .aliasname = CARRIER_NAME};

void
plan_carrier_attach(PlannedStmt *stmt, List *scope_findings,
					List *relative_amounts, List *value_checks,
					List *verified_findings, List *row_checks,
					List *verified_under)
{
	RangeTblEntry *carrier;

	if (scope_findings == NIL && relative_amounts == NIL &&
		value_checks == NIL && verified_findings == NIL && row_checks == NIL &&
		verified_under == NIL)
		return;
	carrier = makeNode(RangeTblEntry);
	carrier->rtekind = RTE_RESULT;
	carrier->eref = &carrier_alias;
	carrier->securityQuals = scope_findings;
	carrier->values_lists = relative_amounts;
	if (value_checks != NIL || verified_findings != NIL || row_checks != NIL ||
		verified_under != NIL)
		carrier->functions = list_make4(value_checks, verified_findings, row_checks,
										verified_under);
	stmt->rtable = lappend(stmt->rtable, carrier);
}

/* The carrier of a plan, or NULL for almost every plan, cheaply. */
static RangeTblEntry *
plan_carrier(PlannedStmt *stmt)
{
	RangeTblEntry *last;

	if (stmt->rtable == NIL)
		return NULL;
	last = llast_node(RangeTblEntry, stmt->rtable);
	if (last->rtekind != RTE_RESULT || last->eref == NULL)
		return NULL;
	/* a copy (a cached plan) is told by its name */
	if (last->eref != &carrier_alias &&
		strcmp(last->eref->aliasname, CARRIER_NAME) != 0)
		return NULL;
	return last;
}

/*
 * Does the plan carry an entry of tenant_guard's own?  If so, *value_checks
 * is what plan_carrier_value_checks returns, found with the same look.
 */
bool
plan_carrier_is_attached(PlannedStmt *stmt, List **value_checks)
{
	RangeTblEntry *carrier = plan_carrier(stmt);

	*value_checks = carrier && carrier->functions ? linitial(carrier->functions) : NIL;
	return carrier != NULL;
}

List *
plan_carrier_scope_findings(PlannedStmt *stmt)
{
	RangeTblEntry *carrier = plan_carrier(stmt);

	return carrier ? carrier->securityQuals : NIL;
}

List *
plan_carrier_relative_amounts(PlannedStmt *stmt)
{
	RangeTblEntry *carrier = plan_carrier(stmt);

	return carrier ? carrier->values_lists : NIL;
}

List *
plan_carrier_value_checks(PlannedStmt *stmt)
{
	List	   *value_checks;

	(void) plan_carrier_is_attached(stmt, &value_checks);
	return value_checks;
}

List *
plan_carrier_verified_findings(PlannedStmt *stmt)
{
	RangeTblEntry *carrier = plan_carrier(stmt);

	return carrier && carrier->functions ? lsecond(carrier->functions) : NIL;
}

List *
plan_carrier_row_checks(PlannedStmt *stmt)
{
	RangeTblEntry *carrier = plan_carrier(stmt);

	return carrier && carrier->functions ? lthird(carrier->functions) : NIL;
}

List *
plan_carrier_verified_under(PlannedStmt *stmt)
{
	RangeTblEntry *carrier = plan_carrier(stmt);

	return carrier && carrier->functions ? lfourth(carrier->functions) : NIL;
}

/*
 * Can the plan carry the value of the table at rti of the Query planned:
 * is that index of its range table the same relation?  Not when a planner
 * hook of another extension made the plan of something else.
 */
bool
plan_carrier_can_pin(PlannedStmt *stmt, Index rti, Oid relid)
{
	RangeTblEntry *rte;

	if (rti < 1 || rti > (Index) list_length(stmt->rtable))
		return false;
	rte = rt_fetch(rti, stmt->rtable);
	return rte->rtekind == RTE_RELATION && rte->relid == relid && rte->values_lists == NIL;
}

/* After plan_carrier_can_pin: the table at rti is pinned to value. */
void
plan_carrier_pin(PlannedStmt *stmt, Index rti, Node *value)
{
	rt_fetch(rti, stmt->rtable)->values_lists = list_make1(value);
}

/* The value a table of the plan is pinned to, or NULL. */
Node *
plan_carrier_pinned_value(RangeTblEntry *rte)
{
	if (rte->rtekind != RTE_RELATION || rte->values_lists == NIL)
		return NULL;
	return linitial(rte->values_lists);
}

/*
 * Does the plan carry findings or row checks, not only value checks (the
 * common carrier of a scoped statement, which needs no more than them)?
 */
bool
plan_carrier_judges_more_than_values(PlannedStmt *stmt)
{
	RangeTblEntry *carrier = plan_carrier(stmt);

	if (carrier == NULL)
		return false;
	return carrier->securityQuals != NIL ||
		(carrier->functions != NIL &&
		 (lsecond(carrier->functions) != NIL || lthird(carrier->functions) != NIL));
}

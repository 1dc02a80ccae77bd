/*-------------------------------------------------------------------------
 *
 * scope_params.c
 *	  Whether a PARAM_EXEC Param in a scan's restriction holds one tenant
 *	  value for every row the scan is run for (doc/scoping.md).
 *
 * The planner turns three different things into PARAM_EXEC Params:
 *	- the output of an initplan, a subquery run once per execution of the
 *	  query level that holds it.  It is one value for the statement only
 *	  when the initplan reads nothing of an outer row: "(SELECT f.id)"
 *	  inside a LATERAL subquery or a correlated sublink is an initplan of
 *	  the inner level, re-run for every row of f, so it takes every value of
 *	  f.id in turn.  Such an initplan lists the outer row's Param in its
 *	  plan's extParam;
 *	- a correlated reference to an outer query's column (or a lateral
 *	  reference), listed as a PlannerParamItem in the plan_params of the
 *	  query level that owns the column.  It takes the value of the outer
 *	  row at hand; when the outer level's WHERE restricts that column to a
 *	  tenant value X ("i.firm_id = 5 AND i.client_id IN (SELECT c.id FROM
 *	  clients c WHERE c.firm_id = i.firm_id)"), every outer row that
 *	  reaches the output has the value X, so the reference is as good as X;
 *	- anything else (a recursive CTE's work table, nestloop parameters,
 *	  which do not exist yet when scans are judged): not a tenant value.
 *
 * The outer levels are still being planned when a sublink or subquery
 * scan is judged: their relations have no restriction yet, so the outer
 * WHERE is read from the outer query's jointree, in whatever state its
 * preprocessing has reached (raw, or an implicit-AND list).  Only its
 * top-level terms count, judged by the same rules as a scan's restriction;
 * equivalence classes do not exist yet.
 *
 * None of this runs on the path of "tenant_col = Const/$1".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scope_params.h"

#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/subselect.h"
#include "scope_analysis.h"

/*
 * An initplan's extParam is computed by SS_finalize_plan, which
 * standard_planner runs over every finished subplan, in the order they were
 * made, once the whole statement is planned; that is after every scan was
 * judged.  Running it here early on the finished subplans, in that same
 * order, computes the same sets (it only assigns extParam and allParam),
 * and standard_planner recomputes them later anyway.  A nested subplan is
 * always made, and numbered, before the plan that holds it.
 */
static Bitmapset *
initplan_external_params(PlannerGlobal *glob, SubPlan *initplan)
{
	ListCell   *lp;
	ListCell   *lr;
	Plan	   *plan = NULL;

	forboth(lp, glob->subplans, lr, glob->subroots)
	{
		plan = (Plan *) lfirst(lp);
		if (plan != NULL)
			SS_finalize_plan(lfirst_node(PlannerInfo, lr), plan);
		if (foreach_current_index(lp) + 1 == initplan->plan_id)
			break;
	}
	return plan != NULL ? plan->extParam : NULL;
}

static bool param_is_fixed_initplan_output(PlannerInfo *root, int paramid);

/*
 * An initplan is run once for the statement when every Param it reads from
 * outside is itself the output of such an initplan (external parameters,
 * $1, are not PARAM_EXEC and never appear here).
 */
static bool
initplan_is_uncorrelated(PlannerInfo *level, SubPlan *initplan)
{
	Bitmapset  *external = initplan_external_params(level->glob, initplan);
	int			paramid = -1;

	while ((paramid = bms_next_member(external, paramid)) >= 0)
	{
		if (!param_is_fixed_initplan_output(level, paramid))
			return false;
	}
	return true;
}

static bool
param_is_fixed_initplan_output(PlannerInfo *root, int paramid)
{
	check_stack_depth();
	for (PlannerInfo *level = root; level != NULL; level = level->parent_root)
	{
		ListCell   *lc;

		foreach(lc, level->init_plans)
		{
			SubPlan    *initplan = (SubPlan *) lfirst(lc);

			if (list_member_int(initplan->setParam, paramid))
				return initplan_is_uncorrelated(level, initplan);
		}
	}
	return false;
}

/* The outer query's column a correlation Param stands for, and its level. */
static Var *
correlated_column(PlannerInfo *root, int paramid, PlannerInfo **owner)
{
	for (PlannerInfo *level = root; level != NULL; level = level->parent_root)
	{
		ListCell   *lc;

		foreach(lc, level->plan_params)
		{
			PlannerParamItem *item = (PlannerParamItem *) lfirst(lc);

			if (item->paramId != paramid)
				continue;
			if (!IsA(item->item, Var))
				return NULL;
			*owner = level;
			return (Var *) item->item;
		}
	}
	return NULL;
}

/* A Const that is not NULL, a parameter of the statement ($1), or a list of them. */
static bool
is_fixed_value(Node *node)
{
	Node	   *bare = node;
	ListCell   *lc;

	while (bare != NULL && IsA(bare, RelabelType))
		bare = (Node *) ((RelabelType *) bare)->arg;
	if (bare == NULL || !IsA(bare, ArrayExpr))
		return is_single_value(node);
	/* IN (1, 2) before the planner has folded it into one Const */
	foreach(lc, ((ArrayExpr *) bare)->elements)
	{
		if (!is_fixed_value(lfirst(lc)))
			return false;
	}
	return true;
}

/*
 * "column = Const", "column = $1", "column IN (Consts)" or "= ANY ($1)":
 * strict and cheap, so that PostgreSQL evaluates it before a costlier
 * sublink of the same WHERE, and false for every other tenant.  Anything
 * else (IS NOT DISTINCT FROM, IS TRUE, a function of the caller's that may
 * be made costlier than the sublink) does not restrict the rows the
 * sublink runs for.
 */
static bool
term_fixes_column(PlannerInfo *level, Node *term, Var *column)
{
	Node	   *value;

	if (is_andclause(term))
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) term)->args)
			if (term_fixes_column(level, lfirst(lc), column))
				return true;
		return false;
	}
	if (IsA(term, OpExpr) && list_length(((OpExpr *) term)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) term;

		Node	   *left = linitial(op->args);

		while (left != NULL && IsA(left, RelabelType))
			left = (Node *) ((RelabelType *) left)->arg;
		value = (left != NULL && IsA(left, Var) &&
				 ((Var *) left)->varno == column->varno &&
				 ((Var *) left)->varattno == column->varattno) ?
			lsecond(op->args) : linitial(op->args);
	}
	else if (IsA(term, ScalarArrayOpExpr))
		value = lsecond(((ScalarArrayOpExpr *) term)->args);
	else
		return false;
	return is_fixed_value(value) &&
		clause_is_tenant_scope(level, term, column->varno, column->varattno);
}

/* Is the relation on the nullable side of an outer join of the tree? */
static bool
on_nullable_side(Node *jtnode, Index varno, bool nullable)
{
	if (jtnode == NULL)
		return false;
	if (IsA(jtnode, RangeTblRef))
		return nullable && ((RangeTblRef *) jtnode)->rtindex == (int) varno;
	if (IsA(jtnode, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) jtnode)->fromlist)
			if (on_nullable_side(lfirst(lc), varno, nullable))
				return true;
		return false;
	}
	if (IsA(jtnode, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) jtnode;
		bool		left_nullable = join->jointype == JOIN_RIGHT ||
			join->jointype == JOIN_FULL;
		bool		right_nullable = join->jointype == JOIN_LEFT ||
			join->jointype == JOIN_FULL;

		return on_nullable_side(join->larg, varno, nullable || left_nullable) ||
			on_nullable_side(join->rarg, varno, nullable || right_nullable);
	}
	return true;				/* unknown: do not rely on it */
}

/* Does a top-level term of the level's WHERE restrict the column to X? */
static bool
where_restricts_column(PlannerInfo *level, Var *column)
{
	Node	   *quals = level->parse->jointree->quals;
	ListCell   *lc;

	if (quals == NULL ||
		on_nullable_side((Node *) level->parse->jointree, column->varno, false))
		return false;
	if (!IsA(quals, List))
		return term_fixes_column(level, quals, column);
	foreach(lc, (List *) quals)
	{
		if (term_fixes_column(level, lfirst(lc), column))
			return true;
	}
	return false;
}

bool
exec_param_is_tenant_value(PlannerInfo *root, int paramid)
{
	PlannerInfo *owner = NULL;
	Var		   *column;

	check_stack_depth();
	if (param_is_fixed_initplan_output(root, paramid))
		return true;
	column = correlated_column(root, paramid, &owner);
	return column != NULL && where_restricts_column(owner, column);
}

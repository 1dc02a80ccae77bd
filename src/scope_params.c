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
 * The planner also pulls sublinks up into semi joins: EXISTS always, and
 * from PostgreSQL 17 on also a correlated IN (SELECT ...).  The outer
 * reference is then a plain column of the same level, in the semi join's
 * conditions, and the scan has nothing in its restriction.  The same
 * statement must get the same verdict on every version, so such a
 * condition counts as the correlated reference it was written as
 * (semi_join_correlation_is_scope).
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
#include "parser/parsetree.h"
#include "scope_analysis.h"
#include "tenant_catalog.h"

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

/* The initplan of this level or an outer one that sets the Param, and its level; or NULL. */
static SubPlan *
initplan_setting(PlannerInfo *root, int paramid, PlannerInfo **owner)
{
	for (PlannerInfo *level = root; level != NULL; level = level->parent_root)
	{
		ListCell   *lc;

		foreach(lc, level->init_plans)
		{
			SubPlan    *initplan = lfirst_node(SubPlan, lc);

			if (list_member_int(initplan->setParam, paramid))
			{
				*owner = level;
				return initplan;
			}
		}
	}
	return NULL;
}

static bool
param_is_fixed_initplan_output(PlannerInfo *root, int paramid)
{
	PlannerInfo *owner;
	SubPlan    *initplan;

	check_stack_depth();
	initplan = initplan_setting(root, paramid, &owner);
	return initplan != NULL && initplan_is_uncorrelated(owner, initplan);
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
term_fixes_column(PlannerInfo *level, Node *term, Var *column, Node **fixing)
{
	Node	   *value;

	if (is_andclause(term))
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) term)->args)
			if (term_fixes_column(level, lfirst(lc), column, fixing))
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
	if (!is_fixed_value(value) ||
		!clause_is_tenant_scope(level, term, column->varno, column->varattno))
		return false;
	*fixing = term;
	return true;
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

/*
 * The top-level AND terms of conditions in whatever state preprocessing
 * left them: an implicit-AND list, an AND clause, one term, or none.
 */
static List *
top_level_terms(Node *quals)
{
	if (quals == NULL)
		return NIL;
	if (IsA(quals, List))
		return (List *) quals;
	if (is_andclause(quals))
		return ((BoolExpr *) quals)->args;
	return list_make1(quals);
}

/*
 * Does a term of these conditions restrict the column to X?  Sets *fixing
 * to that term.
 */
static bool
quals_restrict_column(PlannerInfo *level, Node *quals, Var *column,
					  Node **fixing)
{
	ListCell   *lc;

	foreach(lc, top_level_terms(quals))
	{
		if (term_fixes_column(level, lfirst(lc), column, fixing))
			return true;
	}
	return false;
}

/*
 * Does a top-level term of the level's WHERE restrict the column to X?
 * Not for a relation on the nullable side of an outer join: a sublink in
 * its ON clause runs for rows the WHERE has not filtered yet.
 */
static bool
where_restricts_column(PlannerInfo *level, Var *column, Node **fixing)
{
	return !on_nullable_side((Node *) level->parse->jointree, column->varno, false) &&
		quals_restrict_column(level, level->parse->jointree->quals, column, fixing);
}

bool
exec_param_is_tenant_value(PlannerInfo *root, int paramid)
{
	PlannerInfo *owner = NULL;
	Var		   *column;
	Node	   *fixing;

	check_stack_depth();
	if (param_is_fixed_initplan_output(root, paramid))
		return true;
	column = correlated_column(root, paramid, &owner);
	return column != NULL && where_restricts_column(owner, column, &fixing);
}

/*
 * Is the PARAM_EXEC Param the output of an initplan of this level or an
 * outer one?  The initplan runs when a row first reaches the Param.
 */
bool
exec_param_is_initplan_output(PlannerInfo *root, int paramid)
{
	PlannerInfo *owner;

	return initplan_setting(root, paramid, &owner) != NULL;
}

/* Is the PARAM_EXEC Param a correlated (or lateral) reference to an outer row? */
bool
exec_param_is_correlation(PlannerInfo *root, int paramid)
{
	PlannerInfo *owner;

	return correlated_column(root, paramid, &owner) != NULL;
}

/*
 * For a correlation Param that exec_param_is_tenant_value accepted: the
 * outer WHERE term that restricts its column to X, the outer level, and
 * the column; NULL when there is none.  scope_values.c checks that X, the
 * tenant value the scan then reads, against the context: the outer column
 * need not be a tenant column ("i.firm_id = f.id" in a subquery of
 * "firms f WHERE f.id = 2"), so the outer scan's own checks may not.
 */
Node *
correlated_scope_term(PlannerInfo *root, int paramid, PlannerInfo **owner,
					  Var **column)
{
	Node	   *fixing = NULL;

	*column = correlated_column(root, paramid, owner);
	if (*column == NULL || !where_restricts_column(*owner, *column, &fixing))
		return NULL;
	return fixing;
}

/* Is the relation in this part of the join tree? */
static bool
jointree_contains(Node *jtnode, Index relid)
{
	if (jtnode == NULL)
		return false;
	if (IsA(jtnode, RangeTblRef))
		return ((RangeTblRef *) jtnode)->rtindex == (int) relid;
	if (IsA(jtnode, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) jtnode)->fromlist)
			if (jointree_contains(lfirst(lc), relid))
				return true;
		return false;
	}
	if (IsA(jtnode, JoinExpr))
		return jointree_contains(((JoinExpr *) jtnode)->larg, relid) ||
			jointree_contains(((JoinExpr *) jtnode)->rarg, relid);
	return false;
}

/*
 * Does a condition of the join tree that every output row satisfies
 * restrict the column to X?  The conditions of the FROM lists and inner
 * joins that hold the column's relation, not those of the nullable side of
 * an outer join or the inner side of a semi or anti join.  Pulling a
 * sublink up moves the WHERE terms beside it into such a FROM list.
 */
static bool
jointree_restricts_column(PlannerInfo *level, Node *jtnode, Var *column)
{
	ListCell   *lc;
	Node	   *fixing;

	if (jtnode == NULL || !jointree_contains(jtnode, column->varno))
		return false;
	if (IsA(jtnode, FromExpr))
	{
		FromExpr   *from = (FromExpr *) jtnode;

		if (quals_restrict_column(level, from->quals, column, &fixing))
			return true;
		foreach(lc, from->fromlist)
			if (jointree_restricts_column(level, lfirst(lc), column))
				return true;
		return false;
	}
	if (IsA(jtnode, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) jtnode;

		switch (join->jointype)
		{
			case JOIN_INNER:
				return quals_restrict_column(level, join->quals, column, &fixing) ||
					jointree_restricts_column(level, join->larg, column) ||
					jointree_restricts_column(level, join->rarg, column);
			case JOIN_LEFT:
			case JOIN_SEMI:
			case JOIN_ANTI:
				return jointree_restricts_column(level, join->larg, column);
			case JOIN_RIGHT:
				return jointree_restricts_column(level, join->rarg, column);
			default:
				return false;
		}
	}
	return false;
}

/*
 * Is the term "tenant_col = outer.tenant_col", the outer column a tenant
 * column (so that its own scan's values are checked) of a relation outside
 * the semi join's inner side, which the level's WHERE restricts to X?
 */
static bool
term_correlates_tenant(PlannerInfo *root, Node *term, Node *inner_side,
					   Index relid, AttrNumber tenant_attnum)
{
	Var		   *left;
	Var		   *right;
	Var		   *outer;
	RangeTblEntry *rte;

	if (!clause_equates_columns(term, &left, &right))
		return false;
	if (left->varno == relid && left->varattno == tenant_attnum)
		outer = right;
	else if (right->varno == relid && right->varattno == tenant_attnum)
		outer = left;
	else
		return false;
	if (outer->varno < 1 || outer->varno > list_length(root->parse->rtable) ||
		jointree_contains(inner_side, outer->varno))
		return false;
	rte = rt_fetch(outer->varno, root->parse->rtable);
	return rte->rtekind == RTE_RELATION &&
		tenant_table_attnum(rte->relid) == outer->varattno &&
		jointree_restricts_column(root, (Node *) root->parse->jointree, outer);
}

static bool
quals_correlate_tenant(PlannerInfo *root, Node *quals, Node *inner_side,
					   Index relid, AttrNumber tenant_attnum)
{
	ListCell   *lc;

	foreach(lc, top_level_terms(quals))
	{
		if (term_correlates_tenant(root, lfirst(lc), inner_side, relid,
								   tenant_attnum))
			return true;
	}
	return false;
}

/*
 * The conditions of the inner side of a semi join that holds the relation:
 * the join's own (where EXISTS puts its WHERE) and those of every FROM list
 * and inner join on that side (where a pulled-up IN keeps its WHERE).
 */
static bool
inner_side_correlates_tenant(PlannerInfo *root, Node *jtnode, Node *inner_side,
							 Index relid, AttrNumber tenant_attnum)
{
	ListCell   *lc;

	if (jtnode == NULL || IsA(jtnode, RangeTblRef))
		return false;
	if (IsA(jtnode, FromExpr))
	{
		FromExpr   *from = (FromExpr *) jtnode;

		if (quals_correlate_tenant(root, from->quals, inner_side, relid,
								   tenant_attnum))
			return true;
		foreach(lc, from->fromlist)
			if (inner_side_correlates_tenant(root, lfirst(lc), inner_side,
											 relid, tenant_attnum))
				return true;
		return false;
	}
	if (IsA(jtnode, JoinExpr) && ((JoinExpr *) jtnode)->jointype == JOIN_INNER)
	{
		JoinExpr   *join = (JoinExpr *) jtnode;

		return quals_correlate_tenant(root, join->quals, inner_side, relid,
									  tenant_attnum) ||
			inner_side_correlates_tenant(root, join->larg, inner_side, relid,
										 tenant_attnum) ||
			inner_side_correlates_tenant(root, join->rarg, inner_side, relid,
										 tenant_attnum);
	}
	return false;
}

/* Find the semi joins whose inner side holds the relation. */
static bool
semi_join_correlates_tenant(PlannerInfo *root, Node *jtnode, Index relid,
							AttrNumber tenant_attnum)
{
	ListCell   *lc;

	if (jtnode == NULL || IsA(jtnode, RangeTblRef))
		return false;
	if (IsA(jtnode, FromExpr))
	{
		foreach(lc, ((FromExpr *) jtnode)->fromlist)
			if (semi_join_correlates_tenant(root, lfirst(lc), relid, tenant_attnum))
				return true;
		return false;
	}
	if (IsA(jtnode, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) jtnode;

		if (join->jointype == JOIN_SEMI && jointree_contains(join->rarg, relid) &&
			(quals_correlate_tenant(root, join->quals, join->rarg, relid,
									tenant_attnum) ||
			 inner_side_correlates_tenant(root, join->rarg, join->rarg, relid,
										  tenant_attnum)))
			return true;
		return semi_join_correlates_tenant(root, join->larg, relid, tenant_attnum) ||
			semi_join_correlates_tenant(root, join->rarg, relid, tenant_attnum);
	}
	return false;
}

/*
 * A scan on the inner side of a semi join (a pulled-up EXISTS or IN
 * sublink) whose conditions equate its tenant column with an outer tenant
 * column that the level's WHERE restricts to X: scoped, as the correlated
 * sublink it was written as.  Only semi joins: SQL has no syntax for them,
 * so each is a sublink, while an anti join may be a LEFT JOIN the planner
 * reduced, whose join conditions are no scope.
 */
bool
semi_join_correlation_is_scope(PlannerInfo *root, Index relid,
							   AttrNumber tenant_attnum)
{
	check_stack_depth();
	return root->parse->jointree != NULL &&
		semi_join_correlates_tenant(root, (Node *) root->parse->jointree, relid,
									tenant_attnum);
}

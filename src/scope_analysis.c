/*-------------------------------------------------------------------------
 *
 * scope_analysis.c
 *	  Predicate analysis: whether the restriction the planner will apply to
 *	  one scan of a tenant table scopes it to known tenants (doc/scoping.md).
 *
 * The input is a base relation's baserestrictinfo, as the planner holds it
 * just before it builds access paths: constants are folded, views and SQL
 * functions inlined, "col = col" turned into "col IS NOT NULL", and
 * equivalence classes have produced "i.firm_id = 5" from
 * "i.firm_id = c.firm_id AND c.firm_id = 5".  Join clauses are never in
 * baserestrictinfo (they are in joininfo, whatever join method is chosen
 * later), so a parameterized nested-loop index condition cannot count as a
 * scope; and a generic plan's "$1" is a Param where a custom plan has a
 * Const, both of which count.  So the verdict depends on the query, not on
 * the plan shape.
 *
 * A restriction is scoped when one of its top-level AND terms is
 *	- tenant_col = X, X = tenant_col, tenant_col = ANY (X) (which is also
 *	  what tenant_col IN (...) becomes), or
 *	- an OR whose every arm is scoped by such a term,
 * where X is a constant, a parameter, an uncorrelated scalar subquery (an
 * initplan's output), or a non-volatile expression of those that reads no
 * column of the query.  WHERE CURRENT OF counts as a scope too: the cursor
 * that chose the row was judged when it was declared.  Binary-compatible casts (RelabelType) around the
 * tenant column are looked through.
 *
 * This file runs for every tenant-table scan the planner sees.  On the path
 * of an ordinary scoped query it must not allocate memory or read catalogs:
 * the first "tenant_col = Const/Param" term ends the search, and operator
 * classification is cached.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scope_analysis.h"

#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "optimizer/optimizer.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

/*
 * A tiny cache of operator classifications.  Queries use a handful of
 * equality operators, so a few slots with round-robin replacement keep the
 * hot path free of syscache lookups.
 */
#define OPERATOR_CACHE_SLOTS 8

typedef struct OperatorClass
{
	Oid			opno;
	bool		is_equality;
} OperatorClass;

static OperatorClass operator_cache[OPERATOR_CACHE_SLOTS];
static int	operator_cache_next = 0;

/*
 * An operator counts as equality when its restriction estimator is eqsel,
 * as for every built-in "=" (also cross-type ones such as int8 = int4) and
 * for the "=" of any well-behaved type.
 */
static bool
operator_is_equality(Oid opno)
{
	OperatorClass *slot;

	for (int i = 0; i < OPERATOR_CACHE_SLOTS; i++)
	{
		if (operator_cache[i].opno == opno)
			return operator_cache[i].is_equality;
	}
	slot = &operator_cache[operator_cache_next];
	operator_cache_next = (operator_cache_next + 1) % OPERATOR_CACHE_SLOTS;
	slot->is_equality = (get_oprrest(opno) == F_EQSEL);
	slot->opno = opno;
	return slot->is_equality;
}

static Node *
strip_binary_casts(Node *node)
{
	while (node != NULL && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	return node;
}

static bool
is_tenant_column(Node *node, Index relid, AttrNumber tenant_attnum)
{
	Var		   *var;

	node = strip_binary_casts(node);
	if (node == NULL || !IsA(node, Var))
		return false;
	var = (Var *) node;
	return var->varno == relid && var->varattno == tenant_attnum &&
		var->varlevelsup == 0;
}

/*
 * An uncorrelated scalar subquery has become an initplan whose result is a
 * PARAM_EXEC Param; a correlated reference to an outer query's column is a
 * PARAM_EXEC Param too, but it is not the output of any initplan.
 */
static bool
param_is_initplan_output(PlannerInfo *root, int paramid)
{
	for (PlannerInfo *level = root; level != NULL; level = level->parent_root)
	{
		ListCell   *lc;

		foreach(lc, level->init_plans)
		{
			SubPlan    *initplan = (SubPlan *) lfirst(lc);

			if (list_member_int(initplan->setParam, paramid))
				return true;
		}
	}
	return false;
}

/*
 * True when the expression depends on something of the query's own rows:
 * a column, a correlated parameter, a correlated subquery.
 */
static bool
depends_on_query_rows(Node *node, PlannerInfo *root)
{
	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_Var:
		case T_PlaceHolderVar:
		case T_SubPlan:
		case T_AlternativeSubPlan:
		case T_Aggref:
		case T_WindowFunc:
		case T_GroupingFunc:
			return true;
		case T_Param:
			{
				Param	   *param = (Param *) node;

				return param->paramkind == PARAM_EXEC &&
					!param_is_initplan_output(root, param->paramid);
			}
		default:
			break;
	}
	return expression_tree_walker(node, depends_on_query_rows, (void *) root);
}

/* Is this the X of "tenant_col = X"? */
static bool
is_tenant_value(PlannerInfo *root, Node *node)
{
	node = strip_binary_casts(node);
	if (node == NULL)
		return false;
	if (IsA(node, Const))
		return true;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN)
		return true;
	return !depends_on_query_rows(node, root) &&
		!contain_volatile_functions(node);
}

bool
term_is_tenant_scope(PlannerInfo *root, Node *clause, Index relid,
					 AttrNumber tenant_attnum)
{
	if (is_andclause(clause))
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) clause)->args)
		{
			if (term_is_tenant_scope(root, lfirst(lc), relid, tenant_attnum))
				return true;
		}
		return false;
	}
	if (is_orclause(clause))
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) clause)->args)
		{
			if (!term_is_tenant_scope(root, lfirst(lc), relid, tenant_attnum))
				return false;
		}
		return true;
	}
	if (is_opclause(clause) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) clause;
		Node	   *left = linitial(op->args);
		Node	   *right = lsecond(op->args);

		if (!operator_is_equality(op->opno))
			return false;
		return (is_tenant_column(left, relid, tenant_attnum) &&
				is_tenant_value(root, right)) ||
			(is_tenant_column(right, relid, tenant_attnum) &&
			 is_tenant_value(root, left));
	}
	/*
	 * WHERE CURRENT OF touches the one row a cursor is on, and the cursor's
	 * query was judged when it was declared.
	 */
	if (IsA(clause, CurrentOfExpr))
		return ((CurrentOfExpr *) clause)->cvarno == relid;
	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) clause;

		return saop->useOr && operator_is_equality(saop->opno) &&
			is_tenant_column(linitial(saop->args), relid, tenant_attnum) &&
			is_tenant_value(root, lsecond(saop->args));
	}
	return false;
}

/* A constant FALSE or NULL gating qual means the scan returns nothing. */
static bool
is_constant_false(Node *clause)
{
	Const	   *constant;

	if (clause == NULL || !IsA(clause, Const))
		return false;
	constant = (Const *) clause;
	return constant->constisnull || !DatumGetBool(constant->constvalue);
}

bool
restriction_has_tenant_scope(PlannerInfo *root, RelOptInfo *rel,
							 AttrNumber tenant_attnum)
{
	ListCell   *lc;

	/* A scan the planner has proven empty reads nothing. */
	if (IS_DUMMY_REL(rel))
		return true;

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (rinfo->pseudoconstant)
		{
			if (is_constant_false((Node *) rinfo->clause))
				return true;
			continue;
		}
		if (term_is_tenant_scope(root, (Node *) rinfo->clause, rel->relid,
								 tenant_attnum))
			return true;
	}
	return false;
}

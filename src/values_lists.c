/*-------------------------------------------------------------------------
 *
 * values_lists.c
 *	  "x IN (VALUES (1), (2))" as "x = ANY ('{1,2}')" in a statement the
 *	  guard judges, before it is planned, on the PostgreSQL versions whose
 *	  planner does not make that change itself (before 18).
 *
 * PostgreSQL 18's planner turns an IN over a one-column VALUES list of
 * constants into a ScalarArrayOpExpr, which restricts the scan like an IN
 * list and is a tenant scope when x is the tenant column.  15 to 17 plan a
 * semi join with the VALUES list instead, whose condition is in no scan's
 * restriction, so the same statement would be unscoped there.  A statement
 * gets the same verdict on every version, so this file makes the same
 * change, under the same conditions as 18's convert_VALUES_to_ANY (a
 * top-level AND term of a WHERE or ON clause, a binary operator over a
 * one-column VALUES list of at least two rows, each a constant once
 * folded), on every query level of the statement.  It does what the
 * newer planner does, so the plan is the one 18 would make.
 *
 * This file must not judge statements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "values_lists.h"

#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/lsyscache.h"

/* The ScalarArrayOpExpr for an IN over a VALUES list of constants, or NULL. */
static Node *
values_sublink_as_array(SubLink *sublink)
{
	OpExpr	   *test = (OpExpr *) sublink->testexpr;
	Query	   *values = (Query *) sublink->subselect;
	RangeTblEntry *rte;
	ScalarArrayOpExpr *saop;
	ArrayExpr  *array;
	Node	   *right;
	ListCell   *lc;

	if (sublink->subLinkType != ANY_SUBLINK || test == NULL || !IsA(test, OpExpr) ||
		list_length(test->args) != 2 || !IsA(values, Query) ||
		list_length(values->targetList) != 1 || list_length(values->rtable) != 1 ||
		values->limitCount != NULL || values->limitOffset != NULL ||
		values->sortClause != NIL || values->jointree->quals != NULL ||
		values->cteList != NIL || values->hasAggs || values->groupClause != NIL ||
		values->distinctClause != NIL || values->setOperations != NULL)
		return NULL;
	right = lsecond(test->args);
	rte = linitial_node(RangeTblEntry, values->rtable);
	if (!IsA(right, Param) || ((Param *) right)->paramkind != PARAM_SUBLINK ||
		rte->rtekind != RTE_VALUES || list_length(rte->values_lists) < 2 ||
		!IsA(linitial_node(TargetEntry, values->targetList)->expr, Var) ||
		!OidIsValid(get_array_type(exprType(right))))
		return NULL;

	array = makeNode(ArrayExpr);
	array->element_typeid = exprType(right);
	array->array_typeid = get_array_type(array->element_typeid);
	array->array_collid = exprCollation(right);
	array->location = -1;
	foreach(lc, rte->values_lists)
	{
		Node	   *value = eval_const_expressions(NULL, linitial((List *) lfirst(lc)));

		if (!IsA(value, Const) || exprType(value) != array->element_typeid)
			return NULL;
		array->elements = lappend(array->elements, value);
	}

	saop = makeNode(ScalarArrayOpExpr);
	saop->opno = test->opno;
	saop->opfuncid = get_opcode(test->opno);
	saop->useOr = true;
	saop->inputcollid = test->inputcollid;
	saop->args = list_make2(linitial(test->args), array);
	saop->location = -1;
	return (Node *) saop;
}

static Node *
term_as_array(Node *term)
{
	Node	   *converted = NULL;

	if (term != NULL && IsA(term, SubLink))
		converted = values_sublink_as_array((SubLink *) term);
	return converted != NULL ? converted : term;
}

/* The top-level AND terms of a WHERE or ON clause, converted in place. */
static Node *
quals_as_arrays(Node *quals)
{
	ListCell   *lc;

	if (!is_andclause(quals))
		return term_as_array(quals);
	foreach(lc, ((BoolExpr *) quals)->args)
		lfirst(lc) = term_as_array(lfirst(lc));
	return quals;
}

/* The ON clauses of the join tree, as 18 converts them too. */
static void
join_quals_as_arrays(Node *jtnode)
{
	ListCell   *lc;

	if (jtnode == NULL)
		return;
	if (IsA(jtnode, FromExpr))
	{
		foreach(lc, ((FromExpr *) jtnode)->fromlist)
			join_quals_as_arrays(lfirst(lc));
	}
	else if (IsA(jtnode, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) jtnode;

		/* as 18, not a FULL join's */
		if (join->jointype != JOIN_FULL)
			join->quals = quals_as_arrays(join->quals);
		join_quals_as_arrays(join->larg);
		join_quals_as_arrays(join->rarg);
	}
}

static bool
convert_query_levels(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;

		/* a VALUES list in a condition is a sublink of that level */
		if (query->jointree != NULL && query->hasSubLinks)
		{
			query->jointree->quals = quals_as_arrays(query->jointree->quals);
			join_quals_as_arrays((Node *) query->jointree);
		}
		return query_tree_walker(query, convert_query_levels, context, 0);
	}
	return expression_tree_walker(node, convert_query_levels, context);
}

/* Can a level of the statement hold a sublink?  Cheap, for the common case. */
static bool
may_hold_sublinks(Query *parse)
{
	ListCell   *lc;

	if (parse->hasSubLinks || parse->cteList != NIL)
		return true;
	foreach(lc, parse->rtable)
	{
		if (lfirst_node(RangeTblEntry, lc)->rtekind == RTE_SUBQUERY)
			return true;
	}
	return false;
}

void
values_lists_as_arrays(Query *parse)
{
	if (!TG_PLANNER_TURNS_VALUES_INTO_ARRAYS && may_hold_sublinks(parse))
		(void) convert_query_levels((Node *) parse, NULL);
}

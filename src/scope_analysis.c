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
 *	  what tenant_col IN (...) becomes), tenant_col IS NOT DISTINCT FROM X,
 *	- P IS TRUE where P is scoped, or
 *	- an OR whose every arm is scoped by such a term,
 * where X is a constant, a parameter, an uncorrelated scalar subquery (an
 * initplan's output), a reference to an outer query's column that the
 * outer WHERE restricts to such an X (scope_params.c), or a non-volatile
 * expression of those that reads no column of the query.  WHERE CURRENT OF
 * counts as a scope too: the cursor that chose the row was judged when it
 * was declared.
 *
 * "=" is an operator of a btree operator family under the equality
 * strategy: only a superuser can create operator classes and families, so
 * a role cannot make its own always-true operator count, whatever it names
 * it or wherever it puts it in search_path.  The estimator an operator
 * declares (eqsel) is chosen freely by whoever creates it, so it proves
 * nothing.
 *
 * Casts around the tenant column are looked through when they keep
 * equality exact, that is, when two different tenant values can never
 * become equal after the cast: binary-compatible casts (varchar, text),
 * integer widening, integer to numeric, integer and uuid to text through
 * their output functions, char(n) to text or varchar.  Casts that lose
 * information (to float, rounding, arithmetic, lower()) are not.
 *
 * This file runs for every tenant-table scan the planner sees.  On the path
 * of an ordinary scoped query it must not allocate memory or read catalogs:
 * the first "tenant_col = Const/Param" term ends the search, operator
 * classification is cached, and casts are only looked for when the tenant
 * column is not a plain Var.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scope_analysis.h"

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/transam.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "leaky_code.h"
#include "scope_params.h"
#include "tenant_context.h"
#include "utils/catcache.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * A tiny cache of operator classifications.  Queries use a handful of
 * equality operators, so a few slots with round-robin replacement keep the
 * hot path free of syscache lookups.  An operator's btree membership can
 * only be changed by a superuser, and a built-in one not at all.
 */
#define OPERATOR_CACHE_SLOTS 8

typedef struct OperatorClass
{
	Oid			opno;
	bool		is_equality;
} OperatorClass;

static OperatorClass operator_cache[OPERATOR_CACHE_SLOTS];
static int	operator_cache_next = 0;

/* Is the operator the equality member of some btree operator family? */
static bool
is_btree_equality(Oid opno)
{
	CatCList   *members = SearchSysCacheList1(AMOPOPID,
											  ObjectIdGetDatum(opno));
	bool		result = false;

	for (int i = 0; i < members->n_members && !result; i++)
	{
		Form_pg_amop member =
			(Form_pg_amop) GETSTRUCT(&members->members[i]->tuple);

		result = member->amopmethod == BTREE_AM_OID &&
			member->amopstrategy == BTEqualStrategyNumber;
	}
	ReleaseSysCacheList(members);
	return result;
}

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
	slot->opno = InvalidOid;
	slot->is_equality = is_btree_equality(opno);
	slot->opno = opno;
	return slot->is_equality;
}

/*
 * Does equality under this collation pick one value?  Not under a
 * nondeterministic collation (a role can create one, case-insensitive, in
 * pg_temp): 'acme' would also match 'ACME'.  The database's default and
 * the C collation are deterministic; others are looked up.
 */
static bool
collation_is_deterministic(Oid collid)
{
	return !OidIsValid(collid) || collid == DEFAULT_COLLATION_OID ||
		collid == C_COLLATION_OID || get_collation_isdeterministic(collid);
}

/*
 * Cast functions that map different values to different values, so that
 * "cast(tenant_col) = X" still picks one tenant.  char(n) to text drops
 * the trailing blanks that char(n) equality ignores anyway.
 */
static bool
is_exact_cast_function(Oid funcid)
{
	switch (funcid)
	{
		case F_INT4_INT2:
		case F_INT8_INT2:
		case F_INT8_INT4:
		case F_NUMERIC_INT2:
		case F_NUMERIC_INT4:
		case F_NUMERIC_INT8:
		case F_TEXT_BPCHAR:
			return true;
		default:
			return false;
	}
}

/* Integers and uuids have one text form per value. */
static bool
is_exact_io_cast(CoerceViaIO *cast)
{
	if (cast->resulttype != TEXTOID && cast->resulttype != VARCHAROID)
		return false;
	switch (exprType((Node *) cast->arg))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case UUIDOID:
			return true;
		default:
			return false;
	}
}

static Node *
strip_exact_casts(Node *node)
{
	for (;;)
	{
		if (node == NULL)
			return NULL;
		if (IsA(node, RelabelType))
			node = (Node *) ((RelabelType *) node)->arg;
		else if (IsA(node, FuncExpr) &&
				 list_length(((FuncExpr *) node)->args) == 1 &&
				 is_exact_cast_function(((FuncExpr *) node)->funcid))
			node = linitial(((FuncExpr *) node)->args);
		else if (IsA(node, CoerceViaIO) && is_exact_io_cast((CoerceViaIO *) node))
			node = (Node *) ((CoerceViaIO *) node)->arg;
		else
			return node;
	}
}

static bool
is_tenant_column(Node *node, Index relid, AttrNumber tenant_attnum)
{
	Var		   *var;

	/* the plain column first: no cast to look for on the hot path */
	if (node != NULL && !IsA(node, Var))
		node = strip_exact_casts(node);
	if (node == NULL || !IsA(node, Var))
		return false;
	var = (Var *) node;
	return var->varno == relid && var->varattno == tenant_attnum &&
		var->varlevelsup == 0;
}

/*
 * True when the expression can take more than one value while the scan
 * runs: it reads a column, a row-dependent parameter, a subquery run per
 * row.  SubLinks only appear in an outer query's WHERE not yet
 * preprocessed (scope_params.c), and are not looked into.
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
		case T_SubLink:
		case T_Aggref:
		case T_WindowFunc:
		case T_GroupingFunc:
			return true;
		case T_Param:
			{
				Param	   *param = (Param *) node;

				/* without a planner (root NULL), any PARAM_EXEC may vary */
				return param->paramkind == PARAM_EXEC &&
					(root == NULL ||
					 !exec_param_is_tenant_value(root, param->paramid));
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
	while (node != NULL && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL)
		return false;
	if (IsA(node, Const) || is_constant_array(node))
		return true;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN)
		return true;
	return !depends_on_query_rows(node, root) &&
		!contain_volatile_functions(node);
}

/* tenant_col = X or X = tenant_col, the operator checked last (cached) */
static bool
is_equality_with_tenant_value(PlannerInfo *root, Oid opno, List *args,
							  Index relid, AttrNumber tenant_attnum)
{
	Node	   *left;
	Node	   *right;

	if (list_length(args) != 2)
		return false;
	left = linitial(args);
	right = lsecond(args);
	if (!((is_tenant_column(left, relid, tenant_attnum) &&
		   is_tenant_value(root, right)) ||
		  (is_tenant_column(right, relid, tenant_attnum) &&
		   is_tenant_value(root, left))))
		return false;
	return operator_is_equality(opno);
}

static bool
is_tenant_list(PlannerInfo *root, ScalarArrayOpExpr *saop, Index relid,
			   AttrNumber tenant_attnum)
{
	return saop->useOr &&
		is_tenant_column(linitial(saop->args), relid, tenant_attnum) &&
		is_tenant_value(root, lsecond(saop->args)) &&
		operator_is_equality(saop->opno) &&
		collation_is_deterministic(saop->inputcollid);
}

static bool
has_null_constant(List *args)
{
	ListCell   *lc;

	foreach(lc, args)
	{
		Node	   *arg = lfirst(lc);

		while (arg != NULL && IsA(arg, RelabelType))
			arg = (Node *) ((RelabelType *) arg)->arg;
		if (arg != NULL && IsA(arg, Const) && ((Const *) arg)->constisnull)
			return true;
	}
	return false;
}

static bool
is_bool_clause_scope(PlannerInfo *root, BoolExpr *clause, Index relid,
					 AttrNumber tenant_attnum)
{
	ListCell   *lc;
	Node	   *negated;

	if (clause->boolop == NOT_EXPR)
	{
		/*
		 * NOT (tenant_col IS DISTINCT FROM X), but not with X NULL, which
		 * matches the rows that have no tenant at all
		 */
		negated = linitial(clause->args);
		return IsA(negated, DistinctExpr) &&
			!has_null_constant(((DistinctExpr *) negated)->args) &&
			collation_is_deterministic(((DistinctExpr *) negated)->inputcollid) &&
			is_equality_with_tenant_value(root, ((DistinctExpr *) negated)->opno,
										  ((DistinctExpr *) negated)->args,
										  relid, tenant_attnum);
	}
	foreach(lc, clause->args)
	{
		bool		scoped = clause_is_tenant_scope(root, lfirst(lc), relid,
													tenant_attnum);

		/* AND: one scoped term is enough; OR: every arm must be scoped */
		if (clause->boolop == AND_EXPR && scoped)
			return true;
		if (clause->boolop == OR_EXPR && !scoped)
			return false;
	}
	return clause->boolop == OR_EXPR;
}

/*
 * Exported for scope_params.c, which judges an outer query's WHERE terms
 * by the same rules, and for row_verification.c, which asks it of a
 * statement's WHERE terms as written, before planning (root NULL).
 */
bool
clause_is_tenant_scope(PlannerInfo *root, Node *clause, Index relid,
					   AttrNumber tenant_attnum)
{
	check_stack_depth();
	if (clause == NULL)
		return false;
	switch (nodeTag(clause))
	{
		case T_OpExpr:
			return is_equality_with_tenant_value(root, ((OpExpr *) clause)->opno,
												 ((OpExpr *) clause)->args,
												 relid, tenant_attnum) &&
				collation_is_deterministic(((OpExpr *) clause)->inputcollid);
		case T_BoolExpr:
			return is_bool_clause_scope(root, (BoolExpr *) clause, relid,
										tenant_attnum);
		case T_ScalarArrayOpExpr:
			return is_tenant_list(root, (ScalarArrayOpExpr *) clause, relid,
								  tenant_attnum);
		case T_BooleanTest:
			/* P IS TRUE holds only where P does */
			return ((BooleanTest *) clause)->booltesttype == IS_TRUE &&
				clause_is_tenant_scope(root,
									   (Node *) ((BooleanTest *) clause)->arg,
									   relid, tenant_attnum);
		case T_CurrentOfExpr:

			/*
			 * WHERE CURRENT OF touches the one row a cursor is on, and the
			 * cursor's query was judged when it was declared.
			 */
			return ((CurrentOfExpr *) clause)->cvarno == relid;
		default:
			return false;
	}
}

/*
 * Is the clause "a.x = b.y" with the equality of a btree operator family,
 * between two plain columns of the query itself?  Sets the two columns.
 * For row_verification.c, which follows such terms of a statement as
 * written to the tables a scope reaches through joins.
 */
bool
clause_equates_columns(Node *clause, Var **left, Var **right)
{
	OpExpr	   *op;

	if (clause == NULL || !IsA(clause, OpExpr))
		return false;
	op = (OpExpr *) clause;
	if (list_length(op->args) != 2 || !IsA(linitial(op->args), Var) ||
		!IsA(lsecond(op->args), Var))
		return false;
	*left = linitial_node(Var, op->args);
	*right = lsecond_node(Var, op->args);
	return (*left)->varlevelsup == 0 && (*right)->varlevelsup == 0 &&
		operator_is_equality(op->opno) &&
		collation_is_deterministic(op->inputcollid);
}

/*
 * A constant that is not NULL or a parameter of the statement ($1), under
 * binary-compatible casts.  Also for scope_params.c.
 */
bool
is_single_value(Node *node)
{
	while (node != NULL && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL)
		return false;
	if (IsA(node, Const))
		return !((Const *) node)->constisnull;
	return IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN;
}

/*
 * The value of "col = value", the plain column (no cast) against one
 * constant or parameter, with the equality of a btree operator family;
 * NULL for any other clause.  The planner puts such a column in an
 * equivalence class with the value, and passes the value on to every
 * column the statement equates with it (written_scopes.c relies on that;
 * IN lists and ORs are not passed on).
 */
Node *
clause_pinned_value(Node *clause, Index relid, AttrNumber attnum)
{
	OpExpr	   *op;
	Node	   *left;
	Node	   *right;

	if (clause == NULL || !IsA(clause, OpExpr))
		return NULL;
	op = (OpExpr *) clause;
	if (list_length(op->args) != 2)
		return NULL;
	left = linitial(op->args);
	right = lsecond(op->args);
	if (!IsA(left, Var))
	{
		Node	   *swap = left;

		left = right;
		right = swap;
	}
	if (IsA(left, Var) && ((Var *) left)->varno == (int) relid &&
		((Var *) left)->varattno == attnum && ((Var *) left)->varlevelsup == 0 &&
		is_single_value(right) && operator_is_equality(op->opno) &&
		collation_is_deterministic(op->inputcollid))
		return right;
	return NULL;
}

/* Is the clause "col = value" (clause_pinned_value)? */
bool
clause_pins_column(Node *clause, Index relid, AttrNumber attnum)
{
	return clause_pinned_value(clause, relid, attnum) != NULL;
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

/* Does the clause read an outer row's column (a correlation Param)? */
static bool
reads_correlation(Node *node, PlannerInfo *root)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		return exec_param_is_correlation(root, ((Param *) node)->paramid);
	return expression_tree_walker(node, reads_correlation, (void *) root);
}

/* Does the clause read an initplan's output? */
static bool
reads_initplan_output(Node *node, PlannerInfo *root)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		return exec_param_is_initplan_output(root, ((Param *) node)->paramid);
	return expression_tree_walker(node, reads_initplan_output, (void *) root);
}

/*
 * Could a condition of a scan tell, by failing or by its side effects,
 * that a row reached it?  Code that is not leakproof can, whether or not
 * it reads a column, and so can an initplan whose output the condition
 * reads: the initplan runs when the first row reaches it.
 */
bool
restriction_may_answer(PlannerInfo *root, RestrictInfo *rinfo)
{
	return !rinfo->pseudoconstant &&
		(expression_may_leak((Node *) rinfo->clause) ||
		 reads_initplan_output((Node *) rinfo->clause, root));
}

static bool
is_user_function(Oid funcid, void *context)
{
	return funcid >= FirstNormalObjectId;
}

static bool
calls_user_function(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, is_user_function, NULL))
		return true;
	return expression_tree_walker(node, calls_user_function, context);
}

/*
 * Is the clause the table's tenant column compared with a value of
 * built-in code that is not volatile (current_setting(...)::int, an
 * initplan's output)?  The value checks compute that value against the
 * context when the statement starts, so it has failed then if it fails at
 * all: it answers nothing about the rows, and stays a scope.
 */
bool
clause_is_checked_scope(PlannerInfo *root, Index relid, AttrNumber tenant_attnum,
						Node *clause)
{
	return (IsA(clause, OpExpr) || IsA(clause, ScalarArrayOpExpr)) &&
		clause_is_tenant_scope(root, clause, relid, tenant_attnum) &&
		!contain_volatile_functions(clause) && !calls_user_function(clause, NULL);
}

/*
 * Does a condition of the scan other than a checked scope run such code
 * on every row it reads?
 */
bool
restriction_has_leaky_code(PlannerInfo *root, RelOptInfo *rel, AttrNumber tenant_attnum)
{
	ListCell   *lc;

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (restriction_may_answer(root, rinfo) &&
			!clause_is_checked_scope(root, rel->relid, tenant_attnum, (Node *) rinfo->clause))
			return true;
	}
	return false;
}

/*
 * A scope through a correlation (an outer row's column, or a semi join's
 * condition) restricts the rows the statement uses, not the rows the scan
 * reads: a hash or merge join reads them all and applies the condition
 * after the scan.  So it counts only when the scan's own conditions are
 * leakproof; otherwise such code would see every tenant's rows.
 *
 * Under a tenant context the same holds for a scope by a constant or a
 * parameter: the scan evaluates its conditions in the order of their
 * cost, and a cheaper condition that is not leakproof (a function of the
 * statement's own with a low COST) runs before the scope, on every row.
 * The table is then verified row by row instead, with the check as a
 * barrier before such code (row_verification.c).  Without a context the
 * scope is all there is to judge, whoever's rows it names.
 */
bool
restriction_has_tenant_scope(PlannerInfo *root, RelOptInfo *rel,
							 AttrNumber tenant_attnum)
{
	ListCell   *lc;
	bool		correlated = false;
	bool		constant = false;

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
		if (!clause_is_tenant_scope(root, (Node *) rinfo->clause, rel->relid,
									tenant_attnum))
			continue;
		if (root != NULL && reads_correlation((Node *) rinfo->clause, root))
			correlated = true;
		else if (root == NULL || !row_verification_in_force())
			return true;
		else
			constant = true;
	}
	if (!constant && !correlated &&
		!semi_join_correlation_is_scope(root, rel->relid, tenant_attnum))
		return false;
	return !restriction_has_leaky_code(root, rel, tenant_attnum);
}

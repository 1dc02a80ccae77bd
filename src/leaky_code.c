/*-------------------------------------------------------------------------
 *
 * leaky_code.c
 *	  Does an expression run code that is not leakproof?  A scope next to
 *	  such code does not exempt its table (scope_analysis.c,
 *	  row_verification.c), so every scoped scan asks.
 *
 * Stricter than PostgreSQL's contain_leaked_vars(), which counts only code
 * that reads a column: code that reads none (1/(random()*0)::int, a user
 * function without arguments, a cast of a parameter) still runs once for
 * each row that reaches it, and by failing or by its side effects tells
 * whether a row did.  So any function that is not leakproof counts.
 *
 * contain_leaked_vars() looks every operator's function up in the system
 * cache.  Here the common nodes (columns, constants, parameters, AND, OR,
 * NOT, relabelings, operators and functions over them) are walked with
 * the answer for each function kept in a small table, emptied when any
 * function changes; any other node is left to contain_leaked_vars() and
 * to a walk for functions that are not leakproof, so that the answer is
 * never more permissive than PostgreSQL's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "leaky_code.h"

#include "access/transam.h"
#include "catalog/pg_proc.h"

#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#define LEAKPROOF_SLOTS 32

typedef struct LeakproofSlot
{
	Oid			funcid;			/* InvalidOid: empty */
	bool		leakproof;
} LeakproofSlot;

static LeakproofSlot leakproof_slots[LEAKPROOF_SLOTS];
static bool callback_registered = false;

static void
forget_leakproof(Datum arg, int cacheid, uint32 hashvalue)
{
	memset(leakproof_slots, 0, sizeof(leakproof_slots));
}

static bool
function_is_leakproof(Oid funcid)
{
	LeakproofSlot *slot = &leakproof_slots[funcid % LEAKPROOF_SLOTS];

	if (!callback_registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, forget_leakproof, (Datum) 0);
		callback_registered = true;
	}
	if (slot->funcid != funcid)
	{
		slot->leakproof = get_func_leakproof(funcid);
		slot->funcid = funcid;
	}
	return slot->leakproof;
}

/*
 * Does what the planner makes of NOT (node) call code that is not
 * leakproof?  It replaces an operator under NOT by the operator's negator
 * (NOT (a = b) becomes a <> b), whose function is another, any the
 * operator's owner chose, and pushes NOT through AND and OR
 * (negate_clause).  Asked only under NOT, so that the common operator
 * costs no look-up.
 */
static bool
negation_may_leak(Node *node)
{
	Oid			opno = InvalidOid;
	Oid			negator;
	ListCell   *lc;

	check_stack_depth();
	if (IsA(node, OpExpr))
		opno = ((OpExpr *) node)->opno;
	else if (IsA(node, ScalarArrayOpExpr))
		opno = ((ScalarArrayOpExpr *) node)->opno;
	else if (is_andclause(node) || is_orclause(node))
	{
		foreach(lc, ((BoolExpr *) node)->args)
		{
			if (negation_may_leak(lfirst(lc)))
				return true;
		}
		return false;
	}
	if (!OidIsValid(opno))
		return false;
	negator = get_negator(opno);
	return OidIsValid(negator) && !function_is_leakproof(get_opcode(negator));
}

/* A function applied to args: leaky when it or code in its args is not leakproof. */
static bool
call_may_leak(Oid funcid, List *args)
{
	ListCell   *lc;

	if (!function_is_leakproof(funcid))
		return true;
	foreach(lc, args)
	{
		Node	   *arg = lfirst(lc);

		/* "col = 5", most calls: no recursion */
		if (IsA(arg, Var) || IsA(arg, Const) || IsA(arg, Param))
			continue;
		if (expression_may_leak(arg))
			return true;
	}
	return false;
}

static bool
function_is_not_leakproof(Oid funcid, void *context)
{
	return !function_is_leakproof(funcid);
}

/* GREATEST and LEAST call their type's comparison function. */
static bool
min_max_may_fail(MinMaxExpr *minmax)
{
	TypeCacheEntry *typentry = lookup_type_cache(minmax->minmaxtype, TYPECACHE_CMP_PROC);

	return !OidIsValid(typentry->cmp_proc) || !function_is_leakproof(typentry->cmp_proc);
}

/*
 * Does this node itself, apart from its arguments, run code that is not
 * leakproof, or that can fail or act (a scalar subquery that returns two
 * rows, a multidimensional ARRAY[] whose dimensions differ, a domain's
 * check, a subscript, XML)?  A built-in aggregate or window function runs
 * only its arguments; any other, and any node not known here, counts.
 */
bool
node_runs_code(Node *node)
{
	switch (nodeTag(node))
	{
		case T_Aggref:
			return ((Aggref *) node)->aggfnoid >= FirstNormalObjectId;
		case T_WindowFunc:
			return ((WindowFunc *) node)->winfnoid >= FirstNormalObjectId;
		case T_FuncExpr:
		case T_OpExpr:
		case T_ScalarArrayOpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
		case T_CoerceViaIO:
		case T_RowCompareExpr:
			return check_functions_in_node(node, function_is_not_leakproof, NULL);
		case T_ArrayExpr:
			return ((ArrayExpr *) node)->multidims;
		case T_MinMaxExpr:
			return min_max_may_fail((MinMaxExpr *) node);
		case T_BoolExpr:
			return ((BoolExpr *) node)->boolop == NOT_EXPR &&
				negation_may_leak(linitial(((BoolExpr *) node)->args));
		case T_SubLink:
			/* more than one row is an error; EXISTS and IN are judged by their query */
			return ((SubLink *) node)->subLinkType == EXPR_SUBLINK ||
				((SubLink *) node)->subLinkType == ROWCOMPARE_SUBLINK ||
				((SubLink *) node)->subLinkType == MULTIEXPR_SUBLINK;
		case T_Var:
		case T_Const:
		case T_Param:
		case T_List:
		case T_TargetEntry:
		case T_FromExpr:
		case T_JoinExpr:
		case T_RangeTblRef:
		case T_RelabelType:
		case T_CollateExpr:
		case T_CaseExpr:
		case T_CaseWhen:
		case T_CaseTestExpr:
		case T_CoalesceExpr:
		case T_RowExpr:
		case T_NullTest:
		case T_BooleanTest:
		case T_FieldSelect:
		case T_FieldStore:
		case T_NamedArgExpr:
		case T_SQLValueFunction:
		case T_CurrentOfExpr:
		case T_GroupingFunc:
		case T_ConvertRowtypeExpr:
		case T_ArrayCoerceExpr:
		case T_CoerceToDomainValue:
		case T_SetToDefault:
		case T_SetOperationStmt:
		case T_CommonTableExpr:
		case T_RangeTblFunction:
		case T_OnConflictExpr:
		case T_InferenceElem:
		case T_WithCheckOption:
		case T_MergeAction:
			return false;
		default:
			return true;
	}
}

/*
 * ARRAY[1, 2, ...] of constants, as the parser makes of IN (1, 2, ...)
 * before the planner folds it: constants, each maybe cast by an immutable
 * function (int4 to int8 for a bigint column), which the planner computes
 * once, before any row is read.  Told in a loop, so that the walkers that
 * look at a statement before it is planned cost a test per element of a
 * long IN list, not a walk of each.
 */
bool
is_constant_array(Node *node)
{
	Oid			immutable_cast = InvalidOid;
	ListCell   *lc;

	if (!IsA(node, ArrayExpr) || ((ArrayExpr *) node)->multidims)
		return false;
	foreach(lc, ((ArrayExpr *) node)->elements)
	{
		Node	   *element = lfirst(lc);
		FuncExpr   *cast;

		while (IsA(element, RelabelType))
			element = (Node *) ((RelabelType *) element)->arg;
		if (IsA(element, Const))
			continue;
		if (!IsA(element, FuncExpr))
			return false;
		cast = (FuncExpr *) element;
		if (list_length(cast->args) != 1 || !IsA(linitial(cast->args), Const) || cast->funcretset)
			return false;
		if (cast->funcid != immutable_cast)
		{
			if (func_volatile(cast->funcid) != PROVOLATILE_IMMUTABLE)
				return false;
			immutable_cast = cast->funcid;
		}
	}
	return true;
}

/* Any such code in the expression, whether or not it reads a column. */
static bool
runs_code_anywhere(Node *node, void *context)
{
	if (node == NULL || is_constant_array(node))
		return false;
	if (IsA(node, Query) || node_runs_code(node))
		return true;
	return expression_tree_walker(node, runs_code_anywhere, context);
}

bool
expression_may_leak(Node *node)
{
	ListCell   *lc;

	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_Var:
		case T_Const:
		case T_Param:
			return false;
		case T_RelabelType:
			return expression_may_leak((Node *) ((RelabelType *) node)->arg);
		case T_BoolExpr:
			if (((BoolExpr *) node)->boolop == NOT_EXPR &&
				negation_may_leak(linitial(((BoolExpr *) node)->args)))
				return true;
			foreach(lc, ((BoolExpr *) node)->args)
			{
				if (expression_may_leak(lfirst(lc)))
					return true;
			}
			return false;
		case T_List:
			foreach(lc, (List *) node)
			{
				if (expression_may_leak(lfirst(lc)))
					return true;
			}
			return false;
		case T_OpExpr:
			set_opfuncid((OpExpr *) node);
			return call_may_leak(((OpExpr *) node)->opfuncid, ((OpExpr *) node)->args);
		case T_FuncExpr:
			return call_may_leak(((FuncExpr *) node)->funcid, ((FuncExpr *) node)->args);
		case T_ScalarArrayOpExpr:
			set_sa_opfuncid((ScalarArrayOpExpr *) node);
			return call_may_leak(((ScalarArrayOpExpr *) node)->opfuncid,
								 ((ScalarArrayOpExpr *) node)->args);
		case T_ArrayExpr:
			if (is_constant_array(node))
				return false;
			/* FALLTHROUGH */
		default:
			return contain_leaked_vars(node) || runs_code_anywhere(node, NULL);
	}
}

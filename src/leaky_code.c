/*-------------------------------------------------------------------------
 *
 * leaky_code.c
 *	  PostgreSQL's contain_leaked_vars(), for the expressions nearly every
 *	  statement has, at a fraction of its cost: a scope next to code that
 *	  is not leakproof does not exempt its table (scope_analysis.c,
 *	  row_verification.c), so every scoped scan asks.
 *
 * contain_leaked_vars() looks every operator's function up in the system
 * cache.  Here the common nodes (columns, constants, parameters, AND, OR,
 * NOT, relabelings, operators and functions over them) are walked with
 * the answer for each function kept in a small table, emptied when any
 * function changes; any other node is left to contain_leaked_vars(), so
 * that the answer is never more permissive than PostgreSQL's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "leaky_code.h"

#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

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

/* A function applied to args: leaky when it is not leakproof and reads a column. */
static bool
call_may_leak(Oid funcid, List *args)
{
	ListCell   *lc;

	if (!function_is_leakproof(funcid) && contain_var_clause((Node *) args))
		return true;
	foreach(lc, args)
	{
		if (expression_may_leak(lfirst(lc)))
			return true;
	}
	return false;
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
		default:
			return contain_leaked_vars(node);
	}
}

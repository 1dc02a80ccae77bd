/*-------------------------------------------------------------------------
 *
 * fk_validation.c
 *	  Recognises the query ALTER TABLE runs to validate a foreign key.
 *
 * ALTER TABLE ... ADD FOREIGN KEY and VALIDATE CONSTRAINT check the
 * existing rows with one query (RI_Initial_Check in ri_triggers.c):
 *
 *	SELECT fk.k1[, ...] FROM [ONLY] fkrel fk LEFT OUTER JOIN [ONLY] pkrel pk
 *	  ON (pk.p1 OPERATOR(=) fk.k1 [AND ...])
 *	  WHERE pk.p1 IS NULL AND (fk.k1 IS NOT NULL [AND|OR ...])
 *
 * and DETACH PARTITION of a referenced partition runs the same with an
 * inner join (RI_PartitionRemove_Check).  Unlike the per-row checks, these
 * run as the current user without SECURITY_NOFORCE_RLS, so nothing marks
 * them.  PostgreSQL plans them through SPI while ALTER TABLE runs; the
 * guard recognises them there by their exact shape: the two relations, an
 * existing foreign key of the first on the second whose columns are the
 * select list, its equality operators in the join condition, and for the
 * outer join the anti-join condition.  Such a query reveals no more than
 * validating the constraint does: the key values of referencing rows.
 * Functions it may call run their own queries, which are judged.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fk_validation.h"

#include "access/table.h"
#include "access/transam.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#define FK_RTINDEX 1
#define PK_RTINDEX 2

/* The expression under casts and COLLATE that ri_GenerateQual may add. */
static Node *
strip_casts(Node *node)
{
	for (;;)
	{
		if (IsA(node, RelabelType))
			node = (Node *) ((RelabelType *) node)->arg;
		else if (IsA(node, CollateExpr))
			node = (Node *) ((CollateExpr *) node)->arg;
		else if (IsA(node, CoerceViaIO))
			node = (Node *) ((CoerceViaIO *) node)->arg;
		else if (IsA(node, FuncExpr) &&
				 ((FuncExpr *) node)->funcformat != COERCE_EXPLICIT_CALL &&
				 list_length(((FuncExpr *) node)->args) == 1)
			node = linitial(((FuncExpr *) node)->args);
		else
			return node;
	}
}

static bool
is_column(Node *node, Index rtindex, AttrNumber attnum)
{
	Var		   *var;

	node = strip_casts(node);
	if (!IsA(node, Var))
		return false;
	var = (Var *) node;
	return var->varno == rtindex && var->varattno == attnum &&
		var->varlevelsup == 0;
}

/* FROM fkrel fk [LEFT] JOIN pkrel pk: returns the join, or NULL. */
static JoinExpr *
key_join(Query *parse)
{
	RangeTblEntry *fk;
	RangeTblEntry *pk;
	JoinExpr   *join;

	if (parse->commandType != CMD_SELECT || parse->utilityStmt != NULL ||
		parse->hasSubLinks || parse->cteList != NIL || parse->hasAggs ||
		parse->hasWindowFuncs || parse->hasTargetSRFs ||
		parse->setOperations != NULL || parse->groupClause != NIL ||
		parse->havingQual != NULL || parse->rowMarks != NIL ||
		parse->limitCount != NULL || parse->limitOffset != NULL ||
		parse->sortClause != NIL || parse->distinctClause != NIL ||
		list_length(parse->rtable) != 3 ||
		list_length(parse->jointree->fromlist) != 1 ||
		!IsA(linitial(parse->jointree->fromlist), JoinExpr))
		return NULL;
	fk = rt_fetch(FK_RTINDEX, parse->rtable);
	pk = rt_fetch(PK_RTINDEX, parse->rtable);
	join = linitial(parse->jointree->fromlist);
	if (fk->rtekind != RTE_RELATION || pk->rtekind != RTE_RELATION ||
		fk->alias == NULL || strcmp(fk->alias->aliasname, "fk") != 0 ||
		pk->alias == NULL || strcmp(pk->alias->aliasname, "pk") != 0 ||
		(join->jointype != JOIN_LEFT && join->jointype != JOIN_INNER) ||
		!IsA(join->larg, RangeTblRef) || !IsA(join->rarg, RangeTblRef) ||
		((RangeTblRef *) join->larg)->rtindex != FK_RTINDEX ||
		((RangeTblRef *) join->rarg)->rtindex != PK_RTINDEX)
		return NULL;
	return join;
}

/* SELECT fk.k1, ...: the select list is the key, in order. */
static bool
selects_key(Query *parse, ForeignKeyCacheInfo *key)
{
	ListCell   *lc;
	int			i = 0;

	if (list_length(parse->targetList) != key->nkeys)
		return false;
	foreach(lc, parse->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk || !IsA(tle->expr, Var) ||
			!is_column((Node *) tle->expr, FK_RTINDEX, key->conkey[i++]))
			return false;
	}
	return true;
}

/* ON (pk.p1 OPERATOR(=) fk.k1 AND ...), with the key's operators. */
static bool
joins_on_key(JoinExpr *join, ForeignKeyCacheInfo *key)
{
	List	   *conditions;

	if (join->quals == NULL)
		return false;
	if (is_andclause(join->quals))
		conditions = ((BoolExpr *) join->quals)->args;
	else
		conditions = list_make1(join->quals);
	if (list_length(conditions) != key->nkeys)
		return false;
	for (int i = 0; i < key->nkeys; i++)
	{
		OpExpr	   *op = list_nth(conditions, i);

		if (!IsA(op, OpExpr) || op->opno != key->conpfeqop[i] ||
			list_length(op->args) != 2 ||
			!is_column(linitial(op->args), PK_RTINDEX, key->confkey[i]) ||
			!is_column(lsecond(op->args), FK_RTINDEX, key->conkey[i]))
			return false;
	}
	return true;
}

static bool
is_not_null_test(Node *node, Index rtindex, AttrNumber attnum, NullTestType type)
{
	return node != NULL && IsA(node, NullTest) &&
		((NullTest *) node)->nulltesttype == type &&
		is_column((Node *) ((NullTest *) node)->arg, rtindex, attnum);
}

/*
 * For the outer join: WHERE pk.p1 IS NULL AND (fk.k1 IS NOT NULL [AND|OR
 * ...]), so that only referencing rows without a match come back.  The
 * inner join returns only rows that match a row of the referenced table.
 */
static bool
filters_unmatched(Query *parse, JoinExpr *join, ForeignKeyCacheInfo *key)
{
	Node	   *where = parse->jointree->quals;
	List	   *args;
	Node	   *not_nulls;
	List	   *tests;

	if (join->jointype == JOIN_INNER)
		return true;
	if (where == NULL || !is_andclause(where) ||
		list_length(args = ((BoolExpr *) where)->args) != 2 ||
		!is_not_null_test(linitial(args), PK_RTINDEX, key->confkey[0], IS_NULL))
		return false;
	not_nulls = lsecond(args);
	if (key->nkeys == 1)
		return is_not_null_test(not_nulls, FK_RTINDEX, key->conkey[0], IS_NOT_NULL);
	if (!is_andclause(not_nulls) && !is_orclause(not_nulls))
		return false;
	tests = ((BoolExpr *) not_nulls)->args;
	if (list_length(tests) != key->nkeys)
		return false;
	for (int i = 0; i < key->nkeys; i++)
		if (!is_not_null_test(list_nth(tests, i), FK_RTINDEX, key->conkey[i],
							  IS_NOT_NULL))
			return false;
	return true;
}

/* check_functions_in_node callback: a function a user may have made. */
static bool
is_user_defined_function(Oid funcid, void *context)
{
	return funcid >= FirstNormalObjectId;
}

static bool
calls_user_defined_function(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, is_user_defined_function, NULL))
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, calls_user_defined_function,
								 NULL, 0);
	return expression_tree_walker(node, calls_user_defined_function, NULL);
}

/*
 * PostgreSQL's validation query calls built-in operators and functions
 * only, and the inner join (RI_PartitionRemove_Check) always names a
 * partition being detached.  A look-alike written by a function that runs
 * inside the same ALTER TABLE must not be able to hand rows to a function
 * of its own, nor read another table's rows through an inner join.
 */
static bool
is_builtin_only(Query *parse, JoinExpr *join)
{
	if (calls_user_defined_function((Node *) parse, NULL))
		return false;
	return join->jointype != JOIN_INNER ||
		get_rel_relispartition(rt_fetch(PK_RTINDEX, parse->rtable)->relid);
}

bool
is_foreign_key_validation_query(Query *parse)
{
	JoinExpr   *join = key_join(parse);
	Relation	fkrel;
	Oid			pkrelid;
	bool		found = false;
	ListCell   *lc;

	if (join == NULL || !is_builtin_only(parse, join))
		return false;
	pkrelid = rt_fetch(PK_RTINDEX, parse->rtable)->relid;
	/* ALTER TABLE holds a lock on both tables already. */
	fkrel = table_open(rt_fetch(FK_RTINDEX, parse->rtable)->relid, AccessShareLock);
	foreach(lc, RelationGetFKeyList(fkrel))
	{
		ForeignKeyCacheInfo *key = lfirst_node(ForeignKeyCacheInfo, lc);

		if (key->confrelid == pkrelid && selects_key(parse, key) &&
			joins_on_key(join, key) && filters_unmatched(parse, join, key))
		{
			found = true;
			break;
		}
	}
	table_close(fkrel, AccessShareLock);
	return found;
}

/*-------------------------------------------------------------------------
 *
 * written_rows.c
 *	  Written rows (doc/tenant-context.md): with a tenant context set, every
 *	  row that INSERT, UPDATE of the tenant column, MERGE, INSERT ... ON
 *	  CONFLICT DO UPDATE or COPY FROM writes into a tenant table must carry a
 *	  tenant of the context; NULL is outside every context.
 *
 * How.  Before a statement is planned, the new value of the tenant column
 * in each of its row-producing target lists is wrapped in
 *
 *	  tenant_guard.verify_written('t'::regclass, <new value>)
 *
 * which returns the value unchanged, or reports a cross_tenant_write (an
 * error in enforce mode, before the row is written).  An INSERT or a MERGE
 * INSERT action that does not name the tenant column and has no default
 * for it gets the NULL it would write, wrapped.  The wrapper is added
 * whatever the context at planning, since plans are cached; without a
 * context it returns at once.  COPY FROM gets the same call as a WHERE
 * condition after the user's own (written_rows_copy_from).
 *
 * The value checked is the one the statement computes: a BEFORE ROW
 * trigger that changes the tenant column afterwards is not seen.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "written_rows.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "citus_cluster.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parser.h"
#include "violation.h"
#include "parser/parsetree.h"
#include "scope_values.h"
#include "settings.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(tenant_guard_verify_written);
PG_FUNCTION_INFO_V1(tenant_guard_verify_copied);

static Oid	verify_written_oid = InvalidOid;
static Oid	verify_copied_oid = InvalidOid;

static Oid
verify_written_function(void)
{
	static const Oid argtypes[2] = {REGCLASSOID, ANYELEMENTOID};

	return tenant_guard_function("verify_written", 2, argtypes, &verify_written_oid);
}

static Oid
verify_copied_function(void)
{
	static const Oid argtypes[2] = {REGCLASSOID, ANYELEMENTOID};

	return tenant_guard_function("verify_copied", 2, argtypes, &verify_copied_oid);
}

static Expr *
wrap_value(Oid fn, Oid relid, Expr *value)
{
	List	   *args = list_make2(makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
											ObjectIdGetDatum(relid), false, true),
								  value);

	return (Expr *) makeFuncExpr(fn, exprType((Node *) value), args,
								 exprCollation((Node *) value), InvalidOid,
								 COERCE_SQL_SYNTAX);
}

/*
 * Wrap the tenant column's entry of a target list (resno = attribute
 * number, as the rewriter leaves INSERT, UPDATE and MERGE lists).  With
 * add_missing, a missing entry becomes the NULL that would be written,
 * placed in attribute order.
 */
static List *
wrap_tlist(List *tlist, Oid fn, Oid relid, AttrNumber attnum, bool add_missing)
{
	ListCell   *lc;
	int			position = 0;
	Oid			typid;
	int32		typmod;
	Oid			collid;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk && tle->resno == attnum)
		{
			tle->expr = wrap_value(fn, relid, tle->expr);
			return tlist;
		}
		if (!tle->resjunk && tle->resno < attnum)
			position = foreach_current_index(lc) + 1;
	}
	if (!add_missing)
		return tlist;
	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	return list_insert_nth(tlist, position,
						   makeTargetEntry(wrap_value(fn, relid,
													  (Expr *) makeNullConst(typid, typmod, collid)),
										   attnum, get_attname(relid, attnum, false),
										   false));
}

static void
instrument_one_query(Query *parse)
{
	RangeTblEntry *target;
	AttrNumber	attnum;
	Oid			fn;
	ListCell   *lc;

	if (parse->resultRelation == 0 ||
		(parse->commandType != CMD_INSERT && parse->commandType != CMD_UPDATE &&
		 parse->commandType != CMD_MERGE))
		return;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION ||
		(attnum = tenant_table_attnum(target->relid)) == InvalidAttrNumber ||
		!OidIsValid(fn = verify_written_function()))
		return;

	if (parse->commandType != CMD_MERGE)
		parse->targetList = wrap_tlist(parse->targetList, fn, target->relid, attnum,
									   parse->commandType == CMD_INSERT);
	if (parse->onConflict != NULL && parse->onConflict->action == ONCONFLICT_UPDATE)
		parse->onConflict->onConflictSet =
			wrap_tlist(parse->onConflict->onConflictSet, fn, target->relid, attnum, false);
	foreach(lc, parse->mergeActionList)
	{
		MergeAction *action = lfirst_node(MergeAction, lc);

		if (action->commandType == CMD_INSERT || action->commandType == CMD_UPDATE)
			action->targetList = wrap_tlist(action->targetList, fn, target->relid,
											attnum, action->commandType == CMD_INSERT);
	}
}

/*
 * The statement, and its data-modifying WITH queries (which may only
 * appear at the top level, and whose rows are written whether or not the
 * statement reads them).
 */
void
written_rows_instrument(Query *parse)
{
	ListCell   *lc;

	instrument_one_query(parse);
	if (!parse->hasModifyingCTE)
		return;
	foreach(lc, parse->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query))
			instrument_one_query((Query *) cte->ctequery);
	}
}

/*-------------------------------------------------------------------------
 * With Citus.  Citus routes an INSERT by the distribution column's value as
 * written and plans most statements itself, so nothing is wrapped.  What
 * the statement writes into the tenant column and is known before the
 * first row -- the values of INSERT ... VALUES (each row of a multi-row
 * VALUES), a missing column's NULL, the assignment of UPDATE ... SET or ON
 * CONFLICT DO UPDATE SET -- becomes a value check instead (scope_values.c),
 * evaluated at ExecutorStart, with the statement's parameters, against the
 * context in force then.  Values computed from rows (INSERT ... SELECT,
 * SET firm_id = firm_id + 1) or by volatile functions are not checked
 * (doc/citus.md).
 *-------------------------------------------------------------------------
 */

static List *
add_known(List *checks, Oid relid, Expr *value)
{
	if (contain_var_clause((Node *) value) || contain_subplans((Node *) value) ||
		contain_volatile_functions((Node *) value))
		return checks;
	return scope_values_add_written(checks, relid, value);
}

static TargetEntry *
tenant_entry(List *tlist, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk && tle->resno == attnum)
			return tle;
	}
	return NULL;
}

/* The tenant values an INSERT writes: its VALUES rows', or the missing column's NULL. */
static List *
inserted_values(Query *parse, Oid relid, AttrNumber attnum, List *checks)
{
	TargetEntry *tle = tenant_entry(parse->targetList, attnum);
	Expr	   *value;
	RangeTblEntry *rte;
	ListCell   *lc;

	if (tle == NULL)
	{
		Oid			typid;
		int32		typmod;
		Oid			collid;

		get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
		return add_known(checks, relid, (Expr *) makeNullConst(typid, typmod, collid));
	}
	value = tle->expr;
	while (IsA(value, RelabelType))
		value = ((RelabelType *) value)->arg;
	if (!IsA(value, Var) || ((Var *) value)->varlevelsup != 0)
		return add_known(checks, relid, tle->expr);
	rte = rt_fetch(((Var *) value)->varno, parse->rtable);
	if (rte->rtekind != RTE_VALUES)
		return checks;			/* INSERT ... SELECT */
	foreach(lc, rte->values_lists)
		checks = add_known(checks, relid,
						   list_nth(lfirst(lc), ((Var *) value)->varattno - 1));
	return checks;
}

List *
written_rows_known_values(Query *parse)
{
	RangeTblEntry *target;
	AttrNumber	attnum;
	TargetEntry *tle;
	List	   *checks = NIL;

	if (parse->resultRelation == 0 ||
		(parse->commandType != CMD_INSERT && parse->commandType != CMD_UPDATE))
		return NIL;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	/* a shard: Citus runs the statement here, which was checked already */
	if (target->rtekind != RTE_RELATION ||
		(attnum = tenant_table_attnum(target->relid)) == InvalidAttrNumber ||
		tenant_table_is_citus_shard(target->relid))
		return NIL;
	if (parse->commandType == CMD_INSERT)
		checks = inserted_values(parse, target->relid, attnum, checks);
	else if ((tle = tenant_entry(parse->targetList, attnum)) != NULL)
		checks = add_known(checks, target->relid, tle->expr);
	if (parse->onConflict != NULL && parse->onConflict->action == ONCONFLICT_UPDATE &&
		(tle = tenant_entry(parse->onConflict->onConflictSet, attnum)) != NULL)
		checks = add_known(checks, target->relid, tle->expr);
	return checks;
}

/* Per call site and execution: a statement is reported once. */
typedef struct WrittenCheckState
{
	bool		reported;
} WrittenCheckState;

/* Check one written tenant value; reports it when outside the context. */
static void
check_written(FunctionCallInfo fcinfo)
{
	Oid			relid = PG_GETARG_OID(0);
	WrittenCheckState *state = (WrittenCheckState *) fcinfo->flinfo->fn_extra;
	TenantTableInfo info;
	Oid			typid;
	char	   *bad;

	if (tenant_guard_mode == GUARD_MODE_OFF || !tenant_context_is_set() ||
		(state != NULL && state->reported))
		return;
	tenant_table_describe(relid, &info);
	if (info.tenant_attnum == InvalidAttrNumber)
		return;
	typid = get_fn_expr_argtype(fcinfo->flinfo, 1);
	if (PG_ARGISNULL(1))
		bad = pstrdup("null");
	else if (tenant_context_contains(typid, PG_GETARG_DATUM(1), relid,
									 NameStr(info.tenant_column)))
		return;
	else
		bad = tenant_value_text(typid, PG_GETARG_DATUM(1), false);

	if (state == NULL)
		state = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(WrittenCheckState));
	state->reported = true;
	report_cross_tenant(VIOLATION_CROSS_TENANT_WRITE, TENANT_VALUE_WRITTEN, relid,
						NameStr(info.tenant_column), bad);
}

/*
 * tenant_guard.verify_written(relation regclass, tenant anyelement)
 * RETURNS anyelement: the tenant value, once checked.
 */
Datum
tenant_guard_verify_written(PG_FUNCTION_ARGS)
{
	require_planned_check(fcinfo, "tenant_guard.verify_written");
	check_written(fcinfo);
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(1));
}

/*
 * tenant_guard.verify_copied(relation regclass, tenant anyelement)
 * RETURNS boolean: true, once checked; COPY FROM's condition.
 */
Datum
tenant_guard_verify_copied(PG_FUNCTION_ARGS)
{
	require_planned_check(fcinfo, "tenant_guard.verify_copied");
	check_written(fcinfo);
	PG_RETURN_BOOL(true);
}

/*
 * COPY table FROM: the same check, as a WHERE condition after the user's
 * own, so that only rows COPY writes are checked.  Returns the statement
 * to run: a changed copy, or the statement itself.
 */
Node *
written_rows_copy_from(Node *parsetree)
{
	CopyStmt   *copy;
	Oid			relid;
	AttrNumber	attnum;
	FuncCall   *call;
	A_Const    *relation;
	TypeCast   *cast;
	ColumnRef  *column;
	char	   *schema;

	if (!IsA(parsetree, CopyStmt) || !((CopyStmt *) parsetree)->is_from ||
		((CopyStmt *) parsetree)->relation == NULL)
		return parsetree;
	relid = RangeVarGetRelid(((CopyStmt *) parsetree)->relation, NoLock, true);
	/* Citus refuses COPY FROM ... WHERE into its tables (doc/citus.md) */
	if (!OidIsValid(relid) ||
		(attnum = tenant_table_attnum(relid)) == InvalidAttrNumber ||
		citus_is_citus_table(relid) ||
		!OidIsValid(verify_copied_function()) ||
		(schema = get_namespace_name(get_func_namespace(verify_copied_oid))) == NULL)
		return parsetree;

	copy = copyObject((CopyStmt *) parsetree);
	relation = makeNode(A_Const);
	relation->val.sval.type = T_String;
	relation->val.sval.sval = relation_qualified_name(relid);
	relation->location = -1;
	cast = makeNode(TypeCast);
	cast->arg = (Node *) relation;
	cast->typeName = SystemTypeName("regclass");
	cast->location = -1;
	column = makeNode(ColumnRef);
	column->fields = list_make1(makeString(get_attname(relid, attnum, false)));
	column->location = -1;
	call = makeFuncCall(list_make2(makeString(schema), makeString("verify_copied")),
						list_make2(cast, column), COERCE_SQL_SYNTAX, -1);
	copy->whereClause = copy->whereClause == NULL ? (Node *) call :
		(Node *) makeBoolExpr(AND_EXPR, list_make2(copy->whereClause, call), -1);
	return (Node *) copy;
}

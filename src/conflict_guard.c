/*-------------------------------------------------------------------------
 *
 * conflict_guard.c
 *	  INSERT ... ON CONFLICT DO UPDATE into a tenant table must not write a
 *	  row of another tenant: the cross_tenant_write rule.
 *
 * Which existing row an upsert updates is known only per row, at
 * execution: the one its proposed row conflicts with, whatever tenant it
 * belongs to.  So the rule is checked per row, by two functions that the
 * planner hook adds to the statement before it is planned:
 *
 *	- tenant_guard.upsert_same_tenant(existing, proposed, rel), the first
 *	  condition of ON CONFLICT ... DO UPDATE ... WHERE: the existing row's
 *	  tenant value must equal the proposed (EXCLUDED) row's.  Being first,
 *	  it judges the conflicting row before the statement's own WHERE, which
 *	  could hand another tenant's row to a function of the caller's, sees
 *	  it;
 *	- tenant_guard.upsert_keep_tenant(new, existing, rel) around the SET
 *	  expression of the tenant column, when there is one: the new value
 *	  must equal the existing row's.  It returns the value, so the
 *	  expression is evaluated once, as the user wrote it.
 *
 * Both run after PostgreSQL has locked the conflicting row and before it
 * updates it: in enforce mode the statement fails before anything of the
 * other tenant's row is changed or returned.  A NULL tenant value is
 * outside every tenant, so it differs from everything, NULL included.
 * Values are compared with the type's own equality operator, under the
 * column's collation.
 *
 * Being part of the plan, the checks survive plan caching (prepared
 * statements, generic plans, PL/pgSQL), and PostgreSQL maps them to each
 * partition's columns itself.  The mode and the exemptions of the scoping
 * guard (scoping_guard_applies) are decided when they run.  A statement
 * without ON CONFLICT DO UPDATE pays one test.  In log mode a statement
 * reports its first cross-tenant write only.
 *
 * The functions are SQL-visible, as every function a plan calls must be,
 * but refuse to be called other than through the expressions built here,
 * which carry a mark no SQL text can produce (COERCE_SQL_SYNTAX), so that
 * nobody writes audit rows by calling them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "conflict_guard.h"

#include "catalog/pg_type.h"
#include "extension_state.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "scoping_guard.h"
#include "settings.h"
#include "tenant_catalog.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
#include "violation.h"

PG_FUNCTION_INFO_V1(tenant_guard_upsert_same_tenant);
PG_FUNCTION_INFO_V1(tenant_guard_upsert_keep_tenant);

/*-----------
 * Planning
 *-----------
 */

/* The tenant column of the upsert's target, as Vars and a constant. */
typedef struct UpsertTarget
{
	Oid			relid;
	AttrNumber	attnum;
	Oid			type;
	int32		typmod;
	Oid			collation;
} UpsertTarget;

static Var *
tenant_var(const UpsertTarget *target, Index varno)
{
	return makeVar(varno, target->attnum, target->type, target->typmod,
				   target->collation, 0);
}

static Const *
relation_const(const UpsertTarget *target)
{
	return makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
					 ObjectIdGetDatum(target->relid), false, true);
}

static bool
is_check_call(Node *node, Oid funcid)
{
	return node != NULL && IsA(node, FuncExpr) &&
		((FuncExpr *) node)->funcid == funcid;
}

/*
 * Put upsert_same_tenant() first in ON CONFLICT ... WHERE, once.  First,
 * not last: the statement's own DO UPDATE ... WHERE can call functions on
 * the existing row, and must not see another tenant's row before it was
 * judged.
 */
static void
add_same_tenant_check(Query *parse, const UpsertTarget *target, Oid funcid)
{
	OnConflictExpr *onconflict = parse->onConflict;
	Node	   *where = onconflict->onConflictWhere;
	FuncExpr   *check;

	if (is_check_call(where, funcid) ||
		(where != NULL && is_andclause(where) &&
		 is_check_call(linitial(((BoolExpr *) where)->args), funcid)))
		return;					/* planned before (a re-planned Query) */

	check = makeFuncExpr(funcid, BOOLOID,
						 list_make3(tenant_var(target, parse->resultRelation),
									tenant_var(target, onconflict->exclRelIndex),
									relation_const(target)),
						 InvalidOid, target->collation, COERCE_SQL_SYNTAX);
	onconflict->onConflictWhere = make_and_qual((Node *) check, where);
}

/* Wrap the SET expression of the tenant column, if any, once. */
static void
add_keep_tenant_check(Query *parse, const UpsertTarget *target, Oid funcid)
{
	ListCell   *lc;

	foreach(lc, parse->onConflict->onConflictSet)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Node	   *value = (Node *) tle->expr;

		if (tle->resjunk || tle->resno != target->attnum ||
			is_check_call(value, funcid))
			continue;
		tle->expr = (Expr *)
			makeFuncExpr(funcid, exprType(value),
						 list_make3(value,
									tenant_var(target, parse->resultRelation),
									relation_const(target)),
						 exprCollation(value), target->collation,
						 COERCE_SQL_SYNTAX);
	}
}

static void
add_checks_to_upsert(Query *parse)
{
	RangeTblEntry *rte = rt_fetch(parse->resultRelation, parse->rtable);
	UpsertTarget target;
	Oid			same_tenant;
	Oid			keep_tenant;

	if (rte->rtekind != RTE_RELATION || !extension_is_active())
		return;
	target.attnum = tenant_table_attnum(rte->relid);
	if (target.attnum == InvalidAttrNumber)
		return;
	same_tenant = extension_upsert_same_tenant_oid();
	keep_tenant = extension_upsert_keep_tenant_oid();
	if (!OidIsValid(same_tenant) || !OidIsValid(keep_tenant))
		return;					/* the install script is still running */

	target.relid = rte->relid;
	get_atttypetypmodcoll(rte->relid, target.attnum, &target.type,
						  &target.typmod, &target.collation);
	add_same_tenant_check(parse, &target, same_tenant);
	add_keep_tenant_check(parse, &target, keep_tenant);
}

/*
 * Called by the planner hook, before the planner, for every statement that
 * can write.  Covers the statement and its data-modifying WITH queries.
 */
void
conflict_guard_add_checks(Query *parse)
{
	ListCell   *lc;

	if (parse->onConflict != NULL &&
		parse->onConflict->action == ONCONFLICT_UPDATE &&
		parse->resultRelation > 0)
		add_checks_to_upsert(parse);

	if (!parse->hasModifyingCTE)
		return;
	foreach(lc, parse->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query))
			conflict_guard_add_checks((Query *) cte->ctequery);
	}
}

/*-----------
 * Execution
 *-----------
 */

/*
 * Statements that reported a cross-tenant write in log mode, known by
 * their executor's memory context, where every check of theirs keeps its
 * state (also the checks of partitions set up while the statement runs).
 * An entry lives in that context and leaves the list when it goes.
 */
typedef struct ReportedStatement
{
	MemoryContext context;
	MemoryContextCallback callback;
	struct ReportedStatement *next;
} ReportedStatement;

static ReportedStatement *reported_statements = NULL;

static void
forget_reported_statement(void *arg)
{
	ReportedStatement **link;

	for (link = &reported_statements; *link != NULL; link = &(*link)->next)
	{
		if (*link == (ReportedStatement *) arg)
		{
			*link = (*link)->next;
			return;
		}
	}
}

/* Is this the statement's first report?  Remembers that it reported. */
static bool
first_report_of_statement(MemoryContext context)
{
	ReportedStatement *statement;

	for (statement = reported_statements; statement != NULL; statement = statement->next)
	{
		if (statement->context == context)
			return false;
	}
	statement = MemoryContextAlloc(context, sizeof(ReportedStatement));
	statement->context = context;
	statement->callback.func = forget_reported_statement;
	statement->callback.arg = statement;
	MemoryContextRegisterResetCallback(context, &statement->callback);
	statement->next = reported_statements;
	reported_statements = statement;
	return true;
}

/* How one check compares and prints tenant values, kept in fn_extra. */
typedef struct TenantValueType
{
	bool		has_equality;
	FmgrInfo	equality;		/* the type's = when has_equality */
	int16		typlen;			/* else the values are compared as data */
	bool		typbyval;
	Oid			output;
} TenantValueType;

static TenantValueType *
tenant_value_type(FunctionCallInfo fcinfo)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	TenantValueType *value_type = flinfo->fn_extra;
	Oid			type;
	TypeCacheEntry *typentry;
	bool		varlena;

	if (value_type != NULL)
		return value_type;
	type = get_fn_expr_argtype(flinfo, 0);
	if (!OidIsValid(type))
		elog(ERROR, "could not determine the type of the tenant column");
	value_type = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(TenantValueType));
	typentry = lookup_type_cache(getBaseType(type), TYPECACHE_EQ_OPR);
	value_type->has_equality = OidIsValid(typentry->eq_opr);
	if (value_type->has_equality)
		fmgr_info_cxt(get_opcode(typentry->eq_opr), &value_type->equality,
					  flinfo->fn_mcxt);
	get_typlenbyval(type, &value_type->typlen, &value_type->typbyval);
	getTypeOutputInfo(type, &value_type->output, &varlena);
	flinfo->fn_extra = value_type;
	return value_type;
}

/* Do arguments a and b hold the same tenant?  NULL is no tenant. */
static bool
same_tenant(FunctionCallInfo fcinfo, int a, int b)
{
	TenantValueType *value_type;
	Datum		left = PG_GETARG_DATUM(a);
	Datum		right = PG_GETARG_DATUM(b);

	if (PG_ARGISNULL(a) || PG_ARGISNULL(b))
		return false;
	value_type = tenant_value_type(fcinfo);
	if (!value_type->has_equality)
		return datum_image_eq(left, right, value_type->typbyval,
							  value_type->typlen);
	return DatumGetBool(FunctionCall2Coll(&value_type->equality,
										  PG_GET_COLLATION(), left, right));
}

static char *
tenant_value_text(FunctionCallInfo fcinfo, int arg)
{
	if (PG_ARGISNULL(arg))
		return "NULL";
	return OidOutputFunctionCall(tenant_value_type(fcinfo)->output,
								 PG_GETARG_DATUM(arg));
}

/* Only the expressions built above may call the check functions. */
static void
require_planned_call(FunctionCallInfo fcinfo, const char *name)
{
	Node	   *expr = fcinfo->flinfo->fn_expr;

	if (expr == NULL || !IsA(expr, FuncExpr) ||
		((FuncExpr *) expr)->funcformat != COERCE_SQL_SYNTAX)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s() cannot be called directly", name),
				 errdetail("tenant_guard adds it to INSERT ... ON CONFLICT DO UPDATE on tenant tables.")));
}

static bool
rule_applies(void)
{
	return tenant_guard_mode != GUARD_MODE_OFF && scoping_guard_applies();
}

/*
 * Report a cross-tenant write to relid, unless relid stopped being a
 * tenant table or this statement reported one already in log mode.
 * The detail shows the tenant values of the two arguments, in that order:
 * proposed and existing, or existing and new.
 */
static void
report_cross_tenant_write(FunctionCallInfo fcinfo, Oid relid, bool changes_tenant,
						  int first_value, int second_value)
{
	TenantTableInfo info;
	const char *column;
	Violation	violation;

	tenant_table_describe(relid, &info);
	if (info.source == TENANT_SOURCE_NONE)
		return;
	if ((GuardMode) tenant_guard_mode != GUARD_MODE_ENFORCE &&
		!first_report_of_statement(fcinfo->flinfo->fn_mcxt))
		return;

	column = quote_identifier(NameStr(info.tenant_column));
	violation.kind = VIOLATION_CROSS_TENANT_WRITE;
	violation.relid = relid;
	violation.column = pstrdup(NameStr(info.tenant_column));
	violation.command = "INSERT";
	violation.sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
	violation.message =
		psprintf("cross-tenant write to tenant table \"%s\" through INSERT ... ON CONFLICT DO UPDATE",
				 relation_message_name(relid));
	violation.detail = changes_tenant ?
		psprintf("The update would change %s of the existing row from %s to %s.",
				 column, tenant_value_text(fcinfo, first_value),
				 tenant_value_text(fcinfo, second_value)) :
		psprintf("The proposed row has %s %s, the existing row it conflicts with has %s %s.",
				 column, tenant_value_text(fcinfo, first_value),
				 column, tenant_value_text(fcinfo, second_value));
	violation.hint = changes_tenant ?
		psprintf("Leave %s out of DO UPDATE SET: an upsert must not move a row to another tenant.",
				 column) :
		psprintf("Include the tenant column in the conflict target, e.g. ON CONFLICT (%s, id), "
				 "or check the row's tenant before upserting.", column);
	violation_report(&violation, (GuardMode) tenant_guard_mode);
}

/*
 * upsert_same_tenant(existing anyelement, proposed anyelement, rel
 * regclass) returns boolean: true, unless it raises the violation.
 */
Datum
tenant_guard_upsert_same_tenant(PG_FUNCTION_ARGS)
{
	require_planned_call(fcinfo, "upsert_same_tenant");
	if (rule_applies() && !same_tenant(fcinfo, 0, 1))
		report_cross_tenant_write(fcinfo, PG_GETARG_OID(2), false, 1, 0);
	PG_RETURN_BOOL(true);
}

/*
 * upsert_keep_tenant(new anyelement, existing anyelement, rel regclass)
 * returns anyelement: the new value, unless it raises the violation.
 */
Datum
tenant_guard_upsert_keep_tenant(PG_FUNCTION_ARGS)
{
	require_planned_call(fcinfo, "upsert_keep_tenant");
	if (rule_applies() && !same_tenant(fcinfo, 0, 1))
		report_cross_tenant_write(fcinfo, PG_GETARG_OID(2), true, 1, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}

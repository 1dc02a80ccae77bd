/*-------------------------------------------------------------------------
 *
 * check_function.c
 *	  tenant_guard.check(query text): the violations a statement would
 *	  raise, found by planning it without running it (doc/scoping.md).
 *
 * It uses exactly the guard's own path: the statement is parsed, analysed,
 * rewritten and planned as usual, and the findings the planner hook attached
 * to the plan are returned instead of being reported.  Findings are
 * collected in every mode, so check() works when the guard is off too.  It
 * never executes the statement, reports nothing, and records nothing.
 * Parameters ($1, ...) are allowed; their types are inferred.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scoping_guard.h"

#include "extension_state.h"
#include "commands/defrem.h"
#include "commands/prepare.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "scope_values.h"
#include "settings.h"
#include "tcop/tcopprot.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/builtins.h"
#include "utils/plancache.h"

PG_FUNCTION_INFO_V1(tenant_guard_check);

static void
emit_accesses(ReturnSetInfo *rsinfo, List *accesses)
{
	ListCell   *lc;

	foreach(lc, accesses)
	{
		UnscopedAccess *access = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		NameData	column;

		namestrcpy(&column, access->tenant_column);
		values[0] = CStringGetTextDatum(relation_qualified_name(access->relid));
		values[1] = NameGetDatum(&column);
		values[2] = CStringGetTextDatum(violation_kind_name(access->kind));
		values[3] = CStringGetTextDatum(unscoped_access_detail(access));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Does EXPLAIN run its statement (the ANALYZE option)? */
static bool
explain_runs_statement(ExplainStmt *explain)
{
	ListCell   *lc;
	bool		analyze = false;

	foreach(lc, explain->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "analyze") == 0)
			analyze = defGetBoolean(opt);
	}
	return analyze;
}

/* Tenant values a plan's scopes name outside the session's context. */
static void
emit_value_violations(ReturnSetInfo *rsinfo, List *violations)
{
	ListCell   *lc;

	foreach(lc, violations)
	{
		ScopeValueViolation *v = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		NameData	column;

		namestrcpy(&column, v->column);
		values[0] = CStringGetTextDatum(relation_qualified_name(v->relid));
		values[1] = NameGetDatum(&column);
		values[2] = CStringGetTextDatum(violation_kind_name(v->writes ?
														   VIOLATION_CROSS_TENANT_WRITE :
														   VIOLATION_CROSS_TENANT_READ));
		values[3] = CStringGetTextDatum(cross_tenant_detail(TENANT_VALUE_SCOPE,
															v->column, v->value));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * The query inside a statement that runs one and only wraps it, or NULL:
 * SELECT ... INTO runs the SELECT, EXPLAIN ANALYZE its statement, PREPARE
 * the query that EXECUTE will run.
 */
static Node *
wrapped_query(Node *stmt)
{
	if (IsA(stmt, SelectStmt) && ((SelectStmt *) stmt)->intoClause != NULL)
	{
		SelectStmt *select = copyObject((SelectStmt *) stmt);

		select->intoClause = NULL;
		return (Node *) select;
	}
	if (IsA(stmt, ExplainStmt))
		return explain_runs_statement((ExplainStmt *) stmt) ?
			((ExplainStmt *) stmt)->query : NULL;
	if (IsA(stmt, PrepareStmt))
		return ((PrepareStmt *) stmt)->query;
	if (IsA(stmt, CopyStmt))
		return ((CopyStmt *) stmt)->query;
	if (IsA(stmt, DeclareCursorStmt))
		return ((DeclareCursorStmt *) stmt)->query;
	if (IsA(stmt, CreateTableAsStmt))
		return ((CreateTableAsStmt *) stmt)->query;
	return NULL;
}

static void
emit_plan_findings(ReturnSetInfo *rsinfo, List *plans)
{
	ListCell   *lc;

	foreach(lc, plans)
	{
		PlannedStmt *plan = lfirst_node(PlannedStmt, lc);

		if (plan->commandType != CMD_UTILITY)
		{
			emit_accesses(rsinfo, scoping_guard_plan_findings(plan));
			emit_value_violations(rsinfo, scope_values_constant_violations(plan));
		}
	}
}

/*
 * EXECUTE runs the plan of a prepared statement of this session: its
 * findings, from the generic plan (planned again if it went stale).
 */
static void
check_execute(ReturnSetInfo *rsinfo, ExecuteStmt *execute)
{
	PreparedStatement *prepared = FetchPreparedStatement(execute->name, true);
	CachedPlan *cplan;

	if (prepared->plansource->raw_parse_tree == NULL)
		return;				/* an empty statement */
	cplan = GetCachedPlan(prepared->plansource, NULL, NULL, NULL);
	emit_plan_findings(rsinfo, cplan->stmt_list);
	ReleaseCachedPlan(cplan, NULL);
}

static void
check_statement(ReturnSetInfo *rsinfo, RawStmt *raw, const char *sql)
{
	Node	   *wrapped = wrapped_query(raw->stmt);
	Oid		   *param_types = NULL;
	int			num_params = 0;
	List	   *queries;
	List	   *plans;

	if (wrapped != NULL)
	{
		RawStmt    *inner = makeNode(RawStmt);

		inner->stmt = wrapped;
		inner->stmt_location = raw->stmt_location;
		inner->stmt_len = raw->stmt_len;
		check_statement(rsinfo, inner, sql);
		return;
	}
	if (IsA(raw->stmt, CopyStmt) || IsA(raw->stmt, TruncateStmt))
	{
		emit_accesses(rsinfo, scoping_guard_utility_findings(raw->stmt));
		return;
	}
	if (IsA(raw->stmt, ExecuteStmt))
	{
		check_execute(rsinfo, (ExecuteStmt *) raw->stmt);
		return;
	}

	queries = pg_analyze_and_rewrite_varparams(raw, sql, &param_types,
											   &num_params, NULL);
	plans = pg_plan_queries(queries, sql, CURSOR_OPT_PARALLEL_OK, NULL);
	emit_plan_findings(rsinfo, plans);
}

/*
 * A syntax or analysis error in the checked statement points into that
 * statement, not into the query that called check().
 */
static void
point_errors_into_checked_statement(void *arg)
{
	int			position = geterrposition();

	if (position > 0)
	{
		errposition(0);
		internalerrposition(position);
		internalerrquery((const char *) arg);
	}
}

Datum
tenant_guard_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ErrorContextCallback callback;
	char	   *sql;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be null")));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (!extension_is_active())
		PG_RETURN_NULL();
	callback.callback = point_errors_into_checked_statement;
	callback.arg = sql;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	foreach(lc, raw_parser(sql, RAW_PARSE_DEFAULT))
		check_statement(rsinfo, lfirst_node(RawStmt, lc), sql);

	error_context_stack = callback.previous;
	PG_RETURN_NULL();
}

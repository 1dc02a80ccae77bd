/*-------------------------------------------------------------------------
 *
 * tenant_guard.c
 *	  Loading: _PG_init and the installation of tenant_guard's hooks.
 *
 * The library must be in shared_preload_libraries: the guard has to be in
 * place before the first query of every backend, and the audit queue lives
 * in shared memory.  Loaded any other way it refuses with an error that
 * says how to fix it.  In binary-upgrade mode (pg_upgrade) it does nothing
 * at all.
 *
 * Hooks live here and stay thin: each one calls into the file that owns the
 * concern and chains to the previous hook, or the standard function,
 * exactly once, whatever the mode.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "amount_guard.h"
#include "audit_queue.h"
#include "audit_writer.h"
#include "break_glass.h"
#include "citus_cluster.h"
#include "citus_operations.h"
#include "citus_relay.h"
#include "conflict_guard.h"
#include "context_rules.h"
#include "error_details.h"
#include "executor/executor.h"
#include "extension_state.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "optimizer/paths.h"
#include "optimizer/planner.h"
#include "plan_carrier.h"
#include "registry_shared.h"
#include "row_checks.h"
#include "row_verification.h"
#include "scope_values.h"
#include "scoping_guard.h"
#include "settings.h"
#include "signed_context.h"
#include "statement_context.h"
#include "storage/ipc.h"
#include "tcop/utility.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/guc.h"
#include "values_lists.h"
#include "written_rows.h"
#include "written_scopes.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static planner_hook_type prev_planner_hook = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart_hook = NULL;
static ExecutorRun_hook_type prev_ExecutorRun_hook = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility_hook = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
tenant_guard_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	audit_queue_request_shmem();
	registry_shared_request_shmem();
}

static void
tenant_guard_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	audit_queue_init_shmem();
	registry_shared_init_shmem();
}

/* Can the statement update rows: anything but a plain SELECT. */
static inline bool
query_may_update(Query *parse)
{
	return parse->commandType != CMD_SELECT || parse->hasModifyingCTE;
}

static inline bool
plan_may_update(PlannedStmt *plan)
{
	return plan->commandType != CMD_SELECT || plan->hasModifyingCTE;
}

/* The previous planner hook, or the standard planner. */
static inline PlannedStmt *
chain_planner(Query *parse, const char *query_string, int cursorOptions,
			  ParamListInfo boundParams)
{
	if (prev_planner_hook)
		return prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/*
 * Plan once, with the scoping guard's collector pushed when there is one;
 */
static PlannedStmt *
plan_judged(Query *parse, const char *query_string, int cursorOptions,
			ParamListInfo boundParams, ScopeCollector *collector,
			bool *collected)
{
	bool		collecting = collector != NULL &&
		scoping_guard_begin_planning(collector, parse, query_string);
	bool		entered;
	bool	   *self_joins = TG_HAS_SELF_JOIN_ELIMINATION && collecting &&
		scoping_guard_query_reads_tenant_tables(parse) ? TG_SELF_JOIN_ELIMINATION : NULL;
	bool		self_joins_were = self_joins != NULL && *self_joins;
	PlannedStmt *result;

	/*
	 * Statements planned while this one is (functions the planner folds,
	 * say) count as run by it, like those its executor runs.  A self-join
	 * of tenant tables is judged as two scans, as written (compat.h).
	 */
	entered = scoping_guard_executor_enter();
	*collected = collecting;
	if (!entered && !collecting && self_joins == NULL)
		return chain_planner(parse, query_string, cursorOptions, boundParams);
	if (self_joins != NULL)
		*self_joins = false;
	PG_TRY();
	{
		result = chain_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		if (self_joins != NULL)
			*self_joins = self_joins_were;
		if (entered)
			scoping_guard_executor_leave();
		if (collecting)
			scoping_guard_end_planning(collector);
	}
	PG_END_TRY();
	return result;
}

/*
 * With Citus: plan again the statement given a row condition
 * (row_verification.c), judging it as its first planning was.
 */
static PlannedStmt *
plan_citus_verified(Query *again, const char *query_string, int cursorOptions,
					ParamListInfo boundParams, ScopeCollector *collector)
{
	UnplannedQuery unplanned;
	bool		may_go_unplanned = unplanned_query_remember(again, &unplanned);
	bool		collected;
	PlannedStmt *result;

	result = plan_judged(again, query_string, cursorOptions, boundParams,
						 collector, &collected);
	if (may_go_unplanned && collected)
		scoping_guard_examine_unplanned(collector, &unplanned, again);
	return result;
}

/*
 * Does the statement read a function in FROM?  The planner may inline a
 * SQL function's query there, whose tables no check can be added to.
 */
static bool
query_has_function_scans(Query *parse)
{
	ListCell   *lc;

	foreach(lc, parse->rtable)
	{
		if (lfirst_node(RangeTblEntry, lc)->rtekind == RTE_FUNCTION)
			return true;
	}
	return false;
}

/*
 * A statement of one level whose unscoped tables its conditions as written
 * tell (row_verification_candidate), instrumented for them: planned once,
 * with their row checks, instead of once to find them and once more with
 * them.  Should that
 * planning find more to check (a table scoped only in appearance, a scope
 * by a value the statement may change while it runs), the statement, still
 * unplanned, gets checks for all of it and is planned once more.
 */
static PlannedStmt *
plan_predicted(Query *parse, Query *again, List *predicted, const char *query_string,
			   int cursorOptions, ParamListInfo boundParams,
			   ScopeCollector *collector, List **row_checks)
{
	bool		collected;
	PlannedStmt *result;
	List	   *changeable;

	result = plan_judged(again, query_string, cursorOptions, boundParams,
						 collector, &collected);
	changeable = list_concat_unique_oid(scope_values_changeable_tables(collector->value_checks),
										collector->exposed_scopes);
	if (changeable == NIL && scoping_guard_findings_named_by(collector->findings, predicted))
		return result;

	*row_checks = NIL;
	again = copyObject(parse);
	if (row_verification_instrument(again, list_concat(predicted, collector->findings),
									changeable, row_checks))
		result = plan_judged(again, query_string, cursorOptions, boundParams,
							 collector, &collected);
	else if (changeable != NIL)
		scoping_guard_unverifiable_scopes(collector, changeable);
	return result;
}

/*
 * The planner hook's work for a statement the guards judge.  A function of
 * its own, so that the statements that skip it do not pay for its locals.
 */
static pg_noinline PlannedStmt *
planner_judging(Query *parse, const char *query_string,
				int cursorOptions, ParamListInfo boundParams)
{
	ScopeCollector collector;
	UnplannedQuery unplanned;
	bool		may_go_unplanned = false;
	bool		collected;
	List	   *relative_amounts;
	Query	   *again = NULL;
	List	   *row_checks = NIL;
	List	   *written = NIL;
	List	   *verified_under = NIL;
	List	   *changeable = NIL;
	List	   *predicted = NIL;
	WrittenScopes pins;
	bool		pinned = false;
	bool		function_scans;
	PlannedStmt *result;

	/*
	 * Before the planner, which rewrites the Query in place, and before the
	 * collector is pushed, so that an error here leaves nothing behind.
	 * Also for statements the scoping guard does not judge (run by
	 * foreign-key actions, say), since the amount trigger judges every
	 * UPDATE.  The checks of ON CONFLICT DO UPDATE go into the statement
	 * after the amount guard has read its assignments as the user wrote
	 * them.
	 */
	if (citus_internal_planning(query_string))
		row_verification_citus_remark(parse);
	values_lists_as_arrays(parse);
	relative_amounts = NIL;
	if (query_may_update(parse))
	{
		relative_amounts = amount_relative_assignments(parse);
		conflict_guard_add_checks(parse);
	}
	memset(&collector, 0, sizeof(collector));
	if (scoping_guard_applies())
	{
		/*
		 * The tenant context's checks (doc/tenant-context.md).  Citus
		 * needs the distribution column's values as written and plans
		 * statements of its own: with it, the written values known before
		 * the first row become value checks instead, and statements of one
		 * table are verified where their shards are (doc/citus.md).
		 */
		if (query_may_update(parse) && !citus_is_loaded())
			written_rows_instrument(parse);
		else if (query_may_update(parse))
			written = written_rows_known_values(parse);
		again = citus_is_loaded() ? row_verification_citus_candidate(parse) :
			row_verification_candidate(parse, &predicted, &pins, &pinned);

		/*
		 * Citus plans some single-table statements without PostgreSQL's
		 * planner: remember what judging them needs before it runs.
		 */
		may_go_unplanned = citus_is_loaded() &&
			unplanned_query_remember(parse, &unplanned);
	}
	else if (!citus_is_loaded() && scoping_guard_in_referential_query(parse))
		row_verification_referential_checks(parse);

	/*
	 * A SELECT whose every tenant table its conditions as written pin to a
	 * constant or parameter: scoped after planning too, by the same values,
	 * which are its value checks, carried on the tables' own range-table
	 * entries.  Planned without examining each relation.
	 */
	if (pinned && scoping_guard_judges_unexamined(parse))
	{
		result = plan_judged(parse, query_string, cursorOptions, boundParams,
							 NULL, &collected);
		if (!written_scopes_pin_plan(&pins, parse, result))
			plan_carrier_attach(result, NIL, NIL, written_scopes_value_checks(&pins, parse),
								NIL, NIL, NIL);
		return result;
	}

	if (predicted != NIL && row_verification_instrument(again, predicted, NIL, &row_checks))
	{
		result = plan_predicted(parse, again, predicted, query_string, cursorOptions,
								boundParams, &collector, &row_checks);
		plan_carrier_attach(result, collector.findings, relative_amounts,
							list_concat(collector.value_checks, written),
							collector.verified, row_checks, NIL);
		return result;
	}

	/* before the planner inlines them */
	function_scans = query_has_function_scans(parse);
	result = plan_judged(parse, query_string, cursorOptions, boundParams,
						 &collector, &collected);
	if (may_go_unplanned && collected)
		scoping_guard_examine_unplanned(&collector, &unplanned, parse);

	/*
	 * Unscoped scans that a row check can cover, and scans scoped by a
	 * value the statement may change while it runs: plan again with checks.
	 */
	if (again != NULL || function_scans)
		changeable = list_concat_unique_oid(scope_values_changeable_tables(collector.value_checks),
											collector.exposed_scopes);
	if (again != NULL && !citus_is_loaded() &&
		(collector.findings != NIL || changeable != NIL) &&
		row_verification_instrument(again, collector.findings, changeable,
									&row_checks))
		result = plan_judged(again, query_string, cursorOptions, boundParams,
							 &collector, &collected);
	else if (again != NULL && collector.findings != NIL &&
			 (citus_is_loaded() || !row_verification_merge_exposed(again)) &&
			 row_verification_citus_instrument(again, collector.findings,
											   &verified_under))
		result = plan_citus_verified(again, query_string, cursorOptions,
									 boundParams, &collector);
	else if (changeable != NIL && !citus_is_loaded())
		scoping_guard_unverifiable_scopes(&collector, changeable);

	plan_carrier_attach(result, collector.findings, relative_amounts,
						list_concat(collector.value_checks, written),
						collector.verified, row_checks, verified_under);
	return result;
}

static PlannedStmt *
tenant_guard_planner(Query *parse, const char *query_string,
					 int cursorOptions, ParamListInfo boundParams)
{
	if (!scoping_guard_planning_needed(parse))
		return chain_planner(parse, query_string, cursorOptions, boundParams);
	return planner_judging(parse, query_string, cursorOptions, boundParams);
}

/* Planning with a collector: judge the relation after the previous hook. */
static pg_noinline void
set_rel_pathlist_examined(PlannerInfo *root, RelOptInfo *rel,
						  Index rti, RangeTblEntry *rte)
{
	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);
	row_verification_order_barriers(root, rel, rte);
	scoping_guard_examine_rel(root, rel, rti, rte);
}

/* Tail calls only, so that planning without a collector costs a test. */
static void
tenant_guard_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
							  Index rti, RangeTblEntry *rte)
{
	if (scoping_guard_collecting())
		set_rel_pathlist_examined(root, rel, rti, rte);
	else if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);
}

/* The previous ExecutorStart hook, or the standard function. */
static inline void
chain_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart_hook)
		prev_ExecutorStart_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * What ExecutorStart checks, after the standard start, so that permission
 * errors come first.  A plain SELECT without a carrier or row marks, most
 * statements, has nothing to check.
 */
static inline void
executor_start_checks(QueryDesc *queryDesc, int eflags)
{
	if (unlikely(context_rules_statement_checks))
		context_rules_check_statement(queryDesc, eflags);
	/*
	 * The row-lock watch first: it replaces the LockRows node's function,
	 * which the row checks, when that node is the plan's top, then wrap.
	 */
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
	{
		if (queryDesc->plannedstmt->rowMarks != NIL)
			row_locks_watch(queryDesc);
		if (plan_may_update(queryDesc->plannedstmt))
			amount_guard_skip_for_relative_statement(queryDesc);
	}
	if (plan_carrier_may_be_present(queryDesc->plannedstmt) &&
		plan_carrier_judges_more_than_values(queryDesc->plannedstmt))
	{
		scoping_guard_check_execution(queryDesc, eflags);
		scope_values_check_execution(queryDesc, eflags);
		row_checks_start(queryDesc, eflags);
	}
	else if (tenant_context_may_be_set())
		scope_values_check_execution(queryDesc, eflags);	/* also of pinned tables */
}

/*
 * One context per statement (statement_context.c): a statement on tenant
 * tables that starts under a context runs every executor call pinned to
 * it, under the snapshot taken once its executor state exists.  A change
 * of the setting that got past the refusals is an error after the call;
 * an error leaving the call has its constraint detail withheld first.
 * PinnedCall holds the arguments of the call to make; call_pinned takes
 * them one by one, so that the hooks keep no struct on their stack (and
 * so need no stack protector) on the common path.
 */
typedef struct PinnedCall
{
	QueryDesc  *queryDesc;
	int			eflags;			/* ExecutorStart's */
	ScanDirection direction;	/* ExecutorRun's */
	uint64		count;
	bool		execute_once;	/* up to PostgreSQL 17 */
} PinnedCall;

static pg_noinline void
call_pinned(TenantContextSnapshot *snapshot, void (*call) (PinnedCall *),
			QueryDesc *queryDesc, int eflags, ScanDirection direction,
			uint64 count, bool execute_once)
{
	MemoryContext cxt = CurrentMemoryContext;
	TenantContextPin pin;
	PinnedCall	args = {queryDesc, eflags, direction, count, execute_once};

	/* a cursor declared before a cross-tenant refusal asks nothing after it */
	context_rules_check_closed();
	tenant_context_pin(&pin, snapshot);
	PG_TRY();
	{
		call(&args);
	}
	PG_CATCH();
	{
		tenant_context_unpin(&pin);
		context_rules_note_error(cxt);
		error_details_rethrow(cxt);
	}
	PG_END_TRY();
	tenant_context_unpin(&pin);
	tenant_context_check_unchanged(&pin);
}

/*
 * ExecutorStart of such a statement: pinned (with no snapshot yet), it
 * takes the snapshot once its executor state exists and runs its checks
 * under it.
 */
static void
start_call(PinnedCall *args)
{
	TenantContextSnapshot *snapshot;

	chain_ExecutorStart(args->queryDesc, args->eflags);
	snapshot = statement_context_keep(args->queryDesc);
	if (snapshot == NULL)
		tenant_context_report_change();	/* cleared meanwhile */
	tenant_context_activate(snapshot);
	executor_start_checks(args->queryDesc, args->eflags);
}

static void
tenant_guard_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (statement_context_needed(queryDesc))
		call_pinned(NULL, start_call, queryDesc, eflags, NoMovementScanDirection, 0, false);
	else
	{
		chain_ExecutorStart(queryDesc, eflags);
		executor_start_checks(queryDesc, eflags);
	}
}

/*
 * ExecutorRun and ExecutorFinish fire the BEFORE UPDATE triggers of the
 * amount guard, which consult the context of the statement they run for.
 * ExecutorRun pushes one for every statement that can fire them;
 * ExecutorFinish runs them only for what is left of data-modifying WITH
 * queries (the statements its AFTER triggers run push contexts of their
 * own).  Both also tell the scoping guard whether the running executor
 * runs under SECURITY_NOFORCE_RLS (scoping_guard_executor_enter), which
 * tells referential-integrity queries from what they fire.  With Citus,
 * ExecutorRun and ProcessUtility also open the window in which violations
 * the workers hand back for the statement are recorded (citus_relay.c).
 */
/* The previous ExecutorRun hook, or the standard function. */
static inline void
chain_ExecutorRun(TG_EXECUTOR_RUN_PARAMS)
{
	if (prev_ExecutorRun_hook)
		prev_ExecutorRun_hook(TG_EXECUTOR_RUN_ARGS);
	else
		standard_ExecutorRun(TG_EXECUTOR_RUN_ARGS);
}

/* What executor_run_tracked entered, left again; failed: on an error. */
static inline void
leave_run(AmountStatement *statement, bool noforce_changed, bool relaying,
		  bool failed, MemoryContext cxt)
{
	if (statement != NULL)
		amount_statement_leave(statement);
	if (noforce_changed)
		scoping_guard_executor_leave();
	if (relaying)
		citus_relay_end(failed, cxt);
}

/*
 * A run that pushes an amount context, changed the RI tracking or opened
 * a Citus relay window, under PG_TRY to undo them.  Apart from the hook,
 * which then costs the plain SELECT a test and a tail call.
 */
static pg_noinline void
executor_run_tracked(TG_EXECUTOR_RUN_PARAMS, bool may_update,
					 bool noforce_changed, bool relaying)
{
	AmountStatement statement;
	MemoryContext cxt = CurrentMemoryContext;

	if (may_update)
		amount_statement_enter(&statement, queryDesc);
	PG_TRY();
	{
		chain_ExecutorRun(TG_EXECUTOR_RUN_ARGS);
	}
	PG_CATCH();
	{
		leave_run(may_update ? &statement : NULL, noforce_changed, relaying,
				  true, cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	leave_run(may_update ? &statement : NULL, noforce_changed, relaying,
			  false, cxt);
}

static inline void
executor_run_guarded(TG_EXECUTOR_RUN_PARAMS)
{
	bool		may_update = plan_may_update(queryDesc->plannedstmt);
	bool		noforce_changed = scoping_guard_executor_enter();
	bool		relaying = citus_relay_begin();

	if (!may_update && !noforce_changed && !relaying)
		chain_ExecutorRun(TG_EXECUTOR_RUN_ARGS);
	else
		executor_run_tracked(TG_EXECUTOR_RUN_ARGS,
							 may_update, noforce_changed, relaying);
}

static void
run_guarded_call(PinnedCall *args)
{
	QueryDesc  *queryDesc = args->queryDesc;
	ScanDirection direction = args->direction;
	uint64		count = args->count;
	bool		execute_once = args->execute_once;

	(void) execute_once;		/* not an argument from PostgreSQL 18 on */
	executor_run_guarded(TG_EXECUTOR_RUN_ARGS);
}

static void
tenant_guard_ExecutorRun(TG_EXECUTOR_RUN_PARAMS)
{
	TenantContextSnapshot *snapshot =
		statement_contexts_exist() ? statement_context_of(queryDesc) : NULL;

	if (snapshot == NULL)
		executor_run_guarded(TG_EXECUTOR_RUN_ARGS);
	else
		call_pinned(snapshot, run_guarded_call, queryDesc, 0, direction, count,
					TG_EXECUTE_ONCE);
	context_rules_check_session_change();
}

/* The previous ExecutorFinish hook, or the standard function. */
static inline void
chain_ExecutorFinish(QueryDesc *queryDesc)
{
	if (prev_ExecutorFinish_hook)
		prev_ExecutorFinish_hook(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

/* As executor_run_tracked, for ExecutorFinish. */
static pg_noinline void
executor_finish_tracked(QueryDesc *queryDesc, bool modifying_cte,
						bool noforce_changed)
{
	AmountStatement statement;

	if (modifying_cte)
		amount_statement_enter(&statement, queryDesc);
	PG_TRY();
	{
		chain_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		if (modifying_cte)
			amount_statement_leave(&statement);
		if (noforce_changed)
			scoping_guard_executor_leave();
	}
	PG_END_TRY();
}

static inline void
executor_finish_guarded(QueryDesc *queryDesc)
{
	bool		modifying_cte = queryDesc->plannedstmt->hasModifyingCTE;
	bool		noforce_changed = scoping_guard_executor_enter();

	if (!modifying_cte && !noforce_changed)
		chain_ExecutorFinish(queryDesc);
	else
		executor_finish_tracked(queryDesc, modifying_cte, noforce_changed);
}

/* ExecutorFinish runs AFTER triggers: under the statement's context too. */
static void
finish_guarded_call(PinnedCall *args)
{
	executor_finish_guarded(args->queryDesc);
}

static void
tenant_guard_ExecutorFinish(QueryDesc *queryDesc)
{
	/* a plain SELECT's finish fires no trigger and runs no user code */
	TenantContextSnapshot *snapshot =
		statement_contexts_exist() && plan_may_update(queryDesc->plannedstmt) ?
		statement_context_of(queryDesc) : NULL;

	if (snapshot == NULL)
		executor_finish_guarded(queryDesc);
	else
		call_pinned(snapshot, finish_guarded_call, queryDesc, 0, NoMovementScanDirection, 0,
					false);
	context_rules_check_session_change();
}

/*
 * COPY FROM into a tenant table while a tenant context is set: the copied
 * rows are checked (written_rows.c), through a changed copy of the
 * statement.
 */
static PlannedStmt *
copy_from_checked(PlannedStmt *pstmt)
{
	Node	   *checked;
	PlannedStmt *copy;

	if (!IsA(pstmt->utilityStmt, CopyStmt) || tenant_guard_mode == GUARD_MODE_OFF ||
		!tenant_context_is_set() || !scoping_guard_applies())
		return pstmt;
	checked = written_rows_copy_from(pstmt->utilityStmt);
	if (checked == pstmt->utilityStmt)
		return pstmt;
	copy = makeNode(PlannedStmt);
	memcpy(copy, pstmt, sizeof(PlannedStmt));
	copy->utilityStmt = checked;
	return copy;
}

/*
 * COPY FROM under a context runs pinned to it, like a statement on tenant
 * tables (its WHERE clause and the columns' defaults and domain checks run
 * user code); it runs no executor of its own to pin it.
 */
static bool
copy_from_under_context(Node *parsetree)
{
	return IsA(parsetree, CopyStmt) && ((CopyStmt *) parsetree)->is_from &&
		tenant_context_is_set();
}

/* RESET of the context, SET ... TO DEFAULT, RESET ALL. */
static bool
resets_tenant_context(Node *parsetree)
{
	VariableSetStmt *set = (VariableSetStmt *) parsetree;

	if (!IsA(parsetree, VariableSetStmt))
		return false;
	if (set->kind == VAR_RESET_ALL)
		return true;
	return (set->kind == VAR_RESET || set->kind == VAR_SET_DEFAULT) &&
		pg_strcasecmp(set->name, "tenant_guard.tenant") == 0;
}

static void
tenant_guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							bool readOnlyTree, ProcessUtilityContext context,
							ParamListInfo params, QueryEnvironment *queryEnv,
							DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	UtilityGuardState saved_state;
	MemoryContext cxt = CurrentMemoryContext;
	bool		relaying;
	bool		pinned = copy_from_under_context(parsetree);
	TenantContextSnapshot *snapshot = NULL;
	TenantContextPin pin;

	if (resets_tenant_context(parsetree))
		tenant_context_refuse_reset();
	context_rules_check_utility(parsetree);
	context_rules_check_explain(parsetree);
	scoping_guard_check_utility(parsetree, context != PROCESS_UTILITY_TOPLEVEL);
	pstmt = copy_from_checked(pstmt);
	parsetree = pstmt->utilityStmt;
	scoping_guard_begin_utility(parsetree, &saved_state);
	relaying = citus_relay_begin();
	if (pinned)
	{
		snapshot = tenant_context_hold();
		tenant_context_pin(&pin, snapshot);
	}
	PG_TRY();
	{
		if (prev_ProcessUtility_hook)
			prev_ProcessUtility_hook(pstmt, queryString, readOnlyTree, context,
									 params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		context_rules_utility_failed(parsetree, context);
		if (pinned)
		{
			tenant_context_unpin(&pin);
			if (snapshot != NULL)
				tenant_context_release(snapshot);
		}
		scoping_guard_end_utility(&saved_state);
		if (relaying)
			citus_relay_end(true, cxt);
		/* deferred checks run here too, before an exception handler */
		if (pinned || (IsA(parsetree, ConstraintsSetStmt) && error_details_withheld()))
			error_details_rethrow(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (pinned)
	{
		tenant_context_unpin(&pin);
		if (snapshot != NULL)
			tenant_context_release(snapshot);
	}
	scoping_guard_end_utility(&saved_state);
	if (relaying)
		citus_relay_end(false, cxt);
	if (pinned)
		tenant_context_check_unchanged(&pin);
	context_rules_check_session_change();
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant_guard must be loaded via shared_preload_libraries"),
				 errhint("Add tenant_guard to shared_preload_libraries in postgresql.conf and restart the server.")));

	if (IsBinaryUpgrade)
		return;

	settings_define();
	tenant_context_define();
	signed_context_define();
	context_rules_define();
	MarkGUCPrefixReserved(TENANT_GUARD_NAME);
	citus_cluster_init();
	citus_operations_init();
	citus_relay_init();

	extension_state_init();
	tenant_catalog_init();
	break_glass_init();

	audit_writer_register_launcher();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = tenant_guard_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = tenant_guard_shmem_startup;

	prev_planner_hook = planner_hook;
	planner_hook = tenant_guard_planner;
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = tenant_guard_set_rel_pathlist;
	prev_ExecutorStart_hook = ExecutorStart_hook;
	ExecutorStart_hook = tenant_guard_ExecutorStart;
	prev_ExecutorRun_hook = ExecutorRun_hook;
	ExecutorRun_hook = tenant_guard_ExecutorRun;
	prev_ExecutorFinish_hook = ExecutorFinish_hook;
	ExecutorFinish_hook = tenant_guard_ExecutorFinish;
	prev_ProcessUtility_hook = ProcessUtility_hook;
	ProcessUtility_hook = tenant_guard_ProcessUtility;
	error_details_init();
}

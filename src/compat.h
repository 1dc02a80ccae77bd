/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL major versions tenant_guard
 *	  builds against lives here, so the logic files never test
 *	  PG_VERSION_NUM themselves.
 *
 * Supported: PostgreSQL 15, 16, 17 and 18.  The API changes this tree
 * meets, with the release that made them:
 *	- 16: parser/gram.h is no longer installed (query_fingerprint.c
 *	  names the few token numbers it needs, the same in 15 to 18);
 *	  RelFileNode became RelFileLocator;
 *	  get_guc_variables() returns its count and GetNumConfigOptions() is
 *	  gone; JSON parser callbacks return JsonParseErrorType; a GUC check
 *	  hook's "extra" is freed with guc_free, so it must come from
 *	  guc_malloc (malloc'd memory makes guc_free fail, in every backend
 *	  that changes the setting).
 *	- 17: backend ids became ProcNumbers (smgropen, MyProcNumber instead
 *	  of PGPROC.pgprocno); makeJsonLexContextCstringLen takes the context
 *	  to fill; RangeTblEntry no longer arrives through nodes/plannodes.h.
 *	- 18: ExecutorRun and its hook lose execute_once; a grouped query's
 *	  Vars of grouping columns point at an RTE_GROUP entry (tg_ungrouped);
 *	  self-joins are removed before scans are judged; IN (VALUES ...)
 *	  becomes = ANY (values_lists.c does it before 18).  (A change of
 *	  ExecutorStart_hook's return type was reverted before 18.0.)
 * Other differences that change what the planner hands the guard rather
 * than an API are handled where they matter and named there: correlated
 * IN (SELECT ...) pulled up into semi joins (17, scope_params.c).
 *
 * PostgreSQL internals the design relies on.  None is an API promise, so
 * each has a test that fails when a new version changes it:
 *	- The plan carrier (plan_carrier.c): an extra RTE_RESULT entry in a
 *	  final range table survives copyObject and plan caching, the executor
 *	  ignores it, and setrefs.c leaves its securityQuals and values_lists
 *	  empty.  Tests: pg_regress plan_cache (findings of cached and generic
 *	  plans, mode changes), check_function; isolation
 *	  cached_plan_invalidation.
 *	- set_rel_pathlist_hook sees every base relation of every subquery
 *	  with its final baserestrictinfo, after constant folding, inlining and
 *	  equivalence-class derivation, and join clauses never appear there
 *	  (scope_analysis.c).  Tests: pg_regress scope_rules_enforce,
 *	  scope_rules_log, statement_kinds.
 *	- Correlation and lateral references are PlannerParamItems in the
 *	  plan_params of the query level that owns the column while the inner
 *	  level is planned; an initplan's setParam names its outputs; and
 *	  SS_finalize_plan, run early over the finished subplans in
 *	  glob->subplans order, gives an initplan's extParam as standard_planner
 *	  later recomputes it (scope_params.c).  Test: pg_regress
 *	  scope_casts_and_operators.
 *	- Referential-integrity queries run with SECURITY_NOFORCE_RLS
 *	  (InNoForceRLSOperation), which exempts them, and ri_PerformCheck runs
 *	  them with SPI_execute_snapshot(..., fire_triggers = false), so the
 *	  AFTER triggers they queue (cascades) fire at the outer level, outside
 *	  that flag, while BEFORE ROW triggers fire inside the RI query's
 *	  executor run, which is how what they fire is told apart
 *	  (scoping_guard.c).  Tests: pg_regress internal_queries, exemptions.
 *	- ALTER TABLE validates a foreign key with one query of a fixed shape
 *	  (RI_Initial_Check, RI_PartitionRemove_Check in ri_triggers.c: "fk"
 *	  and "pk" aliases, the key's columns and equality operators), run
 *	  without SECURITY_NOFORCE_RLS; fk_validation.c recognises exactly that
 *	  shape.  Test: pg_regress exemptions.
 *	- Logical replication's table synchronisation sends COPY ... TO STDOUT
 *	  on a walsender connection (scoping_guard.c).  Tests: TAP
 *	  005_logical_replication, 009_replication_connection.
 *	- Row-lock node wrapping (row_locks.c): ExecLockRows is static, so the
 *	  LockRows node's ExecProcNode pointer is wrapped, and ExecRowMark's
 *	  curCtid holds the row version actually locked.  Tests: isolation
 *	  amount_lock, amount_webhook; pg_regress amount_guard.
 *	- Trigger-list pruning (amount_guard.c): at ExecutorStart the result
 *	  relations' TriggerDesc can be copied without the amount trigger, and
 *	  PostgreSQL then neither calls the trigger nor locks the row for it
 *	  (GetTupleForTrigger runs only for BEFORE ROW triggers).  Tests:
 *	  isolation amount_relative, amount_refund; pg_regress amount_guard.
 *	- Query ids (query_fingerprint.c): pgstat_get_my_query_id() is the id
 *	  pg_stat_statements reports for the top-level statement when query
 *	  ids are computed, and PostgreSQL's core scanner (scanner_init,
 *	  core_yylex, the token numbers of parser/gram.h) tokenizes a statement
 *	  text as the parser did.  Test: pg_regress query_fingerprint.
 *	- The checks of ON CONFLICT DO UPDATE (conflict_guard.c): a condition
 *	  appended to the Query's onConflictWhere is evaluated last, after the
 *	  conflicting row is locked and before it is updated, and only when the
 *	  conditions before it hold; PostgreSQL maps onConflictWhere and
 *	  onConflictSet to a partition's columns; the planner keeps a
 *	  FuncExpr's COERCE_SQL_SYNTAX, which ruleutils shows as a plain call;
 *	  a function of the plan has the executor's query context as fn_mcxt,
 *	  also for partitions set up while the statement runs.  Tests:
 *	  pg_regress cross_tenant_upsert; isolation cross_tenant_upsert.
 *	- A BEFORE UPDATE row trigger sees the row already locked by the
 *	  current transaction (GetTupleForTrigger), which is why row locks are
 *	  recorded as they are taken rather than read from the row.  Test:
 *	  isolation amount_lock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_COMPAT_H
#define TENANT_GUARD_COMPAT_H

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "tenant_guard supports PostgreSQL 15 to 18; add the differences to compat.h"
#endif

#include "common/jsonapi.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "storage/smgr.h"
#include "utils/guc_tables.h"

/* ExecutorRun's hook: its parameters and the arguments to pass on. */
#if PG_VERSION_NUM >= 180000
#define TG_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define TG_EXECUTOR_RUN_ARGS queryDesc, direction, count
#define TG_EXECUTE_ONCE true
#else
#define TG_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define TG_EXECUTOR_RUN_ARGS queryDesc, direction, count, execute_once
#define TG_EXECUTE_ONCE execute_once
#endif

/* This backend's number among the PGPROCs (whose latch wakes it). */
#if PG_VERSION_NUM >= 170000
#define TG_MY_PROC_NUMBER MyProcNumber
#else
#define TG_MY_PROC_NUMBER (MyProc->pgprocno)
#endif

/* MERGE's ON condition, a field of its own from 17 on (else in the jointree). */
static inline Node *
tg_merge_join_condition(Query *parse)
{
#if PG_VERSION_NUM >= 170000
	return parse->mergeJoinCondition;
#else
	return NULL;
#endif
}

/* Every setting's definition, and how many there are. */
static inline struct config_generic **
tg_guc_variables(int *count)
{
#if PG_VERSION_NUM >= 160000
	return get_guc_variables(count);
#else
	*count = GetNumConfigOptions();
	return get_guc_variables();
#endif
}

/*
 * Memory for a GUC check hook's "extra": malloc'd up to 15; from 16 on
 * PostgreSQL frees it with guc_free, so it must come from guc_malloc.
 * NULL when out of memory.
 */
static inline void *
tg_guc_extra_alloc(Size size)
{
#if PG_VERSION_NUM >= 160000
	return guc_malloc(LOG, size);
#else
	return malloc(size);
#endif
}

static inline void
tg_guc_extra_free(void *extra)
{
#if PG_VERSION_NUM >= 160000
	guc_free(extra);
#else
	free(extra);
#endif
}

/* JSON parser callbacks: void up to 15, an error code from 16 on. */
#if PG_VERSION_NUM >= 160000
typedef JsonParseErrorType tg_json_action;
#define TG_JSON_ACTION_DONE return JSON_SUCCESS
#else
typedef void tg_json_action;
#define TG_JSON_ACTION_DONE return
#endif

/* A lexer over a string (17 can fill a caller's context: NULL allocates). */
static inline JsonLexContext *
tg_json_lexer(char *json, int len, int encoding)
{
#if PG_VERSION_NUM >= 170000
	return makeJsonLexContextCstringLen(NULL, json, len, encoding, true);
#else
	return makeJsonLexContextCstringLen(json, len, encoding, true);
#endif
}

/*
 * Whether the main fork of the relation file with this tablespace,
 * database and file number has no blocks (RelFileNode before 16, a
 * backend id before 17).
 */
static inline bool
tg_relation_file_is_empty(Oid tablespace, Oid database, Oid filenumber)
{
#if PG_VERSION_NUM >= 170000
	RelFileLocator locator = {tablespace, database, filenumber};

	return smgrnblocks(smgropen(locator, INVALID_PROC_NUMBER), MAIN_FORKNUM) == 0;
#elif PG_VERSION_NUM >= 160000
	RelFileLocator locator = {tablespace, database, filenumber};

	return smgrnblocks(smgropen(locator, InvalidBackendId), MAIN_FORKNUM) == 0;
#else
	RelFileNode node = {tablespace, database, filenumber};

	return smgrnblocks(smgropen(node, InvalidBackendId), MAIN_FORKNUM) == 0;
#endif
}

/*
 * What a Var of a query's target list or HAVING stands for.  From 18 on, a
 * grouped query's Vars of grouping columns point at its RTE_GROUP entry,
 * whose groupexprs hold the expressions grouped on; before, they point at
 * the table itself.
 */
static inline Node *
tg_ungrouped(Query *query, Node *expr)
{
#if PG_VERSION_NUM >= 180000
	if (query->hasGroupRTE && expr != NULL && IsA(expr, Var) &&
		((Var *) expr)->varlevelsup == 0)
	{
		Var		   *var = (Var *) expr;
		RangeTblEntry *rte = list_nth_node(RangeTblEntry, query->rtable,
										   var->varno - 1);

		if (rte->rtekind == RTE_GROUP)
			return list_nth(rte->groupexprs, var->varattno - 1);
	}
#endif
	return expr;
}

/*
 * 18 removes a join of a table with itself on a unique key before the
 * scans are judged, and hands the guard one scan with both sides'
 * conditions, where earlier versions judge each side on its own.  While a
 * statement is judged, self-join elimination is off (set and restored by
 * the caller), so that every version judges what the statement says.
 */
#if PG_VERSION_NUM >= 180000
#include "optimizer/planmain.h"
#define TG_HAS_SELF_JOIN_ELIMINATION true
#define TG_SELF_JOIN_ELIMINATION (&enable_self_join_elimination)
#else
#define TG_HAS_SELF_JOIN_ELIMINATION false
#define TG_SELF_JOIN_ELIMINATION ((bool *) NULL)
#endif

/*
 * A Var made for a table on the nullable side of outer joins, referenced
 * above them: from 16 on it names those joins (their range-table indexes)
 * in varnullingrels, which the planner checks; before 16 there is no such
 * field.
 */
static inline void
tg_set_nullingrels(Var *var, Bitmapset *nulling_joins)
{
#if PG_VERSION_NUM >= 160000
	var->varnullingrels = nulling_joins;
#endif
}

/* 18's planner turns IN (VALUES ...) into = ANY (values_lists.c). */
#define TG_PLANNER_TURNS_VALUES_INTO_ARRAYS (PG_VERSION_NUM >= 180000)

#endif							/* TENANT_GUARD_COMPAT_H */

/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL major versions tenant_guard
 *	  builds against lives here, so the logic files never test
 *	  PG_VERSION_NUM themselves.
 *
 * Supported today: PostgreSQL 15.  Adding 13, 14, 16 or 17 means adding
 * branches to this file only.  The PostgreSQL 15 APIs the logic relies on
 * that are spelled differently elsewhere, for whoever adds a version:
 *	- MarkGUCPrefixReserved (15+; EmitWarningsOnPlaceholders before);
 *	- InitMaterializedSRF (named SetSingleFuncCall in some 15 releases;
 *	  hand-built tuplestores before 15);
 *	- pg_analyze_and_rewrite_varparams (15+; pg_analyze_and_rewrite with
 *	  varparams before);
 *	- range-table permissions move to RTEPermissionInfo in 16, which
 *	  changes what an RTE_RESULT entry in a plan's range table needs;
 *	- ExecutorStart_hook's return type changes in 18.
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
 *	  (InNoForceRLSOperation), which exempts them (scoping_guard.c).
 *	  Test: pg_regress internal_queries.
 *	- Row-lock node wrapping (row_locks.c): ExecLockRows is static, so the
 *	  LockRows node's ExecProcNode pointer is wrapped, and ExecRowMark's
 *	  curCtid holds the row version actually locked.  Tests: isolation
 *	  amount_lock, amount_webhook; pg_regress amount_guard.
 *	- Trigger-list pruning (amount_guard.c): at ExecutorStart the result
 *	  relations' TriggerDesc can be copied without the amount trigger, and
 *	  PostgreSQL then neither calls the trigger nor locks the row for it
 *	  (GetTupleForTrigger runs only for BEFORE ROW triggers).  Tests:
 *	  isolation amount_relative, amount_refund; pg_regress amount_guard.
 *	- Query ids (query_fingerprint.c): JumbleQuery() on the parse-analysed
 *	  statement at post_parse_analyze time gives the id pg_stat_statements
 *	  reports.  Test: pg_regress query_fingerprint.
 *	- A BEFORE UPDATE row trigger sees the row already locked by the
 *	  current transaction (GetTupleForTrigger), which is why row locks are
 *	  recorded as they are taken rather than read from the row.  Test:
 *	  isolation amount_lock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_COMPAT_H
#define TENANT_GUARD_COMPAT_H

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "tenant_guard supports PostgreSQL 15; add the differences to compat.h"
#endif

#endif							/* TENANT_GUARD_COMPAT_H */

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

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "tenant_guard supports PostgreSQL 15; add the differences to compat.h"
#endif

#endif							/* TENANT_GUARD_COMPAT_H */

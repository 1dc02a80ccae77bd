/*-------------------------------------------------------------------------
 *
 * scoping_guard.c
 *	  The scoping guard (doc/scoping.md): statements that touch a
 *	  tenant table without a tenant scope.
 *
 * Planning.  While the planner runs, set_rel_pathlist_hook shows us every
 * base relation it plans, in every subquery, CTE and sublink, after views
 * and SQL functions were inlined.  For each tenant table among them,
 * scope_analysis.c judges the restriction; unscoped ones become findings
 * of the innermost planner invocation (a collector stack, since planning
 * can run queries that are planned in turn).  Findings are collected in
 * every mode, so that a plan cached while the guard was off still knows
 * what it does when the guard is switched on.
 *
 * Carrying.  The findings travel inside the PlannedStmt (plan_carrier.c),
 * so they survive plan caching.  Plans without findings carry nothing.
 *
 * Reporting.  ExecutorStart reports the plan's findings under the mode in
 * force at that moment, so a mode change applies at once to cached plans.
 * Registry and column changes invalidate cached plans through relcache
 * invalidation of the table; a tenant_columns change resets the plan cache.
 * EXPLAIN without ANALYZE never starts the executor for real and reports
 * nothing.  Utility statements that read or write a whole table (COPY
 * table TO, TRUNCATE) are judged in the utility hook.
 *
 * Never judged: referential-integrity queries themselves, but not what
 * they fire (see in_referential_integrity_query), the foreign-key
 * validation query of ALTER TABLE (fk_validation.c; the rest of ALTER TABLE
 * is judged), the extension's own work (extension_work_enter), parallel
 * workers (the leader decides), the initial table copy of logical
 * replication (COPY ... TO STDOUT on a replication connection; other
 * statements there are judged), databases without the extension, and the
 * internal queries of REFRESH MATERIALIZED VIEW CONCURRENTLY (the view's
 * own query is judged).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scoping_guard.h"

#include "access/parallel.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "catalog/heap.h"
#include "catalog/pg_inherits.h"
#include "citus_cluster.h"
#include "citus_operations.h"
#include "extension_state.h"
#include "fk_validation.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/value.h"
#include "plan_carrier.h"
#include "replication/walsender.h"
#include "scope_analysis.h"
#include "row_verification.h"
#include "scope_values.h"
#include "settings.h"
#include "tcop/utility.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"

/* The innermost planner invocation's collector; read in scoping_guard.h. */
ScopeCollector *scoping_guard_collector = NULL;
static Oid	refreshing_matview = InvalidOid;

/* Nesting depth of ALTER TABLE statements (their FK validation is exempt). */
static int	altering_table = 0;

/* Inside COPY ... TO STDOUT on a replication connection. */
static bool copying_for_replication = false;

/*
 * Whether the innermost running executor (ExecutorRun or ExecutorFinish)
 * runs under SECURITY_NOFORCE_RLS.  See in_referential_integrity_query;
 * kept up by scoping_guard_executor_enter and _leave (scoping_guard.h).
 */
bool		scoping_guard_executor_noforce = false;

/*
 * PostgreSQL's referential-integrity queries (ri_PerformCheck) run under
 * SECURITY_NOFORCE_RLS, the flag RLS itself uses to exempt them.  But so
 * does everything their executor run fires or calls: BEFORE ROW triggers of
 * a cascaded delete, functions.  Those are planned and started while the RI
 * query's executor runs under the flag; the RI query itself is planned and
 * started while the flag is set but the innermost running executor (the
 * statement whose AFTER triggers fire it, or none at commit) is not under
 * it.  Cascades stay exempt: the RI query runs with fire_triggers = false,
 * so the triggers it queues fire after its run, at the outer level.
 */
static inline bool
in_referential_integrity_query(void)
{
	return InNoForceRLSOperation() && !scoping_guard_executor_noforce;
}

/*
 * Is the guard at work in this process and operation at all: not the
 * extension's own work, not a parallel worker, not logical replication's
 * table copy, not Citus's own connection or operation, and the extension
 * exists in this database.
 */
static inline bool
guard_active_here(void)
{
	return !in_extension_work() &&
		!IsParallelWorker() &&
		!copying_for_replication &&
		!citus_internal_connection() &&
		!in_citus_operation() &&
		extension_is_active();
}

/*
 * Is the statement at hand one the guard judges at all?  Also asked by the
 * cross-tenant write rule (conflict_guard.c), which has the same
 * exemptions.
 */
bool
scoping_guard_applies(void)
{
	return guard_active_here() && !in_referential_integrity_query();
}

static bool
reads_tenant_tables_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
		return ((RangeTblEntry *) node)->rtekind == RTE_RELATION &&
			!tenant_table_ruled_out(((RangeTblEntry *) node)->relid);
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, reads_tenant_tables_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, reads_tenant_tables_walker, context);
}

/*
 * Does any level of the statement (subqueries, sublinks, CTEs included)
 * read a tenant table, or a table a tenant table may be expanded into?
 */
bool
scoping_guard_query_reads_tenant_tables(Query *parse)
{
	return reads_tenant_tables_walker((Node *) parse, NULL);
}

/*
 * Is the statement at hand a referential-integrity query itself (the
 * look-up of the row a foreign key points at, a cascaded DELETE or
 * UPDATE), where the guard is at work?  Not judged by the rules above;
 * row_verification.c checks its rows against the tenant context.
 */
bool
scoping_guard_in_referential_query(Query *parse)
{
	return in_referential_integrity_query() && parse->querySource == QSRC_ORIGINAL &&
		guard_active_here();
}

/*
 * A finding, as carried in the plan: a List of (Integer relid, Integer
 * kind, Integer access path, String tenant column), plain nodes that
 * copyObject and the plan serialization for parallel query understand.
 */
static List *
make_finding(Oid relid, ViolationKind kind, AccessPath path)
{
	TenantTableInfo info;

	tenant_table_describe(relid, &info);
	return list_make4(makeInteger((int) relid),
					  makeInteger((int) kind),
					  makeInteger((int) path),
					  makeString(pstrdup(NameStr(info.tenant_column))));
}

static void
read_finding(List *finding, UnscopedAccess *access)
{
	access->relid = (Oid) intVal(linitial(finding));
	access->kind = (ViolationKind) intVal(lsecond(finding));
	access->path = (AccessPath) intVal(lthird(finding));
	access->tenant_column = strVal(lfourth(finding));
}

static List *
add_finding(List *findings, Oid relid, ViolationKind kind, AccessPath path)
{
	ListCell   *lc;

	foreach(lc, findings)
	{
		UnscopedAccess seen;

		read_finding(lfirst(lc), &seen);
		if (seen.relid == relid && seen.kind == kind)
			return findings;
	}
	return lappend(findings, make_finding(relid, kind, path));
}

/* A finding predicted before planning (row_verification.c). */
List *
scoping_guard_predict_finding(List *findings, Oid relid, bool writes)
{
	return add_finding(findings, relid,
					   writes ? VIOLATION_UNSCOPED_WRITE : VIOLATION_UNSCOPED_READ,
					   ACCESS_SCAN);
}

/* Does each of the findings name a relation that one of the others names? */
bool
scoping_guard_findings_named_by(List *findings, List *others)
{
	ListCell   *lc;

	foreach(lc, findings)
	{
		UnscopedAccess seen;

		read_finding(lfirst(lc), &seen);
		if (!scoping_guard_findings_name(others, seen.relid))
			return false;
	}
	return true;
}

/*
 * Are checks that a plan carries from planning made where it runs now?
 * (The tenant context's value checks ask, as the findings are.)
 */
bool
scoping_guard_judges_execution(void)
{
	return guard_active_here();
}

/* Does one of the findings name the relation? */
bool
scoping_guard_findings_name(List *findings, Oid relid)
{
	ListCell   *lc;

	foreach(lc, findings)
	{
		UnscopedAccess seen;

		read_finding(lfirst(lc), &seen);
		if (seen.relid == relid)
			return true;
	}
	return false;
}

/* By table, then kind: the order the planner met the scans in varies. */
static int
compare_findings(const ListCell *a, const ListCell *b)
{
	UnscopedAccess left;
	UnscopedAccess right;

	read_finding(lfirst(a), &left);
	read_finding(lfirst(b), &right);
	if (left.relid != right.relid)
		return left.relid < right.relid ? -1 : 1;
	return (int) left.kind - (int) right.kind;
}

/*
 * The findings a plan carries, in the same order whatever plan the
 * planner made.  Those that row verification covers (row_verification.c)
 * count only while it is not in force, or, for a Citus row condition made
 * for one context, under another.
 */
static List *
plan_findings(PlannedStmt *stmt)
{
	List	   *findings = plan_carrier_scope_findings(stmt);
	List	   *verified = plan_carrier_verified_findings(stmt);

	if (verified != NIL &&
		!(row_verification_in_force() &&
		  row_verification_planned_settings_hold(plan_carrier_verified_under(stmt))))
		findings = list_concat_copy(findings, verified);
	else if (list_length(findings) > 1)
		findings = list_copy(findings);
	if (list_length(findings) > 1)
		list_sort(findings, compare_findings);
	return findings;
}

static List *
findings_to_accesses(List *findings)
{
	List	   *accesses = NIL;
	ListCell   *lc;

	foreach(lc, findings)
	{
		UnscopedAccess *access = palloc(sizeof(UnscopedAccess));

		read_finding(lfirst(lc), access);
		accesses = lappend(accesses, access);
	}
	return accesses;
}

/*----------
 * Planning
 *----------
 */

/*
 * Is a statement planned here judged: the guard active, and not the query
 * of a referential-integrity check itself (an action a rule added to it
 * is judged)?
 */
static bool
judges_planned_statement(Query *parse)
{
	return guard_active_here() &&
		!(in_referential_integrity_query() && parse->querySource == QSRC_ORIGINAL);
}

/* Returns false, and pushes nothing, when the statement is not judged. */
bool
scoping_guard_begin_planning(ScopeCollector *collector, Query *parse,
							 const char *query_string)
{
	/*
	 * Citus plans fragments of a statement while the statement itself is
	 * planned (recursively planned CTEs and subqueries, the SELECT of INSERT
	 * ... SELECT), and that statement is judged as a whole.
	 */
	if (citus_internal_planning(query_string) && scoping_guard_collector != NULL)
		return false;
	if (!judges_planned_statement(parse))
		return false;
	if (altering_table > 0 && is_foreign_key_validation_query(parse))
		return false;
	collector->findings = NIL;
	collector->value_checks = NIL;
	collector->verified = NIL;
	collector->exposed_scopes = NIL;
	collector->examined_relation = false;
	collector->skip_citus_shards = citus_internal_planning(query_string);
	collector->outer = scoping_guard_collector;
	scoping_guard_collector = collector;
	return true;
}

/*
 * Would a statement planned now, outside the planning of any other, be
 * judged (scoping_guard_begin_planning)?  Asked of a statement whose
 * tenant tables its conditions as written pin (written_scopes.c), which
 * the planner hook then plans without a collector: no relation of its
 * can meet another statement's.  Without Citus, which plans fragments of
 * statements itself.
 */
bool
scoping_guard_judges_unexamined(Query *parse)
{
	return scoping_guard_collector == NULL && altering_table == 0 &&
		judges_planned_statement(parse);
}

void
scoping_guard_end_planning(ScopeCollector *collector)
{
	scoping_guard_collector = collector->outer;
}

/*
 * Must the planner hook judge this statement, or can it hand it straight to
 * the planner?  Asked before planning, so that statements without tenant
 * tables (the bulk of many workloads) pay neither PG_TRY nor a collector.
 * The statement is left alone only when nothing could come of judging it:
 * a plain SELECT, planned outside the planning of any other statement
 * (whose collector the planner's relations would otherwise meet) and with
 * the referential-integrity tracking already in step (plan_judged would
 * change nothing), whose range table holds nothing but joins and relations
 * that neither are tenant tables nor expand into any (tenant_table_ruled_out).
 * Subqueries, CTEs, sublinks, functions (which SQL functions inline into)
 * and views (subqueries by now) all take the full path, as does Citus,
 * which plans fragments of statements itself.
 */
bool
scoping_guard_planning_needed(Query *parse)
{
	ListCell   *lc;

	if (parse->commandType != CMD_SELECT || parse->hasModifyingCTE ||
		parse->hasSubLinks || parse->cteList != NIL ||
		scoping_guard_collector != NULL ||
		InNoForceRLSOperation() != scoping_guard_executor_noforce ||
		citus_is_loaded())
		return true;
	if (!extension_is_active())
		return false;
	foreach(lc, parse->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_JOIN)
			continue;
		if (rte->rtekind != RTE_RELATION || !tenant_table_ruled_out(rte->relid))
			return true;
	}
	return false;
}

/* The findings a plan carries, as UnscopedAccess structs. */
List *
scoping_guard_plan_findings(PlannedStmt *stmt)
{
	return findings_to_accesses(plan_findings(stmt));
}

/*
 * An inheritance child or partition is judged through its parent when the
 * parent is a tenant table: the child's restriction is the parent's,
 * translated, and one finding per statement and table is enough.  The
 * parent is judged itself, or through its own parent.  Children of
 * anything else (a UNION ALL, a parent without a tenant column) are judged
 * on their own.
 */
static bool
judged_through_parent(PlannerInfo *root, RelOptInfo *rel)
{
	AppendRelInfo *link;
	RangeTblEntry *parent;

	if (rel->reloptkind != RELOPT_OTHER_MEMBER_REL ||
		root->append_rel_array == NULL ||
		(link = root->append_rel_array[rel->relid]) == NULL)
		return false;
	parent = root->simple_rte_array[link->parent_relid];
	return parent->rtekind == RTE_RELATION &&
		tenant_table_attnum(parent->relid) != InvalidAttrNumber;
}

static bool
is_result_relation(PlannerInfo *root, RelOptInfo *rel, Index rti)
{
	Index		result = root->parse->resultRelation;

	if (result == 0)
		return false;
	return rti == result ||
		(rel->top_parent_relids != NULL &&
		 bms_is_member(result, rel->top_parent_relids));
}

/*
 * REFRESH MATERIALIZED VIEW CONCURRENTLY compares the view with a new copy
 * in temporary tables through internal queries; those read the view and
 * the temporary copies whole, by design.
 */
static bool
is_refresh_internal_scan(Oid relid)
{
	return OidIsValid(refreshing_matview) &&
		(relid == refreshing_matview ||
		 get_rel_persistence(relid) == RELPERSISTENCE_TEMP);
}

void
scoping_guard_examine_rel(PlannerInfo *root, RelOptInfo *rel, Index rti,
						  RangeTblEntry *rte)
{
	AttrNumber	tenant_attnum;
	ViolationKind kind;

	if (scoping_guard_collector == NULL || rte->rtekind != RTE_RELATION)
		return;
	scoping_guard_collector->examined_relation = true;
	tenant_attnum = tenant_table_attnum(rte->relid);
	if (tenant_attnum == InvalidAttrNumber)
		return;
	if (judged_through_parent(root, rel) || is_refresh_internal_scan(rte->relid))
		return;

	/*
	 * Shard queries Citus plans while it executes a statement on this node
	 * (local execution) read shards; the statement was judged by its
	 * distributed tables.  Statements Citus plans for a client's SQL text
	 * (create_intermediate_result) are judged by the tables they name.
	 */
	if (scoping_guard_collector->skip_citus_shards &&
		tenant_table_is_citus_shard(rte->relid))
		return;
	if (restriction_has_tenant_scope(root, rel, tenant_attnum))
	{
		/* the tenant values it names, for the tenant context */
		scoping_guard_collector->value_checks =
			scope_values_collect(scoping_guard_collector->value_checks, root, rel,
								 rte->relid, tenant_attnum,
								 is_result_relation(root, rel, rti));

		/*
		 * Planned without a context, the scope counts even next to code
		 * that is not leakproof, which the scan may run first; the plan
		 * can run later under a context, so it gets a row check too
		 * (row_verification.c), which passes every row until then.
		 */
		if (restriction_has_leaky_code(root, rel, tenant_attnum))
			scoping_guard_collector->exposed_scopes =
				list_append_unique_oid(scoping_guard_collector->exposed_scopes, rte->relid);
		return;
	}

	kind = is_result_relation(root, rel, rti) ?
		VIOLATION_UNSCOPED_WRITE : VIOLATION_UNSCOPED_READ;
	/* A scan given a row check (row_verification.c) is a finding apart. */
	if (row_verification_covers(rte))
		scoping_guard_collector->verified =
			add_finding(scoping_guard_collector->verified, rte->relid, kind, ACCESS_SCAN);
	else
		scoping_guard_collector->findings =
			add_finding(scoping_guard_collector->findings, rte->relid, kind, ACCESS_SCAN);
}

/*
 * Scans scoped by a value the statement can change, or next to code that
 * is not leakproof, that no row check could be added to (the query of a
 * SQL function the planner inlined): judged unscoped, so that the
 * statement fails closed.
 */
void
scoping_guard_unverifiable_scopes(ScopeCollector *collector, List *relids)
{
	ListCell   *lc;

	foreach(lc, relids)
		collector->findings = add_finding(collector->findings, lfirst_oid(lc),
										  VIOLATION_UNSCOPED_READ, ACCESS_SCAN);
}

static List *
remove_findings_of(List *findings, Oid relid)
{
	List	   *kept = NIL;
	ListCell   *lc;

	foreach(lc, findings)
	{
		UnscopedAccess seen;

		read_finding(lfirst(lc), &seen);
		if (seen.relid != relid)
			kept = lappend(kept, lfirst(lc));
	}
	return kept;
}

/*
 * A single-table statement (unplanned_query.c) after the planner hook
 * below ours planned it.  Citus's fast path either skips PostgreSQL's
 * planner, so that no relation was examined, or, when the shard is on this
 * node, replaces the table by its shard in the statement and plans that:
 * the shard's findings are then the table's, and are judged as the table's
 * from the statement itself.
 */
void
scoping_guard_examine_unplanned(ScopeCollector *collector,
								UnplannedQuery *query, Query *planned)
{
	RangeTblEntry *rte = planned->rtable != NIL ?
		linitial_node(RangeTblEntry, planned->rtable) : NULL;

	if (rte != NULL && rte->rtekind == RTE_RELATION && rte->relid != query->relid)
	{
		collector->findings = remove_findings_of(collector->findings, rte->relid);
		collector->examined_relation = false;
	}
	if (collector->examined_relation ||
		unplanned_query_is_scoped(query, &collector->value_checks))
		return;
	/* a statement whose rows are verified is a finding apart */
	if (query->covered)
		collector->verified =
			add_finding(collector->verified, query->relid,
						query->writes ? VIOLATION_UNSCOPED_WRITE : VIOLATION_UNSCOPED_READ,
						ACCESS_SCAN);
	else
		collector->findings =
			add_finding(collector->findings, query->relid,
						query->writes ? VIOLATION_UNSCOPED_WRITE : VIOLATION_UNSCOPED_READ,
						ACCESS_SCAN);
}

/*-----------
 * Reporting
 *-----------
 */

const char *
unscoped_access_detail(const UnscopedAccess *access)
{
	switch (access->path)
	{
		case ACCESS_SCAN:
			return "No top-level condition restricts the tenant column to a constant, "
				"a parameter or an expression of them, after the planner has "
				"simplified the statement.";
		case ACCESS_COPY_TO:
			return "COPY ... TO reads every row of the table, for every tenant.";
		case ACCESS_TRUNCATE:
			return "TRUNCATE removes the rows of every tenant.";
	}
	return NULL;
}

static char *
unscoped_access_hint(const UnscopedAccess *access)
{
	const char *column = quote_identifier(access->tenant_column);

	switch (access->path)
	{
		case ACCESS_SCAN:
			break;
		case ACCESS_COPY_TO:
			return psprintf("Copy one tenant's rows with COPY (SELECT ... WHERE %s = <tenant id>) TO.",
							column);
		case ACCESS_TRUNCATE:
			return psprintf("Delete one tenant's rows with DELETE ... WHERE %s = <tenant id>, "
							"or truncate as a role whose tenant_guard.mode is off.",
							column);
	}
	return psprintf("Restrict the statement to one tenant, for example with "
					"WHERE %s = <tenant id>, = $1, IN (...) or = ANY ($1).",
					column);
}

static void
report_unscoped_access(const UnscopedAccess *access, const char *command)
{
	char	   *relation = relation_message_name(access->relid);
	Violation	violation;

	violation.kind = access->kind;
	violation.relid = access->relid;
	violation.column = access->tenant_column;
	violation.command = command;
	violation.sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
	violation.message =
		psprintf(access->kind == VIOLATION_UNSCOPED_WRITE ?
				 "unscoped write to tenant table \"%s\" with no condition on tenant column \"%s\"" :
				 "unscoped read of tenant table \"%s\" with no condition on tenant column \"%s\"",
				 relation, access->tenant_column);
	violation.detail = unscoped_access_detail(access);
	violation.hint = unscoped_access_hint(access);
	violation_report(&violation, (GuardMode) tenant_guard_mode);
}

static void
report_all(List *accesses, Node *statement)
{
	const char *command = GetCommandTagName(CreateCommandTag(statement));
	ListCell   *lc;

	foreach(lc, accesses)
		report_unscoped_access(lfirst(lc), command);
}

void
scoping_guard_check_execution(QueryDesc *queryDesc, int eflags)
{
	List	   *accesses;

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 ||
		tenant_guard_mode == GUARD_MODE_OFF ||
		(plan_carrier_scope_findings(queryDesc->plannedstmt) == NIL &&
		 plan_carrier_verified_findings(queryDesc->plannedstmt) == NIL) ||
		!guard_active_here())
		return;

	/*
	 * Not scoping_guard_applies(): a statement that was exempt when it was
	 * planned (an RI query, a foreign-key validation) carries no findings,
	 * and one that carries them was judged when it was planned, whatever
	 * runs it now.  None are left when row verification covers them all.
	 */
	accesses = scoping_guard_plan_findings(queryDesc->plannedstmt);
	if (accesses != NIL)
		report_all(accesses, (Node *) queryDesc->plannedstmt);
}

/*---------------------
 * Utility statements
 *---------------------
 */

static Oid
tenant_table_of(RangeVar *relation)
{
	Oid			relid = RangeVarGetRelid(relation, NoLock, true);

	if (!OidIsValid(relid) || tenant_table_attnum(relid) == InvalidAttrNumber)
		return InvalidOid;
	return relid;
}

/*
 * The tables a TRUNCATE empties: each one named, its inheritance children
 * and partitions unless ONLY, and with CASCADE the tables that reference
 * them by foreign key, as ExecuteTruncate finds them (it does not descend
 * into the children of those).
 */
static List *
truncated_relations(TruncateStmt *stmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, stmt->relations)
	{
		RangeVar   *rv = lfirst_node(RangeVar, lc);
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);

		if (!OidIsValid(relid))
			continue;
		if (rv->inh)
			relids = list_concat_unique_oid(relids,
											find_all_inheritors(relid, NoLock, NULL));
		else
			relids = list_append_unique_oid(relids, relid);
	}
	if (stmt->behavior == DROP_CASCADE)
	{
		List	   *referencing;

		while ((referencing = list_difference_oid(heap_truncate_find_FKs(relids),
												  relids)) != NIL)
			relids = list_concat(relids, referencing);
	}
	return relids;
}

/*
 * COPY table TO and TRUNCATE touch every row.  COPY (query) TO is judged by
 * its query, as is COPY table TO on a table with row-level security, which
 * COPY itself turns into a query.  A relation that does not exist is left
 * to the command to report.
 */
List *
scoping_guard_utility_findings(Node *parsetree)
{
	List	   *findings = NIL;

	if (IsA(parsetree, CopyStmt))
	{
		CopyStmt   *copy = (CopyStmt *) parsetree;
		Oid			relid;

		if (copy->is_from || copy->relation == NULL)
			return NIL;
		relid = tenant_table_of(copy->relation);
		if (OidIsValid(relid) &&
			check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED)
			findings = add_finding(findings, relid, VIOLATION_UNSCOPED_READ,
								   ACCESS_COPY_TO);
	}
	else if (IsA(parsetree, TruncateStmt))
	{
		ListCell   *lc;

		foreach(lc, truncated_relations((TruncateStmt *) parsetree))
		{
			Oid			relid = lfirst_oid(lc);

			if (tenant_table_attnum(relid) != InvalidAttrNumber)
				findings = add_finding(findings, relid, VIOLATION_UNSCOPED_WRITE,
									   ACCESS_TRUNCATE);
		}
	}
	return findings_to_accesses(findings);
}

/*
 * The tenant tables a COPY (to or from a table) or a TRUNCATE touches, in
 * OID order.
 */
List *
scoping_guard_utility_tables(Node *parsetree)
{
	List	   *relids = NIL;

	if (IsA(parsetree, CopyStmt) && ((CopyStmt *) parsetree)->relation != NULL)
	{
		Oid			relid = tenant_table_of(((CopyStmt *) parsetree)->relation);

		if (OidIsValid(relid))
			relids = list_make1_oid(relid);
	}
	else if (IsA(parsetree, TruncateStmt))
	{
		ListCell   *lc;

		foreach(lc, truncated_relations((TruncateStmt *) parsetree))
		{
			if (tenant_table_attnum(lfirst_oid(lc)) != InvalidAttrNumber)
				relids = list_append_unique_oid(relids, lfirst_oid(lc));
		}
		list_sort(relids, list_oid_cmp);
	}
	return relids;
}

/*
 * Logical replication's initial table copy: the subscriber's tablesync
 * worker sends COPY table TO STDOUT, or COPY (SELECT ...) TO STDOUT for row
 * filters and partitions, on its replication connection.  Replication
 * connections need a role with REPLICATION, which reads every published
 * row through logical decoding anyway.  Any other statement on such a
 * connection is judged.
 */
static bool
is_replication_table_copy(Node *parsetree)
{
	CopyStmt   *copy;

	if (!am_walsender || !IsA(parsetree, CopyStmt))
		return false;
	copy = (CopyStmt *) parsetree;
	if (copy->is_from || copy->filename != NULL)
		return false;
	/* a table, or the plain SELECT table synchronisation sends */
	return copy->query == NULL ||
		(IsA(copy->query, SelectStmt) &&
		 ((SelectStmt *) copy->query)->withClause == NULL &&
		 ((SelectStmt *) copy->query)->lockingClause == NIL);
}

/*
 * Citus executes a TRUNCATE of a reference or Citus-local table on the
 * local shard as a nested utility statement; the client's TRUNCATE was
 * judged by its table.  A client naming a shard at top level is judged.
 */
static List *
without_citus_shards(List *accesses)
{
	List	   *kept = NIL;
	ListCell   *lc;

	foreach(lc, accesses)
	{
		UnscopedAccess *access = lfirst(lc);

		if (!tenant_table_is_citus_shard(access->relid))
			kept = lappend(kept, access);
	}
	return kept;
}

void
scoping_guard_check_utility(Node *parsetree, bool nested)
{
	List	   *accesses;

	if (tenant_guard_mode == GUARD_MODE_OFF)
		return;
	if (!IsA(parsetree, CopyStmt) && !IsA(parsetree, TruncateStmt))
		return;
	if (!scoping_guard_applies() || is_replication_table_copy(parsetree))
		return;
	accesses = scoping_guard_utility_findings(parsetree);
	if (nested && citus_is_loaded())
		accesses = without_citus_shards(accesses);
	report_all(accesses, parsetree);
}

/*
 * Around a utility statement.  REFRESH MATERIALIZED VIEW notes which view is
 * refreshed.  ALTER TABLE validates foreign keys with an internal query
 * (RI_Initial_Check, RI_PartitionRemove_Check) that, unlike the per-row
 * checks, does not run with SECURITY_NOFORCE_RLS; only that query is
 * exempt (fk_validation.c), not the expressions ALTER TABLE evaluates.
 */
void
scoping_guard_begin_utility(Node *parsetree, UtilityGuardState *saved)
{
	saved->refreshing_matview = refreshing_matview;
	saved->altering_table = altering_table;
	saved->copying_for_replication = copying_for_replication;
	if (IsA(parsetree, RefreshMatViewStmt))
		refreshing_matview =
			RangeVarGetRelid(((RefreshMatViewStmt *) parsetree)->relation, NoLock, true);
	else if (IsA(parsetree, AlterTableStmt))
		altering_table++;
	else if (is_replication_table_copy(parsetree))
		copying_for_replication = true;
}

void
scoping_guard_end_utility(const UtilityGuardState *saved)
{
	refreshing_matview = saved->refreshing_matview;
	altering_table = saved->altering_table;
	copying_for_replication = saved->copying_for_replication;
}

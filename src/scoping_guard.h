/*-------------------------------------------------------------------------
 *
 * scoping_guard.h
 *	  The scoping guard: finds scans of tenant tables without a tenant
 *	  scope while a statement is planned, carries the findings in the plan,
 *	  and reports them when the plan is executed.  See scoping_guard.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_SCOPING_GUARD_H
#define TENANT_GUARD_SCOPING_GUARD_H

#include "tenant_guard.h"

#include "executor/execdesc.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"
#include "unplanned_query.h"
#include "violation.h"

/* How an unscoped access was made. */
typedef enum AccessPath
{
	ACCESS_SCAN,				/* a scan in a planned statement */
	ACCESS_COPY_TO,				/* COPY table TO */
	ACCESS_TRUNCATE				/* TRUNCATE table */
} AccessPath;

/* One unscoped access found in a statement. */
typedef struct UnscopedAccess
{
	Oid			relid;
	ViolationKind kind;			/* unscoped_read or unscoped_write */
	AccessPath	path;
	const char *tenant_column;
} UnscopedAccess;

extern const char *unscoped_access_detail(const UnscopedAccess *access);

/* Findings of one (possibly nested) planner invocation. */
typedef struct ScopeCollector
{
	List	   *findings;		/* to be carried in the plan */
	bool		examined_relation;	/* set_rel_pathlist_hook saw a relation */
	bool		skip_citus_shards;	/* Citus plans a statement's fragment */
	struct ScopeCollector *outer;
	/* tenant context (doc/tenant-context.md) */
	List	   *value_checks;	/* tenant values of scopes (scope_values.c) */
	List	   *verified;		/* findings that row verification covers */
	List	   *exposed_scopes; /* OIDs: scoped next to code that is not leakproof */
} ScopeCollector;

extern bool scoping_guard_applies(void);
extern bool scoping_guard_in_referential_query(Query *parse);
extern bool scoping_guard_query_reads_tenant_tables(Query *parse);
extern bool scoping_guard_planning_needed(Query *parse);
extern bool scoping_guard_begin_planning(ScopeCollector *collector,
										 Query *parse,
										 const char *query_string);
extern void scoping_guard_examine_unplanned(ScopeCollector *collector,
											UnplannedQuery *query,
											Query *planned);

/*
 * Around ExecutorRun and ExecutorFinish (and planning, which runs what the
 * planner evaluates): whether the running executor runs under
 * SECURITY_NOFORCE_RLS, which tells referential-integrity queries from
 * what they fire.  enter returns true when it changed the state, and only
 * then must the caller call scoping_guard_executor_leave after the run
 * (also on error).  Inline, since every statement passes here twice and
 * almost never changes the state.
 */
extern PGDLLIMPORT bool scoping_guard_executor_noforce;

static inline bool
scoping_guard_executor_enter(void)
{
	bool		noforce = InNoForceRLSOperation();

	if (noforce == scoping_guard_executor_noforce)
		return false;
	scoping_guard_executor_noforce = noforce;
	return true;
}

static inline void
scoping_guard_executor_leave(void)
{
	scoping_guard_executor_noforce = !scoping_guard_executor_noforce;
}
extern void scoping_guard_end_planning(ScopeCollector *collector);
extern bool scoping_guard_judges_unexamined(Query *parse);
extern void scoping_guard_unverifiable_scopes(ScopeCollector *collector, List *relids);
extern void scoping_guard_examine_rel(PlannerInfo *root, RelOptInfo *rel,
									  Index rti, RangeTblEntry *rte);

/*
 * Is a collector waiting for the relations the planner plans?  Inline, so
 * that set_rel_pathlist_hook costs planning without one (statements without
 * tenant tables, scoping_guard_planning_needed) a test.
 */
extern PGDLLIMPORT ScopeCollector *scoping_guard_collector;

static inline bool
scoping_guard_collecting(void)
{
	return scoping_guard_collector != NULL;
}
extern void scoping_guard_check_execution(QueryDesc *queryDesc, int eflags);
extern void scoping_guard_check_utility(Node *parsetree, bool nested);
/* What a utility statement changed about the guard, to be undone after it. */
typedef struct UtilityGuardState
{
	Oid			refreshing_matview;
	int			altering_table;
	bool		copying_for_replication;
} UtilityGuardState;

extern void scoping_guard_begin_utility(Node *parsetree, UtilityGuardState *saved);
extern void scoping_guard_end_utility(const UtilityGuardState *saved);

extern List *scoping_guard_plan_findings(PlannedStmt *stmt);
extern bool scoping_guard_findings_name(List *findings, Oid relid);
extern List *scoping_guard_predict_finding(List *findings, Oid relid, bool writes);
extern bool scoping_guard_findings_named_by(List *findings, List *others);
extern bool scoping_guard_judges_execution(void);
extern List *scoping_guard_utility_findings(Node *parsetree);
extern List *scoping_guard_utility_tables(Node *parsetree);

#endif							/* TENANT_GUARD_SCOPING_GUARD_H */

/*-------------------------------------------------------------------------
 *
 * statement_context.c
 *	  Which statements run under a snapshot of the tenant context, and
 *	  which snapshot: the one taken when the statement started.
 *
 * A statement that reads or writes a tenant table (its plan's range table
 * holds one, or a table a tenant table may be expanded into) and starts
 * while a context is set keeps that context to its end: the executor hooks
 * (tenant_guard.c) pin the context around every call of the statement's
 * executor, and put its snapshot in force (tenant_context.c).  A cursor's
 * statement keeps its snapshot between FETCHes, so each FETCH runs under
 * the context of the DECLARE, whatever the session set in between.
 *
 * The statement holds a snapshot of the setting (tenant_context.c: one
 * copy for all statements started under the same setting) while its
 * executor state (es_query_cxt) lives; a callback on that memory removes
 * the statement from the list and lets go of the snapshot when the
 * executor state goes, at ExecutorEnd or when an error or the end of the
 * transaction frees it.  The list holds the statements running or open
 * (cursors) that have a snapshot: almost always none or one.
 *
 * This file must not judge statements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "statement_context.h"

#include "citus_cluster.h"
#include "extension_state.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "tenant_catalog.h"
#include "utils/memutils.h"

struct StatementContext
{
	QueryDesc  *queryDesc;
	TenantContextSnapshot *snapshot;
	StatementContext *next;
	MemoryContextCallback forget;
};

static StatementContext *statements = NULL;

/* Whether the list is not empty, read inline by the executor hooks. */
bool		statement_contexts_present = false;

/* Does the plan read or write a tenant table, or one a tenant table may be? */
static bool
plan_touches_tenant_tables(PlannedStmt *plan)
{
	ListCell   *lc;

	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && !tenant_table_ruled_out(rte->relid))
			return true;
	}
	return false;
}

/*
 * Must the statement about to start run under a snapshot of the context?
 * Not on a connection Citus opened to this worker: the coordinator judged
 * the statement, and hands the context its shard queries check with to
 * each row check (row_verification.c, verify_shard_row), which adopts it.
 */
bool
statement_context_needed_slow(QueryDesc *queryDesc)
{
	return tenant_context_is_set() && extension_is_active() &&
		!citus_internal_connection() &&
		plan_touches_tenant_tables(queryDesc->plannedstmt);
}

static void
forget_statement(void *arg)
{
	StatementContext *gone = (StatementContext *) arg;
	StatementContext **link = &statements;

	tenant_context_release(gone->snapshot);
	while (*link != NULL && *link != gone)
		link = &(*link)->next;
	if (*link != NULL)
		*link = gone->next;
	statement_contexts_present = statements != NULL;
}

/*
 * After the statement's executor state exists: hold a snapshot, keep it for
 * the statement's later executor calls, and return it (NULL when the
 * context was cleared meanwhile, which the caller refuses).
 */
TenantContextSnapshot *
statement_context_keep(QueryDesc *queryDesc)
{
	MemoryContext cxt = queryDesc->estate->es_query_cxt;
	StatementContext *statement = MemoryContextAlloc(cxt, sizeof(StatementContext));
	TenantContextSnapshot *snapshot = tenant_context_hold();

	if (snapshot == NULL)
		return NULL;
	statement->queryDesc = queryDesc;
	statement->snapshot = snapshot;
	statement->forget.func = forget_statement;
	statement->forget.arg = statement;
	MemoryContextRegisterResetCallback(cxt, &statement->forget);
	statement->next = statements;
	statements = statement;
	statement_contexts_present = true;
	return snapshot;
}

/* The snapshot a started statement runs under, or NULL. */
TenantContextSnapshot *
statement_context_of(QueryDesc *queryDesc)
{
	for (StatementContext *statement = statements; statement != NULL;
		 statement = statement->next)
	{
		if (statement->queryDesc == queryDesc)
			return statement->snapshot;
	}
	return NULL;
}

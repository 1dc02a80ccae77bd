/*-------------------------------------------------------------------------
 *
 * query_fingerprint.c
 *	  Query ids (fingerprints) for the audit trail, computed only for the
 *	  statements that could raise a violation.
 *
 * The audit trail records the query id pg_stat_statements reports, so that
 * one statement shape's violations group together.  PostgreSQL computes
 * query ids when compute_query_id is on, or when it is "auto" (the
 * default) and a module asked for them with EnableQueryId().  Asking would
 * make PostgreSQL fingerprint every statement at parse analysis: 2,500 to
 * 4,500 instructions per simple-protocol statement, more than the 0.5% that
 * a workload without tenant tables may lose (doc/performance.md).
 *
 * So with compute_query_id = auto and nobody else asking, this file
 * fingerprints at parse analysis only the statements that can raise a
 * violation: those that reach a tenant table, or a relation that may lead
 * to one (a view, a partitioned or inheritance parent, a table with rules,
 * row-level security or triggers, which covers protected amounts), a
 * set-returning function the planner may inline, and utility statements.
 * It calls the same JumbleQuery() on the same Query as PostgreSQL would,
 * so the ids are the ones pg_stat_statements reports for those
 * statements.  Every other statement is left without an id, as PostgreSQL
 * leaves it when query ids are off.  With compute_query_id = on (or
 * pg_stat_statements loaded) PostgreSQL fingerprints everything itself;
 * with off, nothing is fingerprinted.
 *
 * This file must not judge statements; it only decides whether one may
 * need a fingerprint.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "query_fingerprint.h"

#include "extension_state.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "tenant_catalog.h"
#include "utils/queryjumble.h"

static bool query_may_raise_violation(Query *query);

static bool
sublink_may_raise_violation(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_may_raise_violation((Query *) node);
	return expression_tree_walker(node, sublink_may_raise_violation, context);
}

/*
 * Conservative: true whenever planning the statement could meet a tenant
 * table or a protected amount.
 */
static bool
query_may_raise_violation(Query *query)
{
	ListCell   *lc;

	if (query->utilityStmt != NULL)
		return true;
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		switch (rte->rtekind)
		{
			case RTE_RELATION:
				if (relation_may_raise_violation(rte->relid))
					return true;
				break;
			case RTE_SUBQUERY:
				if (query_may_raise_violation(rte->subquery))
					return true;
				break;
			case RTE_FUNCTION:
				/* an SQL function in FROM may be inlined with its scans */
				return true;
			default:
				break;
		}
	}
	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query) &&
			query_may_raise_violation((Query *) cte->ctequery))
			return true;
	}
	return query->hasSubLinks &&
		query_tree_walker(query, sublink_may_raise_violation, NULL, 0);
}

/* post_parse_analyze_hook: fingerprint the statement if it may need it. */
void
query_fingerprint_statement(ParseState *pstate, Query *query)
{
	if (query->queryId != UINT64CONST(0) ||
		compute_query_id != COMPUTE_QUERY_ID_AUTO || query_id_enabled)
		return;
	if (!extension_is_active() || !query_may_raise_violation(query))
		return;

	/*
	 * JumbleQuery() insists that query ids are enabled; for this statement
	 * they are.  It does not fail on a parse-analysed Query, but the flag
	 * must not stay set if it ever did.
	 */
	query_id_enabled = true;
	PG_TRY();
	{
		(void) JumbleQuery(query, pstate->p_sourcetext);
	}
	PG_FINALLY();
	{
		query_id_enabled = false;
	}
	PG_END_TRY();
}

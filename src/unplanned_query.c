/*-------------------------------------------------------------------------
 *
 * unplanned_query.c
 *	  Judging a statement that was planned without PostgreSQL's planner.
 *
 * The scoping guard judges the scans PostgreSQL's planner shows to
 * set_rel_pathlist_hook.  Citus's planner hook, below ours, plans its
 * "fast-path" router statements without calling standard_planner at all:
 * a SELECT, UPDATE or DELETE of one distributed, single-shard, reference or
 * Citus-local table, without subqueries, CTEs or set operations (and an
 * equality on the distribution column, if there is one).  Our hook never
 * sees their scan, so it judges them here, from the statement itself.
 *
 * Such a statement has exactly one relation and its WHERE clause is the
 * whole restriction of the scan, so the planner's view of it is the WHERE
 * clause after constant folding and the flattening of AND/OR, which is what
 * is judged here, by the same rules (scope_analysis.c).  What only the
 * planner derives is not seen: an equality implied through another column
 * ("firm_id = x AND x = 3") does not count here, so it is reported.
 *
 * Only a statement of that shape is remembered before planning (a copy of
 * its WHERE clause, which the planner may rewrite in place), and only when
 * Citus is loaded; the check after planning runs only when the planner
 * examined no relation of the statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "unplanned_query.h"

#include "row_verification.h"

#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/prep.h"
#include "scope_analysis.h"
#include "scope_values.h"
#include "tenant_catalog.h"

/*
 * Remembers a single-table SELECT, UPDATE or DELETE of a tenant table.
 * Returns false for every other statement.
 */
bool
unplanned_query_remember(Query *parse, UnplannedQuery *query)
{
	RangeTblEntry *rte;

	if (parse->commandType != CMD_SELECT &&
		parse->commandType != CMD_UPDATE &&
		parse->commandType != CMD_DELETE)
		return false;
	if (list_length(parse->rtable) != 1 || parse->cteList != NIL ||
		parse->hasSubLinks || parse->setOperations != NULL ||
		parse->jointree == NULL)
		return false;
	rte = linitial_node(RangeTblEntry, parse->rtable);
	if (rte->rtekind != RTE_RELATION)
		return false;
	query->tenant_attnum = tenant_table_attnum(rte->relid);
	if (query->tenant_attnum == InvalidAttrNumber)
		return false;
	query->relid = rte->relid;
	query->writes = parse->commandType != CMD_SELECT;
	query->quals = copyObject(parse->jointree->quals);
	query->covered = row_verification_covers(rte);
	return true;
}

/* A constant FALSE or NULL: the statement reads no row. */
static bool
is_constant_false(Node *clause)
{
	Const	   *constant;

	if (!IsA(clause, Const))
		return false;
	constant = (Const *) clause;
	return constant->constisnull || !DatumGetBool(constant->constvalue);
}

/*
 * Is the remembered WHERE clause a tenant scope of the table (range table
 * index 1)?  The statement has no sublinks, so no PARAM_EXEC can appear
 * and the scope rules need no more of a PlannerInfo than an empty one.
 * The tenant values its scoping clauses name are added to *value_checks,
 * for the tenant context (scope_values.c).
 */
bool
unplanned_query_is_scoped(UnplannedQuery *query, List **value_checks)
{
	PlannerInfo *root = makeNode(PlannerInfo);
	Node	   *quals;
	ListCell   *lc;
	bool		scoped = false;

	if (query->quals == NULL)
		return false;
	root->glob = makeNode(PlannerGlobal);
	quals = eval_const_expressions(NULL, query->quals);
	quals = (Node *) canonicalize_qual((Expr *) quals, false);
	foreach(lc, make_ands_implicit((Expr *) quals))
	{
		Node	   *clause = lfirst(lc);

		if (is_constant_false(clause))
			return true;
		if (clause_is_tenant_scope(root, clause, 1, query->tenant_attnum))
		{
			*value_checks = scope_values_collect_clause(*value_checks, root, clause,
														query->relid,
														query->tenant_attnum,
														query->writes);
			scoped = true;
		}
	}
	return scoped;
}

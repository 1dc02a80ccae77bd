/*-------------------------------------------------------------------------
 *
 * row_verification.c
 *	  Row verification (doc/tenant-context.md): with a tenant context set,
 *	  a statement that touches a tenant table without a tenant scope is
 *	  checked row by row instead of being refused outright: every row of a
 *	  tenant table it returns, joins, aggregates, updates or deletes, after
 *	  its own conditions, must belong to the context.
 *
 * How.  When the first planning of a statement finds unscoped scans of
 * tenant tables in its top-level FROM list (and verify_rows is on), the
 * planner hook plans a copy of the statement again, with one resjunk
 * output column per such table:
 *
 *	  tenant_guard.verify_row('t'::regclass, t.tenant_col, writes, nullable)
 *
 * The output list is computed once per row the statement produces, after
 * every restriction, join condition and row-level security qual, whatever
 * the join method: a row that a hash join or semi-join reads but matches
 * nothing never reaches it, exactly as with a nested loop that never
 * fetches it; a row that WHERE id = 5 filters out is never checked.  In an
 * aggregate query the column is bool_and(verify_row(...)), an aggregate
 * input, so every aggregated row is checked.  For UPDATE and DELETE the
 * output list of the plan below ModifyTable is computed once per target
 * row.  Cursors check the rows they fetch, with the context in force at
 * each FETCH.  The function is parallel safe: parallel workers read the
 * context they inherit from the leader.
 *
 * The re-planned statement carries the covered findings apart
 * (scoping_guard.c): they pass while row verification is in force (a
 * context is set and verify_rows is on) and are reported by the unscoped
 * rule otherwise, so the plan is right whatever context it later runs
 * with.  Scans the output list cannot reach (tables inside sublinks,
 * EXISTS/IN semi-joins, subqueries in FROM, views, CTEs, set operations,
 * MERGE) stay ordinary findings, which the unscoped rule reports: never a
 * silent pass.
 *
 * A NULL tenant value is outside every context, except on the nullable
 * side of an outer join, where NULL is what a row without a match reads.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "row_verification.h"

#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "parser/parsetree.h"
#include "scoping_guard.h"
#include "settings.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(tenant_guard_verify_row);

static Oid	verify_row_oid = InvalidOid;

static bool
is_tenant_relation(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION &&
		tenant_table_attnum(rte->relid) != InvalidAttrNumber;
}

/*
 * A copy of the statement, to be planned again with row checks, when it
 * may need them: a plain SELECT, UPDATE or DELETE with a tenant table in
 * its range table.  NULL otherwise (the planner scribbles on the Query, so
 * the copy is taken before the first planning).
 */
Query *
row_verification_candidate(Query *parse)
{
	ListCell   *lc;

	if (!tenant_guard_verify_rows || tenant_guard_mode == GUARD_MODE_OFF)
		return NULL;
	if ((parse->commandType != CMD_SELECT && parse->commandType != CMD_UPDATE &&
		 parse->commandType != CMD_DELETE) ||
		parse->setOperations != NULL || parse->utilityStmt != NULL)
		return NULL;
	foreach(lc, parse->rtable)
	{
		if (is_tenant_relation(lfirst_node(RangeTblEntry, lc)))
			return copyObject(parse);
	}
	return NULL;
}

/*
 * The range-table entries in the FROM list, and those on the nullable side
 * of an outer join.
 */
static void
walk_jointree(Node *node, bool nullable, Bitmapset **in_tree,
			  Bitmapset **nullable_rtis)
{
	if (node == NULL)
		return;
	if (IsA(node, RangeTblRef))
	{
		int			rti = ((RangeTblRef *) node)->rtindex;

		*in_tree = bms_add_member(*in_tree, rti);
		if (nullable)
			*nullable_rtis = bms_add_member(*nullable_rtis, rti);
	}
	else if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			walk_jointree(lfirst(lc), nullable, in_tree, nullable_rtis);
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;
		bool		left_nullable = nullable ||
			join->jointype == JOIN_RIGHT || join->jointype == JOIN_FULL;
		bool		right_nullable = nullable ||
			join->jointype == JOIN_LEFT || join->jointype == JOIN_FULL;

		walk_jointree(join->larg, left_nullable, in_tree, nullable_rtis);
		walk_jointree(join->rarg, right_nullable, in_tree, nullable_rtis);
	}
}

/* bool_and(arg), as parse analysis would build it. */
static Expr *
make_bool_and(Expr *arg)
{
	Aggref	   *agg = makeNode(Aggref);

	agg->aggfnoid = F_BOOL_AND;
	agg->aggtype = BOOLOID;
	agg->aggcollid = InvalidOid;
	agg->inputcollid = InvalidOid;
	agg->aggtranstype = InvalidOid;
	agg->aggargtypes = list_make1_oid(BOOLOID);
	agg->args = list_make1(makeTargetEntry(arg, 1, NULL, false));
	agg->aggkind = AGGKIND_NORMAL;
	agg->agglevelsup = 0;
	agg->aggsplit = AGGSPLIT_SIMPLE;
	agg->aggno = -1;
	agg->aggtransno = -1;
	agg->location = -1;
	return (Expr *) agg;
}

static Expr *
make_row_check(Oid fn, Index rti, Oid relid, bool writes, bool nullable)
{
	AttrNumber	attnum = tenant_table_attnum(relid);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	List	   *args;

	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	args = list_make4(makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
								ObjectIdGetDatum(relid), false, true),
					  makeVar(rti, attnum, typid, typmod, collid, 0),
					  makeBoolConst(writes, false),
					  makeBoolConst(nullable, false));
	return (Expr *) makeFuncExpr(fn, BOOLOID, args, InvalidOid, InvalidOid,
								 COERCE_SQL_SYNTAX);
}

static AttrNumber
next_resno(List *tlist)
{
	AttrNumber	resno = 0;
	ListCell   *lc;

	foreach(lc, tlist)
		resno = Max(resno, lfirst_node(TargetEntry, lc)->resno);
	return resno + 1;
}

/*
 * Add a row check for every tenant table of the FROM list that a finding
 * names.  Returns the range-table indexes given one (NULL for none).
 */
Bitmapset *
row_verification_instrument(Query *query, List *findings)
{
	static const Oid argtypes[4] = {REGCLASSOID, ANYELEMENTOID, BOOLOID, BOOLOID};
	Oid			fn = tenant_guard_function("verify_row", 4, argtypes, &verify_row_oid);
	bool		aggregated = query->hasAggs || query->groupClause != NIL ||
		query->groupingSets != NIL || query->havingQual != NULL;
	Bitmapset  *in_tree = NULL;
	Bitmapset  *nullable = NULL;
	Bitmapset  *covered = NULL;
	int			rti = -1;

	if (!OidIsValid(fn))
		return NULL;
	walk_jointree((Node *) query->jointree, false, &in_tree, &nullable);
	while ((rti = bms_next_member(in_tree, rti)) >= 0)
	{
		RangeTblEntry *rte = rt_fetch(rti, query->rtable);
		Expr	   *check;

		if (!is_tenant_relation(rte) ||
			!scoping_guard_findings_name(findings, rte->relid))
			continue;
		check = make_row_check(fn, rti, rte->relid,
							   rti == query->resultRelation,
							   bms_is_member(rti, nullable));
		if (aggregated)
			check = make_bool_and(check);
		query->targetList = lappend(query->targetList,
									makeTargetEntry(check, next_resno(query->targetList),
													pstrdup("tenant_guard_verify_row"), true));
		covered = bms_add_member(covered, rti);
	}
	if (covered != NULL && aggregated)
		query->hasAggs = true;
	return covered;
}

/*-----------------------
 * The row check itself
 *-----------------------
 */

/* Per call site and execution: a statement is reported once. */
typedef struct RowCheckState
{
	bool		reported;
} RowCheckState;

/*
 * tenant_guard.verify_row(relation regclass, tenant anyelement,
 *						   writes boolean, nullable boolean) RETURNS boolean
 *
 * True, or a cross-tenant violation (an error in enforce mode).  Without a
 * context, or with verify_rows off, it checks nothing: the unscoped rule
 * judges the statement then.
 */
Datum
tenant_guard_verify_row(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	bool		writes = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
	bool		nullable = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	RowCheckState *state = (RowCheckState *) fcinfo->flinfo->fn_extra;
	TenantTableInfo info;
	Oid			typid;
	char	   *bad;

	require_planned_check(fcinfo, "tenant_guard.verify_row");
	if (tenant_guard_mode == GUARD_MODE_OFF || !row_verification_in_force() ||
		(state != NULL && state->reported))
		PG_RETURN_BOOL(true);
	tenant_table_describe(relid, &info);
	if (info.tenant_attnum == InvalidAttrNumber)
		PG_RETURN_BOOL(true);	/* no longer a tenant table */
	typid = get_fn_expr_argtype(fcinfo->flinfo, 1);
	if (PG_ARGISNULL(1))
	{
		if (nullable)
			PG_RETURN_BOOL(true);
		bad = pstrdup("null");
	}
	else if (tenant_context_contains(typid, PG_GETARG_DATUM(1), relid,
									 NameStr(info.tenant_column)))
		PG_RETURN_BOOL(true);
	else
		bad = tenant_value_text(typid, PG_GETARG_DATUM(1), false);

	if (state == NULL)
		state = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RowCheckState));
	state->reported = true;
	report_cross_tenant(writes ? VIOLATION_CROSS_TENANT_WRITE : VIOLATION_CROSS_TENANT_READ,
						writes ? TENANT_VALUE_CHANGED : TENANT_VALUE_READ,
						relid, NameStr(info.tenant_column), bad);
	PG_RETURN_BOOL(true);
}

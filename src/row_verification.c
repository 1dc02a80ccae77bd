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
 * tenant tables in its FROM list, or in a view or subquery in it (and
 * verify_rows is on), the planner hook plans a copy of the statement
 * again, with one hidden (resjunk) output column per such table holding
 * the row's tenant value; row_checks.c checks it as rows come out of the
 * plan.  A statement of one level whose unscoped tables its conditions as
 * written tell gets them before its first planning instead, and is planned
 * once (predicted_findings; tenant_guard.c's plan_predicted).  The output list is computed once per row the statement produces,
 * after every restriction, join condition and row-level security qual,
 * whatever the join method: a row that a hash join or semi-join reads but
 * matches nothing never reaches it, exactly as with a nested loop that
 * never fetches it; a row that WHERE id = 5 filters out is never checked.
 * For UPDATE and DELETE the rows come from the plan below ModifyTable, one
 * per target row.  In an aggregate query, whose output rows are groups,
 * the column is bool_and(tenant_guard.verify_row('t'::regclass, t.col,
 * writes, nullable)), an aggregate input, so every aggregated row is
 * checked; the function is parallel safe, and parallel workers read the
 * context they inherit from the leader.
 *
 * A view or a subquery in FROM gets the tenant column as an extra output
 * column when it does not show it (unless DISTINCT, grouping or aggregates
 * make its rows other than its table's); tables reached through one carry
 * a mark (row_verification_covers), since the planner pulls the subquery
 * up, or plans it apart, with copies of their range-table entries.
 *
 * The re-planned statement carries the covered findings apart
 * (scoping_guard.c): they pass while row verification is in force (a
 * context is set and verify_rows is on) and are reported by the unscoped
 * rule otherwise, so the plan is right whatever context it later runs
 * with.  Scans the output list cannot reach (tables inside sublinks,
 * EXISTS/IN semi-joins, CTEs, set operations, subqueries nested in
 * subqueries, MERGE) stay ordinary findings, which the unscoped rule
 * reports: never a silent pass.
 *
 * A NULL tenant value is outside every context, except on the nullable
 * side of an outer join, where NULL is what a row without a match reads.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "row_verification.h"

#include "context_rules.h"
#include "leaky_code.h"

#include "access/sysattr.h"
#include "access/transam.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "citus_cluster.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "scope_analysis.h"
#include "scoping_guard.h"
#include "settings.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "written_scopes.h"

PG_FUNCTION_INFO_V1(tenant_guard_verify_row);
PG_FUNCTION_INFO_V1(tenant_guard_filter_row);
PG_FUNCTION_INFO_V1(tenant_guard_verify_shard_row);

static Oid	verify_row_oid = InvalidOid;
static Oid	filter_row_oid = InvalidOid;

static bool
is_tenant_relation(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION &&
		tenant_table_attnum(rte->relid) != InvalidAttrNumber;
}

/*
 * Is the entry a table without a tenant column whose inheritance children
 * may have one?  Its scan reads their rows, which no condition written on
 * it can scope.
 */
static bool
is_tenant_parent(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION && rte->inh &&
		tenant_table_attnum(rte->relid) == InvalidAttrNumber &&
		!tenant_table_ruled_out(rte->relid);
}

/* Does a finding name one of the parent's descendants? */
static bool
findings_name_descendant(List *findings, Oid parent)
{
	ListCell   *lc;

	foreach(lc, find_all_inheritors(parent, NoLock, NULL))
	{
		if (lfirst_oid(lc) != parent && scoping_guard_findings_name(findings, lfirst_oid(lc)))
			return true;
	}
	return false;
}

/* Are all the joins of the FROM list inner joins? */
static bool
only_inner_joins(Node *node)
{
	ListCell   *lc;

	if (node == NULL || IsA(node, RangeTblRef))
		return true;
	if (IsA(node, JoinExpr))
		return ((JoinExpr *) node)->jointype == JOIN_INNER &&
			only_inner_joins(((JoinExpr *) node)->larg) &&
			only_inner_joins(((JoinExpr *) node)->rarg);
	foreach(lc, castNode(FromExpr, node)->fromlist)
	{
		if (!only_inner_joins(lfirst(lc)))
			return false;
	}
	return true;
}

/*
 * The findings the planner will make of a statement of one level (tables
 * and inner joins only): its tenant tables that its conditions as written
 * do not scope.  So that the statement is planned once, with its row
 * checks, instead of once to find them and once more with them.  The
 * planner may find one of them scoped after all (it then gets a row check
 * it did not need, which passes the rows a scope would); whatever it finds
 * beyond them sends the statement to a second planning (planner_judging,
 * in tenant_guard.c).  NIL when there is no prediction.
 */
static List *
predicted_findings(Query *parse, WrittenScopes *ws)
{
	List	   *findings = NIL;
	ListCell   *lc;

	if (parse->commandType == CMD_MERGE || !only_inner_joins((Node *) parse->jointree))
		return NIL;
	foreach(lc, parse->rtable)
	{
		RTEKind		kind = lfirst_node(RangeTblEntry, lc)->rtekind;

		if (kind != RTE_RELATION && kind != RTE_JOIN)
			return NIL;
	}
	for (Index rti = 1; rti <= (Index) ws->nrels; rti++)
	{
		if (ws->tenant_attnum[rti] != InvalidAttrNumber && ws->scope[rti] == NOT_SCOPED)
			findings = scoping_guard_predict_finding(findings, rt_fetch(rti, parse->rtable)->relid,
													 rti == (Index) parse->resultRelation);
	}
	return findings;
}

/*
 * Do the conditions call a function that is not immutable?  A term of
 * the form x = ANY (ARRAY[constants]), a long IN list, is asked of its
 * operator and x only: its constants are told in one loop
 * (is_constant_array), not one function look-up each.
 */
static bool
conditions_are_mutable(Node *quals)
{
	ListCell   *lc;

	if (quals == NULL)
		return false;
	if (!is_andclause(quals))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) quals;

		if (!IsA(quals, ScalarArrayOpExpr) || !is_constant_array(lsecond(saop->args)))
			return contain_mutable_functions(quals);
		set_sa_opfuncid(saop);
		return func_volatile(saop->opfuncid) != PROVOLATILE_IMMUTABLE ||
			contain_mutable_functions(linitial(saop->args));
	}
	foreach(lc, ((BoolExpr *) quals)->args)
	{
		if (conditions_are_mutable(lfirst(lc)))
			return true;
	}
	return false;
}

/*
 * A condition that is not leakproof next to the scope may run before it,
 * on every row the scan reads (scope_analysis.c): under a context the
 * scope then does not exempt the table from the row checks, and a plan
 * made without one gets them too, for when it runs under one.  ON clauses
 * count: the planner pushes their terms down to the scans as well.
 */
static bool
jointree_may_leak(Node *node)
{
	ListCell   *lc;

	if (node == NULL || IsA(node, RangeTblRef))
		return false;
	if (IsA(node, JoinExpr))
		return expression_may_leak(((JoinExpr *) node)->quals) ||
			jointree_may_leak(((JoinExpr *) node)->larg) ||
			jointree_may_leak(((JoinExpr *) node)->rarg);
	foreach(lc, castNode(FromExpr, node)->fromlist)
	{
		if (jointree_may_leak(lfirst(lc)))
			return true;
	}
	return expression_may_leak(((FromExpr *) node)->quals);
}

static bool
scope_may_come_after_leaky_code(Query *parse)
{
	/* the planner moves HAVING terms without aggregates into WHERE */
	return jointree_may_leak((Node *) parse->jointree) ||
		expression_may_leak(parse->havingQual);
}

/*
 * A SELECT of tables and joins only, none behind row-level security: the
 * planner scans the tables it names (and their inheritance children,
 * judged through them) under its conditions as written, or under values
 * the planner derives from them.  Without HAVING, whose terms without
 * aggregates the planner moves into WHERE.
 */
static bool
reads_only_named_tables(Query *parse)
{
	ListCell   *lc;

	if (parse->commandType != CMD_SELECT || parse->havingQual != NULL)
		return false;
	foreach(lc, parse->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_JOIN ? rte->jointype == JOIN_FULL :
			rte->rtekind != RTE_RELATION || rte->securityQuals != NIL)
			return false;
	}
	return true;
}

/*
 * A copy of the statement, to be planned again with row checks, when it
 * may need them: a plain SELECT, UPDATE or DELETE with a view, a subquery
 * or a tenant table in its range table, unless its conditions as written
 * scope every tenant table (written_scopes.c).  NULL otherwise.  The planner
 * scribbles on the Query, so the copy is taken before the first planning;
 * it costs several thousand instructions, and more for each table joined,
 * which the common statement, scoped as written, does not pay.
 * *pinned: true for a SELECT of tables that its conditions as written pin
 * each to a constant or parameter, next to no code that is not leakproof,
 * whose values *ws then holds (written_scopes_pin_plan); the planner hook
 * then plans it without examining each relation.
 */
Query *
row_verification_candidate(Query *parse, List **predicted, WrittenScopes *ws,
						   bool *pinned)
{
	ListCell   *lc;
	bool		has_tenant_table = false;
	bool		all_pinned;

	*predicted = NIL;
	*pinned = false;

	if (!tenant_guard_verify_rows || tenant_guard_mode == GUARD_MODE_OFF)
		return NULL;
	if (parse->commandType == CMD_UTILITY || parse->utilityStmt != NULL)
		return NULL;
	/* what only barriers reach: sublinks, CTEs, set operations' arms */
	if (parse->hasSubLinks || parse->cteList != NIL || parse->setOperations != NULL)
		return copyObject(parse);
	foreach(lc, parse->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_SUBQUERY)
			return copyObject(parse);
		if (is_tenant_relation(rte))
			has_tenant_table = true;
		else if (is_tenant_parent(rte))
			return copyObject(parse);
	}
	/*
	 * INSERT ... VALUES reads no table; MERGE's tables get barriers; a scope
	 * by a value the scan evaluates again (a stable function) is verified
	 * too (scope_values_changeable_tables).
	 */
	if (!has_tenant_table || parse->commandType == CMD_INSERT)
		return NULL;
	written_scopes_note(parse, ws);
	if (parse->commandType != CMD_MERGE && written_scopes_all_scoped(ws, &all_pinned) &&
		(all_pinned || !conditions_are_mutable(parse->jointree->quals)) &&
		!scope_may_come_after_leaky_code(parse))
	{
		*pinned = all_pinned && ws->pinned_alone && reads_only_named_tables(parse);
		return NULL;
	}
	*predicted = predicted_findings(parse, ws);
	return copyObject(parse);
}

/*
 * The outer joins of the tree that can null the relation at rti (the
 * range-table indexes of their JoinExprs), for the Vars of it made here
 * (compat.h, tg_set_nullingrels).  False when rti is not in the tree.
 */
static bool
find_nulling_joins(Node *node, int rti, Bitmapset *above, Bitmapset **nulling)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblRef))
	{
		if (((RangeTblRef *) node)->rtindex != rti)
			return false;
		*nulling = above;
		return true;
	}
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			if (find_nulling_joins(lfirst(lc), rti, above, nulling))
				return true;
		return false;
	}
	if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;
		Bitmapset  *left = above;
		Bitmapset  *right = above;

		if (join->jointype == JOIN_RIGHT || join->jointype == JOIN_FULL)
			left = bms_add_member(bms_copy(above), join->rtindex);
		if (join->jointype == JOIN_LEFT || join->jointype == JOIN_FULL)
			right = bms_add_member(bms_copy(above), join->rtindex);
		return find_nulling_joins(join->larg, rti, left, nulling) ||
			find_nulling_joins(join->rarg, rti, right, nulling);
	}
	return false;
}

static Bitmapset *
nulling_joins_of(Query *query, int rti)
{
	Bitmapset  *nulling = NULL;

	(void) find_nulling_joins((Node *) query->jointree, rti, NULL, &nulling);
	return nulling;
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
 * A table given a row check carries a mark in a field that range-table
 * entries of tables leave unused (ctename, read for CTE references only),
 * so that the scoping guard recognizes its scan after the planner has
 * pulled a subquery up or planned it on its own, and copied the entry.
 */
#define ROW_CHECK_MARK "tenant_guard row check"

bool
row_verification_covers(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION && rte->ctename != NULL &&
		strcmp(rte->ctename, ROW_CHECK_MARK) == 0;
}

/* One table to check: its row's tenant value is this Var of the query. */
typedef struct RowCheckTarget
{
	RangeTblEntry *rte;			/* the tenant table, to be marked */
	Var		   *tenant;			/* its tenant value, at the query's level */
	bool		writes;
	bool		nullable;
} RowCheckTarget;

/*
 * The output column of a subquery (a view, a subquery in FROM) that gives
 * the tenant value of one of its tables, added when missing.  NULL when
 * the subquery's rows are not that table's rows one for one: set
 * operations, DISTINCT, aggregates or grouping without that column, window
 * functions, and nested subqueries (not looked into).
 */
static Var *
subquery_tenant_output(RangeTblEntry *subrte, Index subrti, Var *inner)
{
	Query	   *sub = subrte->subquery;
	Index		inner_rti = inner->varno;
	AttrNumber	attnum = inner->varattno;
	ListCell   *lc;
	TargetEntry *tle;

	if (sub->setOperations != NULL || sub->commandType != CMD_SELECT ||
		sub->hasWindowFuncs || sub->groupingSets != NIL)
		return NULL;
	foreach(lc, sub->targetList)
	{
		Var		   *var;

		tle = lfirst_node(TargetEntry, lc);
		var = (Var *) tg_ungrouped(sub, (Node *) tle->expr);
		if (!tle->resjunk && IsA(var, Var) && var->varno == (int) inner_rti &&
			var->varattno == attnum && var->varlevelsup == 0)
			return makeVarFromTargetEntry(subrti, tle);
	}
	/* not an output: add it, unless that would change the rows */
	if (sub->distinctClause != NIL || sub->hasAggs || sub->groupClause != NIL ||
		sub->havingQual != NULL)
		return NULL;
	tle = makeTargetEntry((Expr *) copyObject(inner), next_resno(sub->targetList),
						  pstrdup("tenant_guard_tenant"), false);
	sub->targetList = lappend(sub->targetList, tle);
	subrte->eref->colnames = lappend(subrte->eref->colnames,
									 makeString(pstrdup("tenant_guard_tenant")));
	return makeVarFromTargetEntry(subrti, tle);
}

/* The unscoped tenant tables of a query's FROM list that a row check reaches. */
static List *
row_check_targets(Query *query, List *findings, int depth, bool outer_nullable)
{
	Bitmapset  *in_tree = NULL;
	Bitmapset  *nullable = NULL;
	List	   *targets = NIL;
	int			rti = -1;

	jointree_relations((Node *) query->jointree, false, &in_tree, &nullable);
	while ((rti = bms_next_member(in_tree, rti)) >= 0)
	{
		RangeTblEntry *rte = rt_fetch(rti, query->rtable);
		bool		is_nullable = outer_nullable || bms_is_member(rti, nullable);

		if (is_tenant_relation(rte) &&
			scoping_guard_findings_name(findings, rte->relid))
		{
			RowCheckTarget *target = palloc0(sizeof(RowCheckTarget));
			AttrNumber	attnum = tenant_table_attnum(rte->relid);
			Oid			typid;
			int32		typmod;
			Oid			collid;

			target->rte = rte;
			target->writes = (depth == 0 && rti == query->resultRelation);
			target->nullable = is_nullable;
			get_atttypetypmodcoll(rte->relid, attnum, &typid, &typmod, &collid);
			target->tenant = makeVar(rti, attnum, typid, typmod, collid, 0);
			tg_set_nullingrels(target->tenant, nulling_joins_of(query, rti));
			targets = lappend(targets, target);
		}
		else if (rte->rtekind == RTE_SUBQUERY && depth == 0 && !rte->lateral)
		{
			ListCell   *lc;

			/* one level down: a view or a subquery in FROM */
			foreach(lc, row_check_targets(rte->subquery, findings, 1, is_nullable))
			{
				RowCheckTarget *inner = lfirst(lc);

				inner->tenant = subquery_tenant_output(rte, rti, inner->tenant);
				if (inner->tenant == NULL)
					continue;
				tg_set_nullingrels(inner->tenant, nulling_joins_of(query, rti));
				targets = lappend(targets, inner);
			}
		}
	}
	return targets;
}

/*
 * Does a sublink's query run code that is not leakproof or may fail
 * anywhere (a function, an operator, a cast, a domain's check, a user
 * aggregate, a scalar subquery, LIMIT)?  Evaluated for the first row of
 * the outer level that reaches it, or for every one, it tells by failing
 * whether such a row did.
 */
static bool
query_runs_code(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return ((Query *) node)->limitCount != NULL || ((Query *) node)->limitOffset != NULL ||
			query_tree_walker((Query *) node, query_runs_code, context, 0);
	if (node_runs_code(node))
		return true;
	return expression_tree_walker(node, query_runs_code, context);
}

/*
 * Does the statement run code that is not leakproof, or may fail (a cast
 * that can fail, a user function, RAISE, a division that can fail by zero,
 * a domain's check, a scalar subquery), in its conditions, output list,
 * grouping, ordering or RETURNING?  Code that reads no column counts too:
 * it runs once for each row that reaches it, and by failing tells whether
 * one did.  A sublink counts by its test, by whether it reads the outer
 * row and by the code its query runs (leaky_code.c).
 */
static bool
passes_columns_to_leaky_code(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
		return node_runs_code(node) ||
			passes_columns_to_leaky_code(((SubLink *) node)->testexpr, context) ||
			contain_vars_of_level(((SubLink *) node)->subselect, 1) ||
			query_runs_code(((SubLink *) node)->subselect, NULL);
	if (node_runs_code(node))
		return true;
	return expression_tree_walker(node, passes_columns_to_leaky_code, context);
}

static bool
statement_has_leaky_code(Query *query)
{
	return passes_columns_to_leaky_code((Node *) query->jointree, NULL) ||
		passes_columns_to_leaky_code((Node *) query->targetList, NULL) ||
		passes_columns_to_leaky_code(query->havingQual, NULL) ||
		passes_columns_to_leaky_code((Node *) query->returningList, NULL);
}

/*
 * Does the level use rows it does not return?  Row marks count too: a
 * level that locks rows (FOR UPDATE in a subquery, where no check below
 * its LockRows node is possible from outside) would lock rows it has not
 * checked, and a lock held on one answers whether it met the conditions.
 */
static bool
level_uses_unreturned_rows(Query *level)
{
	return level->hasWindowFuncs || level->distinctClause != NIL ||
		level->limitOffset != NULL || level->rowMarks != NIL ||
		(level->limitCount != NULL && level->sortClause != NIL);
}

/* Could rows reach code, or uses, that the output checks come after? */
static bool
level_is_exposed(Query *level)
{
	return statement_has_leaky_code(level) || level_uses_unreturned_rows(level);
}

/*
 * The value a barrier of the table checks: its tenant column; for a parent
 * without one, its tableoid, a stand-in that each child with the column
 * replaces by it (place_child_barrier).
 */
static Var *
row_tenant_var(Oid relid, Index varno)
{
	AttrNumber	attnum = tenant_table_attnum(relid);
	Oid			typid;
	int32		typmod;
	Oid			collid;

	if (attnum == InvalidAttrNumber)
		return makeVar(varno, TableOidAttributeNumber, OIDOID, -1, InvalidOid, 0);
	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	return makeVar(varno, attnum, typid, typmod, collid, 0);
}

/*
 * The row check as a security barrier of a scan, as row-level security
 * applies its policies: verify_row(), the table's own tenant column, in the
 * range-table entry's securityQuals.  The planner evaluates it before the
 * scan's conditions that are not leakproof and after its cheap leakproof
 * ones (verify_row costs more than a plain comparison); what the scan
 * returns has been checked, whoever consumes it.  It runs before join
 * conditions, though: a row that a hash join reads but that matches nothing
 * is checked too.
 */
static void
add_barrier(Query *level, Index rti, Oid fn, bool filters)
{
	RangeTblEntry *rte = rt_fetch(rti, level->rtable);
	List	   *args;

	args = list_make2(makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
								ObjectIdGetDatum(rte->relid), false, true),
					  row_tenant_var(rte->relid, rti));
	if (!filters)
		args = lappend(lappend(args, makeBoolConst(rti == (Index) level->resultRelation, false)),
					   makeBoolConst(false, false));
	rte->securityQuals = lappend(rte->securityQuals,
								 makeFuncExpr(fn, BOOLOID, args, InvalidOid,
											  InvalidOid, COERCE_SQL_SYNTAX));
	rte->ctename = pstrdup(ROW_CHECK_MARK);
}

/* Is the clause a row check added as a barrier (verify_row or filter_row)? */
static bool
is_barrier_clause(Node *clause)
{
	Oid			fn;

	if (!IsA(clause, FuncExpr))
		return false;
	fn = ((FuncExpr *) clause)->funcid;
	return (fn == verify_row_oid || fn == filter_row_oid) && OidIsValid(fn);
}

/*
 * A parent without a tenant column has, as its barrier, a stand-in that
 * reads the row's tableoid; the planner copies it into the conditions of
 * each child, and a child with the column gets it to read that column
 * instead.  The stand-in passes the rows of the parent itself and of the
 * children without the column, and refuses to judge any other
 * (check_row_value).
 */
static void
place_child_barrier(RelOptInfo *rel, RangeTblEntry *rte, RestrictInfo *rinfo)
{
	FuncExpr   *barrier = (FuncExpr *) rinfo->clause;
	Node	   *value = lsecond(barrier->args);

	if (!IsA(value, Var) || ((Var *) value)->varattno != TableOidAttributeNumber ||
		!is_tenant_relation(rte))
		return;
	barrier = copyObject(barrier);
	linitial(barrier->args) = makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
										ObjectIdGetDatum(rte->relid), false, true);
	lsecond(barrier->args) = row_tenant_var(rte->relid, rel->relid);
	rinfo->clause = (Expr *) barrier;
}

/*
 * The planner runs a scan's conditions that are leakproof by its measure
 * before the barriers, in order of cost.  By its measure code that reads
 * no column is leakproof, yet it runs once for each row that reaches it:
 * a cheap one (1/(random()*0)::int = 1, a user function of low COST, a
 * condition on an initplan's output, which runs at the first row) would
 * tell by failing whether another tenant's row met the conditions before
 * it.  Such conditions of a scan with a barrier are marked as not
 * leakproof, so that they run after it.  Called for each relation the
 * planner builds paths for, before it makes the scan's plan.
 */
void
row_verification_order_barriers(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	ListCell   *lc;
	bool		barrier = false;

	/* a partition's entry has no securityQuals: its parent's are in its conditions */
	if (root->qual_security_level == 0)
		return;
	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (is_barrier_clause((Node *) rinfo->clause))
		{
			place_child_barrier(rel, rte, rinfo);
			barrier = true;
		}
	}
	if (!barrier)
		return;
	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (rinfo->leakproof && restriction_may_answer(root, rinfo) &&
			!clause_is_checked_scope(root, rel->relid, tenant_table_attnum(rte->relid),
									 (Node *) rinfo->clause))
			rinfo->leakproof = false;
	}
}

typedef struct BarrierWalk
{
	List	   *findings;
	List	   *changeable;		/* OIDs of tables scoped by changeable values */
	Oid			fn;				/* verify_row() */
	Oid			filter_fn;		/* filter_row(), or InvalidOid */
	bool		outer_exposed;	/* a level whose FROM list holds this one is */
	bool		joined;			/* the next level's rows meet conditions outside it */
	bool		added;
} BarrierWalk;

/*
 * One query level: every unscoped tenant table of its FROM list that the
 * rows coming out of the plan do not reach (in a sublink, a CTE, an arm of
 * a set operation, a LATERAL or nested subquery, INSERT ... SELECT,
 * MERGE) gets a barrier; so does one that they reach, when the level has
 * only that table and passes its rows to code that is not leakproof or
 * uses rows it does not return (a window function, DISTINCT, OFFSET,
 * ORDER BY with LIMIT).  With joins, a barrier would check rows that the
 * join conditions leave out, depending on the join method, so those stay
 * checked where they come out; but when such a level passes rows to code
 * that is not leakproof or uses rows it does not return, its tables get a
 * barrier that leaves other tenants' rows out instead of refusing them
 * (filter_row), as row-level security does: such code never sees them, and
 * rows the join conditions would have dropped cause no refusal.  The same
 * holds for a SELECT whose rows meet join conditions of another level
 * (joined): the planner turns an IN or a correlated EXISTS into a join, and
 * pulls subqueries, CTEs and LATERAL subqueries up into their parent's
 * joins, so a barrier that refused would refuse rows a hash join reads in
 * full but the conditions leave out.  Other tenants' rows are left out of
 * those instead.
 */
static void
add_level_barriers(Query *level, BarrierWalk *walk, bool joined)
{
	Bitmapset  *in_tree = NULL;
	Bitmapset  *nullable = NULL;
	bool		single;
	int			rti = -1;

	if (level->jointree == NULL)
		return;
	jointree_relations((Node *) level->jointree, false, &in_tree, &nullable);
	single = bms_num_members(in_tree) == 1;
	while ((rti = bms_next_member(in_tree, rti)) >= 0)
	{
		RangeTblEntry *rte = rt_fetch(rti, level->rtable);
		bool		own;

		if (!is_tenant_relation(rte))
		{
			/*
			 * A parent without a tenant column: no condition nor output
			 * column can read its children's, so a barrier always; in a
			 * join, one that leaves other tenants' rows out, so that the
			 * verdict does not depend on which rows the join reads.
			 */
			if (is_tenant_parent(rte) &&
				findings_name_descendant(walk->findings, rte->relid))
			{
				bool		filters = (joined || !single) && OidIsValid(walk->filter_fn);

				add_barrier(level, rti, filters ? walk->filter_fn : walk->fn, filters);
				walk->added = true;
			}
			continue;
		}
		own = level_is_exposed(level);
		if (!list_member_oid(walk->changeable, rte->relid) &&
			(!scoping_guard_findings_name(walk->findings, rte->relid) ||
			 (row_verification_covers(rte) && !own && !walk->outer_exposed)))
			continue;
		if (((joined && level->commandType == CMD_SELECT) ||
			 (row_verification_covers(rte) && (walk->outer_exposed || (!single && own)))) &&
			!list_member_oid(walk->changeable, rte->relid) &&
			OidIsValid(walk->filter_fn))
			add_barrier(level, rti, walk->filter_fn, true);
		else
			add_barrier(level, rti, walk->fn, false);
		walk->added = true;
	}
}

/* Does the level join the items of its FROM list: several, or a JOIN? */
static bool
level_joins(Query *level)
{
	List	   *from = level->jointree != NULL ? level->jointree->fromlist : NIL;

	return list_length(from) > 1 || (from != NIL && !IsA(linitial(from), RangeTblRef));
}

/*
 * Can the planner turn the sublink into a join with the level around it:
 * IN and = ANY (their test becomes the join condition), EXISTS with a
 * condition on the outer row (a semi- or anti-join)?
 */
static bool
sublink_may_become_join(SubLink *sublink)
{
	return sublink->subLinkType == ANY_SUBLINK ||
		(sublink->subLinkType == EXISTS_SUBLINK &&
		 contain_vars_of_level(sublink->subselect, 1));
}

static bool
add_barriers_walker(Node *node, BarrierWalk *walk)
{
	Query	   *query;
	bool		outer_exposed = walk->outer_exposed;
	bool		joined;
	ListCell   *lc;
	bool		result;

	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		SubLink    *sublink = (SubLink *) node;

		if (add_barriers_walker(sublink->testexpr, walk))
			return true;
		walk->joined = sublink_may_become_join(sublink);
		return add_barriers_walker(sublink->subselect, walk);
	}
	if (!IsA(node, Query))
		return expression_tree_walker(node, add_barriers_walker, walk);
	query = (Query *) node;
	joined = walk->joined;
	add_level_barriers(query, walk, joined);
	walk->joined = false;

	/*
	 * The subqueries and views of its FROM list hand their rows to this
	 * level's code: exposed when it is (a window function over a view, a
	 * condition that is not leakproof above a subquery).  Sublinks and
	 * CTEs get barriers whatever their consumer does.
	 */
	walk->outer_exposed = outer_exposed || level_is_exposed(query);
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		/* its rows meet this level's joins, and those this level's rows meet */
		if (rte->rtekind == RTE_SUBQUERY)
		{
			walk->joined = joined || level_joins(query);
			(void) add_barriers_walker((Node *) rte->subquery, walk);
		}
	}
	walk->outer_exposed = false;
	foreach(lc, query->cteList)
	{
		walk->joined = joined || level_joins(query);
		(void) add_barriers_walker(lfirst_node(CommonTableExpr, lc)->ctequery, walk);
	}
	result = query_tree_walker(query, add_barriers_walker, walk,
							   QTW_IGNORE_RT_SUBQUERIES | QTW_IGNORE_CTE_SUBQUERIES);
	walk->outer_exposed = outer_exposed;
	return result;
}

/*
 * Does a MERGE pass target rows to code that is not leakproof in its ON
 * condition?  Without Citus, its target rows are checked by a condition
 * like Citus's (row_verification_citus_instrument), which the planner may
 * evaluate after that code: such a MERGE is judged unscoped instead.  The
 * WHEN conditions and SET expressions see only the rows that matched.
 */
bool
row_verification_merge_exposed(Query *parse)
{
	Node	   *on = tg_merge_join_condition(parse);

	return parse->commandType == CMD_MERGE &&
		(passes_columns_to_leaky_code((Node *) parse->jointree, NULL) ||
		 passes_columns_to_leaky_code(on, NULL));
}

/*
 * A referential-integrity query (the look-up of the row a foreign key
 * points at, a cascaded DELETE, UPDATE or SET NULL) gets a barrier on each
 * tenant table it reads, whatever the context when it is planned, since
 * PostgreSQL keeps its plan for the session.  With a context, the row a
 * written foreign key points at and the rows a cascade changes must then
 * be the context's: a foreign key cannot point at another tenant's row,
 * and deleting a row of a lookup table cannot cascade into another
 * tenant's rows.  Without one, verify_row() passes every row.
 */
void
row_verification_referential_checks(Query *parse)
{
	static const Oid argtypes[4] = {REGCLASSOID, ANYELEMENTOID, BOOLOID, BOOLOID};
	Oid			fn;
	Bitmapset  *in_tree = NULL;
	Bitmapset  *nullable = NULL;
	int			rti = -1;

	/* the mode and verify_rows are read when it runs: its plan stays */
	if (parse->jointree == NULL)
		return;
	fn = tenant_guard_function("verify_row", 4, argtypes, &verify_row_oid);
	if (!OidIsValid(fn))
		return;
	jointree_relations((Node *) parse->jointree, false, &in_tree, &nullable);
	while ((rti = bms_next_member(in_tree, rti)) >= 0)
	{
		if (is_tenant_relation(rt_fetch(rti, parse->rtable)))
			add_barrier(parse, rti, fn, false);
	}
}

/* Barriers on every level of the statement; whether one was added. */
static bool
add_barriers(Query *query, List *findings, List *changeable, Oid fn)
{
	static const Oid filter_argtypes[2] = {REGCLASSOID, ANYELEMENTOID};
	BarrierWalk walk = {findings, changeable, fn,
		tenant_guard_function("filter_row", 2, filter_argtypes, &filter_row_oid), false, false, false};

	check_stack_depth();
	(void) add_barriers_walker((Node *) query, &walk);
	return walk.added;
}

/*
 * Add a row check for every unscoped tenant table of the FROM list, and of
 * the views and subqueries in it, that a finding names: a hidden output
 * column with the row's tenant value, checked as rows come out
 * (row_checks.c) and listed in *row_checks; in an aggregate query,
 * bool_and(tenant_guard.verify_row(...)), an aggregate input.  Returns
 * whether there was one.
 */
bool
row_verification_instrument(Query *query, List *findings, List *changeable,
							List **row_checks)
{
	static const Oid argtypes[4] = {REGCLASSOID, ANYELEMENTOID, BOOLOID, BOOLOID};
	Oid			fn = tenant_guard_function("verify_row", 4, argtypes, &verify_row_oid);
	bool		aggregated = query->hasAggs || query->groupClause != NIL ||
		query->groupingSets != NIL || query->havingQual != NULL;
	bool		added = false;
	List	   *targets = NIL;
	ListCell   *lc;

	if (!OidIsValid(fn))
		return false;
	/* rows that come out of the plan: SELECT, and UPDATE's and DELETE's targets */
	if (query->commandType == CMD_SELECT || query->commandType == CMD_UPDATE ||
		query->commandType == CMD_DELETE)
		targets = row_check_targets(query, findings, 0, false);
	foreach(lc, targets)
		((RowCheckTarget *) lfirst(lc))->rte->ctename = pstrdup(ROW_CHECK_MARK);
	added = add_barriers(query, findings, changeable, fn);
	foreach(lc, targets)
	{
		RowCheckTarget *target = lfirst(lc);
		Expr	   *check;
		List	   *args;

		added = true;
		if (!aggregated)
		{
			/* the tenant value as a hidden output column, read as rows come out */
			query->targetList =
				lappend(query->targetList,
						makeTargetEntry((Expr *) target->tenant,
										next_resno(query->targetList),
										pstrdup(ROW_CHECK_COLUMN), true));
			*row_checks = lappend(*row_checks,
								  list_make2(makeInteger((int) target->rte->relid),
											 makeInteger((target->writes ? ROW_CHECK_WRITES : 0) |
														 (target->nullable ? ROW_CHECK_NULLABLE : 0))));
			continue;
		}
		args = list_make4(makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
									ObjectIdGetDatum(target->rte->relid), false, true),
						  target->tenant,
						  makeBoolConst(target->writes, false),
						  makeBoolConst(target->nullable, false));
		check = make_bool_and((Expr *) makeFuncExpr(fn, BOOLOID, args, InvalidOid,
													 InvalidOid, COERCE_SQL_SYNTAX));
		query->targetList = lappend(query->targetList,
									makeTargetEntry(check, next_resno(query->targetList),
													pstrdup("tenant_guard_verify_row"), true));
		query->hasAggs = true;
	}
	return added;
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

/* This call site has reported its statement's violation. */
static void
mark_reported(FunctionCallInfo fcinfo)
{
	RowCheckState *state = (RowCheckState *) fcinfo->flinfo->fn_extra;

	if (state == NULL)
		state = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RowCheckState));
	state->reported = true;
}

/*
 * The barrier of a parent without a tenant column reads the row's tableoid
 * until a child with the column replaces it (place_child_barrier): it must
 * never meet a row of such a child, which it would pass unchecked.
 */
static void
require_placed_barrier(FunctionCallInfo fcinfo, Oid relid, Oid typid)
{
	Oid			row_table;

	if (typid != OIDOID || PG_ARGISNULL(1))
		return;
	row_table = DatumGetObjectId(PG_GETARG_DATUM(1));
	if (row_table != relid && tenant_table_attnum(row_table) != InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("row check of inheritance child \"%s\" was not placed",
						get_rel_name(row_table)),
				 errdetail("The row comes from a child of \"%s\" that has a tenant column.",
						   get_rel_name(relid))));
}

/*
 * Check the tenant value in argument 1 against the context in force; a
 * statement is reported once per call site and execution.
 */
static void
check_row_value(FunctionCallInfo fcinfo, Oid relid, bool writes, bool nullable)
{
	RowCheckState *state = (RowCheckState *) fcinfo->flinfo->fn_extra;
	TenantTableInfo info;
	Oid			typid;
	char	   *bad;

	if (tenant_guard_mode == GUARD_MODE_OFF || (state != NULL && state->reported))
		return;
	if (!row_verification_in_force())
	{
		/* a foreign key's look-up at COMMIT after the context was cleared */
		if (context_rules_tenant_required() && !tenant_context_is_set())
		{
			mark_reported(fcinfo);
			context_rules_report_missing_tenant(relid, NULL);
		}
		return;
	}
	tenant_table_describe(relid, &info);
	typid = get_fn_expr_argtype(fcinfo->flinfo, 1);
	if (info.tenant_attnum == InvalidAttrNumber)
	{
		require_placed_barrier(fcinfo, relid, typid);
		return;					/* no longer a tenant table, or a parent's */
	}
	if (PG_ARGISNULL(1))
	{
		if (nullable)
			return;
		bad = pstrdup("null");
	}
	else if (tenant_context_contains(typid, PG_GETARG_DATUM(1), relid,
									 NameStr(info.tenant_column)))
		return;
	else
		bad = tenant_value_text(typid, PG_GETARG_DATUM(1), false);

	mark_reported(fcinfo);
	report_cross_tenant(writes ? VIOLATION_CROSS_TENANT_WRITE : VIOLATION_CROSS_TENANT_READ,
						writes ? TENANT_VALUE_CHANGED : TENANT_VALUE_READ,
						relid, NameStr(info.tenant_column), bad);
}

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
	require_planned_check(fcinfo, "tenant_guard.verify_row");
	check_row_value(fcinfo, PG_GETARG_OID(0),
					PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2),
					PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3));
	PG_RETURN_BOOL(true);
}

/*
 * tenant_guard.filter_row(relation regclass, tenant anyelement) RETURNS
 * boolean: whether the row belongs to the context in force, the barrier of
 * a join level that passes rows to code that is not leakproof.  Without a
 * context, or with verify_rows off, every row passes, as with verify_row.
 */
Datum
tenant_guard_filter_row(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	TenantTableInfo info;

	require_planned_check(fcinfo, "tenant_guard.filter_row");
	if (tenant_guard_mode == GUARD_MODE_OFF || !row_verification_in_force())
		PG_RETURN_BOOL(true);
	tenant_table_describe(relid, &info);
	if (info.tenant_attnum == InvalidAttrNumber)
	{
		require_placed_barrier(fcinfo, relid, get_fn_expr_argtype(fcinfo->flinfo, 1));
		PG_RETURN_BOOL(true);	/* no longer a tenant table, or a parent's */
	}
	if (PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(tenant_context_contains(get_fn_expr_argtype(fcinfo->flinfo, 1),
										   PG_GETARG_DATUM(1), relid,
										   NameStr(info.tenant_column)));
}

/*-----------------------------------------------------------------------
 * With Citus.  A statement on one table runs where its shards are, on the
 * workers, which do not know the coordinator's tenant context; an UPDATE
 * or DELETE returns no rows to the coordinator, and Citus leaves hidden
 * output columns out of the shard queries.  So, when the first planning
 * finds a single-table SELECT, UPDATE or DELETE unscoped, its copy gets one
 * more condition, last in its WHERE clause:
 *
 *	  tenant_guard.verify_shard_row('t'::regclass, t.firm_id, <writes>,
 *									current_setting('tenant_guard.tenant', true),
 *									current_setting('tenant_guard.mode', true))
 *
 * Citus evaluates current_setting() on the coordinator for each execution
 * of a modification, so the shard query carries the context and mode then
 * in force as constants; for a SELECT it does not, and the condition
 * carries those in force at planning instead, with which the plan verifies
 * only (a cached plan run under another context is judged by the unscoped
 * rule).  The function, on the worker (or on the coordinator for a shard
 * there), checks each row that reaches it against that context and
 * returns true.  Its cost puts it after the statement's own conditions.
 * A violation a worker finds goes to the coordinator (citus_relay.c).
 * The finding is a covered one (scoping_guard.c), as with the row checks.
 *-----------------------------------------------------------------------
 */

static Oid	verify_shard_row_oid = InvalidOid;

static Oid
verify_shard_row_function(void)
{
	static const Oid argtypes[5] = {REGCLASSOID, ANYELEMENTOID, BOOLOID, TEXTOID, TEXTOID};

	return tenant_guard_function("verify_shard_row", 5, argtypes, &verify_shard_row_oid);
}

/*
 * A copy of a single-table SELECT, UPDATE or DELETE of a tenant table, or
 * NULL; a SELECT only while a context is in force.
 */
Query *
row_verification_citus_candidate(Query *parse)
{
	if ((parse->commandType != CMD_SELECT && parse->commandType != CMD_UPDATE &&
		 parse->commandType != CMD_DELETE) ||
		(parse->commandType == CMD_SELECT &&
		 (!row_verification_in_force() || parse->hasModifyingCTE)) ||
		list_length(parse->rtable) != 1 || parse->cteList != NIL ||
		parse->hasSubLinks || parse->setOperations != NULL || parse->jointree == NULL ||
		!is_tenant_relation(linitial_node(RangeTblEntry, parse->rtable)))
		return NULL;
	return copyObject(parse);
}

/* current_setting('<name>', true) */
static Expr *
current_setting_expr(const char *name)
{
	return (Expr *) makeFuncExpr(F_CURRENT_SETTING_TEXT_BOOL, TEXTOID,
								 list_make2(makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
													  CStringGetTextDatum(name), false, false),
											makeBoolConst(true, false)),
								 InvalidOid, DEFAULT_COLLATION_OID, COERCE_EXPLICIT_CALL);
}

static Expr *
text_const(const char *value)
{
	return (Expr *) makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
							  CStringGetTextDatum(value), false, false);
}

/* The context and mode in force, for the plan of a SELECT. */
static List *
settings_in_force(void)
{
	const char *context = tenant_context_text();

	return list_make2(makeString(pstrdup(context ? context : "")),
					  makeString(pstrdup(GetConfigOption("tenant_guard.mode", false, false))));
}

/*
 * Does a plan whose row condition was made with these settings (NIL: with
 * current_setting(), which Citus evaluates for each execution) verify
 * under the settings in force now?
 */
bool
row_verification_planned_settings_hold(List *planned)
{
	List	   *now;

	if (planned == NIL)
		return true;
	now = settings_in_force();
	return strcmp(strVal(linitial(planned)), strVal(linitial(now))) == 0 &&
		strcmp(strVal(lsecond(planned)), strVal(lsecond(now))) == 0;
}

/*
 * Add the condition when a finding names the table; whether it was added.
 * Citus evaluates current_setting() on the coordinator for modifications
 * only: a SELECT's condition carries the context and mode in force at
 * planning, listed in *planned, and its plan verifies only under them.
 */
bool
row_verification_citus_instrument(Query *query, List *findings, List **planned)
{
	Expr	   *context = current_setting_expr("tenant_guard.tenant");
	Expr	   *mode = current_setting_expr("tenant_guard.mode");
	Oid			fn = verify_shard_row_function();
	RangeTblEntry *rte = linitial_node(RangeTblEntry, query->rtable);
	AttrNumber	attnum = tenant_table_attnum(rte->relid);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	Expr	   *check;

	if (!OidIsValid(fn) || attnum == InvalidAttrNumber ||
		!scoping_guard_findings_name(findings, rte->relid))
		return false;
	get_atttypetypmodcoll(rte->relid, attnum, &typid, &typmod, &collid);
	if (query->commandType == CMD_SELECT)
	{
		*planned = settings_in_force();
		context = text_const(strVal(linitial(*planned)));
		mode = text_const(strVal(lsecond(*planned)));
	}
	check = (Expr *) makeFuncExpr(fn, BOOLOID,
								  list_make5(makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
													   ObjectIdGetDatum(rte->relid), false, true),
											 makeVar(1, attnum, typid, typmod, collid, 0),
											 makeBoolConst(query->commandType != CMD_SELECT, false),
											 context, mode),
								  InvalidOid, InvalidOid, COERCE_SQL_SYNTAX);
	query->jointree->quals = query->jointree->quals == NULL ? (Node *) check :
		make_and_qual(query->jointree->quals, (Node *) check);
	rte->ctename = pstrdup(ROW_CHECK_MARK);
	return true;
}

/*
 * The coordinator's setting, made this transaction's own here (SET LOCAL):
 * the context, so that the checks compare in the tenant column's type as
 * everywhere else, and the mode, which decides whether to refuse.
 */
static void
adopt_setting(const char *name, text *value)
{
	char	   *wanted = text_to_cstring(value);
	const char *current = GetConfigOption(name, true, false);

	/* the context as current_setting() gives it: a signed value's tenants */
	if (strcmp(name, "tenant_guard.tenant") == 0)
		current = tenant_context_text() ? tenant_context_text() : "";
	if (current == NULL || strcmp(current, wanted) != 0)
		(void) set_config_option(name, wanted, PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
}

/* Calls in SQL Citus plans on this node: give them back their mark. */
static bool
remark_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->funcid == verify_shard_row_oid)
		((FuncExpr *) node)->funcformat = COERCE_SQL_SYNTAX;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, remark_walker, context, 0);
	return expression_tree_walker(node, remark_walker, context);
}

/*
 * A shard query Citus runs on this node (a reference table's shard, say)
 * reaches the planner as SQL text Citus deparsed from the statement, which
 * has lost the mark tenant_guard's expressions carry.
 */
void
row_verification_citus_remark(Query *parse)
{
	if (OidIsValid(verify_shard_row_oid))
		(void) query_tree_walker(parse, remark_walker, NULL, 0);
}

/*
 * tenant_guard.verify_shard_row(relation regclass, tenant anyelement,
 *								 writes boolean, context text, mode text)
 * RETURNS boolean
 *
 * True, or a cross-tenant violation of the given context, reported in the
 * given mode (an error in enforce mode).  On a Citus connection the call
 * comes as SQL text, without the mark of tenant_guard's expressions.
 */
Datum
tenant_guard_verify_shard_row(PG_FUNCTION_ARGS)
{
	if (!citus_internal_connection())
		require_planned_check(fcinfo, "tenant_guard.verify_shard_row");
	if (PG_ARGISNULL(3) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(3)) == 0 ||
		PG_ARGISNULL(4))
		PG_RETURN_BOOL(true);	/* no context on the coordinator */
	adopt_setting("tenant_guard.tenant", PG_GETARG_TEXT_PP(3));
	adopt_setting("tenant_guard.mode", PG_GETARG_TEXT_PP(4));
	check_row_value(fcinfo, PG_GETARG_OID(0),
					PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2), false);
	PG_RETURN_BOOL(true);
}

/*-------------------------------------------------------------------------
 *
 * written_scopes.c
 *	  What a statement's conditions as written say of its tenant tables,
 *	  before the planner runs: for each, whether a term scopes it, and
 *	  whether it is pinned to one constant or parameter, by a term of its
 *	  own or through equal tenant columns from one that is.
 *
 * Row verification (row_verification.c) asks it which tables need row
 * checks, and the planner hook (tenant_guard.c) which statements it can
 * plan without examining each relation: a plain SELECT whose every tenant
 * table is pinned as written is scoped after planning too, by the same
 * values, which become its value checks (scope_values.c), carried on the
 * tables' own entries of the plan (written_scopes_pin_plan).  One walk
 * of the conditions, linear in the statement's size; conservative:
 * anything it does not recognize counts as not scoped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "written_scopes.h"

#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "plan_carrier.h"
#include "scope_analysis.h"
#include "scope_values.h"
#include "tenant_catalog.h"

/* The relation of the first column a term reads at this level, or 0. */
static bool
first_column(Node *node, Index *varno)
{
	if (node == NULL)
		return false;
	/* "col = X", most terms: no walk */
	if (IsA(node, OpExpr) && ((OpExpr *) node)->args != NIL &&
		IsA(linitial(((OpExpr *) node)->args), Var))
		node = linitial(((OpExpr *) node)->args);
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == 0)
	{
		*varno = ((Var *) node)->varno;
		return true;
	}
	return expression_tree_walker(node, first_column, varno);
}

/* A column of a relation of the statement's own level. */
typedef struct LevelColumn
{
	Index		rti;
	AttrNumber	attnum;
} LevelColumn;

/* Does the term read the column? */
static bool
reads_column(Node *node, LevelColumn *column)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return ((Var *) node)->varno == (int) column->rti &&
			((Var *) node)->varattno == column->attnum &&
			((Var *) node)->varlevelsup == 0;
	/* "col = X", most terms: the operator's arguments, without the walker */
	if (IsA(node, OpExpr))
	{
		ListCell   *lc;

		foreach(lc, ((OpExpr *) node)->args)
		{
			if (!IsA(lfirst(lc), Const) && reads_column(lfirst(lc), column))
				return true;
		}
		return false;
	}
	return expression_tree_walker(node, reads_column, column);
}

static bool
is_tenant_column_of(WrittenScopes *ws, Var *var)
{
	return var->varno >= 1 && var->varno <= ws->nrels &&
		var->varattno != InvalidAttrNumber &&
		ws->tenant_attnum[var->varno] == var->varattno;
}

/*
 * One AND term: an equality of two tenant columns, or a scope of the
 * relation of its first column (a scope reads no other), so that each term
 * is looked at once.
 */
static void
note_term(Node *term, WrittenScopes *ws)
{
	Var		   *left;
	Var		   *right;
	Index		rti;
	Node	   *value;

	if (clause_equates_columns(term, &left, &right))
	{
		if (is_tenant_column_of(ws, left) && is_tenant_column_of(ws, right))
			ws->equal_pairs = lappend_int(lappend_int(ws->equal_pairs, left->varno),
										  right->varno);
		return;
	}
	if (!first_column(term, &rti) || rti < 1 || rti > (Index) ws->nrels ||
		ws->tenant_attnum[rti] == InvalidAttrNumber)
		return;
	/* a second term on a pinned column may name more values (pinned_alone) */
	if (ws->scope[rti] == PINNED)
	{
		LevelColumn	column = {rti, ws->tenant_attnum[rti]};

		if (reads_column(term, &column))
			ws->pinned_alone = false;
		return;
	}
	value = clause_pinned_value(term, rti, ws->tenant_attnum[rti]);
	if (value != NULL)
	{
		if (ws->scope[rti] == SCOPED)
			ws->pinned_alone = false;
		ws->scope[rti] = PINNED;
		ws->pinned_to[rti] = value;
	}
	else if (clause_is_tenant_scope(NULL, term, rti, ws->tenant_attnum[rti]))
		ws->scope[rti] = SCOPED;
}

static void
note_terms(Node *quals, WrittenScopes *ws)
{
	ListCell   *lc;

	if (quals == NULL)
		return;
	if (!is_andclause(quals))
	{
		note_term(quals, ws);
		return;
	}
	foreach(lc, ((BoolExpr *) quals)->args)
		note_term(lfirst(lc), ws);
}

/*
 * The ON clause of an outer join, for the relations on its nullable side:
 * a term of their own scopes them (the planner pushes it down to their
 * scan), and an equality of one of their tenant columns with the other
 * side's passes a value pinned there on to them (the planner derives
 * "column = value" for the nullable side), but not back.  Terms on the
 * other side's relations filter none of its rows.
 */
static void
note_outer_join_conditions(Node *quals, Node *nullable_side, WrittenScopes *ws)
{
	Bitmapset  *nullable = NULL;
	Bitmapset  *unused = NULL;
	List	   *terms;
	ListCell   *lc;

	jointree_relations(nullable_side, false, &nullable, &unused);
	terms = quals == NULL ? NIL :
		is_andclause(quals) ? ((BoolExpr *) quals)->args : list_make1(quals);
	foreach(lc, terms)
	{
		Node	   *term = lfirst(lc);
		Var		   *left;
		Var		   *right;
		Index		rti;

		if (clause_equates_columns(term, &left, &right))
		{
			bool		left_nullable = bms_is_member(left->varno, nullable);
			bool		right_nullable = bms_is_member(right->varno, nullable);

			if (!is_tenant_column_of(ws, left) || !is_tenant_column_of(ws, right))
				continue;
			if (left_nullable && right_nullable)
				note_term(term, ws);
			else if (left_nullable || right_nullable)
				ws->outer_pairs = lappend_int(lappend_int(ws->outer_pairs,
														  left_nullable ? right->varno : left->varno),
											  left_nullable ? left->varno : right->varno);
		}
		else if (first_column(term, &rti) && bms_is_member(rti, nullable))
			note_term(term, ws);
	}
}

/*
 * The statement's conditions that hold for every row it reads: its WHERE
 * clause, the ON clauses of inner joins, and those of outer joins for the
 * relations on their nullable side (note_outer_join_conditions).
 */
static void
note_inner_conditions(Node *node, WrittenScopes *ws)
{
	JoinExpr   *join;

	if (node == NULL)
		return;
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			note_inner_conditions(lfirst(lc), ws);
		note_terms(((FromExpr *) node)->quals, ws);
		return;
	}
	if (!IsA(node, JoinExpr))
		return;
	join = (JoinExpr *) node;
	note_inner_conditions(join->larg, ws);
	note_inner_conditions(join->rarg, ws);
	if (join->jointype == JOIN_INNER)
		note_terms(join->quals, ws);
	else if (join->jointype == JOIN_LEFT)
		note_outer_join_conditions(join->quals, join->rarg, ws);
	else if (join->jointype == JOIN_RIGHT)
		note_outer_join_conditions(join->quals, join->larg, ws);
}

/*
 * Are all the statement's tenant tables scoped by its conditions as
 * written: each by a term of its own (firm_id = $1, firm_id IN (...), ...),
 * or through equal tenant columns (j.firm_id = i.firm_id) from one pinned
 * to a single value (i.firm_id = $1), which the planner passes on?  Then
 * every scan is scoped after planning too and needs no row check.  The
 * nullable side of an outer join is scoped by its ON clause, as the planner
 * scopes it (note_outer_join_conditions).  Conservative: anything else (an
 * IN list or OR passed through a join, subqueries) answers no.  Linear in
 * the statement's size.
 * *all_pinned tells whether each is pinned to a constant or parameter, so
 * that no scope value can change while the statement runs.
 */
void
written_scopes_note(Query *parse, WrittenScopes *ws)
{
	ListCell   *lc;
	Index		rti = 0;
	bool		grew;

	ws->nrels = list_length(parse->rtable);
	if (ws->nrels <= WRITTEN_SCOPES_INLINE)
	{
		memset(ws->inline_attnum, 0, sizeof(ws->inline_attnum));
		memset(ws->inline_scope, 0, sizeof(ws->inline_scope));
		ws->tenant_attnum = ws->inline_attnum;
		ws->scope = ws->inline_scope;
		ws->pinned_to = ws->inline_pinned_to;
	}
	else
	{
		ws->tenant_attnum = palloc0((ws->nrels + 1) * sizeof(AttrNumber));
		ws->scope = palloc0(ws->nrels + 1);
		ws->pinned_to = palloc((ws->nrels + 1) * sizeof(Node *));
	}
	ws->equal_pairs = NIL;
	ws->outer_pairs = NIL;
	ws->pinned_alone = true;
	ws->nullable = NULL;
	foreach(lc, parse->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind == RTE_RELATION)
			ws->tenant_attnum[rti] = tenant_table_attnum(rte->relid);
	}
	note_inner_conditions((Node *) parse->jointree, ws);
	if (ws->outer_pairs != NIL)
	{
		Bitmapset  *in_tree = NULL;

		jointree_relations((Node *) parse->jointree, false, &in_tree, &ws->nullable);
	}
	/* pass pinned values on through equal tenant columns */
	do
	{
		grew = false;
		for (int i = 0; i + 1 < list_length(ws->equal_pairs); i += 2)
		{
			int			a = list_nth_int(ws->equal_pairs, i);
			int			b = list_nth_int(ws->equal_pairs, i + 1);

			if ((ws->scope[a] == PINNED) != (ws->scope[b] == PINNED))
			{
				int			from = ws->scope[a] == PINNED ? a : b;
				int			to = from == a ? b : a;

				ws->scope[to] = PINNED;
				ws->pinned_to[to] = ws->pinned_to[from];
				grew = true;
			}
		}
		for (int i = 0; i + 1 < list_length(ws->outer_pairs); i += 2)
		{
			int			from = list_nth_int(ws->outer_pairs, i);
			int			to = list_nth_int(ws->outer_pairs, i + 1);

			/*
			 * from a relation on no nullable side: the planner derives a
			 * value for the nullable side only from an equivalence that
			 * holds for every row, not from a value an outer join's ON
			 * clause gave another nullable relation
			 */
			if (ws->scope[from] == PINNED && ws->scope[to] != PINNED &&
				!bms_is_member(from, ws->nullable))
			{
				ws->scope[to] = PINNED;
				ws->pinned_to[to] = ws->pinned_to[from];
				grew = true;
			}
		}
	} while (grew);
}

bool
written_scopes_all_scoped(WrittenScopes *ws, bool *all_pinned)
{
	*all_pinned = true;
	for (Index rti = 1; rti <= (Index) ws->nrels; rti++)
	{
		if (ws->tenant_attnum[rti] == InvalidAttrNumber)
			continue;
		if (ws->scope[rti] == NOT_SCOPED)
			return false;
		*all_pinned &= ws->scope[rti] == PINNED;
	}
	return true;
}

/*
 * The value checks of a statement whose every tenant table is pinned
 * (written_scopes_all_scoped), in range-table order, the order in which
 * the planner would find them: each table's by the value it is pinned to,
 * which after planning scopes its scan, directly or through the
 * equivalence of the equal tenant columns.
 */
List *
written_scopes_value_checks(WrittenScopes *ws, Query *parse)
{
	List	   *checks = NIL;

	for (Index rti = 1; rti <= (Index) ws->nrels; rti++)
	{
		if (ws->tenant_attnum[rti] == InvalidAttrNumber)
			continue;
		Assert(ws->scope[rti] == PINNED);
		checks = scope_values_add_pinned(checks, rt_fetch(rti, parse->rtable)->relid,
										 ws->pinned_to[rti]);
	}
	return checks;
}

/*
 * After planning, each pinned table's value on its own entry of the plan
 * (plan_carrier_pin), the value check the executor makes of it.  False,
 * with nothing changed, when the plan's range table is not the Query's.
 */
bool
written_scopes_pin_plan(WrittenScopes *ws, Query *parse, PlannedStmt *stmt)
{
	for (Index rti = 1; rti <= (Index) ws->nrels; rti++)
	{
		if (ws->tenant_attnum[rti] != InvalidAttrNumber &&
			!plan_carrier_can_pin(stmt, rti, rt_fetch(rti, parse->rtable)->relid))
			return false;
	}
	for (Index rti = 1; rti <= (Index) ws->nrels; rti++)
	{
		if (ws->tenant_attnum[rti] != InvalidAttrNumber)
			plan_carrier_pin(stmt, rti, ws->pinned_to[rti]);
	}
	return true;
}

/*
 * The range-table entries in the FROM list, and those on the nullable side
 * of an outer join.
 */
void
jointree_relations(Node *node, bool nullable, Bitmapset **in_tree,
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
			jointree_relations(lfirst(lc), nullable, in_tree, nullable_rtis);
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;
		bool		left_nullable = nullable ||
			join->jointype == JOIN_RIGHT || join->jointype == JOIN_FULL;
		bool		right_nullable = nullable ||
			join->jointype == JOIN_LEFT || join->jointype == JOIN_FULL;

		jointree_relations(join->larg, left_nullable, in_tree, nullable_rtis);
		jointree_relations(join->rarg, right_nullable, in_tree, nullable_rtis);
	}
}

/*-------------------------------------------------------------------------
 *
 * amount_statement.c
 *	  Which amount columns a statement computes from themselves: worked out
 *	  when the statement is planned, carried in its plan, and consulted by
 *	  the amount trigger through a per-statement context while it runs.
 *
 * Planning.  An assignment is relative when its expression reads the same
 * column of the same row: a Var of the statement's result relation with
 * the target column's number (or the whole row), outside any subquery.
 * When a concurrent transaction updated the row first, PostgreSQL evaluates
 * such an expression again on the newest row version (EvalPlanQual in READ
 * COMMITTED; the stricter levels fail with a serialization error), so it
 * cannot lose that update.  A value from a subquery, from another row or
 * table joined in by UPDATE ... FROM, or from the application was read
 * under the statement's snapshot or earlier, and is absolute.
 *
 * The analysis reads the Query as the planner receives it: rewritten
 * (updatable views resolved to their base table), not yet simplified.  It
 * covers UPDATE (also inside WITH), INSERT ... ON CONFLICT DO UPDATE (which
 * evaluates its SET on the locked, newest row) and MERGE ... WHEN MATCHED
 * THEN UPDATE.  A column assigned in several places of one statement is
 * relative only when every assignment is.  It is a guard against mistakes,
 * not against someone bent on bypassing it: SET amount_paid = amount_paid
 * * 0 + 150 reads the column and passes.
 *
 * Carried.  The result, a List of (Integer relid, String column) pairs
 * naming the result relation as written (a partitioned table, not its
 * partitions) and the relative columns, travels in the plan
 * (plan_carrier.c), so cached plans keep it; protecting a column, or
 * renaming one, invalidates the plans of the table through relcache.
 *
 * Executing.  ExecutorRun pushes a context for every statement that can
 * fire an UPDATE trigger, that is anything but a plain SELECT, and
 * ExecutorFinish for those whose data-modifying WITH queries it completes
 * (tenant_guard.c decides which); each pops it when it returns or fails.  UPDATEs run from triggers and functions
 * inside a statement therefore see their own context, never their
 * caller's, and an error unwinds the stack with PG_FINALLY.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "amount_guard.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "extension_state.h"
#include "nodes/nodeFuncs.h"
#include "nodes/value.h"
#include "parser/parsetree.h"
#include "plan_carrier.h"
#include "scope_analysis.h"
#include "settings.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* One assignment of a column found in the statement. */
typedef struct Assignment
{
	Oid			relid;
	char	   *column;
	bool		relative;
	const char *compared_version;	/* the version column its WHERE pins, or NULL */
} Assignment;

/* The column an assignment writes, in the result relation. */
typedef struct OwnColumn
{
	Index		varno;
	AttrNumber	attno;
} OwnColumn;

static AmountStatement *current_statement = NULL;

/*----------
 * Planning
 *----------
 */

static bool reads_own_column(Node *node, OwnColumn *own);

/*
 * Does every value a conditional expression can take read the column?
 * COALESCE($1, amount_paid) is $1 whenever $1 is not NULL, a value from
 * outside the statement: an absolute write (and so is a CASE with one
 * branch that does not read it).  COALESCE(amount_paid, 0) + $1 reads it
 * whenever there is a value to read.  NULLIF(a, b) is a or NULL.
 */
static bool
conditional_reads_own_column(Node *node, OwnColumn *own, bool *reads)
{
	ListCell   *lc;

	switch (nodeTag(node))
	{
		case T_CoalesceExpr:
			*reads = reads_own_column(linitial(((CoalesceExpr *) node)->args), own);
			return true;
		case T_NullIfExpr:
			*reads = reads_own_column(linitial(((NullIfExpr *) node)->args), own);
			return true;
		case T_CaseExpr:
			*reads = reads_own_column((Node *) ((CaseExpr *) node)->defresult, own);
			foreach(lc, ((CaseExpr *) node)->args)
				*reads = *reads &&
					reads_own_column((Node *) lfirst_node(CaseWhen, lc)->result, own);
			return true;
		default:
			return false;
	}
}

/*
 * Is the value computed from the column itself, on every path?  PostgreSQL
 * evaluates it again on the newest row version when the row was updated
 * concurrently, so such a value cannot lose that update.
 */
static bool
reads_own_column(Node *node, OwnColumn *own)
{
	bool		reads;

	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		return var->varlevelsup == 0 && var->varno == own->varno &&
			(var->varattno == own->attno || var->varattno == 0);
	}
	/* A subquery's value comes from its own scan, under the snapshot. */
	if (IsA(node, SubLink))
		return false;
	if (conditional_reads_own_column(node, own, &reads))
		return reads;
	return expression_tree_walker(node, reads_own_column, (void *) own);
}

/*
 * The table's version column when a top-level term of the condition
 * compares it with one value (lock_version = $5), else NULL.  Re-evaluated
 * on the newest row version when another transaction updated it first,
 * such a condition skips the row: a compare-and-set.
 */
static const char *
compared_version(Query *query, Node *quals, Relation rel)
{
	const char *version = amount_version_column(rel);
	AttrNumber	attnum;
	ListCell   *lc;

	if (version == NULL || quals == NULL)
		return NULL;
	attnum = get_attnum(RelationGetRelid(rel), version);
	if (attnum <= 0)
		return NULL;
	if (!is_andclause(quals))
		return clause_pins_column(quals, query->resultRelation, attnum) ? version : NULL;
	foreach(lc, ((BoolExpr *) quals)->args)
	{
		if (clause_pins_column(lfirst(lc), query->resultRelation, attnum))
			return version;
	}
	return NULL;
}

/*
 * The assignments of protected amount columns: only they are judged, so
 * only they are carried (a plan carrier is an extra range-table entry,
 * which EXPLAIN VERBOSE shows as qualified column names).  A table with
 * partitions or inheritance children has every assignment carried, since
 * a child may protect a column its parent does not.  The parser has locked
 * the result relation.  quals is the condition the rows must meet.
 */
static List *
add_assignments(Query *query, List *targetList, Node *quals, List *assignments)
{
	RangeTblEntry *target = rt_fetch(query->resultRelation, query->rtable);
	Relation	rel;
	ListCell   *lc;
	const char *version;

	if (target->rtekind != RTE_RELATION)
		return assignments;
	rel = table_open(target->relid, NoLock);
	version = compared_version(query, quals, rel);
	if (version != NULL)
		version = pstrdup(version);	/* the relcache entry's copy may go */
	foreach(lc, targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		OwnColumn	own = {query->resultRelation, tle->resno};
		Assignment *assignment;
		char	   *column;

		if (tle->resjunk ||
			(!rel->rd_rel->relhassubclass &&
			 !amount_column_is_protected(rel, tle->resno)) ||
			(column = get_attname(target->relid, tle->resno, true)) == NULL)
			continue;
		assignment = palloc(sizeof(Assignment));
		assignment->relid = target->relid;
		assignment->column = column;
		assignment->relative = reads_own_column((Node *) tle->expr, &own);
		assignment->compared_version = version;
		assignments = lappend(assignments, assignment);
	}
	table_close(rel, NoLock);
	return assignments;
}

static List *
collect_assignments(Query *query, List *assignments)
{
	ListCell   *lc;

	switch (query->commandType)
	{
		case CMD_UPDATE:
			assignments = add_assignments(query, query->targetList,
										  query->jointree->quals, assignments);
			break;
		case CMD_INSERT:
			if (query->onConflict != NULL &&
				query->onConflict->action == ONCONFLICT_UPDATE)
				assignments = add_assignments(query, query->onConflict->onConflictSet,
											  query->onConflict->onConflictWhere,
											  assignments);
			break;
		case CMD_MERGE:
			foreach(lc, query->mergeActionList)
			{
				MergeAction *action = lfirst_node(MergeAction, lc);

				if (action->commandType == CMD_UPDATE)
					assignments = add_assignments(query, action->targetList,
												  action->qual, assignments);
			}
			break;
		default:
			break;
	}

	/* Data-modifying WITH queries, which may only appear at the top. */
	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query))
			assignments = collect_assignments((Query *) cte->ctequery, assignments);
	}
	return assignments;
}

static bool
relative_everywhere(List *assignments, Assignment *one)
{
	ListCell   *lc;

	foreach(lc, assignments)
	{
		Assignment *other = lfirst(lc);

		if (other->relid == one->relid && !other->relative &&
			strcmp(other->column, one->column) == 0)
			return false;
	}
	return true;
}

/* Does every place of the statement that assigns the table's amounts compare its version? */
static bool
compares_everywhere(List *assignments, Oid relid)
{
	ListCell   *lc;

	foreach(lc, assignments)
	{
		Assignment *other = lfirst(lc);

		if (other->relid == relid && other->compared_version == NULL)
			return false;
	}
	return true;
}

/*
 * The relative assignments of a statement about to be planned (anything
 * but a plain SELECT), in the carried form: (relid, column) pairs, and
 * (relid, version column, 1) for a table whose version column the
 * statement compares wherever it assigns the table's amounts.
 */
List *
amount_relative_assignments(Query *parse)
{
	List	   *assignments;
	List	   *relative = NIL;
	List	   *comparing = NIL;
	ListCell   *lc;

	/* amount_mode = off judges nothing (a change of it makes plans again) */
	if (tenant_guard_amount_mode == GUARD_MODE_OFF || !extension_is_active())
		return NIL;

	assignments = collect_assignments(parse, NIL);
	foreach(lc, assignments)
	{
		Assignment *one = lfirst(lc);

		if (one->relative && relative_everywhere(assignments, one))
			relative = lappend(relative,
							   list_make2(makeInteger((int) one->relid),
										  makeString(one->column)));
		if (one->compared_version != NULL && !list_member_oid(comparing, one->relid) &&
			compares_everywhere(assignments, one->relid))
		{
			relative = lappend(relative,
							   list_make3(makeInteger((int) one->relid),
										  makeString(pstrdup(one->compared_version)),
										  makeInteger(1)));
			comparing = lappend_oid(comparing, one->relid);
		}
	}
	return relative;
}

/*-----------
 * Executing
 *-----------
 */

/* Push the context of a statement that can fire UPDATE triggers. */
void
amount_statement_enter(AmountStatement *statement, QueryDesc *queryDesc)
{
	PlannedStmt *plan = queryDesc->plannedstmt;

	statement->relative = plan_carrier_relative_amounts(plan);
	statement->plan = plan;
	statement->command_id = queryDesc->estate ?
		queryDesc->estate->es_output_cid : GetCurrentCommandId(false);
	statement->cxt = queryDesc->estate ? queryDesc->estate->es_query_cxt :
		CurrentMemoryContext;
	statement->ancestors_of = InvalidOid;
	statement->ancestors = NIL;
	statement->outer = current_statement;
	current_statement = statement;
}

void
amount_statement_leave(AmountStatement *statement)
{
	current_statement = statement->outer;
}

/*
 * The ancestors of a partition, remembered for the statement: an UPDATE
 * of a partitioned table fires the trigger of each partition row by row.
 */
static List *
statement_partition_ancestors(AmountStatement *statement, Oid relid)
{
	if (statement->ancestors_of != relid)
	{
		MemoryContext old = MemoryContextSwitchTo(statement->cxt);

		statement->ancestors = get_partition_ancestors(relid);
		statement->ancestors_of = relid;
		MemoryContextSwitchTo(old);
	}
	return statement->ancestors;
}

static bool
names_relative_column(List *entry, Oid relid, const char *column)
{
	return list_length(entry) == 2 && (Oid) intVal(linitial(entry)) == relid &&
		strcmp(strVal(lsecond(entry)), column) == 0;
}

/* A compared version column: (relid, column, 1). */
static bool
names_compared_column(List *entry, Oid relid, const char *column)
{
	return list_length(entry) == 3 && (Oid) intVal(linitial(entry)) == relid &&
		strcmp(strVal(lsecond(entry)), column) == 0;
}

typedef bool (*EntryMatch) (List *entry, Oid relid, const char *column);

/* Does the carried list name this column of this relation, or of one of these ancestors? */
static bool
relative_list_names(List *relative, Oid relid, List *ancestors,
					const char *column, EntryMatch matches)
{
	ListCell   *lc;
	ListCell   *ancestor;

	foreach(lc, relative)
	{
		if (matches(lfirst(lc), relid, column))
			return true;
	}
	foreach(ancestor, ancestors)
	{
		foreach(lc, relative)
		{
			if (matches(lfirst(lc), lfirst_oid(ancestor), column))
				return true;
		}
	}
	return false;
}

/* Does the running statement's carried list name the column of the relation or its ancestors? */
static bool
statement_names(Relation rel, const char *column, EntryMatch matches)
{
	AmountStatement *statement = current_statement;
	Oid			relid = RelationGetRelid(rel);

	if (statement == NULL || statement->relative == NIL)
		return false;
	if (relative_list_names(statement->relative, relid, NIL, column, matches))
		return true;
	return rel->rd_rel->relispartition &&
		relative_list_names(statement->relative, relid,
							statement_partition_ancestors(statement, relid),
							column, matches);
}

/*
 * Does the statement now running compute this column of this relation
 * (or of a partitioned table it belongs to) from the column itself?
 */
bool
amount_statement_is_relative(Relation rel, const char *column)
{
	return statement_names(rel, column, names_relative_column);
}

/*
 * Does it compare this version column in its condition, wherever it
 * assigns the relation's amounts?
 */
bool
amount_statement_compares(Relation rel, const char *column)
{
	return statement_names(rel, column, names_compared_column);
}

/*
 * The same question for a plan about to run, before its context exists:
 * does it compute this column of this relation from itself?
 */
bool
amount_plan_is_relative(PlannedStmt *plan, Relation rel, const char *column)
{
	List	   *relative = plan_carrier_relative_amounts(plan);
	Oid			relid = RelationGetRelid(rel);

	if (relative == NIL)
		return false;
	if (relative_list_names(relative, relid, NIL, column, names_relative_column))
		return true;
	return rel->rd_rel->relispartition &&
		relative_list_names(relative, relid, get_partition_ancestors(relid),
							column, names_relative_column);
}

/*
 * The command id of the statement now running: triggers that run SQL
 * before the amount trigger may have advanced the current one.
 */
CommandId
amount_statement_command_id(void)
{
	return current_statement ? current_statement->command_id :
		GetCurrentCommandId(false);
}

/* The command tag of the statement now running, for the audit trail. */
const char *
amount_statement_command(void)
{
	if (current_statement == NULL)
		return "UPDATE";
	return GetCommandTagName(CreateCommandTag((Node *) current_statement->plan));
}

/*-------------------------------------------------------------------------
 *
 * row_checks.c
 *	  Row verification at execution (doc/tenant-context.md): the rows a
 *	  statement returns, or the target rows of its UPDATE or DELETE, are
 *	  checked against the tenant context as they come out of the plan.
 *
 * row_verification.c gave the statement one hidden output column per
 * unscoped tenant table, named ROW_CHECK_COLUMN, holding the row's tenant
 * value, and carried which table each belongs to.  At ExecutorStart the
 * node those rows come out of (the plan's top node, or the node below
 * ModifyTable, which yields one row per target row) gets a wrapper around
 * its ExecProcNode that checks each row it returns, with the context in
 * force at that moment: a cursor checks each FETCH.  The output list is
 * computed after every qual and join condition, so a row the statement's
 * own conditions filter out never reaches the check, whatever the plan;
 * in a parallel plan the rows come through Gather to the leader.  Checking
 * a column instead of calling a function per row keeps PostgreSQL's
 * per-execution cost of a function call (catalog look-up and permission
 * check) off every execution of a cached plan.
 *
 * A statement is reported once (in log mode it goes on).  The wrapper
 * keeps EXPLAIN ANALYZE's instrumentation of the node.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "row_checks.h"

#include "executor/executor.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "nodes/value.h"
#include "plan_carrier.h"
#include "row_verification.h"
#include "settings.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/memutils.h"

typedef struct RowCheckColumn
{
	Oid			relid;
	int			flags;			/* ROW_CHECK_WRITES, ROW_CHECK_NULLABLE */
	AttrNumber	attno;			/* in the node's output */
	Oid			typid;
	const char *column;			/* the tenant column's name */
} RowCheckColumn;

/* One wrapped node of a running plan. */
typedef struct RowCheckRun
{
	PlanState  *node;
	ExecProcNodeMtd real;
	int			ncolumns;
	RowCheckColumn *columns;
	bool		reported;
} RowCheckRun;

/* The wrapped nodes of the plans now running (usually one). */
static List *running = NIL;

static RowCheckRun *
run_of(PlanState *node)
{
	ListCell   *lc;

	foreach(lc, running)
	{
		RowCheckRun *run = lfirst(lc);

		if (run->node == node)
			return run;
	}
	elog(ERROR, "tenant_guard: no row check for plan node");
	return NULL;				/* keep compiler quiet */
}

static void
check_row(RowCheckRun *run, TupleTableSlot *slot)
{
	for (int i = 0; i < run->ncolumns; i++)
	{
		RowCheckColumn *column = &run->columns[i];
		bool		isnull;
		Datum		value = slot_getattr(slot, column->attno, &isnull);
		bool		writes = (column->flags & ROW_CHECK_WRITES) != 0;
		char	   *bad;

		if (isnull)
		{
			if (column->flags & ROW_CHECK_NULLABLE)
				continue;		/* the outer join found no row */
			bad = pstrdup("null");
		}
		else if (tenant_context_contains(column->typid, value, column->relid,
										 column->column))
			continue;
		else
			bad = tenant_value_text(column->typid, value, false);
		run->reported = true;
		report_cross_tenant(writes ? VIOLATION_CROSS_TENANT_WRITE : VIOLATION_CROSS_TENANT_READ,
							writes ? TENANT_VALUE_CHANGED : TENANT_VALUE_READ,
							column->relid, column->column, bad);
		return;
	}
}

static TupleTableSlot *
exec_checked(PlanState *node)
{
	RowCheckRun *run = run_of(node);
	TupleTableSlot *slot;

	check_stack_depth();
	if (node->instrument)
		InstrStartNode(node->instrument);
	slot = run->real(node);
	if (node->instrument)
		InstrStopNode(node->instrument, TupIsNull(slot) ? 0.0 : 1.0);
	if (!TupIsNull(slot) && !run->reported &&
		tenant_guard_mode != GUARD_MODE_OFF && row_verification_in_force())
		check_row(run, slot);
	return slot;
}

/* When the plan's memory goes (ExecutorEnd, or an error), so does the run. */
static void
forget_run(void *arg)
{
	running = list_delete_ptr(running, arg);
}

/* Match the carried checks with the hidden columns of the node's output. */
static bool
find_columns(RowCheckRun *run, List *checks, List *targetlist)
{
	ListCell   *lc;
	ListCell   *check = list_head(checks);
	int			n = 0;

	run->columns = palloc(sizeof(RowCheckColumn) * list_length(checks));
	foreach(lc, targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		List	   *carried;
		TenantTableInfo info;

		if (!tle->resjunk || tle->resname == NULL ||
			strcmp(tle->resname, ROW_CHECK_COLUMN) != 0 || check == NULL)
			continue;
		carried = lfirst(check);
		run->columns[n].relid = (Oid) intVal(linitial(carried));
		run->columns[n].flags = intVal(lsecond(carried));
		run->columns[n].attno = tle->resno;
		run->columns[n].typid = exprType((Node *) tle->expr);
		tenant_table_describe(run->columns[n].relid, &info);
		run->columns[n].column = pstrdup(NameStr(info.tenant_column));
		n++;
		check = lnext(checks, check);
	}
	run->ncolumns = n;
	return n == list_length(checks);
}

/*
 * SELECT ... FOR UPDATE locks each row in its LockRows node, under the
 * top or under a LIMIT: the rows are checked below it, before they are
 * locked, so that a lock another tenant's row holds (NOWAIT, SKIP LOCKED,
 * a lock timeout) tells nothing about it.  Neither node projects: the
 * rows have the columns of the top node's output, in the same places.
 */
static PlanState *
rows_before_locking(PlanState *top)
{
	PlanState  *node = top;

	while (IsA(node, LimitState))
		node = outerPlanState(node);
	return IsA(node, LockRowsState) ? outerPlanState(node) : top;
}

void
row_checks_start(QueryDesc *queryDesc, int eflags)
{
	List	   *checks;
	PlanState  *node = queryDesc->planstate;
	PlanState  *checked;
	MemoryContext old;
	MemoryContextCallback *callback;
	RowCheckRun *run;

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 ||
		(checks = plan_carrier_row_checks(queryDesc->plannedstmt)) == NIL)
		return;
	/* the target rows of UPDATE and DELETE come from the node below */
	if (IsA(node, ModifyTableState))
		node = outerPlanState(node);
	checked = rows_before_locking(node);

	old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
	run = palloc0(sizeof(RowCheckRun));
	run->node = checked;
	if (!find_columns(run, checks, node->plan->targetlist))
		elog(ERROR, "tenant_guard: the plan lost its row check columns");
	run->real = checked->ExecProcNodeReal;
	callback = palloc(sizeof(MemoryContextCallback));
	callback->func = forget_run;
	callback->arg = run;
	MemoryContextRegisterResetCallback(queryDesc->estate->es_query_cxt, callback);
	MemoryContextSwitchTo(TopMemoryContext);
	running = lappend(running, run);
	MemoryContextSwitchTo(old);
	checked->ExecProcNode = exec_checked;
}

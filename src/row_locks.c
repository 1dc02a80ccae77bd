/*-------------------------------------------------------------------------
 *
 * row_locks.c
 *	  The rows of protected tables that this transaction locked with
 *	  SELECT ... FOR UPDATE or FOR NO KEY UPDATE, and in which command.
 *
 * Why not read the lock from the row itself: before a BEFORE UPDATE row
 * trigger runs, PostgreSQL 15 locks the row (GetTupleForTrigger), so inside
 * the trigger every row carries a lock of the current transaction, and a
 * FOR NO KEY UPDATE taken earlier looks exactly like that one.  So the
 * locks are recorded when they are taken instead: ExecutorStart wraps each
 * LockRows node of a plan that locks rows of a protected table, and after
 * every row the node returns, the locked row versions (ExecRowMark.curCtid,
 * the version actually locked, after following concurrent updates) are
 * remembered with the current subtransaction and command id.
 *
 * Locks taken by a subtransaction that aborts are released by PostgreSQL,
 * so its entries are forgotten; those of a committed subtransaction pass to
 * its parent.  Everything is forgotten at the end of the transaction.  A
 * row locked again keeps its first entry.  Locked row versions cannot be
 * pruned while the transaction runs, so their TIDs stay unambiguous.
 *
 * PostgreSQL's ExecLockRows is static; it is taken from the first LockRows
 * node seen, and only nodes that run that same function are wrapped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "amount_guard.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

typedef struct LockedRowKey
{
	Oid			relid;
	ItemPointerData tid;
} LockedRowKey;

typedef struct LockedRow
{
	LockedRowKey key;
	SubTransactionId subxid;	/* the (sub)transaction that holds the lock */
	CommandId	cid;			/* the command that took it */
} LockedRow;

/* This transaction's locked rows, in TopTransactionContext; or NULL. */
static HTAB *locked_rows = NULL;

/* PostgreSQL's ExecLockRows. */
static ExecProcNodeMtd lock_rows_node_exec = NULL;

static bool
is_update_lock(RowMarkType markType)
{
	return markType == ROW_MARK_EXCLUSIVE || markType == ROW_MARK_NOKEYEXCLUSIVE;
}

static void row_locks_xact_callback(XactEvent event, void *arg);
static void row_locks_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
									   SubTransactionId parentSubid, void *arg);

static void
remember_locked_row(Oid relid, ItemPointer tid, CommandId cid)
{
	LockedRowKey key;
	LockedRow  *row;
	bool		found;

	if (locked_rows == NULL)
	{
		static bool callbacks_registered = false;
		HASHCTL		ctl;

		/* at the first row, so that other sessions' transactions pay nothing */
		if (!callbacks_registered)
		{
			RegisterXactCallback(row_locks_xact_callback, NULL);
			RegisterSubXactCallback(row_locks_subxact_callback, NULL);
			callbacks_registered = true;
		}

		ctl.keysize = sizeof(LockedRowKey);
		ctl.entrysize = sizeof(LockedRow);
		ctl.hcxt = TopTransactionContext;
		locked_rows = hash_create("tenant_guard locked rows", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));	/* the padding is hashed too */
	key.relid = relid;
	ItemPointerCopy(tid, &key.tid);
	row = hash_search(locked_rows, &key, HASH_ENTER, &found);
	if (!found)
	{
		row->subxid = GetCurrentSubTransactionId();
		row->cid = cid;
	}
}

static TupleTableSlot *
lock_rows_remembering(PlanState *pstate)
{
	LockRowsState *node = castNode(LockRowsState, pstate);
	TupleTableSlot *slot = lock_rows_node_exec(pstate);
	ListCell   *lc;

	if (TupIsNull(slot))
		return slot;
	foreach(lc, node->lr_arowMarks)
	{
		ExecRowMark *erm = ((ExecAuxRowMark *) lfirst(lc))->rowmark;

		if (erm->ermActive && is_update_lock(erm->markType) &&
			ItemPointerIsValid(&erm->curCtid) &&
			relation_has_amount_guard(erm->relation))
			remember_locked_row(erm->relid, &erm->curCtid,
								pstate->state->es_output_cid);
	}
	return slot;
}

/* Does this LockRows node lock rows of a protected table for update? */
static bool
locks_protected_rows(LockRowsState *node)
{
	ListCell   *lc;

	foreach(lc, node->lr_arowMarks)
	{
		ExecRowMark *erm = ((ExecAuxRowMark *) lfirst(lc))->rowmark;

		if (is_update_lock(erm->markType) && erm->relation != NULL &&
			relation_has_amount_guard(erm->relation))
			return true;
	}
	return false;
}

static bool
wrap_lock_rows_nodes(PlanState *planstate, void *context)
{
	if (planstate == NULL)
		return false;
	if (IsA(planstate, LockRowsState) &&
		locks_protected_rows((LockRowsState *) planstate))
	{
		if (lock_rows_node_exec == NULL)
			lock_rows_node_exec = planstate->ExecProcNodeReal;
		if (planstate->ExecProcNodeReal == lock_rows_node_exec)
			ExecSetExecProcNode(planstate, lock_rows_remembering);
	}
	return planstate_tree_walker(planstate, wrap_lock_rows_nodes, context);
}

/*
 * After ExecutorStart: watch the plan's row locks, if it takes any FOR
 * UPDATE or FOR NO KEY UPDATE.  Costs one look at the plan's row marks for
 * every other statement.
 */
void
row_locks_watch(QueryDesc *queryDesc)
{
	ListCell   *lc;

	foreach(lc, queryDesc->plannedstmt->rowMarks)
	{
		if (is_update_lock(lfirst_node(PlanRowMark, lc)->markType))
		{
			if (queryDesc->planstate != NULL)
				wrap_lock_rows_nodes(queryDesc->planstate, NULL);
			return;
		}
	}
}

/*
 * Did this transaction lock this row version FOR [NO KEY] UPDATE in an
 * earlier command than the one running now?
 */
bool
row_locked_before_statement(Relation rel, ItemPointer tid)
{
	LockedRowKey key;
	LockedRow  *row;

	if (locked_rows == NULL)
		return false;
	memset(&key, 0, sizeof(key));
	key.relid = RelationGetRelid(rel);
	ItemPointerCopy(tid, &key.tid);
	row = hash_search(locked_rows, &key, HASH_FIND, NULL);
	return row != NULL && row->cid < amount_statement_command_id();
}

static void
row_locks_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* the memory goes with TopTransactionContext */
			locked_rows = NULL;
			break;
		default:
			break;
	}
}

static void
row_locks_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS status;
	LockedRow  *row;

	if (locked_rows == NULL ||
		(event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;
	hash_seq_init(&status, locked_rows);
	while ((row = hash_seq_search(&status)) != NULL)
	{
		if (row->subxid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			(void) hash_search(locked_rows, &row->key, HASH_REMOVE, NULL);
		else
			row->subxid = parentSubid;
	}
}


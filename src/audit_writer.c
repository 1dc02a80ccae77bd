/*-------------------------------------------------------------------------
 *
 * audit_writer.c
 *	  The processes that move violations from the shared-memory queue into
 *	  tenant_guard.violations of the database where each happened, and
 *	  tenant_guard.flush(), which waits for them.
 *
 * A background worker can connect to one database only, so the work is
 * split like worker_spi and pg_cron split it:
 *	- the launcher (registered at server start) connects to no database,
 *	  only to the shared catalogs; every half second, or when flush() wakes
 *	  it, it looks for databases with waiting entries and starts a writer
 *	  for each one that has none (and discards the entries of a database
 *	  that has been dropped).  It exits with code 1 whatever stops it, so
 *	  that the postmaster always starts it again, 5 s later;
 *	- a writer claims its database's entries in batches and inserts each
 *	  batch with one statement (INSERT ... SELECT FROM ROWS FROM
 *	  (unnest(array), ...)), one array per column, in a
 *	  transaction of its own, then releases them once that committed.  It
 *	  exits after some idle seconds so that quiet databases do not hold a
 *	  worker slot.  Where the extension has been dropped it discards the
 *	  database's entries (counted as dropped) and exits.
 *
 * Writing is idempotent: each entry carries a random 64-bit entry_id,
 * unique in the table, and the INSERT does nothing ON CONFLICT, so an
 * entry written again after a restart (it was committed, but the restart
 * came before its slot was released) is counted once.
 *
 * A row the table refuses (a CHECK constraint, a trigger's error, any
 * error that is about the data rather than the server's state) must not
 * block the rest: a failed batch is retried row by row, each in a
 * subtransaction, and the rows that still fail are logged and counted as
 * refused.  Errors about the server's state (lock or statement timeouts,
 * cancellations, out of memory or disk, serialization failures) end the
 * writer with its entries given back; its next start backs off (1 s, 2 s,
 * ... 60 s; audit_queue.c).  A database owner's settings cannot stop the
 * writer: it runs with default_transaction_read_only, statement_timeout
 * and lock_timeout off, and a fixed search_path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "audit_writer.h"

#include "access/xact.h"
#include "audit_queue.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "extension_state.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#define AUDIT_BATCH					128
#define LAUNCHER_NAPTIME_MS			500
#define WORKER_NAPTIME_MS			250
/*
 * Shorter than the 5 s that DROP DATABASE waits for the other sessions of
 * the database to go away, so that dropping a database a writer has just
 * served succeeds.
 */
#define WORKER_IDLE_EXIT_MS			2000
#define MAX_TRACKED_DATABASES		64
#define FLUSH_TIMEOUT_MS			30000
#define COUNTS_INTERVAL_MS			1000

PGDLLEXPORT void audit_launcher_main(Datum arg);
PGDLLEXPORT void audit_database_worker_main(Datum arg);

/*----------------------------------------------
 * tenant_guard.flush(): ask, then wait
 *----------------------------------------------
 */

/*
 * Wake the launcher and this database's writer, and wait until every
 * violation of this database queued before the call has left the queue
 * (written, or set aside and counted).  Nothing is written in the
 * caller's transaction, so nothing it does afterwards can undo or repeat
 * a write.  Returns how many left the queue; after FLUSH_TIMEOUT_MS (a
 * writer that cannot start, the table locked by the caller) it warns and
 * returns what was done.
 */
int64
audit_flush_current_database(void)
{
	uint64		before = audit_queue_tail();
	uint64		passes = audit_queue_counts_passes(MyDatabaseId);
	int			waiting = audit_queue_waiting(MyDatabaseId, before);
	int			remaining = waiting;
	int			waited_ms = 0;

	/*
	 * Counts: done when none wait, or when a pass that started after the
	 * request (the second one from now) has written them.
	 */
	while (remaining > 0 ||
		   (audit_queue_counts_waiting(MyDatabaseId) > 0 &&
			audit_queue_counts_passes(MyDatabaseId) < passes + 2))
	{
		if (waited_ms >= FLUSH_TIMEOUT_MS)
		{
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("tenant_guard.flush() gave up waiting: %d violations of this database are still queued",
							remaining),
					 errhint("They stay queued for the audit writer; see tenant_guard.stats().")));
			break;
		}
		if (waited_ms % 1000 == 0)
			audit_queue_wake_writers(MyDatabaseId);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		waited_ms += 10;
		remaining = audit_queue_waiting(MyDatabaseId, before);
	}
	return waiting - remaining;
}

/*----------------------------
 * Writing a batch of entries
 *----------------------------
 */

#define INSERT_COLUMNS 18

/* One array per column, one element per entry, turned back into rows. */
#define INSERT_FROM_ARRAYS \
	" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)," \
	" pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5)," \
	" pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8)," \
	" pg_catalog.unnest($9), pg_catalog.unnest($10), pg_catalog.unnest($11)," \
	" pg_catalog.unnest($12), pg_catalog.unnest($13), pg_catalog.unnest($14)," \
	" pg_catalog.unnest($15), pg_catalog.unnest($16), pg_catalog.unnest($17)," \
	" pg_catalog.unnest($18))" \
	" AS u(entry_id, occurred_at, user_name, application_name," \
	" client_addr, backend_pid, command, relation, tenant_column, kind, action, query_id," \
	" query, detail, call_site, tenant, row_tenant, reason)"

#define INSERT_VIOLATIONS \
	"INSERT INTO tenant_guard.violations (entry_id, occurred_at, database_name," \
	" user_name, application_name, client_addr, backend_pid, command, relation," \
	" tenant_column, kind, action, query_id, query, detail, call_site, tenant, row_tenant," \
	" reason)" \
	" SELECT u.entry_id, u.occurred_at, pg_catalog.current_database(), u.user_name," \
	" u.application_name, u.client_addr::pg_catalog.inet, u.backend_pid, u.command," \
	" u.relation, u.tenant_column, u.kind, u.action, u.query_id, u.query, u.detail," \
	" u.call_site::pg_catalog.jsonb, u.tenant, u.row_tenant, u.reason" \
	INSERT_FROM_ARRAYS \
	" ON CONFLICT (entry_id) DO NOTHING"

/*
 * A database still at extension version 0.1.0 (before ALTER EXTENSION
 * UPDATE) has neither entry_id, call_site, tenant, row_tenant nor reason: written as before, without
 * the protection against writing an entry twice.
 */
#define INSERT_VIOLATIONS_0_1_0 \
	"INSERT INTO tenant_guard.violations (occurred_at, database_name," \
	" user_name, application_name, client_addr, backend_pid, command, relation," \
	" tenant_column, kind, action, query_id, query, detail)" \
	" SELECT u.occurred_at, pg_catalog.current_database(), u.user_name," \
	" u.application_name, u.client_addr::pg_catalog.inet, u.backend_pid, u.command," \
	" u.relation, u.tenant_column, u.kind, u.action, u.query_id, u.query, u.detail" \
	INSERT_FROM_ARRAYS

#define INSERT_COUNTS \
	"INSERT INTO tenant_guard.violation_counts (batch_id, kind, relation, query_id," \
	" call_site, user_name, application_name, count, first_seen, last_seen)" \
	" SELECT u.batch_id, u.kind, u.relation, u.query_id, u.call_site::pg_catalog.jsonb," \
	" u.user_name, u.application_name, u.count, u.first_seen, u.last_seen" \
	" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)," \
	" pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5)," \
	" pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8)," \
	" pg_catalog.unnest($9), pg_catalog.unnest($10))" \
	" AS u(batch_id, kind, relation, query_id, call_site, user_name, application_name," \
	" count, first_seen, last_seen)" \
	" ON CONFLICT (batch_id) DO NOTHING"

#define COUNTS_COLUMNS 10

static const Oid counts_types[COUNTS_COLUMNS] = {
	INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID
};

#define SELECT_PRESENT \
	"SELECT entry_id FROM tenant_guard.violations WHERE entry_id = ANY ($1)"

static const Oid insert_types[INSERT_COLUMNS] = {
	INT8ARRAYOID, TIMESTAMPTZARRAYOID, NAMEARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, NAMEARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID
};

static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr present_plan = NULL;
static SPIPlanPtr counts_plan = NULL;
static bool plans_for_0_1_0 = false;

static Datum
text_or_null(const char *value, bool *isnull)
{
	*isnull = (value[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(value);
}

/* One column's value of an entry. */
static Datum
entry_column(const AuditEntry *e, int column, bool *isnull)
{
	*isnull = false;
	switch (column)
	{
		case 0:
			return Int64GetDatum((int64) e->entry_id);
		case 1:
			return TimestampTzGetDatum(e->occurred_at);
		case 2:
			return NameGetDatum(&e->user_name);
		case 3:
			return text_or_null(e->application_name, isnull);
		case 4:
			return text_or_null(e->client_addr, isnull);
		case 5:
			return Int32GetDatum(e->backend_pid);
		case 6:
			return text_or_null(e->command, isnull);
		case 7:
			return CStringGetTextDatum(e->relation);
		case 8:
			return NameGetDatum(&e->tenant_column);
		case 9:
			return CStringGetTextDatum(e->kind);
		case 10:
			return CStringGetTextDatum(e->rejected ? "rejected" : "logged");
		case 11:
			*isnull = (e->query_id == 0);
			return Int64GetDatum((int64) e->query_id);
		case 12:
			return text_or_null(e->query, isnull);
		case 13:
			return text_or_null(e->detail, isnull);
		case 14:
			return text_or_null(e->call_site, isnull);
		case 15:
			return text_or_null(e->tenant, isnull);
		case 16:
			return text_or_null(e->row_tenant, isnull);
		case 17:
			return text_or_null(e->reason, isnull);
	}
	elog(ERROR, "unknown audit column %d", column);
	return (Datum) 0;			/* keep compiler quiet */
}

/* A one-dimensional array of this array type from n values and nulls. */
static Datum
make_array(Oid arraytype, Datum *values, bool *nulls, int n)
{
	Oid			elemtype = get_element_type(arraytype);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/* One array per column, one element per entry. */
static Datum
column_array(const AuditEntry *entries, int n, int column)
{
	Datum	   *values = palloc(n * sizeof(Datum));
	bool	   *nulls = palloc(n * sizeof(bool));

	for (int i = 0; i < n; i++)
		values[i] = entry_column(&entries[i], column, &nulls[i]);
	return make_array(insert_types[column], values, nulls, n);
}

/* Whether the violations table is still the one of version 0.1.0. */
static bool
table_is_0_1_0(void)
{
	Oid			nsp = get_namespace_oid(TENANT_GUARD_NAME, true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("violations", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "entry_id") == InvalidAttrNumber;
}

/*
 * Prepared once per writer (the plan cache follows changes of the table),
 * again when ALTER EXTENSION UPDATE changed the table's columns.
 */
static void
prepare_plans(void)
{
	static const Oid present_types[1] = {INT8ARRAYOID};
	bool		old_table = table_is_0_1_0();
	SPIPlanPtr	insert;
	SPIPlanPtr	present = NULL;
	SPIPlanPtr	counts = NULL;

	if (insert_plan != NULL && plans_for_0_1_0 == old_table)
		return;
	if (insert_plan != NULL)
		SPI_freeplan(insert_plan);
	if (present_plan != NULL)
		SPI_freeplan(present_plan);
	if (counts_plan != NULL)
		SPI_freeplan(counts_plan);
	insert_plan = present_plan = counts_plan = NULL;

	insert = SPI_prepare(old_table ? INSERT_VIOLATIONS_0_1_0 : INSERT_VIOLATIONS,
						 INSERT_COLUMNS, (Oid *) insert_types);
	if (insert != NULL && !old_table)
	{
		present = SPI_prepare(SELECT_PRESENT, 1, (Oid *) present_types);
		counts = SPI_prepare(INSERT_COUNTS, COUNTS_COLUMNS, (Oid *) counts_types);
	}
	if (insert == NULL || (!old_table && (present == NULL || counts == NULL)))
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(insert) != 0 ||
		(!old_table && (SPI_keepplan(present) != 0 || SPI_keepplan(counts) != 0)))
		elog(ERROR, "SPI_keepplan failed");
	insert_plan = insert;
	present_plan = present;
	counts_plan = counts;
	plans_for_0_1_0 = old_table;
}

/*
 * Insert n entries with one statement.  An entry is persisted when its
 * row is in the table afterwards (inserted now, or by an earlier attempt);
 * one a trigger silently skipped is refused.
 */
static void
insert_entries(const AuditEntry *entries, int n, AuditOutcome *outcomes)
{
	Datum		values[INSERT_COLUMNS];
	Datum		ids;

	for (int c = 0; c < INSERT_COLUMNS; c++)
		values[c] = column_array(entries, n, c);
	if (SPI_execute_plan(insert_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into tenant_guard.violations");
	for (int i = 0; i < n; i++)
		outcomes[i] = AUDIT_PERSISTED;
	if (SPI_processed == (uint64) n)
		return;
	if (plans_for_0_1_0)
	{
		/* no entry_id to tell which: a trigger skipped the last ones */
		for (int i = (int) SPI_processed; i < n; i++)
			outcomes[i] = AUDIT_REFUSED;
		return;
	}

	/* Some rows were there already, or a trigger skipped them. */
	ids = values[0];
	if (SPI_execute_plan(present_plan, &ids, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read tenant_guard.violations");
	for (int i = 0; i < n; i++)
	{
		bool		present = false;

		for (uint64 r = 0; r < SPI_processed && !present; r++)
		{
			bool		isnull;
			Datum		id = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);

			present = !isnull && DatumGetInt64(id) == (int64) entries[i].entry_id;
		}
		if (!present)
		{
			outcomes[i] = AUDIT_REFUSED;
			ereport(LOG,
					(errmsg("tenant_guard audit row %lld was skipped by a trigger on tenant_guard.violations, set aside",
							(long long) entries[i].entry_id)));
		}
	}
}

/*
 * Errors about the server's state: the entries must wait and be written
 * later.  Any other error is about the row, which the table refuses.
 */
static bool
error_is_transient(int sqlerrcode)
{
	/* a table without the expected shape: not the row's fault */
	if (sqlerrcode == ERRCODE_UNDEFINED_COLUMN || sqlerrcode == ERRCODE_UNDEFINED_TABLE ||
		sqlerrcode == ERRCODE_UNDEFINED_FUNCTION)
		return true;
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE:
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_SYSTEM_ERROR:
		case ERRCODE_INTERNAL_ERROR:
			return true;
	}
	return sqlerrcode == ERRCODE_QUERY_CANCELED;
}

static void
report_refused(const AuditEntry *entry, const ErrorData *edata)
{
	ereport(LOG,
			(errmsg("tenant_guard.violations refused audit row %lld, set aside",
					(long long) entry->entry_id),
			 errdetail("The row's %s violation of %s by %s was counted as refused: %s",
					   entry->kind, entry->relation, NameStr(entry->user_name),
					   edata->message)));
}

/*
 * insert_entries() in a subtransaction.  Returns false when the table
 * refused the rows (the subtransaction is rolled back); re-throws errors
 * about the server's state.
 */
static bool
insert_in_subtransaction(const AuditEntry *entries, int n, AuditOutcome *outcomes)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	bool		ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		insert_entries(entries, n, outcomes);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (error_is_transient(edata->sqlerrcode))
			ReThrowError(edata);
		if (n == 1)
			report_refused(&entries[0], edata);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/* A batch in one statement; if the table refuses it, row by row. */
static void
write_batch(const AuditEntry *entries, int n, AuditOutcome *outcomes)
{
	if (insert_in_subtransaction(entries, n, outcomes))
		return;
	for (int i = 0; i < n; i++)
	{
		if (!insert_in_subtransaction(&entries[i], 1, &outcomes[i]))
			outcomes[i] = AUDIT_REFUSED;
	}
}

/*--------------------------------------
 * Writing the counts of sampled repeats
 *--------------------------------------
 */

static Datum
count_column(const AuditShapeCount *c, int column, bool *isnull)
{
	*isnull = false;
	switch (column)
	{
		case 0:
			return Int64GetDatum((int64) c->batch_id);
		case 1:
			return CStringGetTextDatum(c->kind);
		case 2:
			return CStringGetTextDatum(c->relation);
		case 3:
			return Int64GetDatum((int64) c->query_id);
		case 4:
			return text_or_null(c->call_site, isnull);
		case 5:
			return text_or_null(NameStr(c->user_name), isnull);
		case 6:
			return text_or_null(c->application_name, isnull);
		case 7:
			return Int64GetDatum((int64) c->count);
		case 8:
			return TimestampTzGetDatum(c->first_seen);
		case 9:
			return TimestampTzGetDatum(c->last_seen);
	}
	elog(ERROR, "unknown count column %d", column);
	return (Datum) 0;			/* keep compiler quiet */
}

/* One statement for up to AUDIT_BATCH shapes' counts. */
static void
insert_counts(const AuditShapeCount *counts, int n)
{
	Datum		values[COUNTS_COLUMNS];

	for (int c = 0; c < COUNTS_COLUMNS; c++)
	{
		Datum	   *elems = palloc(n * sizeof(Datum));
		bool	   *nulls = palloc(n * sizeof(bool));

		for (int i = 0; i < n; i++)
			elems[i] = count_column(&counts[i], c, &nulls[i]);
		values[c] = make_array(counts_types[c], elems, nulls, n);
	}
	if (SPI_execute_plan(counts_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into tenant_guard.violation_counts");
}

/*---------------------
 * The database worker
 *---------------------
 */

static Oid	writer_dboid = InvalidOid;
static AuditEntry *batch = NULL;
static uint64 claimed_positions[AUDIT_BATCH];
static AuditOutcome outcomes[AUDIT_BATCH];
static int	claimed_count = 0;
static AuditShapeCount *counts_batch = NULL;
static TimestampTz counts_written_at = 0;

static void discard_entries(Oid dboid, bool database_dropped);

/*
 * Until ALTER EXTENSION tenant_guard UPDATE there is no counts table: the
 * counts are dropped (counted as such), and the log says why, once.
 */
static void
discard_counts_0_1_0(const AuditShapeCount *counts, int n)
{
	static bool logged = false;
	uint64		total = 0;

	for (int i = 0; i < n; i++)
		total += counts[i].count;
	if (!logged)
		ereport(LOG,
				(errmsg("tenant_guard dropped the counts of %llu sampled violations: the extension in this database is still version 0.1.0",
						(unsigned long long) total),
				 errhint("Run ALTER EXTENSION tenant_guard UPDATE.")));
	logged = true;
	audit_queue_discard_counts(writer_dboid, counts, n);
}

/* Whatever ends the writer, its unfinished claims go back to the queue. */
static void
writer_exit(int code, Datum arg)
{
	for (int i = 0; i < claimed_count; i++)
		outcomes[i] = AUDIT_RETURNED;
	audit_queue_finish(claimed_positions, outcomes, claimed_count);
	claimed_count = 0;
	audit_queue_writer_exited(writer_dboid, code != 0);
}

static bool
extension_exists_here(void)
{
	return OidIsValid(get_extension_oid(TENANT_GUARD_NAME, true));
}

/*
 * One pass: claim a batch, write it in a transaction of its own, release
 * it once committed.  Returns how many entries left the queue.
 */
static int
database_worker_pass(bool *extension_gone)
{
	int			n = 0;
	int			ncounts = 0;
	TimestampTz now = GetCurrentTimestamp();
	bool		counts_due;

	/* Counts at most once a second (one row per shape), or when asked. */
	counts_due = audit_queue_counts_requested(writer_dboid) ||
		TimestampDifferenceExceeds(counts_written_at, now, COUNTS_INTERVAL_MS);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "writing tenant_guard violations");
	*extension_gone = !extension_exists_here();
	if (!*extension_gone)
	{
		extension_work_enter();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		prepare_plans();
		claimed_count = audit_queue_claim(writer_dboid, batch, claimed_positions,
										  AUDIT_BATCH);
		n = claimed_count;
		if (n > 0)
			write_batch(batch, n, outcomes);
		if (counts_due)
			ncounts = audit_queue_claim_counts(writer_dboid, counts_batch, AUDIT_BATCH);
		if (ncounts > 0 && !plans_for_0_1_0)
			insert_counts(counts_batch, ncounts);
		SPI_finish();
		extension_work_leave();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	audit_queue_finish(claimed_positions, outcomes, claimed_count);
	claimed_count = 0;
	if (counts_due)
	{
		if (ncounts > 0 && plans_for_0_1_0)
			discard_counts_0_1_0(counts_batch, ncounts);
		else
			audit_queue_counts_written(writer_dboid, counts_batch, ncounts);
		counts_written_at = now;
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	return n + ncounts;
}

/* A database owner's defaults must not stop the trail. */
static void
override_database_settings(void)
{
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("search_path", "pg_catalog", PGC_SUSET, PGC_S_OVERRIDE);
}

void
audit_database_worker_main(Datum arg)
{
	long		idle_ms = 0;

	writer_dboid = DatumGetObjectId(arg);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	before_shmem_exit(writer_exit, (Datum) 0);
	BackgroundWorkerInitializeConnectionByOid(writer_dboid, InvalidOid,
											  BGWORKER_BYPASS_ALLOWCONN);
	override_database_settings();
	batch = MemoryContextAlloc(TopMemoryContext, AUDIT_BATCH * sizeof(AuditEntry));
	counts_batch = MemoryContextAlloc(TopMemoryContext, AUDIT_BATCH * sizeof(AuditShapeCount));
	audit_queue_set_writer(writer_dboid, true);

	while (idle_ms < WORKER_IDLE_EXIT_MS)
	{
		bool		extension_gone = false;
		int			written = 0;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			override_database_settings();
		}
		/* An idle worker only looks at the queue: no transaction, no SPI. */
		if (audit_queue_waiting(writer_dboid, PG_UINT64_MAX) > 0 ||
			(audit_queue_counts_waiting(writer_dboid) > 0 &&
			 TimestampDifferenceExceeds(counts_written_at, GetCurrentTimestamp(), COUNTS_INTERVAL_MS)))
			written = database_worker_pass(&extension_gone);
		if (extension_gone)
		{
			discard_entries(writer_dboid, false);
			break;
		}
		if (written > 0)
		{
			audit_queue_writer_succeeded(writer_dboid);
			idle_ms = 0;
			continue;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 WORKER_NAPTIME_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		idle_ms += WORKER_NAPTIME_MS;
	}
	proc_exit(0);
}

/*--------------
 * The launcher
 *--------------
 */

typedef struct TrackedWorker
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
} TrackedWorker;

static TrackedWorker tracked[MAX_TRACKED_DATABASES];
static int	tracked_count = 0;

static bool
worker_running(TrackedWorker *worker)
{
	pid_t		pid;

	return GetBackgroundWorkerPid(worker->handle, &pid) != BGWH_STOPPED;
}

/* Forget workers that have exited, keep the rest. */
static void
forget_stopped_workers(void)
{
	int			kept = 0;

	for (int i = 0; i < tracked_count; i++)
	{
		if (worker_running(&tracked[i]))
			tracked[kept++] = tracked[i];
		else
			pfree(tracked[i].handle);
	}
	tracked_count = kept;
}

static void
start_database_worker(Oid dboid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	for (int i = 0; i < tracked_count; i++)
	{
		if (tracked[i].dboid == dboid)
			return;
	}
	if (tracked_count == MAX_TRACKED_DATABASES ||
		!audit_queue_writer_may_start(dboid, GetCurrentTimestamp()))
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "tenant_guard");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "audit_database_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "tenant_guard audit writer for database %u", dboid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "tenant_guard audit writer");
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;

	/* No free worker slot now: the next round tries again. */
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return;
	tracked[tracked_count].dboid = dboid;
	tracked[tracked_count].handle = handle;
	tracked_count++;
}

static bool
database_exists(Oid dboid)
{
	bool		exists;

	StartTransactionCommand();
	exists = SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(dboid));
	CommitTransactionCommand();
	return exists;
}

static void
discard_entries(Oid dboid, bool database_dropped)
{
	int			discarded = audit_queue_discard_database(dboid);

	if (discarded <= 0)
		return;
	if (database_dropped)
		ereport(LOG,
				(errmsg("tenant_guard discarded %d queued violations of database %u, which has been dropped",
						discarded, dboid)));
	else
		ereport(LOG,
				(errmsg("tenant_guard discarded %d queued violations of database %u, which no longer has the extension",
						discarded, dboid)));
}

static void
launcher_exit(int code, Datum arg)
{
	audit_queue_set_launcher(false);
}

/*
 * Ends with proc_exit(1) even on SIGTERM (pg_terminate_backend()): a
 * background worker that exits with 0 is never started again.  At server
 * shutdown the postmaster does not restart it anyway.
 */
void
audit_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	/* No database: only the shared catalogs, to see which databases exist. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	before_shmem_exit(launcher_exit, (Datum) 0);
	audit_queue_set_launcher(true);

	while (!ShutdownRequestPending)
	{
		Oid			waiting[MAX_TRACKED_DATABASES];
		int			n;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		forget_stopped_workers();
		n = audit_queue_waiting_databases(waiting, MAX_TRACKED_DATABASES);
		for (int i = 0; i < n; i++)
		{
			if (database_exists(waiting[i]))
				start_database_worker(waiting[i]);
			else
				discard_entries(waiting[i], true);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_NAPTIME_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);

		/*
		 * Absorbs procsignal barriers among others: without it DROP
		 * DATABASE, which waits for every process to absorb one, hangs.
		 */
		CHECK_FOR_INTERRUPTS();
	}
	ereport(LOG,
			(errmsg("tenant_guard audit launcher stopping; it restarts in 5 s unless the server shuts down")));
	proc_exit(1);
}

void
audit_writer_register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "tenant_guard");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "audit_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "tenant_guard audit launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "tenant_guard audit launcher");
	RegisterBackgroundWorker(&worker);
}

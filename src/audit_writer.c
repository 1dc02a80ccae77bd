/*-------------------------------------------------------------------------
 *
 * audit_writer.c
 *	  The processes that move violations from the shared-memory queue into
 *	  tenant_guard.violations of the database where each happened.
 *
 * A background worker can connect to one database only, so the work is
 * split like worker_spi and pg_cron split it:
 *	- the launcher (registered at server start, restarted by the postmaster
 *	  if it dies) connects to no database, only to the shared catalogs;
 *	  every half second it looks for databases with waiting entries and
 *	  starts a database worker for each one that has none (and discards
 *	  the entries of a database that has been dropped);
 *	- a database worker claims its database's entries in batches, inserts
 *	  them in a transaction of its own, releases them once that committed,
 *	  and exits after some idle seconds so that quiet databases do not hold
 *	  a worker slot.  Where the extension has been dropped it discards the
 *	  database's entries (they count as dropped) and exits.
 * Both start only once recovery has finished and react to SIGTERM (exit)
 * and SIGHUP (reload).  tenant_guard.flush() writes the caller's entries
 * the same way, inside the caller's transaction, and releases them when
 * that transaction commits (or hands them back when it aborts).
 *
 * Claimed entries always go back to the queue when the writer fails: a
 * worker releases them on exit, flush() at (sub)transaction abort.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "audit_writer.h"

#include "access/xact.h"
#include "audit_queue.h"
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
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#define AUDIT_BATCH					64
#define LAUNCHER_NAPTIME_MS			500
#define WORKER_NAPTIME_MS			250
/*
 * Shorter than the 5 s that DROP DATABASE waits for the other sessions of
 * the database to go away, so that dropping a database a writer has just
 * served succeeds.
 */
#define WORKER_IDLE_EXIT_MS			2000
#define MAX_TRACKED_DATABASES		64

PGDLLEXPORT void audit_launcher_main(Datum arg);
PGDLLEXPORT void audit_database_worker_main(Datum arg);

/*
 * The entries this process has claimed in its current transaction: their
 * queue positions, released when the transaction ends.  A batch of copies
 * is written at a time.
 */
static uint64 *claimed_positions = NULL;
static int	claimed_count = 0;
static int	claimed_capacity = 0;
static SubTransactionId claimed_in = InvalidSubTransactionId;
static AuditEntry batch[AUDIT_BATCH];
static bool callbacks_registered = false;

static void
release_claims(bool persisted)
{
	audit_queue_finish(claimed_positions, claimed_count, persisted);
	claimed_count = 0;
	claimed_in = InvalidSubTransactionId;
}

static void
release_claims_at_exit(int code, Datum arg)
{
	release_claims(false);
}

static void
release_claims_at_end_of_transaction(XactEvent event, void *arg)
{
	if (claimed_count == 0)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
		release_claims(true);
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		release_claims(false);
}

static void
release_claims_at_subabort(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	if (claimed_count > 0 && event == SUBXACT_EVENT_ABORT_SUB &&
		mySubid == claimed_in)
		release_claims(false);
}

static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(release_claims_at_end_of_transaction, NULL);
	RegisterSubXactCallback(release_claims_at_subabort, NULL);
	before_shmem_exit(release_claims_at_exit, (Datum) 0);
	callbacks_registered = true;
}

#define INSERT_VIOLATION \
	"INSERT INTO tenant_guard.violations (occurred_at, database_name, user_name," \
	" application_name, client_addr, backend_pid, command, relation, tenant_column," \
	" kind, action, query_id, query, detail)" \
	" VALUES ($1, pg_catalog.current_database(), $2, $3, $4::inet, $5, $6, $7, $8," \
	" $9, $10, $11, $12, $13)"

/*
 * From 0.2.0 on, the audit row also has the tenant context and the tenant
 * value outside it.  A database still at 0.1.0 (not yet updated) lacks the
 * two columns, so the writer asks the catalog which statement to use.
 */
#define INSERT_VIOLATION_WITH_TENANT \
	"INSERT INTO tenant_guard.violations (occurred_at, database_name, user_name," \
	" application_name, client_addr, backend_pid, command, relation, tenant_column," \
	" kind, action, query_id, query, detail, tenant, row_tenant)" \
	" VALUES ($1, pg_catalog.current_database(), $2, $3, $4::inet, $5, $6, $7, $8," \
	" $9, $10, $11, $12, $13, $14, $15)"

static bool
violations_have_tenant_columns(void)
{
	Oid			relid = get_relname_relid("violations", extension_schema_oid());

	return OidIsValid(relid) && get_attnum(relid, "row_tenant") != InvalidAttrNumber;
}

static Datum
text_or_null(const char *value, char *isnull)
{
	*isnull = (value[0] == '\0') ? 'n' : ' ';
	return value[0] == '\0' ? (Datum) 0 : CStringGetTextDatum(value);
}

static void
insert_entry(SPIPlanPtr plan, const AuditEntry *e)
{
	Datum		values[15];
	char		nulls[16] = "               ";

	values[0] = TimestampTzGetDatum(e->occurred_at);
	values[1] = NameGetDatum(&e->user_name);
	values[2] = text_or_null(e->application_name, &nulls[2]);
	values[3] = text_or_null(e->client_addr, &nulls[3]);
	values[4] = Int32GetDatum(e->backend_pid);
	values[5] = text_or_null(e->command, &nulls[5]);
	values[6] = CStringGetTextDatum(e->relation);
	values[7] = NameGetDatum(&e->tenant_column);
	values[8] = CStringGetTextDatum(e->kind);
	values[9] = CStringGetTextDatum(e->rejected ? "rejected" : "logged");
	values[10] = Int64GetDatum((int64) e->query_id);
	nulls[10] = e->query_id == 0 ? 'n' : ' ';
	values[11] = text_or_null(e->query, &nulls[11]);
	values[12] = text_or_null(e->detail, &nulls[12]);
	values[13] = text_or_null(e->tenant, &nulls[13]);
	values[14] = text_or_null(e->row_tenant, &nulls[14]);
	if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into tenant_guard.violations");
}

/*
 * Claim every waiting entry of this database, up to limit, and insert them
 * in the current transaction, which must be able to run SPI.  The entries
 * leave the queue when the transaction commits, and go back when it
 * aborts.  Returns how many were written.
 */
static int64
write_waiting_entries(int64 limit)
{
	static const Oid argtypes[15] = {
		TIMESTAMPTZOID, NAMEOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID,
		NAMEOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID		/* tenant, row_tenant (0.2.0) */
	};
	int64		written = 0;
	SPIPlanPtr	plan;

	register_callbacks();
	if (claimed_count > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant_guard.flush() can run only once per transaction")));

	extension_work_enter();
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (violations_have_tenant_columns())
			plan = SPI_prepare(INSERT_VIOLATION_WITH_TENANT, 15, (Oid *) argtypes);
		else
			plan = SPI_prepare(INSERT_VIOLATION, 13, (Oid *) argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		claimed_in = GetCurrentSubTransactionId();
		while (written < limit)
		{
			int			n;

			if (claimed_count + AUDIT_BATCH > claimed_capacity)
			{
				claimed_capacity = Max(2 * claimed_capacity, 4 * AUDIT_BATCH);
				claimed_positions = claimed_positions == NULL ?
					MemoryContextAlloc(TopMemoryContext, claimed_capacity * sizeof(uint64)) :
					repalloc(claimed_positions, claimed_capacity * sizeof(uint64));
			}
			n = audit_queue_claim(MyDatabaseId, batch,
								  claimed_positions + claimed_count, AUDIT_BATCH);
			claimed_count += n;
			for (int i = 0; i < n; i++)
				insert_entry(plan, &batch[i]);
			written += n;
			if (n < AUDIT_BATCH)
				break;
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		extension_work_leave();
	}
	PG_END_TRY();
	return written;
}

/*
 * tenant_guard.flush().  Entries an audit worker has claimed are written by
 * it; wait (a little) for its commit, so that when flush() returns every
 * violation queued before it is in the table or in the caller's
 * transaction.
 */
int64
audit_flush_current_database(void)
{
	int64		written;

	for (int waited_ms = 0;
		 waited_ms < 5000 && audit_queue_claimed_elsewhere(MyDatabaseId) > 0;
		 waited_ms += 10)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	written = write_waiting_entries(PG_INT64_MAX);
	return written;
}

/*---------------------
 * The database worker
 *---------------------
 */

static void discard_entries(Oid dboid, bool database_dropped);

static bool
extension_exists_here(void)
{
	return OidIsValid(get_extension_oid(TENANT_GUARD_NAME, true));
}

/* One pass: write what waits, in a transaction of its own. */
static int64
database_worker_pass(bool *extension_gone)
{
	int64		written = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "writing tenant_guard violations");
	*extension_gone = !extension_exists_here();
	if (!*extension_gone)
		written = write_waiting_entries(10 * AUDIT_BATCH);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return written;
}

void
audit_database_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	long		idle_ms = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	while (idle_ms < WORKER_IDLE_EXIT_MS)
	{
		bool		extension_gone = false;
		int64		written = 0;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		/* An idle worker only looks at the queue: no transaction, no SPI. */
		if (audit_queue_waiting(dboid) > 0)
			written = database_worker_pass(&extension_gone);
		if (extension_gone)
		{
			discard_entries(dboid, false);
			break;
		}
		if (written > 0)
		{
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
	if (tracked_count == MAX_TRACKED_DATABASES)
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

void
audit_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	/* No database: only the shared catalogs, to see which databases exist. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

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
	proc_exit(0);
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

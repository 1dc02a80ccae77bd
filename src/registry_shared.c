/*-------------------------------------------------------------------------
 *
 * registry_shared.c
 *	  The committed contents of tenant_guard.registry in shared memory, one
 *	  copy per database, so that a session's first statement copies them
 *	  from there instead of reading the table: reading it means building its
 *	  relcache entry (its triggers, constraints and defaults), a quarter of a
 *	  million instructions, in every new session of a database whose
 *	  registry is in use.
 *
 * Who fills a copy.  A session that has to read the table
 * (registry_cache.c) first notes the copy's generation, then reads, then
 * offers what it read: the copy keeps it only if no transaction that
 * changed the registry has committed in between, since the session's scan
 * may have missed that change.  Generations come from one counter that
 * only grows, so a copy given up and made again for the database never
 * repeats one.
 *
 * Who empties it.  A transaction that changes the registry (its trigger,
 * catalog_functions.c, calls registry_shared_note_change) marks its
 * database's copy as changing just before it commits, and moves it to a new
 * generation once the commit is done: from the first mark to the second
 * nobody takes or keeps a copy, since a session may see the change before
 * the commit callback runs.  The commit's invalidations reach the other
 * sessions after that, and they read the table or a copy made after the
 * change.  Until it commits, its own session reads the table, which shows
 * it its own change.  A commit that fails after the first mark retires the
 * copy as well; a backend that dies in between leaves the copy changing
 * until the server restarts: safe, only slower.
 *
 * Who never uses one.  A server that allows prepared transactions
 * (max_prepared_transactions > 0): a prepared change commits from any
 * session, also after a restart, without the trigger or this session's
 * callback.  A standby, which replays changes without running the trigger.
 * A server that did not load tenant_guard through shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "registry_shared.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#define REGISTRY_SHARED_TRANCHE "tenant_guard registry"
#define SHARED_DATABASES 8
#define SHARED_ENTRIES REGISTRY_SHARED_ROWS

typedef struct SharedDatabase
{
	Oid			database;		/* InvalidOid: a free place */
	Oid			registry;		/* the table the entries were read from */
	uint64		generation;
	bool		valid;			/* the entries are the generation's contents */
	int			changing;		/* transactions between their two marks */
	int			count;
	RegistryRow rows[SHARED_ENTRIES];
} SharedDatabase;

typedef struct SharedRegistries
{
	LWLock	   *lock;
	uint64		last_generation;
	int			next_victim;
	SharedDatabase databases[SHARED_DATABASES];
} SharedRegistries;

static SharedRegistries *shared = NULL;

/* This transaction changed the registry of this database. */
static bool changed_here = false;
/* ... and marked its copy as changing, at PRE_COMMIT. */
static bool marked_changing = false;
static bool callback_registered = false;

void
registry_shared_request_shmem(void)
{
	RequestAddinShmemSpace(sizeof(SharedRegistries));
	RequestNamedLWLockTranche(REGISTRY_SHARED_TRANCHE, 1);
}

void
registry_shared_init_shmem(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("tenant_guard registry copies", sizeof(SharedRegistries),
							 &found);
	if (!found)
	{
		memset(shared, 0, sizeof(SharedRegistries));
		shared->lock = &(GetNamedLWLockTranche(REGISTRY_SHARED_TRANCHE))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* May this session use the copies at all now? */
static bool
usable(void)
{
	return shared != NULL && !changed_here && max_prepared_xacts == 0 &&
		!RecoveryInProgress();
}

/* The database's copy, or NULL; the lock is held. */
static SharedDatabase *
find_database(void)
{
	for (int i = 0; i < SHARED_DATABASES; i++)
	{
		if (shared->databases[i].database == MyDatabaseId)
			return &shared->databases[i];
	}
	return NULL;
}

/* A new, empty copy for the database, in a free place or another's; the lock is held exclusively. */
static SharedDatabase *
make_database(void)
{
	SharedDatabase *db = NULL;

	for (int i = 0; i < SHARED_DATABASES && db == NULL; i++)
	{
		if (!OidIsValid(shared->databases[i].database))
			db = &shared->databases[i];
	}
	if (db == NULL)
	{
		db = &shared->databases[shared->next_victim];
		shared->next_victim = (shared->next_victim + 1) % SHARED_DATABASES;
	}
	db->database = MyDatabaseId;
	db->registry = InvalidOid;
	db->generation = ++shared->last_generation;
	db->valid = false;
	db->changing = 0;
	db->count = 0;
	return db;
}

/*
 * Copy the database's registry rows, read from the table registry, into
 * rows (room for SHARED_ENTRIES): their count, or -1 when there is no
 * valid copy.  Without one, *ticket is what registry_shared_offer needs to
 * keep what the caller reads next.
 */
int
registry_shared_copy(Oid registry, RegistryRow *rows, uint64 *ticket)
{
	SharedDatabase *db;
	int			count = -1;

	*ticket = 0;
	if (!usable())
		return -1;
	LWLockAcquire(shared->lock, LW_SHARED);
	db = find_database();
	if (db != NULL && db->valid && db->changing == 0 && db->registry == registry)
	{
		count = db->count;
		memcpy(rows, db->rows, sizeof(RegistryRow) * count);
	}
	else if (db != NULL)
		*ticket = db->generation;
	LWLockRelease(shared->lock);
	if (count >= 0 || *ticket != 0)
		return count;

	/* no copy yet: make one, whose generation the read must keep */
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	db = find_database();
	if (db == NULL)
		db = make_database();
	*ticket = db->generation;
	LWLockRelease(shared->lock);
	return -1;
}

/*
 * What a session read from the table, after registry_shared_copy gave it
 * ticket: kept when no change has committed since.
 */
void
registry_shared_offer(uint64 ticket, Oid registry, const RegistryRow *rows, int count)
{
	SharedDatabase *db;

	if (ticket == 0 || count > SHARED_ENTRIES || !usable())
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	db = find_database();
	if (db != NULL && db->generation == ticket && db->changing == 0)
	{
		db->registry = registry;
		db->count = count;
		memcpy(db->rows, rows, sizeof(RegistryRow) * count);
		db->valid = true;
	}
	LWLockRelease(shared->lock);
}

/* Mark the database's copy, under the lock: changing, or changed. */
static void
mark(bool committing)
{
	SharedDatabase *db;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	db = find_database();
	if (db == NULL && committing)
		db = make_database();
	if (db != NULL && committing)
	{
		db->changing++;
		db->valid = false;
	}
	else if (db != NULL)
	{
		if (db->changing > 0)
			db->changing--;
		db->generation = ++shared->last_generation;
	}
	LWLockRelease(shared->lock);
}

static void
registry_shared_xact_callback(XactEvent event, void *arg)
{
	if (!changed_here)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			if (shared != NULL && !marked_changing)
			{
				mark(true);
				marked_changing = true;
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* a commit that failed after the first mark retires the copy too */
			if (marked_changing)
				mark(false);
			changed_here = marked_changing = false;
			break;
		case XACT_EVENT_PREPARE:
			changed_here = marked_changing = false;
			break;
		default:
			break;
	}
}

/* The registry trigger: this transaction changes the registry. */
void
registry_shared_note_change(void)
{
	if (!callback_registered)
	{
		RegisterXactCallback(registry_shared_xact_callback, NULL);
		callback_registered = true;
	}
	changed_here = true;
}

/*-------------------------------------------------------------------------
 *
 * audit_queue.c
 *	  A bounded queue of violations in shared memory, between the backend
 *	  that found a violation and the process that writes it to
 *	  tenant_guard.violations of the violation's database.
 *
 * A violation must outlive the transaction that caused it (which usually
 * fails in enforce mode), so the violating backend never writes the table:
 * it copies the entry into this queue and goes on.  Audit workers (and
 * tenant_guard.flush()) claim the entries of their database, insert them in
 * a transaction of their own, and then release the slots.
 *
 * The queue is a ring of audit_queue_size slots.  Positions grow forever;
 * slot = position % size.  Entries between head and tail are READY
 * (waiting), CLAIMED (being written) or FREE (written or discarded, but
 * not yet behind the head because an older slot is still in use).  When
 * tail - head reaches the size, a new entry is dropped and counted.
 *
 * Locking rules, the only ones for this memory:
 *	- every field of AuditQueue, and every slot, is read and written only
 *	  while holding queue->lock, exclusively, except that a claimer may
 *	  read the copies it took out of the queue without it;
 *	- the lock is held for a memcpy of one entry on the violating backend's
 *	  path, and for a scan of the ring in the writers; nothing that can
 *	  sleep, allocate or raise an error happens under it.
 *
 * At shutdown (smart, fast or immediate) the postmaster writes the waiting
 * entries to pg_stat/tenant_guard_audit.queue, and the next start loads
 * them back, so they survive a restart.  After a crash the queue starts empty: the
 * entries that were waiting (at most audit_queue_size) are lost, though
 * their server-log lines remain.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "audit_queue.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "settings.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#define AUDIT_QUEUE_TRANCHE		"tenant_guard_audit"
#define AUDIT_QUEUE_FILE		"pg_stat/tenant_guard_audit.queue"
#define AUDIT_QUEUE_FILE_MAGIC	0x7467a001

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_READY,
	SLOT_CLAIMED
} SlotState;

typedef struct AuditSlot
{
	SlotState	state;
	AuditEntry	entry;
} AuditSlot;

typedef struct AuditQueue
{
	LWLock	   *lock;
	int			size;
	uint64		head;
	uint64		tail;
	uint64		queued;
	uint64		persisted;
	uint64		dropped;
	AuditSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} AuditQueue;

int			audit_queue_size = 1024;

static AuditQueue *queue = NULL;

static Size
audit_queue_shmem_size(void)
{
	return add_size(offsetof(AuditQueue, slots),
					mul_size(audit_queue_size, sizeof(AuditSlot)));
}

void
audit_queue_request_shmem(void)
{
	RequestAddinShmemSpace(audit_queue_shmem_size());
	RequestNamedLWLockTranche(AUDIT_QUEUE_TRANCHE, 1);
}

static AuditSlot *
slot_at(uint64 position)
{
	return &queue->slots[position % queue->size];
}

/* Move the head past slots that are free; the lock is held. */
static void
advance_head(void)
{
	while (queue->head < queue->tail && slot_at(queue->head)->state == SLOT_FREE)
		queue->head++;
}

/* Postmaster exit: keep the waiting entries for the next start. */
static void
dump_queue(int code, Datum arg)
{
	FILE	   *file;
	uint32		header[3];
	uint32		count = 0;

	/* After a crash shared memory cannot be trusted; write nothing. */
	if (code != 0 || queue == NULL)
		return;

	file = AllocateFile(AUDIT_QUEUE_FILE ".tmp", PG_BINARY_W);
	if (file == NULL)
		goto error;
	for (uint64 pos = queue->head; pos < queue->tail; pos++)
		count += (slot_at(pos)->state != SLOT_FREE);
	header[0] = AUDIT_QUEUE_FILE_MAGIC;
	header[1] = sizeof(AuditEntry);
	header[2] = count;
	if (fwrite(header, sizeof(header), 1, file) != 1)
		goto error;
	for (uint64 pos = queue->head; pos < queue->tail; pos++)
	{
		if (slot_at(pos)->state != SLOT_FREE &&
			fwrite(&slot_at(pos)->entry, sizeof(AuditEntry), 1, file) != 1)
			goto error;
	}
	if (FreeFile(file) != 0)
	{
		file = NULL;
		goto error;
	}
	(void) durable_rename(AUDIT_QUEUE_FILE ".tmp", AUDIT_QUEUE_FILE, LOG);
	if (count > 0)
		ereport(LOG,
				(errmsg("tenant_guard kept %u queued violations for the next start", count)));
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write file \"%s\": %m", AUDIT_QUEUE_FILE ".tmp")));
	if (file != NULL)
		FreeFile(file);
	unlink(AUDIT_QUEUE_FILE ".tmp");
}

/* Postmaster start: take back what the last clean shutdown kept. */
static void
load_queue(void)
{
	FILE	   *file = AllocateFile(AUDIT_QUEUE_FILE, PG_BINARY_R);
	uint32		header[3];
	AuditEntry	entry;
	uint32		loaded = 0;

	if (file == NULL)
		return;
	if (fread(header, sizeof(header), 1, file) == 1 &&
		header[0] == AUDIT_QUEUE_FILE_MAGIC && header[1] == sizeof(AuditEntry))
	{
		for (uint32 i = 0; i < header[2]; i++)
		{
			if (fread(&entry, sizeof(entry), 1, file) != 1)
				break;
			if (audit_queue_push(&entry))
				loaded++;
		}
	}
	FreeFile(file);
	unlink(AUDIT_QUEUE_FILE);
	if (loaded > 0)
		ereport(LOG,
				(errmsg("tenant_guard loaded %u queued violations kept at the last shutdown", loaded)));
}

void
audit_queue_init_shmem(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	queue = ShmemInitStruct("tenant_guard audit queue", audit_queue_shmem_size(),
							&found);
	if (!found)
	{
		memset(queue, 0, audit_queue_shmem_size());
		queue->lock = &(GetNamedLWLockTranche(AUDIT_QUEUE_TRANCHE))->lock;
		queue->size = audit_queue_size;
	}
	LWLockRelease(AddinShmemInitLock);

	if (!IsUnderPostmaster)
	{
		on_shmem_exit(dump_queue, (Datum) 0);
		if (!found)
			load_queue();
	}
}

/*
 * Copy a violation into the queue.  Returns false, and counts the entry as
 * dropped, when the queue is full.  Never waits for a writer.
 */
bool
audit_queue_push(const AuditEntry *entry)
{
	bool		accepted = false;

	if (queue == NULL)
		return false;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	if (queue->tail - queue->head < (uint64) queue->size)
	{
		AuditSlot  *slot = slot_at(queue->tail++);

		slot->entry = *entry;
		/* a backend killed mid-copy leaves a FREE slot, never a torn one */
		pg_write_barrier();
		slot->state = SLOT_READY;
		queue->queued++;
		accepted = true;
	}
	else
		queue->dropped++;
	LWLockRelease(queue->lock);
	return accepted;
}

/*
 * Claim up to max waiting entries of one database: copy them out, remember
 * their positions, and mark them so that nobody else takes them.  Every
 * claim must be finished with audit_queue_finish().
 */
int
audit_queue_claim(Oid dboid, AuditEntry *entries, uint64 *positions, int max)
{
	int			count = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (uint64 pos = queue->head; pos < queue->tail && count < max; pos++)
	{
		AuditSlot  *slot = slot_at(pos);

		if (slot->state != SLOT_READY || slot->entry.dboid != dboid)
			continue;
		slot->state = SLOT_CLAIMED;
		entries[count] = slot->entry;
		positions[count] = pos;
		count++;
	}
	LWLockRelease(queue->lock);
	return count;
}

/* Release claimed entries: written for good, or back to waiting. */
void
audit_queue_finish(const uint64 *positions, int count, bool persisted)
{
	if (count == 0)
		return;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int i = 0; i < count; i++)
		slot_at(positions[i])->state = persisted ? SLOT_FREE : SLOT_READY;
	if (persisted)
	{
		queue->persisted += count;
		advance_head();
	}
	LWLockRelease(queue->lock);
}

/*
 * Count the entries of a database in one state; with free_them, also free
 * them (counted as dropped).
 */
static int
database_slots(Oid dboid, SlotState state, bool free_them)
{
	int			count = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (uint64 pos = queue->head; pos < queue->tail; pos++)
	{
		AuditSlot  *slot = slot_at(pos);

		if (slot->state != state || slot->entry.dboid != dboid)
			continue;
		count++;
		if (free_them)
			slot->state = SLOT_FREE;
	}
	if (free_them)
	{
		queue->dropped += count;
		advance_head();
	}
	LWLockRelease(queue->lock);
	return count;
}

/* How many entries of a database wait to be written. */
int
audit_queue_waiting(Oid dboid)
{
	return database_slots(dboid, SLOT_READY, false);
}

/* How many entries of a database another writer is writing right now. */
int
audit_queue_claimed_elsewhere(Oid dboid)
{
	return database_slots(dboid, SLOT_CLAIMED, false);
}

/* Drop the waiting entries of a database where the extension is gone. */
int
audit_queue_discard_database(Oid dboid)
{
	return database_slots(dboid, SLOT_READY, true);
}

/* The databases that have waiting entries, at most max of them. */
int
audit_queue_waiting_databases(Oid *dboids, int max)
{
	int			count = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (uint64 pos = queue->head; pos < queue->tail && count < max; pos++)
	{
		AuditSlot  *slot = slot_at(pos);
		bool		known = false;

		if (slot->state != SLOT_READY)
			continue;
		for (int i = 0; i < count && !known; i++)
			known = (dboids[i] == slot->entry.dboid);
		if (!known)
			dboids[count++] = slot->entry.dboid;
	}
	LWLockRelease(queue->lock);
	return count;
}

void
audit_queue_counters(AuditCounters *counters)
{
	memset(counters, 0, sizeof(*counters));
	if (queue == NULL)
		return;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	counters->queued = queue->queued;
	counters->persisted = queue->persisted;
	counters->dropped = queue->dropped;
	for (uint64 pos = queue->head; pos < queue->tail; pos++)
		counters->pending += (slot_at(pos)->state != SLOT_FREE);
	LWLockRelease(queue->lock);
}

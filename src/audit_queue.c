/*-------------------------------------------------------------------------
 *
 * audit_queue.c
 *	  A bounded queue of violations in shared memory, between the backend
 *	  that found a violation and the process that writes it to
 *	  tenant_guard.violations of the violation's database, and the counters
 *	  that account for every violation raised since the cluster was created.
 *
 * A violation must outlive the transaction that caused it (which usually
 * fails in enforce mode), so the violating backend never writes the table:
 * it copies the entry into this queue and goes on.  The audit writers
 * claim the entries of their database, insert them in transactions of
 * their own, and then release the slots.
 *
 * The queue is a ring of audit_queue_size slots.  Positions grow forever;
 * slot = position % size.  Entries between head and tail are READY
 * (waiting), CLAIMED (being written) or FREE (written or set aside, but
 * not yet behind the head because an older slot is still in use).
 *
 * Fairness: a database may hold at most max(size / 4, 3 * size / (4 *
 * active)) entries, active being the number of databases with entries in
 * the queue (counting the one that asks).  Alone, a database can fill three
 * quarters of the queue; a flood from up to three databases always leaves a
 * quarter of the slots to the others.  An entry beyond its database's share
 * or beyond the ring is dropped, counted, with a WARNING at most every 10 s.
 *
 * Sampling: logged repeats of a statement shape (database, kind, relation,
 * query id and call site) within tenant_guard.audit_sample_interval of the
 * shape's last detail row take no slot: they only add to the shape's count
 * in a small hash table here, which the writers move into
 * tenant_guard.violation_counts (each batch of counts with a random
 * batch_id, inserted ON CONFLICT DO NOTHING, so that a batch sent again
 * after a restart counts once).  Rejections, non_atomic_amount violations
 * and a shape's first violation always ask for a row; when the queue or
 * the database's share refuses one, the violation is counted in its shape
 * instead, and only when the shape table is full too (or the statement has
 * no query id) is it dropped.
 *
 * Locking rules, the only ones for this memory:
 *	- every field of AuditQueue, every slot, every AuditDatabase and every
 *	  shape is read and written only while holding queue->lock,
 *	  exclusively, except that a claimer may read the copies it took out of
 *	  the queue without it, last_full_warning and repeats_raised are
 *	  atomics, and the one path that a flood takes, counting a sampled
 *	  repeat of an existing shape, holds the lock shared and the shape's
 *	  spinlock to read detailed_at and add to pending (shared holders
 *	  exclude exclusive ones, so every other path needs no spinlock);
 *	- repeats_raised is folded into counters.raised by whoever reads the
 *	  counters with the lock held exclusively;
 *	- the lock is held for a memcpy of one entry on the violating backend's
 *	  path, and for scans of the ring in the writers; nothing that can
 *	  sleep, allocate or raise an error happens under it.
 *
 * Restarts: whenever the postmaster leaves its shared memory, at a clean
 * or immediate shutdown and before it reinitializes it after a crash, it
 * writes the counters and the waiting entries to
 * pg_stat/tenant_guard_audit.queue, and the next start loads them back.
 * After a crash only entries that look whole are kept (a slot becomes
 * READY after its copy is complete); the others are counted as lost and
 * logged.  An entry a writer had committed but not yet released is
 * written again after the restart, and the unique entry_id makes that
 * second INSERT do nothing: it is counted once, as persisted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "audit_queue.h"

#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "settings.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#define AUDIT_QUEUE_TRANCHE		"tenant_guard_audit"
#define AUDIT_QUEUE_FILE		"pg_stat/tenant_guard_audit.queue"
#define AUDIT_QUEUE_FILE_MAGIC	0x7467a004
#define AUDIT_MAX_DATABASES		64
#define FULL_WARNING_INTERVAL_MS 10000
#define BACKOFF_MAX_SECONDS		60
#define SHAPE_PROBES			32

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

/* Per database: its share of the queue and its writer's health. */
typedef struct AuditDatabase
{
	Oid			dboid;			/* InvalidOid: unused */
	int			in_queue;		/* READY + CLAIMED entries */
	int			failures;		/* writer exits with an error, in a row */
	TimestampTz retry_at;		/* no new writer before this */
	int			writer_procno;	/* -1: none */
	bool		counts_requested;	/* flush(): write the counts now */
	uint64		counts_passes;	/* counts written so far */
} AuditDatabase;

/*
 * One statement shape's counts: pending (not yet handed to a writer) and
 * in flight (handed over under batch_id; sent again until written).
 */
typedef struct AuditShape
{
	uint32		hash;			/* 0: never used */
	Oid			dboid;
	uint64		query_id;
	char		kind[24];
	char		relation[2 * NAMEDATALEN + 8];
	char		call_site[AUDIT_CALL_SITE_MAX];
	NameData	user_name;		/* role and application are part of the shape, */
	char		application_name[NAMEDATALEN];	/* so each keeps detail rows */
	slock_t		mutex;			/* see "Locking rules" */
	TimestampTz detailed_at;	/* its last detail row; 0: none yet */
	uint64		pending;
	TimestampTz pending_first;
	TimestampTz pending_last;
	uint64		inflight;
	uint64		batch_id;
	TimestampTz inflight_first;
	TimestampTz inflight_last;
} AuditShape;

/* The part of the counters kept across restarts, as the file stores it. */
typedef struct KeptCounters
{
	uint64		raised;
	uint64		queued;
	uint64		persisted;
	uint64		sampled;
	uint64		dropped;
	uint64		refused;
	uint64		lost;
} KeptCounters;

typedef struct AuditQueue
{
	LWLock	   *lock;
	int			size;
	uint64		head;
	uint64		tail;
	KeptCounters counters;
	pg_atomic_uint64 repeats_raised;	/* raised, not yet in counters.raised */
	int			launcher_procno;	/* -1: none */
	pg_atomic_uint64 last_full_warning; /* TimestampTz */
	AuditDatabase dbs[AUDIT_MAX_DATABASES];
	int			nshapes;		/* the shapes follow the slots */
	AuditSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} AuditQueue;

typedef struct QueueFileHeader
{
	uint32		magic;
	uint32		entry_size;
	uint32		shape_size;
	uint32		count;			/* entries, then nshapes shapes */
	uint32		nshapes;
	KeptCounters counters;
} QueueFileHeader;

int			audit_queue_size = 1024;
int			audit_sample_interval_ms = 1000;

static AuditQueue *queue = NULL;
static AuditShape *shapes = NULL;

/* As many shapes as slots, at least 256 and at most 4096. */
static int
shape_table_size(void)
{
	return Max(256, Min(audit_queue_size, 4096));
}

static Size
audit_queue_shmem_size(void)
{
	return add_size(add_size(offsetof(AuditQueue, slots),
							 mul_size(audit_queue_size, sizeof(AuditSlot))),
					mul_size(shape_table_size(), sizeof(AuditShape)));
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

/* The database's entry, created if asked and possible; the lock is held. */
static AuditDatabase *
find_database(Oid dboid, bool create)
{
	AuditDatabase *unused = NULL;

	for (int i = 0; i < AUDIT_MAX_DATABASES; i++)
	{
		AuditDatabase *db = &queue->dbs[i];

		if (db->dboid == dboid)
			return db;
		if (unused == NULL &&
			(db->dboid == InvalidOid ||
			 (db->in_queue == 0 && db->failures == 0 && db->writer_procno < 0)))
			unused = db;
	}
	if (!create || unused == NULL)
		return NULL;
	memset(unused, 0, sizeof(*unused));
	unused->dboid = dboid;
	unused->writer_procno = -1;
	return unused;
}

/* A database's share of the queue (see the header comment); lock held. */
static int
database_share(const AuditDatabase *asking)
{
	int			active = (asking->in_queue == 0) ? 1 : 0;
	int			share;

	for (int i = 0; i < AUDIT_MAX_DATABASES; i++)
		active += (queue->dbs[i].in_queue > 0);
	share = Max(queue->size / 4, (3 * queue->size) / (4 * active));
	return Max(share, 1);
}

/*-----------------
 * Statement shapes
 *-----------------
 */

/* The shape's hash, never 0; computed without the lock. */
static uint32
shape_hash(const AuditEntry *e)
{
	uint32		h = hash_bytes_uint32(e->dboid);

	h = hash_combine(h, hash_bytes_uint32((uint32) e->query_id));
	h = hash_combine(h, hash_bytes_uint32((uint32) (e->query_id >> 32)));
	h = hash_combine(h, hash_bytes((const unsigned char *) e->kind, strlen(e->kind)));
	h = hash_combine(h, hash_bytes((const unsigned char *) e->relation, strlen(e->relation)));
	h = hash_combine(h, hash_bytes((const unsigned char *) e->call_site, strlen(e->call_site)));
	h = hash_combine(h, hash_bytes((const unsigned char *) NameStr(e->user_name),
								   strlen(NameStr(e->user_name))));
	h = hash_combine(h, hash_bytes((const unsigned char *) e->application_name,
								   strlen(e->application_name)));
	return h == 0 ? 1 : h;
}

static bool
shape_matches(const AuditShape *shape, uint32 hash, const AuditEntry *e)
{
	return shape->hash == hash && shape->dboid == e->dboid &&
		shape->query_id == e->query_id && strcmp(shape->kind, e->kind) == 0 &&
		strcmp(shape->relation, e->relation) == 0 &&
		strcmp(shape->call_site, e->call_site) == 0 &&
		strcmp(NameStr(shape->user_name), NameStr(e->user_name)) == 0 &&
		strcmp(shape->application_name, e->application_name) == 0;
}

/* The entry's shape if it has one, else NULL; the lock is held, shared will do. */
static AuditShape *
lookup_shape(uint32 hash, const AuditEntry *e)
{
	for (int i = 0; i < SHAPE_PROBES; i++)
	{
		AuditShape *shape = &shapes[(hash + i) % queue->nshapes];

		if (shape_matches(shape, hash, e))
			return shape;
	}
	return NULL;
}

/*
 * Fold the repeats counted under the shared lock into the counters; the
 * lock is held exclusively, so no repeat is being counted meanwhile.
 */
static void
fold_repeats(void)
{
	queue->counters.raised += pg_atomic_exchange_u64(&queue->repeats_raised, 0);
}

/*
 * The entry's shape, or a new one in a free place of its probe window (a
 * place never used, or one with nothing to write whose last detail row is
 * older than the sampling interval, so that forgetting it changes
 * nothing); NULL when there is none.  The lock is held.
 */
static AuditShape *
find_shape(uint32 hash, const AuditEntry *e, TimestampTz now)
{
	AuditShape *free_place = NULL;

	for (int i = 0; i < SHAPE_PROBES; i++)
	{
		AuditShape *shape = &shapes[(hash + i) % queue->nshapes];

		if (shape_matches(shape, hash, e))
			return shape;
		if (free_place == NULL &&
			(shape->hash == 0 ||
			 (shape->pending == 0 && shape->inflight == 0 &&
			  TimestampDifferenceExceeds(shape->detailed_at, now, audit_sample_interval_ms))))
			free_place = shape;
	}
	if (free_place == NULL)
		return NULL;
	memset(free_place, 0, sizeof(*free_place));
	SpinLockInit(&free_place->mutex);
	free_place->hash = hash;
	free_place->dboid = e->dboid;
	free_place->query_id = e->query_id;
	strlcpy(free_place->kind, e->kind, sizeof(free_place->kind));
	strlcpy(free_place->relation, e->relation, sizeof(free_place->relation));
	strlcpy(free_place->call_site, e->call_site, sizeof(free_place->call_site));
	free_place->user_name = e->user_name;
	strlcpy(free_place->application_name, e->application_name,
			sizeof(free_place->application_name));
	return free_place;
}

/* Count one violation in its shape; the lock is held. */
static void
count_in_shape(AuditShape *shape, TimestampTz when)
{
	if (shape->pending == 0 || when < shape->pending_first)
		shape->pending_first = when;
	if (shape->pending == 0 || when > shape->pending_last)
		shape->pending_last = when;
	shape->pending++;
}

/* Append an entry to the ring; the lock is held and there is room. */
static void
enqueue(const AuditEntry *entry, AuditDatabase *db)
{
	AuditSlot  *slot = slot_at(queue->tail++);

	slot->entry = *entry;
	/* a backend killed mid-copy leaves a FREE slot, never a torn one */
	pg_write_barrier();
	slot->state = SLOT_READY;
	db->in_queue++;
	queue->counters.queued++;
}

/*---------------------------------------------
 * Keeping the queue and counters over restarts
 *---------------------------------------------
 */

/* After a crash, keep only entries that look whole. */
static bool
slot_is_whole(const AuditSlot *slot)
{
	return (slot->state == SLOT_READY || slot->state == SLOT_CLAIMED) &&
		OidIsValid(slot->entry.dboid) && slot->entry.entry_id != 0;
}

static bool
shape_has_counts(const AuditShape *shape)
{
	return shape->hash != 0 && OidIsValid(shape->dboid) &&
		(shape->pending > 0 || shape->inflight > 0);
}

/*
 * Postmaster leaving its shared memory (shutdown of any kind, or crash
 * reinitialization): keep the counters, the waiting entries and the
 * shapes' counts (with their batch ids).
 */
static void
dump_queue(int code, Datum arg)
{
	FILE	   *file;
	QueueFileHeader header;
	uint32		lost = 0;

	if (queue == NULL)
		return;
	memset(&header, 0, sizeof(header));
	header.magic = AUDIT_QUEUE_FILE_MAGIC;
	header.entry_size = sizeof(AuditEntry);
	header.shape_size = sizeof(AuditShape);
	for (int i = 0; i < queue->nshapes; i++)
		header.nshapes += shape_has_counts(&shapes[i]);
	for (uint64 pos = queue->head; pos < queue->tail && pos - queue->head < (uint64) queue->size; pos++)
	{
		if (slot_is_whole(slot_at(pos)))
			header.count++;
		else if (slot_at(pos)->state != SLOT_FREE)
			lost++;
	}
	fold_repeats();
	header.counters = queue->counters;
	header.counters.lost += lost;

	file = AllocateFile(AUDIT_QUEUE_FILE ".tmp", PG_BINARY_W);
	if (file == NULL || fwrite(&header, sizeof(header), 1, file) != 1)
		goto error;
	for (uint64 pos = queue->head; pos < queue->tail && pos - queue->head < (uint64) queue->size; pos++)
	{
		if (slot_is_whole(slot_at(pos)) &&
			fwrite(&slot_at(pos)->entry, sizeof(AuditEntry), 1, file) != 1)
			goto error;
	}
	for (int i = 0; i < queue->nshapes; i++)
	{
		if (shape_has_counts(&shapes[i]) &&
			fwrite(&shapes[i], sizeof(AuditShape), 1, file) != 1)
			goto error;
	}
	if (FreeFile(file) != 0)
	{
		file = NULL;
		goto error;
	}
	(void) durable_rename(AUDIT_QUEUE_FILE ".tmp", AUDIT_QUEUE_FILE, LOG);
	if (lost > 0)
		ereport(LOG,
				(errmsg("tenant_guard lost %u queued violations that were incomplete at the crash", lost)));
	if (header.count > 0 || header.nshapes > 0)
		ereport(LOG,
				(errmsg("tenant_guard kept %u queued violations and the counts of %u statement shapes for the next start",
						header.count, header.nshapes)));
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write file \"%s\": %m", AUDIT_QUEUE_FILE ".tmp"),
			 errdetail("%u queued violations and the audit counters are lost.",
					   header.count + lost)));
	if (file != NULL)
		FreeFile(file);
	unlink(AUDIT_QUEUE_FILE ".tmp");
}

/* A loaded entry's strings end within their fields, whatever the file says. */
static void
terminate_strings(AuditEntry *e)
{
	e->kind[sizeof(e->kind) - 1] = '\0';
	e->command[sizeof(e->command) - 1] = '\0';
	e->user_name.data[NAMEDATALEN - 1] = '\0';
	e->application_name[sizeof(e->application_name) - 1] = '\0';
	e->client_addr[sizeof(e->client_addr) - 1] = '\0';
	e->relation[sizeof(e->relation) - 1] = '\0';
	e->tenant_column.data[NAMEDATALEN - 1] = '\0';
	e->detail[sizeof(e->detail) - 1] = '\0';
	e->call_site[sizeof(e->call_site) - 1] = '\0';
	e->query[sizeof(e->query) - 1] = '\0';
	e->tenant[sizeof(e->tenant) - 1] = '\0';
	e->row_tenant[sizeof(e->row_tenant) - 1] = '\0';
	e->reason[sizeof(e->reason) - 1] = '\0';
}

/* Put back a kept shape with its counts; false when there is no room. */
static bool
restore_shape(AuditShape *kept)
{
	kept->kind[sizeof(kept->kind) - 1] = '\0';
	kept->relation[sizeof(kept->relation) - 1] = '\0';
	kept->call_site[sizeof(kept->call_site) - 1] = '\0';
	kept->user_name.data[NAMEDATALEN - 1] = '\0';
	kept->application_name[sizeof(kept->application_name) - 1] = '\0';
	for (int i = 0; i < SHAPE_PROBES; i++)
	{
		AuditShape *shape = &shapes[(kept->hash + i) % queue->nshapes];

		if (shape->hash == 0)
		{
			*shape = *kept;
			SpinLockInit(&shape->mutex);
			return true;
		}
	}
	return false;
}

/* Set aside a file that this build cannot read, and say so. */
static void
reject_queue_file(FILE *file, const char *why)
{
	FreeFile(file);
	(void) durable_rename(AUDIT_QUEUE_FILE, AUDIT_QUEUE_FILE ".rejected", LOG);
	ereport(LOG,
			(errmsg("tenant_guard could not load file \"%s\": %s", AUDIT_QUEUE_FILE, why),
			 errdetail("The file was renamed to \"%s\"; the violations in it are not written and the audit counters start at zero.",
					   AUDIT_QUEUE_FILE ".rejected")));
}

/* Postmaster start: take back the counters and what was kept. */
static void
load_queue(void)
{
	FILE	   *file = AllocateFile(AUDIT_QUEUE_FILE, PG_BINARY_R);
	QueueFileHeader header;
	AuditEntry	entry;
	uint32		loaded = 0;
	uint32		refused = 0;
	uint32		shapes_loaded = 0;

	if (file == NULL)
		return;
	if (fread(&header, sizeof(header), 1, file) != 1 ||
		header.magic != AUDIT_QUEUE_FILE_MAGIC || header.entry_size != sizeof(AuditEntry) ||
		header.shape_size != sizeof(AuditShape))
	{
		reject_queue_file(file, "it was written by another build of tenant_guard");
		return;
	}
	queue->counters = header.counters;
	for (uint32 i = 0; i < header.count; i++)
	{
		AuditDatabase *db;

		if (fread(&entry, sizeof(entry), 1, file) != 1)
		{
			queue->counters.lost += header.count - i;
			ereport(LOG,
					(errmsg("tenant_guard lost %u queued violations: file \"%s\" is truncated",
							header.count - i, AUDIT_QUEUE_FILE)));
			break;
		}
		terminate_strings(&entry);
		db = find_database(entry.dboid, true);
		if (db == NULL || queue->tail - queue->head >= (uint64) queue->size)
		{
			queue->counters.dropped++;
			refused++;
			continue;
		}
		enqueue(&entry, db);
		queue->counters.queued--;	/* counted when first queued */
		loaded++;
	}
	for (uint32 i = 0; i < header.nshapes && loaded + refused == header.count; i++)
	{
		AuditShape	kept;

		if (fread(&kept, sizeof(kept), 1, file) != 1)
		{
			ereport(LOG,
					(errmsg("tenant_guard lost the counts of %u statement shapes: file \"%s\" is truncated",
							header.nshapes - i, AUDIT_QUEUE_FILE)));
			break;
		}
		if (restore_shape(&kept))
			shapes_loaded++;
		else
			queue->counters.dropped += kept.pending + kept.inflight;
	}
	FreeFile(file);
	unlink(AUDIT_QUEUE_FILE);
	if (loaded > 0 || refused > 0 || shapes_loaded > 0)
		ereport(LOG,
				(errmsg("tenant_guard loaded %u queued violations and the counts of %u statement shapes kept at the last shutdown, %u violations did not fit in the queue and were dropped",
						loaded, shapes_loaded, refused)));
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
		queue->launcher_procno = -1;
		pg_atomic_init_u64(&queue->last_full_warning, 0);
		pg_atomic_init_u64(&queue->repeats_raised, 0);
		queue->nshapes = shape_table_size();
	}
	shapes = (AuditShape *) &queue->slots[queue->size];
	if (!found)
	{
		for (int i = 0; i < queue->nshapes; i++)
			SpinLockInit(&shapes[i].mutex);
	}
	LWLockRelease(AddinShmemInitLock);

	if (!IsUnderPostmaster)
	{
		on_shmem_exit(dump_queue, (Datum) 0);
		if (!found)
			load_queue();
	}
}

/*------------------------
 * The violating backend
 *------------------------
 */

/* A WARNING when the queue drops, at most every 10 s for the cluster. */
static void
warn_dropped(bool share_full)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		last = pg_atomic_read_u64(&queue->last_full_warning);

	if (!TimestampDifferenceExceeds((TimestampTz) last, now, FULL_WARNING_INTERVAL_MS) ||
		!pg_atomic_compare_exchange_u64(&queue->last_full_warning, &last, (uint64) now))
		return;
	ereport(WARNING,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("tenant_guard audit queue is full: violations are only counted, or dropped"),
			 share_full ?
			 errdetail("This database holds its whole share of the queue (tenant_guard.audit_queue_size is %d).",
					   queue->size) :
			 errdetail("All %d slots hold violations waiting to be written.", queue->size),
			 errhint("Violations without a row are counted in tenant_guard.violation_counts where their shape has room, else as dropped in tenant_guard.stats(); all remain in the server log.  Raise tenant_guard.audit_queue_size.")));
}

/*
 * Whether a violation asks for a detail row: rejections, amount
 * violations, break-glass statements, statements without a query id, a shape's first violation,
 * and then one per sampling interval.  The lock is held.
 */
static bool
wants_detail_row(const AuditEntry *entry, const AuditShape *shape)
{
	if (entry->rejected || entry->query_id == 0 || shape == NULL ||
		audit_sample_interval_ms == 0 || strcmp(entry->kind, "non_atomic_amount") == 0 ||
		strcmp(entry->kind, "break_glass") == 0 ||
		shape->detailed_at == 0)
		return true;
	return TimestampDifferenceExceeds(shape->detailed_at, entry->occurred_at,
									  audit_sample_interval_ms);
}

/*
 * Count a violation as a sampled repeat of its shape, if it is one, from
 * its shape's fields alone (database, kind, relation, query id, call site,
 * role, application, time, rejected): so that a repeat, by far the most
 * frequent violation under a flood, costs no full entry.  Returns false,
 * counting nothing, when the violation wants a detail row: then it must be
 * pushed.
 */
bool
audit_queue_count_repeat(const AuditEntry *key)
{
	uint32		hash = shape_hash(key);
	AuditShape *shape;
	bool		counted = false;

	if (queue == NULL || key->query_id == 0)
		return false;
	/* shared: backends counting repeats of one flood do not queue up */
	LWLockAcquire(queue->lock, LW_SHARED);
	shape = lookup_shape(hash, key);
	if (shape != NULL)
	{
		SpinLockAcquire(&shape->mutex);
		if (!wants_detail_row(key, shape))
		{
			count_in_shape(shape, key->occurred_at);
			counted = true;
		}
		SpinLockRelease(&shape->mutex);
		/* still under the shared lock, so no exclusive reader sees it half */
		if (counted)
			pg_atomic_fetch_add_u64(&queue->repeats_raised, 1);
	}
	LWLockRelease(queue->lock);
	return counted;
}

/*
 * Record a violation: a detail row in the queue, or a count in its shape
 * (sampled, or no room for the row), or, with room for neither, counted as
 * dropped.  Never waits for a writer.
 */
AuditPushResult
audit_queue_push(const AuditEntry *entry)
{
	uint32		hash = shape_hash(entry);
	AuditDatabase *db;
	AuditShape *shape = NULL;
	AuditPushResult result = AUDIT_PUSH_DROPPED;
	bool		no_room = false;
	bool		share_full = false;

	if (queue == NULL)
		return AUDIT_PUSH_DROPPED;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	queue->counters.raised++;
	if (entry->query_id != 0)
		shape = find_shape(hash, entry, entry->occurred_at);
	if (!wants_detail_row(entry, shape))
		result = AUDIT_PUSH_SAMPLED;
	else
	{
		db = find_database(entry->dboid, true);
		no_room = (db == NULL || queue->tail - queue->head >= (uint64) queue->size);
		share_full = (!no_room && db->in_queue >= database_share(db));
		if (!no_room && !share_full)
		{
			enqueue(entry, db);
			result = AUDIT_PUSH_ROW;
			if (shape != NULL)
				shape->detailed_at = entry->occurred_at;
		}
		else if (shape != NULL)
			result = AUDIT_PUSH_COUNTED;
	}
	if (result == AUDIT_PUSH_SAMPLED || result == AUDIT_PUSH_COUNTED)
		count_in_shape(shape, entry->occurred_at);
	else if (result == AUDIT_PUSH_DROPPED)
		queue->counters.dropped++;
	LWLockRelease(queue->lock);
	if (no_room || share_full)
		warn_dropped(share_full);
	return result;
}

/*--------------
 * The writers
 *--------------
 */

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

/* Release claimed entries: written, refused, or back to waiting. */
void
audit_queue_finish(const uint64 *positions, const AuditOutcome *outcomes, int count)
{
	if (count == 0)
		return;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int i = 0; i < count; i++)
	{
		AuditSlot  *slot = slot_at(positions[i]);
		AuditDatabase *db;

		if (outcomes[i] == AUDIT_RETURNED)
		{
			slot->state = SLOT_READY;
			continue;
		}
		slot->state = SLOT_FREE;
		if (outcomes[i] == AUDIT_PERSISTED)
			queue->counters.persisted++;
		else
			queue->counters.refused++;
		db = find_database(slot->entry.dboid, false);
		if (db != NULL && db->in_queue > 0)
			db->in_queue--;
	}
	advance_head();
	LWLockRelease(queue->lock);
}

/*
 * Hand over the counts of up to max shapes of a database: those still in
 * flight (sent before, maybe not written) under their batch_id, and the
 * pending ones under a new one.  Each must be confirmed with
 * audit_queue_counts_written() once committed; unconfirmed, it is sent
 * again, under the same batch_id, by the next pass.
 */
int
audit_queue_claim_counts(Oid dboid, AuditShapeCount *counts, int max)
{
	int			n = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int i = 0; i < queue->nshapes && n < max; i++)
	{
		AuditShape *shape = &shapes[i];
		AuditShapeCount *c = &counts[n];

		if (shape->hash == 0 || shape->dboid != dboid ||
			(shape->inflight == 0 && shape->pending == 0))
			continue;
		if (shape->inflight == 0)
		{
			/* a random id (never 0), drawn outside the lock would be nicer */
			do
				shape->batch_id = pg_prng_uint64(&pg_global_prng_state);
			while (shape->batch_id == 0);
			shape->inflight = shape->pending;
			shape->inflight_first = shape->pending_first;
			shape->inflight_last = shape->pending_last;
			shape->pending = 0;
		}
		c->batch_id = shape->batch_id;
		c->query_id = shape->query_id;
		strlcpy(c->kind, shape->kind, sizeof(c->kind));
		strlcpy(c->relation, shape->relation, sizeof(c->relation));
		strlcpy(c->call_site, shape->call_site, sizeof(c->call_site));
		c->user_name = shape->user_name;
		strlcpy(c->application_name, shape->application_name, sizeof(c->application_name));
		c->count = shape->inflight;
		c->first_seen = shape->inflight_first;
		c->last_seen = shape->inflight_last;
		n++;
	}
	LWLockRelease(queue->lock);
	return n;
}

/* Counts handed over by audit_queue_claim_counts() are in the table. */
/*
 * Settle the in-flight counts of a database's shapes that were sent in
 * these batches: add them to *counter (sampled or dropped) and clear them.
 * The lock is held.
 */
static void
settle_inflight_counts(Oid dboid, const AuditShapeCount *counts, int n,
					   uint64 *counter)
{
	for (int i = 0; i < queue->nshapes; i++)
	{
		AuditShape *shape = &shapes[i];

		if (shape->hash == 0 || shape->dboid != dboid || shape->inflight == 0)
			continue;
		for (int j = 0; j < n; j++)
		{
			if (counts[j].batch_id != shape->batch_id)
				continue;
			*counter += shape->inflight;
			shape->inflight = 0;
			shape->batch_id = 0;
			break;
		}
	}
}

void
audit_queue_counts_written(Oid dboid, const AuditShapeCount *counts, int n)
{
	AuditDatabase *db;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	db = find_database(dboid, false);
	if (db != NULL)
		db->counts_passes++;
	settle_inflight_counts(dboid, counts, n, &queue->counters.sampled);
	LWLockRelease(queue->lock);
}

/*
 * Whether a writer should write its database's counts now although its
 * last counts are recent: flush() asked.  Clears the request.
 */
bool
audit_queue_counts_requested(Oid dboid)
{
	AuditDatabase *db;
	bool		requested = false;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	db = find_database(dboid, false);
	if (db != NULL)
	{
		requested = db->counts_requested;
		db->counts_requested = false;
	}
	LWLockRelease(queue->lock);
	return requested;
}

/* How many passes have written counts of a database. */
uint64
audit_queue_counts_passes(Oid dboid)
{
	AuditDatabase *db;
	uint64		passes = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	db = find_database(dboid, false);
	if (db != NULL)
		passes = db->counts_passes;
	LWLockRelease(queue->lock);
	return passes;
}

/* Counts that cannot be written (no counts table): dropped. */
void
audit_queue_discard_counts(Oid dboid, const AuditShapeCount *counts, int n)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	settle_inflight_counts(dboid, counts, n, &queue->counters.dropped);
	LWLockRelease(queue->lock);
}

/* How many shapes of a database have counts to write. */
int
audit_queue_counts_waiting(Oid dboid)
{
	int			n = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int i = 0; i < queue->nshapes; i++)
		n += (shapes[i].hash != 0 && shapes[i].dboid == dboid &&
			  (shapes[i].pending > 0 || shapes[i].inflight > 0));
	LWLockRelease(queue->lock);
	return n;
}

/* The position the next entry will take: flush() waits for those before. */
uint64
audit_queue_tail(void)
{
	uint64		tail;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	tail = queue->tail;
	LWLockRelease(queue->lock);
	return tail;
}

/* How many entries of a database, queued before a position, are unwritten. */
int
audit_queue_waiting(Oid dboid, uint64 before)
{
	int			count = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (uint64 pos = queue->head; pos < queue->tail && pos < before; pos++)
	{
		AuditSlot  *slot = slot_at(pos);

		count += (slot->state != SLOT_FREE && slot->entry.dboid == dboid);
	}
	LWLockRelease(queue->lock);
	return count;
}

/*
 * Drop the waiting entries and counts of a database that is gone or lost
 * the extension (entries a writer is writing stay its own).
 */
int
audit_queue_discard_database(Oid dboid)
{
	int			count = 0;
	AuditDatabase *db;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (uint64 pos = queue->head; pos < queue->tail; pos++)
	{
		AuditSlot  *slot = slot_at(pos);

		if (slot->state != SLOT_READY || slot->entry.dboid != dboid)
			continue;
		slot->state = SLOT_FREE;
		count++;
	}
	db = find_database(dboid, false);
	if (db != NULL)
		db->in_queue = Max(db->in_queue - count, 0);
	advance_head();
	for (int i = 0; i < queue->nshapes; i++)
	{
		AuditShape *shape = &shapes[i];

		if (shape->hash == 0 || shape->dboid != dboid)
			continue;
		count += shape->pending + shape->inflight;
		shape->hash = 0;
	}
	queue->counters.dropped += count;
	LWLockRelease(queue->lock);
	return count;
}

/* The databases with entries or counts to write, at most max of them. */
int
audit_queue_waiting_databases(Oid *dboids, int max)
{
	int			count = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int i = 0; i < AUDIT_MAX_DATABASES && count < max; i++)
	{
		if (queue->dbs[i].in_queue > 0)
			dboids[count++] = queue->dbs[i].dboid;
	}
	for (int i = 0; i < queue->nshapes && count < max; i++)
	{
		AuditShape *shape = &shapes[i];
		bool		known = false;

		if (shape->hash == 0 || (shape->pending == 0 && shape->inflight == 0))
			continue;
		for (int j = 0; j < count && !known; j++)
			known = (dboids[j] == shape->dboid);
		if (!known)
			dboids[count++] = shape->dboid;
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
	fold_repeats();
	counters->raised = queue->counters.raised;
	counters->queued = queue->counters.queued;
	counters->persisted = queue->counters.persisted;
	counters->sampled = queue->counters.sampled;
	counters->dropped = queue->counters.dropped;
	counters->refused = queue->counters.refused;
	counters->lost = queue->counters.lost;
	for (uint64 pos = queue->head; pos < queue->tail; pos++)
		counters->pending += (slot_at(pos)->state != SLOT_FREE);
	for (int i = 0; i < queue->nshapes; i++)
	{
		if (shapes[i].hash != 0)
			counters->pending += shapes[i].pending + shapes[i].inflight;
	}
	LWLockRelease(queue->lock);
}

/*------------------------------------------------
 * Which processes run, and when a writer may start
 *------------------------------------------------
 */

void
audit_queue_set_launcher(bool running)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	queue->launcher_procno = running ? TG_MY_PROC_NUMBER : -1;
	LWLockRelease(queue->lock);
}

void
audit_queue_set_writer(Oid dboid, bool running)
{
	AuditDatabase *db;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	db = find_database(dboid, running);
	if (db != NULL)
		db->writer_procno = running ? TG_MY_PROC_NUMBER : -1;
	LWLockRelease(queue->lock);
}

/*
 * A writer leaves.  After an error its database's next writer waits 1 s,
 * then 2, 4, ... up to 60 s, so that a writer that keeps failing does not
 * restart in a loop.
 */
void
audit_queue_writer_exited(Oid dboid, bool failed)
{
	AuditDatabase *db;
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	db = find_database(dboid, false);
	if (db != NULL)
	{
		db->writer_procno = -1;
		if (failed)
		{
			int			delay = Min(BACKOFF_MAX_SECONDS, 1 << Min(db->failures, 6));

			db->failures++;
			db->retry_at = TimestampTzPlusMilliseconds(now, delay * 1000);
		}
	}
	LWLockRelease(queue->lock);
}

void
audit_queue_writer_succeeded(Oid dboid)
{
	AuditDatabase *db;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	db = find_database(dboid, false);
	if (db != NULL)
		db->failures = 0;
	LWLockRelease(queue->lock);
}

bool
audit_queue_writer_may_start(Oid dboid, TimestampTz now)
{
	AuditDatabase *db;
	bool		may;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	db = find_database(dboid, false);
	may = (db == NULL || db->retry_at <= now);
	LWLockRelease(queue->lock);
	return may;
}

/* flush(): have the launcher and the database's writer look now. */
void
audit_queue_wake_writers(Oid dboid)
{
	AuditDatabase *db;
	int			procnos[2];

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	db = find_database(dboid, true);
	if (db != NULL)
	{
		db->retry_at = 0;
		db->counts_requested = true;
	}
	procnos[0] = queue->launcher_procno;
	procnos[1] = db != NULL ? db->writer_procno : -1;
	LWLockRelease(queue->lock);
	for (int i = 0; i < 2; i++)
	{
		/* a stale number only wakes some other process once */
		if (procnos[i] >= 0)
			SetLatch(&ProcGlobal->allProcs[procnos[i]].procLatch);
	}
}

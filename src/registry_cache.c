/*-------------------------------------------------------------------------
 *
 * registry_cache.c
 *	  The contents of tenant_guard.registry, read once per session.
 *
 * The registry holds a handful of rows, and every relation a session meets
 * for the first time needs to know whether it, or one of its ancestors,
 * has one.  Looking each up through the registry's index cost an index
 * scan per relation and ancestor; instead the whole table is read at the
 * first question into a backend-local hash table, and answered from there
 * until the registry changes.  When it is empty, as it is in most
 * databases, its file has no pages, the table is not even opened, and
 * nobody needs to walk a partition's ancestors at all.
 *
 * A new session copies the table from the database's copy in shared
 * memory when there is one (registry_shared.c), and offers what it read
 * otherwise.
 *
 * Every change to the registry invalidates the registry relation itself
 * (its trigger, catalog_functions.c), and every backend then drops its copy
 * (extension_state.c calls tenant_catalog_reset, which calls
 * registry_cache_reset).  A reset that arrives while the table is being
 * read (invalidations are processed when its lock is taken) makes the next
 * question read it again.
 *
 * This file only reads the registry; it never writes it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "registry_cache.h"

#include "registry_shared.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "extension_state.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/smgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/* Entries of the hash table: RegistryRow, whose relid is the key. */
typedef RegistryRow RegistryEntry;

static HTAB *entries = NULL;
static long entry_count = 0;
static bool loaded = false;
static uint64 resets = 0;

/* Whether a registered relation has children; worked out when asked. */
static bool children_known = false;
static bool has_children = false;

void
registry_cache_reset(void)
{
	resets++;
	children_known = false;
	loaded = false;
}

static void
add_entry(const RegistryRow *row)
{
	RegistryEntry *entry = hash_search(entries, &row->relid, HASH_ENTER, NULL);

	*entry = *row;
	entry_count++;
}

/* One row of the table, as the caches keep it; false for a row without a relation. */
static bool
read_row(HeapTuple tuple, TupleDesc desc, const RegistryColumns *columns, RegistryRow *row)
{
	bool		isnull;
	Datum		value = heap_getattr(tuple, columns->relid, desc, &isnull);

	if (isnull)
		return false;
	memset(row, 0, sizeof(RegistryRow));
	row->relid = DatumGetObjectId(value);
	value = heap_getattr(tuple, columns->excluded, desc, &isnull);
	row->excluded = !isnull && DatumGetBool(value);
	value = heap_getattr(tuple, columns->tenant_column, desc, &isnull);
	if (isnull)
		row->excluded = true;
	else
		namestrcpy(&row->tenant_column, NameStr(*DatumGetName(value)));
	return true;
}

/*
 * Read the table into the hash table, and offer what was read as the
 * database's shared copy (registry_shared.c) under ticket.
 */
static void
read_table(uint64 ticket, RegistryRow *rows)
{
	/* copies: opening the table takes in invalidations, which reset them */
	Oid			relid = extension_registry_relid();
	RegistryColumns columns;
	Relation	registry;
	SysScanDesc scan;
	HeapTuple	tuple;
	RegistryRow row;
	int			count = 0;
	Snapshot	snapshot;

	/*
	 * A snapshot taken now, after the ticket: the catalog snapshot may be
	 * older than a change whose commit the ticket already follows, and
	 * what is read here may become every new session's copy.  A parallel
	 * worker cannot take one: it reads with the catalog snapshot and offers
	 * nothing.
	 */
	extension_registry_columns(&columns);
	if (IsInParallelMode())
	{
		snapshot = NULL;
		ticket = 0;
	}
	else
		snapshot = RegisterSnapshot(GetLatestSnapshot());
	registry = table_open(relid, AccessShareLock);
	scan = systable_beginscan(registry, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		if (!read_row(tuple, RelationGetDescr(registry), &columns, &row))
			continue;
		add_entry(&row);
		if (count < REGISTRY_SHARED_ROWS)
			rows[count] = row;
		count++;
	}
	systable_endscan(scan);
	table_close(registry, AccessShareLock);
	if (snapshot != NULL)
		UnregisterSnapshot(snapshot);
	registry_shared_offer(ticket, relid, rows, count);
}

/*
 * A registry whose file has no pages holds no row, committed or not:
 * inserting extends the file at once.  Telling that from the file's size
 * costs a syscache look-up and an lseek, where reading the table costs
 * building its relcache entry (its triggers, constraints and defaults),
 * a quarter of a million instructions in every session's first statement.
 * The lock keeps a TRUNCATE from swapping the file underneath.
 */
static bool
registry_has_no_pages(void)
{
	Oid			relid = extension_registry_relid();
	HeapTuple	classtup;
	Form_pg_class classform;
	Oid			tablespace;
	Oid			filenumber;
	bool		empty;

	LockRelationOid(relid, AccessShareLock);
	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(classtup))
	{
		UnlockRelationOid(relid, AccessShareLock);
		return false;
	}
	classform = (Form_pg_class) GETSTRUCT(classtup);
	tablespace = OidIsValid(classform->reltablespace) ?
		classform->reltablespace : MyDatabaseTableSpace;
	filenumber = classform->relfilenode;
	ReleaseSysCache(classtup);
	empty = OidIsValid(filenumber) &&
		tg_relation_file_is_empty(tablespace, MyDatabaseId, filenumber);
	UnlockRelationOid(relid, AccessShareLock);
	return empty;
}

static void
load_entries(void)
{
	HASHCTL		ctl;
	RegistryRow *rows;
	uint64		ticket;
	int			count;
	uint64		resets_before = resets;

	if (entries != NULL)
		hash_destroy(entries);
	entries = NULL;
	entry_count = 0;
	if (registry_has_no_pages())
	{
		loaded = (resets == resets_before);
		return;
	}
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(RegistryEntry);
	ctl.hcxt = CacheMemoryContext;
	entries = hash_create("tenant_guard registry", 16, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	entry_count = 0;

	/* the database's shared copy, else the table */
	rows = palloc(sizeof(RegistryRow) * REGISTRY_SHARED_ROWS);
	count = registry_shared_copy(extension_registry_relid(), rows, &ticket);
	for (int i = 0; i < count; i++)
		add_entry(&rows[i]);
	if (count < 0)
		read_table(ticket, rows);
	pfree(rows);

	/* a reset while reading: answer from this copy, read again next time */
	loaded = (resets == resets_before);
}

/*
 * The registry's entry for relid: false when it has none; otherwise
 * *excluded and, for a registered table, *column.  The extension must be
 * active.
 */
bool
registry_entry(Oid relid, bool *excluded, NameData *column)
{
	RegistryEntry *entry;

	if (!loaded)
		load_entries();
	if (entry_count == 0)
		return false;
	entry = hash_search(entries, &relid, HASH_FIND, NULL);
	if (entry == NULL)
		return false;
	*excluded = entry->excluded;
	if (!entry->excluded)
		*column = entry->tenant_column;
	return true;
}

/* Is the registry empty?  The extension must be active. */
bool
registry_is_empty(void)
{
	if (!loaded)
		load_entries();
	return entry_count == 0;
}

/* Has the relation children, by its pg_class row (none once it is gone)? */
static bool
relation_has_children(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		result;

	if (!HeapTupleIsValid(tuple))
		return false;
	result = ((Form_pg_class) GETSTRUCT(tuple))->relhassubclass;
	ReleaseSysCache(tuple);
	return result;
}

/*
 * Can any relation inherit an entry: has a registered or excluded relation
 * partitions or inheritance children?  Most registries name plain tables,
 * and then no relation's ancestors need to be looked up (pg_inherits, a
 * relcache entry and an index scan in a session's first statement).  A
 * relation that gains its first child has its pg_class row updated, whose
 * invalidation reaches every session before it can plan a statement on the
 * child (registry_cache_relation_changed).
 */
bool
registry_entries_have_children(void)
{
	HASH_SEQ_STATUS status;
	RegistryEntry *entry;
	bool		found = false;

	if (!loaded)
		load_entries();
	if (children_known)
		return has_children;

	/*
	 * Known before the look-ups, which can take locks and so take in
	 * invalidations: one for a registered relation, or a reset, makes it
	 * unknown again, and the answer then is the careful one.
	 */
	children_known = true;
	has_children = false;
	if (entry_count > 0)
	{
		hash_seq_init(&status, entries);
		while ((entry = hash_seq_search(&status)) != NULL)
		{
			if (!found && relation_has_children(entry->relid))
				found = true;
		}
	}
	has_children = found;
	return has_children || !children_known;
}

/*
 * A relcache invalidation (relid, or InvalidOid for all): a registered
 * relation may have gained children.  Known children stay known until the
 * registry changes.
 */
void
registry_cache_relation_changed(Oid relid)
{
	if (!children_known || has_children || entries == NULL)
		return;
	if (!OidIsValid(relid) || hash_search(entries, &relid, HASH_FIND, NULL) != NULL)
		children_known = false;
}

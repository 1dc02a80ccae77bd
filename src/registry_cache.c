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

#include "access/genam.h"
#include "access/htup_details.h"
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
#include "utils/syscache.h"

typedef struct RegistryEntry
{
	Oid			relid;			/* hash key */
	bool		excluded;
	NameData	tenant_column;	/* empty when excluded */
} RegistryEntry;

static HTAB *entries = NULL;
static long entry_count = 0;
static bool loaded = false;
static uint64 resets = 0;

void
registry_cache_reset(void)
{
	resets++;
	loaded = false;
}

static void
add_row(HeapTuple tuple, TupleDesc desc, const RegistryColumns *columns)
{
	bool		isnull;
	Datum		relid = heap_getattr(tuple, columns->relid, desc, &isnull);
	Datum		value;
	RegistryEntry *entry;
	Oid			key;

	if (isnull)
		return;
	key = DatumGetObjectId(relid);
	entry = hash_search(entries, &key, HASH_ENTER, NULL);
	value = heap_getattr(tuple, columns->excluded, desc, &isnull);
	entry->excluded = !isnull && DatumGetBool(value);
	value = heap_getattr(tuple, columns->tenant_column, desc, &isnull);
	if (isnull)
	{
		entry->excluded = true;
		memset(&entry->tenant_column, 0, sizeof(NameData));
	}
	else
		namestrcpy(&entry->tenant_column, NameStr(*DatumGetName(value)));
	entry_count++;
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
	const RegistryColumns *columns = extension_registry_columns();
	HASHCTL		ctl;
	Relation	registry;
	SysScanDesc scan;
	HeapTuple	tuple;
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

	registry = table_open(extension_registry_relid(), AccessShareLock);
	scan = systable_beginscan(registry, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		add_row(tuple, RelationGetDescr(registry), columns);
	systable_endscan(scan);
	table_close(registry, AccessShareLock);

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

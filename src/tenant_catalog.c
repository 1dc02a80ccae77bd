/*-------------------------------------------------------------------------
 *
 * tenant_catalog.c
 *	  Which relations are tenant tables, and by which column: a
 *	  backend-local cache keyed by relation OID.
 *
 * A relation is a tenant table when it is a table, partitioned table,
 * partition, foreign table or materialized view outside the system and
 * extension schemas and either
 *	- the registry (tenant_guard.registry) names its tenant column, for the
 *	  relation itself or, for a partition or inheritance child, for its
 *	  nearest registered ancestor; or
 *	- it is not excluded in the registry and has a column whose name is in
 *	  tenant_guard.tenant_columns (the first name in the list wins).
 *
 * The answer is cached per relation OID, so the planner hook pays one hash
 * probe per scanned relation.  An entry is dropped when
 *	- a relcache invalidation names the relation (ALTER TABLE, DROP, and
 *	  the registry trigger, which invalidates a registered relation and all
 *	  of its partitions and inheritance children when the registry changes);
 *	- a relcache invalidation names no relation (cache overflow), the
 *	  tenant_columns setting changes, or the extension is created or
 *	  dropped: then the whole cache goes.
 * Invalidations are processed while an entry is being computed, so a
 * counter detects a computation that raced one and redoes it.
 *
 * This file reads catalogs only when an entry is missing; it never reports
 * violations or looks at queries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tenant_catalog.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "citus_cluster.h"
#include "extension_state.h"
#include "settings.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

static HTAB *tenant_cache = NULL;
static bool tenant_cache_reset_pending = false;
static uint64 invalidation_count = 0;

/*
 * The entry found last, in front of the hash table: most statements use one
 * relation, often the same one over and over.  Dynahash never moves an
 * entry, so the pointer stays good until the entry is removed, and every
 * removal clears it.
 */
static const TenantTableInfo *last_entry = NULL;

static void
forget_relation(Datum arg, Oid relid)
{
	invalidation_count++;
	last_entry = NULL;
	if (tenant_cache == NULL)
		return;
	if (relid == InvalidOid)
		tenant_cache_reset_pending = true;
	else
		hash_search(tenant_cache, &relid, HASH_REMOVE, NULL);
}

void
tenant_catalog_init(void)
{
	CacheRegisterRelcacheCallback(forget_relation, (Datum) 0);
}

/*
 * Drop every cached answer.  May be called from a GUC assign hook, outside
 * any transaction, so it only raises a flag.
 */
void
tenant_catalog_reset(void)
{
	invalidation_count++;
	last_entry = NULL;
	tenant_cache_reset_pending = true;
}

static void
create_cache(void)
{
	HASHCTL		ctl;

	if (tenant_cache != NULL)
		hash_destroy(tenant_cache);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(TenantTableInfo);
	tenant_cache = hash_create("tenant_guard tenant tables", 256, &ctl,
							   HASH_ELEM | HASH_BLOBS);
	tenant_cache_reset_pending = false;
	last_entry = NULL;
}

/*
 * Look the relation up in tenant_guard.registry through its primary key.
 * Returns false when it has no entry; otherwise sets *excluded and, for a
 * registered table, *column.
 */
static bool
registry_lookup(Oid relid, bool *excluded, NameData *column)
{
	Relation	registry;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	bool		found = false;
	const RegistryColumns *columns = extension_registry_columns();

	registry = table_open(extension_registry_relid(), AccessShareLock);
	ScanKeyInit(&key, columns->relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(registry, extension_registry_index_oid(), true,
							  NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		TupleDesc	desc = RelationGetDescr(registry);
		bool		isnull;
		Datum		value;

		found = true;
		value = heap_getattr(tuple, columns->excluded, desc, &isnull);
		*excluded = !isnull && DatumGetBool(value);
		value = heap_getattr(tuple, columns->tenant_column, desc, &isnull);
		if (isnull)
			*excluded = true;
		else
			namestrcpy(column, NameStr(*DatumGetName(value)));
	}
	systable_endscan(scan);
	table_close(registry, AccessShareLock);
	return found;
}

/* Does the registry have an entry (registered or excluded) for relid? */
bool
registry_has_entry(Oid relid)
{
	bool		excluded;
	NameData	column;

	return registry_lookup(relid, &excluded, &column);
}

/* The direct parents of a partition or inheritance child, in order. */
static List *
direct_parents(Oid relid)
{
	Relation	inherits = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *parents = NIL;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(inherits, InheritsRelidSeqnoIndexId, true,
							  NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		parents = lappend_oid(parents,
							  ((Form_pg_inherits) GETSTRUCT(tuple))->inhparent);
	systable_endscan(scan);
	table_close(inherits, AccessShareLock);
	return parents;
}

/*
 * A partition or inheritance child without an entry of its own inherits
 * its nearest ancestor's (breadth first, parents in INHERITS order), as
 * the guard judges a child through its parent.  A Citus shard without an
 * entry of its own follows its distributed table (citus_cluster.c).
 */
static bool
registry_lookup_with_ancestors(Oid relid, bool *excluded, NameData *column)
{
	List	   *queue;
	List	   *seen;
	Oid			table;

	if (registry_lookup(relid, excluded, column))
		return true;
	table = citus_shard_table(relid);
	if (OidIsValid(table) &&
		registry_lookup_with_ancestors(table, excluded, column))
		return true;
	queue = direct_parents(relid);
	seen = list_make1_oid(relid);
	while (queue != NIL)
	{
		Oid			ancestor = linitial_oid(queue);

		queue = list_delete_first(queue);
		if (list_member_oid(seen, ancestor))
			continue;
		seen = lappend_oid(seen, ancestor);
		if (registry_lookup(ancestor, excluded, column))
			return true;
		queue = list_concat(queue, direct_parents(ancestor));
	}
	return false;
}

/*
 * The system schemas and the extension's own never hold tenant tables.
 * The install script asks this function too (tenant_guard.is_unguarded_schema),
 * so that the list exists once.
 */
bool
namespace_never_holds_tenant_tables(Oid nsp)
{
	return IsCatalogNamespace(nsp) || IsToastNamespace(nsp) ||
		nsp == get_namespace_oid("information_schema", true) ||
		nsp == extension_schema_oid();
}

/*
 * The kinds of relation that can be tenant tables: those that hold or
 * produce rows of their own.  A view is judged through the relations it
 * reads.  The install script asks this too (tenant_guard.is_tenant_relkind).
 */
bool
relkind_can_be_tenant_table(char relkind)
{
	return relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE ||
		relkind == RELKIND_FOREIGN_TABLE || relkind == RELKIND_MATVIEW;
}

static AttrNumber
user_column_attnum(Oid relid, const char *name)
{
	AttrNumber	attnum = get_attnum(relid, name);

	return attnum > 0 ? attnum : InvalidAttrNumber;
}

/* Work out the answer for one relation from the catalogs. */
static void
resolve_tenant_table(Oid relid, TenantTableInfo *info)
{
	HeapTuple	classtup;
	Form_pg_class classform;
	char		relkind;
	Oid			nsp;
	bool		excluded;
	NameData	column;

	memset(info, 0, sizeof(*info));
	info->relid = relid;
	info->source = TENANT_SOURCE_NONE;

	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(classtup))
		return;
	classform = (Form_pg_class) GETSTRUCT(classtup);
	relkind = classform->relkind;
	nsp = classform->relnamespace;
	ReleaseSysCache(classtup);

	if (namespace_never_holds_tenant_tables(nsp))
		return;
	if (!relkind_can_be_tenant_table(relkind))
		return;

	if (registry_lookup_with_ancestors(relid, &excluded, &column))
	{
		if (excluded)
			return;
		info->tenant_attnum = user_column_attnum(relid, NameStr(column));
		if (info->tenant_attnum != InvalidAttrNumber)
		{
			info->source = TENANT_SOURCE_REGISTERED;
			info->tenant_column = column;
		}
		return;
	}

	for (int i = 0; i < tenant_column_list->count; i++)
	{
		const char *name = NameStr(tenant_column_list->names[i]);

		info->tenant_attnum = user_column_attnum(relid, name);
		if (info->tenant_attnum != InvalidAttrNumber)
		{
			info->source = TENANT_SOURCE_DETECTED;
			namestrcpy(&info->tenant_column, name);
			return;
		}
	}
}

/* Tenant tables only: whether one is a Citus shard is asked of those. */
static void
resolve_tenant_table_and_shard(Oid relid, TenantTableInfo *info)
{
	resolve_tenant_table(relid, info);
	info->citus_shard = info->source != TENANT_SOURCE_NONE &&
		OidIsValid(citus_shard_table(relid));
}

static const TenantTableInfo *
cached_tenant_table(Oid relid)
{
	TenantTableInfo *entry;
	TenantTableInfo info;
	uint64		before;

	if (last_entry != NULL && last_entry->relid == relid)
		return last_entry;
	if (tenant_cache == NULL || tenant_cache_reset_pending)
		create_cache();

	entry = hash_search(tenant_cache, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return last_entry = entry;

	do
	{
		before = invalidation_count;
		resolve_tenant_table_and_shard(relid, &info);
	} while (before != invalidation_count);

	if (tenant_cache_reset_pending)
		create_cache();
	entry = hash_search(tenant_cache, &relid, HASH_ENTER, NULL);
	*entry = info;
	return last_entry = entry;
}

/*
 * The tenant column's attribute number, or InvalidAttrNumber when the
 * relation is not a tenant table.  This is the hot path: one hash probe
 * once the relation has been seen.  The extension must be active.
 */
AttrNumber
tenant_table_attnum(Oid relid)
{
	return cached_tenant_table(relid)->tenant_attnum;
}

/* The whole answer, copied, for reporting and the SQL interface. */
void
tenant_table_describe(Oid relid, TenantTableInfo *info)
{
	*info = *cached_tenant_table(relid);
}

/* Is the tenant table a Citus shard?  False for anything else. */
bool
tenant_table_is_citus_shard(Oid relid)
{
	return cached_tenant_table(relid)->citus_shard;
}

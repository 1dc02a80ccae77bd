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
 * The registry itself is read once per session (registry_cache.c); when
 * it is empty no ancestor is ever looked up.  This file reads catalogs
 * only when an entry is missing; it never reports violations or looks at
 * queries.
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
#include "registry_cache.h"
#include "settings.h"
#include "storage/lmgr.h"
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
	registry_cache_relation_changed(relid);
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
	registry_cache_reset();
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

/* Does the registry have an entry (registered or excluded) for relid? */
bool
registry_has_entry(Oid relid)
{
	bool		excluded;
	NameData	column;

	return registry_entry(relid, &excluded, &column);
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

	if (registry_is_empty())
		return false;
	if (registry_entry(relid, excluded, column))
		return true;
	table = citus_shard_table(relid);
	if (OidIsValid(table) &&
		registry_lookup_with_ancestors(table, excluded, column))
		return true;
	if (!registry_entries_have_children())
		return false;
	queue = direct_parents(relid);
	seen = list_make1_oid(relid);
	while (queue != NIL)
	{
		Oid			ancestor = linitial_oid(queue);

		queue = list_delete_first(queue);
		if (list_member_oid(seen, ancestor))
			continue;
		seen = lappend_oid(seen, ancestor);
		if (registry_entry(ancestor, excluded, column))
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

/*
 * The attribute number of a user column by name.  From the relation's
 * tuple descriptor when the relcache entry is at hand, without a catalog
 * look-up; through the ATTNAME syscache otherwise.
 */
static AttrNumber
user_column_attnum(Oid relid, Relation rel, const char *name, Oid *atttype)
{
	AttrNumber	attnum;

	*atttype = InvalidOid;
	if (rel != NULL)
	{
		TupleDesc	desc = RelationGetDescr(rel);

		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, i);

			if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
			{
				*atttype = attr->atttypid;
				return attr->attnum;
			}
		}
		return InvalidAttrNumber;
	}
	attnum = get_attnum(relid, name);
	if (attnum <= 0)
		return InvalidAttrNumber;
	*atttype = get_atttype(relid, attnum);
	return attnum;
}

/*
 * The relation's kind and schema.  When this backend holds a lock on it
 * (the planner always does for the relations it plans), from its relcache
 * entry, which then serves the column look-ups too (*rel, to be closed by
 * the caller); otherwise from the RELOID syscache, since tenant_tables
 * asks about every relation of the database without locking them.
 * Also whether it has had inheritance children or partitions
 * (relhassubclass, which stays set after they are gone; setting it
 * invalidates the relation's relcache entry, and so our entry).
 * Returns false when the relation does not exist.
 */
static bool
relation_kind_and_schema(Oid relid, Relation *rel, char *relkind, Oid *nsp,
						 bool *has_subclass)
{
	HeapTuple	classtup;
	Form_pg_class classform;

	*rel = NULL;
	if (CheckRelationOidLockedByMe(relid, AccessShareLock, true) &&
		(*rel = RelationIdGetRelation(relid)) != NULL)
	{
		*relkind = (*rel)->rd_rel->relkind;
		*nsp = (*rel)->rd_rel->relnamespace;
		*has_subclass = (*rel)->rd_rel->relhassubclass;
		return true;
	}
	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(classtup))
		return false;
	classform = (Form_pg_class) GETSTRUCT(classtup);
	*relkind = classform->relkind;
	*nsp = classform->relnamespace;
	*has_subclass = classform->relhassubclass;
	ReleaseSysCache(classtup);
	return true;
}

/* The first name of tenant_columns that is a user column of the relation. */
static void
detect_tenant_column(Oid relid, Relation rel, TenantTableInfo *info)
{
	for (int i = 0; i < tenant_column_list->count; i++)
	{
		const char *name = NameStr(tenant_column_list->names[i]);

		info->tenant_attnum = user_column_attnum(relid, rel, name, &info->tenant_atttype);
		if (info->tenant_attnum != InvalidAttrNumber)
		{
			info->source = TENANT_SOURCE_DETECTED;
			namestrcpy(&info->tenant_column, name);
			return;
		}
	}
}

/* The registered column, or the detected one unless it is excluded. */
static void
find_tenant_column(Oid relid, Relation rel, TenantTableInfo *info)
{
	bool		excluded;
	NameData	column;

	if (!registry_lookup_with_ancestors(relid, &excluded, &column))
	{
		detect_tenant_column(relid, rel, info);
		return;
	}
	if (excluded)
		return;
	info->tenant_attnum = user_column_attnum(relid, rel, NameStr(column),
											 &info->tenant_atttype);
	if (info->tenant_attnum != InvalidAttrNumber)
	{
		info->source = TENANT_SOURCE_REGISTERED;
		info->tenant_column = column;
	}
}

/* Work out the answer for one relation from the catalogs. */
static void
resolve_tenant_table(Oid relid, TenantTableInfo *info)
{
	Relation	rel;
	char		relkind;
	Oid			nsp;
	bool		has_subclass;

	memset(info, 0, sizeof(*info));
	info->relid = relid;
	info->source = TENANT_SOURCE_NONE;

	if (!relation_kind_and_schema(relid, &rel, &relkind, &nsp, &has_subclass))
		return;
	info->may_have_children = has_subclass ||
		relkind == RELKIND_PARTITIONED_TABLE;
	if (!namespace_never_holds_tenant_tables(nsp) &&
		relkind_can_be_tenant_table(relkind))
		find_tenant_column(relid, rel, info);
	if (rel != NULL)
		RelationClose(rel);
}

/* Tenant tables only: whether one is a Citus shard is asked of those. */
static void
resolve_tenant_table_and_shard(Oid relid, TenantTableInfo *info)
{
	resolve_tenant_table(relid, info);
	info->citus_shard = info->source != TENANT_SOURCE_NONE &&
		OidIsValid(citus_shard_table(relid));
}

/*
 * The hash table's entry, made when missing.  Apart from the test of
 * last_entry (cached_tenant_table), whose prologue would otherwise pay for
 * this function's locals on every call.
 */
static pg_noinline const TenantTableInfo *
hashed_tenant_table(Oid relid)
{
	TenantTableInfo *entry;
	TenantTableInfo info;
	uint64		before;

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

static inline const TenantTableInfo *
cached_tenant_table(Oid relid)
{
	if (last_entry != NULL && last_entry->relid == relid)
		return last_entry;
	return hashed_tenant_table(relid);
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

/*
 * Can neither the relation nor anything the planner expands it into be a
 * tenant table: no tenant table itself, not partitioned, and without
 * inheritance children.  The planner hook asks this of every relation of
 * a statement before planning it (scoping_guard_planning_needed).
 */
bool
tenant_table_ruled_out(Oid relid)
{
	const TenantTableInfo *info = cached_tenant_table(relid);

	return info->tenant_attnum == InvalidAttrNumber && !info->may_have_children;
}

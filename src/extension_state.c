/*-------------------------------------------------------------------------
 *
 * extension_state.c
 *	  Whether CREATE EXTENSION tenant_guard has run in the current database,
 *	  and the OIDs of the extension's own objects, cached per backend.
 *
 * The library is preloaded into every backend of the cluster, but it must
 * do nothing in a database where the extension does not exist.  The hooks
 * ask extension_is_active() on every statement, so the answer is cached
 * and recomputed only after an invalidation that could change it:
 *
 *	- while the extension is absent, any pg_class change (a syscache
 *	  invalidation on RELOID) might be CREATE EXTENSION creating the
 *	  registry table, so the cached "absent" is dropped;
 *	- while it is present, a relcache invalidation of the registry table
 *	  (DROP EXTENSION drops it) or of everything drops the cached state.
 *
 * Invalidations reach every backend at its next transaction start or lock
 * acquisition, so CREATE and DROP EXTENSION take effect in other sessions
 * at their next statement.  This file must not look at anything but the
 * extension's own catalog entries.
 *
 * It also owns the mark of the extension's own work (extension_work_enter
 * and _leave): statements that tenant_guard itself runs through SPI, which
 * its hooks must not judge, as pgaudit marks its internal statements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "extension_state.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "tenant_catalog.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/syscache.h"

typedef enum ExtensionState
{
	EXTENSION_UNKNOWN,
	EXTENSION_ABSENT,
	EXTENSION_PRESENT
} ExtensionState;

static ExtensionState state = EXTENSION_UNKNOWN;
bool		extension_present = false;	/* state == EXTENSION_PRESENT */
static bool was_absent = false;	/* last known state was EXTENSION_ABSENT */
static Oid	schema_oid = InvalidOid;
static Oid	registry_relid = InvalidOid;
static Oid	registry_index_oid = InvalidOid;
static Oid	amount_guard_oid = InvalidOid;
static Oid	upsert_same_tenant_oid = InvalidOid;
static Oid	upsert_keep_tenant_oid = InvalidOid;
static RegistryColumns registry_columns;

/* Nesting depth of the extension's own work. */
static int	extension_work_depth = 0;

static void
forget_state(void)
{
	state = EXTENSION_UNKNOWN;
	extension_present = false;
	schema_oid = InvalidOid;
	registry_relid = InvalidOid;
	registry_index_oid = InvalidOid;
	amount_guard_oid = InvalidOid;
	upsert_same_tenant_oid = InvalidOid;
	upsert_keep_tenant_oid = InvalidOid;
	memset(&registry_columns, 0, sizeof(registry_columns));
}

static void
pg_class_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	if (state == EXTENSION_ABSENT)
	{
		state = EXTENSION_UNKNOWN;
		was_absent = true;
	}
}

static void
relation_changed(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == registry_relid)
	{
		if (state == EXTENSION_PRESENT)
			tenant_catalog_reset();
		forget_state();
	}
}

void
extension_state_init(void)
{
	CacheRegisterSyscacheCallback(RELOID, pg_class_changed, (Datum) 0);
	CacheRegisterRelcacheCallback(relation_changed, (Datum) 0);
}

/*
 * The extension counts as present once its registry table and the table's
 * primary key exist: while CREATE EXTENSION is still running its script,
 * or half-way through DROP EXTENSION, it does not.  pg_extension itself is
 * not read: opening it costs every session's first statement a relcache
 * build, and the schema cannot exist without the extension unless someone
 * made it by hand, in a database without tenant_guard, where that can only
 * switch the guard on.  (The schema and its two relations are found
 * through syscaches that are warm anyway.)
 */
static void
compute_state(void)
{
	Oid			nsp;
	Oid			registry;
	Oid			index;

	if (!OidIsValid(nsp = get_namespace_oid(TENANT_GUARD_SCHEMA, true)) ||
		!OidIsValid(registry = get_relname_relid("registry", nsp)) ||
		!OidIsValid(index = get_relname_relid("registry_pkey", nsp)))
	{
		state = EXTENSION_ABSENT;
		was_absent = true;
		return;
	}
	schema_oid = nsp;
	registry_relid = registry;
	registry_index_oid = index;
	state = EXTENSION_PRESENT;
	extension_present = true;

	/*
	 * Plans cached before CREATE EXTENSION were planned unguarded and carry
	 * no findings: have them planned again.
	 */
	if (was_absent)
		ResetPlanCache();
	was_absent = false;
}

/*
 * extension_is_active() (tenant_guard.h) when the extension is not known
 * to be present: work it out.  Outside a transaction nothing can be looked
 * up, and nothing needs to be.
 */
bool
extension_is_active_lookup(void)
{
	if (state == EXTENSION_UNKNOWN)
	{
		if (!IsTransactionState())
			return false;
		compute_state();
	}
	return state == EXTENSION_PRESENT;
}

Oid
extension_schema_oid(void)
{
	return extension_is_active() ? schema_oid : InvalidOid;
}

Oid
extension_registry_relid(void)
{
	return extension_is_active() ? registry_relid : InvalidOid;
}

Oid
extension_registry_index_oid(void)
{
	return extension_is_active() ? registry_index_oid : InvalidOid;
}

/*
 * The amount trigger function tenant_guard.amount_guard().  Looked up
 * until found, since the install script may create it after the extension
 * started to count as present.
 */
Oid
extension_amount_guard_oid(void)
{
	if (!extension_is_active())
		return InvalidOid;
	if (!OidIsValid(amount_guard_oid))
		amount_guard_oid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
										   CStringGetDatum("amount_guard"),
										   PointerGetDatum(buildoidvector(NULL, 0)),
										   ObjectIdGetDatum(schema_oid));
	return amount_guard_oid;
}

/*
 * The checks of INSERT ... ON CONFLICT DO UPDATE (conflict_guard.c),
 * tenant_guard.upsert_same_tenant(anyelement, anyelement, regclass) and
 * tenant_guard.upsert_keep_tenant(anyelement, anyelement, regclass).
 * Looked up until found, like amount_guard().
 */
static Oid
upsert_check_oid(const char *name)
{
	Oid			argtypes[3] = {ANYELEMENTOID, ANYELEMENTOID, REGCLASSOID};

	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum(name),
						   PointerGetDatum(buildoidvector(argtypes, 3)),
						   ObjectIdGetDatum(schema_oid));
}

Oid
extension_upsert_same_tenant_oid(void)
{
	if (!extension_is_active())
		return InvalidOid;
	if (!OidIsValid(upsert_same_tenant_oid))
		upsert_same_tenant_oid = upsert_check_oid("upsert_same_tenant");
	return upsert_same_tenant_oid;
}

Oid
extension_upsert_keep_tenant_oid(void)
{
	if (!extension_is_active())
		return InvalidOid;
	if (!OidIsValid(upsert_keep_tenant_oid))
		upsert_keep_tenant_oid = upsert_check_oid("upsert_keep_tenant");
	return upsert_keep_tenant_oid;
}

/*
 * The registry's column numbers, into *columns; the extension must be
 * active.  Looked up by name, so that the install script is the one place
 * that defines them, and only when the table is read: a session that takes
 * the registry from its shared copy (registry_shared.c) never needs them.
 * A copy for the caller, since the look-ups, and the caller's opening of
 * the table, can take in an invalidation that forgets them.
 */
void
extension_registry_columns(RegistryColumns *columns)
{
	Oid			registry;

	Assert(extension_is_active());
	registry = registry_relid;
	if (registry_columns.relid == InvalidAttrNumber)
	{
		columns->relid = get_attnum(registry, "relid");
		columns->tenant_column = get_attnum(registry, "tenant_column");
		columns->excluded = get_attnum(registry, "excluded");
		if (columns->relid <= 0 || columns->tenant_column <= 0 || columns->excluded <= 0)
			elog(ERROR, "tenant_guard.registry lacks the columns relid, tenant_column and excluded");
		if (registry == registry_relid)
			registry_columns = *columns;
		return;
	}
	*columns = registry_columns;
}

void
extension_work_enter(void)
{
	extension_work_depth++;
}

void
extension_work_leave(void)
{
	Assert(extension_work_depth > 0);
	extension_work_depth--;
}

bool
in_extension_work(void)
{
	return extension_work_depth > 0;
}

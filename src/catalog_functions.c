/*-------------------------------------------------------------------------
 *
 * catalog_functions.c
 *	  SQL-callable functions of the tenant-table catalog: the description of
 *	  one relation behind the tenant_guard.tenant_tables view, and the
 *	  trigger that keeps every backend's cache in step with the registry.
 *
 * register_table(), exclude_table() and forget_table() are plain SQL in
 * the install script; they only write the registry, and the trigger here
 * turns every registry change, however it is made (those functions, direct
 * DML by a superuser, pg_restore), into relcache invalidations that reach
 * every session when the change commits.
 *
 * It also answers the install script's questions about catalog facts that
 * the C code owns (which relation kinds and schemas can hold tenant
 * tables, how messages name a relation).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tenant_catalog.h"

#include "access/htup_details.h"
#include "catalog/pg_inherits.h"
#include "commands/trigger.h"
#include "extension_state.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "violation.h"

PG_FUNCTION_INFO_V1(describe_tenant_table);
PG_FUNCTION_INFO_V1(registry_changed);
PG_FUNCTION_INFO_V1(tenant_guard_is_tenant_relkind);
PG_FUNCTION_INFO_V1(tenant_guard_is_unguarded_schema);
PG_FUNCTION_INFO_V1(tenant_guard_relation_message_name);

/*
 * describe_tenant_table(rel regclass) returns table(tenant_column name,
 * source text): one row when rel is a tenant table, none otherwise.  It
 * answers from the same cache the guard uses.
 */
Datum
describe_tenant_table(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TenantTableInfo info;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || !extension_is_active())
		PG_RETURN_NULL();

	tenant_table_describe(PG_GETARG_OID(0), &info);
	if (info.source == TENANT_SOURCE_NONE)
		PG_RETURN_NULL();

	values[0] = NameGetDatum(&info.tenant_column);
	values[1] = CStringGetTextDatum(info.source == TENANT_SOURCE_REGISTERED ?
									"registered" : "detected");
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	PG_RETURN_NULL();
}

/*
 * Invalidate the relation and, since partitions inherit their ancestors'
 * registry entries, everything below it.  A registry row may name a
 * relation that is gone (dropped while the row stayed), which needs no
 * invalidation.
 */
static void
invalidate_registered_relation(Oid relid)
{
	ListCell   *lc;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
	{
		Oid			member = lfirst_oid(lc);

		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(member)))
			CacheInvalidateRelcacheByRelid(member);
	}
}

static Oid
registry_row_relid(TriggerData *trigdata, HeapTuple tuple)
{
	bool		isnull;
	Datum		value;

	value = heap_getattr(tuple, 1, RelationGetDescr(trigdata->tg_relation),
						 &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(value);
}

/*
 * AFTER INSERT OR UPDATE OR DELETE (per row) and AFTER TRUNCATE (per
 * statement) on tenant_guard.registry.
 */
Datum
registry_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("registry_changed() must be called as a trigger")));
	event = trigdata->tg_event;
	if (!TRIGGER_FIRED_AFTER(event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("registry_changed() must be fired AFTER the change")));

	if (TRIGGER_FIRED_BY_TRUNCATE(event))
		CacheInvalidateRelcacheAll();
	else if (TRIGGER_FIRED_FOR_ROW(event))
	{
		if (trigdata->tg_trigtuple != NULL)
			invalidate_registered_relation(registry_row_relid(trigdata, trigdata->tg_trigtuple));
		if (trigdata->tg_newtuple != NULL)
			invalidate_registered_relation(registry_row_relid(trigdata, trigdata->tg_newtuple));
	}
	return PointerGetDatum(NULL);
}

/*
 * The catalog facts the install script needs as well, answered by the C
 * code that the guard itself uses, so that they are defined once.
 */

/* is_tenant_relkind(relkind "char"): can a relation of this kind be one? */
Datum
tenant_guard_is_tenant_relkind(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(relkind_can_be_tenant_table(PG_GETARG_CHAR(0)));
}

/* is_unguarded_schema(nsp regnamespace): never holds tenant tables? */
Datum
tenant_guard_is_unguarded_schema(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(namespace_never_holds_tenant_tables(PG_GETARG_OID(0)));
}

/*
 * relation_message_name(rel regclass): schema.table as error messages
 * show it inside one pair of double quotes.
 */
Datum
tenant_guard_relation_message_name(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(relation_message_name(PG_GETARG_OID(0))));
}

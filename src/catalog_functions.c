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
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "citus_cluster.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "extension_state.h"
#include "funcapi.h"
#include "registry_shared.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "violation.h"

PG_FUNCTION_INFO_V1(describe_tenant_table);
PG_FUNCTION_INFO_V1(registry_changed);
PG_FUNCTION_INFO_V1(tenant_guard_is_tenant_relkind);
PG_FUNCTION_INFO_V1(tenant_guard_is_unguarded_schema);
PG_FUNCTION_INFO_V1(tenant_guard_relation_message_name);
PG_FUNCTION_INFO_V1(tenant_guard_forget_dropped_relations);

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

	/* every backend's copy of the registry (registry_cache.c), and the shared one */
	CacheInvalidateRelcache(trigdata->tg_relation);
	registry_shared_note_change();
	/*
	 * Citus shards follow their distributed table's entry without being its
	 * inheritance children: with Citus loaded, every cached answer goes.
	 */
	if (TRIGGER_FIRED_BY_TRUNCATE(event) || citus_is_loaded())
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

/*
 * The relations (pg_class objects, whole) that the current DROP removed,
 * from pg_event_trigger_dropped_objects(), called directly rather than
 * through SPI so that no statement of ours runs for a DROP.
 */
static List *
dropped_relations(void)
{
	LOCAL_FCINFO(call, 0);
	FmgrInfo	flinfo;
	ReturnSetInfo rsinfo;
	ExprContext *econtext = CreateStandaloneExprContext();
	TupleTableSlot *slot;
	List	   *relids = NIL;

	fmgr_info(F_PG_EVENT_TRIGGER_DROPPED_OBJECTS, &flinfo);
	memset(&rsinfo, 0, sizeof(rsinfo));
	rsinfo.type = T_ReturnSetInfo;
	rsinfo.econtext = econtext;
	rsinfo.allowedModes = SFRM_Materialize;
	InitFunctionCallInfoData(*call, &flinfo, 0, InvalidOid, NULL, (Node *) &rsinfo);
	(void) FunctionCallInvoke(call);
	if (rsinfo.setResult == NULL)
	{
		FreeExprContext(econtext, true);
		return NIL;
	}

	slot = MakeSingleTupleTableSlot(rsinfo.setDesc, &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(rsinfo.setResult, true, false, slot))
	{
		bool		isnull[3];
		Oid			classid = DatumGetObjectId(slot_getattr(slot, 1, &isnull[0]));
		Oid			objid = DatumGetObjectId(slot_getattr(slot, 2, &isnull[1]));
		int32		objsubid = DatumGetInt32(slot_getattr(slot, 3, &isnull[2]));

		if (!isnull[0] && !isnull[1] && !isnull[2] &&
			classid == RelationRelationId && objsubid == 0)
			relids = lappend_oid(relids, objid);
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(rsinfo.setResult);
	FreeExprContext(econtext, true);
	return relids;
}

static void
delete_registry_entry(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	if (SPI_execute_with_args("DELETE FROM tenant_guard.registry WHERE relid = $1::pg_catalog.oid::pg_catalog.regclass",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the registry entry of relation %u", relid);
}

/*
 * Event trigger on sql_drop: a dropped relation leaves the registry with
 * it, so that a new relation that reuses its OID does not inherit its
 * entry.  Runs for every DROP in the database, so it looks at the registry
 * through its index and runs a statement only when there is an entry to
 * delete; the DELETE fires the registry trigger, which invalidates caches.
 */
Datum
tenant_guard_forget_dropped_relations(PG_FUNCTION_ARGS)
{
	List	   *to_delete = NIL;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("forget_dropped_relations() must be called as an event trigger")));
	if (!extension_is_active())
		PG_RETURN_NULL();

	foreach(lc, dropped_relations())
	{
		if (registry_has_entry(lfirst_oid(lc)))
			to_delete = lappend_oid(to_delete, lfirst_oid(lc));
	}
	if (to_delete == NIL)
		PG_RETURN_NULL();

	extension_work_enter();
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		foreach(lc, to_delete)
			delete_registry_entry(lfirst_oid(lc));
		SPI_finish();
	}
	PG_FINALLY();
	{
		extension_work_leave();
	}
	PG_END_TRY();
	PG_RETURN_NULL();
}

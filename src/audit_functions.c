/*-------------------------------------------------------------------------
 *
 * audit_functions.c
 *	  SQL-callable functions of the audit trail: tenant_guard.flush() and
 *	  tenant_guard.stats().  purge() is plain SQL in the install script.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "audit_queue.h"

#include "audit_writer.h"
#include "extension_state.h"
#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(tenant_guard_flush);
PG_FUNCTION_INFO_V1(tenant_guard_stats);

/* Write this database's waiting violations now; returns how many. */
Datum
tenant_guard_flush(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(audit_flush_current_database());
}

/* Counters since the server started, for every database. */
Datum
tenant_guard_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	AuditCounters counters;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	audit_queue_counters(&counters);
	values[0] = Int64GetDatum((int64) counters.queued);
	values[1] = Int64GetDatum((int64) counters.persisted);
	values[2] = Int64GetDatum((int64) counters.dropped);
	values[3] = Int64GetDatum((int64) counters.pending);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

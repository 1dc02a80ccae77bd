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
#include "call_site.h"
#include "extension_state.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

PG_FUNCTION_INFO_V1(tenant_guard_flush);
PG_FUNCTION_INFO_V1(tenant_guard_stats);
PG_FUNCTION_INFO_V1(tenant_guard_parse_call_site);

/*
 * Have the audit writers write this database's waiting violations now,
 * and wait for them; returns how many left the queue.
 */
Datum
tenant_guard_flush(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(audit_flush_current_database());
}

/*
 * Counters since the cluster was created, for every database, kept over
 * restarts: raised = persisted + sampled + dropped + refused + lost +
 * pending.
 */
Datum
tenant_guard_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	AuditCounters c;
	Datum		values[8];
	bool		nulls[8] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	audit_queue_counters(&c);
	values[0] = Int64GetDatum((int64) c.queued);
	values[1] = Int64GetDatum((int64) c.persisted);
	values[2] = Int64GetDatum((int64) c.dropped);
	values[3] = Int64GetDatum((int64) c.pending);
	values[4] = Int64GetDatum((int64) c.raised);
	values[5] = Int64GetDatum((int64) c.refused);
	values[6] = Int64GetDatum((int64) c.lost);
	values[7] = Int64GetDatum((int64) c.sampled);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * The call site the audit trail records for a statement: the pairs of its
 * sqlcommenter and marginalia comments, or NULL.
 */
Datum
tenant_guard_parse_call_site(PG_FUNCTION_ARGS)
{
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		json[AUDIT_CALL_SITE_MAX];

	if (!call_site_from_query(query, json, sizeof(json)))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

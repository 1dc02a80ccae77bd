/*-------------------------------------------------------------------------
 *
 * error_details.c
 *	  With a tenant context set, the DETAIL of an integrity-constraint
 *	  error on a table goes to the server log only; the client gets a
 *	  detail that names no value.
 *
 * PostgreSQL's constraint errors put values of rows into their DETAIL:
 * an exclusion constraint names the existing row's key ("conflicts with
 * existing key (room_id, during)=(1, [...))"), a unique index under a
 * case-insensitive collation the existing spelling, a check constraint
 * the whole failing row.  The existing row may be another tenant's, so a
 * request acting for one tenant could learn another's data from an error.
 * (That a key exists at all, in a unique index spanning tenants, stays
 * visible: doc/tenant-context.md.)
 *
 * An error can also be caught before it is reported (a PL/pgSQL exception
 * handler reads the detail with GET STACKED DIAGNOSTICS), so the executor
 * calls of a statement that runs under a context withhold it as the error
 * leaves them (error_details_rethrow).
 *
 * The decision must be cheap and must not fail, since it runs in
 * emit_log_hook while an error is being reported: no catalog access.  So
 * every class-23 error that names a table (errtable, which PostgreSQL's
 * constraint errors set) is treated alike while a context is set in a
 * database that has the extension, whether the table is a tenant table or
 * not; the server log keeps the original detail (detail_log).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "error_details.h"

#include "context_rules.h"
#include "extension_state.h"
#include "tenant_context.h"
#include "utils/elog.h"

static emit_log_hook_type prev_emit_log_hook = NULL;

/* Is it a constraint error whose detail can show a row's values? */
static bool
detail_can_show_rows(ErrorData *edata)
{
	return edata->elevel >= ERROR && edata->detail != NULL &&
		edata->table_name != NULL &&
		ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

static void
withhold_detail(ErrorData *edata)
{
	if (edata->detail_log == NULL)
		edata->detail_log = edata->detail;
	edata->detail = pstrdup("The detail can show another tenant's values and is "
							"withheld while a tenant context is set or required; the server log has it.");
}

/*
 * While a context is set, and for roles that must work under one (whose
 * context an injected statement could clear before a deferred check).
 */
bool
error_details_withheld(void)
{
	return extension_present &&
		(tenant_context_is_set() || context_rules_withhold_details());
}

static void
withhold_constraint_detail(ErrorData *edata)
{
	if (detail_can_show_rows(edata) && error_details_withheld())
		withhold_detail(edata);
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * In the PG_CATCH of a statement's executor call pinned to a context
 * (tenant_guard.c): rethrow the error, its detail withheld if it could show
 * a row's values.  Before an exception handler sees it: PL/pgSQL's GET
 * STACKED DIAGNOSTICS reads the detail of an error no one reported.  cxt is
 * the memory context of the call.
 */
void
error_details_rethrow(MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (!detail_can_show_rows(edata))
		PG_RE_THROW();
	FlushErrorState();
	withhold_detail(edata);
	ReThrowError(edata);
}

void
error_details_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = withhold_constraint_detail;
}

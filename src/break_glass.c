/*-------------------------------------------------------------------------
 *
 * break_glass.c
 *	  tenant_guard.break_glass(reason text): billing runs, support tools
 *	  and migrations read across tenants; this is how they do it in the
 *	  open.  For the rest of the calling transaction no statement is
 *	  refused by the scoping or tenant-context rules (the amount rules still
 *	  apply), and every statement on tenant tables is recorded, never
 *	  sampled, as kind break_glass with the reason (context_rules.c finds
 *	  the statements, violation.c records them).
 *
 * Nobody may call it until a DBA grants EXECUTE: the extension's scripts
 * revoke it from PUBLIC.  It is refused outside a transaction block, so
 * that it can never outlive the statements it was meant for, and without
 * a reason someone reading the trail can follow.  Rolling back to a
 * savepoint taken before a call undoes the call, as it undoes everything
 * else: the calls are kept as a stack, one entry per call with the
 * subtransaction it was made in, and the reason recorded is the latest
 * call's still in force.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "break_glass.h"

#include "access/xact.h"
#include "audit_queue.h"
#include "context_rules.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define REASON_MIN_CHARACTERS 8

bool		break_glass_active = false;

/* One call: its reason, and the subtransaction that made it (or took it over). */
typedef struct BreakGlassCall
{
	char		reason[AUDIT_REASON_MAX];
	SubTransactionId subid;
	struct BreakGlassCall *earlier;
} BreakGlassCall;

/* The latest call in force; in TopMemoryContext, freed when it ends. */
static BreakGlassCall *latest = NULL;

const char *
break_glass_reason(void)
{
	return latest != NULL ? latest->reason : NULL;
}

static void
pop_call(void)
{
	BreakGlassCall *call = latest;

	latest = call->earlier;
	pfree(call);
	break_glass_active = (latest != NULL);
	if (!break_glass_active)
		context_rules_refresh();
}

/* At the end of the transaction (context_rules.c). */
void
break_glass_end(void)
{
	while (latest != NULL)
		pop_call();
}

/*
 * A savepoint rolled back undoes the calls made since; one released
 * hands them to its parent.
 */
static void
break_glass_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							 SubTransactionId parentSubid, void *arg)
{
	if (!break_glass_active)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		while (latest != NULL && latest->subid == mySubid)
			pop_call();
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (BreakGlassCall *call = latest; call != NULL && call->subid == mySubid;
			 call = call->earlier)
			call->subid = parentSubid;
	}
}

void
break_glass_init(void)
{
	RegisterSubXactCallback(break_glass_subxact_callback, NULL);
}

/* The reason without the spaces around it, checked. */
static char *
checked_reason(text *given)
{
	char	   *value = text_to_cstring(given);
	char	   *end;

	while (isspace((unsigned char) *value))
		value++;
	end = value + strlen(value);
	while (end > value && isspace((unsigned char) end[-1]))
		*--end = '\0';
	if (pg_mbstrlen(value) < REASON_MIN_CHARACTERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a break-glass reason must be at least %d characters long",
						REASON_MIN_CHARACTERS),
				 errhint("Say why the transaction must reach across tenants, e.g. a ticket number and what it fixes.")));
	if (strlen(value) >= AUDIT_REASON_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a break-glass reason must be shorter than %d bytes",
						AUDIT_REASON_MAX)));
	return value;
}

PG_FUNCTION_INFO_V1(tenant_guard_break_glass);

Datum
tenant_guard_break_glass(PG_FUNCTION_ARGS)
{
	char	   *value;
	BreakGlassCall *call;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a break-glass reason must not be null")));
	if (!IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("tenant_guard.break_glass() can only be used in a transaction block"),
				 errdetail("Breaking glass lasts until the end of the transaction it was called in."),
				 errhint("Call it after BEGIN, before the statements that need it.")));
	value = checked_reason(PG_GETARG_TEXT_PP(0));
	context_rules_need_xact_callback();
	call = MemoryContextAlloc(TopMemoryContext, sizeof(BreakGlassCall));
	strlcpy(call->reason, value, sizeof(call->reason));
	call->subid = GetCurrentSubTransactionId();
	call->earlier = latest;
	latest = call;
	break_glass_active = true;
	context_rules_refresh();
	ereport(LOG_SERVER_ONLY,
			(errmsg("tenant_guard: role \"%s\" breaks glass for this transaction: %s",
					GetUserNameFromId(GetUserId(), false), call->reason),
			 errhidestmt(true)));
	PG_RETURN_VOID();
}

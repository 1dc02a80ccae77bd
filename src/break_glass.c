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
 * savepoint taken before the call ends it, as it undoes everything else
 * the call did.
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

static char reason[AUDIT_REASON_MAX];
static SubTransactionId called_in = InvalidSubTransactionId;

const char *
break_glass_reason(void)
{
	return break_glass_active ? reason : NULL;
}

/* At the end of the transaction (context_rules.c), or of its savepoint. */
void
break_glass_end(void)
{
	if (!break_glass_active)
		return;
	break_glass_active = false;
	called_in = InvalidSubTransactionId;
	context_rules_refresh();
}

static void
break_glass_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							 SubTransactionId parentSubid, void *arg)
{
	if (!break_glass_active || mySubid != called_in)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		break_glass_end();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		called_in = parentSubid;
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
	strlcpy(reason, value, sizeof(reason));
	if (!break_glass_active)
		called_in = GetCurrentSubTransactionId();
	break_glass_active = true;
	context_rules_refresh();
	ereport(LOG_SERVER_ONLY,
			(errmsg("tenant_guard: role \"%s\" breaks glass for this transaction: %s",
					GetUserNameFromId(GetUserId(), false), reason),
			 errhidestmt(true)));
	PG_RETURN_VOID();
}

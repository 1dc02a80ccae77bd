/*-------------------------------------------------------------------------
 *
 * tenant_context.c
 *	  The tenant context (doc/tenant-context.md): tenant_guard.tenant names
 *	  the tenant, or comma-separated tenants, the session or transaction acts
 *	  for; empty means no context.  tenant_guard.verify_rows says whether
 *	  statements without a tenant scope are verified row by row while a
 *	  context is set.
 *
 * Values are compared in the tenant column's own type: each text value of
 * the context goes through the type's input function once per type, and
 * the results are kept until the setting changes.  The assign hook may run
 * outside a transaction (at the end of one, when SET LOCAL is undone), so
 * it only marks the converted values stale; they are converted again on
 * the next comparison, inside a statement.
 *
 * Any role may set the context: choosing the tenant is the application's
 * job.  Where SQL injection must not be able to choose it, the value is
 * signed (signed_context.c: then the context is the part before the
 * signature, which alone reaches messages and the audit trail), and
 * context_rules.c refuses unsigned and session-level values for the roles
 * that must not set them.  verify_rows is PGC_SUSET since turning it off
 * widens what passes.
 *
 * One context per statement.  A statement that reads or writes tenant
 * tables and starts under a context runs under a snapshot of it
 * (statement_context.c takes it, activates it around each executor call of
 * the statement, cursors' FETCHes included): every comparison here reads
 * the active snapshot, never the live setting, so nothing the statement
 * runs can switch its checks to another context.  While such a statement
 * runs the context is pinned: a change of the setting is refused by the
 * check hook (SET, set_config, a function's SET clause), by
 * tenant_context_refuse_reset (RESET, SET ... TO DEFAULT, RESET ALL), and,
 * for what reaches neither (set_config with a NULL value), noticed by the
 * assign hook and turned into an error when the executor call returns, so
 * that the change is rolled back with the statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tenant_context.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "citus_cluster.h"
#include "context_rules.h"
#include "extension_state.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "settings.h"
#include "signed_context.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

bool		tenant_guard_verify_rows = true;

/* Longer values are refused: the report to the client must fit libpq's limit. */
#define TENANT_SETTING_MAX 24576

/* The setting as given, and parsed into its values (GUC "extra"). */
static char *tenant_setting = NULL;

typedef struct ContextValues
{
	bool		signed_value;	/* verified by its signature */
	const char *tenants;		/* the tenants as written, without signature */
	int			count;
	char	   *values[FLEXIBLE_ARRAY_MEMBER];	/* point into the same block */
} ContextValues;

static const ContextValues *context_values = NULL;

/*
 * A copy of the context, in force for the statements that hold it
 * (statement_context.c).  Statements started under the same setting share
 * one copy, counted, in memory of its own: the copy is made once per
 * change of the setting, not once per statement.
 */
struct TenantContextSnapshot
{
	uint64		generation;		/* context_generation when it was taken */
	int			holders;		/* statements holding it */
	MemoryContext memory;		/* holds this struct and the values */
	char	   *text;			/* the setting as given */
	ContextValues *values;
};

/* The copy of the setting as it is now, if one was made. */
static TenantContextSnapshot *latest_snapshot = NULL;

static TenantContextSnapshot *active_snapshot = NULL;

/* tenant_context_may_be_set(): a context is set, or a snapshot in force. */
bool		tenant_context_maybe = false;
static int	pin_depth = 0;

/*
 * Counts the changes of the setting's value.  A pin remembers the count;
 * a different one when the pinned call returns means the context changed
 * meanwhile by a way no refusal saw.  Nested calls compare with their own
 * count and never reset it, so an outer call still sees what an inner one
 * saw (and an error an inner one raised and a handler caught).
 */
static uint64 context_changes = 0;

/* The values converted to one type, valid for one generation. */
#define CONVERSION_SLOTS 8

typedef struct Conversion
{
	Oid			typid;			/* the type asked for (maybe a domain) */
	Oid			column_type;	/* converted through it first, or InvalidOid */
	Oid			basetype;		/* compared in this one */
	int			count;			/* values converted: the context's count */
	Datum	   *datums;
	FmgrInfo	eq;
	Oid			collation;
} Conversion;

static Conversion conversions[CONVERSION_SLOTS];
static int	conversion_count = 0;
static int	conversion_next = 0;
static uint64 conversions_generation = 0;	/* of the values converted */
static MemoryContext conversion_context = NULL;

/*
 * Counts the changes of the setting.  User code (a domain's check, a type's
 * input function) runs while values are converted and may change the
 * setting, which frees the values being converted; the count tells that it
 * happened.
 */
static uint64 context_generation = 1;

static inline void
refresh_maybe(void)
{
	tenant_context_maybe = active_snapshot != NULL ||
		(context_values != NULL && context_values->count > 0);
}

/* The context in force: the running statement's snapshot, or the setting. */
static inline const ContextValues *
values_in_force(void)
{
	return active_snapshot != NULL ? active_snapshot->values : context_values;
}

static inline uint64
generation_in_force(void)
{
	return active_snapshot != NULL ? active_snapshot->generation : context_generation;
}

/* The tenants of the setting, without a signature, for messages. */
static const char *
setting_tenants(void)
{
	return context_values != NULL ? context_values->tenants : "";
}

/*
 * What SHOW, current_setting(), pg_settings and the report to the client
 * give: the tenants, never the signature, so that SQL run in a request
 * cannot read the request's signed value and set it again later.
 */
static const char *
show_tenant(void)
{
	return setting_tenants();
}

/* Is the new value short enough, and may the setting change now? */
static bool
setting_may_change(const char *newval, GucSource source)
{
	if (strlen(newval) > TENANT_SETTING_MAX)
	{
		GUC_check_errmsg("tenant_guard.tenant is longer than %d bytes", TENANT_SETTING_MAX);
		GUC_check_errdetail("The setting is reported to the client, and clients refuse longer reports.");
		return false;
	}
	if (pin_depth > 0 && source != PGC_S_TEST &&
		strcmp(newval, tenant_setting ? tenant_setting : "") != 0)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("tenant_guard.tenant cannot change while a statement on tenant tables runs");
		GUC_check_errdetail("The statement started under tenant_guard.tenant \"%s\" and keeps it to its end.",
							setting_tenants());
		GUC_check_errhint("Change the tenant context between statements.");
		return false;
	}
	return true;
}

/*
 * The tenants, trimmed, into *parts (pointers into a palloc'd copy); false
 * for an empty value between commas.  Blank tenants are no context.
 */
static bool
split_tenants(const char *tenants, List **parts)
{
	char	   *start = pstrdup(tenants);

	*parts = NIL;
	if (start[strspn(start, " \t\r\n")] == '\0')
		return true;
	for (;;)
	{
		char	   *comma = strchr(start, ',');
		char	   *end;

		if (comma)
			*comma = '\0';
		while (*start && isspace((unsigned char) *start))
			start++;
		end = start + strlen(start);
		while (end > start && isspace((unsigned char) end[-1]))
			*--end = '\0';
		if (*start == '\0')
		{
			GUC_check_errdetail("Tenant values are separated by commas; an empty value is not allowed.");
			return false;
		}
		*parts = lappend(*parts, start);
		if (!comma)
			return true;
		start = comma + 1;
	}
}

/* The parsed values in one block of GUC "extra" memory, or NULL. */
static ContextValues *
pack_values(const char *tenants, List *parts, bool signed_value)
{
	Size		size = offsetof(ContextValues, values) + sizeof(char *) * list_length(parts) +
		strlen(tenants) + 1;
	ContextValues *parsed;
	char	   *strings;
	ListCell   *lc;
	int			i = 0;

	foreach(lc, parts)
		size += strlen(lfirst(lc)) + 1;
	parsed = tg_guc_extra_alloc(size);
	if (parsed == NULL)
		return NULL;
	strings = (char *) &parsed->values[list_length(parts)];
	parsed->signed_value = signed_value;
	parsed->tenants = strcpy(strings, tenants);
	strings += strlen(strings) + 1;
	foreach(lc, parts)
	{
		strcpy(strings, lfirst(lc));
		parsed->values[i++] = strings;
		strings += strlen(strings) + 1;
	}
	parsed->count = i;
	return parsed;
}

/*
 * Split "5, 6" into trimmed values.  Each value is taken as written, so
 * that a uuid or text tenant can contain anything but a comma.  The result
 * is one block of GUC "extra" memory (tg_guc_extra_alloc), which outlives
 * every memory context.
 */
static bool
check_tenant(char **newval, void **extra, GucSource source)
{
	char	   *tenants = *newval;
	List	   *parts;
	ContextValues *parsed;
	SignedContextCheck signature;

	if (!setting_may_change(*newval, source))
		return false;
	signature = signed_context_check(*newval, context_rules_verify_signatures(source),
									 &tenants);
	if (signature == SIGNED_CONTEXT_REFUSED ||
		!context_rules_check_value(*newval, signature == SIGNED_CONTEXT_VALID, source) ||
		!split_tenants(tenants, &parts))
		return false;
	parsed = pack_values(tenants, parts, signature == SIGNED_CONTEXT_VALID);
	if (parsed == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	*extra = parsed;
	context_rules_value_checked(*newval, source);
	return true;
}

/*
 * May run outside a transaction: only mark the conversions stale.  With
 * Citus, the plans of single-table SELECTs carry the context they were
 * made for (row_verification.c): cached plans are made again, which needs
 * no catalog access here, only flags set.
 */
static void
assign_tenant(const char *newval, void *extra)
{
	if (strcmp(newval ? newval : "", tenant_setting ? tenant_setting : "") != 0)
		context_changes++;
	context_rules_value_assigned(newval, ((const ContextValues *) extra)->count > 0);
	context_values = (const ContextValues *) extra;
	context_generation++;
	refresh_maybe();
	if (citus_is_loaded())
		ResetPlanCache();
}

void
tenant_context_define(void)
{
	DefineCustomStringVariable("tenant_guard.tenant",
							   "The tenant, or comma-separated tenants, the session or transaction acts for.",
							   "Empty means no tenant context.  With a context, statements may touch "
							   "only rows of these tenants; set it per request with SET LOCAL or "
							   "set_config(..., true).",
							   &tenant_setting,
							   "",
							   PGC_USERSET,
							   GUC_LIST_INPUT | GUC_REPORT,
							   check_tenant,
							   assign_tenant,
							   show_tenant);

	DefineCustomBoolVariable("tenant_guard.verify_rows",
							 "Verify statements without a tenant scope row by row while a tenant context is set.",
							 "Off judges them by the unscoped rule, as without a context.",
							 &tenant_guard_verify_rows,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

bool
tenant_context_is_set(void)
{
	const ContextValues *values = values_in_force();

	return values != NULL && values->count > 0;
}

bool
row_verification_in_force(void)
{
	return tenant_guard_verify_rows && tenant_context_is_set();
}

/* The context as set (for messages and the audit trail), or NULL. */
const char *
tenant_context_text(void)
{
	if (!tenant_context_is_set())
		return NULL;
	return active_snapshot != NULL ? active_snapshot->text : context_values->tenants;
}

static TenantContextSnapshot *
copy_context(void)
{
	MemoryContext memory = AllocSetContextCreate(TopMemoryContext,
												 "tenant_guard statement context",
												 ALLOCSET_SMALL_SIZES);
	TenantContextSnapshot *snapshot = MemoryContextAlloc(memory, sizeof(TenantContextSnapshot));
	Size		size = offsetof(ContextValues, values) +
		sizeof(char *) * context_values->count;

	snapshot->generation = context_generation;
	snapshot->holders = 0;
	snapshot->memory = memory;
	snapshot->text = MemoryContextStrdup(memory, context_values->tenants);
	snapshot->values = MemoryContextAlloc(memory, size);
	snapshot->values->count = context_values->count;
	for (int i = 0; i < context_values->count; i++)
		snapshot->values->values[i] = MemoryContextStrdup(memory, context_values->values[i]);
	return snapshot;
}

/*
 * The context for a statement to run under, held until
 * tenant_context_release: inside another statement's pinned call, that
 * statement's (a statement a function or a cursor's FETCH runs keeps the
 * context of the statement that runs it); else the setting as it is.  NULL
 * when there is no context.
 */
TenantContextSnapshot *
tenant_context_hold(void)
{
	context_rules_check_closed();
	if (active_snapshot != NULL)
	{
		active_snapshot->holders++;
		return active_snapshot;
	}
	if (context_values == NULL || context_values->count == 0)
		return NULL;
	context_rules_check_use(context_values->signed_value);
	if (latest_snapshot == NULL || latest_snapshot->generation != context_generation)
	{
		TenantContextSnapshot *copy = copy_context();

		if (latest_snapshot != NULL && latest_snapshot->holders == 0)
			MemoryContextDelete(latest_snapshot->memory);
		latest_snapshot = copy;
	}
	latest_snapshot->holders++;
	return latest_snapshot;
}

/* A statement is done with its snapshot (its executor state is gone). */
void
tenant_context_release(TenantContextSnapshot *snapshot)
{
	if (--snapshot->holders == 0 && snapshot != latest_snapshot)
		MemoryContextDelete(snapshot->memory);
}

/*
 * Put the snapshot in force, inside a pinned call (tenant_context_unpin
 * restores what was in force before).
 */
void
tenant_context_activate(TenantContextSnapshot *snapshot)
{
	Assert(pin_depth > 0);
	active_snapshot = snapshot;
	refresh_maybe();
}

/*
 * Pin the context for a statement's executor call and, with a snapshot,
 * put it in force; tenant_context_unpin must follow, also on error
 * (PG_FINALLY).
 */
void
tenant_context_pin(TenantContextPin *pin, TenantContextSnapshot *snapshot)
{
	pin->before = active_snapshot;
	pin->changes = context_changes;
	if (snapshot != NULL)
		active_snapshot = snapshot;
	pin_depth++;
	refresh_maybe();
}

void
tenant_context_unpin(const TenantContextPin *pin)
{
	active_snapshot = pin->before;
	pin_depth--;
	refresh_maybe();
}

/*
 * After a pinned call returned: a change of the setting that got past the
 * refusals is an error, which rolls it back with the statement.
 */
void
tenant_context_check_unchanged(const TenantContextPin *pin)
{
	if (context_changes != pin->changes)
		tenant_context_report_change();
}

/* The error of a change of the setting while a statement ran. */
void
tenant_context_report_change(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("tenant_guard.tenant cannot change while a statement on tenant tables runs"),
			 errdetail("The statement reset or changed the tenant context while it ran."),
			 errhint("Change the tenant context between statements.")));
}

/* RESET, SET ... TO DEFAULT and RESET ALL, refused while the context is pinned. */
void
tenant_context_refuse_reset(void)
{
	const char *reset = GetConfigOptionResetString("tenant_guard.tenant");

	if (pin_depth == 0 || strcmp(reset ? reset : "", tenant_setting ? tenant_setting : "") == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("tenant_guard.tenant cannot change while a statement on tenant tables runs"),
			 errdetail("The statement started under tenant_guard.tenant \"%s\" and keeps it to its end.",
					   setting_tenants()),
			 errhint("Change the tenant context between statements.")));
}

static void
forget_conversions(void)
{
	if (conversion_context == NULL)
		conversion_context = AllocSetContextCreate(TopMemoryContext,
												   "tenant_guard tenant context",
												   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(conversion_context);
	conversion_count = 0;
	conversion_next = 0;
}

/*
 * Convert one context value with the type's input function.  A value the
 * type rejects (a data exception, or a domain's check) becomes an error
 * that names the setting and the column; anything else is re-thrown.
 */
static Datum
convert_value(const char *value, Oid typid, Oid relid, const char *column)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			input;
	Oid			ioparam;
	Datum		result = (Datum) 0;

	getTypeInputInfo(typid, &input, &ioparam);
	PG_TRY();
	{
		result = OidInputFunctionCall(input, (char *) value, ioparam, -1);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			category;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);
		if (category != ERRCODE_DATA_EXCEPTION &&
			category != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value \"%s\" in tenant_guard.tenant for tenant column \"%s\" of type %s",
						value, column, format_type_be(typid)),
				 errdetail("%s", edata->message),
				 errhint("Set tenant_guard.tenant to tenant values of the type of the tenant column of table \"%s\".",
						 relation_message_name(relid))));
	}
	PG_END_TRY();
	return result;
}

/*
 * The context's values converted to typid.  User code can run inside
 * convert_value and change the setting, free the values read here or
 * convert (and so reset) the cache itself, so nothing shared is held
 * across it: the values are copied first, converted into the caller's
 * memory, and installed in a slot only once every conversion has returned.
 * A context that changed meanwhile is an error, not a half-filled slot.
 */
/*
 * A context value as the column's type writes it, in another type: "01"
 * for an integer column is 1, and so '1' when the scope compares the
 * column as text (firm_id::text = '1'); an upper-case uuid is compared in
 * lower case.  The scope names rows by the column's value, whatever type
 * it compares in.
 */
static Datum
convert_value_through(const char *value, Oid typid, Oid column_type, Oid relid,
					  const char *column)
{
	Datum		in_column;
	Oid			output;
	bool		varlena;

	in_column = convert_value(value, column_type, relid, column);
	getTypeOutputInfo(column_type, &output, &varlena);
	return convert_value(OidOutputFunctionCall(output, in_column), typid, relid, column);
}

/*
 * The context's values in type typid; converted through the tenant
 * column's type first when column_type is valid and another type.
 */
static Conversion *
conversion_for(Oid typid, Oid column_type, Oid relid, const char *column)
{
	const ContextValues *in_force = values_in_force();
	uint64		generation = generation_in_force();
	int			count = in_force->count;
	char	  **values;
	Datum	   *datums;
	Conversion *slot;
	TypeCacheEntry *entry;
	MemoryContext old;
	Oid			basetype;
	int16		typlen;
	bool		typbyval;

	if (column_type == typid)
		column_type = InvalidOid;
	if (generation == conversions_generation)
	{
		for (int i = 0; i < conversion_count; i++)
		{
			if (conversions[i].typid == typid && conversions[i].column_type == column_type)
				return &conversions[i];
		}
	}
	values = palloc(sizeof(char *) * count);
	datums = palloc(sizeof(Datum) * count);

	basetype = getBaseType(typid);
	entry = lookup_type_cache(basetype, TYPECACHE_EQ_OPR_FINFO);
	if (!OidIsValid(entry->eq_opr_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("tenant column \"%s\" of type %s has no equality operator",
						column, format_type_be(typid))));
	for (int i = 0; i < count; i++)
		values[i] = pstrdup(in_force->values[i]);
	for (int i = 0; i < count; i++)
		datums[i] = OidIsValid(column_type) ?
			convert_value_through(values[i], typid, column_type, relid, column) :
			convert_value(values[i], typid, relid, column);
	if (generation != generation_in_force())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenant_guard.tenant cannot be changed while its values are converted to type %s",
						format_type_be(typid)),
				 errdetail("A function run by the type's input or by a domain's check changed the setting.")));

	if (generation != conversions_generation || conversion_count == CONVERSION_SLOTS)
	{
		forget_conversions();
		conversions_generation = generation;
	}
	slot = &conversions[conversion_next++];
	conversion_count = Max(conversion_count, conversion_next);
	conversion_next %= CONVERSION_SLOTS;
	slot->typid = typid;
	slot->column_type = column_type;
	slot->basetype = basetype;
	slot->count = count;
	entry = lookup_type_cache(basetype, TYPECACHE_EQ_OPR_FINFO);
	fmgr_info_copy(&slot->eq, &entry->eq_opr_finfo, conversion_context);
	slot->collation = get_typcollation(basetype);
	if (slot->collation == InvalidOid && type_is_collatable(typid))
		slot->collation = DEFAULT_COLLATION_OID;
	get_typlenbyval(basetype, &typlen, &typbyval);
	old = MemoryContextSwitchTo(conversion_context);
	slot->datums = palloc(sizeof(Datum) * count);
	for (int i = 0; i < count; i++)
		slot->datums[i] = datumCopy(datums[i], typbyval, typlen);
	MemoryContextSwitchTo(old);
	return slot;
}

/* Every value of the context must be valid for the column's type. */
void
tenant_context_validate(Oid typid, Oid relid, const char *column)
{
	if (tenant_context_is_set())
		(void) conversion_for(typid, InvalidOid, relid, column);
}

/*
 * Is the value, of type typid, one of the context's values as the tenant
 * column (of column_type) holds them, converted to typid?
 */
bool
tenant_context_contains_as(Oid typid, Datum value, Oid column_type, Oid relid,
						   const char *column)
{
	Conversion *conversion = conversion_for(typid, column_type, relid, column);

	for (int i = 0; i < conversion->count; i++)
	{
		if (DatumGetBool(FunctionCall2Coll(&conversion->eq, conversion->collation,
										   conversion->datums[i], value)))
			return true;
	}
	return false;
}

char *
tenant_value_text(Oid typid, Datum value, bool isnull)
{
	Oid			output;
	bool		varlena;

	if (isnull)
		return pstrdup("null");
	getTypeOutputInfo(typid, &output, &varlena);
	return OidOutputFunctionCall(output, value);
}

static const char *
source_phrase(TenantValueSource source)
{
	switch (source)
	{
		case TENANT_VALUE_READ:
			return "of a row the statement reads";
		case TENANT_VALUE_CHANGED:
			return "of a row the statement updates or deletes";
		case TENANT_VALUE_WRITTEN:
			return "of a row the statement writes";
		case TENANT_VALUE_SCOPE:
		case TENANT_VALUE_UNKNOWN:
			break;
	}
	return "";
}

/* The command tag of the statement being run, when there is a portal. */
static const char *
current_command(void)
{
	if (ActivePortal == NULL)
		return NULL;
	return GetCommandTagName(ActivePortal->commandTag);
}

/* The errdetail of a cross-tenant violation. */
char *
cross_tenant_detail(TenantValueSource source, const char *column,
					const char *row_tenant)
{
	const char *context = tenant_context_text();

	if (source == TENANT_VALUE_SCOPE)
		return psprintf("The statement's condition on tenant column \"%s\" names tenant %s; "
						"tenant_guard.tenant is \"%s\".", column, row_tenant, context);
	if (source == TENANT_VALUE_UNKNOWN)
		return psprintf("The tenant value the statement's condition on tenant column \"%s\" names "
						"cannot be known before the statement runs; tenant_guard.tenant is \"%s\".",
						column, context);
	return psprintf("Tenant column \"%s\" %s is %s; tenant_guard.tenant is \"%s\".",
					column, source_phrase(source), row_tenant, context);
}

/*
 * Report a row or a scope of another tenant than the context's: a
 * cross_tenant_read or cross_tenant_write.  Does not return in enforce
 * mode.
 */
void
report_cross_tenant(ViolationKind kind, TenantValueSource source, Oid relid,
					const char *column, const char *row_tenant)
{
	char	   *relation = relation_message_name(relid);
	const char *context = tenant_context_text();
	Violation	violation;

	violation.kind = kind;
	violation.relid = relid;
	violation.column = column;
	violation.command = current_command();
	violation.sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
	violation.message =
		psprintf(kind == VIOLATION_CROSS_TENANT_WRITE ?
				 "cross-tenant write to tenant table \"%s\"" :
				 "cross-tenant read of tenant table \"%s\"", relation);
	violation.detail = cross_tenant_detail(source, column, row_tenant);
	violation.hint = "Restrict the statement to the tenant of the request, or set "
		"tenant_guard.tenant to the tenant the request acts for.";
	violation_report_tenant(&violation, (GuardMode) tenant_guard_mode,
							context, row_tenant);
}

/*
 * The OID of one of the extension's functions, or InvalidOid when the
 * installed version does not have it (a database still at 0.1.0): the
 * caller then leaves the statement as it is.  The answer is cached in
 * *cached and checked to still exist, since the extension can be dropped
 * and created again in a session.
 */
Oid
tenant_guard_function(const char *name, int nargs, const Oid *argtypes,
					  Oid *cached)
{
	char	   *schema;

	if (OidIsValid(*cached) &&
		SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(*cached)))
		return *cached;
	schema = get_namespace_name(extension_schema_oid());
	if (schema == NULL)
		return InvalidOid;
	*cached = LookupFuncName(list_make2(makeString(schema), makeString((char *) name)),
							 nargs, argtypes, true);
	return *cached;
}

/*
 * The row checks are SQL-visible, as every function a plan calls must be,
 * but run only through the expressions tenant_guard builds, which carry a
 * mark no SQL text can produce (COERCE_SQL_SYNTAX): nobody writes audit
 * rows by calling them.
 */
void
require_planned_check(FunctionCallInfo fcinfo, const char *name)
{
	Node	   *expr = fcinfo->flinfo->fn_expr;

	if (expr == NULL || !IsA(expr, FuncExpr) ||
		((FuncExpr *) expr)->funcformat != COERCE_SQL_SYNTAX)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s() cannot be called directly", name),
				 errdetail("tenant_guard adds it to statements on tenant tables while a tenant context may be set.")));
}

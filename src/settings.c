/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The tenant_guard.* configuration parameters.
 *
 * Owns the GUC definitions and their validation.  Every parameter that can
 * weaken the guard is PGC_SUSET, so only superusers (or roles granted SET
 * on the parameter) can change it, also through set_config(), ALTER ROLE
 * ... SET or a function's SET clause.  tenant_columns is parsed once, in
 * its check hook, and the parsed list is handed to the assign hook through
 * "extra"; the assign hook only swaps a pointer and resets the tenant-table
 * cache, because assign hooks may run outside a transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "settings.h"

#include "audit_queue.h"
#include "citus_cluster.h"
#include "tenant_catalog.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "utils/varlena.h"

int			tenant_guard_mode = GUARD_MODE_LOG;
int			tenant_guard_amount_mode = GUARD_MODE_ENFORCE;
int			tenant_guard_client_messages = CLIENT_MESSAGE_OFF;
const TenantColumnList *tenant_column_list = NULL;

/* The raw string GUC variable; only the check and assign hooks read it. */
static char *tenant_columns_setting = NULL;

static const struct config_enum_entry guard_mode_options[] = {
	{"off", GUARD_MODE_OFF, false},
	{"log", GUARD_MODE_LOG, false},
	{"enforce", GUARD_MODE_ENFORCE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry client_message_options[] = {
	{"off", CLIENT_MESSAGE_OFF, false},
	{"notice", CLIENT_MESSAGE_NOTICE, false},
	{"warning", CLIENT_MESSAGE_WARNING, false},
	{NULL, 0, false}
};

/*
 * Parse a comma-separated identifier list.  Quoted names keep their case,
 * unquoted ones are folded to lower case and over-long ones truncated, as
 * PostgreSQL does with any identifier.  On success the result
 * is GUC "extra" memory (tg_guc_extra_alloc), which outlives any memory
 * context.
 */
static bool
check_tenant_columns(char **newval, void **extra, GucSource source)
{
	char	   *rawcopy = pstrdup(*newval);
	List	   *names;
	ListCell   *lc;
	TenantColumnList *parsed;
	int			i = 0;

	if (!SplitIdentifierString(rawcopy, ',', &names))
	{
		GUC_check_errdetail("List syntax is invalid: expected comma-separated column names.");
		return false;
	}
	if (names == NIL)
	{
		GUC_check_errdetail("At least one tenant column name is required.");
		return false;
	}

	parsed = tg_guc_extra_alloc(offsetof(TenantColumnList, names) +
					sizeof(NameData) * list_length(names));
	if (parsed == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}

	foreach(lc, names)
	{
		const char *name = lfirst(lc);

		for (int j = 0; j < i; j++)
		{
			if (strcmp(NameStr(parsed->names[j]), name) == 0)
			{
				GUC_check_errdetail("Column name \"%s\" is listed twice.", name);
				tg_guc_extra_free(parsed);
				return false;
			}
		}
		namestrcpy(&parsed->names[i++], name);
	}
	parsed->count = i;
	*extra = parsed;
	return true;
}

/*
 * Another list makes other tables tenant tables: forget every cached answer,
 * and every cached plan, whose findings were computed with the old list.
 */
static void
assign_tenant_columns(const char *newval, void *extra)
{
	tenant_column_list = (const TenantColumnList *) extra;
	tenant_catalog_reset();
	ResetPlanCache();
}

/*
 * With Citus, the plans of single-table SELECTs carry the mode they were
 * made in (row_verification.c): cached plans are made again.
 */
static void
assign_mode(int newval, void *extra)
{
	if (citus_is_loaded())
		ResetPlanCache();
}

/*
 * Plans made under amount_mode = off carry no amount assignments
 * (amount_statement.c): leaving off makes cached plans again.
 */
static void
assign_amount_mode(int newval, void *extra)
{
	if ((newval == GUARD_MODE_OFF) != (tenant_guard_amount_mode == GUARD_MODE_OFF))
		ResetPlanCache();
}

void
settings_define(void)
{
	DefineCustomEnumVariable("tenant_guard.mode",
							 "What to do with a statement that touches a tenant table without a tenant scope.",
							 "off does nothing, log records the violation and lets the statement run, "
							 "enforce rejects the statement.",
							 &tenant_guard_mode,
							 GUARD_MODE_LOG,
							 guard_mode_options,
							 PGC_SUSET,
							 0,
							 NULL, assign_mode, NULL);

	DefineCustomEnumVariable("tenant_guard.amount_mode",
							 "What to do with an update of a protected amount column that could lose a concurrent update.",
							 "off does nothing, log records the violation and lets the update run, "
							 "enforce rejects the update.",
							 &tenant_guard_amount_mode,
							 GUARD_MODE_ENFORCE,
							 guard_mode_options,
							 PGC_SUSET,
							 0,
							 NULL, assign_amount_mode, NULL);

	DefineCustomEnumVariable("tenant_guard.client_messages",
							 "Whether clients also see violations that log mode lets through.",
							 "off sends them to the server log and the audit trail only; notice "
							 "or warning also sends them to the client at that level.",
							 &tenant_guard_client_messages,
							 CLIENT_MESSAGE_OFF,
							 client_message_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("tenant_guard.audit_queue_size",
							"Violations that can wait in shared memory to be written to tenant_guard.violations.",
							"When the queue is full, further violations are counted as dropped "
							"(tenant_guard.stats()) and only logged.  Takes effect at server start.",
							&audit_queue_size,
							1024, 16, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("tenant_guard.audit_sample_interval",
							"Logged repeats of one statement shape keep at most one detail row per interval.",
							"The other repeats are only counted, exactly, in tenant_guard.violation_counts.  "
							"Rejections, non_atomic_amount violations and new shapes always keep a row; "
							"0 keeps a row for every violation.",
							&audit_sample_interval_ms,
							1000, 0, 3600000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("tenant_guard.tenant_columns",
							   "Column names that make a table a tenant table, first match wins.",
							   "Comma-separated identifiers; tables can be registered or excluded "
							   "individually with tenant_guard.register_table() and exclude_table().",
							   &tenant_columns_setting,
							   "org_id, organization_id, firm_id, tenant_id",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_tenant_columns,
							   assign_tenant_columns,
							   NULL);

	DefineCustomStringVariable("tenant_guard.cluster_secret",
							   "Shared secret that proves a connection between nodes of a Citus cluster.",
							   "Set the same value on every node: the server sends it with the connections "
							   "it opens, and a worker leaves connections Citus opened with it to the "
							   "coordinator's judgement.  Empty: every connection is judged.",
							   &tenant_guard_cluster_secret,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   citus_cluster_check_secret,
							   citus_cluster_assign_secret,
							   NULL);

	DefineCustomStringVariable("tenant_guard.cluster_proof",
							   "The cluster secret a connection between nodes presents; set by the server, not by clients.",
							   NULL,
							   &tenant_guard_cluster_proof,
							   "",
							   PGC_BACKEND,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
}

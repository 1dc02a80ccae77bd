/*-------------------------------------------------------------------------
 *
 * context_rules.c
 *	  What a role may do with the tenant context, set per role by a
 *	  superuser (doc/tenant-context.md, "Making the context unforgeable"):
 *
 *	  require_signed_tenant  only signed values (signed_context.c) may be
 *							 set; the empty value, no context, stays allowed
 *	  require_local_tenant	 only SET LOCAL and set_config(..., true) may
 *							 set a context: a session-level one would stay
 *							 on a pooled server connection for the next
 *							 client's transactions
 *	  require_tenant		 a statement on tenant tables without a context
 *							 is a violation, missing_tenant
 *
 * An unsigned value is refused when it is set, and again when a statement
 * on tenant tables is about to use it: settings applied at connection
 * (ALTER ROLE ... SET, PGOPTIONS) come in an order that can put the
 * context before the rule.  A session-level change is noticed by the
 * assign hook, which alone sees how the value was set (the setting's
 * transaction stack, which PostgreSQL pushes before it calls the hook),
 * and refused when the statement that made it returns, or at the latest
 * before its transaction commits, so that it is rolled back; a context the
 * session got at connection is refused when a statement uses it.
 *
 * Parallel workers restore the leader's settings, and Citus's connections
 * get the coordinator's context: both were checked where they came from.
 *
 * This file also records the statements of a break-glass transaction
 * (break_glass.c), found by the same walk over the plan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "context_rules.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "break_glass.h"
#include "citus_cluster.h"
#include "compat.h"
#include "executor/executor.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "nodes/pathnodes.h"
#include "scoping_guard.h"
#include "settings.h"
#include "tcop/utility.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/guc_tables.h"
#include "utils/lsyscache.h"
#include "violation.h"

static bool require_signed_tenant = false;
static bool require_local_tenant = false;
static bool require_tenant = false;

bool		context_rules_session_change_pending = false;
bool		context_rules_statement_checks = false;
bool		context_rules_closed = false;

/* The value tenant_guard.tenant's check hook accepted last, if any. */
static const char *checked_value = NULL;

/* Checked where they came from: a parallel leader, a Citus coordinator. */
static bool
context_trusted(void)
{
	return InitializingParallelWorker || IsParallelWorker() ||
		citus_internal_connection();
}

void
context_rules_refresh(void)
{
	context_rules_statement_checks = require_tenant || break_glass_in_force();
}

static void
assign_require_tenant(bool newval, void *extra)
{
	require_tenant = newval;
	context_rules_refresh();
}

/*
 * The end of a transaction: a session-level change not refused yet is
 * refused before it commits, and break glass ends.  One callback for both,
 * which returns at once in the usual case: it runs for every transaction.
 */
static void
context_rules_xact_callback(XactEvent event, void *arg)
{
	if (likely(!context_rules_session_change_pending && !break_glass_in_force() &&
			   !context_rules_closed))
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			context_rules_check_session_change();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			context_rules_session_change_pending = false;
			break_glass_end();
			/* a procedure's COMMIT or ROLLBACK does not reopen them */
			if (!SPI_inside_nonatomic_context())
				context_rules_closed = false;
			break;
	}
}

void
context_rules_define(void)
{
	DefineCustomBoolVariable("tenant_guard.require_signed_tenant",
							 "Accept only signed values of tenant_guard.tenant.",
							 "Set per role; the empty value, no context, stays allowed.",
							 &require_signed_tenant,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("tenant_guard.require_local_tenant",
							 "Accept a tenant context only for a transaction (SET LOCAL, set_config(..., true)).",
							 "Set per role: a session-level context would stay on a pooled server connection.",
							 &require_local_tenant,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("tenant_guard.require_tenant",
							 "Treat a statement on tenant tables without a tenant context as a violation.",
							 "Set per role: kind missing_tenant, refused in enforce mode, logged in log mode.",
							 &require_tenant,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, assign_require_tenant, NULL);
}

/*
 * The transaction callback is registered the first time a session may need
 * it (a rule that can leave state for the end of the transaction applies,
 * or break glass is called): every other session's transactions do not
 * pay for the call.
 */
void
context_rules_need_xact_callback(void)
{
	static bool registered = false;

	if (registered)
		return;
	RegisterXactCallback(context_rules_xact_callback, NULL);
	registered = true;
}

/*----------------------------------
 * Setting the context
 *----------------------------------
 */

/* The definition of tenant_guard.tenant, found once. */
static struct config_generic *
tenant_setting_definition(void)
{
	static struct config_generic *definition = NULL;

	if (definition == NULL)
	{
		int			count;
		struct config_generic **all = tg_guc_variables(&count);

		for (int i = 0; i < count; i++)
		{
			if (strcmp(all[i]->name, "tenant_guard.tenant") == 0)
				definition = all[i];
		}
	}
	return definition;
}

/* Is value the context the session got at login (its reset value)? */
static bool
is_login_context(const char *value)
{
	struct config_generic *definition = tenant_setting_definition();
	const char *login;

	if (definition == NULL)
		return false;
	login = ((struct config_string *) definition)->reset_val;
	return login != NULL && strcmp(login, value) == 0;
}

/*
 * Verify signatures, or only read them: when ALTER ROLE ... SET checks a
 * value, when a parallel worker restores its leader's setting, on a Citus
 * connection.  A parallel worker may not change the setting after that
 * (context_rules_check_value): what it would run under is the leader's.
 */
bool
context_rules_verify_signatures(GucSource source)
{
	return source != PGC_S_TEST && !InitializingParallelWorker &&
		!citus_internal_connection();
}

static bool
is_blank(const char *value)
{
	return value[strspn(value, " \t\r\n")] == '\0';
}

/*
 * Refuse a value this session may not set: any change in a parallel worker
 * (a function's SET clause can run there), an unsigned context where only
 * signed ones are accepted, and, where contexts must be set per
 * transaction, the context of the session's login again.
 */
bool
context_rules_check_value(const char *value, bool signed_value, GucSource source)
{
	if (source == PGC_S_TEST || InitializingParallelWorker)
		return true;
	if (require_local_tenant)
		context_rules_need_xact_callback();
	if (IsParallelWorker())
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("tenant_guard.tenant cannot change in a parallel worker");
		return false;
	}
	if (require_signed_tenant && !signed_value && !is_blank(value) &&
		context_rules_verify_signatures(source))
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("unsigned tenant context refused");
		GUC_check_errdetail("tenant_guard.require_signed_tenant is on for this session: tenant_guard.tenant takes only values signed with the server's tenant key.");
		GUC_check_errhint("Set the context your application signed, or the empty value for none.");
		return false;
	}
	if (require_local_tenant && !is_blank(value) && is_login_context(value))
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("tenant context set for the session refused");
		GUC_check_errdetail("tenant_guard.require_local_tenant is on for this session: the context the session got at login cannot be set again.");
		return false;
	}
	return true;
}

void
context_rules_value_checked(const char *value, GucSource source)
{
	checked_value = (source == PGC_S_TEST) ? NULL : value;
}

/*
 * The assign hook of tenant_guard.tenant: a value its check hook has just
 * accepted (not one restored at the end of a transaction or function) is
 * set for the session when the latest change in this transaction's entry
 * of the setting is a SET.  Once noticed, the change is refused even if a
 * later assignment (an empty value, a savepoint's rollback) seems to undo
 * it: what the transaction would commit is not worked out here.
 */
void
context_rules_value_assigned(const char *value, bool non_empty)
{
	struct config_generic *definition;
	bool		fresh = (value == checked_value);

	checked_value = NULL;
	if (!fresh || !require_local_tenant || context_trusted())
		return;
	definition = tenant_setting_definition();
	if (non_empty && definition != NULL && definition->stack != NULL &&
		definition->stack->state == GUC_SET)
		context_rules_session_change_pending = true;
}

void
context_rules_refuse_session_change(void)
{
	context_rules_session_change_pending = false;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("tenant_guard.tenant can only be set for a transaction"),
			 errdetail("tenant_guard.require_local_tenant is on for this session: a session-level SET or set_config(..., false) would keep the context for later transactions."),
			 errhint("Use SET LOCAL or set_config('tenant_guard.tenant', ..., true) inside the request's transaction.")));
}

/*
 * Is the value in force one the session had before this transaction set
 * one: no entry on the setting's transaction stack, or the value RESET
 * and SET ... TO DEFAULT bring back (the one from login: ALTER ROLE ...
 * SET, PGOPTIONS), which a transaction can put in force without the check
 * hook ever seeing it?
 */
static bool
context_from_session(void)
{
	struct config_generic *definition = tenant_setting_definition();

	return definition != NULL &&
		(definition->stack == NULL ||
		 definition->extra == ((struct config_string *) definition)->reset_extra);
}

/*
 * A statement on tenant tables is about to run under the setting (not
 * under another statement's context).
 */
void
context_rules_check_use(bool signed_value)
{
	if (context_trusted())
		return;
	if (require_signed_tenant && !signed_value)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("unsigned tenant context refused"),
				 errdetail("tenant_guard.require_signed_tenant is on for this session: tenant_guard.tenant takes only values signed with the server's tenant key.")));
	if (require_local_tenant && context_from_session())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenant context set for the session refused"),
				 errdetail("tenant_guard.require_local_tenant is on for this session: the context must be set in each transaction."),
				 errhint("Use SET LOCAL or set_config('tenant_guard.tenant', ..., true) inside the request's transaction.")));
}

/*
 * A refusal for another tenant's row answers a question about that row:
 * the statement's own leakproof conditions (id = 10 AND notes >= 'F2S')
 * decide whether the row reaches the check.  Where contexts must be
 * signed, one such answer is all a transaction gets: after a cross-tenant
 * refusal its statements on tenant tables are refused until it ends, also
 * when a handler or a savepoint caught the error, and through the COMMITs
 * of a procedure, so that a loop cannot ask again.
 */
void
context_rules_note_refusal(void)
{
	if (require_signed_tenant && !context_trusted())
	{
		context_rules_need_xact_callback();
		context_rules_closed = true;
	}
}

/*
 * An error leaving a statement's executor call: a cross-tenant refusal
 * that a parallel worker raised reaches this backend only as an error,
 * without the report that would have closed the tables here.
 */
void
context_rules_note_error(MemoryContext cxt)
{
	MemoryContext old;
	ErrorData  *edata;

	if (!require_signed_tenant || context_rules_closed || context_trusted())
		return;
	old = MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE &&
		edata->funcname != NULL && strcmp(edata->funcname, "violation_tell_client") == 0 &&
		edata->message != NULL && strncmp(edata->message, "cross-tenant ", 13) == 0)
	{
		context_rules_need_xact_callback();
		context_rules_closed = true;
	}
	FreeErrorData(edata);
	MemoryContextSwitchTo(old);
}

/*
 * A DO or CALL sent on its own fails: the error ends its transaction, but
 * the transaction callback sees the block's non-atomic execution still in
 * place, as it does at the block's own COMMITs, and would keep the tables
 * closed into the next transaction.
 */
void
context_rules_utility_failed(Node *parsetree, ProcessUtilityContext context)
{
	if (context_rules_closed && context == PROCESS_UTILITY_TOPLEVEL &&
		(IsA(parsetree, DoStmt) || IsA(parsetree, CallStmt)) && !IsTransactionBlock())
		context_rules_closed = false;
}

void
context_rules_refuse_closed(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("tenant tables are closed for the rest of this transaction"),
			 errdetail("A statement of this transaction was refused for another tenant's rows; with tenant_guard.require_signed_tenant on, no later statement of the transaction may read or write tenant tables."),
			 errhint("End the transaction; the next one may set its context again.")));
}

/*----------------------------------
 * Statements
 *----------------------------------
 */

/* The tenant tables the plan names, not the partitions or children it adds. */
static List *
plan_tenant_tables(PlannedStmt *plan)
{
	Bitmapset  *children = NULL;
	List	   *relids = NIL;
	ListCell   *lc;
	int			rti = 0;

	foreach(lc, plan->appendRelations)
		children = bms_add_member(children, lfirst_node(AppendRelInfo, lc)->child_relid);
	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind == RTE_RELATION && !bms_is_member(rti, children) &&
			!tenant_table_ruled_out(rte->relid) &&
			tenant_table_attnum(rte->relid) != InvalidAttrNumber)
			relids = list_append_unique_oid(relids, rte->relid);
	}
	list_sort(relids, list_oid_cmp);
	return relids;
}

/*
 * Must statements on tenant tables have a context here?  Also asked for
 * the checks PostgreSQL runs on its own (a deferred foreign key at COMMIT),
 * which no statement hook sees: they must not run without one either.
 */
bool
context_rules_tenant_required(void)
{
	return require_tenant && !context_trusted();
}

/* Are constraint errors' details withheld even without a context? */
bool
context_rules_withhold_details(void)
{
	return (require_tenant || require_signed_tenant) && !context_trusted();
}

void
context_rules_report_missing_tenant(Oid relid, const char *command)
{
	Violation	violation;
	AttrNumber	attnum = tenant_table_attnum(relid);

	violation.kind = VIOLATION_MISSING_TENANT;
	violation.relid = relid;
	violation.column = get_attname(relid, attnum, false);
	violation.command = command;
	violation.sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
	violation.message = psprintf("no tenant context for a statement on tenant table \"%s\"",
								 relation_message_name(relid));
	violation.detail = "tenant_guard.require_tenant is on for this session: statements on tenant tables need tenant_guard.tenant to be set.";
	violation.hint = "Set the tenant context the request acts for first, e.g. SELECT set_config('tenant_guard.tenant', <signed context>, true).";
	violation_report(&violation, (GuardMode) tenant_guard_mode);
}

/*
 * A statement on these tenant tables: recorded in a break-glass
 * transaction, a violation without a context where one is required.
 */
static void
check_tables(List *relids, const char *command)
{
	ListCell   *lc;

	if (relids == NIL)
		return;
	if (break_glass_in_force())
	{
		foreach(lc, relids)
			violation_record_break_glass(lfirst_oid(lc), command, break_glass_reason());
		return;
	}
	if (!require_tenant || tenant_context_is_set() || tenant_guard_mode == GUARD_MODE_OFF)
		return;
	foreach(lc, relids)
		context_rules_report_missing_tenant(lfirst_oid(lc), command);
}

void
context_rules_check_statement(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *plan = queryDesc->plannedstmt;

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 || !scoping_guard_applies())
		return;
	check_tables(plan_tenant_tables(plan),
				 GetCommandTagName(CreateCommandTag((Node *) plan)));
}

void
context_rules_check_utility(Node *parsetree)
{
	if (!context_rules_statement_checks || !scoping_guard_applies())
		return;
	check_tables(scoping_guard_utility_tables(parsetree),
				 GetCommandTagName(CreateCommandTag(parsetree)));
}

/*
 * EXPLAIN ANALYZE reports how many rows each scan read and removed, also
 * rows of other tenants that the statement's own conditions look at:
 * where contexts must be signed, it is refused.
 */
void
context_rules_check_explain(Node *parsetree)
{
	ListCell   *lc;

	if (!require_signed_tenant || !IsA(parsetree, ExplainStmt) || context_trusted())
		return;
	foreach(lc, ((ExplainStmt *) parsetree)->options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);

		if (strcmp(option->defname, "analyze") == 0 && defGetBoolean(option))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("EXPLAIN ANALYZE refused"),
					 errdetail("tenant_guard.require_signed_tenant is on for this session: the rows a plan reads and removes can count other tenants' rows.")));
	}
}

/*-------------------------------------------------------------------------
 *
 * citus_relay.c
 *	  A violation a worker finds in a connection Citus opened for another
 *	  node is recorded by that node, the one the client is connected to
 *	  (doc/citus.md).
 *
 * The amount trigger judges rows where they are updated, on the worker
 * that holds the shard: only there is it known whether the value changes
 * and whether this transaction inserted or locked the row.  The audit row
 * and log line belong to the coordinator, though, with the client's
 * statement and the distributed table's name, once.
 *
 * The worker, in a connection that proved it is Citus's own
 * (citus_internal_connection), records nothing and sends the violation to
 * its peer as a WARNING with SQLSTATE 01TGR whose text is
 * "tenant_guard relay: {json}"; in enforce mode it then raises the
 * violation's error as usual.  Citus relays workers' notices through its
 * libpq notice receiver, which re-raises them on the coordinator, at their
 * level while it runs a distributed plan.  The coordinator's emit_log_hook
 * takes such a warning, raised by Citus's receiver while one of
 * tenant_guard's windows is open (around ExecutorRun and ProcessUtility),
 * off the log and away from the client, and the window's end records it:
 * a log-mode violation as a logged row, a rejected one as a rejected row
 * while the worker's error passes on to the client (only the first: as on
 * one server, an error stops the statement at its first violation), and a
 * tenant-context violation once per statement, as on one server, however
 * many shards found one.
 *
 * Nothing a client does may lose a record:
 *	- a worker relays only when the warning reaches its peer (its
 *	  client_min_messages lets warnings through) and otherwise records
 *	  itself, as without Citus;
 *	- while a window is open the coordinator makes sure that Citus passes
 *	  the warning on and that it reaches emit_log_hook: it lowers
 *	  citus.worker_min_messages (which any client can raise) and
 *	  log_min_messages to warning for the window, and hides what those
 *	  lowered settings let through and the originals would not have.
 * A client can at worst make a record appear (a distributed function that
 * raises such a warning), which can stand in for a real tenant-context
 * violation of the same kind on the same table (recorded once per
 * statement), never hide another.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "citus_relay.h"

#include "access/xact.h"
#include "citus_cluster.h"
#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/value.h"
#include "tcop/dest.h"
#include "tcop/tcopprot.h"
#include "tenant_context.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"

#define RELAY_PREFIX "tenant_guard relay: "

/* The function of Citus that re-raises a worker's notice. */
#define CITUS_NOTICE_RECEIVER "DefaultCitusNoticeReceiver"

static emit_log_hook_type prev_emit_log_hook = NULL;

/* citus.worker_min_messages, Citus's variable; NULL if not found. */
static int *worker_min_messages = NULL;

/* Open windows; the outermost lowers the settings and restores them. */
static int	window_depth = 0;
static bool forced_worker_min = false;
static int	saved_worker_min = 0;
static bool forced_log_min = false;
static int	saved_log_min = 0;

/*
 * Whether this node recorded a tenant-context violation itself while the
 * windows are open: a shard here (a reference table's) found it, and the
 * workers' copies of the same finding are not recorded again.
 */
static bool cross_tenant_recorded_here = false;

/* The payloads received in the open windows, in relay_cxt. */
static List *pending = NIL;
static MemoryContext relay_cxt = NULL;

/* A violation as a worker described it. */
typedef struct RelayedViolation
{
	char	   *kind;
	char	   *action;
	char	   *relation;
	char	   *column;
	char	   *command;
	char	   *sqlstate;
	char	   *message;
	char	   *detail;
	char	   *hint;
	char	   *tenant;
	char	   *row_tenant;
} RelayedViolation;

/*----------
 * Worker
 *----------
 */

/*
 * Hand the violation to the node this connection serves, if it is
 * Citus's and the warning is sure to reach that node; false: record it here.
 */
bool
citus_relay_send(const Violation *violation, const char *relation,
				 bool rejected, const char *tenant, const char *row_tenant)
{
	StringInfoData buf;

	if (!citus_internal_connection() || whereToSendOutput != DestRemote ||
		WARNING < client_min_messages)
		return false;
	violation_json_begin(&buf, violation, relation, rejected);
	append_json_field(&buf, "command", violation->command);
	append_json_field(&buf, "sqlstate", unpack_sql_state(violation->sqlstate));
	append_json_field(&buf, "message", violation->message);
	append_json_field(&buf, "detail", violation->detail);
	append_json_field(&buf, "hint", violation->hint);
	append_json_field(&buf, "tenant", tenant);
	append_json_field(&buf, "row_tenant", row_tenant);
	appendStringInfoChar(&buf, '}');
	ereport(WARNING,
			(errcode(ERRCODE_TENANT_GUARD_RELAY),
			 errmsg_internal(RELAY_PREFIX "%s", buf.data),
			 errhidestmt(true), errhidecontext(true)));
	pfree(buf.data);
	return true;
}

/*---------------
 * Coordinator
 *---------------
 */

/* elog.c's rule for log_min_messages (is_log_level_output, static there). */
static bool
level_is_logged(int elevel, int log_min_level)
{
	if (elevel == LOG || elevel == LOG_SERVER_ONLY)
		return log_min_level == LOG || log_min_level <= ERROR;
	if (elevel == WARNING_CLIENT_ONLY)
		return false;
	if (log_min_level == LOG)
		return elevel >= FATAL;
	return elevel >= log_min_level;
}

static bool
raised_by(const ErrorData *edata, const char *funcname)
{
	return edata->funcname != NULL && strcmp(edata->funcname, funcname) == 0;
}

/* Keep a payload Citus re-raised; false if it is not one. */
static bool
keep_payload(const char *message)
{
	MemoryContext old;

	if (message == NULL || strncmp(message, RELAY_PREFIX, strlen(RELAY_PREFIX)) != 0)
		return false;
	old = MemoryContextSwitchTo(relay_cxt);
	pending = lappend(pending, pstrdup(message + strlen(RELAY_PREFIX)));
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * Called for every message that goes to the server log.  It must not
 * throw or raise messages of its own: it only keeps payloads and decides
 * where messages go.
 */
static void
relay_emit_log_hook(ErrorData *edata)
{
	bool		relayed = edata->sqlerrcode == ERRCODE_TENANT_GUARD_RELAY &&
		edata->elevel == WARNING;

	if (relayed && raised_by(edata, "citus_relay_send"))
		edata->output_to_server = false;	/* the worker's copy: for its peer */
	else if (relayed && window_depth > 0 && raised_by(edata, CITUS_NOTICE_RECEIVER) &&
			 keep_payload(edata->message))
		edata->output_to_server = edata->output_to_client = false;
	else
	{
		/* what only the lowered settings let through */
		if (forced_worker_min && raised_by(edata, CITUS_NOTICE_RECEIVER) &&
			edata->elevel < ERROR)
			edata->output_to_server = edata->output_to_client = false;
		if (forced_log_min && !level_is_logged(edata->elevel, saved_log_min))
			edata->output_to_server = false;
	}
	if (prev_emit_log_hook && edata->output_to_server)
		prev_emit_log_hook(edata);
}

/*
 * Open a window around a statement's execution (ExecutorRun,
 * ProcessUtility), Citus being loaded (citus_relay_begin); true.
 */
bool
citus_relay_begin_window(void)
{
	if (window_depth++ > 0)
		return true;
	cross_tenant_recorded_here = false;
	if (worker_min_messages != NULL &&
		(*worker_min_messages > WARNING || *worker_min_messages == 0))
	{
		/* 0: Citus's "off" */
		saved_worker_min = *worker_min_messages;
		*worker_min_messages = WARNING;
		forced_worker_min = true;
	}
	if (!level_is_logged(WARNING, log_min_messages))
	{
		saved_log_min = log_min_messages;
		log_min_messages = WARNING;
		forced_log_min = true;
	}
	return true;
}

/* Put back what the outermost window lowered, unless changed meanwhile. */
static void
restore_settings(void)
{
	if (forced_worker_min && *worker_min_messages == WARNING)
		*worker_min_messages = saved_worker_min;
	if (forced_log_min && log_min_messages == WARNING)
		log_min_messages = saved_log_min;
	forced_worker_min = forced_log_min = false;
}

typedef struct PayloadParse
{
	RelayedViolation *relayed;
	int			depth;
	char	   *field;
} PayloadParse;

static tg_json_action
payload_object_start(void *state)
{
	((PayloadParse *) state)->depth++;
	TG_JSON_ACTION_DONE;
}

static tg_json_action
payload_object_end(void *state)
{
	((PayloadParse *) state)->depth--;
	TG_JSON_ACTION_DONE;
}

static tg_json_action
payload_field_start(void *state, char *fname, bool isnull)
{
	((PayloadParse *) state)->field = fname;
	TG_JSON_ACTION_DONE;
}

static tg_json_action
payload_scalar(void *state, char *token, JsonTokenType tokentype)
{
	PayloadParse *parse = (PayloadParse *) state;
	static const char *const names[] = {"kind", "action", "relation", "column",
		"command", "sqlstate", "message", "detail", "hint", "tenant", "row_tenant"};
	char	  **fields = (char **) parse->relayed;

	if (parse->depth == 1 && parse->field != NULL)
	{
		for (int i = 0; i < lengthof(names); i++)
		{
			if (strcmp(parse->field, names[i]) == 0)
				fields[i] = tokentype == JSON_TOKEN_NULL ? NULL : token;
		}
	}
	TG_JSON_ACTION_DONE;
}

/* Read a payload without throwing; false if it is not a whole one. */
static bool
parse_payload(char *payload, RelayedViolation *relayed)
{
	JsonSemAction sem = {0};
	PayloadParse parse = {relayed, 0, NULL};
	JsonLexContext *lex;

	StaticAssertStmt(sizeof(RelayedViolation) == 11 * sizeof(char *),
					 "payload_scalar fills RelayedViolation as an array");
	memset(relayed, 0, sizeof(*relayed));
	sem.semstate = &parse;
	sem.object_start = payload_object_start;
	sem.object_end = payload_object_end;
	sem.object_field_start = payload_field_start;
	sem.scalar = payload_scalar;
	lex = tg_json_lexer(payload, strlen(payload), GetDatabaseEncoding());
	if (pg_parse_json(lex, &sem) != JSON_SUCCESS)
		return false;
	return relayed->kind && relayed->action && relayed->relation &&
		relayed->sqlstate && strlen(relayed->sqlstate) == 5 && relayed->message;
}

static bool
kind_from_name(const char *name, ViolationKind *kind)
{
	for (int k = VIOLATION_UNSCOPED_READ; k <= VIOLATION_CROSS_TENANT_WRITE; k++)
	{
		if (strcmp(violation_kind_name((ViolationKind) k), name) == 0)
		{
			*kind = (ViolationKind) k;
			return true;
		}
	}
	return false;
}

/*
 * What was recorded of the payloads of one window: as on one server, an
 * error stops a statement at its first violation, and a tenant-context
 * violation is recorded once per statement and table (the shards report
 * one each); a logged amount violation is recorded per row.  Keyed by
 * kind and table, so that a made-up payload (a client's distributed
 * function can raise one) can at most stand in for a real one of the same
 * kind on the same table, never hide another.
 */
typedef struct RecordedSoFar
{
	bool		rejected;
	bool		cross_tenant_here;	/* this node recorded one itself */
	List	   *cross_tenant;	/* "kind relation" of those recorded */
} RecordedSoFar;

/* Record one payload; false if it cannot be read. */
static bool
record_payload(char *payload, RecordedSoFar *seen, bool failed)
{
	RelayedViolation r;
	Violation	violation;
	const char *s;
	bool		rejected;

	if (!parse_payload(payload, &r) || !kind_from_name(r.kind, &violation.kind))
		return false;
	rejected = strcmp(r.action, "rejected") == 0;
	if (violation.kind != VIOLATION_NON_ATOMIC_AMOUNT)
	{
		char	   *key = psprintf("%s %s", r.kind, r.relation);

		if (seen->cross_tenant_here ||
			list_member(seen->cross_tenant, makeString(key)))
			return true;
		seen->cross_tenant = lappend(seen->cross_tenant, makeString(key));
	}
	if (rejected && seen->rejected)
		return true;
	seen->rejected |= rejected;
	s = r.sqlstate;
	violation.relid = InvalidOid;
	violation.column = r.column;
	violation.command = r.command;
	violation.sqlstate = MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
	violation.message = r.message;
	violation.detail = r.detail;
	violation.hint = r.hint;
	violation_report_relayed(&violation, r.relation, rejected,
							 r.tenant ? r.tenant : tenant_context_text(),
							 r.row_tenant, !failed);
	return true;
}

/* Record what the windows received, in cxt. */
static void
record_pending(bool failed, MemoryContext cxt)
{
	List	   *payloads = pending;
	RecordedSoFar seen = {false, cross_tenant_recorded_here, NIL};
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ListCell   *lc;

	pending = NIL;
	foreach(lc, payloads)
	{
		if (!record_payload(lfirst(lc), &seen, failed))
			ereport(LOG,
					(errmsg("tenant_guard: unreadable violation report from a Citus worker: %s",
							(char *) lfirst(lc))));
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(relay_cxt);
}

/* A violation this node recorded itself (violation.c). */
void
citus_relay_note_recorded(const Violation *violation)
{
	if (window_depth > 0 && violation->kind != VIOLATION_NON_ATOMIC_AMOUNT)
		cross_tenant_recorded_here = true;
}

/*
 * Close a window.  failed: the statement is throwing an error (the
 * worker's, perhaps), and cxt is a context to record in other than the
 * error's.
 */
void
citus_relay_end(bool failed, MemoryContext cxt)
{
	if (window_depth > 0 && --window_depth == 0)
		restore_settings();
	if (pending != NIL)
		record_pending(failed, cxt);
}

/*
 * Windows close on every path, errors included; should one not, the end
 * of the transaction must not leave the settings lowered or payloads
 * behind.  Before a commit the statement is still known; at an abort it is
 * not, and what is left goes to the server log.
 */
static void
relay_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT && pending != NIL)
		record_pending(false, CurrentMemoryContext);
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		ListCell   *lc;

		window_depth = 0;
		restore_settings();
		foreach(lc, pending)
			ereport(LOG,
					(errmsg("tenant_guard: violation reported by a Citus worker, not recorded: %s",
							(char *) lfirst(lc))));
		pending = NIL;
		MemoryContextReset(relay_cxt);
	}
}

static int *
find_enum_setting(const char *name)
{
	int			count;
	struct config_generic **variables = tg_guc_variables(&count);

	for (int i = 0; i < count; i++)
	{
		if (strcmp(variables[i]->name, name) == 0 &&
			variables[i]->vartype == PGC_ENUM)
			return ((struct config_enum *) variables[i])->variable;
	}
	return NULL;
}

void
citus_relay_init(void)
{
	if (!citus_is_loaded())
		return;
	relay_cxt = AllocSetContextCreate(TopMemoryContext, "tenant_guard relay",
									  ALLOCSET_SMALL_SIZES);
	worker_min_messages = find_enum_setting("citus.worker_min_messages");
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = relay_emit_log_hook;
	RegisterXactCallback(relay_xact_callback, NULL);
}

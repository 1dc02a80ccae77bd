/*-------------------------------------------------------------------------
 *
 * violation.c
 *	  Reporting a violation: the server-log line, the audit trail, the
 *	  optional client message, and in enforce mode the error.
 *
 * Both guards (unscoped queries, non-atomic amounts) decide *whether* there
 * is a violation; this file alone decides what happens to it, so the audit
 * trail and the log format live in one place.  It must not analyse
 * queries.
 *
 * The server-log line is one LOG_SERVER_ONLY message per violation:
 *
 *	tenant_guard violation: {"kind": ..., "action": ..., "relation": ...,
 *	  "column": ..., "role": ..., "application": ..., "database": ...,
 *	  "query_id": ..., "statement": ..., "call_site": {...}}
 *
 * ("call_site" only when the statement carries sqlcommenter or marginalia
 * tags, see call_site.c; "query_id" is null when the statement has none).
 *
 * The JSON object is the documented, parseable part.  In log mode the
 * client sees the violation too when tenant_guard.client_messages says so;
 * at NOTICE or WARNING level it reaches the server log as well, and then
 * the statement is hidden since the log line already names it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "violation.h"

#include "audit_queue.h"
#include "break_glass.h"
#include "context_rules.h"
#include "call_site.h"
#include "citus_relay.h"
#include "commands/dbcommands.h"
#include "common/pg_prng.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "settings.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "tenant_context.h"
#include "query_fingerprint.h"
#include "utils/timestamp.h"

const char *
violation_kind_name(ViolationKind kind)
{
	switch (kind)
	{
		case VIOLATION_UNSCOPED_READ:
			return "unscoped_read";
		case VIOLATION_UNSCOPED_WRITE:
			return "unscoped_write";
		case VIOLATION_NON_ATOMIC_AMOUNT:
			return "non_atomic_amount";
		case VIOLATION_CROSS_TENANT_READ:
			return "cross_tenant_read";
		case VIOLATION_CROSS_TENANT_WRITE:
			return "cross_tenant_write";
		case VIOLATION_MISSING_TENANT:
			return "missing_tenant";
		case VIOLATION_BREAK_GLASS:
			return "break_glass";
	}
	elog(ERROR, "unknown violation kind %d", (int) kind);
	return NULL;				/* keep compiler quiet */
}

/*
 * The names of the last relation named, until the relation or any schema
 * changes (a rename, a drop): a flood of one violation names the same
 * relation every time, and looking its names up again in the catalog
 * caches would cost more than counting the violation.
 */
static struct
{
	Oid			relid;			/* InvalidOid: nothing kept */
	char	   *qualified;		/* public."My Tab" */
	char	   *message;		/* public.My Tab */
}			named_relation;

static void
forget_named_relation(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == named_relation.relid)
		named_relation.relid = InvalidOid;
}

static void
forget_named_relation_schema(Datum arg, int cacheid, uint32 hashvalue)
{
	named_relation.relid = InvalidOid;
}

static void
name_relation(Oid relid)
{
	static bool callbacks_registered = false;
	char	   *relname;
	char	   *nspname;

	if (relid == named_relation.relid && OidIsValid(relid))
		return;
	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(forget_named_relation, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, forget_named_relation_schema, (Datum) 0);
		callbacks_registered = true;
	}
	named_relation.relid = InvalidOid;
	if (named_relation.qualified != NULL)
		pfree(named_relation.qualified);
	if (named_relation.message != NULL)
		pfree(named_relation.message);
	named_relation.qualified = named_relation.message = NULL;
	relname = get_rel_name(relid);
	nspname = get_namespace_name(get_rel_namespace(relid));
	if (relname == NULL || nspname == NULL)
	{
		/* gone: named by number, and not kept */
		named_relation.qualified = MemoryContextStrdup(TopMemoryContext,
													   psprintf("relation %u", relid));
		named_relation.message = MemoryContextStrdup(TopMemoryContext, psprintf("%u", relid));
		return;
	}
	named_relation.qualified = MemoryContextStrdup(TopMemoryContext,
												   quote_qualified_identifier(nspname, relname));
	named_relation.message = MemoryContextStrdup(TopMemoryContext,
												 psprintf("%s.%s", nspname, relname));
	named_relation.relid = relid;
}

/*
 * schema.table with identifiers quoted where needed (public."My Tab"), for
 * data: the audit trail, the log line's JSON, check()'s result.  Never NULL.
 */
char *
relation_qualified_name(Oid relid)
{
	name_relation(relid);
	return pstrdup(named_relation.qualified);
}

/*
 * schema.table as messages show it, inside one pair of double quotes
 * ("public.My Tab"), the way PostgreSQL's own messages name relations.
 */
char *
relation_message_name(Oid relid)
{
	name_relation(relid);
	return pstrdup(named_relation.message);
}

/* "key": value into a JSON object being built, escaped; NULL as null. */
void
append_json_field(StringInfo buf, const char *key, const char *value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/*
 * What a backend looks up once: its database's name and, per role, the
 * role's name (neither changes under a session in a way the audit trail
 * must follow; a renamed role keeps the name it had when first seen).
 */
static const char *
current_database_name(void)
{
	static char *name = NULL;

	if (name == NULL)
	{
		char	   *found = get_database_name(MyDatabaseId);

		name = MemoryContextStrdup(TopMemoryContext, found ? found : "");
	}
	return name;
}

/*
 * The role the session acts as (its login role, or SET ROLE's), not the
 * one a SECURITY DEFINER function or a foreign key's check switches to:
 * the look-up of the row a written foreign key points at runs as the
 * table's owner, yet the statement that wrote it is the application's.
 */
static const char *
current_role_name(void)
{
	static Oid	cached_role = InvalidOid;
	static NameData cached_name;
	Oid			role = GetOuterUserId();

	if (role != cached_role)
	{
		const char *name = GetUserNameFromId(role, true);

		namestrcpy(&cached_name, name ? name : "");
		cached_role = role;
	}
	return NameStr(cached_name);
}

/*
 * A new JSON object describing the violation, its first fields written:
 * what the server-log line and the Citus hand-over (citus_relay.c) both
 * begin with.  The caller adds its own fields and the closing brace.
 */
void
violation_json_begin(StringInfo buf, const Violation *violation,
					 const char *relation, bool rejected)
{
	initStringInfo(buf);
	appendStringInfoChar(buf, '{');
	append_json_field(buf, "kind", violation_kind_name(violation->kind));
	append_json_field(buf, "action", rejected ? "rejected" : "logged");
	append_json_field(buf, "relation", relation);
	append_json_field(buf, "column", violation->column);
}

static void
write_log_line(const Violation *violation, const char *relation, bool rejected,
			   uint64 query_id, const char *call_site, const char *tenant,
			   const char *row_tenant, const char *reason)
{
	StringInfoData buf;

	violation_json_begin(&buf, violation, relation, rejected);
	append_json_field(&buf, "role", current_role_name());
	append_json_field(&buf, "application", application_name);
	append_json_field(&buf, "database", current_database_name());
	if (query_id != 0)
		appendStringInfo(&buf, ", \"query_id\": " INT64_FORMAT, (int64) query_id);
	else
		appendStringInfoString(&buf, ", \"query_id\": null");
	append_json_field(&buf, "statement", debug_query_string);
	if (call_site[0] != '\0')
		appendStringInfo(&buf, ", \"call_site\": %s", call_site);
	append_json_field(&buf, "tenant", tenant);
	append_json_field(&buf, "row_tenant", row_tenant);
	if (reason != NULL)
		append_json_field(&buf, "reason", reason);
	appendStringInfoChar(&buf, '}');

	ereport(LOG_SERVER_ONLY,
			(errmsg("tenant_guard violation: %s", buf.data),
			 errhidestmt(true)));
	pfree(buf.data);
}

/*
 * The client's address as inet_client_addr() gives it, or "" for a Unix
 * socket or no client.  Asking that function keeps the server's
 * connection internals (and their GSSAPI headers) out of this file.
 */
static void
client_address(char *buf, size_t len)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		address;

	buf[0] = '\0';
	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	address = inet_client_addr(fcinfo);
	if (!fcinfo->isnull)
		strlcpy(buf, DatumGetCString(DirectFunctionCall1(inet_out, address)), len);
}

/*
 * The fields that make the violation's statement shape, which is all the
 * queue needs to count a sampled repeat.
 */
static void
fill_shape_fields(AuditEntry *e, const Violation *violation, const char *relation,
				  bool rejected, uint64 query_id)
{
	e->dboid = MyDatabaseId;
	e->query_id = query_id;
	(void) call_site_from_query(debug_query_string, e->call_site, sizeof(e->call_site));
	e->occurred_at = GetCurrentTimestamp();
	e->rejected = rejected;
	strlcpy(e->kind, violation_kind_name(violation->kind), sizeof(e->kind));
	strlcpy(e->relation, relation, sizeof(e->relation));
	namestrcpy(&e->user_name, current_role_name());
	strlcpy(e->application_name, application_name ? application_name : "",
			sizeof(e->application_name));
}

/* The rest of a detail row's fields. */
static void
fill_detail_fields(AuditEntry *e, const Violation *violation, const char *tenant,
				   const char *row_tenant, const char *reason)
{
	/* never 0: a zero id marks an unwritten slot after a crash */
	do
		e->entry_id = pg_prng_uint64(&pg_global_prng_state);
	while (e->entry_id == 0);
	e->backend_pid = MyProcPid;
	strlcpy(e->command, violation->command ? violation->command : "", sizeof(e->command));
	client_address(e->client_addr, sizeof(e->client_addr));
	namestrcpy(&e->tenant_column, violation->column ? violation->column : "");
	strlcpy(e->detail, violation->detail ? violation->detail : "", sizeof(e->detail));
	strlcpy(e->query, debug_query_string ? debug_query_string : "", sizeof(e->query));
	strlcpy(e->tenant, tenant ? tenant : "", sizeof(e->tenant));
	strlcpy(e->row_tenant, row_tenant ? row_tenant : "", sizeof(e->row_tenant));
	strlcpy(e->reason, reason ? reason : "", sizeof(e->reason));
}

/*
 * Put the violation into the audit trail and the server log.  A logged
 * repeat of a statement shape within the sampling interval is only counted,
 * exactly, in its shape, and writes no log line: under a flood of one
 * unscoped statement that is nearly every violation, and it then costs a
 * few thousand instructions instead of a full entry, a JSON line and the
 * log write.  Every other violation is logged, also one the queue had no
 * room for (its only record then, counted as dropped).
 *
 * The entry is one buffer reused: a repeat fills only its shape's fields,
 * and a detail row starts from a cleared buffer, so that no byte of an
 * earlier violation travels with it.
 */
static AuditPushResult
record_violation(const Violation *violation, const char *relation, bool rejected,
				 const char *tenant, const char *row_tenant, const char *reason)
{
	static AuditEntry *entry = NULL;
	uint64		query_id = violation_query_id(debug_query_string);
	AuditPushResult result;

	if (entry == NULL)
		entry = MemoryContextAlloc(TopMemoryContext, sizeof(AuditEntry));

	fill_shape_fields(entry, violation, relation, rejected, query_id);
	if (audit_queue_count_repeat(entry))
		return AUDIT_PUSH_SAMPLED;
	MemSet(entry, 0, sizeof(AuditEntry));
	fill_shape_fields(entry, violation, relation, rejected, query_id);
	fill_detail_fields(entry, violation, tenant, row_tenant, reason);
	result = audit_queue_push(entry);
	if (result != AUDIT_PUSH_SAMPLED)
		write_log_line(violation, relation, rejected, entry->query_id,
					   entry->call_site, tenant, row_tenant, reason);
	return result;
}

/*
 * Report a violation found in the given mode, with the tenant context in
 * force.  In enforce mode this does not return.
 */
void
violation_report(const Violation *violation, GuardMode mode)
{
	violation_report_tenant(violation, mode, tenant_context_text(), NULL);
}

/* The error in enforce mode; in log mode the optional client message. */
static void
violation_tell_client(const Violation *violation, bool rejected)
{
	int			level = 0;

	if (rejected)
		level = ERROR;
	else if (tenant_guard_client_messages == CLIENT_MESSAGE_WARNING)
		level = WARNING;
	else if (tenant_guard_client_messages == CLIENT_MESSAGE_NOTICE)
		level = NOTICE;
	if (level != 0)
		ereport(level,
				(errcode(violation->sqlstate),
				 errmsg_internal("%s", violation->message),
				 violation->detail ? errdetail_internal("%s", violation->detail) : 0,
				 violation->hint ? errhint("%s", violation->hint) : 0,
				 errhidestmt(level != ERROR)));
}

/*
 * Report a violation found in the given mode.  In enforce mode this does
 * not return.  On a worker, a violation found in a connection Citus opened
 * for the coordinator is the coordinator's to record: it is handed to it
 * (citus_relay.c) and only the error, in enforce mode, is raised here.
 */
void
violation_report_tenant(const Violation *violation, GuardMode mode,
						const char *tenant, const char *row_tenant)
{
	bool		rejected = (mode == GUARD_MODE_ENFORCE);
	char	   *relation;

	if (mode == GUARD_MODE_OFF)
		return;
	/* a break-glass transaction's statements are on record as such */
	if (break_glass_in_force() && violation->kind != VIOLATION_NON_ATOMIC_AMOUNT)
		return;

	relation = relation_qualified_name(violation->relid);
	if (citus_relay_send(violation, relation, rejected, tenant, row_tenant))
	{
		if (rejected)
			violation_tell_client(violation, true);
		pfree(relation);
		return;
	}
	(void) record_violation(violation, relation, rejected, tenant, row_tenant, NULL);
	citus_relay_note_recorded(violation);
	if (rejected && (violation->kind == VIOLATION_CROSS_TENANT_READ ||
					 violation->kind == VIOLATION_CROSS_TENANT_WRITE ||
					 violation->kind == VIOLATION_MISSING_TENANT))
		context_rules_note_refusal();
	violation_tell_client(violation, rejected);
	pfree(relation);
}

/*
 * Record a violation a worker found for this node's client statement and
 * handed over (citus_relay.c): the relation is the distributed table's
 * name as the worker gave it.  Never throws for the violation: a rejected
 * one is already on its way as the worker's error.  tell_client: send the
 * log-mode client message, which must not be raised while an error is
 * being handled.
 */
void
violation_report_relayed(const Violation *violation, const char *relation,
						 bool rejected, const char *tenant, const char *row_tenant,
						 bool tell_client)
{
	(void) record_violation(violation, relation, rejected, tenant, row_tenant, NULL);
	if (!rejected && tell_client)
		violation_tell_client(violation, false);
}

/*
 * Put a statement of a break-glass transaction on record: one row per
 * tenant table it touches, with the reason, never sampled (audit_queue.c).
 * Without room for the row the statement is refused (the queue counts the
 * attempt as it counts any violation without room): it would otherwise
 * run with only a count on record, or nothing.
 */
void
violation_record_break_glass(Oid relid, const char *command, const char *reason)
{
	char	   *relation = relation_qualified_name(relid);
	Violation	violation = {0};

	violation.kind = VIOLATION_BREAK_GLASS;
	violation.relid = relid;
	violation.command = command;
	if (record_violation(&violation, relation, false, tenant_context_text(), NULL,
						 reason) != AUDIT_PUSH_ROW)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("break-glass statement on \"%s\" refused: its audit row cannot be queued",
						relation),
				 errdetail("The audit queue has no room for this database's rows; a break-glass statement runs only with its row on record."),
				 errhint("Retry when the audit writer has caught up, or raise tenant_guard.audit_queue_size.")));
	pfree(relation);
}

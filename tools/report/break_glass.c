/*
 * break_glass.c: the uses of tenant_guard.break_glass(reason) in one
 * database's trail.  Its statements are recorded with kind break_glass, one
 * row per tenant table per statement; they are not violations (fetch.c
 * leaves them out of everything else) and get a section of their own.
 *
 * A use is the rows of one session under one reason: the same role,
 * application, client address, backend pid and reason.  The trail has no
 * transaction id, so two break-glass transactions of one session with the
 * same reason are one use.  Its statements are counted from its rows in the
 * order they were recorded: a statement's rows follow each other, one per
 * table in increasing OID order, with the same text and command, so a row
 * starts a statement when its text or command differs from the row before,
 * or its table's OID is not larger (or is not known any more).
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#define UTC(expr) "pg_catalog.to_char((" expr ") AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
#define USE_KEY "user_name, application_name, client_addr, backend_pid, reason"
#define STARTS(col) "g." col " IS DISTINCT FROM pg_catalog.lag(g." col ") OVER w"

static const char *const uses_sql =
"WITH tables AS ("
" SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"
" AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
"), glass AS ("
" SELECT v.id, v.occurred_at, v.user_name::text AS user_name, v.application_name,"
" pg_catalog.host(v.client_addr) AS client_addr, v.backend_pid, v.reason, v.relation,"
" v.command, v.query, t.oid AS relid"
" FROM tenant_guard.violations v LEFT JOIN tables t ON t.name = v.relation"
" WHERE v.kind = 'break_glass' AND ($1::pg_catalog.timestamptz IS NULL"
" OR v.occurred_at >= $1::pg_catalog.timestamptz)"
"), marked AS ("
" SELECT g.*, (g.relid IS NULL OR pg_catalog.lag(g.relid) OVER w IS NULL"
" OR g.relid <= pg_catalog.lag(g.relid) OVER w"
" OR " STARTS("query") " OR " STARTS("command") ")::int AS starts"
" FROM glass g WINDOW w AS (PARTITION BY " USE_KEY " ORDER BY g.occurred_at, g.relid, g.id)"
") SELECT " USE_KEY ", "
UTC("pg_catalog.min(occurred_at)") ", " UTC("pg_catalog.max(occurred_at)") ","
" pg_catalog.sum(starts), pg_catalog.count(*),"
" pg_catalog.array_agg(DISTINCT relation ORDER BY relation),"
" pg_catalog.array_agg(DISTINCT command ORDER BY command) FILTER (WHERE command <> '')"
" FROM marked GROUP BY " USE_KEY;

static char *
value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static void
add_use(Report *r, const char *database, PGresult *res, int row)
{
	BreakGlassUse *u;

	r->uses = grow_array(r->uses, &r->uses_cap, r->nuses + 1, sizeof(BreakGlassUse));
	u = &r->uses[r->nuses++];
	u->database = xstrdup(database);
	u->user = value(res, row, 0);
	u->application = value(res, row, 1);
	u->client_addr = value(res, row, 2);
	u->backend_pid = value(res, row, 3);
	u->reason = value(res, row, 4);
	u->first_seen = value(res, row, 5);
	u->last_seen = value(res, row, 6);
	u->statements = strtoll(PQgetvalue(res, row, 7), NULL, 10);
	u->rows = strtoll(PQgetvalue(res, row, 8), NULL, 10);
	u->tables = parse_array(PQgetvalue(res, row, 9), &u->ntables);
	u->commands = parse_array(PQgetvalue(res, row, 10), &u->ncommands);
}

void
fetch_break_glass(PGconn *conn, const char *database, const char *since, Report *report)
{
	PGresult   *res = PQexecParams(conn, uses_sql, 1, NULL, &since, NULL, NULL, 0);
	int			i;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die("database \"%s\": %s", database, result_message(res));
	for (i = 0; i < PQntuples(res); i++)
		add_use(report, database, res, i);
	PQclear(res);
}

static int
nullcmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Oldest first, as an auditor reads them; ties in a fixed order. */
static int
cmp_use(const void *a, const void *b)
{
	const BreakGlassUse *x = a,
			   *y = b;
	int			c;

	if ((c = nullcmp(x->first_seen, y->first_seen)) != 0 ||
		(c = strcmp(x->database, y->database)) != 0 ||
		(c = nullcmp(x->user, y->user)) != 0 ||
		(c = nullcmp(x->backend_pid, y->backend_pid)) != 0)
		return c;
	return nullcmp(x->reason, y->reason);
}

void
sort_break_glass(Report *r)
{
	if (r->nuses)
		qsort(r->uses, r->nuses, sizeof(BreakGlassUse), cmp_use);
}

void
free_break_glass(Report *r)
{
	size_t		i;

	for (i = 0; i < r->nuses; i++)
	{
		BreakGlassUse *u = &r->uses[i];

		free(u->database);
		free(u->user);
		free(u->application);
		free(u->client_addr);
		free(u->backend_pid);
		free(u->reason);
		free(u->first_seen);
		free(u->last_seen);
		free_names(u->tables, u->ntables);
		free_names(u->commands, u->ncommands);
	}
	free(r->uses);
}

/*
 * fetch.c: what one database's trail holds, read with a handful of
 * aggregate queries over tenant_guard.violations (grouped like the view
 * tenant_guard.violation_summary, so that --since can filter rows first).
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The trail as one relation "v" of (id, kind, relation, query_id, call_site,
 * query, user_name, application_name, first_seen, last_seen, n): one row
 * per detail row (n = 1) and, where the database has them, one per batch
 * of repeats that were only counted (tenant_guard.violation_counts, with
 * no statement text), so that every count below is exact when detail rows
 * were sampled.  %s is the call_site column, or NULL where the
 * trail predates it.  Statements run under break glass are left out: they
 * are not violations, and break_glass.c reads them for a section of their
 * own.
 */
#define NOT_BREAK_GLASS(alias) alias ".kind <> 'break_glass'"
#define SINCE(col) "($1::pg_catalog.timestamptz IS NULL OR " col " >= $1::pg_catalog.timestamptz)"
static const char *const detail_rows =
"SELECT v.id, v.kind, v.relation, v.query_id, %s AS call_site, v.query,"
" v.user_name::text AS user_name, v.application_name,"
" v.occurred_at AS first_seen, v.occurred_at AS last_seen, 1::bigint AS n"
" FROM tenant_guard.violations v WHERE " NOT_BREAK_GLASS("v") " AND " SINCE("v.occurred_at");
static const char *const counted_rows =
" UNION ALL SELECT NULL, c.kind, c.relation, c.query_id, c.call_site, NULL,"
" c.user_name::text, c.application_name,"
" c.first_seen, c.last_seen, c.count"
" FROM tenant_guard.violation_counts c WHERE " NOT_BREAK_GLASS("c") " AND " SINCE("c.last_seen");

#define TRAIL " FROM (%s) v"
#define UTC(expr) "pg_catalog.to_char((" expr ") AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
#define LATEST_QUERY "(pg_catalog.array_agg(v.query ORDER BY v.last_seen DESC, v.id DESC)" \
	" FILTER (WHERE v.query IS NOT NULL))[1]"
#define COUNT "pg_catalog.sum(v.n)::bigint"

static const char *const shapes_sql =
"SELECT v.kind, v.relation, v.query_id::text, " COUNT ", "
UTC("pg_catalog.min(v.first_seen)") ", " UTC("pg_catalog.max(v.last_seen)") ", "
LATEST_QUERY ", "
"pg_catalog.array_agg(DISTINCT v.user_name) FILTER (WHERE v.user_name IS NOT NULL), "
"pg_catalog.array_agg(DISTINCT v.application_name) FILTER (WHERE v.application_name IS NOT NULL)"
TRAIL
" GROUP BY v.kind, v.relation, v.query_id, CASE WHEN v.query_id IS NULL THEN v.query END";

static const char *const call_sites_sql =
"SELECT pg_catalog.to_jsonb(v.call_site)::text, v.kind, v.relation, " COUNT ", "
UTC("pg_catalog.min(v.first_seen)") ", " UTC("pg_catalog.max(v.last_seen)")
TRAIL " WHERE v.call_site IS NOT NULL"
" GROUP BY pg_catalog.to_jsonb(v.call_site)::text, v.kind, v.relation";

static const char *const users_sql =
"SELECT v.user_name, " COUNT TRAIL
" WHERE v.user_name IS NOT NULL GROUP BY v.user_name";

static const char *const applications_sql =
"SELECT v.application_name, " COUNT TRAIL
" WHERE v.application_name IS NOT NULL GROUP BY v.application_name";

/* A batch of counted repeats falls in the hour of its last repeat. */
static const char *const timeline_sql =
"SELECT " UTC("pg_catalog.date_trunc('hour', v.last_seen, 'UTC')") ", v.kind, " COUNT
TRAIL " GROUP BY 1, 2";

/* The baseline's identity of a violation: call site, else query id, else text. */
static const char *const keys_sql =
"SELECT v.kind, v.relation, CASE WHEN v.query_id IS NOT NULL THEN 'query_id=' || v.query_id END, "
LATEST_QUERY TRAIL
" GROUP BY 1, 2, 3, CASE WHEN v.query_id IS NULL THEN v.query END";

static const char *const keys_call_site_sql =
"SELECT v.kind, v.relation, CASE"
" WHEN v.call_site IS NOT NULL THEN 'call_site=' || pg_catalog.to_jsonb(v.call_site)::text"
" WHEN v.query_id IS NOT NULL THEN 'query_id=' || v.query_id END, "
LATEST_QUERY TRAIL
" GROUP BY 1, 2, 3, CASE WHEN v.call_site IS NULL AND v.query_id IS NULL THEN v.query END";

typedef struct Fetch
{
	PGconn	   *conn;
	const char *database;
	const char *since;
	char	   *trail;			/* the relation "v" above, for this database */
	Report	   *report;
} Fetch;

/* Run one of the queries above, its TRAIL made this database's trail. */
static PGresult *
run(const Fetch *f, const char *sql)
{
	StrBuf		query;
	PGresult   *res;

	sb_init(&query);
	sb_printf(&query, sql, f->trail);
	res = PQexecParams(f->conn, query.data, 1, NULL, &f->since, NULL, NULL, 0);
	sb_free(&query);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die("database \"%s\": %s", f->database, result_message(res));
	return res;
}

static char *
value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static long long
count_value(PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* One element of an array literal, quoted or not; NULL for a NULL element. */
static char *
array_element(const char **p)
{
	StrBuf		buf;
	const char *s = *p;

	sb_init(&buf);
	if (*s == '"')
	{
		for (s++; *s && *s != '"'; s++)
		{
			if (*s == '\\' && s[1])
				s++;
			sb_append_char(&buf, *s);
		}
		if (*s == '"')
			s++;
	}
	else
	{
		while (*s && *s != ',' && *s != '}')
			sb_append_char(&buf, *s++);
		if (strcasecmp(buf.data, "NULL") == 0)
		{
			sb_free(&buf);
			*p = s;
			return NULL;
		}
	}
	*p = s;
	return sb_steal(&buf);
}

/* A one-dimensional text array as PostgreSQL prints it: {a,"b c",NULL}. */
char	  **
parse_array(const char *text, size_t *n)
{
	char	  **items = NULL;
	size_t		cap = 0;
	const char *p = text;
	char	   *item;

	*n = 0;
	if (p == NULL || *p++ != '{')
		return NULL;
	while (*p && *p != '}')
	{
		item = array_element(&p);
		if (item)
		{
			items = grow_array(items, &cap, *n + 1, sizeof(char *));
			items[(*n)++] = item;
		}
		if (*p == ',')
			p++;
	}
	return items;
}

static void
fetch_shapes(const Fetch *f)
{
	PGresult   *res = run(f, shapes_sql);
	Report	   *r = f->report;
	int			i;

	for (i = 0; i < PQntuples(res); i++)
	{
		Shape	   *s;

		r->shapes = grow_array(r->shapes, &r->shapes_cap, r->nshapes + 1, sizeof(Shape));
		s = &r->shapes[r->nshapes++];
		s->database = xstrdup(f->database);
		s->kind = value(res, i, 0);
		s->relation = value(res, i, 1);
		s->query_id = value(res, i, 2);
		s->count = count_value(res, i, 3);
		s->first_seen = value(res, i, 4);
		s->last_seen = value(res, i, 5);
		s->sample_query = value(res, i, 6);
		s->users = parse_array(PQgetvalue(res, i, 7), &s->nusers);
		s->applications = parse_array(PQgetvalue(res, i, 8), &s->napplications);
	}
	PQclear(res);
}

static void
fetch_call_sites(const Fetch *f)
{
	PGresult   *res = run(f, call_sites_sql);
	Report	   *r = f->report;
	int			i;

	for (i = 0; i < PQntuples(res); i++)
	{
		CallSite   *c;

		r->sites = grow_array(r->sites, &r->sites_cap, r->nsites + 1, sizeof(CallSite));
		c = &r->sites[r->nsites++];
		c->database = xstrdup(f->database);
		c->call_site = value(res, i, 0);
		c->kind = value(res, i, 1);
		c->relation = value(res, i, 2);
		c->count = count_value(res, i, 3);
		c->first_seen = value(res, i, 4);
		c->last_seen = value(res, i, 5);
	}
	PQclear(res);
}

/* Counts by name (users, applications) or by hour and kind (timeline). */
static void
fetch_counts(const Fetch *f, const char *sql, CountList *list, bool two_keys)
{
	PGresult   *res = run(f, sql);
	int			i;

	for (i = 0; i < PQntuples(res); i++)
		count_add(list, NULL, PQgetvalue(res, i, 0),
				  two_keys ? PQgetvalue(res, i, 1) : NULL,
				  count_value(res, i, two_keys ? 2 : 1), 0);
	PQclear(res);
}

/*
 * A baseline field: backslash, tab and control characters escaped, so that
 * a line is one violation and its fields are split at tabs.
 */
static void
append_field(StrBuf *out, const char *s)
{
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '\\')
			sb_append(out, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(out, "\\x%02x", c);
		else
			sb_append_char(out, (char) c);
	}
}

static void
add_key(Report *r, const char *database, PGresult *res, int row)
{
	const char *shape = PQgetisnull(res, row, 2) ? NULL : PQgetvalue(res, row, 2);
	const char *sample = PQgetisnull(res, row, 3) ? "" : PQgetvalue(res, row, 3);
	char	   *text = normalize_text(sample);
	StrBuf		key;

	sb_init(&key);
	append_field(&key, PQgetvalue(res, row, 0));
	sb_append_char(&key, '\t');
	if (r->all_databases)
	{
		append_field(&key, database);
		sb_append_char(&key, ':');
	}
	append_field(&key, PQgetvalue(res, row, 1));
	sb_append_char(&key, '\t');
	if (shape)
		append_field(&key, shape);
	else
	{
		sb_append(&key, "query=");
		append_field(&key, text);
	}
	r->keys = grow_array(r->keys, &r->keys_cap, r->nkeys + 1, sizeof(BaselineKey));
	r->keys[r->nkeys].key = sb_steal(&key);
	r->keys[r->nkeys++].comment = shorten(text, 100, false);
	free(text);
}

static void
fetch_keys(const Fetch *f, bool call_sites)
{
	PGresult   *res = run(f, call_sites ? keys_call_site_sql : keys_sql);
	int			i;

	for (i = 0; i < PQntuples(res); i++)
		add_key(f->report, f->database, res, i);
	PQclear(res);
}

void
fetch_database(PGconn *conn, const char *database, Report *report)
{
	Fetch		f = {conn, database, report->since, NULL, report};
	bool		call_sites = has_call_site_column(conn);
	StrBuf		trail;

	sb_init(&trail);
	sb_printf(&trail, detail_rows, call_sites ? "v.call_site" : "NULL::pg_catalog.jsonb");
	if (has_violation_counts(conn))
		sb_append(&trail, counted_rows);
	f.trail = trail.data;
	if (call_sites)
		report->has_call_sites = true;
	fetch_shapes(&f);
	if (call_sites)
		fetch_call_sites(&f);
	fetch_counts(&f, users_sql, &report->users, false);
	fetch_counts(&f, applications_sql, &report->applications, false);
	fetch_counts(&f, timeline_sql, &report->timeline, true);
	fetch_keys(&f, call_sites);
	if (has_reason_column(conn))
		fetch_break_glass(conn, database, report->since, report);
	sb_free(&trail);
}

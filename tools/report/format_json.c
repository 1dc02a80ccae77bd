/*
 * format_json.c: the report for programs.  The keys are documented in
 * doc/report.md and stay stable within a format_version; every string is
 * escaped, times are ISO 8601 in UTC, query ids are strings (64 bits do not
 * fit a JSON number everywhere).
 */
#include "report.h"

#define JSON_FORMAT_VERSION 1

static void
key(StrBuf *out, const char *name)
{
	append_json_string(out, name);
	sb_append(out, ": ");
}

/* A JSON array of these strings, on one line. */
void
json_string_array(StrBuf *out, char **items, size_t n)
{
	size_t		i;

	sb_append_char(out, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			sb_append(out, ", ");
		append_json_string(out, items[i]);
	}
	sb_append_char(out, ']');
}

/* Start the i-th element of an array written one element per line. */
static void
element(StrBuf *out, size_t i)
{
	sb_append(out, i == 0 ? "\n    " : ",\n    ");
}

static void
end_array(StrBuf *out, size_t n)
{
	sb_append(out, n ? "\n  ]" : "]");
}

static void
overview(const Report *r, StrBuf *out)
{
	sb_printf(out, "{\n  \"format_version\": %d,\n  ", JSON_FORMAT_VERSION);
	key(out, "generated_at"), append_iso_time(out, r->generated_at);
	sb_append(out, ",\n  ");
	key(out, "since"), append_iso_time(out, r->since);
	sb_append(out, ",\n  ");
	key(out, "databases"), json_string_array(out, r->databases, r->ndatabases);
	sb_printf(out, ",\n  \"call_sites_recorded\": %s,\n  ", r->has_call_sites ? "true" : "false");
	key(out, "totals");
	sb_printf(out, "{\"violations\": %lld, \"shapes\": %zu, \"first_seen\": ", r->total, r->nshapes);
	append_iso_time(out, r->first_seen);
	sb_append(out, ", \"last_seen\": ");
	append_iso_time(out, r->last_seen);
	sb_append(out, "}");
}

/* by_kind, by_relation, users, applications: {name: ..., count: ...}. */
static void
count_array(StrBuf *out, const char *name, const char *what, const CountList *list,
			bool with_shapes, bool with_database, size_t limit)
{
	size_t		i;

	sb_append(out, ",\n  ");
	key(out, name);
	sb_append_char(out, '[');
	for (i = 0; i < limit; i++)
	{
		const CountRow *row = &list->rows[i];

		element(out, i);
		sb_append_char(out, '{');
		if (with_database)
			key(out, "database"), append_json_string(out, row->database), sb_append(out, ", ");
		key(out, what), append_json_string(out, row->key);
		sb_printf(out, ", \"count\": %lld", row->count);
		if (with_shapes)
			sb_printf(out, ", \"shapes\": %lld", row->shapes);
		sb_append_char(out, '}');
	}
	end_array(out, limit);
}

static void
shape_object(StrBuf *out, const Shape *s)
{
	sb_append(out, "{\"database\": ");
	append_json_string(out, s->database);
	sb_append(out, ", \"kind\": "), append_json_string(out, s->kind);
	sb_append(out, ", \"relation\": "), append_json_string(out, s->relation);
	sb_append(out, ", \"query_id\": "), append_json_string(out, s->query_id);
	sb_printf(out, ", \"count\": %lld, \"first_seen\": ", s->count);
	append_iso_time(out, s->first_seen);
	sb_append(out, ", \"last_seen\": "), append_iso_time(out, s->last_seen);
	sb_append(out, ", \"users\": "), json_string_array(out, s->users, s->nusers);
	sb_append(out, ", \"applications\": ");
	json_string_array(out, s->applications, s->napplications);
	sb_append(out, ", \"sample_query\": "), append_json_string(out, s->sample_query);
	sb_append_char(out, '}');
}

static void
shapes_array(const Report *r, StrBuf *out)
{
	size_t		i,
				n = shown(r, r->nshapes);

	sb_append(out, ",\n  \"top_shapes\": [");
	for (i = 0; i < n; i++)
	{
		element(out, i);
		shape_object(out, &r->shapes[i]);
	}
	end_array(out, n);
}

/* The call site is the recorded JSON value itself, not a string. */
static void
call_sites_array(const Report *r, StrBuf *out)
{
	size_t		i,
				n = shown(r, r->nsites);

	sb_append(out, ",\n  \"call_sites\": [");
	for (i = 0; i < n; i++)
	{
		const CallSite *c = &r->sites[i];

		element(out, i);
		sb_append(out, "{\"database\": "), append_json_string(out, c->database);
		sb_printf(out, ", \"call_site\": %s", c->call_site);
		sb_append(out, ", \"kind\": "), append_json_string(out, c->kind);
		sb_append(out, ", \"relation\": "), append_json_string(out, c->relation);
		sb_printf(out, ", \"count\": %lld, \"first_seen\": ", c->count);
		append_iso_time(out, c->first_seen);
		sb_append(out, ", \"last_seen\": "), append_iso_time(out, c->last_seen);
		sb_append_char(out, '}');
	}
	end_array(out, n);
}

static void
timeline_object(const Report *r, StrBuf *out)
{
	size_t		i;

	sb_printf(out, ",\n  \"timeline\": {\"bucket\": \"%s\", \"points\": [", r->bucket);
	for (i = 0; i < r->timeline.n; i++)
	{
		const CountRow *p = &r->timeline.rows[i];

		element(out, i);
		sb_append(out, "{\"start\": "), append_iso_time(out, p->key);
		sb_append(out, ", \"kind\": "), append_json_string(out, p->key2);
		sb_printf(out, ", \"count\": %lld}", p->count);
	}
	end_array(out, r->timeline.n);
	sb_append_char(out, '}');
}

void
format_json(const Report *r, StrBuf *out)
{
	overview(r, out);
	count_array(out, "by_kind", "kind", &r->kinds, true, false, r->kinds.n);
	count_array(out, "by_relation", "relation", &r->relations, true, true,
				shown(r, r->relations.n));
	shapes_array(r, out);
	call_sites_array(r, out);
	count_array(out, "users", "user", &r->users, false, false, shown(r, r->users.n));
	count_array(out, "applications", "application", &r->applications, false, false,
				shown(r, r->applications.n));
	timeline_object(r, out);
	break_glass_json(r, out);
	sb_append(out, "\n}\n");
}

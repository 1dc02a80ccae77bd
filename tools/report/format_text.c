/*
 * format_text.c: a terminal summary; every line fits 100 columns, texts are
 * normalized (control characters replaced) and shortened with "...".
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#define WIDTH 100

/* prefix + text shortened to what is left of the line. */
static void
line(StrBuf *out, const char *prefix, const char *text, bool middle)
{
	size_t		used = display_width(prefix);
	char	   *cut = shorten(text, used < WIDTH ? WIDTH - used : 8, middle);

	sb_append(out, prefix);
	sb_append(out, cut);
	sb_append_char(out, '\n');
	free(cut);
}

/* "db:schema.table" with --all-databases, else the relation. */
static char *
relation_name(const Report *r, const char *database, const char *relation)
{
	StrBuf		buf;

	sb_init(&buf);
	if (r->all_databases && database)
		sb_printf(&buf, "%s:", database);
	sb_append(&buf, relation ? relation : "");
	return sb_steal(&buf);
}

static void
header(const Report *r, StrBuf *out)
{
	StrBuf		buf;
	char	   *names = join_names(r->databases, r->ndatabases, ", ");

	sb_init(&buf);
	sb_printf(&buf, "tenant_guard report: %lld violation%s in %zu statement shape%s",
			  r->total, r->total == 1 ? "" : "s", r->nshapes, r->nshapes == 1 ? "" : "s");
	line(out, "", buf.data, false);
	line(out, r->ndatabases == 1 ? "database: " : "databases: ", names, false);
	if (r->first_seen)
	{
		sb_reset(&buf);
		sb_printf(&buf, "first seen %s UTC, last seen %s UTC", r->first_seen, r->last_seen);
		line(out, "", buf.data, false);
	}
	if (r->since)
	{
		sb_reset(&buf);
		sb_printf(&buf, "since %.19s UTC", r->since);
		line(out, "", buf.data, false);
	}
	sb_reset(&buf);
	sb_printf(&buf, "generated %s UTC", r->generated_at);
	line(out, "", buf.data, false);
	sb_free(&buf);
	free(names);
}

static void
section(StrBuf *out, const char *title, size_t shown_rows, size_t all)
{
	if (shown_rows < all)
		sb_printf(out, "\n%s (top %zu of %zu)\n", title, shown_rows, all);
	else
		sb_printf(out, "\n%s\n", title);
}

/* A ranked list: count, optionally shapes, and the name. */
static void
count_table(const Report *r, StrBuf *out, const char *title, const char *what,
			const CountList *list, bool with_shapes, size_t limit)
{
	StrBuf		prefix;
	size_t		i;

	section(out, title, limit, list->n);
	sb_init(&prefix);
	if (with_shapes)
		sb_printf(&prefix, "  %9s  %6s  ", "count", "shapes");
	else
		sb_printf(&prefix, "  %9s  ", "count");
	line(out, prefix.data, what, false);
	for (i = 0; i < limit; i++)
	{
		const CountRow *row = &list->rows[i];
		char	   *name = relation_name(r, row->database, row->key);

		sb_reset(&prefix);
		if (with_shapes)
			sb_printf(&prefix, "  %9lld  %6lld  ", row->count, row->shapes);
		else
			sb_printf(&prefix, "  %9lld  ", row->count);
		line(out, prefix.data, name[0] ? name : "(empty)", false);
		free(name);
	}
	sb_free(&prefix);
}

static void
shape_lines(const Report *r, StrBuf *out, size_t rank, const Shape *s)
{
	StrBuf		buf,
				prefix;
	char	   *rel = relation_name(r, s->database, s->relation);
	char	   *users = join_names(s->users, s->nusers, ", ");
	char	   *apps = join_names(s->applications, s->napplications, ", ");
	const char *indent = "                 ";

	sb_init(&buf);
	sb_init(&prefix);
	sb_printf(&prefix, "%4zu. %9lld  ", rank, s->count);
	sb_printf(&buf, "%s on %s, query_id %s", s->kind, rel, s->query_id ? s->query_id : "none");
	line(out, prefix.data, buf.data, true);
	sb_free(&prefix);
	sb_reset(&buf);
	sb_printf(&buf, "first %s, last %s", s->first_seen, s->last_seen);
	line(out, indent, buf.data, false);
	sb_reset(&buf);
	sb_printf(&buf, "users: %s; applications: %s", s->nusers ? users : "-",
			  s->napplications ? apps : "-");
	line(out, indent, buf.data, false);
	line(out, indent, s->sample_query ? s->sample_query : "(no statement text)", true);
	sb_free(&buf);
	free(rel);
	free(users);
	free(apps);
}

static void
call_site_lines(const Report *r, StrBuf *out, size_t rank, const CallSite *c)
{
	StrBuf		buf;
	char	   *rel = relation_name(r, c->database, c->relation);

	sb_init(&buf);
	sb_printf(&buf, "%4zu. %9lld  ", rank, c->count);
	line(out, buf.data, c->call_site, true);
	sb_reset(&buf);
	sb_printf(&buf, "%s on %s, first %s, last %s", c->kind, rel, c->first_seen, c->last_seen);
	line(out, "                 ", buf.data, true);
	sb_free(&buf);
	free(rel);
}

void
format_text(const Report *r, StrBuf *out)
{
	size_t		i,
				n;

	header(r, out);
	if (r->total == 0)
	{
		sb_append(out, "\nno violations recorded\n");
		break_glass_text(r, out);
		return;
	}
	count_table(r, out, "By kind", "kind", &r->kinds, true, r->kinds.n);
	count_table(r, out, "Relations", "relation", &r->relations, true,
				shown(r, r->relations.n));
	n = shown(r, r->nshapes);
	section(out, "Statement shapes", n, r->nshapes);
	for (i = 0; i < n; i++)
		shape_lines(r, out, i + 1, &r->shapes[i]);
	if (r->has_call_sites)
	{
		n = shown(r, r->nsites);
		section(out, "Call sites", n, r->nsites);
		for (i = 0; i < n; i++)
			call_site_lines(r, out, i + 1, &r->sites[i]);
	}
	count_table(r, out, "Users", "user", &r->users, false, shown(r, r->users.n));
	count_table(r, out, "Applications", "application", &r->applications, false,
				shown(r, r->applications.n));
	break_glass_text(r, out);
}

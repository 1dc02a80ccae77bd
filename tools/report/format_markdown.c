/*
 * format_markdown.c: tables to paste into a ticket.  Every cell is escaped
 * (cell borders, code, emphasis, links, HTML) and kept on one line.
 */
#include "report.h"

#include <stdlib.h>

/* Statements are shortened in tables; the json and html reports have them whole. */
#define STATEMENT_WIDTH 200

static void
cell(StrBuf *out, const char *text)
{
	sb_append(out, "| ");
	append_markdown(out, text);
	sb_append_char(out, ' ');
}

static void
cell_count(StrBuf *out, long long n)
{
	sb_printf(out, "| %lld ", n);
}

static void
end_row(StrBuf *out)
{
	sb_append(out, "|\n");
}

static void
cell_relation(const Report *r, StrBuf *out, const char *database, const char *relation)
{
	StrBuf		buf;

	sb_init(&buf);
	if (r->all_databases && database)
		sb_printf(&buf, "%s:", database);
	sb_append(&buf, relation ? relation : "");
	cell(out, buf.data);
	sb_free(&buf);
}

static void
overview(const Report *r, StrBuf *out)
{
	char	   *names = join_names(r->databases, r->ndatabases, ", ");
	StrBuf		buf;

	sb_init(&buf);
	sb_append(out, "# tenant_guard report\n\n| | |\n|---|---|\n");
	cell(out, "violations"), cell_count(out, r->total), end_row(out);
	cell(out, "statement shapes"), cell_count(out, (long long) r->nshapes), end_row(out);
	cell(out, r->ndatabases == 1 ? "database" : "databases"), cell(out, names), end_row(out);
	if (r->first_seen)
	{
		sb_printf(&buf, "%s UTC", r->first_seen);
		cell(out, "first seen"), cell(out, buf.data), end_row(out);
		sb_reset(&buf);
		sb_printf(&buf, "%s UTC", r->last_seen);
		cell(out, "last seen"), cell(out, buf.data), end_row(out);
	}
	if (r->since)
	{
		sb_reset(&buf);
		sb_printf(&buf, "%.19s UTC", r->since);
		cell(out, "since"), cell(out, buf.data), end_row(out);
	}
	sb_reset(&buf);
	sb_printf(&buf, "%s UTC", r->generated_at);
	cell(out, "generated"), cell(out, buf.data), end_row(out);
	sb_free(&buf);
	free(names);
}

static void
count_table(const Report *r, StrBuf *out, const char *title, const char *what,
			const CountList *list, bool with_shapes, size_t limit)
{
	size_t		i;

	sb_printf(out, "\n## %s\n\n", title);
	if (limit < list->n)
		sb_printf(out, "Top %zu of %zu.\n\n", limit, list->n);
	sb_printf(out, with_shapes ? "| %s | count | shapes |\n|---|---:|---:|\n"
			  : "| %s | count |\n|---|---:|\n", what);
	for (i = 0; i < limit; i++)
	{
		cell_relation(r, out, list->rows[i].database, list->rows[i].key);
		cell_count(out, list->rows[i].count);
		if (with_shapes)
			cell_count(out, list->rows[i].shapes);
		end_row(out);
	}
}

static void
shape_row(const Report *r, StrBuf *out, size_t rank, const Shape *s)
{
	char	   *users = join_names(s->users, s->nusers, ", ");
	char	   *apps = join_names(s->applications, s->napplications, ", ");
	char	   *statement = shorten(s->sample_query ? s->sample_query : "",
									STATEMENT_WIDTH, true);

	sb_printf(out, "| %zu ", rank);
	cell(out, s->kind);
	cell_relation(r, out, s->database, s->relation);
	cell(out, s->query_id ? s->query_id : "");
	cell_count(out, s->count);
	cell(out, s->first_seen);
	cell(out, s->last_seen);
	cell(out, users);
	cell(out, apps);
	cell(out, statement);
	end_row(out);
	free(users);
	free(apps);
	free(statement);
}

static void
shapes_table(const Report *r, StrBuf *out)
{
	size_t		i,
				n = shown(r, r->nshapes);

	sb_append(out, "\n## Statement shapes\n\n");
	if (n < r->nshapes)
		sb_printf(out, "Top %zu of %zu.\n\n", n, r->nshapes);
	sb_append(out, "| # | kind | relation | query_id | count | first seen | last seen "
			  "| users | applications | latest statement |\n"
			  "|---:|---|---|---|---:|---|---|---|---|---|\n");
	for (i = 0; i < n; i++)
		shape_row(r, out, i + 1, &r->shapes[i]);
}

static void
call_sites_table(const Report *r, StrBuf *out)
{
	size_t		i,
				n = shown(r, r->nsites);

	sb_append(out, "\n## Call sites\n\n");
	if (n < r->nsites)
		sb_printf(out, "Top %zu of %zu.\n\n", n, r->nsites);
	sb_append(out, "| # | call site | kind | relation | count | first seen | last seen |\n"
			  "|---:|---|---|---|---:|---|---|\n");
	for (i = 0; i < n; i++)
	{
		const CallSite *c = &r->sites[i];

		sb_printf(out, "| %zu ", i + 1);
		cell(out, c->call_site);
		cell(out, c->kind);
		cell_relation(r, out, c->database, c->relation);
		cell_count(out, c->count);
		cell(out, c->first_seen);
		cell(out, c->last_seen);
		end_row(out);
	}
}

void
format_markdown(const Report *r, StrBuf *out)
{
	overview(r, out);
	if (r->total == 0)
	{
		sb_append(out, "\nNo violations recorded.\n");
		break_glass_markdown(r, out);
		return;
	}
	count_table(r, out, "By kind", "kind", &r->kinds, true, r->kinds.n);
	count_table(r, out, "Relations", "relation", &r->relations, true,
				shown(r, r->relations.n));
	shapes_table(r, out);
	if (r->has_call_sites)
		call_sites_table(r, out);
	count_table(r, out, "Users", "user", &r->users, false, shown(r, r->users.n));
	count_table(r, out, "Applications", "application", &r->applications, false,
				shown(r, r->applications.n));
	break_glass_markdown(r, out);
}

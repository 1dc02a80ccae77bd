/*
 * format_html.c: one self-contained page: inline CSS, inline SVG charts,
 * no script, no external file, and a Content-Security-Policy that forbids
 * scripts, so that a statement text can only ever be text.
 */
#include "report.h"

#include <stdlib.h>

static const char *const style =
"body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#212529;padding:0 16px}"
"h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dee2e6}"
".cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #dee2e6;border-radius:6px;padding:8px 14px}"
".card b{display:block;font-size:20px}table{border-collapse:collapse;width:100%}"
"th,td{border-bottom:1px solid #e9ecef;padding:4px 8px;text-align:left;vertical-align:top}"
"td.n,th.n{text-align:right}td.t{white-space:nowrap}tr.statement td{border-bottom:2px solid #dee2e6}pre{margin:0;white-space:pre-wrap;word-break:break-all;"
"font:12px/1.3 ui-monospace,monospace;background:#f8f9fa;padding:4px}"
".chart{width:100%;height:auto;font-size:12px}.chart text{fill:#343a40}.axis{stroke:#adb5bd}"
".k0{fill:#d9480f}.k1{fill:#1971c2}.k2{fill:#2f9e44}.k3{fill:#ae3ec9}.k4{fill:#f08c00}.k5{fill:#495057}"
".pair{display:flex;gap:24px}.pair>div{flex:1}.muted{color:#6c757d}";

static void
head(StrBuf *out)
{
	sb_append(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			  "style-src 'unsafe-inline'; img-src data:\">\n"
			  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			  "<title>tenant_guard report</title>\n<style>");
	sb_append(out, style);
	sb_append(out, "</style>\n</head>\n<body>\n");
}

static void
card(StrBuf *out, const char *label, const char *value)
{
	sb_append(out, "<div class=\"card\"><b>");
	append_html(out, value);
	sb_append(out, "</b>");
	append_html(out, label);
	sb_append(out, "</div>");
}

static void
overview(const Report *r, StrBuf *out)
{
	char	   *names = join_names(r->databases, r->ndatabases, ", ");
	StrBuf		buf;

	sb_init(&buf);
	sb_append(out, "<header><h1>tenant_guard report</h1><p class=\"muted\">Generated ");
	append_html(out, r->generated_at);
	sb_append(out, " UTC");
	if (r->since)
	{
		sb_printf(&buf, "%.19s", r->since);
		sb_append(out, "; violations since ");
		append_html(out, buf.data);
		sb_append(out, " UTC");
	}
	sb_append(out, ".</p></header>\n<section id=\"overview\" class=\"cards\">");
	sb_reset(&buf);
	sb_printf(&buf, "%lld", r->total);
	card(out, "violations", buf.data);
	sb_reset(&buf);
	sb_printf(&buf, "%zu", r->nshapes);
	card(out, "statement shapes", buf.data);
	card(out, r->ndatabases == 1 ? "database" : "databases", names);
	card(out, "first seen (UTC)", r->first_seen ? r->first_seen : "-");
	card(out, "last seen (UTC)", r->last_seen ? r->last_seen : "-");
	sb_append(out, "</section>\n");
	sb_free(&buf);
	free(names);
}

static void
cell(StrBuf *out, const char *text, bool number)
{
	sb_append(out, number ? "<td class=\"n\">" : "<td>");
	append_html(out, text);
	sb_append(out, "</td>");
}

static void
cell_count(StrBuf *out, long long n)
{
	sb_printf(out, "<td class=\"n\">%lld</td>", n);
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
count_table(StrBuf *out, const char *id, const char *what, const CountList *list,
			size_t limit, bool with_shapes)
{
	size_t		i;

	sb_printf(out, "<table id=\"%s\"><tr><th>%s</th><th class=\"n\">violations</th>%s</tr>",
			  id, what, with_shapes ? "<th class=\"n\">shapes</th>" : "");
	for (i = 0; i < limit; i++)
	{
		sb_append(out, "<tr>");
		cell(out, list->rows[i].key, false);
		cell_count(out, list->rows[i].count);
		if (with_shapes)
			cell_count(out, list->rows[i].shapes);
		sb_append(out, "</tr>");
	}
	sb_append(out, "</table>\n");
}

static void
relations_chart(const Report *r, StrBuf *out)
{
	size_t		i,
				n = shown(r, r->relations.n);
	char	  **labels = xmalloc(n * sizeof(char *));
	long long  *counts = xmalloc(n * sizeof(long long));

	for (i = 0; i < n; i++)
	{
		labels[i] = relation_name(r, r->relations.rows[i].database, r->relations.rows[i].key);
		counts[i] = r->relations.rows[i].count;
	}
	sb_printf(out, "<section id=\"relations\"><h2>Top relations (%zu of %zu)</h2>\n", n,
			  r->relations.n);
	chart_bars(r, out, "chart-relations", "violations by relation", labels, counts, NULL, n);
	sb_append(out, "</section>\n");
	for (i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
	free(counts);
}

static void
shapes_chart(const Report *r, StrBuf *out)
{
	size_t		i,
				n = shown(r, r->nshapes);
	char	  **labels = xmalloc(n * sizeof(char *));
	long long  *counts = xmalloc(n * sizeof(long long));
	char	  **kinds = xmalloc(n * sizeof(char *));
	StrBuf		buf;

	sb_init(&buf);
	for (i = 0; i < n; i++)
	{
		char	   *rel = relation_name(r, r->shapes[i].database, r->shapes[i].relation);

		sb_reset(&buf);
		sb_printf(&buf, "#%zu %s %s", i + 1, r->shapes[i].kind, rel);
		labels[i] = xstrdup(buf.data);
		counts[i] = r->shapes[i].count;
		kinds[i] = r->shapes[i].kind;
		free(rel);
	}
	sb_printf(out, "<section id=\"shapes\"><h2>Top statement shapes (%zu of %zu)</h2>\n", n,
			  r->nshapes);
	chart_bars(r, out, "chart-shapes", "violations by statement shape", labels, counts,
			   kinds, n);
	sb_append(out, "</section>\n");
	for (i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
	free(counts);
	free(kinds);
	sb_free(&buf);
}

static void
call_sites_chart(const Report *r, StrBuf *out)
{
	size_t		i,
				n = shown(r, r->nsites);
	char	  **labels = xmalloc(n * sizeof(char *));
	long long  *counts = xmalloc(n * sizeof(long long));
	char	  **kinds = xmalloc(n * sizeof(char *));

	for (i = 0; i < n; i++)
	{
		labels[i] = r->sites[i].call_site;
		counts[i] = r->sites[i].count;
		kinds[i] = r->sites[i].kind;
	}
	sb_printf(out, "<section id=\"call-sites\"><h2>Top call sites (%zu of %zu)</h2>\n", n,
			  r->nsites);
	chart_bars(r, out, "chart-call-sites", "violations by call site", labels, counts, kinds, n);
	sb_append(out, "</section>\n");
	free(labels);
	free(counts);
	free(kinds);
}

static void
detail_row(const Report *r, StrBuf *out, size_t rank, const Shape *s)
{
	char	   *rel = relation_name(r, s->database, s->relation);
	char	   *users = join_names(s->users, s->nusers, ", ");
	char	   *apps = join_names(s->applications, s->napplications, ", ");

	sb_printf(out, "<tr><td class=\"n\">%zu</td>", rank);
	cell(out, s->kind, false);
	cell(out, rel, false);
	cell(out, s->query_id ? s->query_id : "-", false);
	cell_count(out, s->count);
	sb_append(out, "<td class=\"t\">");
	append_html(out, s->first_seen);
	sb_append(out, "</td><td class=\"t\">");
	append_html(out, s->last_seen);
	sb_append(out, "</td>");
	cell(out, users, false);
	cell(out, apps, false);
	sb_append(out, "</tr>\n<tr class=\"statement\"><td></td><td colspan=\"8\"><pre>");
	append_html(out, s->sample_query ? s->sample_query : "(no statement text)");
	sb_append(out, "</pre></td></tr>\n");
	free(rel);
	free(users);
	free(apps);
}

static void
details(const Report *r, StrBuf *out)
{
	size_t		i,
				n = shown(r, r->nshapes);

	sb_append(out, "<section id=\"details\"><h2>Statement shapes in detail</h2>\n"
			  "<p class=\"muted\">Each shape with its latest statement text.</p>\n"
			  "<table id=\"detail-table\"><tr><th class=\"n\">#</th><th>kind</th>"
			  "<th>relation</th><th>query_id</th><th class=\"n\">violations</th>"
			  "<th>first seen</th><th>last seen</th><th>users</th><th>applications</th>"
			  "</tr>\n");
	for (i = 0; i < n; i++)
		detail_row(r, out, i + 1, &r->shapes[i]);
	sb_append(out, "</table></section>\n");
}

static void
body(const Report *r, StrBuf *out)
{
	sb_printf(out, "<section id=\"timeline\"><h2>Violations over time, by %s (UTC)</h2>\n",
			  r->bucket);
	chart_timeline(r, out);
	sb_append(out, "</section>\n<section id=\"kinds\"><h2>By kind</h2>\n");
	count_table(out, "kind-table", "kind", &r->kinds, r->kinds.n, true);
	sb_append(out, "</section>\n");
	relations_chart(r, out);
	shapes_chart(r, out);
	if (r->has_call_sites)
		call_sites_chart(r, out);
	sb_append(out, "<section id=\"people\" class=\"pair\"><div><h2>Users</h2>\n");
	count_table(out, "user-table", "user", &r->users, shown(r, r->users.n), false);
	sb_append(out, "</div><div><h2>Applications</h2>\n");
	count_table(out, "application-table", "application", &r->applications,
				shown(r, r->applications.n), false);
	sb_append(out, "</div></section>\n");
	details(r, out);
}

void
format_html(const Report *r, StrBuf *out)
{
	head(out);
	overview(r, out);
	if (r->total == 0)
		sb_append(out, "<p id=\"empty\">No violations recorded.</p>\n");
	else
		body(r, out);
	break_glass_html(r, out);
	sb_append(out, "</body>\n</html>\n");
}

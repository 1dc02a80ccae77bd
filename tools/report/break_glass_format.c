/*
 * break_glass_format.c: the break-glass section of each format (see
 * break_glass.c for what a use is).  It is written whether or not there
 * are violations, and says so when there was no use: an auditor reads
 * "none" differently from a missing section.  Every value is escaped as
 * the rest of its format is; the reason is free text from whoever broke
 * glass.
 */
#include "report.h"

#include <stdlib.h>

#define TEXT_WIDTH 100
#define MARKDOWN_REASON_WIDTH 200
#define NOTE "not counted as violations"

static const char *
or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

static const char *
client(const BreakGlassUse *u)
{
	return u->client_addr ? u->client_addr : "local";
}

/* Its tables, "database:schema.table" with --all-databases. */
static char *
tables(const Report *r, const BreakGlassUse *u)
{
	StrBuf		out;
	size_t		i;

	sb_init(&out);
	for (i = 0; i < u->ntables; i++)
	{
		if (i > 0)
			sb_append(&out, ", ");
		if (r->all_databases)
			sb_printf(&out, "%s:", u->database);
		sb_append(&out, u->tables[i]);
	}
	return sb_steal(&out);
}

/* --- text ------------------------------------------------------------------ */

/* prefix + text on one line, shortened to fit the terminal's 100 columns. */
static void
text_line(StrBuf *out, const char *prefix, const char *text)
{
	size_t		used = display_width(prefix);
	char	   *cut = shorten(text, used < TEXT_WIDTH ? TEXT_WIDTH - used : 8, false);

	sb_append(out, prefix);
	sb_append(out, cut);
	sb_append_char(out, '\n');
	free(cut);
}

static void
text_use(const Report *r, StrBuf *out, size_t rank, const BreakGlassUse *u)
{
	const char *indent = "       ";
	char	   *names = tables(r, u);
	char	   *commands = join_names(u->commands, u->ncommands, ", ");
	StrBuf		buf,
				prefix;

	sb_init(&buf);
	sb_init(&prefix);
	sb_printf(&prefix, "%4zu.  ", rank);
	sb_printf(&buf, "user %s, application %s, client %s, backend pid %s", or_dash(u->user),
			  or_dash(u->application), client(u), u->backend_pid);
	text_line(out, prefix.data, buf.data);
	sb_reset(&buf);
	sb_printf(&buf, "first %s, last %s: %lld statement%s (%s), %lld row%s", u->first_seen,
			  u->last_seen, u->statements, u->statements == 1 ? "" : "s",
			  or_dash(commands), u->rows, u->rows == 1 ? "" : "s");
	text_line(out, indent, buf.data);
	text_line(out, "       reason: ", or_dash(u->reason));
	text_line(out, "       tables: ", names);
	sb_free(&buf);
	sb_free(&prefix);
	free(names);
	free(commands);
}

void
break_glass_text(const Report *r, StrBuf *out)
{
	size_t		i;

	if (r->nuses == 0)
	{
		sb_append(out, "\nBreak glass: no use recorded\n");
		return;
	}
	sb_printf(out, "\nBreak glass: %zu use%s, " NOTE "\n", r->nuses, r->nuses == 1 ? "" : "s");
	for (i = 0; i < r->nuses; i++)
		text_use(r, out, i + 1, &r->uses[i]);
}

/* --- markdown -------------------------------------------------------------- */

static void
md_cell(StrBuf *out, const char *text)
{
	sb_append(out, "| ");
	append_markdown(out, text);
	sb_append_char(out, ' ');
}

static void
md_use(const Report *r, StrBuf *out, size_t rank, const BreakGlassUse *u)
{
	char	   *names = tables(r, u);
	char	   *commands = join_names(u->commands, u->ncommands, ", ");
	char	   *reason = shorten(or_dash(u->reason), MARKDOWN_REASON_WIDTH, false);

	sb_printf(out, "| %zu ", rank);
	md_cell(out, or_dash(u->user));
	md_cell(out, or_dash(u->application));
	md_cell(out, client(u));
	md_cell(out, u->backend_pid);
	md_cell(out, u->first_seen);
	md_cell(out, u->last_seen);
	md_cell(out, reason);
	md_cell(out, names);
	md_cell(out, or_dash(commands));
	sb_printf(out, "| %lld | %lld |\n", u->statements, u->rows);
	free(names);
	free(commands);
	free(reason);
}

void
break_glass_markdown(const Report *r, StrBuf *out)
{
	size_t		i;

	sb_append(out, "\n## Break glass\n\n");
	if (r->nuses == 0)
	{
		sb_append(out, "No break-glass use recorded.\n");
		return;
	}
	sb_append(out, "Uses of `tenant_guard.break_glass()`, oldest first; " NOTE ".\n\n"
			  "| # | user | application | client | backend pid | first seen | last seen "
			  "| reason | tables | commands | statements | rows |\n"
			  "|---:|---|---|---|---:|---|---|---|---|---|---:|---:|\n");
	for (i = 0; i < r->nuses; i++)
		md_use(r, out, i + 1, &r->uses[i]);
}

/* --- json ------------------------------------------------------------------ */

static void
json_use(StrBuf *out, const BreakGlassUse *u)
{
	sb_append(out, "{\"database\": "), append_json_string(out, u->database);
	sb_append(out, ", \"user\": "), append_json_string(out, u->user);
	sb_append(out, ", \"application\": "), append_json_string(out, u->application);
	sb_append(out, ", \"client_addr\": "), append_json_string(out, u->client_addr);
	sb_printf(out, ", \"backend_pid\": %ld", strtol(u->backend_pid, NULL, 10));
	sb_append(out, ", \"reason\": "), append_json_string(out, u->reason);
	sb_append(out, ", \"first_seen\": "), append_iso_time(out, u->first_seen);
	sb_append(out, ", \"last_seen\": "), append_iso_time(out, u->last_seen);
	sb_printf(out, ", \"statements\": %lld, \"rows\": %lld", u->statements, u->rows);
	sb_append(out, ", \"tables\": "), json_string_array(out, u->tables, u->ntables);
	sb_append(out, ", \"commands\": "), json_string_array(out, u->commands, u->ncommands);
	sb_append_char(out, '}');
}

/* The key "break_glass", after the violations' keys. */
void
break_glass_json(const Report *r, StrBuf *out)
{
	size_t		i;

	sb_append(out, ",\n  \"break_glass\": [");
	for (i = 0; i < r->nuses; i++)
	{
		sb_append(out, i == 0 ? "\n    " : ",\n    ");
		json_use(out, &r->uses[i]);
	}
	sb_append(out, r->nuses ? "\n  ]" : "]");
}

/* --- html ------------------------------------------------------------------ */

static void
html_cell(StrBuf *out, const char *class, const char *text)
{
	sb_printf(out, "<td%s%s%s>", class ? " class=\"" : "", class ? class : "",
			  class ? "\"" : "");
	append_html(out, text);
	sb_append(out, "</td>");
}

static void
html_use(const Report *r, StrBuf *out, size_t rank, const BreakGlassUse *u)
{
	char	   *names = tables(r, u);
	char	   *commands = join_names(u->commands, u->ncommands, ", ");

	sb_printf(out, "<tr><td class=\"n\">%zu</td>", rank);
	html_cell(out, NULL, or_dash(u->user));
	html_cell(out, NULL, or_dash(u->application));
	html_cell(out, NULL, client(u));
	html_cell(out, "n", u->backend_pid);
	html_cell(out, "t", u->first_seen);
	html_cell(out, "t", u->last_seen);
	html_cell(out, NULL, or_dash(u->reason));
	html_cell(out, NULL, names);
	html_cell(out, NULL, or_dash(commands));
	sb_printf(out, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n",
			  u->statements, u->rows);
	free(names);
	free(commands);
}

void
break_glass_html(const Report *r, StrBuf *out)
{
	size_t		i;

	sb_append(out, "<section id=\"break-glass\"><h2>Break glass</h2>\n");
	if (r->nuses == 0)
	{
		sb_append(out, "<p class=\"muted\">No break-glass use recorded.</p></section>\n");
		return;
	}
	sb_append(out, "<p class=\"muted\">Uses of tenant_guard.break_glass(), oldest first; "
			  NOTE ".</p>\n<table id=\"break-glass-table\"><tr><th class=\"n\">#</th>"
			  "<th>user</th><th>application</th><th>client</th><th class=\"n\">backend pid</th>"
			  "<th>first seen</th><th>last seen</th><th>reason</th><th>tables</th>"
			  "<th>commands</th><th class=\"n\">statements</th><th class=\"n\">rows</th></tr>\n");
	for (i = 0; i < r->nuses; i++)
		html_use(r, out, i + 1, &r->uses[i]);
	sb_append(out, "</table></section>\n");
}

/*
 * tenant_guard_report: a summary of tenant_guard's audit trail for auditors
 * (text, markdown, json, html) and a baseline gate for CI.  See
 * doc/report.md.
 */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every error is one line on stderr and exit status 2. */
void
die(const char *fmt,...)
{
	va_list		args;

	fprintf(stderr, "%s: error: ", PROGNAME);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	exit(EXIT_BAD_INPUT);
}

void
note(const char *fmt,...)
{
	va_list		args;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

static void
add_database(Report *report, const char *name)
{
	report->databases = xrealloc(report->databases,
								 (report->ndatabases + 1) * sizeof(char *));
	report->databases[report->ndatabases++] = xstrdup(name);
}

static void
read_one(const Options *opts, const char *name, Report *report)
{
	PGconn	   *conn = connect_database(opts, name);

	if (!has_extension(conn))
	{
		note("skipping database \"%s\": it does not have the tenant_guard extension", name);
		PQfinish(conn);
		return;
	}
	add_database(report, name);
	fetch_database(conn, name, report);
	PQfinish(conn);
}

/* --all-databases: every database that allows connections and has the extension. */
static void
read_all(const Options *opts, PGconn *first, Report *report)
{
	size_t		n,
				i;
	char	  **names = list_databases(first, &n);

	PQfinish(first);
	for (i = 0; i < n; i++)
	{
		read_one(opts, names[i], report);
		free(names[i]);
	}
	free(names);
	if (report->ndatabases == 0)
		die("no database of the cluster has the tenant_guard extension");
}

static void
read_trail(const Options *opts, Report *report)
{
	PGconn	   *conn = connect_database(opts, NULL);

	if (opts->since)
		report->since = resolve_since(conn, opts->since);
	if (opts->all_databases)
	{
		read_all(opts, conn, report);
		return;
	}
	if (!has_extension(conn))
		die("database \"%s\" does not have the tenant_guard extension", PQdb(conn));
	add_database(report, PQdb(conn));
	fetch_database(conn, PQdb(conn), report);
	PQfinish(conn);
}

static void
write_output(const char *path, const StrBuf *text)
{
	FILE	   *f = path ? fopen(path, "w") : stdout;

	if (f == NULL)
		die("cannot open \"%s\": %s", path, strerror(errno));
	if (fwrite(text->data, 1, text->len, f) != text->len || fflush(f) != 0 ||
		(path && fclose(f) != 0))
		die("cannot write \"%s\": %s", path ? path : "stdout", strerror(errno));
}

static void
write_report(const Options *opts, const Report *report)
{
	StrBuf		out;

	sb_init(&out);
	switch (opts->format)
	{
		case FORMAT_TEXT:
			format_text(report, &out);
			break;
		case FORMAT_MARKDOWN:
			format_markdown(report, &out);
			break;
		case FORMAT_JSON:
			format_json(report, &out);
			break;
		case FORMAT_HTML:
			format_html(report, &out);
			break;
	}
	write_output(opts->output, &out);
	sb_free(&out);
}

int
main(int argc, char **argv)
{
	Options		opts;
	Report		report;
	int			status = 0;

	parse_options(argc, argv, &opts);
	report_init(&report, &opts);
	read_trail(&opts, &report);
	free_password();
	report_summarize(&report);
	/* With a baseline option the report is written only where --output says. */
	if ((!opts.baseline && !opts.write_baseline) || opts.output)
		write_report(&opts, &report);
	if (opts.write_baseline)
		write_baseline(&report, opts.write_baseline);
	if (opts.baseline)
		status = check_baseline(&report, opts.baseline);
	report_free(&report);
	return status;
}

/*
 * report.h: the data tenant_guard_report reads from the audit trail, the
 * options it runs with, and the entry points of its modules.
 */
#ifndef TG_REPORT_H
#define TG_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "strbuf.h"

#define PROGNAME "tenant_guard_report"

/* Exit statuses (doc/report.md, "Exit status"). */
#define EXIT_NEW_VIOLATIONS 1
#define EXIT_BAD_INPUT 2

typedef enum OutputFormat
{
	FORMAT_TEXT,
	FORMAT_MARKDOWN,
	FORMAT_JSON,
	FORMAT_HTML
} OutputFormat;

typedef struct Options
{
	const char *host;
	const char *port;
	const char *user;
	const char *dbname;
	bool		no_password;	/* -w */
	bool		force_password; /* -W */
	bool		all_databases;
	const char *since;
	OutputFormat format;
	const char *output;			/* NULL: stdout */
	int			top;			/* 0: all */
	const char *baseline;
	const char *write_baseline;
} Options;

/*
 * A counted name: kinds, relations, users, applications, and timeline
 * points (key = bucket start, key2 = kind).
 */
typedef struct CountRow
{
	char	   *database;		/* NULL when merged over databases */
	char	   *key;
	char	   *key2;
	long long	count;
	long long	shapes;
} CountRow;

typedef struct CountList
{
	CountRow   *rows;
	size_t		n;
	size_t		cap;
} CountList;

/* One statement shape: the rows of tenant_guard.violation_summary. */
typedef struct Shape
{
	char	   *database;
	char	   *kind;
	char	   *relation;
	char	   *query_id;		/* NULL when the statement had none */
	long long	count;
	char	   *first_seen;
	char	   *last_seen;
	char	   *sample_query;	/* may be NULL */
	char	  **users;
	size_t		nusers;
	char	  **applications;
	size_t		napplications;
} Shape;

/* Violations of one kind and relation from one call site. */
typedef struct CallSite
{
	char	   *database;
	char	   *call_site;		/* JSON text */
	char	   *kind;
	char	   *relation;
	long long	count;
	char	   *first_seen;
	char	   *last_seen;
} CallSite;

/*
 * One use of tenant_guard.break_glass(): the statements of one session
 * (role, application, client, backend) under one reason.  Not a violation.
 */
typedef struct BreakGlassUse
{
	char	   *database;
	char	   *user;			/* may be NULL */
	char	   *application;	/* may be NULL */
	char	   *client_addr;	/* NULL for a Unix socket */
	char	   *backend_pid;
	char	   *reason;			/* may be NULL */
	char	   *first_seen;
	char	   *last_seen;
	long long	statements;
	long long	rows;			/* audit rows: one per tenant table per statement */
	char	  **tables;
	size_t		ntables;
	char	  **commands;
	size_t		ncommands;
} BreakGlassUse;

/* One line of a baseline: kind, relation and statement shape or call site. */
typedef struct BaselineKey
{
	char	   *key;			/* the three fields joined by tabs */
	char	   *comment;		/* the latest statement, shortened; may be NULL */
} BaselineKey;

typedef struct Report
{
	char	   *generated_at;
	char	   *since;			/* the resolved cutoff, or NULL */
	char	  **databases;
	size_t		ndatabases;
	bool		all_databases;
	bool		has_call_sites;
	Shape	   *shapes;
	size_t		nshapes;
	size_t		shapes_cap;
	CallSite   *sites;
	size_t		nsites;
	size_t		sites_cap;
	BaselineKey *keys;
	size_t		nkeys;
	size_t		keys_cap;
	BreakGlassUse *uses;		/* break glass, oldest first */
	size_t		nuses;
	size_t		uses_cap;
	CountList	users;
	CountList	applications;
	CountList	timeline;		/* hourly, rolled up to days by summarize */
	/* derived by report_summarize() */
	CountList	kinds;
	CountList	relations;
	long long	total;
	char	   *first_seen;
	char	   *last_seen;
	const char *bucket;			/* "hour" or "day" */
	int			top;
} Report;

/* main.c */
void		die(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));
void		note(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* options.c */
void		parse_options(int argc, char **argv, Options *opts);

/* connection.c */
PGconn	   *connect_database(const Options *opts, const char *dbname);
char	  **list_databases(PGconn *conn, size_t *n);
bool		has_extension(PGconn *conn);
bool		has_call_site_column(PGconn *conn);
bool		has_reason_column(PGconn *conn);
bool		has_violation_counts(PGconn *conn);
char	   *resolve_since(PGconn *conn, const char *since);
void		free_password(void);
char	   *result_message(const PGresult *res);

/* fetch.c */
void		fetch_database(PGconn *conn, const char *database, Report *report);
char	  **parse_array(const char *text, size_t *n);

/* break_glass.c: the break-glass uses, apart from the violations */
void		fetch_break_glass(PGconn *conn, const char *database, const char *since,
							  Report *report);
void		sort_break_glass(Report *report);
void		free_break_glass(Report *report);

/* break_glass_format.c: their section in each format */
void		break_glass_text(const Report *report, StrBuf *out);
void		break_glass_markdown(const Report *report, StrBuf *out);
void		break_glass_json(const Report *report, StrBuf *out);
void		break_glass_html(const Report *report, StrBuf *out);

/* summary.c */
void		report_init(Report *report, const Options *opts);
void		report_summarize(Report *report);
void		report_free(Report *report);
void		count_add(CountList *list, const char *database, const char *key,
					  const char *key2, long long count, long long shapes);
size_t		shown(const Report *report, size_t n);
long long	utc_seconds(const char *timestamp);
void		free_names(char **names, size_t n);

/* text.c: shortening and escaping shared by the formats */
char	   *normalize_text(const char *s);
char	   *shorten(const char *s, size_t width, bool middle);
size_t		display_width(const char *s);
void		append_json_string(StrBuf *out, const char *s);
void		json_string_array(StrBuf *out, char **items, size_t n);
void		append_html(StrBuf *out, const char *s);
void		append_markdown(StrBuf *out, const char *s);
void		append_iso_time(StrBuf *out, const char *timestamp);
char	   *join_names(char **names, size_t n, const char *sep);

/* format_*.c */
void		format_text(const Report *report, StrBuf *out);
void		format_markdown(const Report *report, StrBuf *out);
void		format_json(const Report *report, StrBuf *out);
void		format_html(const Report *report, StrBuf *out);

/* html_charts.c */
void		chart_timeline(const Report *report, StrBuf *out);
void		chart_bars(const Report *report, StrBuf *out, const char *id,
					   const char *title, char **labels, long long *counts,
					   char **kinds, size_t n);

/* baseline.c */
void		write_baseline(const Report *report, const char *path);
int			check_baseline(const Report *report, const char *path);

#endif

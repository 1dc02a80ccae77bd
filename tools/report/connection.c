/*
 * connection.c: connecting like psql (options, PG* environment variables,
 * a connection string in -d), and the catalog questions asked of each
 * database before reading it.
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Asked once, then used for every database of --all-databases. */
static char *password = NULL;

void
free_password(void)
{
	if (password)
		memset(password, 0, strlen(password));
	free(password);
	password = NULL;
}

/* Read a password from the terminal without echoing it. */
static char *
prompt_password(void)
{
	FILE	   *tty = fopen("/dev/tty", "r+");
	struct termios saved, quiet;
	StrBuf		buf;
	int			c;

	if (tty == NULL)
		die("a password is needed, and there is no terminal to ask it on");
	fputs("Password: ", tty);
	fflush(tty);
	tcgetattr(fileno(tty), &saved);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t) ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	sb_init(&buf);
	while ((c = fgetc(tty)) != EOF && c != '\n')
		sb_append_char(&buf, (char) c);
	tcsetattr(fileno(tty), TCSAFLUSH, &saved);
	fputs("\n", tty);
	fclose(tty);
	return sb_steal(&buf);
}

/* The first line of a libpq or server message, its tabs and newlines made spaces. */
static char *
one_line(const char *message)
{
	char	   *s = normalize_text(message ? message : "unknown error");
	size_t		len = strlen(s);

	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
	return s;
}

static PGconn *
try_connect(const Options *opts, const char *dbname)
{
	const char *keywords[8];
	const char *values[8];
	int			n = 0;

	keywords[n] = "host", values[n++] = opts->host;
	keywords[n] = "port", values[n++] = opts->port;
	keywords[n] = "user", values[n++] = opts->user;
	keywords[n] = "password", values[n++] = password;
	/* Only the first dbname is expanded as a connection string. */
	keywords[n] = "dbname", values[n++] = opts->dbname;
	keywords[n] = "dbname", values[n++] = dbname;
	keywords[n] = "fallback_application_name", values[n++] = PROGNAME;
	keywords[n] = NULL, values[n] = NULL;
	return PQconnectdbParams(keywords, values, 1);
}

PGconn *
connect_database(const Options *opts, const char *dbname)
{
	PGconn	   *conn;
	char	   *message;

	if (opts->force_password && password == NULL)
		password = prompt_password();
	conn = try_connect(opts, dbname);
	if (PQstatus(conn) == CONNECTION_BAD && PQconnectionNeedsPassword(conn) &&
		password == NULL && !opts->no_password && isatty(fileno(stdin)))
	{
		PQfinish(conn);
		password = prompt_password();
		conn = try_connect(opts, dbname);
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		message = one_line(PQerrorMessage(conn));
		PQfinish(conn);
		die("%s", message);
	}
	return conn;
}

/* A failed query's message, without the "ERROR:" prefix, on one line. */
char *
result_message(const PGresult *res)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	return one_line(primary ? primary : PQresultErrorMessage(res));
}

/* Run a catalog query with up to one parameter; any failure ends the run. */
static PGresult *
query(PGconn *conn, const char *sql, const char *param)
{
	PGresult   *res = PQexecParams(conn, sql, param ? 1 : 0, NULL, &param,
								   NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die("database \"%s\": %s", PQdb(conn), result_message(res));
	return res;
}

char **
list_databases(PGconn *conn, size_t *n)
{
	PGresult   *res = query(conn,
							"SELECT datname FROM pg_catalog.pg_database "
							"WHERE datallowconn ORDER BY datname", NULL);
	char	  **names;
	int			i;

	*n = (size_t) PQntuples(res);
	names = xmalloc(*n * sizeof(char *));
	for (i = 0; i < PQntuples(res); i++)
		names[i] = xstrdup(PQgetvalue(res, i, 0));
	PQclear(res);
	return names;
}

static bool
query_bool(PGconn *conn, const char *sql)
{
	PGresult   *res = query(conn, sql, NULL);
	bool		result = strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	return result;
}

bool
has_extension(PGconn *conn)
{
	return query_bool(conn,
					  "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension "
					  "WHERE extname = 'tenant_guard') "
					  "AND pg_catalog.to_regclass('tenant_guard.violations') IS NOT NULL");
}

#define HAS_COLUMN(name) \
	"SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute " \
	"WHERE attrelid = 'tenant_guard.violations'::pg_catalog.regclass " \
	"AND attname = '" name "' AND attnum > 0 AND NOT attisdropped)"

/* A later version of the trail records SQL commenter call sites. */
bool
has_call_site_column(PGconn *conn)
{
	return query_bool(conn, HAS_COLUMN("call_site"));
}

/* A trail that can hold break-glass statements has their reason column. */
bool
has_reason_column(PGconn *conn)
{
	return query_bool(conn, HAS_COLUMN("reason"));
}

/* Since 0.2.0, repeats that keep no detail row are counted in a table. */
bool
has_violation_counts(PGconn *conn)
{
	return query_bool(conn,
					  "SELECT pg_catalog.to_regclass('tenant_guard.violation_counts') IS NOT NULL");
}

/*
 * --since is a timestamp or an interval back from now, resolved once by the
 * first server so that every database is cut at the same instant.
 */
char *
resolve_since(PGconn *conn, const char *since)
{
	static const char *const forms[] = {
		"SELECT pg_catalog.to_char($1::pg_catalog.timestamptz AT TIME ZONE 'UTC',"
		" 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
		"SELECT pg_catalog.to_char((pg_catalog.now() - $1::pg_catalog.interval)"
		" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'"
	};
	size_t		i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
	{
		PGresult   *res = PQexecParams(conn, forms[i], 1, NULL, &since, NULL, NULL, 0);
		char	   *cutoff = NULL;

		if (PQresultStatus(res) == PGRES_TUPLES_OK && !PQgetisnull(res, 0, 0))
			cutoff = xstrdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (cutoff)
			return cutoff;
	}
	die("--since needs a timestamp ('2026-11-01') or an interval ('7 days'), not \"%s\"", since);
}

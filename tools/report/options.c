/*
 * options.c: the command line, checked before anything connects.
 */
#include "report.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
	OPT_ALL_DATABASES = 256,
	OPT_SINCE,
	OPT_FORMAT,
	OPT_TOP,
	OPT_BASELINE,
	OPT_WRITE_BASELINE,
	OPT_HELP
};

static void
print_help(void)
{
	printf("%s summarizes tenant_guard's audit trail (tenant_guard.violations) as a\n"
		   "report for people (text, markdown, html) or programs (json), and gates CI on\n"
		   "violations that are not in a baseline.\n\n", PROGNAME);
	printf("Usage:\n  %s [OPTION]...\n\n", PROGNAME);
	printf("Report options:\n"
		   "      --format=FORMAT      text (default), markdown, json or html\n"
		   "  -o, --output=FILE        write the report to FILE instead of stdout\n"
		   "      --since=WHEN         only violations since a timestamp ('2026-11-01')\n"
		   "                           or for an interval back from now ('7 days')\n"
		   "      --top=N              relations, shapes, call sites, users and\n"
		   "                           applications shown (default 10, 0 for all)\n"
		   "      --all-databases      read every database of the cluster that has the\n"
		   "                           extension\n\n");
	printf("CI ratchet:\n"
		   "      --write-baseline=FILE  record the violations seen as known ones\n"
		   "      --baseline=FILE      exit 1 and list the violations not in FILE,\n"
		   "                           0 when there is none\n\n");
	printf("Connection options:\n"
		   "  -h, --host=HOSTNAME      database server host or socket directory\n"
		   "  -p, --port=PORT          database server port\n"
		   "  -U, --username=USERNAME  database user name\n"
		   "  -d, --dbname=DBNAME      database name or connection string\n"
		   "  -w, --no-password        never prompt for a password\n"
		   "  -W, --password           prompt for a password\n\n");
	printf("Other options:\n"
		   "      --help               show this help, then exit\n"
		   "  -V, --version            show the version, then exit\n\n");
	printf("Exit status: 0 done (no new violations), 1 new violations (--baseline),\n"
		   "2 bad input or an error.  See doc/report.md.\n");
}

static OutputFormat
parse_format(const char *value)
{
	if (strcmp(value, "text") == 0)
		return FORMAT_TEXT;
	if (strcmp(value, "markdown") == 0)
		return FORMAT_MARKDOWN;
	if (strcmp(value, "json") == 0)
		return FORMAT_JSON;
	if (strcmp(value, "html") == 0)
		return FORMAT_HTML;
	die("unknown format \"%s\" (use text, markdown, json or html)", value);
}

static int
parse_top(const char *value)
{
	char	   *end;
	long		n;

	n = strtol(value, &end, 10);
	if (end == value || *end != '\0' || n < 0 || n > INT_MAX)
		die("--top needs a number of rows, 0 or more, not \"%s\"", value);
	return (int) n;
}

static void
check_combination(const Options *opts)
{
	if (opts->baseline && opts->write_baseline)
		die("--baseline and --write-baseline cannot be used together");
	if (opts->since && opts->since[0] == '\0')
		die("--since needs a timestamp or an interval");
}

/* Name the offending argument: getopt's own messages would not be one line. */
static void
bad_option(char **argv, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		die("option \"%s\" needs a value (see --help)", arg);
	die("unknown option \"%s\" (see --help)", arg);
}

void
parse_options(int argc, char **argv, Options *opts)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"username", required_argument, NULL, 'U'},
		{"dbname", required_argument, NULL, 'd'},
		{"no-password", no_argument, NULL, 'w'},
		{"password", no_argument, NULL, 'W'},
		{"output", required_argument, NULL, 'o'},
		{"version", no_argument, NULL, 'V'},
		{"all-databases", no_argument, NULL, OPT_ALL_DATABASES},
		{"since", required_argument, NULL, OPT_SINCE},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"top", required_argument, NULL, OPT_TOP},
		{"baseline", required_argument, NULL, OPT_BASELINE},
		{"write-baseline", required_argument, NULL, OPT_WRITE_BASELINE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0}
	};
	int			c;

	memset(opts, 0, sizeof(*opts));
	opts->format = FORMAT_TEXT;
	opts->top = 10;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h:p:U:d:wWo:V", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'h':
				opts->host = optarg;
				break;
			case 'p':
				opts->port = optarg;
				break;
			case 'U':
				opts->user = optarg;
				break;
			case 'd':
				opts->dbname = optarg;
				break;
			case 'w':
				opts->no_password = true;
				break;
			case 'W':
				opts->force_password = true;
				break;
			case 'o':
				opts->output = optarg;
				break;
			case 'V':
				printf("%s (tenant_guard) %s\n", PROGNAME, TG_VERSION);
				exit(0);
			case OPT_ALL_DATABASES:
				opts->all_databases = true;
				break;
			case OPT_SINCE:
				opts->since = optarg;
				break;
			case OPT_FORMAT:
				opts->format = parse_format(optarg);
				break;
			case OPT_TOP:
				opts->top = parse_top(optarg);
				break;
			case OPT_BASELINE:
				opts->baseline = optarg;
				break;
			case OPT_WRITE_BASELINE:
				opts->write_baseline = optarg;
				break;
			case OPT_HELP:
				print_help();
				exit(0);
			default:
				bad_option(argv, c);
		}
	}
	if (optind < argc)
		die("unexpected argument \"%s\" (see --help)", argv[optind]);
	check_combination(opts);
}

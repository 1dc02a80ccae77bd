/*
 * baseline.c: the CI ratchet.  A baseline lists the known violations, one
 * per line, sorted, so that it diffs well in code review:
 *
 *   kind<TAB>relation<TAB>shape<TAB># latest statement text
 *
 * where shape is call_site=JSON, query_id=N or query=TEXT.  --baseline
 * fails on the violations that are not listed.
 */
#include "report.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Baseline
{
	char	  **keys;
	size_t		n;
	size_t		cap;
} Baseline;

void
write_baseline(const Report *report, const char *path)
{
	FILE	   *f = fopen(path, "w");
	size_t		i;

	if (f == NULL)
		die("cannot open \"%s\": %s", path, strerror(errno));
	fprintf(f, "# tenant_guard_report baseline: known violations, one per line, sorted\n"
			"# kind<TAB>relation<TAB>call_site=JSON, query_id=N or query=TEXT<TAB># latest statement\n");
	for (i = 0; i < report->nkeys; i++)
	{
		fputs(report->keys[i].key, f);
		if (report->keys[i].comment && report->keys[i].comment[0])
			fprintf(f, "\t# %s", report->keys[i].comment);
		fputc('\n', f);
	}
	if (ferror(f) || fclose(f) != 0)
		die("cannot write \"%s\": %s", path, strerror(errno));
	note("wrote %zu known violation%s to \"%s\"", report->nkeys,
		 report->nkeys == 1 ? "" : "s", path);
}

static bool
valid_kind(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!islower((unsigned char) *s) && *s != '_')
			return false;
	return true;
}

static bool
valid_shape(const char *s)
{
	if (strncmp(s, "query_id=", 9) == 0)
	{
		s += 9;
		if (*s == '-')
			s++;
		if (*s == '\0')
			return false;
		for (; *s; s++)
			if (!isdigit((unsigned char) *s))
				return false;
		return true;
	}
	if (strncmp(s, "call_site=", 10) == 0)
		return s[10] != '\0';
	if (strncmp(s, "query=", 6) == 0)
		return s[6] != '\0';
	return false;
}

/* The key of one line (its first three fields), or a reason it has none. */
static const char *
parse_line(char *line, char **key)
{
	char	   *kind = line,
			   *relation,
			   *shape,
			   *rest;

	*key = NULL;
	if ((relation = strchr(kind, '\t')) == NULL ||
		(shape = strchr(relation + 1, '\t')) == NULL)
		return "expected kind, relation and statement shape separated by tabs";
	*relation++ = '\0';
	*shape++ = '\0';
	if ((rest = strchr(shape, '\t')) != NULL)
	{
		*rest++ = '\0';
		if (*rest != '#')
			return "text after the statement shape must be a comment starting with #";
	}
	if (!valid_kind(kind))
		return "the kind must be a word such as unscoped_read";
	if (*relation == '\0')
		return "the relation is empty";
	if (!valid_shape(shape))
		return "the statement shape must be query_id=NUMBER, call_site=JSON or query=TEXT";
	*key = xmalloc(strlen(kind) + strlen(relation) + strlen(shape) + 3);
	sprintf(*key, "%s\t%s\t%s", kind, relation, shape);
	return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
read_baseline(const char *path, Baseline *b)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		linecap = 0,
				lineno = 0;
	ssize_t		len;
	char	   *key;
	const char *error;

	if (f == NULL)
		die("cannot open baseline \"%s\": %s", path, strerror(errno));
	while ((len = getline(&line, &linecap, f)) != -1)
	{
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if ((error = parse_line(line, &key)) != NULL)
			die("baseline \"%s\" line %zu: %s", path, lineno, error);
		b->keys = grow_array(b->keys, &b->cap, b->n + 1, sizeof(char *));
		b->keys[b->n++] = key;
	}
	free(line);
	fclose(f);
	if (b->n)
		qsort(b->keys, b->n, sizeof(char *), cmp_str);
}

static bool
known(const Baseline *b, const char *key)
{
	return b->n && bsearch(&key, b->keys, b->n, sizeof(char *), cmp_str) != NULL;
}

/*
 * Print the violations that are not in the baseline on stdout, in the
 * baseline's own format, and a one-line verdict on stderr.
 */
int
check_baseline(const Report *report, const char *path)
{
	Baseline	b = {NULL, 0, 0};
	size_t		i,
				fresh = 0;

	read_baseline(path, &b);
	for (i = 0; i < report->nkeys; i++)
	{
		if (known(&b, report->keys[i].key))
			continue;
		fresh++;
		printf("%s", report->keys[i].key);
		if (report->keys[i].comment && report->keys[i].comment[0])
			printf("\t# %s", report->keys[i].comment);
		putchar('\n');
	}
	fflush(stdout);
	if (fresh)
		note("%zu new violation%s not in the baseline \"%s\"", fresh,
			 fresh == 1 ? "" : "s", path);
	else
		note("no new violations (%zu known in \"%s\")", b.n, path);
	for (i = 0; i < b.n; i++)
		free(b.keys[i]);
	free(b.keys);
	return fresh ? EXIT_NEW_VIOLATIONS : 0;
}

/*
 * summary.c: the report's model: rows collected from every database,
 * merged and ranked, and the totals derived from them.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A range of at most two days is drawn by the hour, longer ones by the day. */
#define HOURLY_RANGE_SECONDS (48 * 3600)

static int
nullcmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

void
count_add(CountList *list, const char *database, const char *key,
		  const char *key2, long long count, long long shapes)
{
	CountRow   *row;

	list->rows = grow_array(list->rows, &list->cap, list->n + 1, sizeof(CountRow));
	row = &list->rows[list->n++];
	row->database = xstrdup_or_null(database);
	row->key = xstrdup(key);
	row->key2 = xstrdup_or_null(key2);
	row->count = count;
	row->shapes = shapes;
}

static int
cmp_count_key(const void *a, const void *b)
{
	const CountRow *x = a,
			   *y = b;
	int			c = nullcmp(x->database, y->database);

	if (c == 0)
		c = strcmp(x->key, y->key);
	return c ? c : nullcmp(x->key2, y->key2);
}

/* Largest first; ties by name, so that every format lists the same order. */
static int
cmp_count_rank(const void *a, const void *b)
{
	const CountRow *x = a,
			   *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return cmp_count_key(a, b);
}

static void
free_count_row(CountRow *row)
{
	free(row->database);
	free(row->key);
	free(row->key2);
}

/* Sum the rows with the same keys (the same user in two databases, ...). */
static void
coalesce(CountList *list, bool rank)
{
	size_t		i,
				out = 0;

	if (list->n == 0)
		return;
	qsort(list->rows, list->n, sizeof(CountRow), cmp_count_key);
	for (i = 1; i < list->n; i++)
	{
		if (cmp_count_key(&list->rows[out], &list->rows[i]) == 0)
		{
			list->rows[out].count += list->rows[i].count;
			list->rows[out].shapes += list->rows[i].shapes;
			free_count_row(&list->rows[i]);
		}
		else
			list->rows[++out] = list->rows[i];
	}
	list->n = out + 1;
	if (rank)
		qsort(list->rows, list->n, sizeof(CountRow), cmp_count_rank);
}

static int
cmp_shape(const void *a, const void *b)
{
	const Shape *x = a,
			   *y = b;
	int			c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if ((c = -nullcmp(x->last_seen, y->last_seen)) != 0 ||
		(c = strcmp(x->database, y->database)) != 0 ||
		(c = nullcmp(x->kind, y->kind)) != 0 ||
		(c = nullcmp(x->relation, y->relation)) != 0 ||
		(c = nullcmp(x->query_id, y->query_id)) != 0)
		return c;
	return nullcmp(x->sample_query, y->sample_query);
}

static int
cmp_site(const void *a, const void *b)
{
	const CallSite *x = a,
			   *y = b;
	int			c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if ((c = strcmp(x->database, y->database)) != 0 ||
		(c = nullcmp(x->call_site, y->call_site)) != 0 ||
		(c = nullcmp(x->kind, y->kind)) != 0)
		return c;
	return nullcmp(x->relation, y->relation);
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const BaselineKey *) a)->key, ((const BaselineKey *) b)->key);
}

/* Sort the baseline keys and drop repeats (texts that normalize alike). */
static void
unique_keys(Report *r)
{
	size_t		i,
				out = 0;

	if (r->nkeys == 0)
		return;
	qsort(r->keys, r->nkeys, sizeof(BaselineKey), cmp_key);
	for (i = 1; i < r->nkeys; i++)
	{
		if (strcmp(r->keys[out].key, r->keys[i].key) == 0)
		{
			free(r->keys[i].key);
			free(r->keys[i].comment);
		}
		else
			r->keys[++out] = r->keys[i];
	}
	r->nkeys = out + 1;
}

/* Seconds since the epoch of "YYYY-MM-DD HH:MI:SS" in UTC, without timegm(). */
long long
utc_seconds(const char *t)
{
	int			y = atoi(t),
				m = atoi(t + 5),
				d = atoi(t + 8);
	long long	era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468) * 86400 +
		atoi(t + 11) * 3600LL + atoi(t + 14) * 60LL + atoi(t + 17);
}

/* Hourly buckets become days ("YYYY-MM-DD 00:00:00") over a long range. */
static void
choose_buckets(Report *r)
{
	size_t		i;

	r->bucket = "hour";
	if (r->first_seen == NULL ||
		utc_seconds(r->last_seen) - utc_seconds(r->first_seen) <= HOURLY_RANGE_SECONDS)
		return;
	r->bucket = "day";
	for (i = 0; i < r->timeline.n; i++)
		memcpy(r->timeline.rows[i].key + 10, " 00:00:00", 9);
}

static void
derive_totals(Report *r)
{
	size_t		i;

	for (i = 0; i < r->nshapes; i++)
	{
		Shape	   *s = &r->shapes[i];

		r->total += s->count;
		count_add(&r->kinds, NULL, s->kind, NULL, s->count, 1);
		count_add(&r->relations, s->database, s->relation, NULL, s->count, 1);
		if (r->first_seen == NULL || nullcmp(s->first_seen, r->first_seen) < 0)
			r->first_seen = s->first_seen;
		if (r->last_seen == NULL || nullcmp(s->last_seen, r->last_seen) > 0)
			r->last_seen = s->last_seen;
	}
}

void
report_summarize(Report *r)
{
	derive_totals(r);
	choose_buckets(r);
	coalesce(&r->kinds, true);
	coalesce(&r->relations, true);
	coalesce(&r->users, true);
	coalesce(&r->applications, true);
	coalesce(&r->timeline, false);
	if (r->nshapes)
		qsort(r->shapes, r->nshapes, sizeof(Shape), cmp_shape);
	if (r->nsites)
		qsort(r->sites, r->nsites, sizeof(CallSite), cmp_site);
	unique_keys(r);
	sort_break_glass(r);
}

/* How many of n ranked rows the report shows (--top). */
size_t
shown(const Report *report, size_t n)
{
	return report->top > 0 && (size_t) report->top < n ? (size_t) report->top : n;
}

void
report_init(Report *r, const Options *opts)
{
	time_t		now = time(NULL);
	struct tm	tm;
	StrBuf		buf;

	memset(r, 0, sizeof(*r));
	r->all_databases = opts->all_databases;
	r->top = opts->top;
	r->bucket = "hour";
	gmtime_r(&now, &tm);
	sb_init(&buf);
	sb_printf(&buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
			  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	r->generated_at = sb_steal(&buf);
}

static void
free_count_list(CountList *list)
{
	size_t		i;

	for (i = 0; i < list->n; i++)
		free_count_row(&list->rows[i]);
	free(list->rows);
}

void
free_names(char **names, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
free_shape(Shape *s)
{
	free(s->database);
	free(s->kind);
	free(s->relation);
	free(s->query_id);
	free(s->first_seen);
	free(s->last_seen);
	free(s->sample_query);
	free_names(s->users, s->nusers);
	free_names(s->applications, s->napplications);
}

static void
free_site(CallSite *c)
{
	free(c->database);
	free(c->call_site);
	free(c->kind);
	free(c->relation);
	free(c->first_seen);
	free(c->last_seen);
}

void
report_free(Report *r)
{
	size_t		i;

	for (i = 0; i < r->nshapes; i++)
		free_shape(&r->shapes[i]);
	free(r->shapes);
	for (i = 0; i < r->nsites; i++)
		free_site(&r->sites[i]);
	free(r->sites);
	for (i = 0; i < r->nkeys; i++)
	{
		free(r->keys[i].key);
		free(r->keys[i].comment);
	}
	free(r->keys);
	free_break_glass(r);
	free_names(r->databases, r->ndatabases);
	free_count_list(&r->users);
	free_count_list(&r->applications);
	free_count_list(&r->timeline);
	free_count_list(&r->kinds);
	free_count_list(&r->relations);
	free(r->generated_at);
	free(r->since);
}

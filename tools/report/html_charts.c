/*
 * html_charts.c: the HTML report's charts, drawn as inline SVG (no script,
 * no external file).  Every label is escaped; each bar is a <rect
 * class="bar ..."> with a <title> tooltip.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#define KIND_COLOURS 6			/* CSS classes k0 .. k5 */
#define LABEL_CHARS 48

/* The colour class of a kind: its rank in the report's kinds. */
static size_t
kind_class(const Report *r, const char *kind)
{
	size_t		i;

	for (i = 0; i < r->kinds.n; i++)
		if (strcmp(r->kinds.rows[i].key, kind) == 0)
			return i % KIND_COLOURS;
	return KIND_COLOURS - 1;
}

static void
svg_text(StrBuf *out, double x, double y, const char *anchor, const char *text)
{
	sb_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
	append_html(out, text);
	sb_append(out, "</text>");
}

static void
tooltip(StrBuf *out, const char *label, const char *extra, long long count)
{
	sb_append(out, "<title>");
	append_html(out, label);
	if (extra)
	{
		sb_append(out, " ");
		append_html(out, extra);
	}
	sb_printf(out, ": %lld</title>", count);
}

/*
 * Horizontal bars, one per label, longest for the largest count; coloured
 * by the kind each is of, when kinds is given.
 */
void
chart_bars(const Report *r, StrBuf *out, const char *id, const char *title,
		   char **labels, long long *counts, char **kinds, size_t n)
{
	const double label_w = 380,
				bar_w = 520,
				row_h = 26;
	long long	max = 1;
	size_t		i;

	for (i = 0; i < n; i++)
		if (counts[i] > max)
			max = counts[i];
	sb_printf(out, "<svg id=\"%s\" class=\"chart bars\" viewBox=\"0 0 1000 %.0f\" "
			  "role=\"img\" aria-label=\"", id, n * row_h + 8);
	append_html(out, title);
	sb_append(out, "\">");
	for (i = 0; i < n; i++)
	{
		char	   *label = shorten(labels[i], LABEL_CHARS, true);
		double		y = i * row_h + 4,
					w = bar_w * (double) counts[i] / (double) max;
		char		count[32];

		snprintf(count, sizeof(count), "%lld", counts[i]);
		sb_append(out, "<g class=\"row\">");
		tooltip(out, labels[i], NULL, counts[i]);
		svg_text(out, label_w - 8, y + 14, "end", label);
		sb_printf(out, "<rect class=\"bar k%zu\" x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" "
				  "height=\"18\"/>", kinds ? kind_class(r, kinds[i]) : 0, label_w, y,
				  w < 1 ? 1 : w);
		svg_text(out, label_w + (w < 1 ? 1 : w) + 6, y + 14, "start", count);
		sb_append(out, "</g>");
		free(label);
	}
	sb_append(out, "</svg>\n");
}

static long long
bucket_seconds(const Report *r)
{
	return strcmp(r->bucket, "day") == 0 ? 86400 : 3600;
}

/* The largest total of one bucket, for the y scale. */
static long long
largest_bucket(const Report *r)
{
	long long	max = 1,
				sum = 0;
	size_t		i;

	for (i = 0; i < r->timeline.n; i++)
	{
		if (i > 0 && strcmp(r->timeline.rows[i].key, r->timeline.rows[i - 1].key) != 0)
			sum = 0;
		sum += r->timeline.rows[i].count;
		if (sum > max)
			max = sum;
	}
	return max;
}

static void
timeline_legend(const Report *r, StrBuf *out, double y)
{
	size_t		i;

	for (i = 0; i < r->kinds.n; i++)
	{
		double		x = 60 + 200 * (double) i;

		sb_printf(out, "<rect class=\"swatch k%zu\" x=\"%.0f\" y=\"%.0f\" width=\"12\" "
				  "height=\"12\"/>", i % KIND_COLOURS, x, y);
		svg_text(out, x + 18, y + 11, "start", r->kinds.rows[i].key);
	}
}

/* The axes: the largest bucket and zero on the left, first and last bucket below. */
static void
timeline_axes(const Report *r, StrBuf *out, long long max)
{
	char		label[32];
	const char *first = r->timeline.rows[0].key;
	const char *last = r->timeline.rows[r->timeline.n - 1].key;
	int			len = strcmp(r->bucket, "day") == 0 ? 10 : 16;

	snprintf(label, sizeof(label), "%lld", max);
	svg_text(out, 52, 28, "end", label);
	svg_text(out, 52, 220, "end", "0");
	sb_append(out, "<line class=\"axis\" x1=\"60\" y1=\"220\" x2=\"990\" y2=\"220\"/>");
	snprintf(label, sizeof(label), "%.*s", len, first);
	svg_text(out, 60, 238, "start", label);
	if (strcmp(first, last) != 0)
	{
		snprintf(label, sizeof(label), "%.*s", len, last);
		svg_text(out, 990, 238, "end", label);
	}
}

/* Violations over time: one stacked bar per bucket, one segment per kind. */
void
chart_timeline(const Report *r, StrBuf *out)
{
	long long	t0,
				slots,
				max = largest_bucket(r);
	double		slot_w,
				stack = 0;
	size_t		i;

	if (r->timeline.n == 0)
		return;
	t0 = utc_seconds(r->timeline.rows[0].key);
	slots = (utc_seconds(r->timeline.rows[r->timeline.n - 1].key) - t0) / bucket_seconds(r) + 1;
	/* A few buckets get narrow bars, not a wall of colour. */
	slot_w = 930.0 / (double) (slots < 12 ? 12 : slots);
	sb_append(out, "<svg id=\"chart-timeline\" class=\"chart timeline\" viewBox=\"0 0 1000 270\" "
			  "role=\"img\" aria-label=\"violations over time by kind\">");
	timeline_axes(r, out, max);
	for (i = 0; i < r->timeline.n; i++)
	{
		const CountRow *p = &r->timeline.rows[i];
		long long	slot = (utc_seconds(p->key) - t0) / bucket_seconds(r);
		double		h = 190.0 * (double) p->count / (double) max;

		if (i == 0 || strcmp(p->key, r->timeline.rows[i - 1].key) != 0)
			stack = 0;
		sb_append(out, "<g>");
		tooltip(out, p->key, p->key2, p->count);
		sb_printf(out, "<rect class=\"bar k%zu\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
				  "height=\"%.2f\"/></g>", kind_class(r, p->key2),
				  60 + slot_w * (double) slot + slot_w * 0.1, 220 - stack - h,
				  slot_w * 0.8, h);
		stack += h;
	}
	timeline_legend(r, out, 250);
	sb_append(out, "</svg>\n");
}

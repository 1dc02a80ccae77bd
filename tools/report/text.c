/*
 * text.c: making untrusted texts (statements, names) safe and readable in
 * each format: normalized and shortened for a terminal, escaped for JSON,
 * HTML and markdown.  Statement texts are attacker controlled.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* The Unicode control picture for a control character (U+2400 + c, U+2421). */
static void
append_control_picture(StrBuf *out, unsigned char c)
{
	unsigned	cp = c == 0x7f ? 0x2421 : 0x2400 + c;

	sb_append_char(out, (char) (0xe0 | (cp >> 12)));
	sb_append_char(out, (char) (0x80 | ((cp >> 6) & 0x3f)));
	sb_append_char(out, (char) (0x80 | (cp & 0x3f)));
}

/*
 * One line: runs of white space become one space, other control characters
 * a question mark, and the ends are trimmed.
 */
char *
normalize_text(const char *s)
{
	StrBuf		out;
	bool		pending_space = false;

	sb_init(&out);
	for (; s && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (is_space(c))
		{
			pending_space = out.len > 0;
			continue;
		}
		if (pending_space)
			sb_append_char(&out, ' ');
		pending_space = false;
		sb_append_char(&out, is_control(c) ? '?' : (char) c);
	}
	return sb_steal(&out);
}

/* Characters (UTF-8 code points), which is what a terminal column counts. */
size_t
display_width(const char *s)
{
	size_t		n = 0;

	for (; *s; s++)
		n += ((unsigned char) *s & 0xc0) != 0x80;
	return n;
}

/* Byte offset of the character number "chars" of s. */
static size_t
char_offset(const char *s, size_t chars)
{
	size_t		i = 0;

	while (s[i] && chars > 0)
	{
		i++;
		while (((unsigned char) s[i] & 0xc0) == 0x80)
			i++;
		chars--;
	}
	return i;
}

/*
 * Normalized, and at most "width" characters: cut at the end, or in the
 * middle (keeping the start and the end of a statement, where its tables
 * and its WHERE clause are), with "..." where text was left out.
 */
char *
shorten(const char *s, size_t width, bool middle)
{
	char	   *text = normalize_text(s);
	size_t		len = display_width(text);
	size_t		head,
				tail;
	StrBuf		out;

	if (len <= width || width < 8)
		return text;
	head = middle ? (width - 3) * 2 / 3 : width - 3;
	tail = width - 3 - head;
	sb_init(&out);
	sb_append_len(&out, text, char_offset(text, head));
	sb_append(&out, "...");
	sb_append(&out, text + char_offset(text, len - tail));
	free(text);
	return sb_steal(&out);
}

/* A JSON string (or null), every control character escaped. */
void
append_json_string(StrBuf *out, const char *s)
{
	if (s == NULL)
	{
		sb_append(out, "null");
		return;
	}
	sb_append_char(out, '"');
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
		{
			sb_append_char(out, '\\');
			sb_append_char(out, (char) c);
		}
		else if (c == '\n')
			sb_append(out, "\\n");
		else if (c == '\t')
			sb_append(out, "\\t");
		else if (is_control(c) || c == '<' || c == '>' || c == '&')
			sb_printf(out, "\\u%04x", c);	/* also safe inside HTML */
		else
			sb_append_char(out, (char) c);
	}
	sb_append_char(out, '"');
}

/* HTML text or attribute value: markup characters as entities. */
void
append_html(StrBuf *out, const char *s)
{
	for (; s && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		switch (c)
		{
			case '&':
				sb_append(out, "&amp;");
				break;
			case '<':
				sb_append(out, "&lt;");
				break;
			case '>':
				sb_append(out, "&gt;");
				break;
			case '"':
				sb_append(out, "&quot;");
				break;
			case '\'':
				sb_append(out, "&#39;");
				break;
			default:
				if (is_control(c) && c != '\n' && c != '\t')
					append_control_picture(out, c);
				else
					sb_append_char(out, (char) c);
		}
	}
}

/*
 * A markdown table cell: one line, and every character markdown could
 * take for syntax (a cell border, code, emphasis, a link, HTML) escaped.
 */
void
append_markdown(StrBuf *out, const char *s)
{
	bool		pending_space = false;

	for (; s && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (is_space(c))
		{
			pending_space = true;
			continue;
		}
		if (pending_space && out->len > 0)
			sb_append_char(out, ' ');
		pending_space = false;
		if (strchr("\\`*_[]<>|~&#!", c))
			sb_append_char(out, '\\');
		if (is_control(c))
			append_control_picture(out, c);
		else
			sb_append_char(out, (char) c);
	}
}

/* "YYYY-MM-DD HH:MI:SS" (UTC) as a JSON ISO 8601 string, or null. */
void
append_iso_time(StrBuf *out, const char *timestamp)
{
	if (timestamp == NULL || strlen(timestamp) < 19)
	{
		sb_append(out, "null");
		return;
	}
	sb_printf(out, "\"%.10sT%.8sZ\"", timestamp, timestamp + 11);
}

char *
join_names(char **names, size_t n, const char *sep)
{
	StrBuf		out;
	size_t		i;

	sb_init(&out);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			sb_append(&out, sep);
		sb_append(&out, names[i]);
	}
	return sb_steal(&out);
}

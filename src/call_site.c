/*-------------------------------------------------------------------------
 *
 * call_site.c
 *	  Reading the call site out of the comments that SQL commenters add to
 *	  a statement, for violations.call_site and the server-log line.
 *
 * Two forms are understood, anywhere in the statement (usually at the
 * end, sometimes at the start):
 *	- sqlcommenter, also Rails query log tags in that format and Django's
 *	  sqlcommenter middleware: key='value' pairs joined by commas, keys and
 *	  values URL-encoded, e.g. a block comment holding
 *		controller='invoices',action='pay',framework='django%3A4.2'
 *	- marginalia, Rails' default query log tags: key:value pairs joined by
 *	  commas, e.g. a block comment holding
 *		application:Shop,controller:invoices,action:pay
 * Any other comment is ignored.  The pairs of every such comment form one
 * JSON object (a later key wins when jsonb reads it).
 *
 * Statements come from clients, so the work is bounded and nothing is
 * trusted: one linear scan that skips string literals, quoted identifiers,
 * dollar quotes and line comments (a comment-like text inside a literal is
 * not a comment); comment bodies longer than 2 kB, keys longer than 64
 * bytes and values longer than 256 bytes are not tag comments; at most 16
 * pairs; the JSON text never exceeds the caller's buffer; a %-escape that
 * would produce a NUL byte or text invalid in the database encoding leaves
 * the value as written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "call_site.h"

#include "hex_digits.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/json.h"

#define MAX_COMMENT_BODY	2048
#define MAX_KEY				64
#define MAX_VALUE			256
#define MAX_PAIRS			16

typedef struct CallSite
{
	StringInfoData json;		/* the object, without its closing brace */
	size_t		cap;			/* the caller's buffer size */
	int			pairs;
} CallSite;

static bool
is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || (unsigned char) c >= 0x80;
}

/*
 * Undo sqlcommenter's escaping (%XX, and \' inside quotes) into buf.  The
 * raw text stays when the result would hold a NUL or invalid characters.
 */
static void
unescape(const char *s, int len, StringInfo buf)
{
	resetStringInfo(buf);
	for (int i = 0; i < len; i++)
	{
		int			hi = (i + 2 < len) ? hex_digit_value(s[i + 1]) : -1;
		int			lo = (i + 2 < len) ? hex_digit_value(s[i + 2]) : -1;

		if (s[i] == '%' && hi >= 0 && lo >= 0 && (hi | lo) != 0)
		{
			appendStringInfoChar(buf, (char) (hi * 16 + lo));
			i += 2;
		}
		else if (s[i] == '\\' && i + 1 < len)
			appendStringInfoChar(buf, s[++i]);
		else
			appendStringInfoChar(buf, s[i]);
	}
	if (!pg_verifymbstr(buf->data, buf->len, true))
	{
		resetStringInfo(buf);
		appendBinaryStringInfo(buf, s, len);
	}
}

/* Add one pair, unless the object would outgrow the caller's buffer. */
static bool
add_pair(CallSite *site, const char *key, int keylen, const char *value,
		 int valuelen, bool escaped)
{
	StringInfoData k;
	StringInfoData v;
	int			before = site->json.len;

	if (site->pairs >= MAX_PAIRS || keylen > MAX_KEY || valuelen > MAX_VALUE)
		return false;
	initStringInfo(&k);
	initStringInfo(&v);
	if (escaped)
	{
		unescape(key, keylen, &k);
		unescape(value, valuelen, &v);
	}
	else
	{
		appendBinaryStringInfo(&k, key, keylen);
		appendBinaryStringInfo(&v, value, valuelen);
	}
	appendStringInfoString(&site->json, site->pairs == 0 ? "{" : ", ");
	escape_json(&site->json, k.data);
	appendStringInfoString(&site->json, ": ");
	escape_json(&site->json, v.data);
	pfree(k.data);
	pfree(v.data);
	/* room for the closing brace and the terminating NUL */
	if ((size_t) site->json.len + 2 > site->cap)
	{
		site->json.len = before;
		site->json.data[before] = '\0';
		return false;
	}
	site->pairs++;
	return true;
}

/* sqlcommenter: key='value'[,key='value'...]; all or nothing. */
static int
parse_sqlcommenter(const char *s, int len, int *starts, int *lens)
{
	int			n = 0;
	int			i = 0;

	while (i < len && n < 2 * MAX_PAIRS)
	{
		int			k = i;

		while (i < len && s[i] != '=' && s[i] != ',' && s[i] != '\'' &&
			   !isspace((unsigned char) s[i]))
			i++;
		if (i == k || i + 1 >= len || s[i] != '=' || s[i + 1] != '\'')
			return 0;
		starts[n] = k;
		lens[n++] = i - k;
		i += 2;
		k = i;
		while (i < len && s[i] != '\'')
			i += (s[i] == '\\') ? 2 : 1;
		if (i >= len)
			return 0;
		starts[n] = k;
		lens[n++] = i - k;
		i++;
		if (i < len && s[i++] != ',')
			return 0;
	}
	return (i >= len) ? n : 0;
}

/* marginalia: key:value[,key:value...], keys identifiers; all or nothing. */
static int
parse_marginalia(const char *s, int len, int *starts, int *lens)
{
	int			n = 0;
	int			i = 0;

	while (i < len && n < 2 * MAX_PAIRS)
	{
		int			k = i;

		while (i < len && (isalnum((unsigned char) s[i]) || s[i] == '_'))
			i++;
		if (i == k || i + 1 >= len || s[i] != ':' || isspace((unsigned char) s[i + 1]))
			return 0;
		starts[n] = k;
		lens[n++] = i - k;
		k = ++i;
		while (i < len && s[i] != ',')
			i++;
		starts[n] = k;
		lens[n++] = i - k;
		if (i < len)
			i++;
	}
	return (i >= len) ? n : 0;
}

/* A comment's body, trimmed: add its pairs if it is a tag comment. */
static void
parse_comment(CallSite *site, const char *body, int len)
{
	int			starts[2 * MAX_PAIRS];
	int			lens[2 * MAX_PAIRS];
	int			n;
	bool		escaped = true;

	while (len > 0 && isspace((unsigned char) body[0]))
		body++, len--;
	while (len > 0 && isspace((unsigned char) body[len - 1]))
		len--;
	if (len == 0 || len > MAX_COMMENT_BODY)
		return;
	n = parse_sqlcommenter(body, len, starts, lens);
	if (n == 0)
	{
		n = parse_marginalia(body, len, starts, lens);
		escaped = false;
	}
	for (int i = 0; i + 1 < n; i += 2)
	{
		if (!add_pair(site, body + starts[i], lens[i], body + starts[i + 1],
					  lens[i + 1], escaped))
			break;
	}
}

/* Where the literal, identifier or comment starting at p ends. */
static const char *
skip_quoted(const char *p, char quote, bool backslashes)
{
	for (p++; *p; p++)
	{
		if (backslashes && *p == '\\' && p[1])
			p++;
		else if (*p == quote)
		{
			if (p[1] != quote)
				return p + 1;
			p++;
		}
	}
	return p;
}

static const char *
skip_dollar_quote(const char *p)
{
	const char *tag_end = p + 1;
	const char *close;
	char		tag[MAX_KEY + 2];
	int			taglen;

	while (*tag_end && tag_end - p <= MAX_KEY && is_ident_char(*tag_end))
		tag_end++;
	if (*tag_end != '$' || isdigit((unsigned char) p[1]))
		return p + 1;			/* a parameter like $1, or no dollar quote */
	taglen = tag_end - p + 1;
	memcpy(tag, p, taglen);
	tag[taglen] = '\0';
	close = strstr(tag_end + 1, tag);
	return close ? close + taglen : tag_end + strlen(tag_end);
}

/* A block comment (they nest); parse it if it holds no other comment. */
static const char *
skip_block_comment(CallSite *site, const char *p)
{
	const char *body = p + 2;
	int			depth = 1;
	bool		nested = false;

	for (p += 2; *p && depth > 0; p++)
	{
		if (p[0] == '/' && p[1] == '*')
			depth++, nested = true, p++;
		else if (p[0] == '*' && p[1] == '/')
		{
			if (--depth == 0)
				break;
			p++;
		}
	}
	if (*p == '\0')
		return p;				/* unterminated: not a comment the server ran */
	if (!nested)
		parse_comment(site, body, p - body);
	return p + 2;
}

/*
 * The call site of a statement as JSON object text in out (at most outlen
 * bytes with the NUL); false, and out empty, when it names none.
 */
bool
call_site_from_query(const char *query, char *out, size_t outlen)
{
	CallSite	site;
	const char *p = query;

	out[0] = '\0';
	if (query == NULL || outlen < 3 || strstr(query, "/*") == NULL)
		return false;
	initStringInfo(&site.json);
	site.cap = outlen;
	site.pairs = 0;
	while (*p)
	{
		if (*p == '\'')
			p = skip_quoted(p, '\'', p > query && (p[-1] == 'E' || p[-1] == 'e'));
		else if (*p == '"')
			p = skip_quoted(p, '"', false);
		else if (*p == '$' && (p == query || !is_ident_char(p[-1])))
			p = skip_dollar_quote(p);
		else if (p[0] == '-' && p[1] == '-')
			p += strcspn(p, "\n");
		else if (p[0] == '/' && p[1] == '*')
			p = skip_block_comment(&site, p);
		else
			p++;
	}
	if (site.pairs > 0)
	{
		appendStringInfoChar(&site.json, '}');
		strlcpy(out, site.json.data, outlen);
	}
	pfree(site.json.data);
	return site.pairs > 0;
}

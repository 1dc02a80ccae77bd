/*-------------------------------------------------------------------------
 *
 * query_fingerprint.c
 *	  The query id recorded with a violation, at no cost to statements that
 *	  raise none.
 *
 * The audit trail groups a statement shape's violations by query id.  When
 * PostgreSQL computes query ids anyway (compute_query_id = on, or "auto"
 * with a module such as pg_stat_statements that asked for them), the id is
 * the one PostgreSQL reports for the top-level statement, which joins with
 * pg_stat_statements.  Otherwise nothing is computed while statements run:
 * only when a violation is reported is the statement text fingerprinted
 * here, from the tokens PostgreSQL's own scanner finds in it, with every
 * literal and parameter replaced by one placeholder.  So the fingerprint is
 * the same for the same statement with other constants, other whitespace,
 * other comments (SQL commenters' call-site tags included) and other case
 * of keywords and unquoted identifiers, and differs for another shape.  It
 * is not PostgreSQL's id and does not join with pg_stat_statements.
 *
 * The text was parsed before it ran; should scanning it again fail all the
 * same (the settings the scanner reads changed since), the raw text is
 * hashed instead.  This file must not judge statements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "query_fingerprint.h"

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "parser/scanner.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"

/*
 * The core scanner's token numbers for what is not a keyword.  16 stopped
 * installing parser/gram.h; the grammar of 15 to 18 declares these tokens
 * first, in this order, so bison numbers them alike from 258 (pg_regress
 * query_fingerprint fails should that change).  Keywords come after them
 * and are renumbered by every release that adds one, so a keyword is
 * written by its text, which keeps a fingerprint the same across major
 * versions.
 */
#define TOKEN_IDENT			258
#define TOKEN_UIDENT		259
#define TOKEN_FCONST		260
#define TOKEN_SCONST		261
#define TOKEN_USCONST		262
#define TOKEN_BCONST		263
#define TOKEN_XCONST		264
#define TOKEN_OP			265
#define TOKEN_ICONST		266
#define TOKEN_PARAM			267
#define TOKEN_LAST_FIXED	274		/* NOT_EQUALS; keywords follow */

/* Distinguishes the fingerprint's hash from other uses of hash_bytes. */
#define FINGERPRINT_SEED	UINT64CONST(0x7467667072696e74)

static uint64 cached_fingerprint(const char *text);

/* Append one token of the statement's shape to buf. */
static void
append_token(StringInfo buf, int token, const core_YYSTYPE *value)
{
	switch (token)
	{
		case TOKEN_ICONST:
		case TOKEN_FCONST:
		case TOKEN_SCONST:
		case TOKEN_USCONST:
		case TOKEN_BCONST:
		case TOKEN_XCONST:
		case TOKEN_PARAM:
			appendStringInfoChar(buf, '?');
			break;
		case TOKEN_IDENT:
		case TOKEN_UIDENT:
		case TOKEN_OP:
			appendStringInfoString(buf, value->str);
			break;
		default:
			if (token > TOKEN_LAST_FIXED)
				appendStringInfoString(buf, value->keyword);
			else
			{
				/* punctuation, or "::", "<=" and the like: the number says it */
				appendStringInfo(buf, "%d", token);
			}
			break;
	}
	appendStringInfoChar(buf, ' ');
}

/* The fingerprint of a statement text; never 0. */
uint64
statement_fingerprint(const char *text)
{
	core_yy_extra_type extra;
	core_yyscan_t scanner;
	core_YYSTYPE value;
	YYLTYPE		location;
	StringInfoData shape;
	uint64		fingerprint;
	int			token;
	MemoryContext context = CurrentMemoryContext;

	initStringInfo(&shape);
	PG_TRY();
	{
		scanner = scanner_init(text, &extra, &ScanKeywords, ScanKeywordTokens);
		while ((token = core_yylex(&value, &location, scanner)) != 0)
			append_token(&shape, token, &value);
		scanner_finish(scanner);
	}
	PG_CATCH();
	{
		/*
		 * Scanned under other settings than the parser had (a multi-statement
		 * string that changed standard_conforming_strings, say): the error is
		 * the scanner's own, it holds no resource, and the raw text will do.
		 */
		MemoryContextSwitchTo(context);
		FlushErrorState();
		resetStringInfo(&shape);
		appendStringInfoString(&shape, text);
	}
	PG_END_TRY();

	fingerprint = hash_bytes_extended((const unsigned char *) shape.data,
									  shape.len, FINGERPRINT_SEED);
	pfree(shape.data);
	return fingerprint != 0 ? fingerprint : 1;
}

/*
 * The query id to record for a violation of the statement the client sent:
 * PostgreSQL's when it computed one, else the fingerprint of the text; 0
 * when there is no statement text (a background process).
 */
uint64
violation_query_id(const char *statement_text)
{
	uint64		query_id = pgstat_get_my_query_id();

	if (query_id != 0)
		return query_id;
	if (statement_text == NULL || statement_text[0] == '\0')
		return 0;
	return cached_fingerprint(statement_text);
}

/*
 * The fingerprint of the text, from the backend's last one when the text is
 * the same: an application that repeats a violating statement sends the
 * same text each time (a prepared statement's, or the same literals), and
 * scanning it again would cost several thousand instructions a violation.
 * Texts longer than FINGERPRINT_CACHE_MAX are not kept.
 */
#define FINGERPRINT_CACHE_MAX	4096

static uint64
cached_fingerprint(const char *text)
{
	static char *last_text = NULL;
	static uint64 last_fingerprint = 0;
	uint64		fingerprint;

	if (last_text != NULL && strcmp(last_text, text) == 0)
		return last_fingerprint;
	fingerprint = statement_fingerprint(text);
	if (strlen(text) < FINGERPRINT_CACHE_MAX)
	{
		if (last_text != NULL)
			pfree(last_text);
		last_text = MemoryContextStrdup(TopMemoryContext, text);
		last_fingerprint = fingerprint;
	}
	return fingerprint;
}

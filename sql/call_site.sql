-- Call sites: sqlcommenter and marginalia comments parsed into
-- violations.call_site, grouped on in violation_summary; hostile input.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA cs;
CREATE TABLE cs.invoices (id int, firm_id int);
\set VERBOSITY terse

-- sqlcommenter (Django, Rails in sqlcommenter format): URL-encoded, quoted
SELECT tenant_guard.parse_call_site($q$SELECT 1 /*action='pay',controller='invoices',framework='django%3A4.2',route='%2Finvoices%2F%3Cint%3Apk%3E%2Fpay'*/$q$);
-- at the start, with spaces, and an escaped quote
SELECT tenant_guard.parse_call_site($q$/* controller='it%27s',db_driver='psycopg2' */ SELECT 1$q$);
SELECT tenant_guard.parse_call_site($q$SELECT 1 /*a='x\'y'*/$q$);
-- marginalia (Rails' default query log tags)
SELECT tenant_guard.parse_call_site('SELECT 1 /*application:Shop,controller:invoices,action:pay*/');
SELECT tenant_guard.parse_call_site($q$SELECT 1 /*line:/app/models/invoice.rb:12:in `pay'*/$q$);
-- two tag comments: one object
SELECT tenant_guard.parse_call_site($q$/*application:Shop*/ SELECT 1 /*action='pay'*/$q$);
-- not call sites: ordinary comments, comments in literals, identifiers,
-- dollar quotes and line comments, nested and unterminated comments
SELECT tenant_guard.parse_call_site('SELECT 1 /* just a note */') IS NULL AS plain_comment;
SELECT tenant_guard.parse_call_site('SELECT 1 /* note: spaced */') IS NULL AS prose_with_colon;
SELECT tenant_guard.parse_call_site($q$SELECT '/*action=''pay''*/'$q$) IS NULL AS in_literal;
SELECT tenant_guard.parse_call_site($q$SELECT E'\' /*a:b*/' $q$) IS NULL AS in_escape_literal;
SELECT tenant_guard.parse_call_site($q$SELECT 1 AS "/*a:b*/"$q$) IS NULL AS in_identifier;
SELECT tenant_guard.parse_call_site('SELECT $x$ /*a:b*/ $x$') IS NULL AS in_dollar_quote;
SELECT tenant_guard.parse_call_site('SELECT 1 -- /*a:b*/') IS NULL AS in_line_comment;
SELECT tenant_guard.parse_call_site('SELECT 1 /* /*a:b*/ */') IS NULL AS nested;
SELECT tenant_guard.parse_call_site('SELECT 1 /*a:b') IS NULL AS unterminated;
SELECT tenant_guard.parse_call_site($q$SELECT 1 /*a='unclosed*/$q$) IS NULL AS unclosed_quote;
SELECT tenant_guard.parse_call_site('SELECT $1 /*a:b*/') AS after_parameter;
-- hostile input: escapes that would give NUL or invalid UTF-8 stay as
-- written; long keys, values and comments, and many pairs, are capped
SELECT tenant_guard.parse_call_site($q$SELECT 1 /*a='%00',b='%FF%FE',c='%zz',d='%4'*/$q$);
SELECT tenant_guard.parse_call_site('SELECT 1 /*' || repeat('k', 65) || ':v*/') IS NULL AS long_key;
SELECT tenant_guard.parse_call_site('SELECT 1 /*k:' || repeat('v', 257) || '*/') IS NULL AS long_value;
SELECT tenant_guard.parse_call_site('SELECT 1 /*k:' || repeat('v', 200) || ',l:' || repeat('w', 200) || ',m:' || repeat('x', 200) || '*/') AS capped_at_512_bytes;
SELECT tenant_guard.parse_call_site('SELECT 1 /*' || string_agg('k' || i || ':v', ',') || '*/') IS NULL AS too_many_pairs
  FROM generate_series(1, 17) i;
SELECT length(tenant_guard.parse_call_site(repeat($q$'/*'$q$, 100000) || ' /*a:b*/')::text) AS long_statement;
SELECT tenant_guard.parse_call_site(repeat('/*', 50000)) IS NULL AS many_openings;

-- violations carry their call site; the summary groups on it
SELECT tenant_guard.flush() >= 0 AS flushed;
DELETE FROM tenant_guard.violations;
DELETE FROM tenant_guard.violation_counts;
SET tenant_guard.mode = log;
SET tenant_guard.audit_sample_interval = 0;
SELECT count(*) FROM cs.invoices WHERE id = 1 /*controller='invoices',action='pay'*/;
SELECT count(*) FROM cs.invoices WHERE id = 2 /*controller='invoices',action='pay'*/;
SELECT count(*) FROM cs.invoices WHERE id = 3 /*controller='invoices',action='refresh'*/;
SELECT count(*) FROM cs.invoices WHERE id = 4;
RESET tenant_guard.mode;
RESET tenant_guard.audit_sample_interval;
SELECT tenant_guard.flush() AS flushed;
SELECT call_site, query FROM tenant_guard.violations ORDER BY id;
SELECT kind, relation, count, call_site FROM tenant_guard.violation_summary
 ORDER BY count DESC, call_site::text;
DELETE FROM tenant_guard.violations;
DROP SCHEMA cs CASCADE;

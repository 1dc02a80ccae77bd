-- Query ids for the audit trail: statements that can raise a violation are
-- fingerprinted with PostgreSQL's own jumbling, so query_id is the id
-- pg_stat_statements reports; statements that cannot are left without an
-- id, so that workloads without tenant tables do not pay for it.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA qf;
CREATE TABLE qf.invoices (id int, firm_id int);
CREATE TABLE qf.lookup (id int, name text);
CREATE VIEW qf.lookup_view AS SELECT * FROM qf.lookup;
INSERT INTO qf.invoices VALUES (1, 1);
INSERT INTO qf.lookup VALUES (1, 'one');
\set VERBOSITY terse
SHOW compute_query_id;

-- the id PostgreSQL itself computes for a statement when query ids are on
CREATE FUNCTION qf.core_query_id(statement text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	PERFORM set_config('compute_query_id', 'on', true);
	FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || statement LOOP
		IF line LIKE 'Query Identifier: %' THEN
			RETURN split_part(line, ': ', 2)::bigint;
		END IF;
	END LOOP;
	RETURN NULL;
END;
$$;

-- the current statement's id, as pg_stat_activity shows it
CREATE FUNCTION qf.my_query_id() RETURNS bigint
LANGUAGE sql AS $$ SELECT query_id FROM pg_stat_activity WHERE pid = pg_backend_pid() $$;

-- no tenant table, no id; a tenant table, or a view, an id
SELECT qf.my_query_id() IS NULL AS no_id FROM qf.lookup;
SELECT qf.my_query_id() IS NOT NULL AS has_id FROM qf.invoices WHERE firm_id = 1;
SELECT qf.my_query_id() IS NOT NULL AS has_id FROM qf.lookup_view;
SELECT qf.my_query_id() IS NOT NULL AS has_id FROM qf.lookup
 WHERE id IN (SELECT id FROM qf.invoices WHERE firm_id = 1);
SELECT qf.my_query_id() IS NOT NULL AS has_id
  FROM (SELECT * FROM qf.lookup UNION ALL SELECT id, 'x' FROM qf.invoices WHERE firm_id = 1) u LIMIT 1;
WITH i AS (SELECT * FROM qf.invoices WHERE firm_id = 1)
SELECT qf.my_query_id() IS NOT NULL AS has_id FROM qf.lookup, i;

-- a violation's query_id is the id PostgreSQL computes for the statement
SELECT tenant_guard.flush() >= 0 AS flushed;
DELETE FROM tenant_guard.violations;
SELECT count(*) FROM qf.invoices;
SELECT count(*) FROM qf.invoices WHERE id = 7;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT v.query, v.query_id = qf.core_query_id(rtrim(v.query, ';')) AS same_as_core
  FROM tenant_guard.violations v ORDER BY v.id;

-- compute_query_id = off means no ids at all
SET compute_query_id = off;
SELECT count(*) FROM qf.invoices WHERE id = 8;
RESET compute_query_id;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT query, query_id IS NULL AS no_id FROM tenant_guard.violations
 WHERE query LIKE '%id = 8%';

DROP SCHEMA qf CASCADE;

-- Query ids for the audit trail.  When PostgreSQL computes query ids
-- (compute_query_id = on, or auto with pg_stat_statements loaded), a
-- violation records PostgreSQL's id, which joins with pg_stat_statements.
-- Otherwise no statement is fingerprinted while it runs; a violation
-- records tenant_guard's own fingerprint of the statement text: the same
-- for the same shape with other constants, spacing, comments or case,
-- different for another shape.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
-- Every violation keeps a row of its own here (repeats are not sampled),
-- so that each can be read back.
SET tenant_guard.audit_sample_interval = 0;
CREATE SCHEMA qf;
CREATE TABLE qf.invoices (id int, firm_id int, note text);
CREATE TABLE qf.lookup (id int, name text);
INSERT INTO qf.invoices VALUES (1, 1, 'a');
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

-- with auto and nobody asking, no statement is fingerprinted while it
-- runs, tenant table or not
SELECT qf.my_query_id() IS NULL AS no_id FROM qf.lookup;
SELECT qf.my_query_id() IS NULL AS no_id FROM qf.invoices WHERE firm_id = 1;

-- violations: the same shape with other constants, spacing, comments and
-- keyword case, then two other shapes
SELECT tenant_guard.flush() >= 0 AS flushed;
DELETE FROM tenant_guard.violations;
SELECT count(*) FROM qf.invoices WHERE id = 7;
SELECT count(*) FROM qf.invoices WHERE id = 8;
select   COUNT(*)
  from qf.invoices /* controller='pay' */ where id = 9  ;
SELECT count(*) FROM qf.invoices WHERE note = 'x''y';
SELECT count(*) FROM qf.invoices WHERE id = 7 AND note = 'z';
SELECT count(*) FROM qf.invoices WHERE note = $$dollar$$;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT dense_rank() OVER (ORDER BY min(v.id)) AS shape, count(*) AS violations,
	   string_agg(regexp_replace(v.query, '\s+', ' ', 'g'), ' | ' ORDER BY v.id) AS statements,
	   bool_and(v.query_id IS NOT NULL) AS has_id,
	   bool_and(v.query_id IS DISTINCT FROM qf.core_query_id(rtrim(v.query, '; '))) AS not_core_id
  FROM tenant_guard.violations v
 GROUP BY v.query_id
 ORDER BY 1;

-- compute_query_id = on: PostgreSQL's own id, the one pg_stat_statements
-- reports
DELETE FROM tenant_guard.violations;
SET compute_query_id = on;
SELECT count(*) FROM qf.invoices WHERE id = 10;
SELECT count(*) FROM qf.invoices WHERE id = 11 AND note = 'q';
RESET compute_query_id;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT v.query, v.query_id = qf.core_query_id(rtrim(v.query, ';')) AS same_as_core
  FROM tenant_guard.violations v ORDER BY v.id;

-- compute_query_id = off: still a fingerprint, so violations still group
DELETE FROM tenant_guard.violations;
SET compute_query_id = off;
SELECT count(*) FROM qf.invoices WHERE id = 12;
SELECT count(*) FROM qf.invoices WHERE id = 13;
RESET compute_query_id;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT count(*) AS violations, count(DISTINCT query_id) AS shapes,
	   bool_and(query_id IS NOT NULL) AS has_id
  FROM tenant_guard.violations;

-- the fingerprint of a statement is the same on every PostgreSQL version:
-- keywords count by their text, not by the scanner's numbers for them,
-- which every release that adds a keyword changes
DELETE FROM tenant_guard.violations;
SELECT count(*) FROM qf.invoices WHERE note IS DISTINCT FROM 'stable' AND id::text ~ '1';
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT query_id FROM tenant_guard.violations;

DROP SCHEMA qf CASCADE;

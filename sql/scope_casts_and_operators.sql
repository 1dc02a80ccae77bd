-- Predicate analysis (doc/scoping.md): what counts as "tenant_col = X".
-- Casts that keep equality exact, IS NOT DISTINCT FROM, IS TRUE, and a
-- correlated sublink whose outer tenant column is restricted are scopes;
-- a scalar subquery that reads an outer row, and an operator a role made
-- up, are not.  Every scoped statement is also run through
-- tenant_guard.check(), and statements with parameters through custom and
-- generic plans.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
SELECT current_user AS superuser_name \gset
CREATE SCHEMA sco;
CREATE TABLE sco.firms (id int PRIMARY KEY, name text);
CREATE TABLE sco.clients (id int PRIMARY KEY, firm_id int NOT NULL);
CREATE TABLE sco.invoices (id int PRIMARY KEY, firm_id int NOT NULL,
	client_id int NOT NULL);
CREATE TABLE sco.bigs (id int, org_id bigint);
CREATE TABLE sco.smalls (id int, org_id smallint);
CREATE TABLE sco.chars (id int, org_id char(4));
CREATE TABLE sco.uuids (id int, tenant_id uuid);
INSERT INTO sco.firms VALUES (1, 'one'), (2, 'two'), (5, 'five');
INSERT INTO sco.clients SELECT i, 1 + i % 2 FROM generate_series(1, 10) i;
INSERT INTO sco.invoices SELECT i, 1 + (i % 10 + 1) % 2, i % 10 + 1
	FROM generate_series(1, 40) i;
INSERT INTO sco.bigs VALUES (1, 1), (2, 2);
INSERT INTO sco.smalls VALUES (1, 1), (2, 2);
INSERT INTO sco.chars VALUES (1, 'ab'), (2, 'cd');
INSERT INTO sco.uuids VALUES (1, '00000000-0000-0000-0000-000000000001'),
	(2, '00000000-0000-0000-0000-000000000002');
ANALYZE sco.firms, sco.clients, sco.invoices, sco.bigs, sco.smalls, sco.chars, sco.uuids;
SET tenant_guard.mode = enforce;
\set VERBOSITY terse

-- scoped: IS NOT DISTINCT FROM and IS TRUE count as "="
SELECT count(*) FROM sco.invoices WHERE firm_id IS NOT DISTINCT FROM 1;
SELECT count(*) FROM sco.invoices WHERE (firm_id = 1) IS TRUE;
SELECT count(*) FROM sco.invoices WHERE (firm_id = 1 OR firm_id = 2) IS TRUE;
-- scoped: casts that keep equality exact
SELECT count(*) FROM sco.invoices WHERE firm_id::bigint = 1;
SELECT count(*) FROM sco.invoices WHERE firm_id::numeric = 1;
SELECT count(*) FROM sco.invoices WHERE firm_id::text = '1';
SELECT count(*) FROM sco.invoices WHERE firm_id::varchar = '1';
SELECT count(*) FROM sco.invoices WHERE firm_id = 1.0;
SELECT count(*) FROM sco.invoices WHERE firm_id IN (1.0, 2.0);
SELECT count(*) FROM sco.invoices WHERE firm_id::bigint::numeric = 1;
SELECT count(*) FROM sco.bigs WHERE org_id = 1.0;
SELECT count(*) FROM sco.bigs WHERE org_id::text = '1';
SELECT count(*) FROM sco.smalls WHERE org_id = 1.0;
SELECT count(*) FROM sco.smalls WHERE org_id::int = 1;
SELECT count(*) FROM sco.smalls WHERE org_id::bigint = 1;
SELECT count(*) FROM sco.uuids WHERE tenant_id::text = '00000000-0000-0000-0000-000000000001';
SELECT count(*) FROM sco.chars WHERE org_id = 'ab'::text;
SELECT count(*) FROM sco.chars WHERE org_id::varchar = 'ab';
-- scoped: the same forms as arms of an OR
SELECT count(*) FROM sco.invoices WHERE firm_id::text = '1' OR firm_id = 2.0;
SELECT count(*) FROM sco.invoices
 WHERE firm_id IS NOT DISTINCT FROM 1 OR (firm_id::bigint = 2 AND id > 10);
-- scoped: a correlated sublink whose outer tenant column is restricted;
-- both invoices and clients count as scoped
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id = 1 AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id);
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id IN (1, 2) AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id);
-- the same as EXISTS, which PostgreSQL turns into a join (as 17 and later
-- do with the IN above): judged as written
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id IN (1, 2)
   AND EXISTS (SELECT 1 FROM sco.clients c WHERE c.firm_id = i.firm_id AND c.id = i.client_id);
SELECT sum((SELECT count(*) FROM sco.clients c WHERE c.firm_id = i.firm_id))
  FROM sco.invoices i WHERE i.firm_id = 1;
SELECT count(*) FROM sco.invoices i,
	LATERAL (SELECT * FROM sco.clients c WHERE c.firm_id = i.firm_id OFFSET 0) x
 WHERE i.firm_id = 1;
-- scoped: an uncorrelated scalar subquery inside a correlated subquery or
-- a LATERAL subquery, even when that subquery reads the outer row elsewhere
SELECT count(*) FROM sco.firms f, LATERAL (SELECT f.name, i.* FROM sco.invoices i
	WHERE i.firm_id = (SELECT min(id) FROM sco.firms) OFFSET 0) x;
SELECT (SELECT count(*) FROM sco.invoices i
		 WHERE i.firm_id = (SELECT min(id) FROM sco.firms) AND i.client_id = f.id)
  FROM sco.firms f ORDER BY f.id;
SELECT count(*) FROM sco.invoices WHERE firm_id = (SELECT (SELECT 1));

-- the same statements through tenant_guard.check(): no violation at all
SELECT q AS statement, c.relation, c.kind FROM unnest(ARRAY[
	'SELECT * FROM sco.invoices WHERE firm_id IS NOT DISTINCT FROM 1',
	'SELECT * FROM sco.invoices WHERE (firm_id = 1) IS TRUE',
	'SELECT * FROM sco.invoices WHERE firm_id::bigint = 1',
	'SELECT * FROM sco.invoices WHERE firm_id::numeric = 1',
	'SELECT * FROM sco.invoices WHERE firm_id::text = ''1''',
	'SELECT * FROM sco.invoices WHERE firm_id = 1.0',
	'SELECT * FROM sco.invoices WHERE firm_id IN (1.0, 2.0)',
	'SELECT * FROM sco.bigs WHERE org_id = 1.0',
	'SELECT * FROM sco.smalls WHERE org_id = 1.0',
	'SELECT * FROM sco.uuids WHERE tenant_id::text = ''00000000-0000-0000-0000-000000000001''',
	'SELECT * FROM sco.chars WHERE org_id = $1::text',
	'SELECT * FROM sco.invoices WHERE firm_id::text = $1 OR firm_id = 2.0',
	'SELECT * FROM sco.invoices i WHERE i.firm_id = $1 AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id)',
	'SELECT (SELECT count(*) FROM sco.clients c WHERE c.firm_id = i.firm_id) FROM sco.invoices i WHERE i.firm_id = 1',
	'SELECT * FROM sco.firms f, LATERAL (SELECT f.name, i.* FROM sco.invoices i WHERE i.firm_id = (SELECT min(id) FROM sco.firms) OFFSET 0) x'
]) q, LATERAL tenant_guard.check(q) c;

-- scoped with parameters, custom and generic plans alike
PREPARE by_code(text) AS SELECT count(*) FROM sco.chars WHERE org_id = $1;
PREPARE by_text(text) AS SELECT count(*) FROM sco.invoices WHERE firm_id::text = $1;
PREPARE by_numeric(numeric) AS SELECT count(*) FROM sco.invoices WHERE firm_id = $1;
PREPARE by_distinct(int) AS SELECT count(*) FROM sco.invoices WHERE firm_id IS NOT DISTINCT FROM $1;
PREPARE by_uuid(text) AS SELECT count(*) FROM sco.uuids WHERE tenant_id::text = $1;
PREPARE with_sublink(int) AS SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id = $1 AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id);
SET plan_cache_mode = force_custom_plan;
EXECUTE by_code('ab');
EXECUTE by_text('1');
EXECUTE by_numeric(1);
EXECUTE by_distinct(1);
EXECUTE by_uuid('00000000-0000-0000-0000-000000000001');
EXECUTE with_sublink(1);
SET plan_cache_mode = force_generic_plan;
EXECUTE by_code('ab');
EXECUTE by_text('1');
EXECUTE by_numeric(1);
EXECUTE by_distinct(1);
EXECUTE by_uuid('00000000-0000-0000-0000-000000000001');
EXECUTE with_sublink(1);
-- the generic plan really has Params where the custom one has constants
-- (read off the plan, whose shape is the planner's: from PostgreSQL 17 on
-- the correlated IN becomes a join)
CREATE FUNCTION sco.firm_compared_with(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	found text[] := '{}';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || statement LOOP
		found := found || ARRAY(SELECT m[1] FROM regexp_matches(line, 'firm_id = (\$\d+|\d+)', 'g') m);
	END LOOP;
	RETURN array_to_string(ARRAY(SELECT DISTINCT unnest(found) ORDER BY 1), ', ');
END $$;
SELECT sco.firm_compared_with('EXECUTE with_sublink(1)');
SET plan_cache_mode = force_custom_plan;
SELECT sco.firm_compared_with('EXECUTE with_sublink(1)');
SET plan_cache_mode = force_generic_plan;
RESET plan_cache_mode;
DEALLOCATE ALL;

-- unscoped: casts and functions that do not keep equality exact
SELECT count(*) FROM sco.invoices WHERE firm_id::text LIKE '1%';
SELECT count(*) FROM sco.invoices WHERE firm_id::float4 = 1;
SELECT count(*) FROM sco.invoices WHERE firm_id::float8 = 1;
SELECT count(*) FROM sco.invoices WHERE firm_id / 2 = 1;
SELECT count(*) FROM sco.invoices WHERE firm_id + 0 = 1;
SELECT count(*) FROM sco.invoices WHERE round(firm_id::numeric) = 1;
SELECT count(*) FROM sco.invoices WHERE abs(firm_id) = 1;
SELECT count(*) FROM sco.chars WHERE lower(org_id) = 'ab';
SELECT count(*) FROM sco.chars WHERE org_id::varchar(1) = 'a';
SELECT count(*) FROM sco.bigs WHERE org_id::int = 1;
SELECT count(*) FROM sco.bigs WHERE org_id::text::int = 1;
-- unscoped: IS DISTINCT FROM, IS NOT FALSE, IS NOT TRUE
SELECT count(*) FROM sco.invoices WHERE firm_id IS DISTINCT FROM 1;
SELECT count(*) FROM sco.invoices WHERE (firm_id = 1) IS NOT FALSE;
SELECT count(*) FROM sco.invoices WHERE (firm_id = 1) IS NOT TRUE;
-- unscoped: IS NOT DISTINCT FROM NULL reads the rows that have no tenant
-- (on a nullable column: from PostgreSQL 18 on the planner proves that a
-- NOT NULL column has none and reads nothing, which is no violation)
SELECT count(*) FROM sco.bigs WHERE org_id IS NOT DISTINCT FROM NULL;
-- unscoped: the outer tenant column is not restricted to one value, or
-- only in an OR, or the sublink compares with another outer column
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id > 0 AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id);
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id = 1 OR i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id);
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id = 1 AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.client_id);
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id IN (1, 2)
   AND EXISTS (SELECT 1 FROM sco.clients c WHERE c.firm_id = i.client_id AND c.id = i.client_id);
-- unscoped: NOT EXISTS, an anti join, which a LEFT JOIN can also become
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id IN (1, 2)
   AND NOT EXISTS (SELECT 1 FROM sco.clients c WHERE c.firm_id = i.firm_id AND c.id = i.client_id);
-- unscoped: an outer term that is not a plain "= value", which PostgreSQL
-- may evaluate after the sublink, for every outer row
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id IS NOT DISTINCT FROM 1
   AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id);
SELECT count(*) FROM sco.invoices i
 WHERE (i.firm_id = 1) IS TRUE
   AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id);
SELECT relation, kind FROM tenant_guard.check('SELECT * FROM sco.invoices i
 WHERE i.firm_id > 0 AND i.client_id IN (SELECT c.id FROM sco.clients c WHERE c.firm_id = i.firm_id)');

-- unscoped: "(SELECT f.id)" inside a LATERAL or correlated subquery is run
-- again for every row of f, so it reads every tenant in turn
SELECT count(*) FROM sco.firms f,
	LATERAL (SELECT * FROM sco.invoices i WHERE i.firm_id = (SELECT f.id) OFFSET 0) x;
SELECT count(*) FROM sco.firms f,
	LATERAL (SELECT count(*) FROM sco.invoices i WHERE i.firm_id = (SELECT f.id)) x;
SELECT count(*) FROM sco.firms f
 WHERE EXISTS (SELECT 1 FROM sco.invoices i WHERE i.firm_id = (SELECT f.id) OFFSET 0);
SELECT count(*) FROM sco.firms f
 WHERE 1 IN (SELECT 1 FROM sco.invoices i WHERE i.firm_id = (SELECT f.id));
SELECT (SELECT count(*) FROM sco.invoices i WHERE i.firm_id = (SELECT f.id)) FROM sco.firms f;
SELECT (SELECT count(*) FROM sco.invoices i WHERE i.firm_id = (SELECT f.id + 0)) FROM sco.firms f;
-- ... also through a nested subquery, or one that filters on the outer row
SELECT count(*) FROM sco.firms f,
	LATERAL (SELECT * FROM sco.invoices i WHERE i.firm_id = (SELECT (SELECT f.id)) OFFSET 0) x;
SELECT count(*) FROM sco.firms f, LATERAL (SELECT * FROM sco.invoices i
	WHERE i.firm_id = (SELECT g.id FROM sco.firms g WHERE g.id = f.id) OFFSET 0) x;
-- ... and even when the outer row is itself restricted (not looked into)
SELECT count(*) FROM sco.firms f,
	LATERAL (SELECT * FROM sco.invoices i WHERE i.firm_id = (SELECT f.id) OFFSET 0) x
 WHERE f.id = 1;
SELECT relation, kind FROM tenant_guard.check('SELECT (SELECT count(*) FROM sco.invoices i
	WHERE i.firm_id = (SELECT f.id)) FROM sco.firms f');
PREPARE lateral_bypass(int) AS SELECT count(*) FROM sco.firms f,
	LATERAL (SELECT * FROM sco.invoices i WHERE i.firm_id = (SELECT f.id) OFFSET 0) x
 WHERE f.id > $1;
SET plan_cache_mode = force_custom_plan;
EXECUTE lateral_bypass(0);
SET plan_cache_mode = force_generic_plan;
EXECUTE lateral_bypass(0);
RESET plan_cache_mode;
DEALLOCATE ALL;

-- unscoped: an operator is "=" only as the equality member of a btree
-- operator family; a role's own operator, whatever its estimator, name or
-- place in search_path, is not
CREATE ROLE regress_operator_maker LOGIN;
GRANT USAGE ON SCHEMA sco TO regress_operator_maker;
GRANT SELECT ON sco.invoices TO regress_operator_maker;
CREATE SCHEMA sco_ops AUTHORIZATION regress_operator_maker;
ALTER ROLE regress_operator_maker SET tenant_guard.mode = enforce;
\c - regress_operator_maker
\set VERBOSITY terse
-- plpgsql, so that the planner cannot inline the function away
CREATE FUNCTION sco_ops.always_true(int, int) RETURNS bool
	LANGUAGE plpgsql AS 'BEGIN RETURN true; END';
CREATE OPERATOR sco_ops.=== (leftarg = int, rightarg = int,
	function = sco_ops.always_true, restrict = eqsel, join = eqjoinsel);
CREATE OPERATOR sco_ops.= (leftarg = int, rightarg = int,
	function = sco_ops.always_true, restrict = eqsel, join = eqjoinsel);
SELECT count(*) FROM sco.invoices WHERE firm_id OPERATOR(sco_ops.===) 1;
SELECT count(*) FROM sco.invoices WHERE firm_id OPERATOR(sco_ops.=) 1;
SELECT count(*) FROM sco.invoices WHERE firm_id OPERATOR(sco_ops.=) ANY ('{1}'::int[]);
SET search_path = sco_ops, public, pg_catalog;
SELECT count(*) FROM sco.invoices WHERE firm_id === 1;
SELECT count(*) FROM sco.invoices WHERE firm_id = 1;
SELECT count(*) FROM sco.invoices WHERE firm_id IN (1, 2);
SELECT count(*) FROM sco.invoices WHERE firm_id IS NOT DISTINCT FROM 1;
SELECT relation, kind FROM tenant_guard.check('SELECT * FROM sco.invoices WHERE firm_id = 1');
-- the built-in operator, named explicitly, still counts
SELECT count(*) FROM sco.invoices WHERE firm_id OPERATOR(pg_catalog.=) 1;
RESET search_path;
SELECT count(*) FROM sco.invoices WHERE firm_id = 1;
\c - :superuser_name
SET tenant_guard.mode = enforce;
-- a join of a table with itself on its key: each side is judged as written,
-- also where the planner merges the two scans into one (18 and later)
SELECT count(*) FROM sco.invoices a JOIN sco.invoices b ON a.id = b.id WHERE a.firm_id = 1;
SELECT count(*) FROM sco.invoices a JOIN sco.invoices b ON a.id = b.id
 WHERE a.firm_id = 1 AND b.firm_id = 1;
SELECT count(*) FROM sco.invoices i
 WHERE i.firm_id = 1 AND i.id IN (SELECT id FROM sco.invoices);
-- IN (VALUES ...) of constants is a scope like IN (...) on every version
-- (18's planner turns it into = ANY itself)
SELECT count(*) FROM sco.invoices i WHERE i.firm_id IN (VALUES (1), (2));
SELECT count(*) FROM sco.invoices i WHERE i.firm_id = 1 AND i.id IN (VALUES (1), (2));
-- also in an inner or outer join's ON clause, not in a FULL join's
SELECT count(i.id) FROM sco.firms f
  LEFT JOIN sco.invoices i ON i.firm_id IN (VALUES (1), (2)) AND i.id = f.id;
SELECT count(i.id) FROM sco.firms f
  FULL JOIN sco.invoices i ON i.firm_id IN (VALUES (1), (2)) AND i.id = f.id;
DROP SCHEMA sco_ops CASCADE;
DROP SCHEMA sco CASCADE;
DROP OWNED BY regress_operator_maker;
DROP ROLE regress_operator_maker;

-- The verdict does not depend on the plan shape (join method, index or
-- sequential scan, parameterized nested loop, custom or generic plan), and
-- a change of mode, registry or tenant_columns applies at once to plans
-- cached earlier in the session.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA pc;
CREATE TABLE pc.clients (id int PRIMARY KEY, firm_id int NOT NULL);
CREATE TABLE pc.invoices (id int PRIMARY KEY, firm_id int NOT NULL, client_id int NOT NULL,
	account_org int NOT NULL DEFAULT 0);
CREATE INDEX ON pc.invoices (client_id);
CREATE INDEX ON pc.invoices (firm_id);
INSERT INTO pc.clients SELECT i, 1 + i % 5 FROM generate_series(1, 500) i;
INSERT INTO pc.invoices SELECT i, 1 + (i % 500 + 1) % 5, i % 500 + 1
	FROM generate_series(1, 5000) i;
ANALYZE pc.clients, pc.invoices;
SET tenant_guard.mode = enforce;
\set VERBOSITY terse

-- The same two statements under three join methods.  The first is scoped
-- for both tables by equivalence; in the second only clients is scoped,
-- and the join condition that a nested loop turns into an index condition
-- on invoices does not count.
CREATE FUNCTION pc.verdicts(OUT plan_top text, OUT scoped_both text, OUT invoices_unscoped text)
LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) SELECT count(*) FROM pc.clients c
			 JOIN pc.invoices i ON i.client_id = c.id WHERE c.firm_id = 2' LOOP
		IF line ~ 'Join|Nested Loop' THEN plan_top := trim(line); EXIT; END IF;
	END LOOP;
	SELECT coalesce(string_agg(relation || ':' || kind, ', '), 'clean') INTO scoped_both
	  FROM tenant_guard.check('SELECT count(*) FROM pc.clients c JOIN pc.invoices i
			ON i.client_id = c.id AND i.firm_id = c.firm_id WHERE c.firm_id = 2');
	SELECT coalesce(string_agg(relation || ':' || kind, ', '), 'clean') INTO invoices_unscoped
	  FROM tenant_guard.check('SELECT count(*) FROM pc.clients c JOIN pc.invoices i
			ON i.client_id = c.id WHERE c.firm_id = 2');
END $$;

SET enable_mergejoin = off; SET enable_nestloop = off;
SELECT * FROM pc.verdicts();
RESET enable_mergejoin; RESET enable_nestloop;
SET enable_hashjoin = off; SET enable_mergejoin = off;
SELECT * FROM pc.verdicts();
RESET enable_hashjoin; RESET enable_mergejoin;
SET enable_hashjoin = off; SET enable_nestloop = off;
SELECT * FROM pc.verdicts();
RESET ALL;
SET tenant_guard.mode = enforce;

-- executed under a forced parameterized nested loop, the statement fails the same way
SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pc.clients c JOIN pc.invoices i ON i.client_id = c.id
 WHERE c.firm_id = 2;
SELECT count(*) FROM pc.clients c JOIN pc.invoices i ON i.client_id = c.id WHERE c.firm_id = 2;
RESET enable_hashjoin; RESET enable_mergejoin; RESET enable_seqscan;

-- index scan or sequential scan: same verdict
SET enable_seqscan = off;
SELECT count(*) FROM pc.invoices WHERE firm_id = 3;
SELECT count(*) FROM pc.invoices WHERE client_id = 3;
RESET enable_seqscan;
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*) FROM pc.invoices WHERE firm_id = 3;
SELECT count(*) FROM pc.invoices WHERE client_id = 3;
RESET enable_indexscan; RESET enable_bitmapscan;

-- custom and generic plans: same verdict
PREPARE scoped(int) AS SELECT count(*) FROM pc.invoices WHERE firm_id = $1;
PREPARE unscoped(int) AS SELECT count(*) FROM pc.invoices WHERE client_id = $1;
SET plan_cache_mode = force_custom_plan;
EXECUTE scoped(3);
EXECUTE unscoped(3);
SET plan_cache_mode = force_generic_plan;
EXECUTE scoped(3);
EXPLAIN (COSTS OFF) EXECUTE scoped(3);
EXECUTE unscoped(3);
RESET plan_cache_mode;

-- a mode change applies at once to a generic plan cached while the guard was off
SET plan_cache_mode = force_generic_plan;
SET tenant_guard.mode = off;
PREPARE cached_while_off(int) AS SELECT count(*) FROM pc.invoices WHERE client_id = $1;
EXECUTE cached_while_off(3);
EXECUTE cached_while_off(3);
SELECT generic_plans FROM pg_prepared_statements WHERE name = 'cached_while_off';
SET tenant_guard.mode = enforce;
EXECUTE cached_while_off(3);
SET tenant_guard.mode = log;
SET tenant_guard.client_messages = notice;
EXECUTE cached_while_off(3);
SELECT generic_plans FROM pg_prepared_statements WHERE name = 'cached_while_off';
RESET tenant_guard.client_messages;
SET tenant_guard.mode = enforce;

-- the same for a PL/pgSQL function's cached plan
CREATE FUNCTION pc.count_for_client(c int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(*) FROM pc.invoices WHERE client_id = c);
END $$;
SET tenant_guard.mode = off;
SELECT pc.count_for_client(3);
SELECT pc.count_for_client(3);
SET tenant_guard.mode = enforce;
SELECT pc.count_for_client(3);

-- a registry change applies at once to cached plans: the scoped plan
-- becomes unscoped when another column is registered, and the unscoped
-- one runs when the table is excluded
EXECUTE scoped(3);
SELECT tenant_guard.register_table('pc.invoices', 'account_org');
EXECUTE scoped(3);
PREPARE by_account(int) AS SELECT count(*) FROM pc.invoices WHERE account_org = $1;
EXECUTE by_account(0);
SELECT tenant_guard.exclude_table('pc.invoices');
EXECUTE unscoped(3);
EXECUTE cached_while_off(3);
SELECT tenant_guard.forget_table('pc.invoices');
EXECUTE unscoped(3);
EXECUTE scoped(3);

-- and so does a change of tenant_columns
SET tenant_guard.tenant_columns = 'account_org';
EXECUTE scoped(3);
EXECUTE by_account(0);
RESET tenant_guard.tenant_columns;
EXECUTE scoped(3);
EXECUTE by_account(0);
RESET plan_cache_mode;

DEALLOCATE ALL;
DROP SCHEMA pc CASCADE;

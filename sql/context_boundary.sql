-- The tenant context as a boundary: statements an application's role can
-- send to get around the context, each refused or contained.  One section
-- per way around it.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
SET tenant_guard.audit_sample_interval = 0;
SET tenant_guard.mode = enforce;
\set VERBOSITY terse
CREATE ROLE regress_cb_app;
GRANT CREATE ON SCHEMA public TO regress_cb_app;

-- 0. User code run while the context's values are converted (a domain's
-- check on the tenant column) changes the context: refused, and the
-- backend survives.  The converted values were once sized before the
-- check ran and read after it.
SET ROLE regress_cb_app;
CREATE FUNCTION pg_temp.grow(int) RETURNS boolean LANGUAGE sql
	AS $$ SELECT set_config('tenant_guard.tenant',
		(SELECT string_agg(g::text, ',') FROM generate_series(1, 2000) g), true) IS NOT NULL $$;
CREATE DOMAIN cb_firm AS int;
CREATE TABLE cb_tt (id int, firm_id cb_firm);
INSERT INTO cb_tt VALUES (1, 1), (2, 2);
ALTER DOMAIN cb_firm ADD CONSTRAINT grows CHECK (pg_temp.grow(VALUE)) NOT VALID;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SELECT * FROM cb_tt WHERE id = 1;
ROLLBACK;
SHOW tenant_guard.tenant;
-- A check that reads another tenant table under the context converts the
-- context to that table's type inside the outer conversion: both finish.
CREATE TABLE cb_other (id int, firm_id bigint);
INSERT INTO cb_other VALUES (1, 1), (2, 2);
CREATE FUNCTION pg_temp.peek(int) RETURNS boolean LANGUAGE sql
	AS $$ SELECT count(*) = 1 FROM cb_other WHERE id = $1 $$;
ALTER DOMAIN cb_firm DROP CONSTRAINT grows;
ALTER DOMAIN cb_firm ADD CONSTRAINT peeks CHECK (pg_temp.peek(VALUE)) NOT VALID;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SELECT * FROM cb_tt WHERE id = 1;
SELECT * FROM cb_tt WHERE id = 2;
ROLLBACK;
DROP TABLE cb_tt, cb_other;
DROP DOMAIN cb_firm;
RESET ROLE;
SET ROLE regress_cb_app;
DROP FUNCTION pg_temp.grow(int), pg_temp.peek(int);
RESET ROLE;

-- The tour's tables: firm 1 and firm 2.
CREATE SCHEMA cb;
CREATE TABLE cb.invoices (id int PRIMARY KEY, firm_id int, notes text,
	amount_paid numeric NOT NULL DEFAULT 0);
INSERT INTO cb.invoices VALUES (1, 1, 'F1NOTE1', 10), (2, 1, 'F1NOTE2', 20),
	(10, 2, 'F2SECRET10', 30), (11, 2, 'F2SECRET11', 40);
CREATE TABLE cb.firms (id int PRIMARY KEY, name text);
INSERT INTO cb.firms VALUES (1, 'one'), (2, 'two');
GRANT USAGE ON SCHEMA cb TO regress_cb_app;
GRANT ALL ON ALL TABLES IN SCHEMA cb TO regress_cb_app;
SET ROLE regress_cb_app;

-- 1. One context per statement.  A statement on tenant tables that starts
-- under a context keeps it: changing the setting while it runs is refused,
-- from a condition, the ORDER BY, the target list, an initplan, a
-- function's SET clause, RESET in a function, set_config with NULL.
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
SELECT id, firm_id, notes FROM cb.invoices
 WHERE set_config('tenant_guard.tenant', '', true) IS NOT NULL;
ROLLBACK TO s;
SELECT id, notes FROM cb.invoices ORDER BY set_config('tenant_guard.tenant', '2', true);
ROLLBACK TO s;
SELECT id, set_config('tenant_guard.tenant', '', true), notes FROM cb.invoices;
ROLLBACK TO s;
SELECT id, notes FROM cb.invoices
 WHERE firm_id = (SELECT count(*) FROM (SELECT set_config('tenant_guard.tenant', '2', true)) x)::int + 1;
ROLLBACK TO s;
UPDATE cb.invoices SET notes = 'x' WHERE set_config('tenant_guard.tenant', '', true) IS NOT NULL;
ROLLBACK TO s;
DELETE FROM cb.invoices WHERE set_config('tenant_guard.tenant', '', true) = '';
ROLLBACK TO s;
INSERT INTO cb.invoices SELECT 99, 2, set_config('tenant_guard.tenant', '2', true), 0;
ROLLBACK TO s;
CREATE FUNCTION pg_temp.as_firm_2() RETURNS int LANGUAGE sql
	SET tenant_guard.tenant = '2' AS 'SELECT 1';
SELECT id, notes FROM cb.invoices WHERE id = pg_temp.as_firm_2();
ROLLBACK TO s;
CREATE FUNCTION pg_temp.reset_context() RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN RESET tenant_guard.tenant; RETURN true; END $$;
SELECT id, notes FROM cb.invoices WHERE pg_temp.reset_context();
ROLLBACK TO s;
CREATE FUNCTION pg_temp.reset_all() RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN RESET ALL; RETURN true; END $$;
SELECT id, notes FROM cb.invoices WHERE pg_temp.reset_all();
ROLLBACK TO s;
SELECT id, notes FROM cb.invoices
 WHERE set_config('tenant_guard.tenant', NULL, true) IS NULL;
ROLLBACK TO s;
-- nothing was read, and the context is what the transaction set
SHOW tenant_guard.tenant;
-- between statements it may change (a maintenance loop over tenants), and
-- a statement on no tenant table may change it
SELECT set_config('tenant_guard.tenant', '2', true);
SELECT id, notes FROM cb.invoices WHERE firm_id = 2 ORDER BY id;
SELECT name, set_config('tenant_guard.tenant', '1', true) FROM cb.firms WHERE id = 1;
SELECT id, notes FROM cb.invoices WHERE firm_id = 1 ORDER BY id;
ROLLBACK;
-- a change no refusal sees (set_config with NULL) is caught when the pinned
-- call returns, even when a nested statement's error about it was caught:
-- the statements a function runs keep the caller's context, not the
-- cleared setting
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
CREATE FUNCTION pg_temp.steal() RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	PERFORM set_config('tenant_guard.tenant', NULL, true);
	BEGIN
		PERFORM 1 FROM cb.invoices WHERE firm_id = 1;
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	SELECT string_agg(notes, ',') INTO r FROM cb.invoices WHERE firm_id = 2;
	RETURN r;
END $$;
SELECT id, pg_temp.steal() FROM cb.invoices WHERE id = 1;
ROLLBACK TO s;
-- an error in a pinned call leaves nothing behind for the next statement
SELECT id FROM cb.invoices
 WHERE id = 1 AND (set_config('tenant_guard.tenant', NULL, true) IS NULL OR 1 / 0 = 0);
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE firm_id = 1 ORDER BY id;
ROLLBACK;
-- COPY FROM with a WHERE clause that clears the context
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
COPY cb.invoices (id, firm_id, notes) FROM stdin
 WHERE set_config('tenant_guard.tenant', '', true) IS NOT NULL;
98	2	X
\.
ROLLBACK;
-- a cursor keeps the context of its DECLARE: reset or changed between
-- FETCHes, it still returns only that tenant's rows
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
DECLARE c CURSOR FOR SELECT id, firm_id, notes FROM cb.invoices ORDER BY id;
FETCH 2 FROM c;
RESET tenant_guard.tenant;
FETCH 1 FROM c;
ROLLBACK;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
DECLARE c CURSOR FOR SELECT id, firm_id, notes FROM cb.invoices ORDER BY id;
FETCH 2 FROM c;
SELECT set_config('tenant_guard.tenant', '2', true);
FETCH 1 FROM c;
ROLLBACK;

-- 2. FOR UPDATE and FOR NO KEY UPDATE of a table with a protected amount
-- (the select_for_update().get(pk=...) pattern) verify the rows they lock,
-- and a cursor FOR UPDATE cannot change another tenant's row
RESET ROLE;
SELECT tenant_guard.protect_amount('cb.invoices', 'amount_paid');
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
SELECT id, notes, amount_paid FROM cb.invoices WHERE id = 1 FOR UPDATE;
SELECT id, notes, amount_paid FROM cb.invoices WHERE id = 10 FOR UPDATE;
ROLLBACK TO s;
SELECT id, notes, amount_paid FROM cb.invoices WHERE id = 11 FOR NO KEY UPDATE;
ROLLBACK TO s;
DECLARE c CURSOR FOR SELECT id, notes FROM cb.invoices WHERE id IN (2, 10) ORDER BY id FOR UPDATE;
FETCH 1 FROM c;
UPDATE cb.invoices SET amount_paid = 25 WHERE CURRENT OF c;
FETCH 1 FROM c;
ROLLBACK TO s;
ROLLBACK;
SELECT id, amount_paid FROM cb.invoices WHERE firm_id IN (1, 2) ORDER BY id;
RESET ROLE;
SELECT tenant_guard.unprotect_amount('cb.invoices', 'amount_paid');

-- 5. Rows a statement uses are checked, whether or not it returns them:
-- window functions, DISTINCT, OFFSET, ORDER BY with LIMIT
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
SELECT id, lead(notes) OVER (ORDER BY id) FROM cb.invoices WHERE id IN (1, 10) ORDER BY id LIMIT 1;
ROLLBACK TO s;
SELECT id, sum(amount_paid) OVER () FROM cb.invoices WHERE id IN (1, 10) LIMIT 1;
ROLLBACK TO s;
SELECT DISTINCT count(*) OVER () FROM cb.invoices WHERE id IN (1, 2, 10);
ROLLBACK TO s;
SELECT id, rank() OVER (ORDER BY amount_paid) FROM cb.invoices WHERE id IN (1, 10, 11) LIMIT 1;
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id IN (1, 10) ORDER BY id OFFSET 1;
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id IN (1, 10) ORDER BY notes LIMIT 1;
ROLLBACK TO s;
SELECT DISTINCT firm_id > 0 FROM cb.invoices WHERE id IN (1, 10);
ROLLBACK TO s;
-- the tenant's own rows pass
SELECT id, lead(notes) OVER (ORDER BY id) FROM cb.invoices WHERE id IN (1, 2) ORDER BY id LIMIT 1;
SELECT id FROM cb.invoices WHERE id IN (1, 2) ORDER BY id OFFSET 1;
ROLLBACK;
RESET ROLE;

-- Statements that touch only the tenant's rows pass, where rows are used
-- in sublinks, scalar subqueries, CTEs, UNION, nested and LATERAL
-- subqueries, MERGE; the same with another tenant's row is refused, or,
-- where the rows meet a join condition, left out
CREATE TABLE cb.clients (id int PRIMARY KEY, firm_id int NOT NULL, name text);
INSERT INTO cb.clients VALUES (16, 1, 'c16'), (26, 2, 'c26');
ALTER TABLE cb.invoices ADD COLUMN client_id int;
UPDATE cb.invoices SET client_id = CASE firm_id WHEN 1 THEN 16 ELSE 26 END WHERE firm_id IN (1, 2);
GRANT ALL ON cb.clients TO regress_cb_app;
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SELECT id FROM cb.clients WHERE id = 16 AND EXISTS (SELECT 1 FROM cb.invoices i WHERE i.client_id = 16);
SELECT id FROM cb.clients c WHERE id = 16 AND EXISTS (SELECT 1 FROM cb.invoices i WHERE i.client_id = c.id);
SELECT count(*) FROM cb.invoices WHERE client_id IN (SELECT id FROM cb.clients WHERE name = 'c16');
SELECT id, (SELECT count(*) FROM cb.invoices i WHERE i.client_id = 16) FROM cb.clients WHERE id = 16;
WITH mine AS (SELECT id FROM cb.invoices WHERE client_id = 16) SELECT count(*) FROM mine;
SELECT id FROM cb.invoices WHERE id = 1 UNION SELECT id FROM cb.invoices WHERE id = 2 ORDER BY 1;
SELECT count(*) FROM (SELECT * FROM (SELECT id FROM cb.invoices WHERE client_id = 16) a) b;
SELECT c.id, x.n FROM cb.clients c,
	LATERAL (SELECT count(*) AS n FROM cb.invoices i WHERE i.client_id = c.id) x WHERE c.id = 16;
-- outer joins, nested and under an inner join (the row check reads a column
-- of the nullable side above the joins)
SELECT c.id, i.id FROM cb.clients c LEFT JOIN cb.invoices i ON i.client_id = c.id
  LEFT JOIN cb.firms f ON f.id = i.firm_id WHERE c.firm_id = 1 ORDER BY 1, 2;
SELECT c.id, i.id FROM cb.clients c LEFT JOIN cb.invoices i ON i.client_id = c.id
  JOIN cb.firms f ON f.id = c.firm_id WHERE c.firm_id = 1 ORDER BY 1, 2;
SELECT count(i.id) FROM cb.clients c LEFT JOIN cb.invoices i ON i.client_id = c.id
  JOIN cb.firms f ON f.id = c.firm_id WHERE c.firm_id = 1;
SAVEPOINT s;
MERGE INTO cb.invoices i USING (SELECT 1 AS id) v ON i.id = v.id
	WHEN MATCHED THEN UPDATE SET notes = i.notes;
ROLLBACK TO s;
SELECT id FROM cb.clients WHERE id = 16 AND EXISTS (SELECT 1 FROM cb.invoices i WHERE i.client_id = 26);
ROLLBACK TO s;
-- an IN, or an EXISTS on the outer row, becomes a join: another tenant's
-- rows are left out of it instead, so that a hash join that reads them in
-- full (a hash anti-join over every invoice, with nested loops and merge
-- joins off) refuses nothing, as a nested loop that never fetches them
SELECT count(*) FROM cb.invoices WHERE client_id IN (SELECT id FROM cb.clients WHERE name = 'c26');
SET enable_nestloop = off; SET enable_mergejoin = off;
INSERT INTO cb.clients VALUES (17, 1, 'c17');
SELECT id FROM cb.clients c
  WHERE firm_id = 1 AND NOT EXISTS (SELECT 1 FROM cb.invoices i WHERE i.client_id = c.id);
SELECT id FROM cb.clients c WHERE c.firm_id = 1 AND c.id IN (SELECT client_id FROM cb.invoices);
RESET enable_nestloop; RESET enable_mergejoin;
ROLLBACK TO s;
WITH theirs AS (SELECT id FROM cb.invoices WHERE client_id = 26) SELECT count(*) FROM theirs;
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id = 1 UNION SELECT id FROM cb.invoices WHERE id = 10;
ROLLBACK TO s;
MERGE INTO cb.invoices i USING (SELECT 10 AS id) v ON i.id = v.id
	WHEN MATCHED THEN UPDATE SET notes = 'taken';
ROLLBACK TO s;
ROLLBACK;
RESET ROLE;

-- 4b. A foreign key written under a context points at a row of the
-- context, and a cascade from a lookup table does not reach another
-- tenant's rows
CREATE TABLE cb.kinds (id int PRIMARY KEY, name text);
INSERT INTO cb.kinds VALUES (1, 'standard');
CREATE TABLE cb.items (id int PRIMARY KEY, firm_id int NOT NULL,
	client_id int REFERENCES cb.clients, kind_id int REFERENCES cb.kinds ON DELETE CASCADE);
INSERT INTO cb.items VALUES (1, 1, 16, 1), (2, 2, 26, 1);
GRANT ALL ON cb.kinds, cb.items TO regress_cb_app;
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
UPDATE cb.items SET client_id = 26 WHERE id = 1;
ROLLBACK TO s;
INSERT INTO cb.items VALUES (3, 1, 26, 1);
ROLLBACK TO s;
DELETE FROM cb.kinds WHERE id = 1;
ROLLBACK TO s;
-- the tenant's own references pass
INSERT INTO cb.items VALUES (3, 1, 16, 1);
UPDATE cb.items SET client_id = 16 WHERE id = 3;
ROLLBACK;
RESET ROLE;
BEGIN;
SET LOCAL tenant_guard.mode = off;
SELECT id, client_id, kind_id FROM cb.items ORDER BY id;
COMMIT;

-- 6. Code that is not leakproof never sees another tenant's row: a cast
-- that fails, a division by zero, a function that raises its argument, in
-- a condition, the output list or an aggregate of a row-verified statement.
-- The rows of the context still pass.
SET ROLE regress_cb_app;
CREATE FUNCTION pg_temp.shout(text) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN RAISE NOTICE 'saw %', $1; RETURN true; END $$;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
SELECT id FROM cb.invoices WHERE id IN (10, 11) AND notes::int = 1;
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id IN (1, 10) AND 1 / (firm_id - 2) = 0;
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id IN (10, 11) AND pg_temp.shout(notes);
ROLLBACK TO s;
SELECT notes::int FROM cb.invoices WHERE id = 10;
ROLLBACK TO s;
SELECT sum(notes::int) FROM cb.invoices WHERE id IN (10, 11);
ROLLBACK TO s;
CREATE FUNCTION pg_temp.peek_sfunc(text, text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN RAISE NOTICE 'aggregated %', $2; RETURN $2; END $$;
CREATE AGGREGATE pg_temp.peek_agg(text) (sfunc = pg_temp.peek_sfunc, stype = text);
SELECT pg_temp.peek_agg(notes) FROM cb.invoices WHERE id IN (10, 11);
ROLLBACK TO s;
CREATE DOMAIN pg_temp.peeked AS text CHECK (pg_temp.shout(VALUE));
SELECT notes::pg_temp.peeked FROM cb.invoices WHERE id = 10;
ROLLBACK TO s;
SELECT c.id FROM cb.clients c WHERE c.firm_id IN (1, 1)
   AND EXISTS (SELECT 1 FROM cb.invoices i
			   WHERE i.firm_id = c.firm_id AND i.id = 10 AND i.notes::int = 0);
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id IN (1, 2) AND pg_temp.shout(notes) ORDER BY id;
SELECT id, upper(notes) FROM cb.invoices WHERE id IN (1, 2, 10, 11) AND firm_id = 1 ORDER BY id;
ROLLBACK;
RESET ROLE;

-- Code that reads no column still runs once for each row that reaches
-- it, and would tell by failing (a division by zero, a NOTICE) that
-- another tenant's row met the conditions before it: a cheap function
-- without arguments, a division in a condition or the output list, an
-- aggregate, an initplan's output, next to a scope too.  Each is refused
-- for id 10 (firm 2's) and returns nothing for id 99 (no row): the answer
-- is the same as without that code.  The context's rows still pass.
SET ROLE regress_cb_app;
CREATE FUNCTION pg_temp.ping() RETURNS int LANGUAGE plpgsql VOLATILE COST 0.0001
	AS $$ BEGIN RAISE NOTICE 'a row reached ping()'; RETURN 1; END $$;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
SELECT id FROM cb.invoices WHERE id = 10 AND 1 / (random() * 0)::int = 1;
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id = 99 AND 1 / (random() * 0)::int = 1;
SELECT id FROM cb.invoices WHERE notes = 'F2SECRET10' AND pg_temp.ping() = 1;
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE notes = 'F2SECRET99' AND pg_temp.ping() = 1;
SELECT id FROM cb.invoices WHERE id = 10 AND pg_temp.ping() = 1 AND firm_id = 1;
SELECT 1 / (random() * 0)::int FROM cb.invoices WHERE id = 10;
ROLLBACK TO s;
SELECT sum(1 / (random() * 0)::int) FROM cb.invoices WHERE id = 10;
ROLLBACK TO s;
SELECT id FROM cb.invoices
 WHERE id = 10 AND notes <> (SELECT (1 / (random() * 0)::int)::text);
ROLLBACK TO s;
SELECT id FROM cb.invoices
 WHERE id = 99 AND notes <> (SELECT (1 / (random() * 0)::int)::text);
SELECT id FROM cb.invoices
 WHERE id = 10 AND notes <> (SELECT (1 / (random() * 0)::int)::text) AND firm_id = 1;
SELECT i.id FROM cb.invoices i JOIN cb.firms f ON f.id = i.firm_id
 WHERE i.id = 10 AND 1 / (random() * 0)::int = 1;
UPDATE cb.invoices SET notes = notes WHERE id = 10 AND pg_temp.ping() = 1;
ROLLBACK TO s;
-- the barrier comes first in the scan, after the leakproof conditions
EXPLAIN (COSTS OFF) SELECT id FROM cb.invoices WHERE id = 10 AND pg_temp.ping() = 1;
SELECT id, pg_temp.ping() FROM cb.invoices WHERE id IN (1, 99) AND pg_temp.ping() = 1;
-- a scope by current_setting() is computed when the statement starts:
-- it fails there, whether a row exists or not, and still filters first
SELECT id FROM cb.invoices WHERE id = 99 AND firm_id = current_setting('cb.nothing')::int;
ROLLBACK TO s;
SELECT count(*) FROM cb.invoices WHERE firm_id = current_setting('tenant_guard.tenant')::int;
ROLLBACK;
DROP FUNCTION pg_temp.ping();
RESET ROLE;

-- Code that calls no function and still fails: a multidimensional ARRAY[]
-- whose dimensions differ, a scalar subquery of two rows, LIMIT -1; and a
-- counter (nextval) or a division on a partitioned tenant table, whose
-- partitions get the check through their parent
CREATE TABLE cb.parts (id int, firm_id int NOT NULL, notes text) PARTITION BY LIST (firm_id);
CREATE TABLE cb.parts_1 PARTITION OF cb.parts FOR VALUES IN (1);
CREATE TABLE cb.parts_2 PARTITION OF cb.parts FOR VALUES IN (2);
CREATE INDEX ON cb.parts (id);
INSERT INTO cb.parts SELECT id, firm_id, notes FROM cb.invoices WHERE firm_id IN (1, 2);
CREATE SEQUENCE cb.counter;
GRANT ALL ON cb.parts, cb.parts_1, cb.parts_2, cb.counter TO regress_cb_app;
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SET LOCAL enable_seqscan = off;
SAVEPOINT s;
SELECT id FROM cb.invoices
 WHERE id = 10 AND ARRAY[ARRAY[amount_paid], ARRAY[amount_paid, 1]] IS NULL;
ROLLBACK TO s;
SELECT id FROM cb.invoices
 WHERE id = 99 AND ARRAY[ARRAY[amount_paid], ARRAY[amount_paid, 1]] IS NULL;
SELECT id FROM cb.invoices WHERE id = 10 AND notes <> (SELECT name FROM cb.firms);
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id = 99 AND notes <> (SELECT name FROM cb.firms);
SELECT id FROM cb.invoices WHERE id = 10 AND id IN (SELECT 1 FROM cb.firms LIMIT -1);
ROLLBACK TO s;
SELECT id FROM cb.invoices WHERE id = 99 AND id IN (SELECT 1 FROM cb.firms LIMIT -1);
SELECT id FROM cb.parts WHERE id = 10 AND 1 / (random() * 0)::int = 1;
ROLLBACK TO s;
SELECT id FROM cb.parts WHERE id = 99 AND 1 / (random() * 0)::int = 1;
SELECT count(*) FROM cb.parts WHERE notes LIKE 'F2%' AND nextval('cb.counter') < 0;
ROLLBACK TO s;
SELECT count(*) FROM cb.parts WHERE id IN (1, 2) AND nextval('cb.counter') > 0;
SELECT currval('cb.counter');
ROLLBACK;
RESET ROLE;
DROP TABLE cb.parts;
DROP SEQUENCE cb.counter;

-- 7. A scope by a value the scan evaluates again is no exemption from the
-- row checks: the statement cannot change that value after the check at
-- its start and read another tenant's rows
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SELECT set_config('app.t', '1', true);
SAVEPOINT s;
SELECT id, notes FROM cb.invoices
 WHERE firm_id = current_setting('app.t')::int
   AND (SELECT set_config('app.t', '2', true)) IS NOT NULL;
ROLLBACK TO s;
-- unchanged, the tenant's rows pass
SELECT id, notes FROM cb.invoices WHERE firm_id = current_setting('app.t')::int ORDER BY id;
ROLLBACK;
RESET ROLE;

-- 8. IS NOT DISTINCT FROM a NULL parameter reads the rows without a tenant,
-- which are outside every context: refused in custom and generic plans
INSERT INTO cb.invoices VALUES (50, NULL, 'NOTENANT', 0);
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
PREPARE by_firm(int) AS SELECT id, notes FROM cb.invoices WHERE firm_id IS NOT DISTINCT FROM $1;
PREPARE delete_firm(int) AS DELETE FROM cb.invoices WHERE firm_id IS NOT DISTINCT FROM $1;
SAVEPOINT s;
EXECUTE by_firm(1);
SET LOCAL plan_cache_mode = force_custom_plan;
EXECUTE by_firm(NULL);
ROLLBACK TO s;
SET LOCAL plan_cache_mode = force_generic_plan;
EXECUTE by_firm(NULL);
ROLLBACK TO s;
SET LOCAL plan_cache_mode = force_generic_plan;
EXECUTE delete_firm(NULL);
ROLLBACK TO s;
EXECUTE by_firm(1);
ROLLBACK;
DEALLOCATE by_firm;
DEALLOCATE delete_firm;
RESET ROLE;
BEGIN;
SET LOCAL tenant_guard.mode = off;
SELECT id, notes FROM cb.invoices WHERE firm_id IS NULL;
COMMIT;

-- 3. Data-modifying WITH queries write only rows of the context: an
-- INSERT of another tenant's row, a row moved to another tenant, a NULL
-- tenant, an upsert that claims another tenant's row
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
WITH x AS (INSERT INTO cb.invoices (id, firm_id, notes) VALUES (140, 2, 'X-140') RETURNING id)
SELECT * FROM x;
ROLLBACK TO s;
WITH x AS (UPDATE cb.invoices SET firm_id = 2 WHERE firm_id = 1 AND id = 1 RETURNING id)
SELECT * FROM x;
ROLLBACK TO s;
WITH x AS (INSERT INTO cb.invoices (id, notes) VALUES (141, 'X-141') RETURNING id)
SELECT * FROM x;
ROLLBACK TO s;
WITH x AS (INSERT INTO cb.invoices (id, firm_id, notes) VALUES (10, 2, 'X')
	ON CONFLICT (id) DO UPDATE SET notes = cb.invoices.notes RETURNING id, notes)
SELECT * FROM x;
ROLLBACK TO s;
-- the tenant's own rows still pass
WITH x AS (INSERT INTO cb.invoices (id, firm_id, notes) VALUES (142, 1, 'X-142') RETURNING id)
SELECT * FROM x;
ROLLBACK;
RESET ROLE;
SELECT count(*) FROM cb.invoices WHERE id >= 140 AND firm_id IN (1, 2);

-- 4. A tenant value taken from an outer row is checked: the outer WHERE
-- restricts firms.id, which is no tenant column, to the value the inner
-- scan then reads (a correlated sublink, LATERAL, a parameter, IN)
SET ROLE regress_cb_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
SELECT f.id, (SELECT sum(amount_paid) FROM cb.invoices i WHERE i.firm_id = f.id)
  FROM cb.firms f WHERE f.id = 2;
ROLLBACK TO s;
SELECT f.id, x.total FROM cb.firms f,
	LATERAL (SELECT sum(amount_paid) AS total FROM cb.invoices i WHERE i.firm_id = f.id) x
 WHERE f.id = 2;
ROLLBACK TO s;
PREPARE firm_total(int) AS SELECT f.id, (SELECT sum(amount_paid) FROM cb.invoices i
	WHERE i.firm_id = f.id) FROM cb.firms f WHERE f.id = $1;
EXECUTE firm_total(2);
ROLLBACK TO s;
SELECT f.id, (SELECT sum(amount_paid) FROM cb.invoices i WHERE i.firm_id = f.id)
  FROM cb.firms f WHERE f.id IN (1, 2);
ROLLBACK TO s;
-- the tenant's own total passes
SELECT f.id, (SELECT sum(amount_paid) FROM cb.invoices i WHERE i.firm_id = f.id)
  FROM cb.firms f WHERE f.id = 1;
EXECUTE firm_total(1);
ROLLBACK;
DEALLOCATE firm_total;
RESET ROLE;

-- 10. Constraint errors do not show another tenant's values: with a
-- context set, the client gets no DETAIL naming them (the server log
-- keeps it); without a context, the detail is PostgreSQL's
CREATE TABLE cb.bookings (id int PRIMARY KEY, firm_id int NOT NULL, during tsrange,
	EXCLUDE USING gist (during WITH &&));
INSERT INTO cb.bookings VALUES (1, 2, '[2026-12-24 10:00, 2026-12-24 11:00)');
CREATE TABLE cb.payments (id int PRIMARY KEY, firm_id int NOT NULL,
	invoice_id int REFERENCES cb.invoices);
GRANT ALL ON cb.bookings, cb.payments TO regress_cb_app;
SET ROLE regress_cb_app;
\set VERBOSITY default
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
INSERT INTO cb.bookings VALUES (2, 1, '[2026-12-24 10:30, 2026-12-24 10:45)');
ROLLBACK TO s;
INSERT INTO cb.payments VALUES (1, 1, 12345);
ROLLBACK TO s;
-- nor to an exception handler, which reads the detail of an error it caught
DO $$
DECLARE
	d text;
BEGIN
	INSERT INTO cb.bookings VALUES (2, 1, '[2026-12-24 10:30, 2026-12-24 10:45)');
EXCEPTION WHEN exclusion_violation THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RAISE NOTICE 'caught: %', d;
END $$;
ROLLBACK;
INSERT INTO cb.bookings VALUES (2, 1, '[2026-12-24 10:30, 2026-12-24 10:45)');
\set VERBOSITY terse
RESET ROLE;

DROP SCHEMA cb CASCADE;
SET ROLE regress_cb_app;
DROP FUNCTION pg_temp.shout(text);
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM regress_cb_app;
DROP ROLE regress_cb_app;

-- Row verification: with a tenant context set, statements without a
-- tenant scope are checked row by row, after their own conditions, join
-- conditions and row-level security, whatever the plan: primary-key
-- lookups, joins by foreign key (hash join, nested loop, merge join),
-- IN lists, aggregates, UPDATE and DELETE targets, partitions,
-- inheritance, index, bitmap and sequential scans, parallel plans,
-- cursors; what is not verified falls back to the unscoped rule.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA rv;
CREATE TABLE rv.clients (id int PRIMARY KEY, firm_id int NOT NULL, name text);
CREATE TABLE rv.invoices (id int PRIMARY KEY, firm_id int NOT NULL, client_id int NOT NULL,
	amount numeric NOT NULL DEFAULT 0);
CREATE INDEX ON rv.invoices (client_id);
-- firm 1 has clients 1..10 and their invoices; firm 2 clients 11..20
INSERT INTO rv.clients SELECT i, 1 + (i - 1) / 10, 'client ' || i FROM generate_series(1, 20) i;
INSERT INTO rv.invoices SELECT i, 1 + (c - 1) / 10, c, i
  FROM generate_series(1, 2000) i, LATERAL (SELECT 1 + i % 20 AS c) x;
ANALYZE rv.clients, rv.invoices;
SET tenant_guard.mode = enforce;

-- without a context: the unscoped rule, as before
SELECT id, firm_id FROM rv.invoices WHERE id = 20;

SET tenant_guard.tenant = '1';
-- primary-key lookups pass for the tenant's own rows and fail for others
SELECT id, firm_id FROM rv.invoices WHERE id = 20;
SELECT id, firm_id FROM rv.invoices WHERE id = 10;
-- locking reads (select_for_update) check the rows they lock and return
SELECT id, firm_id FROM rv.invoices WHERE id = 20 FOR UPDATE;
SELECT id, firm_id FROM rv.invoices WHERE id = 10 FOR UPDATE;
-- planned once: the table that no condition as written scopes is known
-- before planning (a function the planner folds tells how often it plans);
-- one that only row-level security scopes is planned twice (below)
CREATE FUNCTION rv.planned(int) RETURNS int IMMUTABLE LEAKPROOF LANGUAGE plpgsql
  AS $$BEGIN RAISE NOTICE 'planned'; RETURN $1; END$$;
SELECT id, firm_id FROM rv.invoices WHERE id = rv.planned(20);
SELECT i.id, c.name FROM rv.invoices i JOIN rv.clients c ON c.id = i.client_id
 WHERE i.id = rv.planned(20);
UPDATE rv.invoices SET amount = amount WHERE id = rv.planned(20);
SELECT id, firm_id FROM rv.invoices WHERE id = rv.planned(10);
-- no row, nothing to check
SELECT id FROM rv.invoices WHERE id = 99999;
-- rows the statement's own conditions filter out are not checked, with
-- any scan
SET enable_indexscan = off; SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM rv.invoices WHERE id = 20;
SELECT id FROM rv.invoices WHERE id = 20;
SELECT id FROM rv.invoices WHERE id = 10;
RESET enable_indexscan; RESET enable_bitmapscan;
SET enable_seqscan = off; SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 2);
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 2);
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 12);
RESET enable_seqscan; RESET enable_indexscan;
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 2);
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 12);
SELECT sum(amount), max(id) FROM rv.invoices WHERE client_id = 3 GROUP BY client_id;
SELECT client_id, count(*) FROM rv.invoices WHERE client_id IN (3, 13) GROUP BY client_id ORDER BY 1;
SELECT DISTINCT client_id FROM rv.invoices WHERE client_id IN (4, 5) ORDER BY 1;
SELECT DISTINCT client_id FROM rv.invoices WHERE client_id IN (4, 15) ORDER BY 1;
-- LIMIT: only rows returned are checked
SELECT id, firm_id FROM rv.invoices ORDER BY id LIMIT 1;
SELECT id, firm_id FROM rv.invoices ORDER BY id LIMIT 2 OFFSET 8;
-- the full error
SELECT id, firm_id FROM rv.invoices WHERE id = 11;

-- joins by foreign key: the same verdict with every join method; a row a
-- hash join reads in full but matches nothing is not checked
CREATE FUNCTION rv.join_verdicts(OUT method text, OUT own text, OUT foreign_row text)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
	settings text[] := ARRAY['enable_nestloop', 'enable_hashjoin', 'enable_mergejoin'];
	s text;
	n bigint;
BEGIN
	FOREACH method IN ARRAY settings LOOP
		FOREACH s IN ARRAY settings LOOP
			PERFORM set_config(s, CASE WHEN s = method THEN 'on' ELSE 'off' END, true);
		END LOOP;
		BEGIN
			SELECT count(*) INTO n FROM rv.invoices i JOIN rv.clients c ON c.id = i.client_id
			 WHERE i.id = 20;
			own := 'ok ' || n;
		EXCEPTION WHEN insufficient_privilege THEN own := SQLERRM;
		END;
		BEGIN
			SELECT count(*) INTO n FROM rv.invoices i JOIN rv.clients c ON c.id = i.client_id
			 WHERE i.id = 10;
			foreign_row := 'ok ' || n;
		EXCEPTION WHEN insufficient_privilege THEN foreign_row := SQLERRM;
		END;
		RETURN NEXT;
	END LOOP;
	RESET enable_nestloop; RESET enable_hashjoin; RESET enable_mergejoin;
END $$;
SELECT * FROM rv.join_verdicts();
-- select_related-like join of a scoped table to an unscoped one
SELECT i.id, c.name FROM rv.invoices i JOIN rv.clients c ON c.id = i.client_id
 WHERE i.firm_id = 1 AND i.id IN (20, 40) ORDER BY i.id;
-- joined by the tenant column to a scoped table: scoped, nothing to verify
SELECT i.id, c.name FROM rv.invoices i
  JOIN rv.clients c ON c.firm_id = i.firm_id AND c.id = i.client_id
 WHERE i.firm_id = 1 AND i.id IN (20, 40) ORDER BY i.id;
-- joined by its tenant column to another column: no scope, so its rows are
-- verified (client 1's invoices join firm 1's clients, client 2's firm 2's)
SELECT count(*) FROM rv.invoices i JOIN rv.clients c ON c.firm_id = i.client_id
 WHERE i.firm_id = 1 AND i.client_id < 2;
SELECT count(*) FROM rv.invoices i JOIN rv.clients c ON c.firm_id = i.client_id
 WHERE i.firm_id = 1 AND i.client_id < 3;
-- an IN list or an OR is not passed on through the join (only one value
-- is): the joined table's rows are verified
SET tenant_guard.tenant = '1,2';
SELECT count(*) FROM rv.invoices i JOIN rv.clients c ON c.firm_id = i.firm_id
 WHERE i.firm_id IN (1, 2) AND i.id IN (20, 40);
SELECT count(*) FROM rv.invoices i JOIN rv.clients c ON c.firm_id = i.firm_id
 WHERE (i.firm_id = 1 OR i.firm_id = 2) AND i.id IN (20, 40);
SET tenant_guard.tenant = '1';
-- outer join: a missing match reads NULL and is not a row
SELECT c.id, i.id FROM rv.clients c LEFT JOIN rv.invoices i ON i.client_id = c.id AND i.id < 0
 WHERE c.id = 1;

-- UPDATE and DELETE by primary key (an ORM's save() and delete())
UPDATE rv.invoices SET amount = amount + 1 WHERE id = 20;
UPDATE rv.invoices SET amount = amount + 1 WHERE id = 10;
DELETE FROM rv.invoices WHERE id = 10;
DELETE FROM rv.invoices WHERE id IN (20, 40) RETURNING id;
PREPARE save(numeric, int) AS UPDATE rv.invoices SET amount = $1 WHERE id = $2;
EXECUTE save(1, 60);
EXECUTE save(1, 60);
EXECUTE save(1, 60);
EXECUTE save(1, 60);
EXECUTE save(1, 60);
EXECUTE save(1, 60);
EXECUTE save(1, 70);
SET tenant_guard.tenant = '2';
EXECUTE save(1, 70);
EXECUTE save(1, 60);
-- UPDATE ... FROM another table: its joined rows are read
UPDATE rv.invoices i SET amount = 0 FROM rv.clients c WHERE c.id = i.client_id AND i.id = 70;
UPDATE rv.invoices i SET amount = 0 FROM rv.clients c WHERE c.id = 1 AND i.id = 70;

-- a foreign key written under a context must point at a row of the
-- context: the foreign-key check of a row of firm 2 that points at client
-- 1, of firm 1, is refused while the context is 2
CREATE TABLE rv.notes (id int PRIMARY KEY, firm_id int NOT NULL,
	client_id int REFERENCES rv.clients);
INSERT INTO rv.notes VALUES (1, 2, 1);
UPDATE rv.notes SET client_id = 2 WHERE id = 1;
DELETE FROM rv.notes WHERE id = 1;

-- a prepared statement sees the context of each execution; a cursor keeps
-- the context it was declared under, for every FETCH: widening the
-- context between FETCHes does not let it return another tenant's rows
SET tenant_guard.tenant = '1';
PREPARE get(int) AS SELECT id, firm_id FROM rv.invoices WHERE id = $1;
EXECUTE get(60);
SET tenant_guard.tenant = '2';
EXECUTE get(60);
EXECUTE get(70);
BEGIN;
SET LOCAL tenant_guard.tenant = '1';
DECLARE cur CURSOR FOR SELECT id, firm_id FROM rv.invoices
 WHERE client_id IN (1, 11) AND id <= 120 ORDER BY firm_id, id;
FETCH 3 FROM cur;
SET LOCAL tenant_guard.tenant = '1, 2';
FETCH 2 FROM cur;
ROLLBACK;
BEGIN;
SET LOCAL tenant_guard.tenant = '1, 2';
DECLARE cur CURSOR FOR SELECT id, firm_id FROM rv.invoices
 WHERE client_id IN (1, 11) AND id <= 120 ORDER BY firm_id, id;
FETCH 4 FROM cur;
SET LOCAL tenant_guard.tenant = '1';
FETCH 1 FROM cur;
ROLLBACK;
-- ORDER BY with LIMIT checks every row it sorts, not only those it returns
SET tenant_guard.tenant = '1';
SET enable_indexscan = off;
SELECT id, firm_id FROM rv.invoices WHERE client_id IN (1, 11) ORDER BY firm_id DESC, id LIMIT 1;
SELECT id, firm_id FROM rv.invoices WHERE client_id IN (1, 11) ORDER BY firm_id, id LIMIT 2;
RESET enable_indexscan;
-- with verify_rows off, the unscoped rule applies as without a context
SET tenant_guard.verify_rows = off;
EXECUTE get(70);
SELECT id FROM rv.invoices WHERE id = 70;
RESET tenant_guard.verify_rows;

-- row-level security filters rows first: rows it hides are not checked
CREATE ROLE rv_app;
GRANT USAGE ON SCHEMA rv TO rv_app;
GRANT ALL ON ALL TABLES IN SCHEMA rv TO rv_app;
GRANT EXECUTE ON FUNCTION rv.planned(int) TO rv_app;
ALTER TABLE rv.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY first_clients ON rv.invoices USING (client_id <= 10);
SET tenant_guard.tenant = '1';
SET ROLE rv_app;
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 11);
RESET ROLE;
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 11);
-- a policy that names the tenant is a scope, checked by value
DROP POLICY first_clients ON rv.invoices;
CREATE POLICY by_firm ON rv.invoices USING (firm_id = current_setting('app.firm_id')::int);
SET app.firm_id = '1';
SET ROLE rv_app;
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 11);
SET app.firm_id = '2';
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 11);
-- found in planning, not as written: planned a second time with its check
SET app.firm_id = '1';
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, rv.planned(11));
RESET ROLE;
DROP POLICY by_firm ON rv.invoices;
ALTER TABLE rv.invoices DISABLE ROW LEVEL SECURITY;

-- partitions and inheritance children are verified through the parent
RESET tenant_guard.tenant;
CREATE TABLE rv.parts (id int, firm_id int NOT NULL) PARTITION BY LIST (firm_id);
CREATE TABLE rv.parts_1 PARTITION OF rv.parts FOR VALUES IN (1);
CREATE TABLE rv.parts_2 PARTITION OF rv.parts FOR VALUES IN (2);
INSERT INTO rv.parts VALUES (1, 1), (2, 2);
CREATE TABLE rv.base (id int, firm_id int NOT NULL);
CREATE TABLE rv.child () INHERITS (rv.base);
INSERT INTO rv.base VALUES (1, 1);
INSERT INTO rv.child VALUES (2, 2);
SET tenant_guard.tenant = '1';
SELECT * FROM rv.parts WHERE id = 1;
SELECT * FROM rv.parts WHERE id = 2;
SELECT * FROM rv.base WHERE id = 1;
SELECT * FROM rv.base WHERE id = 2;
UPDATE rv.base SET id = id WHERE id = 2;
DELETE FROM rv.parts WHERE id = 2;

-- the nullable side of an outer join is scoped by its ON clause, from the
-- value pinned on the other side: checked by value, no row check needed
SET tenant_guard.tenant = '1';
SELECT c.id, count(i.id) FROM rv.clients c
  LEFT JOIN rv.invoices i ON i.client_id = c.id AND i.firm_id = c.firm_id
 WHERE c.firm_id = 1 AND c.id = 1 GROUP BY c.id;
SELECT c.id, count(i.id) FROM rv.invoices i
  RIGHT JOIN rv.clients c ON i.client_id = c.id AND i.firm_id = c.firm_id
 WHERE c.firm_id = 1 AND c.id = 1 GROUP BY c.id;
SELECT c.id, count(i.id) FROM rv.clients c
  LEFT JOIN rv.invoices i ON i.client_id = c.id AND i.firm_id = c.firm_id
 WHERE c.firm_id = 2 AND c.id = 11 GROUP BY c.id;
-- code that is not leakproof in an ON clause, next to scoped tables, sees
-- none of another tenant's rows: the scans get their checks first
CREATE FUNCTION rv.sees_firm_2(text) RETURNS boolean COST 0.0001 LANGUAGE plpgsql
  AS $$BEGIN IF $1 IN ('client 11', 'client 12', 'client 13', 'client 14', 'client 15',
	'client 16', 'client 17', 'client 18', 'client 19', 'client 20') THEN
	RAISE NOTICE 'saw %', $1; END IF; RETURN true; END$$;
SELECT i.id, c.name FROM rv.invoices i
  JOIN rv.clients c ON c.id = i.client_id AND c.firm_id = i.firm_id AND rv.sees_firm_2(c.name)
 WHERE i.firm_id = 1 AND i.id = 60;
SET enable_nestloop = off; SET enable_mergejoin = off;
SELECT count(*) FROM rv.invoices i
  JOIN rv.clients c ON c.id = i.client_id AND c.firm_id = i.firm_id AND rv.sees_firm_2(c.name)
 WHERE i.firm_id = 1 AND i.id IN (60, 80);
RESET enable_nestloop; RESET enable_mergejoin;

-- a parent without a tenant column whose inheritance children have one:
-- each child with the column is checked; the rows of the parent itself and
-- of a child without one belong to no tenant and pass
RESET tenant_guard.tenant;
CREATE TABLE rv.docs (id int PRIMARY KEY, title text);
CREATE TABLE rv.docs_firm (firm_id int NOT NULL) INHERITS (rv.docs);
CREATE TABLE rv.docs_shared () INHERITS (rv.docs);
INSERT INTO rv.docs VALUES (1, 'root');
INSERT INTO rv.docs_firm VALUES (2, 'firm 1', 1), (3, 'firm 2', 2);
INSERT INTO rv.docs_shared VALUES (4, 'shared');
-- without a context, no condition on the parent can scope its children
SELECT id FROM rv.docs WHERE id = 2;
SET tenant_guard.tenant = '1';
SELECT tableoid::regclass, id, title FROM rv.docs WHERE id IN (1, 2, 4) ORDER BY id;
SELECT id, title FROM rv.docs WHERE id = 3;
SELECT count(*) FROM rv.docs;
SELECT count(*) FROM rv.clients c WHERE c.id = 1 AND EXISTS (SELECT FROM rv.docs d WHERE d.id = 3);
-- joined, another tenant's child rows are left out, whatever the join reads
SELECT d.id, c.name FROM rv.docs d JOIN rv.clients c ON c.id = d.id ORDER BY d.id;
SELECT count(*) FROM rv.docs d, rv.clients c WHERE c.id = 1;
UPDATE rv.docs SET title = title WHERE id IN (1, 2, 4);
UPDATE rv.docs SET title = 'taken' WHERE id = 3;
DELETE FROM rv.docs WHERE id = 3;
SELECT id, title FROM ONLY rv.docs;
SET tenant_guard.tenant = '2';
SELECT id, title FROM rv.docs WHERE id IN (1, 3, 4) ORDER BY id;
SET tenant_guard.tenant = '1';

-- parallel plans: workers check the rows they read with the context they
-- inherit (whether the leader or a worker meets the row first varies, and
-- with it the error's context line)
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rv.invoices WHERE amount > 100 AND client_id = 2;
SELECT count(*) FROM rv.invoices WHERE amount > 100 AND client_id = 2;
\set SHOW_CONTEXT never
SELECT count(*) FROM rv.invoices WHERE amount > 100 AND client_id = 12;
-- force_parallel_mode, named debug_parallel_query from PostgreSQL 16 on
SELECT set_config(name, 'on', false) FROM pg_settings
 WHERE name IN ('force_parallel_mode', 'debug_parallel_query');
SELECT id, firm_id FROM rv.invoices WHERE id = 60;
SELECT id, firm_id FROM rv.invoices WHERE id = 70;
EXPLAIN (COSTS OFF) SELECT id, firm_id FROM rv.invoices WHERE id = 70;
SELECT set_config(name, reset_val, false) FROM pg_settings
 WHERE name IN ('force_parallel_mode', 'debug_parallel_query');
\set SHOW_CONTEXT errors
RESET parallel_setup_cost; RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather;

-- views and subqueries in FROM are verified through their output, the
-- tenant column added to it when they do not show it
CREATE VIEW rv.invoice_view AS SELECT * FROM rv.invoices;
CREATE VIEW rv.amounts AS SELECT id, amount FROM rv.invoices;
SELECT id, firm_id FROM rv.invoice_view WHERE id = 60;
SELECT id, firm_id FROM rv.invoice_view WHERE id = 70;
SELECT id, amount FROM rv.amounts WHERE id = 60;
SELECT id, amount FROM rv.amounts WHERE id = 70;
SELECT count(*) FROM (SELECT * FROM rv.invoices WHERE id = 60) s;
SELECT count(*) FROM (SELECT * FROM rv.invoices WHERE id IN (60, 70)) s;
SELECT s.id FROM (SELECT id FROM rv.invoices ORDER BY id LIMIT 3) s ORDER BY 1;
SELECT s.id FROM (SELECT id FROM rv.invoices ORDER BY id DESC LIMIT 3) s ORDER BY 1;
SELECT s.n FROM (SELECT firm_id, count(*) AS n FROM rv.invoices WHERE client_id = 1
  GROUP BY firm_id) s;
SELECT s.n FROM (SELECT firm_id, count(*) AS n FROM rv.invoices WHERE client_id IN (1, 11)
  GROUP BY firm_id) s;
SELECT v.id, c.name FROM rv.amounts v JOIN rv.invoices i USING (id)
  JOIN rv.clients c ON c.id = i.client_id WHERE v.id = 60;

-- rows the output does not carry are checked where their scan returns
-- them: a sublink (EXISTS, IN) on a tenant table, a subquery whose rows are
-- not its table's (DISTINCT without the tenant column), a CTE, MERGE
SELECT count(*) FROM rv.clients c WHERE c.firm_id = 1
   AND EXISTS (SELECT 1 FROM rv.invoices i WHERE i.client_id = c.id);
SELECT count(*) FROM rv.invoices WHERE client_id IN (SELECT id FROM rv.clients WHERE name = 'client 1');
SELECT count(*) FROM (SELECT DISTINCT client_id FROM rv.invoices WHERE client_id = 1) s;
WITH c AS MATERIALIZED (SELECT * FROM rv.invoices WHERE id = 60) SELECT count(*) FROM c;
MERGE INTO rv.invoices i USING (VALUES (60)) v(id) ON i.id = v.id
  WHEN MATCHED THEN UPDATE SET amount = i.amount;

-- log mode: the statement runs and is reported once, not once per row
SET tenant_guard.mode = log;
SET tenant_guard.client_messages = warning;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT count(*) FROM rv.invoices WHERE client_id IN (1, 11, 12);
UPDATE rv.invoices SET amount = amount WHERE client_id IN (11, 12);
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT kind, relation, action, tenant, row_tenant, command FROM tenant_guard.violations
 WHERE relation = 'rv.invoices' AND action = 'logged' ORDER BY occurred_at, id;
RESET tenant_guard.client_messages;

RESET tenant_guard.tenant;
RESET tenant_guard.mode;
DROP SCHEMA rv CASCADE;
DROP ROLE rv_app;

-- Every statement kind of doc/scoping.md ("What is checked") is checked, in enforce mode:
-- sublinks, CTEs, UNION arms, views, SQL and PL/pgSQL functions, cursors,
-- prepared statements, INSERT ... SELECT, UPDATE ... FROM, DELETE ...
-- USING, MERGE, FOR UPDATE, partitions, inheritance, foreign tables,
-- materialized views, COPY and TRUNCATE.  tenant_guard.check() lists every
-- violation of a statement; executing it fails on the first.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SCHEMA k;
CREATE TABLE k.clients (id int PRIMARY KEY, firm_id int NOT NULL, name text);
CREATE TABLE k.invoices (id int PRIMARY KEY, firm_id int NOT NULL,
	client_id int NOT NULL, amount numeric NOT NULL);
CREATE TABLE k.archive (LIKE k.invoices);
CREATE TABLE k.lookup (code text PRIMARY KEY, label text);
INSERT INTO k.clients SELECT i, 1 + i % 2, 'c' || i FROM generate_series(1, 10) i;
INSERT INTO k.invoices SELECT i, 1 + (i % 10 + 1) % 2, i % 10 + 1, i
	FROM generate_series(1, 40) i;
SET tenant_guard.mode = enforce;
\set VERBOSITY terse

-- sublinks: EXISTS, IN, scalar subquery in the select list
SELECT count(*) FROM k.invoices i WHERE i.firm_id = 1
   AND EXISTS (SELECT 1 FROM k.clients c WHERE c.id = i.client_id AND c.firm_id = i.firm_id);
SELECT count(*) FROM k.invoices i WHERE i.firm_id = 1
   AND EXISTS (SELECT 1 FROM k.clients c WHERE c.id = i.client_id);
SELECT count(*) FROM k.invoices WHERE firm_id = 1
   AND client_id IN (SELECT id FROM k.clients WHERE firm_id = 1);
SELECT count(*) FROM k.invoices WHERE firm_id = 1
   AND client_id NOT IN (SELECT id FROM k.clients);
SELECT (SELECT count(*) FROM k.invoices WHERE firm_id = 2) AS scoped,
	   (SELECT count(*) FROM k.clients) AS unscoped;

-- CTEs, inlined and materialized
WITH x AS (SELECT * FROM k.invoices) SELECT count(*) FROM x WHERE firm_id = 1;
WITH x AS MATERIALIZED (SELECT * FROM k.invoices WHERE firm_id = 1) SELECT count(*) FROM x;
WITH x AS MATERIALIZED (SELECT * FROM k.invoices) SELECT count(*) FROM x WHERE firm_id = 1;
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3)
SELECT count(*) FROM r JOIN k.invoices i ON i.id = r.n;

-- UNION arms are judged one by one
SELECT count(*) FROM (SELECT id FROM k.invoices WHERE firm_id = 1
					  UNION ALL SELECT id FROM k.clients WHERE firm_id = 1) u;
SELECT count(*) FROM (SELECT id FROM k.invoices WHERE firm_id = 1
					  UNION SELECT id FROM k.clients) u;
SELECT * FROM tenant_guard.check('SELECT id FROM k.invoices UNION SELECT id FROM k.clients');

-- views: a condition outside the view, inside it, or in a security-barrier view
CREATE VIEW k.all_invoices AS SELECT * FROM k.invoices;
CREATE VIEW k.firm_one_invoices AS SELECT * FROM k.invoices WHERE firm_id = 1;
CREATE VIEW k.current_firm_invoices WITH (security_barrier) AS
	SELECT * FROM k.invoices WHERE firm_id = current_setting('app.firm_id')::int;
SET app.firm_id = '2';
SELECT count(*) FROM k.all_invoices WHERE firm_id = 1;
SELECT count(*) FROM k.all_invoices;
SELECT count(*) FROM k.firm_one_invoices;
SELECT count(*) FROM k.current_firm_invoices;

-- SQL functions: inlined, and not inlinable (judged when their body runs)
CREATE FUNCTION k.invoices_of(int) RETURNS SETOF k.invoices LANGUAGE sql STABLE
	AS 'SELECT * FROM k.invoices WHERE firm_id = $1';
CREATE FUNCTION k.every_invoice() RETURNS SETOF k.invoices LANGUAGE sql STABLE
	AS 'SELECT * FROM k.invoices';
CREATE FUNCTION k.invoice_total(int) RETURNS numeric LANGUAGE sql VOLATILE
	AS 'SELECT sum(amount) FROM k.invoices WHERE firm_id = $1';
CREATE FUNCTION k.grand_total() RETURNS numeric LANGUAGE sql VOLATILE
	AS 'SELECT sum(amount) FROM k.invoices';
SELECT count(*) FROM k.invoices_of(1);
SELECT count(*) FROM k.every_invoice();
SELECT count(*) FROM k.every_invoice() WHERE firm_id = 1;
SELECT k.invoice_total(1);
SELECT k.grand_total();

-- PL/pgSQL function bodies
CREATE FUNCTION k.plpgsql_total(firm int) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT sum(amount) FROM k.invoices WHERE firm_id = firm);
END $$;
CREATE FUNCTION k.plpgsql_everything() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	SELECT count(*) INTO n FROM k.invoices;
	RETURN n;
END $$;
SELECT k.plpgsql_total(1);
SELECT k.plpgsql_everything();

-- cursors are judged when declared
BEGIN;
DECLARE scoped_cursor CURSOR FOR SELECT id FROM k.invoices WHERE firm_id = 1 ORDER BY id;
FETCH 2 FROM scoped_cursor;
DECLARE unscoped_cursor CURSOR FOR SELECT id FROM k.invoices ORDER BY id;
ROLLBACK;
-- a scoped cursor's row may be updated WHERE CURRENT OF
BEGIN;
DECLARE row_cursor CURSOR FOR SELECT id FROM k.invoices WHERE firm_id = 1 AND id = 3 FOR UPDATE;
FETCH 1 FROM row_cursor;
UPDATE k.invoices SET amount = amount WHERE CURRENT OF row_cursor;
ROLLBACK;

-- prepared statements
PREPARE scoped_stmt(int) AS SELECT count(*) FROM k.invoices WHERE firm_id = $1;
PREPARE unscoped_stmt(int) AS SELECT count(*) FROM k.invoices WHERE id = $1;
EXECUTE scoped_stmt(1);
EXECUTE unscoped_stmt(1);
DEALLOCATE scoped_stmt;
DEALLOCATE unscoped_stmt;

-- INSERT ... SELECT judges its SELECT; a plain INSERT is never a violation
INSERT INTO k.archive SELECT * FROM k.invoices WHERE firm_id = 1;
INSERT INTO k.archive SELECT * FROM k.invoices;
INSERT INTO k.invoices VALUES (100, 1, 1, 5);
INSERT INTO k.invoices VALUES (100, 1, 1, 6)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;

-- UPDATE, UPDATE ... FROM, DELETE, DELETE ... USING: unscoped_write
UPDATE k.invoices SET amount = amount WHERE firm_id = 1 AND id = 1;
UPDATE k.invoices SET amount = amount WHERE id = 1;
UPDATE k.invoices i SET amount = i.amount FROM k.clients c
 WHERE c.id = i.client_id AND i.firm_id = c.firm_id AND c.firm_id = 1;
UPDATE k.invoices i SET amount = i.amount FROM k.clients c
 WHERE c.id = i.client_id AND c.firm_id = 1;
DELETE FROM k.archive WHERE firm_id = 1;
DELETE FROM k.archive;
DELETE FROM k.invoices i USING k.clients c
 WHERE c.id = i.client_id AND i.firm_id = 2 AND c.firm_id = 2 AND i.id = 1000;
DELETE FROM k.invoices i USING k.clients c
 WHERE c.id = i.client_id AND i.firm_id = 2 AND i.id = 1000;
SELECT * FROM tenant_guard.check('DELETE FROM k.invoices i USING k.clients c WHERE c.id = i.client_id');

-- MERGE: the target is written, the source read
MERGE INTO k.invoices t USING (VALUES (1, 7)) v(id, amount)
	ON t.id = v.id AND t.firm_id = 2
	WHEN MATCHED THEN UPDATE SET amount = t.amount;
MERGE INTO k.invoices t USING (VALUES (1, 7)) v(id, amount) ON t.id = v.id
	WHEN MATCHED THEN UPDATE SET amount = t.amount;
MERGE INTO k.invoices t USING k.clients c ON t.client_id = c.id AND t.firm_id = 1
	WHEN MATCHED THEN DO NOTHING;

-- SELECT ... FOR UPDATE
SELECT id FROM k.invoices WHERE firm_id = 1 AND id = 2 FOR UPDATE;
SELECT id FROM k.invoices WHERE id = 2 FOR UPDATE;

-- partitioned tables and partitions, scanned through the parent or directly
CREATE TABLE k.ledger (firm_id int NOT NULL, id int, amount numeric)
	PARTITION BY LIST (firm_id);
CREATE TABLE k.ledger_1 PARTITION OF k.ledger FOR VALUES IN (1);
CREATE TABLE k.ledger_2 PARTITION OF k.ledger FOR VALUES IN (2);
INSERT INTO k.ledger VALUES (1, 1, 10), (2, 2, 20);
SELECT count(*) FROM k.ledger WHERE firm_id = 1;
SELECT count(*) FROM k.ledger WHERE firm_id IN (1, 2);
SELECT count(*) FROM k.ledger;
SELECT count(*) FROM k.ledger WHERE id = 1;
SELECT count(*) FROM k.ledger_2 WHERE firm_id = 2;
SELECT count(*) FROM k.ledger_2;
UPDATE k.ledger SET amount = amount WHERE id = 1;
SELECT * FROM tenant_guard.check('SELECT * FROM k.ledger');
-- two levels of partitions, also under a UNION ALL: one finding for the tree
CREATE TABLE k.ledger_3 PARTITION OF k.ledger FOR VALUES IN (3) PARTITION BY RANGE (id);
CREATE TABLE k.ledger_3a PARTITION OF k.ledger_3 FOR VALUES FROM (0) TO (100);
SELECT relation, kind FROM tenant_guard.check('SELECT id FROM k.ledger UNION ALL SELECT id FROM k.archive');
SELECT relation, kind FROM tenant_guard.check('SELECT id FROM k.ledger_3');
SELECT relation, kind FROM tenant_guard.check('DELETE FROM k.ledger WHERE id = 1');

-- inheritance: a child with a tenant column under a parent without one
CREATE TABLE k.events (id int, payload text);
CREATE TABLE k.firm_events (org_id int) INHERITS (k.events);
INSERT INTO k.firm_events VALUES (1, 'x', 1);
SELECT count(*) FROM k.events;
SELECT count(*) FROM k.firm_events WHERE org_id = 1;
SELECT * FROM tenant_guard.check('SELECT * FROM k.events');
-- Statements whose relations are no tenant tables and have no children go
-- to the planner without the guard: not a parent that gains a tenant child
-- after its first statement (also in a plan prepared before), nor one whose
-- sublink, function or view reads a tenant table.
CREATE TABLE k.notes (id int, body text);
PREPARE notes_count AS SELECT count(*) FROM k.notes;
SELECT count(*) FROM k.notes;
EXECUTE notes_count;
CREATE TABLE k.firm_notes (org_id int) INHERITS (k.notes);
SELECT count(*) FROM k.notes;
EXECUTE notes_count;
SELECT count(*) FROM ONLY k.notes;
DEALLOCATE notes_count;
SELECT count(*) FROM k.lookup l WHERE l.code IN (SELECT firm_id::text FROM k.invoices);
SELECT count(*) FROM k.lookup l, k.clients c WHERE c.id = 1;
CREATE FUNCTION k.all_invoice_ids() RETURNS SETOF int LANGUAGE sql
	AS 'SELECT id FROM k.invoices';
SELECT count(*) FROM k.lookup l, k.all_invoice_ids() i;
CREATE VIEW k.lookup_invoices AS SELECT l.code, i.id FROM k.lookup l, k.invoices i;
SELECT count(*) FROM k.lookup_invoices;

-- foreign tables (postgres_fdw, looping back to this database)
DO $$
BEGIN
	EXECUTE format('CREATE SERVER regress_loopback FOREIGN DATA WRAPPER postgres_fdw
					OPTIONS (host %L, port %L, dbname %L)',
				   '127.0.0.1', current_setting('port'), current_database());
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_loopback;
CREATE FOREIGN TABLE k.remote_invoices (id int, firm_id int, amount numeric)
	SERVER regress_loopback OPTIONS (schema_name 'k', table_name 'invoices');
SELECT count(*) FROM k.remote_invoices WHERE firm_id = 1;
SELECT count(*) FROM k.remote_invoices;

-- materialized views: scanning one, and REFRESH judging the view's query
CREATE MATERIALIZED VIEW k.firm_totals AS
	SELECT firm_id, sum(amount) AS total FROM k.invoices GROUP BY firm_id;
SET tenant_guard.mode = off;
CREATE MATERIALIZED VIEW k.firm_totals_all AS
	SELECT firm_id, sum(amount) AS total FROM k.invoices GROUP BY firm_id;
CREATE MATERIALIZED VIEW k.firm_one_total AS
	SELECT firm_id, sum(amount) AS total FROM k.invoices WHERE firm_id = 1 GROUP BY firm_id;
CREATE UNIQUE INDEX ON k.firm_one_total (firm_id);
SET tenant_guard.mode = enforce;
SELECT total FROM k.firm_totals_all WHERE firm_id = 1;
SELECT count(*) FROM k.firm_totals_all;
REFRESH MATERIALIZED VIEW k.firm_one_total;
REFRESH MATERIALIZED VIEW CONCURRENTLY k.firm_one_total;
REFRESH MATERIALIZED VIEW k.firm_totals_all;

-- CREATE TABLE AS judges its query
CREATE TABLE k.copy_one AS SELECT * FROM k.invoices WHERE firm_id = 1;
CREATE TABLE k.copy_all AS SELECT * FROM k.invoices;

-- COPY table TO is an unscoped read; COPY (query) TO is judged by its query;
-- COPY FROM writes rows and is never a violation
COPY (SELECT id FROM k.invoices WHERE firm_id = 1 AND id < 4 ORDER BY id) TO STDOUT;
COPY (SELECT id FROM k.invoices) TO STDOUT;
COPY k.invoices TO STDOUT;
COPY k.invoices (id) TO STDOUT;
COPY k.lookup TO STDOUT;
COPY k.archive FROM STDIN;
500	1	1	5
\.

-- TRUNCATE of a tenant table is an unscoped write
TRUNCATE k.archive;
TRUNCATE k.lookup;
TRUNCATE k.ledger_1;

-- nothing above changed data it should not have
SELECT count(*) AS archived FROM k.archive WHERE firm_id = 1;

\set VERBOSITY default
DROP SCHEMA k CASCADE;
DROP USER MAPPING FOR CURRENT_USER SERVER regress_loopback;
DROP SERVER regress_loopback;

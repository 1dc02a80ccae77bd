-- tenant_guard.check(query): plans without running, in any mode, and
-- returns one row per violation; it changes and records nothing.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA ck;
CREATE TABLE ck.clients (id int PRIMARY KEY, firm_id int NOT NULL);
CREATE TABLE ck.invoices (id int PRIMARY KEY, firm_id int NOT NULL, client_id int);
CREATE TABLE ck.countries (code text PRIMARY KEY);
INSERT INTO ck.invoices VALUES (1, 1, 1);
\set VERBOSITY terse

-- clean statements give no rows, in every mode
SET tenant_guard.mode = off;
SELECT * FROM tenant_guard.check('SELECT * FROM ck.invoices WHERE firm_id = 1');
SELECT * FROM tenant_guard.check('SELECT * FROM ck.countries');
SELECT * FROM tenant_guard.check('INSERT INTO ck.invoices VALUES (2, 1, 1)');

-- parameters are allowed, and their types inferred
SELECT * FROM tenant_guard.check('SELECT * FROM ck.invoices WHERE firm_id = $1 AND id = $2');
SELECT relation, tenant_column, kind FROM tenant_guard.check('SELECT * FROM ck.invoices WHERE id = $1');

-- each violation once, reads and writes, in every mode
SELECT relation, tenant_column, kind FROM tenant_guard.check(
	'SELECT * FROM ck.invoices i JOIN ck.clients c ON c.id = i.client_id');
SET tenant_guard.mode = log;
SELECT relation, tenant_column, kind FROM tenant_guard.check(
	'UPDATE ck.invoices i SET client_id = c.id FROM ck.clients c WHERE c.firm_id = 1');
SET tenant_guard.mode = enforce;
SELECT relation, tenant_column, kind FROM tenant_guard.check(
	'DELETE FROM ck.invoices WHERE id IN (SELECT id FROM ck.invoices WHERE firm_id = 1)');

-- several statements, utility statements and wrapped queries
SELECT relation, kind, detail FROM tenant_guard.check(
	'SELECT 1 FROM ck.invoices WHERE firm_id = 1; TRUNCATE ck.clients, ck.countries; COPY ck.invoices TO STDOUT');
SELECT relation, kind FROM tenant_guard.check('COPY (SELECT * FROM ck.clients) TO STDOUT');
SELECT relation, kind FROM tenant_guard.check('DECLARE c CURSOR FOR SELECT * FROM ck.clients');
SELECT relation, kind FROM tenant_guard.check('CREATE TABLE ck.copy AS SELECT * FROM ck.clients');
SELECT relation, kind FROM tenant_guard.check('EXPLAIN SELECT * FROM ck.clients');
SELECT relation, kind FROM tenant_guard.check('CREATE TABLE ck.other (org_id int)');
SELECT relation, kind FROM tenant_guard.check('');

-- nothing ran: the INSERT, UPDATE, DELETE, TRUNCATE and CREATE TABLE AS did not happen
SELECT count(*) AS invoices FROM ck.invoices WHERE firm_id = 1;
SELECT to_regclass('ck.copy') AS copy_table, to_regclass('ck.other') AS other_table;

-- bad input gets PostgreSQL's own error, and no rows
SELECT * FROM tenant_guard.check('SELEC * FROM ck.invoices');
SELECT * FROM tenant_guard.check('SELECT * FROM ck.no_such_table');
SELECT * FROM tenant_guard.check('SELECT * FROM ck.invoices WHERE firm_id = $1 || $2');
SELECT * FROM tenant_guard.check(NULL);

-- statements that run a query are judged by it: SELECT INTO, EXPLAIN
-- ANALYZE, PREPARE, EXECUTE (the prepared plan), CREATE TABLE AS EXECUTE
SELECT relation, kind FROM tenant_guard.check('SELECT * INTO ck.copy2 FROM ck.invoices');
SELECT relation, kind FROM tenant_guard.check('SELECT * INTO ck.copy2 FROM ck.invoices WHERE firm_id = 1');
SELECT relation, kind FROM tenant_guard.check('EXPLAIN ANALYZE SELECT * FROM ck.clients');
SELECT relation, kind FROM tenant_guard.check('EXPLAIN (ANALYZE, COSTS OFF) DELETE FROM ck.invoices');
SELECT relation, kind FROM tenant_guard.check('EXPLAIN (ANALYZE false) SELECT * FROM ck.clients');
SELECT relation, kind FROM tenant_guard.check('PREPARE ck_p AS SELECT * FROM ck.clients');
PREPARE ck_p AS SELECT * FROM ck.clients;
PREPARE ck_q(int) AS SELECT * FROM ck.clients WHERE firm_id = $1;
SELECT relation, kind FROM tenant_guard.check('EXECUTE ck_p');
SELECT relation, kind FROM tenant_guard.check('EXECUTE ck_q(1)');
SELECT relation, kind FROM tenant_guard.check('CREATE TABLE ck.copy3 AS EXECUTE ck_p');
SELECT relation, kind FROM tenant_guard.check('EXECUTE no_such_statement');
DEALLOCATE ck_p;
DEALLOCATE ck_q;
-- nothing ran: no table created, no row deleted
SELECT to_regclass('ck.copy2') AS copy2, to_regclass('ck.copy3') AS copy3;
SELECT count(*) AS invoices FROM ck.invoices WHERE firm_id = 1;

DROP SCHEMA ck CASCADE;

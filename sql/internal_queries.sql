-- What is not an application query is never flagged, in enforce mode:
-- foreign-key checks on insert and update, ON DELETE CASCADE and SET NULL,
-- constraint validation in ALTER TABLE, EXPLAIN without ANALYZE.  EXPLAIN
-- ANALYZE runs the statement and is judged.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA iq;
CREATE TABLE iq.firms (id int PRIMARY KEY);
CREATE TABLE iq.invoices (id int PRIMARY KEY, firm_id int NOT NULL REFERENCES iq.firms,
	UNIQUE (firm_id, id));
CREATE TABLE iq.payments (id int PRIMARY KEY, firm_id int NOT NULL,
	invoice_id int REFERENCES iq.invoices ON DELETE CASCADE,
	FOREIGN KEY (firm_id, invoice_id) REFERENCES iq.invoices (firm_id, id) ON DELETE CASCADE);
CREATE TABLE iq.notes (id int PRIMARY KEY, org_id int NOT NULL,
	invoice_id int REFERENCES iq.invoices ON DELETE SET NULL);
INSERT INTO iq.firms VALUES (1), (2);
SET tenant_guard.mode = enforce;
\set VERBOSITY terse

-- foreign-key checks on insert and update (against a tenant table)
INSERT INTO iq.invoices VALUES (10, 1), (20, 2);
INSERT INTO iq.payments VALUES (100, 1, 10), (200, 2, 20);
INSERT INTO iq.notes VALUES (1000, 1, 10);
UPDATE iq.payments SET invoice_id = 10 WHERE firm_id = 1 AND id = 100;
-- a violating insert still fails with the foreign-key error, not ours
INSERT INTO iq.payments VALUES (300, 1, 99);

-- ON DELETE CASCADE and SET NULL run internal unscoped queries
DELETE FROM iq.invoices WHERE firm_id = 1 AND id = 10;
SELECT count(*) AS payments_left FROM iq.payments WHERE firm_id = 1;
SELECT invoice_id FROM iq.notes WHERE org_id = 1;
-- deleting a firm (not a tenant table) checks invoices through the key
DELETE FROM iq.firms WHERE id = 2;
DELETE FROM iq.payments WHERE firm_id = 2;
DELETE FROM iq.invoices WHERE firm_id = 2;
DELETE FROM iq.firms WHERE id = 2;

-- constraint validation in ALTER TABLE
INSERT INTO iq.invoices VALUES (30, 1);
CREATE TABLE iq.refunds (id int, firm_id int, invoice_id int);
INSERT INTO iq.refunds VALUES (1, 1, 30);
ALTER TABLE iq.refunds ADD CONSTRAINT refunds_invoice_fk
	FOREIGN KEY (invoice_id) REFERENCES iq.invoices;
ALTER TABLE iq.refunds ADD CONSTRAINT refunds_invoice_fk2
	FOREIGN KEY (invoice_id) REFERENCES iq.invoices NOT VALID;
ALTER TABLE iq.refunds VALIDATE CONSTRAINT refunds_invoice_fk2;
ALTER TABLE iq.refunds ADD CONSTRAINT refunds_positive CHECK (id > 0);
ALTER TABLE iq.refunds ALTER COLUMN id TYPE bigint;
-- the statement right after the ALTER TABLE is judged again
SELECT count(*) FROM iq.refunds;

-- EXPLAIN without ANALYZE runs nothing; EXPLAIN ANALYZE is judged
EXPLAIN (COSTS OFF) SELECT * FROM iq.invoices;
EXPLAIN (COSTS OFF) DELETE FROM iq.invoices;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM iq.invoices;
-- (the rows the scan returned, read off the plan: EXPLAIN ANALYZE's own
-- format changes between PostgreSQL versions)
CREATE FUNCTION iq.analyzed_rows(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
		RETURN substring(line from '^(\S.*) \(actual') || ': ' ||
			substring(line from 'actual rows=(\d+)');
	END LOOP;
END $$;
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT iq.analyzed_rows('SELECT * FROM iq.invoices WHERE firm_id = 1');
RESET enable_indexscan; RESET enable_bitmapscan;

SELECT id, firm_id FROM iq.invoices WHERE firm_id = 1 ORDER BY id;

-- parallel workers receive the plan with its findings but leave the
-- verdict to the leader: one report per statement, not one per process
INSERT INTO iq.invoices SELECT i, 1 FROM generate_series(100, 5000) i;
ANALYZE iq.invoices;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_indexscan = off; SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM iq.invoices WHERE firm_id = 1;
SELECT count(*) FROM iq.invoices WHERE firm_id = 1;
SELECT count(*) FROM iq.invoices;
SET tenant_guard.mode = log;
SET tenant_guard.client_messages = notice;
CREATE FUNCTION iq.workers_launched(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
		IF line ~ 'Workers Launched' THEN RETURN trim(line); END IF;
	END LOOP;
	RETURN 'no parallel workers';
END $$;
SELECT iq.workers_launched('SELECT count(*) FROM iq.invoices');
RESET tenant_guard.client_messages;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather; RESET enable_indexscan; RESET enable_bitmapscan;
SET tenant_guard.mode = enforce;

DROP SCHEMA iq CASCADE;

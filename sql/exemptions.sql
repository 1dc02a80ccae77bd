-- What the guard does not judge, and no more: referential-integrity
-- queries but not what they fire, the foreign-key validation of ALTER
-- TABLE but not the expressions ALTER TABLE evaluates, TRUNCATE of every
-- table it empties, registry entries passed to inheritance children, and
-- registry entries naming a column the table has.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA ex;
CREATE TABLE ex.firms (id int PRIMARY KEY);
CREATE TABLE ex.invoices (id int PRIMARY KEY, firm_id int NOT NULL REFERENCES ex.firms);
CREATE TABLE ex.bills (id int PRIMARY KEY, firm_id int NOT NULL,
	invoice_id int REFERENCES ex.invoices ON DELETE CASCADE);
CREATE TABLE ex.bill_lines (id int PRIMARY KEY, firm_id int NOT NULL,
	bill_id int REFERENCES ex.bills ON DELETE CASCADE);
CREATE TABLE ex.stolen (id int, firm_id int);
INSERT INTO ex.firms VALUES (1), (2);
INSERT INTO ex.invoices VALUES (10, 1), (20, 2);
INSERT INTO ex.bills VALUES (100, 1, 10), (200, 2, 20);
INSERT INTO ex.bill_lines VALUES (1000, 1, 100), (2000, 2, 200);
SET tenant_guard.mode = enforce;
\set VERBOSITY terse

--
-- 1. Referential-integrity queries are exempt, what they fire is judged.
--
-- a cascade over two levels (bills, then bill_lines) stays exempt
DELETE FROM ex.invoices WHERE firm_id = 1 AND id = 10;
SELECT firm_id, count(*) FROM ex.bills WHERE firm_id IN (1, 2) GROUP BY firm_id ORDER BY firm_id;
SELECT firm_id, count(*) FROM ex.bill_lines WHERE firm_id IN (1, 2) GROUP BY firm_id ORDER BY firm_id;
-- a BEFORE DELETE trigger fired by the cascade runs unscoped queries
CREATE FUNCTION ex.steal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ex.stolen SELECT id, firm_id FROM ex.invoices;
	RETURN OLD;
END;
$$;
CREATE TRIGGER steal BEFORE DELETE ON ex.bills FOR EACH ROW EXECUTE FUNCTION ex.steal();
INSERT INTO ex.invoices VALUES (50, 1);
DELETE FROM ex.invoices WHERE firm_id = 2 AND id = 20;
SELECT count(*) AS stolen FROM ex.stolen WHERE firm_id IN (1, 2);
SELECT count(*) AS invoices_of_firm_2 FROM ex.invoices WHERE firm_id = 2;
-- a scoped query in the same trigger is fine, and the cascade goes on
CREATE OR REPLACE FUNCTION ex.steal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ex.stolen SELECT count(*), OLD.firm_id FROM ex.invoices WHERE firm_id = OLD.firm_id;
	RETURN OLD;
END;
$$;
DELETE FROM ex.invoices WHERE firm_id = 2 AND id = 20;
SELECT id, firm_id FROM ex.stolen WHERE firm_id = 2;
SELECT count(*) AS bill_lines_of_firm_2 FROM ex.bill_lines WHERE firm_id = 2;
DROP TRIGGER steal ON ex.bills;
-- a rule on the child adds an action to the cascade's query: judged
CREATE RULE steal AS ON DELETE TO ex.bills
	DO ALSO INSERT INTO ex.stolen SELECT id, firm_id FROM ex.invoices;
INSERT INTO ex.invoices VALUES (60, 2);
INSERT INTO ex.bills VALUES (600, 2, 60);
DELETE FROM ex.stolen WHERE firm_id IN (1, 2);
DELETE FROM ex.invoices WHERE firm_id = 2 AND id = 60;
SELECT count(*) AS stolen_by_rule FROM ex.stolen WHERE firm_id IN (1, 2);
SELECT count(*) AS bills_of_invoice_60 FROM ex.bills WHERE firm_id = 2 AND invoice_id = 60;
DROP RULE steal ON ex.bills;
DELETE FROM ex.invoices WHERE firm_id = 2 AND id = 60;

--
-- 2. ALTER TABLE: only the foreign-key validation query is exempt.
--
INSERT INTO ex.invoices VALUES (30, 1), (40, 2);
CREATE FUNCTION ex.count_invoices() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(*) FROM ex.invoices);
END;
$$;
CREATE FUNCTION ex.count_invoices(int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(*) FROM ex.invoices) + $1 * 0;
END;
$$;
-- (a generated column needs an immutable function: this one claims to be)
CREATE FUNCTION ex.count_invoices_immutable(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN (SELECT count(*) FROM ex.invoices) + $1 * 0;
END;
$$;
CREATE TABLE ex.scratch (x int);
INSERT INTO ex.scratch VALUES (1);
ALTER TABLE ex.scratch ALTER COLUMN x TYPE bigint USING ex.count_invoices();
ALTER TABLE ex.scratch ADD COLUMN y int DEFAULT ex.count_invoices();
ALTER TABLE ex.scratch ADD CONSTRAINT c CHECK (ex.count_invoices(x) > 0);
ALTER TABLE ex.scratch ADD COLUMN z int GENERATED ALWAYS AS (ex.count_invoices_immutable(x)) STORED;
-- the same through a temporary table, as a role with no other privilege
CREATE ROLE regress_ex_app;
GRANT USAGE ON SCHEMA ex TO regress_ex_app;
GRANT SELECT ON ex.invoices TO regress_ex_app;
SET ROLE regress_ex_app;
CREATE TEMP TABLE t (x int);
INSERT INTO t VALUES (1);
ALTER TABLE t ALTER COLUMN x TYPE bigint USING ex.count_invoices();
DROP TABLE t;
RESET ROLE;
-- nothing changed
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'ex.scratch'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT conname FROM pg_constraint WHERE conrelid = 'ex.scratch'::regclass;
-- adding and validating foreign keys on tenant tables with rows still works
CREATE TABLE ex.payments (id int PRIMARY KEY, firm_id int NOT NULL, invoice_id int);
INSERT INTO ex.payments VALUES (1, 1, 30), (2, 2, 40);
ALTER TABLE ex.payments ADD CONSTRAINT payments_invoice_fk
	FOREIGN KEY (invoice_id) REFERENCES ex.invoices;
ALTER TABLE ex.payments ADD CONSTRAINT payments_invoice_fk2
	FOREIGN KEY (invoice_id) REFERENCES ex.invoices NOT VALID;
ALTER TABLE ex.payments VALIDATE CONSTRAINT payments_invoice_fk2;
ALTER TABLE ex.payments ADD UNIQUE (firm_id, invoice_id);
ALTER TABLE ex.invoices ADD UNIQUE (firm_id, id);
ALTER TABLE ex.payments ADD CONSTRAINT payments_firm_invoice_fk
	FOREIGN KEY (firm_id, invoice_id) REFERENCES ex.invoices (firm_id, id) MATCH FULL;
SELECT conname FROM pg_constraint WHERE conrelid = 'ex.payments'::regclass
 AND contype = 'f' ORDER BY conname;
-- and a violating row still gets PostgreSQL's own error
ALTER TABLE ex.payments DROP CONSTRAINT payments_invoice_fk,
	DROP CONSTRAINT payments_invoice_fk2, DROP CONSTRAINT payments_firm_invoice_fk;
INSERT INTO ex.payments VALUES (3, 1, 99);
ALTER TABLE ex.payments ADD CONSTRAINT payments_invoice_fk
	FOREIGN KEY (invoice_id) REFERENCES ex.invoices;

--
-- 4. TRUNCATE judges every tenant table it empties.
--
CREATE TABLE ex.docs (id int);
CREATE TABLE ex.docs_firm (firm_id int) INHERITS (ex.docs);
INSERT INTO ex.docs_firm VALUES (1, 1);
-- (a partition can be registered on its own, below a parent that is not)
CREATE TABLE ex.parts (id int, kind int, org_ref int) PARTITION BY LIST (kind);
CREATE TABLE ex.parts_1 PARTITION OF ex.parts FOR VALUES IN (1);
SELECT tenant_guard.register_table('ex.parts_1', 'org_ref');
INSERT INTO ex.parts_1 VALUES (1, 1, 1);
TRUNCATE ex.docs;
TRUNCATE ex.parts;
TRUNCATE ONLY ex.docs;
SELECT count(*) AS docs_firm FROM ex.docs_firm WHERE firm_id = 1;
SELECT count(*) AS parts_1 FROM ex.parts_1 WHERE org_ref = 1;
-- CASCADE: a table that references the truncated one by foreign key
CREATE TABLE ex.regions (id int PRIMARY KEY);
CREATE TABLE ex.offices (id int, firm_id int, region_id int REFERENCES ex.regions);
INSERT INTO ex.regions VALUES (1);
INSERT INTO ex.offices VALUES (1, 1, 1);
TRUNCATE ex.regions CASCADE;
SELECT count(*) AS offices FROM ex.offices WHERE firm_id = 1;
-- an inheritance child of a registered table is a tenant table too
CREATE TABLE ex.accounts (id int, owner_org int);
SELECT tenant_guard.register_table('ex.accounts', 'owner_org');
CREATE TABLE ex.accounts_old () INHERITS (ex.accounts);
CREATE TABLE ex.accounts_more (extra int) INHERITS (ex.docs, ex.accounts);
SELECT relid, tenant_column, source FROM tenant_guard.tenant_tables
 WHERE relid::text LIKE 'ex.accounts%' ORDER BY relid::text;
INSERT INTO ex.accounts_old VALUES (1, 1);
SELECT count(*) FROM ex.accounts_old;
SELECT count(*) FROM ex.accounts_old WHERE owner_org = 1;
TRUNCATE ex.accounts_old;

--
-- 5. set_registry_entry refuses a column the table lacks.
--
SELECT tenant_guard.set_registry_entry('ex.scratch', 'no_such_column');
SELECT tenant_guard.set_registry_entry('ex.scratch', 'x');
SELECT tenant_guard.set_registry_entry('ex.stolen', NULL);
SELECT relid, tenant_column, excluded FROM tenant_guard.registry
 WHERE relid::text LIKE 'ex.%' ORDER BY relid::text;

RESET tenant_guard.mode;
DROP SCHEMA ex CASCADE;
DROP ROLE regress_ex_app;

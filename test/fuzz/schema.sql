-- The guarded schema sqlsmith is let loose on: tenant tables of every kind
-- tenant_guard handles, foreign keys with cascades, views, a partitioned
-- table, inheritance, a materialized view, and (when the extension has it)
-- a protected amount column.
CREATE EXTENSION tenant_guard;
CREATE TABLE firms (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE clients (id int PRIMARY KEY, firm_id int NOT NULL REFERENCES firms,
	name text, UNIQUE (firm_id, id));
CREATE TABLE invoices (id int PRIMARY KEY, firm_id int NOT NULL REFERENCES firms,
	client_id int NOT NULL, amount_due numeric(12, 2) NOT NULL,
	amount_paid numeric(12, 2) NOT NULL DEFAULT 0, provider_ref text,
	issued_on date, FOREIGN KEY (firm_id, client_id) REFERENCES clients (firm_id, id)
	ON DELETE CASCADE);
CREATE TABLE payments (id int PRIMARY KEY, firm_id int NOT NULL,
	invoice_id int REFERENCES invoices ON DELETE SET NULL, amount numeric(12, 2));
CREATE TABLE ledger (org_id int NOT NULL, id int, entry jsonb) PARTITION BY LIST (org_id);
CREATE TABLE ledger_1 PARTITION OF ledger FOR VALUES IN (1);
CREATE TABLE ledger_2 PARTITION OF ledger FOR VALUES IN (2);
CREATE TABLE events (id int, kind text);
CREATE TABLE firm_events (tenant_id int) INHERITS (events);
CREATE TABLE countries (code text PRIMARY KEY, org_id int);
SELECT tenant_guard.exclude_table('countries');
CREATE TABLE accounts (id int, owner_org int, balance numeric);
SELECT tenant_guard.register_table('accounts', 'owner_org');
CREATE VIEW open_invoices AS SELECT * FROM invoices WHERE amount_paid < amount_due;
CREATE VIEW firm_one_invoices WITH (security_barrier) AS
	SELECT * FROM invoices WHERE firm_id = 1;

INSERT INTO firms SELECT i, 'firm ' || i FROM generate_series(1, 5) i;
INSERT INTO clients SELECT i, 1 + i % 5, 'client ' || i FROM generate_series(1, 50) i;
INSERT INTO invoices SELECT i, 1 + (i % 50 + 1) % 5, i % 50 + 1, i, 0, 'pi_' || i,
	date '2026-01-01' + i FROM generate_series(1, 500) i;
INSERT INTO payments SELECT i, 1 + (i % 500 + 1) % 5, i % 500 + 1, 1 FROM generate_series(1, 200) i;
INSERT INTO ledger SELECT 1 + i % 2, i, jsonb_build_object('n', i) FROM generate_series(1, 100) i;
INSERT INTO firm_events VALUES (1, 'created', 1), (2, 'paid', 2);
INSERT INTO countries VALUES ('de', 1), ('fr', 2);
INSERT INTO accounts VALUES (1, 1, 10), (2, 2, 20);
CREATE MATERIALIZED VIEW firm_totals AS
	SELECT firm_id, sum(amount_paid) AS paid FROM invoices WHERE firm_id = 1 GROUP BY firm_id;
DO $$
BEGIN
	IF to_regprocedure('tenant_guard.protect_amount(regclass,name)') IS NOT NULL THEN
		PERFORM tenant_guard.protect_amount('invoices', 'amount_paid');
	END IF;
END $$;
ANALYZE;

-- sqlsmith runs as an application role: it cannot change the guard's
-- settings, and superuser-only functions stay out of its reach.
CREATE ROLE fuzzer LOGIN;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO fuzzer;
GRANT SELECT ON tenant_guard.tenant_tables TO fuzzer;

-- Schema shared by the scope-rule suites (scope_rules_enforce, scope_rules_log).
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA s;
CREATE TABLE s.firms (id int PRIMARY KEY, name text);
CREATE TABLE s.clients (id int PRIMARY KEY, firm_id int NOT NULL, name text);
CREATE TABLE s.invoices (id int PRIMARY KEY, firm_id int NOT NULL,
	client_id int NOT NULL, amount numeric NOT NULL, ref text);
CREATE TABLE s.docs (id int, org_id varchar(20));
CREATE TABLE s.uuids (id int, tenant_id uuid);
INSERT INTO s.firms VALUES (1, 'one'), (2, 'two');
INSERT INTO s.clients SELECT i, 1 + i % 2, 'c' || i FROM generate_series(1, 10) i;
INSERT INTO s.invoices SELECT i, 1 + (i % 10 + 1) % 2, i % 10 + 1, i, 'r' || i
	FROM generate_series(1, 40) i;
INSERT INTO s.docs VALUES (1, 'a'), (2, 'b');
INSERT INTO s.uuids VALUES (1, '00000000-0000-0000-0000-000000000001');
CREATE INDEX ON s.invoices (client_id);
ANALYZE s.firms, s.clients, s.invoices, s.docs, s.uuids;
SET app.firm_id = '1';

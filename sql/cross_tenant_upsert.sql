-- INSERT ... ON CONFLICT DO UPDATE must not write another tenant's row:
-- the cross_tenant_write rule, checked per row at execution.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenant_guard;
RESET client_min_messages;
CREATE SCHEMA up;
CREATE TABLE up.invoices (id int PRIMARY KEY, firm_id int, amount int);
INSERT INTO up.invoices VALUES (7, 6, 100), (8, 5, 200), (9, NULL, 300);

SET tenant_guard.mode = enforce;

-- the other tenant's invoice 7 is neither changed nor returned
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
SELECT * FROM up.invoices WHERE firm_id = 6 AND id = 7;
-- the same in a data-modifying WITH: nothing comes back
WITH w AS (
	INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *)
SELECT * FROM w;
SELECT * FROM up.invoices WHERE firm_id = 6 AND id = 7;

-- same tenant: updated and returned
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 210)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
-- no conflict: inserted
INSERT INTO up.invoices (id, firm_id, amount) VALUES (10, 5, 1)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
-- DO NOTHING: the other tenant's row is left alone, no violation
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO NOTHING RETURNING *;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT DO NOTHING;

-- changing the tenant column of the existing row
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 10)
	ON CONFLICT (id) DO UPDATE SET firm_id = 6;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 10)
	ON CONFLICT (id) DO UPDATE SET firm_id = excluded.firm_id + 1, amount = 0;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 10)
	ON CONFLICT (id) DO UPDATE SET (firm_id, amount) = (SELECT 7, 0);
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 10)
	ON CONFLICT (id) DO UPDATE SET firm_id = NULL;
-- setting it to its own value is no change
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 220)
	ON CONFLICT (id) DO UPDATE SET firm_id = excluded.firm_id, amount = excluded.amount
	RETURNING *;
SELECT * FROM up.invoices WHERE firm_id = 5 AND id = 8;

-- a NULL tenant value is outside every tenant, on either side
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, NULL, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (9, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (9, NULL, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
SET tenant_guard.mode = off;
SELECT * FROM up.invoices WHERE firm_id IS NULL;
SET tenant_guard.mode = enforce;

-- DO UPDATE ... WHERE: the conflicting row is judged before the statement's
-- own WHERE sees it (WHERE false, folded away by the planner, reads nothing)
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount WHERE false RETURNING *;
-- a function in the WHERE never receives another tenant's row
CREATE FUNCTION pg_temp.peek(r up.invoices) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'peeked at invoice % of firm %, amount %', r.id, r.firm_id, r.amount;
	RETURN false;
END $$;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount
	WHERE pg_temp.peek(up.invoices.*);
DROP FUNCTION pg_temp.peek(up.invoices);
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount
	WHERE up.invoices.amount > 1000;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount
	WHERE up.invoices.amount < 1000;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 10)
	ON CONFLICT (id) DO UPDATE SET firm_id = 6 WHERE up.invoices.amount > 1000;

-- several rows: only the second conflicts with another tenant's row, and
-- the statement fails as a whole
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 230), (7, 5, 10), (11, 5, 1)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
SELECT * FROM up.invoices WHERE firm_id IN (5, 6) ORDER BY id;

-- prepared: custom plans, then the generic plan, every execution checked
PREPARE upsert(int, int, int) AS
	INSERT INTO up.invoices (id, firm_id, amount) VALUES ($1, $2, $3)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
EXECUTE upsert(8, 5, 240);
EXECUTE upsert(8, 5, 240);
EXECUTE upsert(8, 5, 240);
EXECUTE upsert(8, 5, 240);
EXECUTE upsert(8, 5, 240);
EXECUTE upsert(7, 5, 10);
SELECT generic_plans > 0 AS generic FROM pg_prepared_statements WHERE name = 'upsert';
DEALLOCATE upsert;

-- PL/pgSQL
CREATE FUNCTION up.upsert(p_id int, p_firm int, p_amount int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	result int;
BEGIN
	INSERT INTO up.invoices (id, firm_id, amount) VALUES (p_id, p_firm, p_amount)
		ON CONFLICT (id) DO UPDATE SET amount = excluded.amount
		RETURNING amount INTO result;
	RETURN result;
END;
$$;
SELECT up.upsert(8, 5, 250);
SELECT up.upsert(7, 5, 10);
SELECT up.upsert(8, 5, 250);
SELECT * FROM up.invoices WHERE firm_id = 6 AND id = 7;

-- through an updatable view: the table behind it is reported
CREATE VIEW up.invoice_view AS SELECT * FROM up.invoices;
INSERT INTO up.invoice_view (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;

-- EXPLAIN shows the check, the last condition of the conflict filter
EXPLAIN (COSTS OFF) INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount WHERE up.invoices.amount < 1000;

-- a text tenant column compares with its type's equality and collation
CREATE TABLE up.docs (id int PRIMARY KEY, org_id text COLLATE "C", body text);
INSERT INTO up.docs VALUES (1, 'acme', 'a');
INSERT INTO up.docs VALUES (1, 'acme', 'b')
	ON CONFLICT (id) DO UPDATE SET body = excluded.body RETURNING *;
INSERT INTO up.docs VALUES (1, 'Acme', 'c')
	ON CONFLICT (id) DO UPDATE SET body = excluded.body RETURNING *;

-- a partitioned table: the conflicting row is in a partition, one of them
-- with columns in another order; the table the statement names is reported
CREATE TABLE up.parted (id int, firm_id int, amount int, PRIMARY KEY (id))
	PARTITION BY RANGE (id);
CREATE TABLE up.parted_low PARTITION OF up.parted FOR VALUES FROM (0) TO (100);
CREATE TABLE up.parted_high (amount int, id int NOT NULL, firm_id int);
ALTER TABLE up.parted ATTACH PARTITION up.parted_high FOR VALUES FROM (100) TO (200);
INSERT INTO up.parted VALUES (1, 6, 1), (101, 6, 1);
INSERT INTO up.parted VALUES (1, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
INSERT INTO up.parted VALUES (101, 5, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
INSERT INTO up.parted VALUES (101, 6, 10)
	ON CONFLICT (id) DO UPDATE SET firm_id = 7;
INSERT INTO up.parted VALUES (1, 6, 10), (101, 6, 10)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
-- the statement names the partition: the partition is reported
INSERT INTO up.parted_high VALUES (5, 101, 5)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;

-- a table registered with a tenant column outside tenant_columns
CREATE TABLE up.accounts (id int PRIMARY KEY, workspace int, balance int);
SELECT tenant_guard.register_table('up.accounts', 'workspace');
INSERT INTO up.accounts VALUES (1, 6, 0);
INSERT INTO up.accounts VALUES (1, 5, 10)
	ON CONFLICT (id) DO UPDATE SET balance = excluded.balance;
INSERT INTO up.accounts VALUES (1, 6, 10)
	ON CONFLICT (id) DO UPDATE SET workspace = 5;
INSERT INTO up.accounts VALUES (1, 6, 10)
	ON CONFLICT (id) DO UPDATE SET balance = excluded.balance RETURNING *;
-- excluded from the guard: not a tenant table, not judged
SELECT tenant_guard.exclude_table('up.accounts');
INSERT INTO up.accounts VALUES (1, 5, 20)
	ON CONFLICT (id) DO UPDATE SET balance = excluded.balance RETURNING *;

-- not a tenant table: never judged
CREATE TABLE up.plain (id int PRIMARY KEY, note text);
INSERT INTO up.plain VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET note = 'b' RETURNING *;
INSERT INTO up.plain VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET note = 'c' RETURNING *;

-- the checks cannot be called directly (nobody forges audit rows)
SELECT tenant_guard.upsert_same_tenant(1, 2, 'up.invoices');
SELECT tenant_guard.upsert_keep_tenant(1, 2, 'up.invoices');

-- off: not judged
SET tenant_guard.mode = off;
BEGIN;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 11)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
ROLLBACK;

-- log mode: the statement runs, and one violation is reported per
-- statement, however many rows
SET tenant_guard.mode = log;
SET tenant_guard.client_messages = warning;
SELECT tenant_guard.flush() >= 0 AS flushed;
DELETE FROM tenant_guard.violations;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (7, 5, 12), (9, 5, 12), (8, 5, 12)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 5, 13)
	ON CONFLICT (id) DO UPDATE SET firm_id = 6, amount = excluded.amount RETURNING *;
INSERT INTO up.parted VALUES (1, 5, 14), (101, 5, 14)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
-- within the tenant, nothing is reported
INSERT INTO up.invoices (id, firm_id, amount) VALUES (8, 6, 15)
	ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
RESET tenant_guard.client_messages;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT command, relation, tenant_column, kind, action, detail
  FROM tenant_guard.violations ORDER BY id;

RESET tenant_guard.mode;
DROP SCHEMA up CASCADE;

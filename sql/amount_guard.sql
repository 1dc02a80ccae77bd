-- Atomic amounts (doc/amounts.md): protect_amount(), unprotect_amount(),
-- protected_amounts, and every rule of the trigger in enforce, log and off
-- mode, with the audit rows they leave.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA am;
CREATE TABLE am.invoices (
	id int PRIMARY KEY,
	firm_id int NOT NULL,
	amount_paid numeric(12, 2) NOT NULL DEFAULT 0,
	status text
);
CREATE TABLE am.payments (id int, firm_id int, invoice_id int, amount numeric(12, 2));
INSERT INTO am.invoices VALUES (1, 1, 100, 'open'), (2, 1, 100, 'open'), (3, 2, 100, 'open');
INSERT INTO am.payments VALUES (1, 1, 1, 30);
SELECT tenant_guard.flush() >= 0 AS flushed;
DELETE FROM tenant_guard.violations;
\set VERBOSITY terse

-- amount_mode: enforce by default, superuser-only
SHOW tenant_guard.amount_mode;
SELECT name, setting, context, vartype, enumvals
  FROM pg_settings WHERE name = 'tenant_guard.amount_mode';
SET tenant_guard.amount_mode = sometimes;

------------------------------------------------------------------------
-- protect_amount, protected_amounts, unprotect_amount
------------------------------------------------------------------------
SELECT tenant_guard.protect_amount('am.invoices', 'amount_paid');
SELECT * FROM tenant_guard.protected_amounts WHERE relid::text LIKE 'am.%';
SELECT tgname, tgattr, tgenabled, pg_get_triggerdef(oid)
  FROM pg_trigger WHERE tgrelid = 'am.invoices'::regclass;
-- a second call changes nothing
SELECT tenant_guard.protect_amount('am.invoices', 'amount_paid');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'am.invoices'::regclass;

-- bad input: a clear error, and nothing changes
CREATE VIEW am.invoice_view AS SELECT * FROM am.invoices;
CREATE MATERIALIZED VIEW am.invoice_totals AS SELECT firm_id, sum(amount_paid) AS paid FROM am.invoices GROUP BY firm_id;
CREATE SEQUENCE am.seq;
CREATE TABLE am.other (id int, note text, paid numeric);
CREATE FUNCTION am.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER tenant_guard_amounts BEFORE UPDATE ON am.other FOR EACH ROW EXECUTE FUNCTION am.noop();
SELECT tenant_guard.protect_amount(NULL, 'amount_paid');
SELECT tenant_guard.protect_amount('am.invoices', NULL);
SELECT tenant_guard.protect_amount('am.missing', 'amount_paid');
SELECT tenant_guard.protect_amount(999999999::oid::regclass, 'amount_paid');
SELECT tenant_guard.protect_amount('am.invoices', 'amount_due');
SELECT tenant_guard.protect_amount('am.invoices', 'status');
SELECT tenant_guard.protect_amount('am.invoice_view', 'amount_paid');
SELECT tenant_guard.protect_amount('am.invoice_totals', 'paid');
SELECT tenant_guard.protect_amount('am.seq', 'last_value');
SELECT tenant_guard.protect_amount('pg_catalog.pg_class', 'relpages');
SELECT tenant_guard.protect_amount('am.other', 'paid');
SELECT tenant_guard.unprotect_amount('am.invoices', 'id');
SELECT tenant_guard.unprotect_amount('am.other', 'paid');
SELECT tenant_guard.unprotect_amount('am.invoices', 'status');
SELECT * FROM tenant_guard.protected_amounts WHERE relid::text LIKE 'am.%';
SELECT tgname, tgfoid::regproc FROM pg_trigger WHERE tgrelid = 'am.other'::regclass;

-- numeric-like types and domains over them are accepted
CREATE DOMAIN am.cents AS bigint CHECK (VALUE >= 0);
CREATE TABLE am.kinds (id int, a int, b bigint, c real, d double precision, e money, f am.cents);
SELECT tenant_guard.protect_amount('am.kinds', col)
  FROM unnest(ARRAY['a', 'b', 'c', 'd', 'e', 'f']) col;
SELECT amount_column FROM tenant_guard.protected_amounts
 WHERE relid = 'am.kinds'::regclass ORDER BY 1;
INSERT INTO am.kinds VALUES (1, 1, 1, 1, 1, 1, 1);
UPDATE am.kinds SET a = a, b = 1, c = 1.0, d = 1, e = 1.00, f = 1 WHERE id = 1;
UPDATE am.kinds SET e = 2 WHERE id = 1;
UPDATE am.kinds SET f = f + 2 WHERE id = 1;
-- unprotecting one column keeps the others; the last one drops the trigger
SELECT tenant_guard.unprotect_amount('am.kinds', 'e');
UPDATE am.kinds SET e = 5 WHERE id = 1;
SELECT amount_column FROM tenant_guard.protected_amounts
 WHERE relid = 'am.kinds'::regclass ORDER BY 1;
SELECT tenant_guard.unprotect_amount('am.kinds', col)
  FROM unnest(ARRAY['a', 'b', 'c', 'd', 'f']) col;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'am.kinds'::regclass;

-- the trigger function refuses to be used any other way
CREATE TRIGGER misuse AFTER UPDATE ON am.other FOR EACH ROW EXECUTE FUNCTION tenant_guard.amount_guard();
INSERT INTO am.other VALUES (1, 'x', 1);
UPDATE am.other SET paid = 2;
DROP TRIGGER misuse ON am.other;
SELECT tenant_guard.amount_guard();

------------------------------------------------------------------------
-- enforce: what is refused, with its SQLSTATE, message, detail and hint
------------------------------------------------------------------------
\set VERBOSITY default
UPDATE am.invoices SET amount_paid = 150 WHERE firm_id = 1 AND id = 1;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse

-- 1. relative: computed from the column itself in the same row
UPDATE am.invoices SET amount_paid = amount_paid + 10 WHERE firm_id = 1 AND id = 1;
UPDATE am.invoices SET amount_paid = amount_paid - 5 WHERE firm_id = 1 AND id = 1;
UPDATE am.invoices SET amount_paid = GREATEST(amount_paid - 500, 0) WHERE firm_id = 1 AND id = 2;
UPDATE am.invoices SET amount_paid = LEAST(amount_paid + 20, 100) WHERE firm_id = 1 AND id = 2;
UPDATE am.invoices SET amount_paid = COALESCE(amount_paid, 0) + 1 WHERE firm_id = 1 AND id = 2;
UPDATE am.invoices SET amount_paid = CASE WHEN amount_paid < 1000 THEN amount_paid + 1 ELSE amount_paid END
 WHERE firm_id = 1 AND id = 2;
PREPARE pay(numeric) AS UPDATE am.invoices SET amount_paid = amount_paid + $1 WHERE firm_id = 1 AND id = $2;
EXECUTE pay(1, 1);
EXECUTE pay(1, 1);
-- relative through UPDATE ... FROM: the payment joined in, the amount read from the row itself
UPDATE am.invoices i SET amount_paid = i.amount_paid + p.amount
  FROM am.payments p WHERE p.invoice_id = i.id AND p.firm_id = 1 AND i.firm_id = 1;
-- through an updatable view, in a data-modifying WITH, in MERGE, in ON CONFLICT
UPDATE am.invoice_view SET amount_paid = amount_paid + 1 WHERE firm_id = 1 AND id = 1;
WITH paid AS (UPDATE am.invoices SET amount_paid = amount_paid + 1 WHERE firm_id = 1 AND id = 1 RETURNING id)
SELECT count(*) FROM paid;
MERGE INTO am.invoices t USING (VALUES (1, 2.00)) s(id, amount) ON t.id = s.id AND t.firm_id = 1
 WHEN MATCHED THEN UPDATE SET amount_paid = t.amount_paid + s.amount;
INSERT INTO am.invoices VALUES (1, 1, 3) ON CONFLICT (id)
  DO UPDATE SET amount_paid = am.invoices.amount_paid + excluded.amount_paid;
SELECT id, amount_paid FROM am.invoices WHERE firm_id = 1 ORDER BY id;

-- a statement whose protected assignments are all relative does not even
-- call the trigger (nor make PostgreSQL lock the row for it); others do
CREATE FUNCTION am.triggers_called(statement text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
	called boolean := false;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || statement LOOP
		IF line LIKE 'Trigger %' THEN
			called := true;
			RETURN NEXT line;
		END IF;
	END LOOP;
	IF NOT called THEN
		RETURN NEXT 'no trigger called';
	END IF;
END;
$$;
SELECT am.triggers_called('UPDATE am.invoices SET amount_paid = amount_paid + 0 WHERE firm_id = 1 AND id = 1');
SELECT am.triggers_called('UPDATE am.invoices SET amount_paid = amount_paid, status = status WHERE firm_id = 1 AND id = 1');
SELECT am.triggers_called('UPDATE am.invoices SET amount_paid = 144 WHERE firm_id = 1 AND id = 1');

-- unchanged values are always fine (ORMs write every column)
UPDATE am.invoices SET amount_paid = 144, status = 'partly paid' WHERE firm_id = 1 AND id = 1;
UPDATE am.invoices SET amount_paid = 144.000 WHERE firm_id = 1 AND id = 1;
-- a column the statement does not assign is not judged
UPDATE am.invoices SET status = 'reminded' WHERE firm_id = 1;

-- absolute: refused
UPDATE am.invoices SET amount_paid = 150 WHERE firm_id = 1 AND id = 1;
PREPARE set_paid(numeric) AS UPDATE am.invoices SET amount_paid = $1 WHERE firm_id = 1 AND id = 1;
EXECUTE set_paid(150);
UPDATE am.invoices SET amount_paid = (SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1) + 1
 WHERE firm_id = 1 AND id = 1;
UPDATE am.invoices i SET amount_paid = (SELECT i.amount_paid + 1)
 WHERE firm_id = 1 AND id = 1;
UPDATE am.invoices i SET amount_paid = p.amount
  FROM am.payments p WHERE p.invoice_id = i.id AND p.firm_id = 1 AND i.firm_id = 1;
UPDATE am.invoices i SET amount_paid = j.amount_paid + 1
  FROM am.invoices j WHERE j.firm_id = 1 AND j.id = 2 AND i.firm_id = 1 AND i.id = 1;
UPDATE am.invoice_view SET amount_paid = 150 WHERE firm_id = 1 AND id = 1;
WITH paid AS (UPDATE am.invoices SET amount_paid = 150 WHERE firm_id = 1 AND id = 1 RETURNING id)
SELECT count(*) FROM paid;
WITH paid AS (UPDATE am.invoices SET amount_paid = 150 WHERE firm_id = 1 AND id = 1 RETURNING id)
SELECT 1 AS unread;
MERGE INTO am.invoices t USING (VALUES (1, 150.00)) s(id, amount) ON t.id = s.id AND t.firm_id = 1
 WHEN MATCHED THEN UPDATE SET amount_paid = s.amount;
INSERT INTO am.invoices VALUES (1, 1, 150) ON CONFLICT (id)
  DO UPDATE SET amount_paid = excluded.amount_paid;
-- a value that only falls back to the column is computed outside the
-- statement whenever it is not NULL: COALESCE, CASE, NULLIF
PREPARE set_or_keep(numeric) AS
  UPDATE am.invoices SET amount_paid = COALESCE($1, amount_paid) WHERE firm_id = 1 AND id = 1;
EXECUTE set_or_keep(150);
UPDATE am.invoices SET amount_paid = CASE WHEN id = 1 THEN 150 ELSE amount_paid END
 WHERE firm_id = 1 AND id = 1;
UPDATE am.invoices SET amount_paid = NULLIF(150, amount_paid) WHERE firm_id = 1 AND id = 1;
INSERT INTO am.invoices VALUES (1, 1, 150) ON CONFLICT (id)
  DO UPDATE SET amount_paid = COALESCE(excluded.amount_paid, am.invoices.amount_paid);
DEALLOCATE set_or_keep;
-- relative in one place and absolute in another is absolute
MERGE INTO am.invoices t USING (VALUES (1, 150.00), (2, 5.00)) s(id, amount) ON t.id = s.id AND t.firm_id = 1
 WHEN MATCHED AND s.id = 1 THEN UPDATE SET amount_paid = s.amount
 WHEN MATCHED THEN UPDATE SET amount_paid = t.amount_paid + s.amount;
SELECT id, amount_paid FROM am.invoices WHERE firm_id = 1 ORDER BY id;

-- 2. the row was locked FOR UPDATE or FOR NO KEY UPDATE earlier in the transaction
BEGIN;
SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1 FOR UPDATE;
UPDATE am.invoices SET amount_paid = 160 WHERE firm_id = 1 AND id = 1;
UPDATE am.invoices SET amount_paid = 161 WHERE firm_id = 1 AND id = 1;
COMMIT;
BEGIN;
SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1 FOR NO KEY UPDATE;
UPDATE am.invoices SET amount_paid = 170 WHERE firm_id = 1 AND id = 1;
COMMIT;
-- FOR SHARE and FOR KEY SHARE do not keep other writers out
BEGIN;
SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1 FOR SHARE;
UPDATE am.invoices SET amount_paid = 180 WHERE firm_id = 1 AND id = 1;
ROLLBACK;
-- a lock on another row, or in an earlier transaction, does not count
BEGIN;
SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 2 FOR UPDATE;
UPDATE am.invoices SET amount_paid = 180 WHERE firm_id = 1 AND id = 1;
ROLLBACK;
BEGIN;
SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1 FOR UPDATE;
COMMIT;
UPDATE am.invoices SET amount_paid = 180 WHERE firm_id = 1 AND id = 1;
-- nor does a lock taken by the same statement
WITH locked AS (SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1 FOR UPDATE)
UPDATE am.invoices SET amount_paid = (SELECT amount_paid FROM locked) + 1 WHERE firm_id = 1 AND id = 1;
-- a lock taken through a cursor counts
BEGIN;
DECLARE c CURSOR FOR SELECT id, amount_paid FROM am.invoices WHERE firm_id = 1 ORDER BY id FOR UPDATE;
FETCH 1 FROM c;
UPDATE am.invoices SET amount_paid = 190 WHERE CURRENT OF c;
CLOSE c;
COMMIT;
-- the select_for_update() pattern inside a PL/pgSQL function
CREATE FUNCTION am.pay_locked(invoice int, amount numeric) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
	paid numeric;
BEGIN
	SELECT amount_paid INTO paid FROM am.invoices WHERE firm_id = 1 AND id = invoice FOR UPDATE;
	UPDATE am.invoices SET amount_paid = paid + amount WHERE firm_id = 1 AND id = invoice;
	RETURN paid + amount;
END;
$$;
SELECT am.pay_locked(1, 10);
-- the same without the lock is refused
CREATE FUNCTION am.pay_unlocked(invoice int, amount numeric) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
	paid numeric;
BEGIN
	SELECT amount_paid INTO paid FROM am.invoices WHERE firm_id = 1 AND id = invoice;
	UPDATE am.invoices SET amount_paid = paid + amount WHERE firm_id = 1 AND id = invoice;
	RETURN paid + amount;
END;
$$;
SELECT am.pay_unlocked(1, 10);

-- savepoints: a lock whose subtransaction rolled back is gone
BEGIN;
SAVEPOINT s1;
SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1 FOR UPDATE;
ROLLBACK TO SAVEPOINT s1;
UPDATE am.invoices SET amount_paid = 300 WHERE firm_id = 1 AND id = 1;
ROLLBACK;
-- a released savepoint passes its lock to the transaction
BEGIN;
SAVEPOINT s1;
SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1 FOR UPDATE;
RELEASE SAVEPOINT s1;
SAVEPOINT s2;
UPDATE am.invoices SET amount_paid = 300 WHERE firm_id = 1 AND id = 1;
ROLLBACK TO SAVEPOINT s2;
-- a lock taken before the savepoint survives its rollback
UPDATE am.invoices SET amount_paid = 301 WHERE firm_id = 1 AND id = 1;
COMMIT;
-- a refused update inside a savepoint leaves the transaction usable
BEGIN;
SAVEPOINT s1;
UPDATE am.invoices SET amount_paid = 5 WHERE firm_id = 1 AND id = 2;
ROLLBACK TO SAVEPOINT s1;
UPDATE am.invoices SET amount_paid = amount_paid + 1 WHERE firm_id = 1 AND id = 2;
COMMIT;

-- 3. a row this transaction inserted (or already wrote) may be set freely
BEGIN;
INSERT INTO am.invoices VALUES (10, 1, 0, 'new');
UPDATE am.invoices SET amount_paid = 40 WHERE firm_id = 1 AND id = 10;
UPDATE am.invoices SET amount_paid = 45 WHERE firm_id = 1 AND id = 10;
COMMIT;
UPDATE am.invoices SET amount_paid = 50 WHERE firm_id = 1 AND id = 10;
BEGIN;
UPDATE am.invoices SET status = 'touched' WHERE firm_id = 1 AND id = 10;
UPDATE am.invoices SET amount_paid = 50 WHERE firm_id = 1 AND id = 10;
COMMIT;
SELECT id, amount_paid FROM am.invoices WHERE firm_id = 1 ORDER BY id;

------------------------------------------------------------------------
-- nested UPDATEs: each statement is judged by its own assignments
------------------------------------------------------------------------
CREATE TABLE am.ledger (id serial, firm_id int, invoice_id int, amount numeric, absolute boolean);
CREATE FUNCTION am.apply_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.absolute THEN
		UPDATE am.invoices SET amount_paid = NEW.amount WHERE firm_id = NEW.firm_id AND id = NEW.invoice_id;
	ELSE
		UPDATE am.invoices SET amount_paid = amount_paid + NEW.amount WHERE firm_id = NEW.firm_id AND id = NEW.invoice_id;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER apply AFTER INSERT ON am.ledger FOR EACH ROW EXECUTE FUNCTION am.apply_ledger();
INSERT INTO am.ledger (firm_id, invoice_id, amount, absolute) VALUES (1, 2, 7, false);
INSERT INTO am.ledger (firm_id, invoice_id, amount, absolute) VALUES (1, 2, 7, true);
-- a relative UPDATE whose trigger runs an absolute one: the inner one is refused
CREATE FUNCTION am.cascade_to_other() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'cascade' THEN
		UPDATE am.invoices SET amount_paid = 1 WHERE firm_id = 1 AND id = 2;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER a_cascade BEFORE UPDATE ON am.invoices FOR EACH ROW EXECUTE FUNCTION am.cascade_to_other();
UPDATE am.invoices SET amount_paid = amount_paid + 1, status = 'cascade' WHERE firm_id = 1 AND id = 1;
-- and an absolute UPDATE whose trigger runs a relative one: the outer one is refused
CREATE OR REPLACE FUNCTION am.cascade_to_other() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'cascade' THEN
		UPDATE am.invoices SET amount_paid = amount_paid + 1 WHERE firm_id = 1 AND id = 2;
	END IF;
	RETURN NEW;
END;
$$;
UPDATE am.invoices SET amount_paid = 1, status = 'cascade' WHERE firm_id = 1 AND id = 1;
DROP TRIGGER a_cascade ON am.invoices;
-- an error inside a relative statement unwinds its context
UPDATE am.invoices SET amount_paid = amount_paid + 1 / (id - 2) WHERE firm_id = 1;
DO $$
BEGIN
	BEGIN
		UPDATE am.invoices SET amount_paid = amount_paid + 1 / (id - 2) WHERE firm_id = 1;
	EXCEPTION WHEN division_by_zero THEN
		RAISE NOTICE 'caught %', SQLERRM;
	END;
	UPDATE am.invoices SET amount_paid = 1 WHERE firm_id = 1 AND id = 2;
END;
$$;
SELECT id, amount_paid FROM am.invoices WHERE firm_id = 1 ORDER BY id;

-- a WITH query nobody reads runs when the statement finishes, judged by
-- the statement's assignments: x relative there, y absolute but unchanged
CREATE TABLE am.two (id int, firm_id int, x numeric, y numeric);
INSERT INTO am.two VALUES (1, 1, 10, 0), (2, 1, 10, 0);
SELECT tenant_guard.protect_amount('am.two', 'x');
SELECT tenant_guard.protect_amount('am.two', 'y');
WITH a AS (UPDATE am.two SET x = x + 1 WHERE firm_id = 1 AND id = 1 RETURNING id)
UPDATE am.two SET y = 0 WHERE firm_id = 1 AND id = 2;
WITH a AS (UPDATE am.two SET x = 99 WHERE firm_id = 1 AND id = 1 RETURNING id)
UPDATE am.two SET y = 0 WHERE firm_id = 1 AND id = 2;
SELECT id, x, y FROM am.two ORDER BY id;
-- an UPDATE run by a trigger that a foreign-key cascade fired is judged by its own assignments
CREATE TABLE am.customers (id int PRIMARY KEY, firm_id int);
CREATE TABLE am.credits (id int, firm_id int, customer_id int REFERENCES am.customers ON DELETE CASCADE,
	invoice_id int, amount numeric);
INSERT INTO am.customers VALUES (7, 1);
INSERT INTO am.credits VALUES (1, 1, 7, 2, 5);
CREATE FUNCTION am.undo_credit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE am.invoices SET amount_paid = amount_paid - OLD.amount WHERE firm_id = OLD.firm_id AND id = OLD.invoice_id;
	RETURN OLD;
END;
$$;
CREATE TRIGGER undo BEFORE DELETE ON am.credits FOR EACH ROW EXECUTE FUNCTION am.undo_credit();
DELETE FROM am.customers WHERE firm_id = 1 AND id = 7;
SELECT count(*) FROM am.credits WHERE firm_id = 1;
-- a lock taken by the same statement does not count, also when a trigger
-- that runs SQL (and so advances the command counter) fires first
CREATE TABLE am.notes (invoice_id int);
CREATE FUNCTION am.note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO am.notes VALUES (NEW.id);
	RETURN NEW;
END;
$$;
CREATE TRIGGER a_note BEFORE UPDATE ON am.invoices FOR EACH ROW EXECUTE FUNCTION am.note_change();
WITH locked AS (SELECT amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1 FOR UPDATE)
UPDATE am.invoices SET amount_paid = (SELECT amount_paid FROM locked) + 1 WHERE firm_id = 1 AND id = 1;
DROP TRIGGER a_note ON am.invoices;
SELECT id, amount_paid FROM am.invoices WHERE firm_id = 1 ORDER BY id;

------------------------------------------------------------------------
-- partitions share the protection of their partitioned table
------------------------------------------------------------------------
CREATE TABLE am.p_invoices (id int, firm_id int, amount_paid numeric(12, 2) NOT NULL DEFAULT 0)
	PARTITION BY LIST (firm_id);
CREATE TABLE am.p_invoices_1 PARTITION OF am.p_invoices FOR VALUES IN (1);
-- a partition whose columns are in another order
CREATE TABLE am.p_invoices_2 (amount_paid numeric(12, 2) NOT NULL DEFAULT 0, firm_id int, id int);
ALTER TABLE am.p_invoices ATTACH PARTITION am.p_invoices_2 FOR VALUES IN (2);
INSERT INTO am.p_invoices VALUES (1, 1, 100), (1, 2, 100);
SELECT tenant_guard.protect_amount('am.p_invoices', 'amount_paid');
SELECT tenant_guard.protect_amount('am.p_invoices_2', 'amount_paid');
SELECT tenant_guard.unprotect_amount('am.p_invoices_2', 'amount_paid');
SELECT * FROM tenant_guard.protected_amounts WHERE relid::text LIKE 'am.p%';
SELECT tgrelid::regclass, tgattr FROM pg_trigger
 WHERE tgname = 'tenant_guard_amounts' AND tgrelid::regclass::text LIKE 'am.p%' ORDER BY 1;
UPDATE am.p_invoices SET amount_paid = amount_paid + 5 WHERE firm_id IN (1, 2) AND id = 1;
UPDATE am.p_invoices_2 SET amount_paid = amount_paid + 5 WHERE firm_id = 2 AND id = 1;
UPDATE am.p_invoices SET amount_paid = 7 WHERE firm_id = 2 AND id = 1;
UPDATE am.p_invoices_2 SET amount_paid = 7 WHERE firm_id = 2 AND id = 1;
BEGIN;
SELECT amount_paid FROM am.p_invoices WHERE firm_id = 2 AND id = 1 FOR UPDATE;
UPDATE am.p_invoices SET amount_paid = 7 WHERE firm_id = 2 AND id = 1;
COMMIT;
-- a partition attached later gets the protection
CREATE TABLE am.p_invoices_3 PARTITION OF am.p_invoices FOR VALUES IN (3);
INSERT INTO am.p_invoices VALUES (1, 3, 0);
UPDATE am.p_invoices SET amount_paid = 9 WHERE firm_id = 3 AND id = 1;
SELECT tableoid::regclass, * FROM am.p_invoices ORDER BY firm_id;

------------------------------------------------------------------------
-- the column list is the registry: renames follow, DROP COLUMN refuses
------------------------------------------------------------------------
ALTER TABLE am.invoices DROP COLUMN amount_paid;
ALTER TABLE am.invoices RENAME COLUMN amount_paid TO paid;
SELECT * FROM tenant_guard.protected_amounts WHERE relid = 'am.invoices'::regclass;
UPDATE am.invoices SET paid = 5 WHERE firm_id = 1 AND id = 1;
ALTER TABLE am.invoices RENAME COLUMN paid TO amount_paid;

------------------------------------------------------------------------
-- log and off
------------------------------------------------------------------------
SET tenant_guard.amount_mode = log;
SET tenant_guard.client_messages = notice;
UPDATE am.invoices SET amount_paid = 500 WHERE firm_id = 1 AND id = 1;
RESET tenant_guard.client_messages;
UPDATE am.invoices SET amount_paid = 501 WHERE firm_id = 1 AND id = 1;
SET tenant_guard.amount_mode = off;
UPDATE am.invoices SET amount_paid = 502 WHERE firm_id = 1 AND id = 1;
RESET tenant_guard.amount_mode;
SELECT id, amount_paid FROM am.invoices WHERE firm_id = 1 AND id = 1;
-- a cached plan follows the mode in force when it runs
EXECUTE set_paid(503);
SET tenant_guard.amount_mode = log;
EXECUTE set_paid(504);
RESET tenant_guard.amount_mode;

------------------------------------------------------------------------
-- application roles: may pay, may not weaken the guard
------------------------------------------------------------------------
CREATE ROLE regress_amount_app;
GRANT USAGE ON SCHEMA am TO regress_amount_app;
GRANT SELECT, UPDATE ON am.invoices TO regress_amount_app;
SET ROLE regress_amount_app;
UPDATE am.invoices SET amount_paid = amount_paid + 1 WHERE firm_id = 1 AND id = 1;
UPDATE am.invoices SET amount_paid = 1 WHERE firm_id = 1 AND id = 1;
SET tenant_guard.amount_mode = off;
SELECT set_config('tenant_guard.amount_mode', 'log', false);
SELECT tenant_guard.unprotect_amount('am.invoices', 'amount_paid');
SELECT tenant_guard.protect_amount('am.invoices', 'status');
RESET ROLE;

------------------------------------------------------------------------
-- the audit trail: one row per refused or logged change
------------------------------------------------------------------------
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT command, relation, tenant_column, action, user_name, query
  FROM tenant_guard.violations
 WHERE kind = 'non_atomic_amount'
 ORDER BY id;
SELECT database_name = current_database() AS this_database,
	   backend_pid = pg_backend_pid() AS this_backend,
	   query_id IS NOT NULL AS has_query_id, detail
  FROM tenant_guard.violations
 WHERE kind = 'non_atomic_amount'
 ORDER BY id LIMIT 1;
SELECT kind, relation, count, sample_query FROM tenant_guard.violation_summary
 WHERE kind = 'non_atomic_amount' AND relation = 'am.p_invoices'
 ORDER BY count DESC;

-- unprotected, anything goes
SELECT tenant_guard.unprotect_amount('am.invoices', 'amount_paid');
UPDATE am.invoices SET amount_paid = 0 WHERE firm_id = 1 AND id = 1;
SELECT * FROM tenant_guard.protected_amounts WHERE relid::text LIKE 'am.%';

-- Only what is judged is carried in the plan.  A relative update of a
-- column that is not protected, or of any column with amount_mode = off,
-- plans as without tenant_guard: EXPLAIN VERBOSE names its output columns
-- unqualified, as for a plan of one table (am.wallets is no tenant table).
CREATE TABLE am.wallets (id int, funds numeric);
INSERT INTO am.wallets VALUES (1, 10);
EXPLAIN (VERBOSE, COSTS OFF) UPDATE am.wallets SET funds = funds + 1 WHERE id = 1;
SELECT tenant_guard.protect_amount('am.wallets', 'funds');
EXPLAIN (VERBOSE, COSTS OFF) UPDATE am.wallets SET funds = funds + 1 WHERE id = 1;
PREPARE pay_wallet(int) AS UPDATE am.wallets SET funds = funds + 1 WHERE id = $1;
SET plan_cache_mode = force_generic_plan;
SET tenant_guard.amount_mode = off;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE pay_wallet(1);
-- leaving off plans again, so the relative payment passes the trigger
SET tenant_guard.amount_mode = enforce;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE pay_wallet(1);
EXECUTE pay_wallet(1);
SELECT funds FROM am.wallets;
RESET plan_cache_mode;
DEALLOCATE pay_wallet;

-- A version column (optimistic locking: Rails' lock_version, Hibernate's
-- @Version).  Declared, every change of a protected amount must change it,
-- relative ones too, and an update that compares it in WHERE is a
-- compare-and-set, whatever value it writes.
CREATE TABLE am.accounts (id int PRIMARY KEY, firm_id int, credit numeric NOT NULL,
	lock_version int NOT NULL DEFAULT 0, note text, opened date);
INSERT INTO am.accounts VALUES (1, 1, 100, 0), (2, 1, 50, 0);
SELECT tenant_guard.set_amount_version_column('am.accounts', 'lock_version');
SELECT tenant_guard.protect_amount('am.accounts', 'credit');
SELECT tenant_guard.set_amount_version_column('am.accounts', 'nothing');
SELECT tenant_guard.set_amount_version_column('am.accounts', 'credit');
SELECT tenant_guard.set_amount_version_column('am.accounts', 'note');
SELECT tenant_guard.set_amount_version_column('am.accounts', 'lock_version');
SELECT * FROM tenant_guard.protected_amounts WHERE relid = 'am.accounts'::regclass;
-- compare-and-set: an absolute amount, the version compared and changed
UPDATE am.accounts SET credit = 60, lock_version = 1 WHERE firm_id = 1 AND id = 1 AND lock_version = 0;
UPDATE am.accounts SET credit = 70, lock_version = lock_version + 1
 WHERE firm_id = 1 AND id = 1 AND lock_version = 1;
-- a stale compare-and-set changes nothing
UPDATE am.accounts SET credit = 5, lock_version = 1 WHERE firm_id = 1 AND id = 1 AND lock_version = 0;
-- absolute without comparing the version: refused
UPDATE am.accounts SET credit = 80, lock_version = lock_version + 1 WHERE firm_id = 1 AND id = 1;
-- relative, leaving the version alone: refused
UPDATE am.accounts SET credit = credit + 1 WHERE firm_id = 1 AND id = 1;
-- comparing the version without changing it: refused
UPDATE am.accounts SET credit = 90 WHERE firm_id = 1 AND id = 1 AND lock_version = 2;
-- relative with the version changed: accepted; other columns: accepted
UPDATE am.accounts SET credit = credit + 1, lock_version = lock_version + 1 WHERE firm_id = 1 AND id = 1;
UPDATE am.accounts SET note = 'x' WHERE firm_id = 1 AND id = 1;
-- a generic plan of the compare-and-set, and ON CONFLICT DO UPDATE ... WHERE
PREPARE cas(numeric, int, int, int) AS UPDATE am.accounts SET credit = $1, lock_version = $2
 WHERE firm_id = 1 AND id = $3 AND lock_version = $4;
SET plan_cache_mode = force_generic_plan;
EXECUTE cas(100, 4, 1, 3);
RESET plan_cache_mode;
DEALLOCATE cas;
INSERT INTO am.accounts AS a VALUES (1, 1, 110, 5) ON CONFLICT (id)
 DO UPDATE SET credit = excluded.credit, lock_version = excluded.lock_version
 WHERE a.lock_version = 4;
INSERT INTO am.accounts AS a VALUES (1, 1, 120, 6) ON CONFLICT (id)
 DO UPDATE SET credit = excluded.credit, lock_version = excluded.lock_version;
SELECT id, credit, lock_version, note FROM am.accounts WHERE firm_id = 1 ORDER BY id;
-- protecting another column keeps the version column; a renamed one is
-- an error until it is declared again
ALTER TABLE am.accounts ADD COLUMN debit numeric NOT NULL DEFAULT 0;
SELECT tenant_guard.protect_amount('am.accounts', 'debit');
SELECT * FROM tenant_guard.protected_amounts WHERE relid = 'am.accounts'::regclass;
ALTER TABLE am.accounts RENAME COLUMN lock_version TO row_version;
UPDATE am.accounts SET credit = credit + 1, row_version = row_version + 1 WHERE firm_id = 1 AND id = 1;
SELECT tenant_guard.set_amount_version_column('am.accounts', 'row_version');
UPDATE am.accounts SET credit = credit + 1, row_version = row_version + 1 WHERE firm_id = 1 AND id = 1;
-- none: back to the rules without a version column
SELECT tenant_guard.set_amount_version_column('am.accounts', NULL);
SELECT * FROM tenant_guard.protected_amounts WHERE relid = 'am.accounts'::regclass;
UPDATE am.accounts SET credit = credit + 1 WHERE firm_id = 1 AND id = 1;
SELECT id, credit, row_version FROM am.accounts WHERE firm_id = 1 ORDER BY id;

DROP SCHEMA am CASCADE;
DROP ROLE regress_amount_app;

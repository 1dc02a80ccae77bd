-- The unforgeable context: signed values of tenant_guard.tenant, the keys'
-- visibility, require_signed_tenant, require_local_tenant, require_tenant
-- (missing_tenant) and break glass.  The test cluster has
-- tenant_guard.tenant_key = 'tenant-guard-regress-key-0123456789abcdef'
-- and tenant_guard.tenant_key_previous =
-- 'tenant-guard-regress-old-key-0123456789ab' (test/run-tests.sh); every
-- signature below is the HMAC-SHA256 of the text before ";sig=" under one
-- of them, or under a key the server does not know.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
SET tenant_guard.audit_sample_interval = 0;
CREATE SCHEMA sc;
CREATE TABLE sc.invoices (id int PRIMARY KEY, firm_id int NOT NULL, amount numeric NOT NULL DEFAULT 0);
INSERT INTO sc.invoices SELECT i, 1 + i % 2, 10 FROM generate_series(1, 6) i;
CREATE TABLE sc.plain (id int);		-- not a tenant table
CREATE ROLE regress_sc_app;
GRANT USAGE ON SCHEMA sc TO regress_sc_app;
GRANT ALL ON ALL TABLES IN SCHEMA sc TO regress_sc_app;
SET tenant_guard.mode = enforce;

\set t1 '1;exp=4102444800;sig=38a72a031611b4dec5153192cbdc5d01c6be042fdf1b812e5bc311640507c0ad'
\set t2 '2;exp=4102444800;sig=cbce024f8f0c3ef8b5d023274ab5b58a2838dbbb8ab70c933fea979e09e10533'
\set t12 '1, 2;exp=4102444800;sig=23e0f8a0164929dc98fdbdd49a996d104890c48218349c9c31d359000630447c'
\set t1_previous_key '1;exp=4102444800;sig=999f974688464268b28b71a658f45e501977a3231c534e51c2ac5d0ba92d9daf'
\set t1_unknown_key '1;exp=4102444800;sig=6e862622e66c228d81f1329f95d994f2093d72c83dc52d71383954424fe57c68'
\set t1_expired '1;exp=1000;sig=7052a3323e00cdd212587917fcf41e2d279a587f189e21d719f74c912372be3b'
\set t1_pid1 '1;exp=4102444800;pid=1;sig=c02c166258781175cd909293ea574f72b918fc1f822a1f7edf7090fc8e9ec4f6'
\set t1_as_2 '2;exp=4102444800;sig=38a72a031611b4dec5153192cbdc5d01c6be042fdf1b812e5bc311640507c0ad'

-- the keys: superusers can read them, nobody else can, not even their length
SELECT length(current_setting('tenant_guard.tenant_key')) AS key_length,
       length(current_setting('tenant_guard.tenant_key_previous')) AS previous_length;
SET ROLE regress_sc_app;
-- (PostgreSQL's message differs between versions: only the SQLSTATE here)
DO $$
DECLARE
	value text;
BEGIN
	BEGIN
		EXECUTE 'SHOW tenant_guard.tenant_key' INTO value;
		RAISE NOTICE 'SHOW tenant_guard.tenant_key: %', value;
	EXCEPTION WHEN insufficient_privilege THEN
		RAISE NOTICE 'SHOW tenant_guard.tenant_key: %', SQLSTATE;
	END;
	BEGIN
		value := current_setting('tenant_guard.tenant_key_previous');
		RAISE NOTICE 'current_setting(''tenant_guard.tenant_key_previous''): %', value;
	EXCEPTION WHEN insufficient_privilege THEN
		RAISE NOTICE 'current_setting(''tenant_guard.tenant_key_previous''): %', SQLSTATE;
	END;
END $$;
SELECT count(*) FROM pg_settings WHERE name LIKE 'tenant_guard.tenant_key%';
SET tenant_guard.tenant_key = 'an attempt to set a key in a session';
RESET ROLE;

-- 1. signed values: the context is the tenants part, for every check and in
-- the audit trail; SHOW, current_setting() and set_config() give the tenants,
-- never the signature, so that SQL in a request cannot copy its value
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true);
SHOW tenant_guard.tenant;
SELECT current_setting('tenant_guard.tenant'),
       (SELECT setting FROM pg_settings WHERE name = 'tenant_guard.tenant');
SELECT id, firm_id FROM sc.invoices ORDER BY id;
ROLLBACK;
BEGIN;
SET LOCAL tenant_guard.tenant = :'t12';
SELECT count(*) FROM sc.invoices;
ROLLBACK;
-- signed with the previous key, while keys are rotated
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1_previous_key', true);
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;

-- 2. refused, each leaving the setting as it was
SET tenant_guard.tenant = :'t2';
SELECT set_config('tenant_guard.tenant', :'t1_unknown_key', false);
SHOW tenant_guard.tenant;
SELECT set_config('tenant_guard.tenant', :'t1_as_2', false);
SHOW tenant_guard.tenant;
\set VERBOSITY terse
SELECT set_config('tenant_guard.tenant', :'t1_expired', false);	-- the detail names the time
SELECT set_config('tenant_guard.tenant', :'t1_pid1', false);	-- the detail names this backend
\set VERBOSITY default
SHOW tenant_guard.tenant;
SET tenant_guard.tenant = '1;exp=4102444800;sig=38A72A031611B4DEC5153192CBDC5D01C6BE042FDF1B812E5BC311640507C0AD';
SHOW tenant_guard.tenant;		-- upper-case hex is the same signature
SET tenant_guard.tenant = :'t2';
-- malformed: no exp, a short or long signature, a signature that is not
-- hex, no tenants, a signed exp; and a pid before exp, which makes it part
-- of the tenants, not what was signed
SET tenant_guard.tenant = '1;sig=38a72a031611b4dec5153192cbdc5d01c6be042fdf1b812e5bc311640507c0ad';
SET tenant_guard.tenant = '1;exp=4102444800;sig=38a72a03';
SET tenant_guard.tenant = '1;exp=4102444800;sig=38a72a031611b4dec5153192cbdc5d01c6be042fdf1b812e5bc311640507c0ad00';
SET tenant_guard.tenant = '1;exp=4102444800;sig=zz a72a031611b4dec5153192cbdc5d01c6be042fdf1b812e5bc311640507c0ad';
SET tenant_guard.tenant = ';exp=4102444800;sig=32e79f54d120e60854f2b3667d7ad0eafb925bf210f623dec7af26b19ae30266';
SET tenant_guard.tenant = '1;exp=+4102444800;sig=38a72a031611b4dec5153192cbdc5d01c6be042fdf1b812e5bc311640507c0ad';
SET tenant_guard.tenant = '1;pid=1;exp=4102444800;sig=c02c166258781175cd909293ea574f72b918fc1f822a1f7edf7090fc8e9ec4f6';
-- a value too long to be reported to the client
SELECT set_config('tenant_guard.tenant', repeat('1,', 20000) || '1', false);
SHOW tenant_guard.tenant;
-- a signed context checks rows like any other
SELECT id, firm_id FROM sc.invoices WHERE id = 1;
RESET tenant_guard.tenant;
RESET ROLE;

-- 3. require_signed_tenant: the role cannot switch it off; unsigned values
-- are refused when set, and when a statement would use one set before
SET tenant_guard.require_signed_tenant = on;
SET ROLE regress_sc_app;
SET tenant_guard.require_signed_tenant = off;
RESET tenant_guard.require_signed_tenant;
SET tenant_guard.tenant = '2';
SELECT set_config('tenant_guard.tenant', '2', true);
SHOW tenant_guard.tenant;
SET tenant_guard.tenant = '';		-- no context stays allowed
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;
RESET ROLE;
SET tenant_guard.require_signed_tenant = off;
SET tenant_guard.tenant = '2';
SET tenant_guard.require_signed_tenant = on;
SET ROLE regress_sc_app;
SELECT count(*) FROM sc.invoices WHERE firm_id = 2;
SELECT count(*) FROM sc.plain;		-- no tenant table: the context is not used
RESET ROLE;
RESET tenant_guard.tenant;
RESET tenant_guard.require_signed_tenant;

-- 4. require_local_tenant: only a transaction's context is accepted
CREATE FUNCTION sc.firm_one_count() RETURNS bigint LANGUAGE sql
	SET tenant_guard.tenant = '1;exp=4102444800;sig=38a72a031611b4dec5153192cbdc5d01c6be042fdf1b812e5bc311640507c0ad'
	AS 'SELECT count(*) FROM sc.invoices WHERE firm_id = 1';
CREATE FUNCTION sc.set_session_context(value text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('tenant_guard.tenant', value, false);
END $$;
CREATE FUNCTION sc.clear_in_rolled_back_block() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		PERFORM set_config('tenant_guard.tenant', '', false);
		RAISE EXCEPTION 'undo';
	EXCEPTION WHEN raise_exception THEN NULL;
	END;
	RETURN 1;
END $$;
SET tenant_guard.require_local_tenant = on;
SET ROLE regress_sc_app;
SET tenant_guard.tenant = :'t1';
SELECT set_config('tenant_guard.tenant', :'t1', false);
SHOW tenant_guard.tenant;
BEGIN;
SET tenant_guard.tenant = :'t1';
COMMIT;
BEGIN;
SET LOCAL tenant_guard.tenant = :'t1';
SELECT set_config('tenant_guard.tenant', :'t1', false);	-- SET LOCAL, then SET
ROLLBACK;
BEGIN;
SET LOCAL tenant_guard.tenant = :'t1';
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
SET tenant_guard.tenant FROM CURRENT;
ROLLBACK;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
COMMIT;
SHOW tenant_guard.tenant;		-- gone with the transaction
SET tenant_guard.tenant = '';	-- clearing is a session-level change that is allowed
-- a function's SET clause lasts for the call only
SELECT sc.firm_one_count();
-- a session-level change inside a function is refused when the statement
-- that called it returns
SELECT sc.set_session_context('1');
SHOW tenant_guard.tenant;
-- also when a later empty value inside a rolled-back block seems to undo it
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SELECT set_config('tenant_guard.tenant', current_setting('tenant_guard.tenant'), false) IS NOT NULL AS session_set,
       sc.clear_in_rolled_back_block();
COMMIT;
SHOW tenant_guard.tenant;
RESET ROLE;
-- a context the session had before the transaction is refused when used
SET tenant_guard.require_local_tenant = off;
SET tenant_guard.tenant = '1';
SET tenant_guard.require_local_tenant = on;
SET ROLE regress_sc_app;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
RESET ROLE;
RESET tenant_guard.tenant;
RESET tenant_guard.require_local_tenant;
-- a context from login (ALTER ROLE ... SET) is refused when used, also once
-- RESET or SET ... TO DEFAULT in a transaction brought it back
SELECT current_user AS superuser \gset
ALTER ROLE regress_sc_app LOGIN;
ALTER ROLE regress_sc_app SET tenant_guard.require_local_tenant = on;
ALTER ROLE regress_sc_app SET tenant_guard.tenant = :'t1';
\c - regress_sc_app
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
BEGIN;
RESET tenant_guard.tenant;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;
BEGIN;
SET LOCAL tenant_guard.tenant TO DEFAULT;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;
-- nor can the login value be set again: pg_settings and pg_db_role_setting
-- show it to every role
BEGIN;
SELECT set_config('tenant_guard.tenant',
                  (SELECT reset_val FROM pg_settings WHERE name = 'tenant_guard.tenant'), true);
ROLLBACK;
\c - :superuser
ALTER ROLE regress_sc_app RESET ALL;
ALTER ROLE regress_sc_app NOLOGIN;
SET tenant_guard.audit_sample_interval = 0;
SET tenant_guard.mode = enforce;
DROP FUNCTION sc.firm_one_count(), sc.set_session_context(text), sc.clear_in_rolled_back_block();

-- 4b. where contexts must be signed, a cross-tenant refusal closes the
-- tenant tables for the rest of the transaction, even when it was caught:
-- the refusal answers whether another tenant's row meets the statement's
-- conditions, and a transaction gets one such answer
SET tenant_guard.require_signed_tenant = on;
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SAVEPOINT s;
SELECT 1 FROM sc.invoices WHERE id = 1 AND amount >= 10;	-- firm 2's row
ROLLBACK TO s;
SELECT 1 FROM sc.invoices WHERE id = 1 AND amount >= 20;
ROLLBACK TO s;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;		-- its own rows too
ROLLBACK TO s;
SELECT count(*) FROM sc.plain;							-- other tables stay open
ROLLBACK;
-- a loop that catches each refusal gets one answer
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
DO $$
BEGIN
	FOR bound IN 5..20 BY 5 LOOP
		BEGIN
			PERFORM 1 FROM sc.invoices WHERE id = 1 AND amount >= bound;
			RAISE NOTICE 'amount >= %: no row', bound;
		EXCEPTION WHEN insufficient_privilege THEN
			RAISE NOTICE 'amount >= %: %', bound, SQLERRM;
		END;
	END LOOP;
END $$;
ROLLBACK;
-- cursors declared before the refusal ask nothing after it
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
DECLARE c1 CURSOR FOR SELECT 1 FROM sc.invoices WHERE id = 1 AND amount >= 10;
DECLARE c2 CURSOR FOR SELECT 1 FROM sc.invoices WHERE id = 1 AND amount >= 20;
SAVEPOINT s;
FETCH c1;
ROLLBACK TO s;
FETCH c2;
ROLLBACK;
-- the next transaction starts open
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;
-- a DO block that fails after a caught refusal leaves the next
-- transaction open
DO $$
BEGIN
	PERFORM set_config('tenant_guard.tenant',
		'1;exp=4102444800;sig=38a72a031611b4dec5153192cbdc5d01c6be042fdf1b812e5bc311640507c0ad', true);
	BEGIN
		PERFORM 1 FROM sc.invoices WHERE id = 1;
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	RAISE EXCEPTION 'the block fails';
END $$;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;
RESET ROLE;
RESET tenant_guard.require_signed_tenant;
-- without require_signed_tenant a caught refusal closes nothing
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SAVEPOINT s;
SELECT 1 FROM sc.invoices WHERE id = 1;
ROLLBACK TO s;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;
RESET ROLE;

-- 4c. under a context, a scope by a constant does not let cheaper code that
-- is not leakproof see other tenants' rows: the scan evaluates conditions
-- by cost, so such a statement is verified row by row, the check first
CREATE FUNCTION sc.cheap_leak(firm int, id int) RETURNS boolean LANGUAGE plpgsql COST 0.0001
	AS $$ BEGIN RAISE NOTICE 'saw row % of firm %', id, firm; RETURN true; END $$;
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT id FROM sc.invoices WHERE sc.cheap_leak(firm_id, id) AND firm_id = 1 ORDER BY id;
ROLLBACK;
RESET ROLE;
-- a function's SET clause cannot change the context in a parallel worker,
-- where the leader's context is all there is
CREATE FUNCTION sc.firm_two_count() RETURNS bigint LANGUAGE sql PARALLEL SAFE
	SET tenant_guard.tenant = '2' AS 'SELECT count(*) FROM sc.invoices WHERE firm_id = 2';
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', true) AS forced;
SELECT sc.firm_two_count();
ROLLBACK;
RESET ROLE;
-- in a join, such code and rows used but not returned get a barrier that
-- leaves other tenants' rows out, as row-level security does: a refusal
-- would fall on rows the join conditions drop, depending on the join method
CREATE TABLE sc.clients (id int PRIMARY KEY, firm_id int NOT NULL, name text);
INSERT INTO sc.clients VALUES (1, 1, 'one'), (2, 2, 'F2CLIENT');
ALTER TABLE sc.invoices ADD COLUMN client_id int;
UPDATE sc.invoices SET client_id = firm_id WHERE firm_id IN (1, 2);
GRANT SELECT ON sc.clients TO regress_sc_app;
CREATE FUNCTION sc.cheap_leak_name(name text) RETURNS boolean LANGUAGE plpgsql COST 0.0001
	AS $$ BEGIN RAISE NOTICE 'saw client %', name; RETURN true; END $$;
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SET LOCAL enable_nestloop = off;
SET LOCAL enable_mergejoin = off;
SELECT i.id, c.name FROM sc.invoices i JOIN sc.clients c ON c.id = i.client_id AND c.firm_id = i.firm_id
 WHERE i.firm_id = 1 AND sc.cheap_leak_name(c.name) ORDER BY i.id;
SELECT i.id, c.name FROM sc.invoices i JOIN sc.clients c ON c.id = i.client_id
 WHERE i.firm_id = 1 AND c.name::int = 1;
ROLLBACK;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SELECT i.id, lead(c.name) OVER (ORDER BY c.id, i.id) FROM sc.invoices i JOIN sc.clients c ON c.id = i.client_id
 ORDER BY c.id DESC, i.id DESC LIMIT 1;
-- another tenant's row asked for by id through such a join is left out
SELECT i.id, c.name FROM sc.invoices i JOIN sc.clients c ON c.id = i.client_id
 WHERE i.id = 1 AND upper(c.name) <> '';
-- and refused where no such code runs
SELECT i.id, c.name FROM sc.invoices i JOIN sc.clients c ON c.id = i.client_id WHERE i.id = 1;
ROLLBACK;
RESET ROLE;
-- views and subqueries in FROM hand their rows to the level above: a window
-- function or code that is not leakproof there gets the same barriers
CREATE VIEW sc.all_invoices AS SELECT * FROM sc.invoices;
CREATE VIEW sc.all_invoices_barrier WITH (security_barrier) AS SELECT * FROM sc.invoices;
CREATE FUNCTION sc.cheap_leak_note(note text) RETURNS boolean LANGUAGE plpgsql COST 0.0001
	AS $$ BEGIN RAISE NOTICE 'saw %', note; RETURN true; END $$;
GRANT SELECT ON sc.all_invoices, sc.all_invoices_barrier TO regress_sc_app;
UPDATE sc.invoices SET amount = 100 + id WHERE firm_id IN (1, 2);
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SELECT id, string_agg(amount::text, ' ') OVER () FROM (SELECT * FROM sc.invoices) s ORDER BY id LIMIT 1;
SELECT id, lead(amount) OVER (ORDER BY id) FROM sc.all_invoices ORDER BY id LIMIT 2;
SELECT id FROM sc.all_invoices WHERE firm_id = 1 AND sc.cheap_leak_note(amount::text) ORDER BY id;
SELECT id FROM sc.all_invoices_barrier WHERE firm_id = 1 AND sc.cheap_leak_note(amount::text) ORDER BY id;
SELECT id FROM (SELECT * FROM sc.invoices LIMIT 100) s WHERE id = 1 AND (amount::text)::int = 0;
ROLLBACK;
-- a plan made while no context was set keeps its row checks for when one is
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE made_without AS SELECT id FROM sc.invoices WHERE firm_id = 1 AND sc.cheap_leak_note(amount::text) ORDER BY id;
SAVEPOINT s;
SELECT set_config('tenant_guard.tenant', '', true);
EXECUTE made_without;	-- planned while no context is set
ROLLBACK TO s;
SHOW tenant_guard.tenant;
EXECUTE made_without;
DEALLOCATE made_without;
ROLLBACK;
RESET ROLE;
-- MERGE: a condition that is not leakproof in ON never sees other tenants'
-- rows, and a MERGE of the context's own row runs
CREATE FUNCTION sc.cheap_leak_false(note text) RETURNS boolean LANGUAGE plpgsql COST 0.0001
	AS $$ BEGIN RAISE NOTICE 'saw %', note; RETURN false; END $$;
GRANT UPDATE ON sc.invoices TO regress_sc_app;
-- the query of a SQL function the planner inlines gets no row check: a
-- scope by a value the statement changes is refused there
CREATE FUNCTION sc.invoices_of_setting() RETURNS SETOF sc.invoices LANGUAGE sql STABLE
	AS $$ SELECT * FROM sc.invoices WHERE firm_id = current_setting('sc.firm')::int $$;
SET tenant_guard.require_signed_tenant = on;
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SAVEPOINT s;
MERGE INTO sc.invoices t USING (SELECT 1 AS x) s ON sc.cheap_leak_false(t.amount::text)
	WHEN MATCHED THEN DO NOTHING;
ROLLBACK TO s;
ROLLBACK;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
MERGE INTO sc.invoices t USING (SELECT 2 AS id) s ON t.id = s.id AND t.firm_id = 1
	WHEN MATCHED THEN UPDATE SET amount = t.amount + 1;
ROLLBACK;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT set_config('sc.firm', '1', true);
SELECT id, set_config('sc.firm', '2', true) FROM sc.invoices_of_setting();
ROLLBACK;
-- EXPLAIN ANALYZE counts the rows a scan reads and removes, other tenants'
-- too: refused where contexts must be signed
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;
RESET ROLE;
RESET tenant_guard.require_signed_tenant;
DROP FUNCTION sc.cheap_leak_false(text), sc.invoices_of_setting();
DROP VIEW sc.all_invoices, sc.all_invoices_barrier;
DROP FUNCTION sc.cheap_leak_note(text);
DROP TABLE sc.clients;
ALTER TABLE sc.invoices DROP COLUMN client_id;
DROP FUNCTION sc.cheap_leak(int, int), sc.firm_two_count(), sc.cheap_leak_name(text);

-- 4d. deferred checks run at COMMIT or SET CONSTRAINTS, outside any
-- statement: where a context is required, a foreign key's look-up without
-- one is refused, and constraint errors keep their details to the server
-- log even after the context was cleared
CREATE TABLE sc.owners (id int PRIMARY KEY, firm_id int NOT NULL);
INSERT INTO sc.owners VALUES (1, 1), (2, 2);
CREATE TABLE sc.tasks (id int PRIMARY KEY, firm_id int NOT NULL,
	owner_id int REFERENCES sc.owners DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE sc.bookings (id int PRIMARY KEY, firm_id int NOT NULL, during int4range,
	EXCLUDE USING gist (during WITH &&) DEFERRABLE INITIALLY DEFERRED);
INSERT INTO sc.bookings VALUES (1, 2, '[100,200)');
GRANT SELECT, INSERT ON sc.owners, sc.tasks, sc.bookings TO regress_sc_app;
SET tenant_guard.require_tenant = on;
SET ROLE regress_sc_app;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
INSERT INTO sc.tasks VALUES (1, 1, 2);			-- firm 2's owner
SELECT set_config('tenant_guard.tenant', '', true);
COMMIT;
BEGIN;
SELECT set_config('tenant_guard.tenant', :'t1', true) IS NOT NULL AS set;
INSERT INTO sc.bookings VALUES (2, 1, '[150,160)');	-- overlaps firm 2's booking
SELECT set_config('tenant_guard.tenant', '', true);
DO $$
DECLARE
	detail text;
BEGIN
	SET CONSTRAINTS ALL IMMEDIATE;
EXCEPTION WHEN exclusion_violation THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RAISE NOTICE 'detail: %', detail;
END $$;
ROLLBACK;
RESET ROLE;
RESET tenant_guard.require_tenant;
SELECT count(*) AS tasks FROM sc.tasks WHERE firm_id IN (1, 2);
DROP TABLE sc.tasks, sc.owners, sc.bookings;

-- 5. require_tenant: a statement on tenant tables without a context is a
-- missing_tenant violation, refused in enforce, logged in log mode
SET tenant_guard.require_tenant = on;
SET ROLE regress_sc_app;
SET tenant_guard.require_tenant = off;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
SELECT count(*) FROM sc.invoices i JOIN sc.plain p ON p.id = i.id WHERE i.firm_id = 1;
UPDATE sc.invoices SET amount = amount + 1 WHERE firm_id = 1 AND id = 1;
COPY sc.invoices TO stdout;
TRUNCATE sc.invoices;
SELECT count(*) FROM sc.plain;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
ROLLBACK;
RESET ROLE;
SELECT tenant_guard.flush() >= 0 AS flushed;
SET tenant_guard.mode = log;
SET ROLE regress_sc_app;
SELECT count(*) FROM sc.invoices WHERE firm_id = 2;
RESET ROLE;
SET tenant_guard.mode = enforce;
RESET tenant_guard.require_tenant;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT kind, action, relation, tenant_column, command, tenant, reason
  FROM tenant_guard.violations WHERE relation LIKE 'sc.%' AND kind = 'missing_tenant'
 ORDER BY id;

-- 6. break glass: only for roles granted it, in a transaction block, with
-- a reason; its statements pass the scoping and context rules and are on
-- record, every one of them; the amount rules still apply
SELECT tenant_guard.protect_amount('sc.invoices', 'amount');
SET tenant_guard.amount_mode = enforce;
SET tenant_guard.require_tenant = on;
SET ROLE regress_sc_app;
BEGIN;
SELECT tenant_guard.break_glass('ticket 4711: monthly invoice run');
ROLLBACK;
RESET ROLE;
GRANT EXECUTE ON FUNCTION tenant_guard.break_glass(text) TO regress_sc_app;
SET ROLE regress_sc_app;
SELECT tenant_guard.break_glass('ticket 4711: monthly invoice run');
BEGIN;
SELECT tenant_guard.break_glass(' short  ');
ROLLBACK;
BEGIN;
SELECT tenant_guard.break_glass(NULL);
ROLLBACK;
BEGIN;
SELECT tenant_guard.break_glass('ticket 4711: monthly invoice run');
SELECT count(*) FROM sc.invoices;
SELECT count(*) FROM sc.invoices;
SELECT set_config('tenant_guard.tenant', '1', true);
SELECT id, firm_id FROM sc.invoices WHERE id = 1;	-- firm 2's row
SAVEPOINT s;
UPDATE sc.invoices SET amount = 5 WHERE firm_id = 1 AND id = 2;
ROLLBACK TO s;
UPDATE sc.invoices SET amount = amount + 1;
COMMIT;
SELECT count(*) FROM sc.invoices;		-- the transaction is over
-- rolling back to a savepoint before the call ends it
BEGIN;
SAVEPOINT s;
SELECT tenant_guard.break_glass('ticket 4712: support case for firm 2');
SELECT count(*) FROM sc.invoices;
ROLLBACK TO s;
SELECT count(*) FROM sc.invoices;
ROLLBACK;
-- a second call rolled back to a savepoint gives the first call's reason back
BEGIN;
SELECT tenant_guard.break_glass('ticket 4714: the reason that stands');
SAVEPOINT s;
SELECT tenant_guard.break_glass('ticket 4715: a reason rolled back');
ROLLBACK TO s;
SELECT count(*) FROM sc.invoices WHERE firm_id = 1;
COMMIT;
-- a savepoint released after the call keeps it
BEGIN;
SAVEPOINT s;
SELECT tenant_guard.break_glass('ticket 4713: data migration');
RELEASE s;
SELECT count(*) FROM sc.invoices WHERE firm_id = 2;
COMMIT;
RESET ROLE;
RESET tenant_guard.require_tenant;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT kind, action, relation, command, tenant, reason, query
  FROM tenant_guard.violations WHERE relation LIKE 'sc.%' AND kind IN ('break_glass', 'non_atomic_amount')
 ORDER BY id;
-- they are not violations: the summary leaves them out
SELECT kind, sum(count) AS count FROM tenant_guard.violation_summary WHERE relation = 'sc.invoices'
 GROUP BY kind ORDER BY kind;

RESET tenant_guard.amount_mode;
RESET tenant_guard.mode;
DROP SCHEMA sc CASCADE;
REVOKE EXECUTE ON FUNCTION tenant_guard.break_glass(text) FROM regress_sc_app;
DROP ROLE regress_sc_app;

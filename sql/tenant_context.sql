-- The tenant context: tenant_guard.tenant, value checks of scoped
-- statements (constants, parameters of custom and generic plans, stable
-- expressions, initplan outputs), written rows, the column types, the
-- invalid-value error, SET LOCAL, savepoints, several tenants, log mode and
-- the audit trail, check().
CREATE EXTENSION IF NOT EXISTS tenant_guard;
-- Every violation keeps a row of its own here (repeats are not sampled),
-- so that each can be read back.
SET tenant_guard.audit_sample_interval = 0;
CREATE SCHEMA tc;
CREATE TABLE tc.invoices (id int PRIMARY KEY, firm_id int NOT NULL, amount numeric NOT NULL DEFAULT 0);
INSERT INTO tc.invoices SELECT i, 1 + i % 3, i FROM generate_series(1, 30) i;
CREATE TABLE tc.plain (id int);		-- not a tenant table
SET tenant_guard.mode = enforce;

-- the settings
SHOW tenant_guard.tenant;
SHOW tenant_guard.verify_rows;
SET tenant_guard.tenant = '5, 6 ,7';
SHOW tenant_guard.tenant;
SET tenant_guard.tenant = '5,,6';
SET tenant_guard.tenant = ',';
CREATE ROLE tc_app;
GRANT USAGE ON SCHEMA tc TO tc_app;
GRANT ALL ON ALL TABLES IN SCHEMA tc TO tc_app;
SET ROLE tc_app;
SET tenant_guard.tenant = '1';	-- any role may set the context
SELECT set_config('tenant_guard.tenant', '2', true);
SET tenant_guard.verify_rows = off;	-- but not switch row verification off
RESET ROLE;
RESET tenant_guard.tenant;

-- without a context nothing changes: any tenant's scope passes
SELECT count(*) FROM tc.invoices WHERE firm_id = 3;

-- 1. scoped statements are checked by value
SET tenant_guard.tenant = '2';
SELECT count(*) FROM tc.invoices WHERE firm_id = 2;
SELECT count(*) FROM tc.invoices WHERE firm_id = 3;
SELECT count(*) FROM tc.invoices WHERE firm_id IN (2, 3);
SELECT count(*) FROM tc.invoices WHERE firm_id = 2 OR firm_id = 3;
SELECT count(*) FROM tc.invoices WHERE firm_id = ANY ('{2,NULL}'::int[]);
SELECT count(*) FROM tc.invoices WHERE firm_id = NULL::int;
UPDATE tc.invoices SET amount = amount WHERE firm_id = 3;
DELETE FROM tc.invoices WHERE firm_id = 3 AND id = 2;
SELECT count(*) FROM tc.invoices WHERE firm_id = 1 + 1;
SELECT count(*) FROM tc.invoices WHERE firm_id = (SELECT 3);
SELECT count(*) FROM tc.invoices WHERE firm_id = (SELECT 2);
SELECT count(*) FROM tc.invoices WHERE firm_id = current_setting('tenant_guard.tenant')::int;
SELECT count(*) FROM tc.invoices WHERE firm_id = 2::bigint;
SELECT count(*) FROM tc.invoices WHERE firm_id = 3::numeric;
-- nothing is read before the check: the error comes before the first row
SELECT id FROM tc.invoices WHERE firm_id = 3 AND 1 / (id - id) = 1;
-- the full error
SELECT count(*) FROM tc.invoices WHERE firm_id = 7;

-- several tenants
SET tenant_guard.tenant = '2, 3';
SELECT count(*) FROM tc.invoices WHERE firm_id IN (2, 3);
SELECT count(*) FROM tc.invoices WHERE firm_id IN (1, 2);

-- prepared statements: custom plans, then the generic plan after five
-- executions, each checked against the context of its execution
SET tenant_guard.tenant = '2';
PREPARE by_firm(int) AS SELECT count(*) FROM tc.invoices WHERE firm_id = $1;
EXECUTE by_firm(2);
EXECUTE by_firm(2);
EXECUTE by_firm(2);
EXECUTE by_firm(2);
EXECUTE by_firm(2);
EXECUTE by_firm(2);
EXPLAIN (COSTS OFF) EXECUTE by_firm(2);
EXECUTE by_firm(3);
SET tenant_guard.tenant = '3';
EXECUTE by_firm(3);
EXECUTE by_firm(2);
SET plan_cache_mode = force_generic_plan;
PREPARE by_firms(int[]) AS SELECT count(*) FROM tc.invoices WHERE firm_id = ANY ($1);
EXECUTE by_firms('{3}');
EXECUTE by_firms('{3,1}');
RESET plan_cache_mode;
-- a plan cached without a context, run with one, and the other way round
RESET tenant_guard.tenant;
PREPARE other_firm AS SELECT count(*) FROM tc.invoices WHERE firm_id = 1;
EXECUTE other_firm;
SET tenant_guard.tenant = '2';
EXECUTE other_firm;
RESET tenant_guard.tenant;
EXECUTE other_firm;
-- PL/pgSQL variables are parameters too
CREATE FUNCTION tc.count_of(f int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(*) FROM tc.invoices WHERE firm_id = f);
END $$;
SET tenant_guard.tenant = '2';
SELECT tc.count_of(2);
-- (without the error's context: PL/pgSQL names it differently from 18 on)
\set SHOW_CONTEXT never
SELECT tc.count_of(1);
\set SHOW_CONTEXT errors

-- SET LOCAL ends with the transaction, also when it rolls back; a
-- savepoint rolled back restores the context it saved
RESET tenant_guard.tenant;
BEGIN;
SET LOCAL tenant_guard.tenant = '2';
SELECT count(*) FROM tc.invoices WHERE firm_id = 3;
ROLLBACK;
SHOW tenant_guard.tenant;
SELECT count(*) FROM tc.invoices WHERE firm_id = 3;
BEGIN;
SELECT set_config('tenant_guard.tenant', '2', true);
SELECT count(*) FROM tc.invoices WHERE firm_id = 2;
SAVEPOINT s1;
SET LOCAL tenant_guard.tenant = '3';
SELECT count(*) FROM tc.invoices WHERE firm_id = 3;
ROLLBACK TO SAVEPOINT s1;
SHOW tenant_guard.tenant;
SELECT count(*) FROM tc.invoices WHERE firm_id = 3;
ROLLBACK;
SHOW tenant_guard.tenant;

-- 3. written rows: INSERT, UPDATE of the tenant column, ON CONFLICT DO
-- UPDATE, MERGE, COPY FROM; NULL is outside every context
SET tenant_guard.tenant = '2';
INSERT INTO tc.invoices VALUES (100, 2);
INSERT INTO tc.invoices VALUES (101, 3);
INSERT INTO tc.invoices VALUES (102, 2), (103, 3);
INSERT INTO tc.invoices (id, amount) VALUES (104, 1);
INSERT INTO tc.invoices SELECT 105, 2;
INSERT INTO tc.invoices SELECT 106, 1;
UPDATE tc.invoices SET firm_id = 3 WHERE firm_id = 2 AND id = 100;
UPDATE tc.invoices SET firm_id = 2, amount = 5 WHERE firm_id = 2 AND id = 100;
INSERT INTO tc.invoices VALUES (100, 2, 7) ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
INSERT INTO tc.invoices VALUES (100, 2, 7) ON CONFLICT (id) DO UPDATE SET firm_id = 3;
INSERT INTO tc.invoices VALUES (150, 3, 7) ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
MERGE INTO tc.invoices i USING (VALUES (107, 3)) v(id, f) ON i.id = v.id AND i.firm_id = 2
  WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.f);
MERGE INTO tc.invoices i USING (VALUES (107, 2)) v(id, f) ON i.id = v.id AND i.firm_id = 2
  WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.f);
MERGE INTO tc.invoices i USING (VALUES (107, 3)) v(id, f) ON i.id = v.id AND i.firm_id = 2
  WHEN MATCHED THEN UPDATE SET firm_id = v.f;
COPY tc.invoices (id, firm_id) FROM stdin;
108	2
\.
COPY tc.invoices (id, firm_id) FROM stdin;
109	2
110	3
\.
-- the user's own COPY condition comes first: rows it skips are not checked
COPY tc.invoices (id, firm_id) FROM stdin WHERE firm_id = 2;
111	2
112	3
\.
SELECT id, firm_id FROM tc.invoices WHERE firm_id = 2 AND id >= 100 ORDER BY id;
-- a prepared INSERT, checked at each execution against its context
PREPARE ins(int, int) AS INSERT INTO tc.invoices (id, firm_id) VALUES ($1, $2);
EXECUTE ins(120, 2);
EXECUTE ins(121, 3);
SET tenant_guard.tenant = '3';
EXECUTE ins(121, 3);
RESET tenant_guard.tenant;
EXECUTE ins(122, 1);
-- tables that are not tenant tables are not concerned
SET tenant_guard.tenant = '2';
INSERT INTO tc.plain VALUES (1);
SELECT count(*) FROM tc.plain;

-- the invalid-value error names the setting, the value and the column,
-- and changes nothing
SET tenant_guard.tenant = 'abc';
INSERT INTO tc.invoices VALUES (130, 2);
SELECT count(*) FROM tc.invoices WHERE firm_id = 2;
SELECT count(*) FROM tc.invoices WHERE id = 1;
SET tenant_guard.tenant = '2, x';
SELECT count(*) FROM tc.invoices WHERE firm_id = 2;
RESET tenant_guard.tenant;
SELECT count(*) FROM tc.invoices WHERE firm_id = 2 AND id = 130;

-- each column type: compared in the column's own type
CREATE TABLE tc.t_bigint (id int PRIMARY KEY, firm_id bigint);
CREATE TABLE tc.t_numeric (id int PRIMARY KEY, firm_id numeric);
CREATE TABLE tc.t_uuid (id int PRIMARY KEY, firm_id uuid);
CREATE TABLE tc.t_text (id int PRIMARY KEY, firm_id text);
CREATE TABLE tc.t_varchar (id int PRIMARY KEY, firm_id varchar(20));
CREATE TABLE tc.t_char (id int PRIMARY KEY, firm_id char(4));
CREATE DOMAIN tc.firm AS int CHECK (VALUE > 0);
CREATE TABLE tc.t_domain (id int PRIMARY KEY, firm_id tc.firm);
SET tenant_guard.tenant = '5';
INSERT INTO tc.t_bigint VALUES (1, 5), (2, 6);
SET tenant_guard.tenant = '05.0';
INSERT INTO tc.t_numeric VALUES (1, 5);
INSERT INTO tc.t_numeric VALUES (2, 5.5);
SET tenant_guard.tenant = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11';
INSERT INTO tc.t_uuid VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
INSERT INTO tc.t_uuid VALUES (2, 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SET tenant_guard.tenant = 'acme';
INSERT INTO tc.t_text VALUES (1, 'acme');
INSERT INTO tc.t_text VALUES (2, 'Acme');
INSERT INTO tc.t_varchar VALUES (1, 'acme');
INSERT INTO tc.t_varchar VALUES (2, 'acme2');
INSERT INTO tc.t_char VALUES (1, 'acme');
SELECT count(*) FROM tc.t_char WHERE firm_id = 'acme  ';
SET tenant_guard.tenant = '5';
INSERT INTO tc.t_domain VALUES (1, 5);
INSERT INTO tc.t_domain VALUES (2, 6);
SET tenant_guard.tenant = '0';
SELECT count(*) FROM tc.t_domain WHERE firm_id = 5;
SET tenant_guard.tenant = '5';
SELECT count(*) FROM tc.t_bigint WHERE firm_id = 5;
SELECT count(*) FROM tc.t_bigint WHERE firm_id = 6;
SELECT count(*) FROM tc.t_uuid WHERE firm_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SET tenant_guard.tenant = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SELECT count(*) FROM tc.t_uuid WHERE firm_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SELECT count(*) FROM tc.t_uuid WHERE firm_id = 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SET tenant_guard.tenant = 'acme';
SELECT count(*) FROM tc.t_varchar WHERE firm_id = 'acme';
SELECT count(*) FROM tc.t_varchar WHERE firm_id = 'other';
-- a scope in another type than the column's names the rows whose column
-- converts to its value: the context is compared as the column writes it
SET tenant_guard.tenant = '05';
SELECT count(*) FROM tc.t_bigint WHERE firm_id::text = '5';
SELECT count(*) FROM tc.t_bigint WHERE firm_id::text IN ('5', '6');
SELECT count(*) FROM tc.t_bigint WHERE firm_id = 5.0;
SET tenant_guard.tenant = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11';
SELECT count(*) FROM tc.t_uuid WHERE firm_id::text = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SELECT count(*) FROM tc.t_uuid WHERE firm_id::text = 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
PREPARE other_type(text) AS SELECT count(*) FROM tc.t_uuid WHERE firm_id::text = $1;
EXECUTE other_type('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
DEALLOCATE other_type;
RESET tenant_guard.tenant;

-- log mode: the statement runs, is reported once, and the audit row has
-- the context and the tenant value outside it
SET tenant_guard.mode = log;
SET tenant_guard.client_messages = warning;
SELECT tenant_guard.flush() >= 0 AS flushed;
SET tenant_guard.tenant = '2';
SELECT count(*) FROM tc.invoices WHERE firm_id = 3;
INSERT INTO tc.invoices VALUES (140, 3), (141, 1);
DELETE FROM tc.invoices WHERE id IN (140, 141) AND firm_id IN (1, 3);
RESET tenant_guard.tenant;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT kind, relation, tenant_column, action, tenant, row_tenant, command
  FROM tenant_guard.violations WHERE relation = 'tc.invoices' AND kind LIKE 'cross%'
 ORDER BY occurred_at, id;
RESET tenant_guard.client_messages;
SET tenant_guard.mode = enforce;

-- the row checks run only where tenant_guard puts them: calling them by
-- hand cannot write audit rows
SELECT tenant_guard.verify_row('tc.invoices'::regclass, 1, false, false);
SELECT tenant_guard.verify_written('tc.invoices'::regclass, 1);
SELECT tenant_guard.verify_copied('tc.invoices'::regclass, 1);

-- mode off checks nothing
SET tenant_guard.mode = off;
SET tenant_guard.tenant = '2';
SELECT count(*) FROM tc.invoices WHERE firm_id = 3;
RESET tenant_guard.tenant;
SET tenant_guard.mode = enforce;

-- 7. check() reports the constants it sees against the session's context
SET tenant_guard.tenant = '2';
SELECT * FROM tenant_guard.check('SELECT * FROM tc.invoices WHERE firm_id = 3');
SELECT * FROM tenant_guard.check('UPDATE tc.invoices SET amount = 0 WHERE firm_id IN (2, 1)');
SELECT * FROM tenant_guard.check('SELECT * FROM tc.invoices WHERE firm_id = 2');
SELECT * FROM tenant_guard.check('SELECT * FROM tc.invoices WHERE firm_id = $1');
RESET tenant_guard.tenant;
SELECT * FROM tenant_guard.check('SELECT * FROM tc.invoices WHERE firm_id = 3');

-- 8. a tenant column whose type changes between two statements is compared
-- in its new type at once (as text, '02' is another tenant than '2')
CREATE TABLE tc.retyped (id int, firm_id int);
INSERT INTO tc.retyped VALUES (1, 2);
SET tenant_guard.tenant = '2';
SELECT id FROM tc.retyped WHERE firm_id = 2;
ALTER TABLE tc.retyped ALTER firm_id TYPE text;
SELECT id FROM tc.retyped WHERE firm_id = '2';
SELECT id FROM tc.retyped WHERE firm_id = '02';
SET tenant_guard.tenant = '00000000-0000-0000-0000-000000000002';
ALTER TABLE tc.retyped ALTER firm_id TYPE uuid USING '00000000-0000-0000-0000-000000000002';
SELECT id FROM tc.retyped WHERE firm_id = '00000000-0000-0000-0000-000000000002';
SELECT id FROM tc.retyped WHERE firm_id = '00000000-0000-0000-0000-000000000003';
RESET tenant_guard.tenant;

-- 9. statements whose every tenant table the conditions as written pin to
-- a constant or parameter, directly or through equal tenant columns (also
-- an outer join's ON clause), are planned without examining each scan:
-- the pinned values are their value checks, whatever the plan
CREATE TABLE tc.notes (id int, firm_id int NOT NULL, invoice_id int);
INSERT INTO tc.notes SELECT i, 1 + i % 3, i FROM generate_series(1, 30) i;
CREATE TABLE tc.events (id int, firm_id int NOT NULL);
CREATE TABLE tc.events_2026 () INHERITS (tc.events);
INSERT INTO tc.events_2026 VALUES (1, 2), (2, 3);
SET tenant_guard.tenant = '2';
SELECT count(*) FROM tc.invoices i JOIN tc.notes n ON n.firm_id = i.firm_id AND n.invoice_id = i.id
 WHERE i.firm_id = 2;
SELECT count(*) FROM tc.invoices i JOIN tc.notes n ON n.firm_id = i.firm_id AND n.invoice_id = i.id
 WHERE i.firm_id = 3;
SELECT count(*) FROM tc.invoices i JOIN tc.notes n ON n.invoice_id = i.id
 WHERE i.firm_id = 2 AND n.firm_id = 3;
SELECT count(*) FROM tc.invoices i LEFT JOIN tc.notes n ON n.firm_id = i.firm_id AND n.invoice_id = i.id
 WHERE i.firm_id = 3;
SELECT id FROM tc.invoices WHERE firm_id = 3 AND id = 3 FOR UPDATE;
SELECT count(*) FROM tc.events WHERE firm_id = 2;
SELECT count(*) FROM tc.events WHERE firm_id = 3;
SELECT count(*) FROM tc.invoices WHERE firm_id = 3::bigint AND id = 3;
-- a generic plan made without a context, run under one
RESET tenant_guard.tenant;
SET plan_cache_mode = force_generic_plan;
PREPARE pinned_join(int) AS SELECT count(*) FROM tc.invoices i
 JOIN tc.notes n ON n.firm_id = i.firm_id AND n.invoice_id = i.id WHERE i.firm_id = $1;
EXECUTE pinned_join(3);
SET tenant_guard.tenant = '2';
EXECUTE pinned_join(2);
EXECUTE pinned_join(3);
RESET plan_cache_mode;
-- a PL/pgSQL statement's saved plan, made under one context, run under another
CREATE FUNCTION tc.firm3_count() RETURNS bigint LANGUAGE plpgsql
 AS $$ DECLARE n bigint; BEGIN SELECT count(*) INTO n FROM tc.invoices WHERE firm_id = 3; RETURN n; END $$;
SET tenant_guard.tenant = '3';
SELECT tc.firm3_count();
SET tenant_guard.tenant = '2';
SELECT tc.firm3_count();
-- the pinned values ride on the plan's own range-table entries: EXPLAIN
-- VERBOSE names columns as it does without the extension
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM tc.notes WHERE firm_id = 2 AND id = 2;
-- a second term on a pinned column is checked too, whatever the order
SET plan_cache_mode = force_generic_plan;
PREPARE two_pins(int, int) AS SELECT count(*) FROM tc.invoices WHERE firm_id = $1 AND firm_id = $2;
EXECUTE two_pins(2, 3);
EXECUTE two_pins(3, 2);
RESET plan_cache_mode;
SELECT count(*) FROM tc.invoices WHERE firm_id = 2 AND firm_id IN (2, 3);
SELECT count(*) FROM tc.invoices WHERE firm_id IN (2, 3) AND firm_id = 2;
-- code that is not leakproof where the planner moves it next to the scope:
-- a HAVING term without an aggregate, an operator's negator under NOT
CREATE FUNCTION tc.peek(text) RETURNS bool LANGUAGE plpgsql STABLE COST 0.0001
 AS $$ BEGIN RAISE NOTICE 'peek saw %', $1; RETURN true; END $$;
CREATE FUNCTION tc.leaky_ne(int, int) RETURNS bool LANGUAGE plpgsql IMMUTABLE COST 0.0001
 AS $$ BEGIN RAISE NOTICE 'leaky_ne saw %', $1; RETURN $1 <> $2; END $$;
CREATE OPERATOR tc.!== (leftarg = int, rightarg = int, function = tc.leaky_ne);
CREATE OPERATOR tc.=== (leftarg = int, rightarg = int, function = pg_catalog.int4eq,
 negator = OPERATOR(tc.!==));
SELECT id FROM tc.invoices WHERE firm_id = 2 AND id < 6 GROUP BY id, firm_id
 HAVING tc.peek('firm ' || firm_id) ORDER BY id;
SELECT id FROM tc.invoices WHERE firm_id = 2 AND id < 6 AND NOT (id OPERATOR(tc.===) 0)
 ORDER BY id;
SELECT count(*) FROM tc.invoices i JOIN tc.notes n ON n.firm_id = i.firm_id AND n.invoice_id = i.id
 WHERE i.firm_id = 2 AND i.id < 6 AND NOT (n.id OPERATOR(tc.===) 0 OR i.id < 0);
SELECT id FROM tc.invoices WHERE id < 6 AND NOT (id OPERATOR(tc.===) 0) ORDER BY id;
-- and check() sees their constants
SELECT * FROM tenant_guard.check('SELECT * FROM tc.invoices i JOIN tc.notes n ON n.firm_id = i.firm_id WHERE i.firm_id = 3');
RESET tenant_guard.tenant;

RESET tenant_guard.mode;
DROP SCHEMA tc CASCADE;
DROP ROLE tc_app;

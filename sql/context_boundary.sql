-- The tenant context as a boundary: statements an application's role can
-- send to get around the context, each refused or contained.  One section
-- per way around it.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
SET tenant_guard.audit_sample_interval = 0;
SET tenant_guard.mode = enforce;
\set VERBOSITY terse
CREATE ROLE regress_cb_app;
GRANT CREATE ON SCHEMA public TO regress_cb_app;

-- 0. User code run while the context's values are converted (a domain's
-- check on the tenant column) changes the context: refused, and the
-- backend survives.  The converted values were once sized before the
-- check ran and read after it.
SET ROLE regress_cb_app;
CREATE FUNCTION pg_temp.grow(int) RETURNS boolean LANGUAGE sql
	AS $$ SELECT set_config('tenant_guard.tenant',
		(SELECT string_agg(g::text, ',') FROM generate_series(1, 2000) g), true) IS NOT NULL $$;
CREATE DOMAIN cb_firm AS int;
CREATE TABLE cb_tt (id int, firm_id cb_firm);
INSERT INTO cb_tt VALUES (1, 1), (2, 2);
ALTER DOMAIN cb_firm ADD CONSTRAINT grows CHECK (pg_temp.grow(VALUE)) NOT VALID;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SELECT * FROM cb_tt WHERE id = 1;
ROLLBACK;
SHOW tenant_guard.tenant;
-- A check that reads another tenant table under the context converts the
-- context to that table's type inside the outer conversion: both finish.
CREATE TABLE cb_other (id int, firm_id bigint);
INSERT INTO cb_other VALUES (1, 1), (2, 2);
CREATE FUNCTION pg_temp.peek(int) RETURNS boolean LANGUAGE sql
	AS $$ SELECT count(*) = 1 FROM cb_other WHERE id = $1 $$;
ALTER DOMAIN cb_firm DROP CONSTRAINT grows;
ALTER DOMAIN cb_firm ADD CONSTRAINT peeks CHECK (pg_temp.peek(VALUE)) NOT VALID;
BEGIN;
SELECT set_config('tenant_guard.tenant', '1', true);
SELECT * FROM cb_tt WHERE id = 1;
SELECT * FROM cb_tt WHERE id = 2;
ROLLBACK;
DROP TABLE cb_tt, cb_other;
DROP DOMAIN cb_firm;
RESET ROLE;
SET ROLE regress_cb_app;
DROP FUNCTION pg_temp.grow(int), pg_temp.peek(int);
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM regress_cb_app;
DROP ROLE regress_cb_app;

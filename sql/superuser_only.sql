-- An application role can neither weaken the guard nor change the
-- registry, by any route; a superuser can delegate both explicitly.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE ROLE regress_app;
CREATE SCHEMA priv;
GRANT USAGE, CREATE ON SCHEMA priv TO regress_app;
CREATE TABLE priv.invoices (id int, firm_id int);
GRANT SELECT ON priv.invoices TO regress_app;

SET ROLE regress_app;
\set VERBOSITY terse
-- settings are superuser-only: SET, SET LOCAL, set_config(), ALTER ROLE,
-- and a function's SET clause
SET tenant_guard.mode = off;
BEGIN;
SET LOCAL tenant_guard.mode = off;
ROLLBACK;
SELECT set_config('tenant_guard.mode', 'off', false);
SET tenant_guard.tenant_columns = 'nothing_at_all';
SELECT set_config('tenant_guard.tenant_columns', 'nothing_at_all', true);
ALTER ROLE regress_app SET tenant_guard.mode = off;
ALTER ROLE regress_app SET tenant_guard.tenant_columns = 'nothing_at_all';
CREATE FUNCTION priv.guard_off() RETURNS text LANGUAGE sql
	SET tenant_guard.mode = off AS 'SELECT current_setting(''tenant_guard.mode'')';
SHOW tenant_guard.mode;
SHOW tenant_guard.tenant_columns;

-- the registry can be read through the view, but not changed
SELECT relid, tenant_column, source FROM tenant_guard.tenant_tables
 WHERE relid::text LIKE 'priv.%';
SELECT tenant_guard.register_table('priv.invoices', 'id');
SELECT tenant_guard.exclude_table('priv.invoices');
SELECT tenant_guard.forget_table('priv.invoices');
INSERT INTO tenant_guard.registry (relid, tenant_column) VALUES ('priv.invoices', 'id');
DELETE FROM tenant_guard.registry;
TRUNCATE tenant_guard.registry;
SELECT count(*) FROM tenant_guard.registry;
RESET ROLE;

-- a superuser can delegate: EXECUTE on a registry function, SET on a setting
GRANT EXECUTE ON FUNCTION tenant_guard.exclude_table(regclass) TO regress_app;
GRANT SET ON PARAMETER tenant_guard.mode TO regress_app;
SET ROLE regress_app;
SELECT tenant_guard.exclude_table('priv.invoices');
SELECT relid, tenant_column, source FROM tenant_guard.tenant_tables
 WHERE relid::text LIKE 'priv.%';
SET tenant_guard.mode = enforce;
SHOW tenant_guard.mode;
SELECT tenant_guard.forget_table('priv.invoices');
RESET tenant_guard.mode;
RESET ROLE;

-- a superuser may set per-role defaults
ALTER ROLE regress_app SET tenant_guard.mode = enforce;
SELECT unnest(setconfig) FROM pg_db_role_setting
 WHERE setrole = 'regress_app'::regrole;
ALTER ROLE regress_app RESET tenant_guard.mode;

SELECT tenant_guard.forget_table('priv.invoices');
REVOKE SET ON PARAMETER tenant_guard.mode FROM regress_app;
REVOKE EXECUTE ON FUNCTION tenant_guard.exclude_table(regclass) FROM regress_app;
DROP SCHEMA priv CASCADE;
DROP ROLE regress_app;

-- An application role cannot switch the guard off or weaken it by any
-- means; a superuser can exempt a maintenance role with ALTER ROLE ... SET.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
SELECT current_user AS superuser_name \gset
CREATE ROLE regress_guarded_app LOGIN;
CREATE ROLE regress_maintenance LOGIN;
CREATE SCHEMA gp;
GRANT USAGE, CREATE ON SCHEMA gp TO regress_guarded_app, regress_maintenance;
CREATE TABLE gp.invoices (id int, firm_id int);
INSERT INTO gp.invoices VALUES (1, 1), (2, 2);
GRANT SELECT ON gp.invoices TO regress_guarded_app, regress_maintenance;
ALTER ROLE regress_guarded_app SET tenant_guard.mode = enforce;
ALTER ROLE regress_maintenance SET tenant_guard.mode = off;

\c - regress_guarded_app
\set VERBOSITY terse
SHOW tenant_guard.mode;
SELECT count(*) FROM gp.invoices WHERE firm_id = 1;
SELECT count(*) FROM gp.invoices;

-- every way to turn the guard off or down is refused
SET tenant_guard.mode = off;
SET tenant_guard.mode = log;
RESET tenant_guard.mode;
SET SESSION tenant_guard.mode = off;
BEGIN;
SET LOCAL tenant_guard.mode = off;
ROLLBACK;
SELECT set_config('tenant_guard.mode', 'off', false);
SELECT set_config('tenant_guard.mode', 'log', true);
ALTER ROLE regress_guarded_app SET tenant_guard.mode = off;
ALTER ROLE regress_guarded_app RESET tenant_guard.mode;
ALTER ROLE regress_guarded_app IN DATABASE contrib_regression SET tenant_guard.mode = off;
ALTER DATABASE contrib_regression SET tenant_guard.mode = off;
CREATE FUNCTION gp.with_guard_off() RETURNS bigint LANGUAGE sql
	SET tenant_guard.mode = off AS 'SELECT count(*) FROM gp.invoices';
CREATE FUNCTION gp.switch_off() RETURNS void LANGUAGE sql SECURITY DEFINER
	AS 'SELECT set_config(''tenant_guard.mode'', ''off'', false)';
SELECT gp.switch_off();
SET tenant_guard.tenant_columns = 'no_such_column';
SET tenant_guard.client_messages = warning;
SELECT tenant_guard.exclude_table('gp.invoices');
SELECT tenant_guard.register_table('gp.invoices', 'id');
DELETE FROM tenant_guard.registry;
DROP EXTENSION tenant_guard;
SET ROLE :superuser_name;
SET SESSION AUTHORIZATION :superuser_name;

-- the guard is still on
SHOW tenant_guard.mode;
SELECT count(*) FROM gp.invoices;

-- a superuser exempts a maintenance role
\c - regress_maintenance
SHOW tenant_guard.mode;
SELECT count(*) FROM gp.invoices;

\c - :superuser_name
DROP SCHEMA gp CASCADE;
DROP ROLE regress_guarded_app;
DROP ROLE regress_maintenance;

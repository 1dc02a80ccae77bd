-- The extension's objects at the current version: every user-facing
-- object is described (COMMENT ON), the catalog facts the install script
-- asks the C code for, and messages that name a relation quote it once.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
SELECT extversion FROM pg_extension WHERE extname = 'tenant_guard';

-- functions, tables and views of the schema, with their descriptions
SELECT p.oid::regprocedure AS function, obj_description(p.oid, 'pg_proc') AS description
  FROM pg_proc p
 WHERE p.pronamespace = 'tenant_guard'::regnamespace
 ORDER BY p.oid::regprocedure::text;
SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') AS description
  FROM pg_class c
 WHERE c.relnamespace = 'tenant_guard'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY 1;

-- which relation kinds can be tenant tables
SELECT k, tenant_guard.is_tenant_relkind(k::"char")
  FROM unnest(ARRAY['r', 'p', 'f', 'm', 'v', 'S', 'i', 'I', 't', 'c']) AS k;
-- which schemas never hold tenant tables
SELECT nspname, tenant_guard.is_unguarded_schema(oid::regnamespace)
  FROM pg_namespace
 WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast', 'tenant_guard', 'public')
 ORDER BY 1;

-- a name that needs quoting is quoted once in messages, as PostgreSQL
-- itself does; the identifier form stays in data (check(), the trail)
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."My Invoices" (id int, firm_id int);
CREATE VIEW "Odd Schema"."My View" AS SELECT 1 AS firm_id;
SELECT tenant_guard.relation_message_name('"Odd Schema"."My Invoices"');
SELECT relation FROM tenant_guard.check('SELECT * FROM "Odd Schema"."My Invoices"');
\set VERBOSITY terse
SELECT tenant_guard.register_table('"Odd Schema"."My View"', 'firm_id');
SELECT tenant_guard.register_table('"Odd Schema"."My Invoices"', 'no_such_column');
SELECT tenant_guard.forget_table('"Odd Schema"."My Invoices"');
SELECT tenant_guard.protect_amount('"Odd Schema"."My Invoices"', 'firm_id');
SELECT tenant_guard.protect_amount('"Odd Schema"."My Invoices"', 'firm_id');
SELECT tenant_guard.unprotect_amount('"Odd Schema"."My Invoices"', 'id');
SET tenant_guard.mode = enforce;
SELECT * FROM "Odd Schema"."My Invoices";
RESET tenant_guard.mode;
\set VERBOSITY default
DROP SCHEMA "Odd Schema" CASCADE;

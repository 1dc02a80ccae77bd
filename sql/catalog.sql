-- Tenant-table detection by column name: each default name, first-match
-- order, relation kinds, schemas that never hold tenant tables, and column
-- changes taking effect at once.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA app;

CREATE TABLE app.by_org (id int, org_id int);
CREATE TABLE app.by_organization (id int, organization_id int);
CREATE TABLE app.by_firm (id int, firm_id bigint);
CREATE TABLE app.by_tenant (id int, tenant_id uuid);
-- the list is org_id, organization_id, firm_id, tenant_id: firm_id wins
CREATE TABLE app.two_columns (tenant_id int, id int, firm_id int);
CREATE TABLE app.untenanted (id int, name text);
CREATE TABLE app.similar_name (id int, org_ids int[], "ORG_ID" int);
CREATE VIEW app.a_view AS SELECT * FROM app.by_org;
CREATE MATERIALIZED VIEW app.a_matview AS SELECT * FROM app.by_org;
CREATE TABLE app.parted (id int, org_id int) PARTITION BY LIST (org_id);
CREATE TABLE app.parted_1 PARTITION OF app.parted FOR VALUES IN (1);
CREATE TABLE app.inherited_child (extra int) INHERITS (app.by_firm);
CREATE FOREIGN DATA WRAPPER regress_catalog_fdw;
CREATE SERVER regress_catalog_server FOREIGN DATA WRAPPER regress_catalog_fdw;
CREATE FOREIGN TABLE app.a_foreign_table (id int, tenant_id int)
	SERVER regress_catalog_server;
CREATE SEQUENCE app.a_sequence;
CREATE TYPE app.a_type AS (org_id int);
CREATE TEMP TABLE temp_by_org (org_id int);

SELECT relid, tenant_column, source FROM tenant_guard.tenant_tables
 WHERE relid::text LIKE 'app.%' OR relid::text LIKE 'temp%'
 ORDER BY relid::text;

-- never tenant tables: the extension's own schema and the system catalogs
CREATE TABLE tenant_guard.not_guarded (org_id int);
CREATE TABLE information_schema.not_guarded_either (org_id int);
SELECT count(*) AS guarded_system_or_extension_tables
  FROM tenant_guard.tenant_tables t
  JOIN pg_class c ON c.oid = t.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('pg_catalog', 'information_schema', 'tenant_guard')
    OR n.nspname LIKE 'pg\_toast%';
DROP TABLE tenant_guard.not_guarded;
DROP TABLE information_schema.not_guarded_either;

SELECT * FROM tenant_guard.describe_tenant_table('app.two_columns');
SELECT * FROM tenant_guard.describe_tenant_table('app.untenanted');
SELECT * FROM tenant_guard.describe_tenant_table(NULL);

-- another list, another answer, at once
SET tenant_guard.tenant_columns = 'tenant_id, "ORG_ID"';
SELECT relid, tenant_column, source FROM tenant_guard.tenant_tables
 WHERE relid::text LIKE 'app.%' ORDER BY relid::text;
RESET tenant_guard.tenant_columns;

-- column changes take effect at once
ALTER TABLE app.untenanted ADD COLUMN org_id int;
SELECT * FROM tenant_guard.describe_tenant_table('app.untenanted');
ALTER TABLE app.untenanted RENAME COLUMN org_id TO owner_org;
SELECT * FROM tenant_guard.describe_tenant_table('app.untenanted');
ALTER TABLE app.two_columns DROP COLUMN firm_id;
SELECT * FROM tenant_guard.describe_tenant_table('app.two_columns');
ALTER TABLE app.by_org RENAME TO by_org_renamed;
SELECT * FROM tenant_guard.describe_tenant_table('app.by_org_renamed');

-- the guard answers from its cache: the registry is read once per session
-- (this session has read it already), again only after it changed, and
-- never per relation or per statement
CREATE TABLE app_cache_probe (id int, org_id int);
SET stats_fetch_consistency = none;
CREATE VIEW registry_reads AS
	SELECT seq_scan + coalesce(idx_scan, 0) AS reads FROM pg_stat_user_tables
	 WHERE relid = 'tenant_guard.registry'::regclass;
SELECT pg_stat_force_next_flush();
SELECT reads AS reads_before FROM registry_reads \gset
SELECT count(*) FROM app_cache_probe WHERE org_id = 1;
SELECT count(*) FROM app_cache_probe WHERE org_id = 2;
SELECT * FROM tenant_guard.describe_tenant_table('app_cache_probe');
ALTER TABLE app_cache_probe ADD COLUMN note text;
SELECT count(*) FROM app_cache_probe WHERE org_id = 1;
SELECT pg_stat_force_next_flush();
SELECT reads - :reads_before AS reads_after_queries_and_alter_table FROM registry_reads;
-- a registry change makes the next question read it again, once
SELECT reads AS reads_before FROM registry_reads \gset
SELECT tenant_guard.exclude_table('app.untenanted');
SELECT pg_stat_force_next_flush();
SELECT reads AS reads_before FROM registry_reads \gset
SELECT count(*) FROM app_cache_probe WHERE org_id = 1;
SELECT count(*) FROM app_cache_probe WHERE org_id = 2;
SELECT * FROM tenant_guard.describe_tenant_table('app.untenanted');
SELECT pg_stat_force_next_flush();
SELECT reads - :reads_before AS reads_after_registry_change FROM registry_reads;
SELECT tenant_guard.forget_table('app.untenanted');
DROP VIEW registry_reads;
DROP TABLE app_cache_probe;
RESET stats_fetch_consistency;

DROP SCHEMA app CASCADE;
DROP SERVER regress_catalog_server;
DROP FOREIGN DATA WRAPPER regress_catalog_fdw;
DROP TABLE temp_by_org;

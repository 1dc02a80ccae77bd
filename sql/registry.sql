-- The registry: register_table(), exclude_table(), forget_table(), their
-- effect on the tenant_tables view, and every bad-input error.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA reg;

CREATE TABLE reg.accounts (id int, account_org int, org_id int);
CREATE TABLE reg.lookup (code text, org_id int);
CREATE TABLE reg.parted (id int, workspace int) PARTITION BY RANGE (id);
CREATE TABLE reg.parted_low PARTITION OF reg.parted FOR VALUES FROM (0) TO (100);
CREATE TABLE reg.parted_high PARTITION OF reg.parted
	FOR VALUES FROM (100) TO (200) PARTITION BY LIST (workspace);
CREATE TABLE reg.parted_high_1 PARTITION OF reg.parted_high FOR VALUES IN (1);
CREATE VIEW reg.a_view AS SELECT * FROM reg.accounts;
CREATE SEQUENCE reg.a_sequence;

CREATE VIEW reg.guarded AS
	SELECT relid, tenant_column, source FROM tenant_guard.tenant_tables
	 WHERE relid::text LIKE 'reg.%';
CREATE VIEW reg.registry AS
	SELECT relid, tenant_column, excluded, changed_by FROM tenant_guard.registry
	 WHERE relid::text LIKE 'reg.%';

SELECT * FROM reg.guarded ORDER BY relid::text;

-- register: a column outside tenant_columns, overriding detection
SELECT tenant_guard.register_table('reg.accounts', 'account_org');
-- exclude: a shared lookup table that happens to have an org_id
SELECT tenant_guard.exclude_table('reg.lookup');
-- a partitioned table's registration covers its partitions at every level
SELECT tenant_guard.register_table('reg.parted', 'workspace');
SELECT * FROM reg.guarded ORDER BY relid::text;
SELECT * FROM reg.registry ORDER BY relid::text;

-- registering again replaces the entry; exclude replaces a registration
SELECT tenant_guard.register_table('reg.accounts', 'org_id');
SELECT tenant_guard.exclude_table('reg.accounts');
SELECT tenant_guard.exclude_table('reg.accounts');
SELECT * FROM reg.guarded ORDER BY relid::text;

-- a partition's own entry wins over its parent's
SELECT tenant_guard.exclude_table('reg.parted_high_1');
SELECT * FROM reg.guarded ORDER BY relid::text;

-- forget: back to detection by name
SELECT tenant_guard.forget_table('reg.accounts');
SELECT tenant_guard.forget_table('reg.lookup');
SELECT tenant_guard.forget_table('reg.parted_high_1');
SELECT * FROM reg.guarded ORDER BY relid::text;
SELECT * FROM reg.registry ORDER BY relid::text;

-- a registration inside a rolled-back transaction leaves nothing behind
BEGIN;
SELECT tenant_guard.exclude_table('reg.accounts');
SELECT * FROM tenant_guard.describe_tenant_table('reg.accounts');
ROLLBACK;
SELECT * FROM tenant_guard.describe_tenant_table('reg.accounts');

-- direct changes to the registry by a superuser take effect too
INSERT INTO tenant_guard.registry (relid, tenant_column) VALUES ('reg.accounts', 'account_org');
SELECT * FROM tenant_guard.describe_tenant_table('reg.accounts');
DELETE FROM tenant_guard.registry WHERE relid = 'reg.accounts'::regclass;
SELECT * FROM tenant_guard.describe_tenant_table('reg.accounts');
SELECT tenant_guard.exclude_table('reg.accounts');
TRUNCATE tenant_guard.registry;
SELECT * FROM tenant_guard.describe_tenant_table('reg.accounts');

-- a registered column that is dropped ends the registration's effect
CREATE TABLE reg.dropping (id int, owner_org int);
SELECT tenant_guard.register_table('reg.dropping', 'owner_org');
SELECT * FROM tenant_guard.describe_tenant_table('reg.dropping');
ALTER TABLE reg.dropping DROP COLUMN owner_org;
SELECT * FROM tenant_guard.describe_tenant_table('reg.dropping');

-- a dropped relation leaves the registry
DROP TABLE reg.dropping;
SELECT count(*) AS rows_for_dropped_tables FROM tenant_guard.registry r
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = r.relid);

-- bad input: a clear error, and nothing changes
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT tenant_guard.register_table('reg.no_such_table', 'org_id');
SELECT tenant_guard.register_table('reg.accounts', 'no_such_column');
SELECT tenant_guard.register_table('reg.accounts', 'ctid');
SELECT tenant_guard.register_table('reg.a_view', 'org_id');
SELECT tenant_guard.exclude_table('reg.a_view');
SELECT tenant_guard.register_table('reg.a_sequence', 'last_value');
SELECT tenant_guard.register_table('pg_catalog.pg_class', 'relname');
SELECT tenant_guard.register_table('tenant_guard.registry', 'tenant_column');
SELECT tenant_guard.register_table(NULL, 'org_id');
SELECT tenant_guard.register_table('reg.accounts', NULL);
SELECT tenant_guard.exclude_table(NULL);
SELECT tenant_guard.register_table(123456789, 'org_id');
SELECT tenant_guard.forget_table('reg.accounts');
SELECT tenant_guard.forget_table(NULL);
\set VERBOSITY terse
INSERT INTO tenant_guard.registry (relid, tenant_column, excluded)
	VALUES ('reg.accounts', 'org_id', true);
SELECT * FROM reg.registry ORDER BY relid::text;
SELECT * FROM reg.guarded ORDER BY relid::text;

DROP SCHEMA reg CASCADE;
SELECT count(*) AS registry_rows_left FROM tenant_guard.registry;

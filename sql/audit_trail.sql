-- The audit trail: table and view shapes, rows for rejected and logged
-- violations, grouping by fingerprint, tamper resistance, purge.
CREATE EXTENSION IF NOT EXISTS tenant_guard;
CREATE SCHEMA au;
CREATE TABLE au.invoices (id int, firm_id int);
INSERT INTO au.invoices VALUES (1, 1), (2, 2);
\set VERBOSITY terse

-- the binding columns
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'tenant_guard' AND table_name = 'violations'
 ORDER BY ordinal_position;
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'tenant_guard' AND table_name = 'violation_summary'
 ORDER BY ordinal_position;
SELECT raised = persisted + sampled + dropped + refused + lost + pending AS counters_consistent
  FROM tenant_guard.stats();

-- start from an empty trail
SELECT tenant_guard.flush() >= 0 AS flushed;
DELETE FROM tenant_guard.violations;
DELETE FROM tenant_guard.violation_counts;

-- a rejected statement and a logged one inside a rolled-back transaction
SET tenant_guard.mode = enforce;
SELECT count(*) FROM au.invoices WHERE id = 1;
BEGIN;
SET LOCAL tenant_guard.mode = log;
UPDATE au.invoices SET id = id WHERE id = 2;
ROLLBACK;
TRUNCATE au.invoices;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT database_name = current_database() AS this_database, user_name,
	   application_name, client_addr, backend_pid = pg_backend_pid() AS this_backend,
	   command, relation, tenant_column, kind, action, query_id IS NOT NULL AS has_query_id,
	   query, detail
  FROM tenant_guard.violations ORDER BY occurred_at, id;

-- one fingerprint: the same statement with other constants is one summary row
SELECT count(*) FROM au.invoices WHERE id = 1;
SELECT count(*) FROM au.invoices WHERE id = 2;
SELECT count(*) FROM au.invoices WHERE id = 300;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT kind, relation, count, last_seen >= first_seen AS ordered, users, applications,
	   sample_query
  FROM tenant_guard.violation_summary ORDER BY count DESC, sample_query;

-- sampling: logged repeats of a shape within the interval keep no row but
-- are counted exactly (rejections above always keep theirs)
SET tenant_guard.mode = log;
SET tenant_guard.audit_sample_interval = '1h';
SELECT count(*) FROM au.invoices WHERE id > 1;
SELECT count(*) FROM au.invoices WHERE id > 2;
SELECT count(*) FROM au.invoices WHERE id > 3;
RESET tenant_guard.audit_sample_interval;
SET tenant_guard.mode = enforce;
SELECT tenant_guard.flush() AS flushed;
SELECT count(*) AS detail_rows FROM tenant_guard.violations WHERE query LIKE '%WHERE id > %';
SELECT kind, relation, count, last_seen >= first_seen AS ordered FROM tenant_guard.violation_counts;
SELECT count, sample_query FROM tenant_guard.violation_summary WHERE sample_query LIKE '%WHERE id > %';

-- a table or schema renamed between two violations is named by its new name
CREATE SCHEMA au_names;
CREATE TABLE au_names.ledger (id int, firm_id int);
SET tenant_guard.mode = log;
SELECT count(*) AS first FROM au_names.ledger;
ALTER TABLE au_names.ledger RENAME TO "Ledger 2";
SELECT count(*) AS second FROM au_names."Ledger 2";
ALTER SCHEMA au_names RENAME TO au_names2;
SELECT count(*) AS third FROM au_names2."Ledger 2";
SET tenant_guard.mode = enforce;
SELECT tenant_guard.flush() >= 0 AS flushed;
SELECT relation FROM tenant_guard.violations WHERE query LIKE '%au_names%' ORDER BY id;
DROP SCHEMA au_names2 CASCADE;

-- tamper resistance: privileges granted by mistake do not let a role
-- write, change or remove audit rows; reading takes a grant
CREATE ROLE regress_auditor;
CREATE ROLE regress_intruder;
GRANT USAGE ON SCHEMA tenant_guard TO regress_auditor, regress_intruder;
GRANT SELECT ON tenant_guard.violations, tenant_guard.violation_summary TO regress_auditor;
GRANT ALL ON tenant_guard.violations TO regress_intruder;
GRANT ALL ON SEQUENCE tenant_guard.violations_id_seq TO regress_intruder;
SET ROLE regress_auditor;
SELECT count(*) AS readable FROM tenant_guard.violations;
SELECT count(*) AS summary_rows FROM tenant_guard.violation_summary;
DELETE FROM tenant_guard.violations;
SET ROLE regress_intruder;
UPDATE tenant_guard.violations SET query = 'nothing happened';
DELETE FROM tenant_guard.violations;
TRUNCATE tenant_guard.violations;
INSERT INTO tenant_guard.violations (occurred_at, database_name, backend_pid, relation, kind, action)
	VALUES (now(), 'x', 1, 'public.forged', 'unscoped_read', 'logged');
SELECT tenant_guard.purge('0 seconds');
ALTER TABLE tenant_guard.violations DISABLE TRIGGER USER;
SET session_replication_role = replica;
RESET ROLE;
SELECT count(*) AS rows_left FROM tenant_guard.violations;
REVOKE ALL ON tenant_guard.violations, tenant_guard.violation_summary
	FROM regress_auditor, regress_intruder;
REVOKE ALL ON SEQUENCE tenant_guard.violations_id_seq FROM regress_intruder;
REVOKE USAGE ON SCHEMA tenant_guard FROM regress_auditor, regress_intruder;
DROP ROLE regress_auditor;
DROP ROLE regress_intruder;
-- without a grant nothing can be read
CREATE ROLE regress_nobody;
SET ROLE regress_nobody;
SELECT count(*) FROM tenant_guard.violations;
SELECT count(*) FROM tenant_guard.violation_summary;
RESET ROLE;
DROP ROLE regress_nobody;

-- purge: the retention path, superuser-only
UPDATE tenant_guard.violations SET occurred_at = now() - interval '40 days'
 WHERE query LIKE '%id = 1;';
SELECT tenant_guard.purge('30 days') AS purged;
SELECT tenant_guard.purge('30 days') AS purged_again;
SELECT count(*) AS rows_left FROM tenant_guard.violations;
SELECT tenant_guard.purge(NULL);
SELECT tenant_guard.purge('-1 day');

RESET tenant_guard.mode;
DELETE FROM tenant_guard.violations;
DELETE FROM tenant_guard.violation_counts;
DROP SCHEMA au CASCADE;

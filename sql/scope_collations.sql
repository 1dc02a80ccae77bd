-- An equality under a nondeterministic collation is no tenant scope: a
-- role can create a case-insensitive collation, and org_id = 'acme' would
-- then read ACME's rows too.  (PostgreSQL built without ICU has no
-- nondeterministic collation: see scope_collations_1.out.)
CREATE EXTENSION IF NOT EXISTS tenant_guard;
SET tenant_guard.audit_sample_interval = 0;
SET tenant_guard.mode = enforce;
\set VERBOSITY terse
CREATE SCHEMA scol;
CREATE TABLE scol.accounts (id int, org_id text);
INSERT INTO scol.accounts VALUES (1, 'acme'), (2, 'ACME'), (3, 'other');
CREATE COLLATION scol.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
-- scoped: the column's own collation, C, a deterministic ICU collation
SELECT id FROM scol.accounts WHERE org_id = 'acme';
SELECT id FROM scol.accounts WHERE org_id = 'acme' COLLATE "C";
SELECT id FROM scol.accounts WHERE org_id IN ('acme', 'x');
-- unscoped: =, IN and IS NOT DISTINCT FROM under the nondeterministic one
SELECT id FROM scol.accounts WHERE org_id = 'acme' COLLATE scol.ci;
SELECT id FROM scol.accounts WHERE org_id COLLATE scol.ci IN ('acme', 'x');
SELECT id FROM scol.accounts WHERE org_id IS NOT DISTINCT FROM 'acme' COLLATE scol.ci;
-- nor is a correlation under it
SELECT id FROM scol.accounts a WHERE org_id = 'acme'
   AND EXISTS (SELECT 1 FROM scol.accounts b WHERE b.org_id = a.org_id COLLATE scol.ci AND b.id > 1);
-- with a context, such a statement is verified row by row instead
SET tenant_guard.tenant = 'acme';
SELECT id FROM scol.accounts WHERE org_id = 'acme' COLLATE scol.ci ORDER BY id;
RESET tenant_guard.tenant;
DROP SCHEMA scol CASCADE;

-- The scoping rules (doc/scoping.md) in enforce mode: unscoped statements fail with
-- SQLSTATE 42501, scoped ones run.
\i sql/include/scope_rules_setup.sql
SET tenant_guard.mode = enforce;

-- the full error once: message, detail, hint and SQLSTATE
\set VERBOSITY default
SELECT count(*) FROM s.invoices;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
\set VERBOSITY terse

\i sql/include/scope_rules.sql

DROP SCHEMA s CASCADE;

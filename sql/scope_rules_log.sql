-- The scoping rules (doc/scoping.md) in log mode: every statement runs; the unscoped ones
-- are reported, here to the client as a NOTICE.
\i sql/include/scope_rules_setup.sql
SET tenant_guard.mode = log;
SET tenant_guard.client_messages = notice;

-- the full notice once
\set VERBOSITY default
SELECT count(*) FROM s.invoices;
\set VERBOSITY terse

\i sql/include/scope_rules.sql

-- client_messages = warning raises the level; off (the default) is silent
SET tenant_guard.client_messages = warning;
SELECT count(*) FROM s.invoices;
RESET tenant_guard.client_messages;
SELECT count(*) FROM s.invoices;

DROP SCHEMA s CASCADE;

-- The guard cluster: tenant_guard in the benchmark database (the server
-- runs with tenant_guard.mode = enforce).  When the extension provides
-- amount protection, invoices.amount_paid is protected, so that
-- the amount-update workload pays for the check it is meant to measure.
-- One table is registered, as in a database whose registry is in use, so
-- that a session's first statement pays for reading the registry.
\set ON_ERROR_STOP on

CREATE EXTENSION tenant_guard;
SELECT 'SELECT tenant_guard.protect_amount(''invoices'', ''amount_paid'')'
 WHERE EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
				WHERE n.nspname = 'tenant_guard' AND p.proname = 'protect_amount')
\gexec
SELECT tenant_guard.register_table('payments', 'firm_id');

-- The demo database: the audited SaaS's tables (test/saas_schema.sql) with
-- two firms' worth of data.
CREATE EXTENSION tenant_guard;

\ir ../saas_schema.sql

INSERT INTO firms VALUES (1, 'Acme Accounting'), (2, 'Bolt Bookkeeping');
INSERT INTO clients
	SELECT i, 1 + i % 2, 'client ' || i FROM generate_series(1, 20) i;
INSERT INTO invoices (id, firm_id, client_id, amount_due, autopay_opt_in, provider_ref)
	SELECT i, 1 + (i % 20 + 1) % 2, i % 20 + 1, 100 + i, i % 3 = 0, 'pi_' || i
	  FROM generate_series(1, 200) i;

-- Payments may only change amount_paid in ways that cannot lose another
-- payment (README, "Atomic amounts").
SELECT tenant_guard.protect_amount('invoices', 'amount_paid');

-- The application's role: enforce mode, and only contexts signed with
-- tenant_guard.tenant_key (which demo.sh puts into postgresql.conf).
CREATE ROLE app LOGIN;
GRANT SELECT, INSERT, UPDATE, DELETE ON firms, clients, invoices, payments TO app;
ALTER ROLE app SET tenant_guard.mode = enforce;
ALTER ROLE app SET tenant_guard.require_signed_tenant = on;

-- A maintenance role that may break glass: work across firms, on the record.
CREATE ROLE maint LOGIN;
GRANT SELECT ON firms, clients, invoices, payments TO maint;
ALTER ROLE maint SET tenant_guard.mode = enforce;
GRANT EXECUTE ON FUNCTION tenant_guard.break_glass(text) TO maint;

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

-- The benchmark schema, shaped like test/demo.sql: firms (the tenants),
-- their clients, invoices with an amount_paid money column, and payments.
-- Loaded identically into every benchmark cluster by test/bench/run.sh,
-- which sets the psql variables firms, clients_per_firm and
-- invoices_per_firm.  Ids are laid out per firm so that a workload can pick
-- a random row of a given firm with pgbench arithmetic:
--   clients  of firm f: (f - 1) * clients_per_firm  + 1 .. f * clients_per_firm
--   invoices of firm f: (f - 1) * invoices_per_firm + 1 .. f * invoices_per_firm
-- and payment n pays invoice n.
\set ON_ERROR_STOP on

\ir ../saas_schema.sql

INSERT INTO firms
	SELECT f, 'firm ' || f FROM generate_series(1, :firms) f;
INSERT INTO clients
	SELECT (f - 1) * :clients_per_firm + k, f, 'client ' || k || ' of firm ' || f
	  FROM generate_series(1, :firms) f, generate_series(1, :clients_per_firm) k;
INSERT INTO invoices (id, firm_id, client_id, amount_due, autopay_opt_in, provider_ref)
	SELECT (f - 1) * :invoices_per_firm + k, f,
		   (f - 1) * :clients_per_firm + 1 + k % :clients_per_firm,
		   100 + k % 900, k % 3 = 0,
		   'pi_' || ((f - 1) * :invoices_per_firm + k)
	  FROM generate_series(1, :firms) f, generate_series(1, :invoices_per_firm) k;
INSERT INTO payments (id, firm_id, invoice_id, amount)
	SELECT id, firm_id, id, amount_due / 2 FROM invoices;

-- The role every workload runs as: not the tables' owner and not a
-- superuser, so that row-level security applies to it in the rls cluster.
CREATE ROLE bench_app LOGIN;
GRANT SELECT, UPDATE ON firms, clients, invoices, payments TO bench_app;

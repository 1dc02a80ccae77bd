-- The rls cluster: the tenant scope enforced by row-level security instead
-- of tenant_guard.  Every tenant table admits only the rows of the firm in
-- the session's app.firm_id setting (set by the benchmark through
-- PGOPTIONS), for reads and writes alike.
\set ON_ERROR_STOP on

ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
CREATE POLICY firm_scope ON clients TO bench_app
	USING (firm_id = current_setting('app.firm_id')::int);
CREATE POLICY firm_scope ON invoices TO bench_app
	USING (firm_id = current_setting('app.firm_id')::int);
CREATE POLICY firm_scope ON payments TO bench_app
	USING (firm_id = current_setting('app.firm_id')::int);

-- The tables of the audited SaaS that the demo (test/demo.sql) and the
-- benchmark (test/bench/schema.sql) both use: firms (the tenants), their
-- clients, invoices with an amount_paid money column, and payments.
CREATE TABLE firms (
	id			bigint PRIMARY KEY,
	name		text NOT NULL
);
CREATE TABLE clients (
	id			bigint PRIMARY KEY,
	firm_id		bigint NOT NULL REFERENCES firms,
	name		text NOT NULL
);
CREATE TABLE invoices (
	id			bigint PRIMARY KEY,
	firm_id		bigint NOT NULL REFERENCES firms,
	client_id	bigint NOT NULL REFERENCES clients,
	amount_due	numeric(12, 2) NOT NULL,
	amount_paid	numeric(12, 2) NOT NULL DEFAULT 0,
	autopay_opt_in boolean NOT NULL DEFAULT false,
	provider_ref text UNIQUE
);
CREATE TABLE payments (
	id			bigserial PRIMARY KEY,
	firm_id		bigint NOT NULL REFERENCES firms,
	invoice_id	bigint NOT NULL REFERENCES invoices,
	amount		numeric(12, 2) NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON clients (firm_id);
CREATE INDEX ON invoices (firm_id, client_id);
CREATE INDEX ON payments (firm_id, invoice_id);

-- The demo schema, shaped after the audited SaaS: firms (the tenants), their
-- clients, invoices with an amount_paid money column, and payments.
CREATE EXTENSION tenant_guard;

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
CREATE INDEX ON invoices (firm_id);
CREATE INDEX ON payments (firm_id, invoice_id);

INSERT INTO firms VALUES (1, 'Acme Accounting'), (2, 'Bolt Bookkeeping');
INSERT INTO clients
	SELECT i, 1 + i % 2, 'client ' || i FROM generate_series(1, 20) i;
INSERT INTO invoices (id, firm_id, client_id, amount_due, autopay_opt_in, provider_ref)
	SELECT i, 1 + (i % 20 + 1) % 2, i % 20 + 1, 100 + i, i % 3 = 0, 'pi_' || i
	  FROM generate_series(1, 200) i;

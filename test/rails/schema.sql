-- The Rails suite's tables and two firms' data, made by the superuser
-- before the guard is enforced (test/rails/run.sh).  The app roles own
-- nothing: they get the privileges a Rails app needs on these tables.
CREATE TABLE firms (
    id   bigserial PRIMARY KEY,
    name text NOT NULL
);
-- Which firm a user works for: read by the middleware before the context
-- exists, so it is excluded from the guard (as Django's membership table).
CREATE TABLE users (
    id      bigserial PRIMARY KEY,
    firm_id bigint NOT NULL REFERENCES firms,
    email   text NOT NULL UNIQUE
);
CREATE TABLE clients (
    id      bigserial PRIMARY KEY,
    firm_id bigint NOT NULL REFERENCES firms,
    name    text NOT NULL
);
CREATE TABLE invoices (
    id           bigserial PRIMARY KEY,
    firm_id      bigint NOT NULL REFERENCES firms,
    client_id    bigint NOT NULL REFERENCES clients,
    number       text NOT NULL,
    amount_due   numeric(12, 2) NOT NULL DEFAULT 0,
    amount_paid  numeric(12, 2) NOT NULL DEFAULT 0,
    lock_version integer NOT NULL DEFAULT 0,
    UNIQUE (firm_id, number)
);
CREATE TABLE payments (
    id         bigserial PRIMARY KEY,
    firm_id    bigint NOT NULL REFERENCES firms,
    invoice_id bigint NOT NULL REFERENCES invoices,
    amount     numeric(12, 2) NOT NULL
);

INSERT INTO firms (id, name) VALUES (1, 'firm 1'), (2, 'firm 2');
SELECT setval('firms_id_seq', 2);
INSERT INTO users (firm_id, email) VALUES (1, 'user1@example.com'), (2, 'user2@example.com');
INSERT INTO clients (firm_id, name)
    SELECT f, format('client %s.%s', f, c) FROM generate_series(1, 2) f, generate_series(0, 1) c
    ORDER BY f, c;
INSERT INTO invoices (firm_id, client_id, number, amount_due)
    SELECT c.firm_id, c.id, format('%s-%s-%s', c.firm_id, c.id, i), 100
      FROM clients c, generate_series(0, 2) i WHERE c.firm_id IN (1, 2) ORDER BY c.id, i;
INSERT INTO payments (firm_id, invoice_id, amount)
    SELECT firm_id, id, 1 FROM invoices WHERE firm_id IN (1, 2);

SELECT tenant_guard.exclude_table('users');
SELECT tenant_guard.protect_amount('invoices', 'amount_paid');
SELECT tenant_guard.set_amount_version_column('invoices', 'lock_version');

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
    TO rails_app, rails_local, rails_log;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO rails_app, rails_local, rails_log;

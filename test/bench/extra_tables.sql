-- The many-tables database: extra tenant tables that no workload touches,
-- each with a firm_id column and a primary key.  run.sh sets the psql
-- variable tables.  One statement per table, each in its own transaction,
-- so that the lock table never has to hold them all at once.
\set ON_ERROR_STOP on

CREATE SCHEMA extra;
GRANT USAGE ON SCHEMA extra TO bench_app;
SELECT format('CREATE TABLE extra.t%s (id bigint PRIMARY KEY, firm_id bigint NOT NULL, note text)', t)
  FROM generate_series(1, :tables) t
\gexec

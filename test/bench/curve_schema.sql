-- The cost-curve database (make bench-callgrind, test/bench/callgrind.sh):
-- tenant tables for statements that grow, made in a database of their own
-- (bench_curve, a copy of bench) so that the other workloads' catalogs stay
-- as they were.  callgrind.sh sets the psql variable joins (the longest
-- chain of joined tables).
--   j1 .. j<joins>  a chain: j<k> references j<k-1> by (firm_id, parent_id),
--                   ids 1 to 10 for each of 100 firms, each row's parent
--                   having its own id, so that a statement joining the first
--                   n by the tenant column and the foreign key returns one
--                   row;
--   p10, p100, p1000  partitioned by hash of id into that many partitions,
--                   two rows per partition, the rows of each firm spread
--                   over all of them.
\set ON_ERROR_STOP on

CREATE TABLE j1 (firm_id bigint NOT NULL, id bigint NOT NULL, note text,
				 PRIMARY KEY (firm_id, id));
SELECT format('CREATE TABLE j%s (firm_id bigint NOT NULL, id bigint NOT NULL,
				 parent_id bigint NOT NULL, note text, PRIMARY KEY (firm_id, id),
				 FOREIGN KEY (firm_id, parent_id) REFERENCES j%s (firm_id, id))',
			  k, k - 1)
  FROM generate_series(2, :joins) k
\gexec
INSERT INTO j1 SELECT f, i, 'j1' FROM generate_series(1, 100) f, generate_series(1, 10) i;
SELECT format('INSERT INTO j%s SELECT f, i, i, %L FROM generate_series(1, 100) f,
				 generate_series(1, 10) i', k, 'j' || k)
  FROM generate_series(2, :joins) k
\gexec

SELECT format('CREATE TABLE p%s (id bigint NOT NULL, firm_id bigint NOT NULL,
				 note text, PRIMARY KEY (id)) PARTITION BY HASH (id)', n)
  FROM unnest(ARRAY[10, 100, 1000]) n
\gexec
SELECT format('CREATE TABLE p%s_%s PARTITION OF p%s
				 FOR VALUES WITH (MODULUS %s, REMAINDER %s)', n, r, n, n, r)
  FROM unnest(ARRAY[10, 100, 1000]) n, generate_series(0, n - 1) r
\gexec
SELECT format('INSERT INTO p%s SELECT i, i %% 100 + 1, %L FROM generate_series(1, %s) i',
			  n, 'row', 2 * n)
  FROM unnest(ARRAY[10, 100, 1000]) n
\gexec

SELECT format('GRANT SELECT ON %s TO bench_app', c.oid::regclass)
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
   AND c.relname ~ '^(j|p)[0-9]'
\gexec

/* tenant_guard--0.1.0--0.2.0.sql: upgrade tenant_guard from 0.1.0 to 0.2.0 */

\echo Use "ALTER EXTENSION tenant_guard UPDATE TO '0.2.0'" to load this file. \quit

-- Released scripts are never edited: every change to SQL objects after
-- 0.1.0 is made here and, identically, in tenant_guard--0.2.0.sql
-- (test/t/008_upgrade.pl compares the two).  CREATE OR REPLACE keeps the
-- privileges granted on a function.

------------------------------------------------------------------------------
-- Messages name a relation in one pair of double quotes; the relation
-- kinds and schemas that can hold tenant tables come from the C code.
------------------------------------------------------------------------------

-- Catalog facts the C code owns: the relation kinds that can be tenant
-- tables, the schemas that never hold any, and how messages name a
-- relation ("schema.table", inside one pair of double quotes).
CREATE FUNCTION tenant_guard.is_tenant_relkind(relkind "char")
RETURNS boolean
LANGUAGE c
IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'tenant_guard_is_tenant_relkind';

CREATE FUNCTION tenant_guard.is_unguarded_schema(nsp regnamespace)
RETURNS boolean
LANGUAGE c
STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'tenant_guard_is_unguarded_schema';

CREATE FUNCTION tenant_guard.relation_message_name(rel regclass)
RETURNS text
LANGUAGE c
STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'tenant_guard_relation_message_name';

-- Raises the error for a relation that cannot be registered or excluded.
CREATE OR REPLACE FUNCTION tenant_guard.assert_guardable(rel regclass)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	kind	"char";
	nsp		oid;
	nspname	name;
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'relation must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT c.relkind, c.relnamespace, n.nspname INTO kind, nsp, nspname
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.oid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', rel::oid
			USING ERRCODE = 'undefined_table';
	END IF;
	IF NOT tenant_guard.is_tenant_relkind(kind) THEN
		RAISE EXCEPTION '"%" is not a table', tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'Only tables, partitioned tables, partitions, foreign tables and materialized views can be tenant tables.';
	END IF;
	IF tenant_guard.is_unguarded_schema(nsp) THEN
		RAISE EXCEPTION 'relation "%" is in schema "%", which tenant_guard never guards',
				tenant_guard.relation_message_name(rel), nspname
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END;
$$;

-- Refuses a tenant column the table lacks.
CREATE OR REPLACE FUNCTION tenant_guard.set_registry_entry(rel regclass, tenant_column name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- A column the table lacks would leave it silently unguarded.
	IF set_registry_entry.tenant_column IS NOT NULL AND
	   NOT EXISTS (SELECT FROM pg_attribute a
				   WHERE a.attrelid = rel
					 AND a.attname = set_registry_entry.tenant_column
					 AND a.attnum > 0 AND NOT a.attisdropped) THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist',
				set_registry_entry.tenant_column, tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'undefined_column',
				  HINT = 'Name an existing column of the table as its tenant column.';
	END IF;
	INSERT INTO tenant_guard.registry AS r (relid, tenant_column, excluded)
	VALUES (rel, set_registry_entry.tenant_column, set_registry_entry.tenant_column IS NULL)
	ON CONFLICT (relid) DO UPDATE
		SET tenant_column = excluded.tenant_column,
			excluded = excluded.excluded,
			changed_at = now(),
			changed_by = session_user;
END;
$$;

-- On the coordinator of a Citus cluster, a registry change of a Citus
-- table is made on every worker too (doc/citus.md), where the table's
-- shards follow it: the command runs there through run_command_on_workers,
-- in connections of their own (a rollback here does not undo it there).
-- Elsewhere it does nothing.  Citus is looked up at run time.
CREATE FUNCTION tenant_guard.propagate_to_citus_workers(rel regclass, command text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	citus_table	boolean;
	failures	text;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_extension e WHERE e.extname = 'citus') THEN
		RETURN;
	END IF;
	EXECUTE 'SELECT pg_catalog.citus_is_coordinator() AND EXISTS '
			'(SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1)'
		INTO citus_table USING rel;
	IF NOT citus_table THEN
		RETURN;
	END IF;
	EXECUTE 'SELECT string_agg(format(''%s:%s: %s'', w.nodename, w.nodeport, w.result), ''; '') '
			'FROM pg_catalog.run_command_on_workers($1) w WHERE NOT w.success'
		INTO failures USING command;
	IF failures IS NOT NULL THEN
		RAISE EXCEPTION 'could not apply the change to "%" on every Citus worker',
				tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'external_routine_exception',
				  DETAIL = failures;
	END IF;
END;
$$;
REVOKE ALL ON FUNCTION tenant_guard.propagate_to_citus_workers(regclass, text) FROM PUBLIC;

-- The same relation on another node, by name: NULL where it does not exist.
CREATE FUNCTION tenant_guard.citus_worker_relation(rel regclass)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('pg_catalog.to_regclass(%L)',
				  format('%I.%I', n.nspname, c.relname))
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.oid = rel
$$;
REVOKE ALL ON FUNCTION tenant_guard.citus_worker_relation(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION tenant_guard.register_table(rel regclass, tenant_column name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM tenant_guard.assert_guardable(rel);
	IF register_table.tenant_column IS NULL THEN
		RAISE EXCEPTION 'tenant column must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_attribute a
				   WHERE a.attrelid = rel
					 AND a.attname = register_table.tenant_column
					 AND a.attnum > 0 AND NOT a.attisdropped) THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist',
				register_table.tenant_column, tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'undefined_column',
				  HINT = 'Name an existing column of the table as its tenant column.';
	END IF;
	PERFORM tenant_guard.set_registry_entry(rel, register_table.tenant_column);
	PERFORM tenant_guard.propagate_to_citus_workers(rel,
		format('SELECT tenant_guard.register_table(r, %L) FROM %s r WHERE r IS NOT NULL',
			   register_table.tenant_column, tenant_guard.citus_worker_relation(rel)));
END;
$$;

CREATE OR REPLACE FUNCTION tenant_guard.forget_table(rel regclass)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'relation must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	DELETE FROM tenant_guard.registry r WHERE r.relid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation "%" is not registered or excluded', tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'undefined_object',
				  HINT = 'forget_table() undoes register_table() or exclude_table().';
	END IF;
	PERFORM tenant_guard.propagate_to_citus_workers(rel,
		format('SELECT tenant_guard.forget_table(r) FROM %s r'
			   ' WHERE EXISTS (SELECT FROM tenant_guard.registry g WHERE g.relid = r)',
			   tenant_guard.citus_worker_relation(rel)));
END;
$$;

CREATE OR REPLACE FUNCTION tenant_guard.exclude_table(rel regclass)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM tenant_guard.assert_guardable(rel);
	PERFORM tenant_guard.set_registry_entry(rel, NULL);
	PERFORM tenant_guard.propagate_to_citus_workers(rel,
		format('SELECT tenant_guard.exclude_table(r) FROM %s r WHERE r IS NOT NULL',
			   tenant_guard.citus_worker_relation(rel)));
END;
$$;

-- Puts the tenant_guard_amounts trigger on rel for the given columns, with
-- the version column as its argument when there is one (CREATE OR REPLACE
-- keeps one trigger per table), or drops it for none.
CREATE FUNCTION tenant_guard.write_amount_trigger(rel regclass, columns smallint[], version name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	names		text;
	unsafe_off	boolean;
BEGIN
	-- Citus puts a trigger of one of its tables on the table's shards only
	-- when told that it is safe there, which this one is: it reads the row
	-- it fires for and nothing else (doc/citus.md).
	unsafe_off := current_setting('citus.enable_unsafe_triggers', true) = 'off';
	IF unsafe_off THEN
		PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
	END IF;
	IF cardinality(columns) = 0 THEN
		EXECUTE format('DROP TRIGGER tenant_guard_amounts ON %s', rel);
	ELSE
		SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO names
		  FROM pg_attribute a
		 WHERE a.attrelid = rel AND a.attnum = ANY (columns);
		EXECUTE format('CREATE OR REPLACE TRIGGER tenant_guard_amounts'
					   ' BEFORE UPDATE OF %s ON %s'
					   ' FOR EACH ROW EXECUTE FUNCTION tenant_guard.amount_guard(%s)',
					   names, rel, coalesce(quote_literal(version), ''));
	END IF;
	IF unsafe_off THEN
		PERFORM set_config('citus.enable_unsafe_triggers', 'off', true);
	END IF;
END;
$$;

-- The version column declared for rel's protected amounts: the argument
-- of its tenant_guard_amounts trigger, or NULL.
CREATE FUNCTION tenant_guard.amount_version_of(rel regclass)
RETURNS name
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT convert_from(substring(t.tgargs FROM 1 FOR position('\x00'::bytea IN t.tgargs) - 1),
						current_setting('server_encoding'))::name
	  FROM pg_trigger t
	 WHERE t.tgrelid = rel AND t.tgname = 'tenant_guard_amounts' AND t.tgnargs > 0
$$;

CREATE OR REPLACE VIEW tenant_guard.protected_amounts AS
	SELECT t.tgrelid::pg_catalog.regclass AS relid, a.attname AS amount_column,
		   tenant_guard.amount_version_of(t.tgrelid) AS version_column
	  FROM pg_catalog.pg_trigger t
	 CROSS JOIN LATERAL pg_catalog.unnest(t.tgattr::pg_catalog.int2[]) AS k(attnum)
	  JOIN pg_catalog.pg_attribute a
		ON a.attrelid = t.tgrelid AND a.attnum = k.attnum
	 WHERE t.tgfoid = 'tenant_guard.amount_guard()'::pg_catalog.regprocedure
	   AND t.tgparentid = 0;

-- Rewrites the trigger for other columns, keeping its version column.
CREATE OR REPLACE FUNCTION tenant_guard.set_amount_trigger(rel regclass, columns smallint[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM tenant_guard.write_amount_trigger(rel, columns, tenant_guard.amount_version_of(rel));
END;
$$;

-- Checks a (relation, amount column) pair and returns the column's
-- number; raises the error for anything that cannot be protected.
CREATE OR REPLACE FUNCTION tenant_guard.amount_column_attnum(rel regclass, amount_column name)
RETURNS smallint
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	kind		"char";
	nsp			oid;
	nspname		name;
	partition	boolean;
	col			smallint;
	typ			oid;
	base		oid;
BEGIN
	IF rel IS NULL OR amount_column IS NULL THEN
		RAISE EXCEPTION 'relation and amount column must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT c.relkind, c.relnamespace, n.nspname, c.relispartition
	  INTO kind, nsp, nspname, partition
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.oid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', rel::oid
			USING ERRCODE = 'undefined_table';
	END IF;
	IF kind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'Only tables and partitioned tables can have protected amount columns.';
	END IF;
	IF tenant_guard.is_unguarded_schema(nsp) THEN
		RAISE EXCEPTION 'relation "%" is in schema "%", which tenant_guard never guards',
				tenant_guard.relation_message_name(rel), nspname
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF partition THEN
		RAISE EXCEPTION 'relation "%" is a partition', tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'Partitions share the amount protection of their partitioned table.',
				  HINT = format('Protect or unprotect the column on %s.',
								(SELECT i.inhparent::regclass FROM pg_inherits i WHERE i.inhrelid = rel));
	END IF;
	SELECT a.attnum, a.atttypid INTO col, typ
	  FROM pg_attribute a
	 WHERE a.attrelid = rel AND a.attname = amount_column
	   AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', amount_column, tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'undefined_column';
	END IF;
	base := typ;
	WHILE (SELECT t.typtype FROM pg_type t WHERE t.oid = base) = 'd' LOOP
		base := (SELECT t.typbasetype FROM pg_type t WHERE t.oid = base);
	END LOOP;
	IF base NOT IN ('numeric'::regtype, 'int2'::regtype, 'int4'::regtype,
					'int8'::regtype, 'float4'::regtype, 'float8'::regtype,
					'money'::regtype) THEN
		RAISE EXCEPTION 'column "%" of relation "%" is of type %, not a number',
				amount_column, tenant_guard.relation_message_name(rel), typ::regtype
			USING ERRCODE = 'datatype_mismatch',
				  DETAIL = 'Only numeric, integer, floating-point and money columns (or domains over them) can be protected amounts.';
	END IF;
	RETURN col;
END;
$$;

-- Takes the lock CREATE TRIGGER takes, so that concurrent calls for the
-- same table cannot lose a column, then returns the columns rel's
-- tenant_guard_amounts trigger protects: an empty array without the
-- trigger.  Refuses a same-named trigger of someone else.
CREATE OR REPLACE FUNCTION tenant_guard.lock_amount_columns(rel regclass)
RETURNS smallint[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	func	oid;
	columns	smallint[];
BEGIN
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', rel);
	SELECT t.tgfoid, t.tgattr::smallint[] INTO func, columns
	  FROM pg_trigger t
	 WHERE t.tgrelid = rel AND t.tgname = 'tenant_guard_amounts';
	IF NOT FOUND THEN
		RETURN '{}';
	END IF;
	IF func <> 'tenant_guard.amount_guard()'::regprocedure THEN
		RAISE EXCEPTION 'relation "%" already has a trigger named "tenant_guard_amounts"', tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Rename that trigger; tenant_guard uses the name for its amount protection.';
	END IF;
	RETURN columns;
END;
$$;

CREATE OR REPLACE FUNCTION tenant_guard.protect_amount(rel regclass, amount_column name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	col		smallint := tenant_guard.amount_column_attnum(rel, amount_column);
	columns	smallint[] := tenant_guard.lock_amount_columns(rel);
BEGIN
	IF col = ANY (columns) THEN
		RAISE NOTICE 'column "%" of relation "%" is already protected, skipping',
			amount_column, tenant_guard.relation_message_name(rel);
		RETURN;
	END IF;
	PERFORM tenant_guard.set_amount_trigger(rel, columns || col);
END;
$$;

CREATE OR REPLACE FUNCTION tenant_guard.unprotect_amount(rel regclass, amount_column name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	col		smallint := tenant_guard.amount_column_attnum(rel, amount_column);
	columns	smallint[] := tenant_guard.lock_amount_columns(rel);
BEGIN
	IF NOT col = ANY (columns) THEN
		RAISE EXCEPTION 'column "%" of relation "%" is not protected',
				amount_column, tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'undefined_object',
				  HINT = 'tenant_guard.protected_amounts lists the protected columns.';
	END IF;
	PERFORM tenant_guard.set_amount_trigger(rel, array_remove(columns, col));
END;
$$;

CREATE OR REPLACE VIEW tenant_guard.tenant_tables AS
	SELECT c.oid::regclass AS relid, d.tenant_column, d.source
	  FROM pg_catalog.pg_class c,
		   LATERAL tenant_guard.describe_tenant_table(c.oid) d
	 WHERE tenant_guard.is_tenant_relkind(c.relkind);

------------------------------------------------------------------------------
-- The sql_drop event trigger's function is C: every DROP in the database
-- runs it, and it runs no statement unless a dropped relation has a
-- registry entry.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tenant_guard.forget_dropped_relations()
RETURNS event_trigger
LANGUAGE c
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'tenant_guard_forget_dropped_relations';

------------------------------------------------------------------------------
-- Audit trail: call sites, idempotent writes, counts of sampled repeats,
-- counters kept over restarts
------------------------------------------------------------------------------

ALTER TABLE tenant_guard.violations ADD COLUMN call_site jsonb, ADD COLUMN entry_id bigint;

CREATE OR REPLACE FUNCTION tenant_guard.refuse_audit_tampering()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tab text := format('%s.%s', TG_TABLE_SCHEMA, TG_TABLE_NAME);
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'audit rows of % cannot be changed by %', tab, current_user
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('%s on %s is reserved for tenant_guard itself and superusers.', TG_OP, tab),
				  HINT = 'A superuser removes old rows with tenant_guard.purge(older_than interval).';
	END IF;
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD WHEN 'TRUNCATE' THEN NULL ELSE NEW END;
END;
$$;

-- The documented retention path: removes rows older than the interval,
-- detail rows and counts alike.
CREATE OR REPLACE FUNCTION tenant_guard.purge(older_than interval)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	removed bigint;
BEGIN
	IF older_than IS NULL OR older_than < interval '0' THEN
		RAISE EXCEPTION 'older_than must be a positive interval, not %', coalesce(older_than::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	DELETE FROM tenant_guard.violation_counts WHERE last_seen < now() - older_than;
	DELETE FROM tenant_guard.violations WHERE occurred_at < now() - older_than;
	GET DIAGNOSTICS removed = ROW_COUNT;
	RETURN removed;
END;
$$;

-- The writers insert with ON CONFLICT (entry_id) DO NOTHING: an entry
-- written again after a restart is not duplicated.
CREATE UNIQUE INDEX violations_entry_id_idx ON tenant_guard.violations (entry_id);
COMMENT ON COLUMN tenant_guard.violations.call_site IS
	'The statement''s sqlcommenter or marginalia tags as a JSON object, or NULL';
COMMENT ON COLUMN tenant_guard.violations.entry_id IS
	'Random 64-bit id given by the violating backend; makes writing idempotent';

-- The exact counts of logged repeats that keep no detail row (sampling,
-- doc/audit-trail.md): one row per statement shape per writer pass, each
-- with a random batch_id so that a batch sent again after a restart is not
-- counted twice.  violation_summary adds them to the detail rows.
CREATE TABLE tenant_guard.violation_counts (
	batch_id			bigint PRIMARY KEY,
	kind				text NOT NULL,
	relation			text NOT NULL,
	query_id			bigint NOT NULL,
	call_site			jsonb,
	user_name			name,
	application_name	text,
	count				bigint NOT NULL CHECK (count > 0),
	first_seen			timestamptz NOT NULL,
	last_seen			timestamptz NOT NULL
);
CREATE INDEX violation_counts_last_seen_idx ON tenant_guard.violation_counts (last_seen);
SELECT pg_catalog.pg_extension_config_dump('tenant_guard.violation_counts', '');
REVOKE ALL ON tenant_guard.violation_counts FROM PUBLIC;

-- pg_dump before 18 reads the last value of every configuration sequence of
-- a dumped extension, also with --schema-only, so that an application role
-- could not dump its own schema (rails db:structure:dump).  SELECT on the
-- sequence shows how many audit ids were handed out, a count stats() shows
-- everyone anyway, and no audit row; nextval() and setval() stay refused.
GRANT SELECT ON SEQUENCE tenant_guard.violations_id_seq TO PUBLIC;
CREATE TRIGGER violation_counts_tamper_rows
	BEFORE INSERT OR UPDATE OR DELETE ON tenant_guard.violation_counts
	FOR EACH ROW EXECUTE FUNCTION tenant_guard.refuse_audit_tampering();
CREATE TRIGGER violation_counts_tamper_truncate
	BEFORE TRUNCATE ON tenant_guard.violation_counts
	FOR EACH STATEMENT EXECUTE FUNCTION tenant_guard.refuse_audit_tampering();
COMMENT ON TABLE tenant_guard.violation_counts IS
	'Audit trail: exact counts of logged repeats that keep no row in tenant_guard.violations (sampling)';

-- One row per statement shape (PostgreSQL's query id; the text where a
-- statement has none) and call site, with how often, when and by whom:
-- the detail rows plus the counts of the repeats that kept none
-- (sample_query, users and applications come from the detail rows).
CREATE OR REPLACE VIEW tenant_guard.violation_summary AS
	WITH detail AS (
		SELECT v.kind, v.relation, v.query_id, v.call_site,
			   coalesce(CASE WHEN v.query_id IS NULL THEN v.query END, '') AS text_key,
			   count(*) AS n,
			   min(v.occurred_at) AS first_seen,
			   max(v.occurred_at) AS last_seen,
			   (array_agg(v.query ORDER BY v.occurred_at DESC, v.id DESC))[1] AS sample_query,
			   array_agg(DISTINCT v.user_name) AS users,
			   array_agg(DISTINCT v.application_name)
				   FILTER (WHERE v.application_name IS NOT NULL) AS applications
		  FROM tenant_guard.violations v
		 WHERE v.kind <> 'break_glass'
		 GROUP BY v.kind, v.relation, v.query_id, v.call_site,
				  CASE WHEN v.query_id IS NULL THEN v.query END
	), counted AS (
		SELECT c.kind, c.relation, c.query_id, c.call_site, ''::text AS text_key,
			   sum(c.count) AS n,
			   min(c.first_seen) AS first_seen,
			   max(c.last_seen) AS last_seen
		  FROM tenant_guard.violation_counts c
		 WHERE c.kind <> 'break_glass'
		 GROUP BY c.kind, c.relation, c.query_id, c.call_site
	)
	SELECT coalesce(d.kind, c.kind) AS kind,
		   coalesce(d.relation, c.relation) AS relation,
		   coalesce(d.query_id, c.query_id) AS query_id,
		   (coalesce(d.n, 0) + coalesce(c.n, 0))::bigint AS count,
		   least(d.first_seen, c.first_seen) AS first_seen,
		   greatest(d.last_seen, c.last_seen) AS last_seen,
		   d.sample_query,
		   d.users,
		   d.applications,
		   coalesce(d.call_site, c.call_site) AS call_site
	  FROM detail d
	  FULL JOIN counted c
		ON c.kind = d.kind AND c.relation = d.relation AND c.query_id = d.query_id
	   AND coalesce(c.call_site, 'null') = coalesce(d.call_site, 'null')
	   AND c.text_key = d.text_key;

-- Since the cluster was created, for every database, kept over restarts
-- (doc/audit-trail.md): raised = persisted + sampled + dropped + refused +
-- lost + pending.
DROP FUNCTION tenant_guard.stats();
CREATE FUNCTION tenant_guard.stats(OUT queued bigint, OUT persisted bigint,
		OUT dropped bigint, OUT pending bigint, OUT raised bigint,
		OUT refused bigint, OUT lost bigint, OUT sampled bigint)
RETURNS record
LANGUAGE c
VOLATILE
AS 'MODULE_PATHNAME', 'tenant_guard_stats';

-- The call site the audit trail records for a statement text.
CREATE FUNCTION tenant_guard.parse_call_site(query text)
RETURNS jsonb
LANGUAGE c
IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'tenant_guard_parse_call_site';

COMMENT ON VIEW tenant_guard.violation_summary IS
	'Violations grouped by kind, relation, statement fingerprint and call site, with counts, times, users and applications; break-glass statements, which are not violations, are left out';
COMMENT ON FUNCTION tenant_guard.flush() IS
	'Have the audit writers write this database''s queued violations now and wait for them; returns how many left the queue';
COMMENT ON FUNCTION tenant_guard.stats() IS
	'Audit trail counters since the cluster was created, for all databases: raised = persisted + sampled + dropped + refused + lost + pending';
COMMENT ON FUNCTION tenant_guard.parse_call_site(text) IS
	'The call site (sqlcommenter or marginalia tags) that the audit trail records for a statement';

------------------------------------------------------------------------------
-- Descriptions (\dx+, \df+, \d+), for the objects users call or read
------------------------------------------------------------------------------

COMMENT ON TABLE tenant_guard.registry IS
	'Per-table overrides of tenant-table detection: a registered tenant column, or an exclusion';
COMMENT ON FUNCTION tenant_guard.register_table(regclass, name) IS
	'Make rel a tenant table with this tenant column (its partitions follow)';
COMMENT ON FUNCTION tenant_guard.exclude_table(regclass) IS
	'Never treat rel as a tenant table (a shared lookup table that has a tenant column)';
COMMENT ON FUNCTION tenant_guard.forget_table(regclass) IS
	'Remove rel''s registry entry: back to detection by tenant_guard.tenant_columns';
COMMENT ON FUNCTION tenant_guard.describe_tenant_table(regclass) IS
	'The guard''s own answer for one relation: its tenant column and source, or no row';
COMMENT ON VIEW tenant_guard.tenant_tables IS
	'Every effective tenant table, with its tenant column and whether it was detected or registered';
COMMENT ON FUNCTION tenant_guard.check(text) IS
	'Plan a statement without running it and return the violations it would raise';
COMMENT ON TABLE tenant_guard.violations IS
	'Audit trail: one row per violation, rejected or logged, kept when the statement rolled back';
COMMENT ON FUNCTION tenant_guard.purge(interval) IS
	'Delete audit rows and counts older than the interval; returns how many detail rows';
COMMENT ON FUNCTION tenant_guard.protect_amount(regclass, name) IS
	'Refuse updates of this amount column that could lose a concurrent update';
COMMENT ON FUNCTION tenant_guard.unprotect_amount(regclass, name) IS
	'Stop protecting this amount column';
COMMENT ON VIEW tenant_guard.protected_amounts IS
	'Every protected amount column';
COMMENT ON FUNCTION tenant_guard.amount_guard() IS
	'Trigger function behind protect_amount(); installed as trigger tenant_guard_amounts';

------------------------------------------------------------------------------
-- Cross-tenant writes through INSERT ... ON CONFLICT DO UPDATE
------------------------------------------------------------------------------

-- The per-row checks the planner adds to an upsert into a tenant table;
-- they refuse to be called any other way.
CREATE FUNCTION tenant_guard.upsert_same_tenant(existing anyelement,
		proposed anyelement, rel regclass)
RETURNS boolean
LANGUAGE c
VOLATILE
AS 'MODULE_PATHNAME', 'tenant_guard_upsert_same_tenant';

CREATE FUNCTION tenant_guard.upsert_keep_tenant(new_value anyelement,
		existing anyelement, rel regclass)
RETURNS anyelement
LANGUAGE c
VOLATILE
AS 'MODULE_PATHNAME', 'tenant_guard_upsert_keep_tenant';

------------------------------------------------------------------------------
-- Tenant context (doc/tenant-context.md): the checks the planner adds to
-- statements on tenant tables, for the case tenant_guard.tenant is set:
-- verify_row() on each row an aggregate query aggregates, verify_written()
-- around the tenant value a statement writes, verify_copied() as COPY
-- FROM's condition.  Every role's plans call them, so PUBLIC keeps EXECUTE;
-- they refuse to be called any other way.  verify_row is VOLATILE so that
-- the planner never folds or moves it.
------------------------------------------------------------------------------

ALTER TABLE tenant_guard.violations ADD COLUMN tenant text, ADD COLUMN row_tenant text;

-- COST: as a security barrier of a scan (for statements with code that is
-- not leakproof) it must come after the scan's cheap leakproof conditions.
CREATE FUNCTION tenant_guard.verify_row(relation regclass, tenant anyelement,
										writes boolean, nullable boolean)
RETURNS boolean
LANGUAGE c
VOLATILE PARALLEL SAFE COST 100
AS 'MODULE_PATHNAME', 'tenant_guard_verify_row';

-- With Citus, the condition an unscoped UPDATE or DELETE of one table gets,
-- run where its shards are, against the context and in the mode the
-- coordinator passes in.
-- Citus refuses volatile functions in the WHERE clause of modifications, and
-- stable ones that read a column in UPDATE: it is declared IMMUTABLE, which
-- is safe since it always reads the row's column, so that nothing can fold
-- it; expensive so that the planner puts it last.
CREATE FUNCTION tenant_guard.verify_shard_row(relation regclass, tenant anyelement,
											  writes boolean, context text, mode text)
RETURNS boolean
LANGUAGE c
IMMUTABLE PARALLEL SAFE COST 1000
AS 'MODULE_PATHNAME', 'tenant_guard_verify_shard_row';

CREATE FUNCTION tenant_guard.verify_written(relation regclass, tenant anyelement)
RETURNS anyelement
LANGUAGE c
STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'tenant_guard_verify_written';

CREATE FUNCTION tenant_guard.verify_copied(relation regclass, tenant anyelement)
RETURNS boolean
LANGUAGE c
STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'tenant_guard_verify_copied';

COMMENT ON FUNCTION tenant_guard.verify_row(regclass, anyelement, boolean, boolean) IS
	'Row check of statements without a tenant scope: the row''s tenant must be in tenant_guard.tenant';
COMMENT ON FUNCTION tenant_guard.verify_shard_row(regclass, anyelement, boolean, text, text) IS
	'Row check of an unscoped UPDATE or DELETE of a Citus table, where its shards are: the row''s tenant must be in the coordinator''s context';
COMMENT ON FUNCTION tenant_guard.verify_written(regclass, anyelement) IS
	'Check of a written tenant value against tenant_guard.tenant; returns the value';
COMMENT ON FUNCTION tenant_guard.verify_copied(regclass, anyelement) IS
	'Check of a tenant value COPY FROM writes against tenant_guard.tenant; returns true';
COMMENT ON COLUMN tenant_guard.violations.tenant IS
	'tenant_guard.tenant when the violation happened; NULL without a tenant context';
COMMENT ON COLUMN tenant_guard.violations.row_tenant IS
	'The tenant value outside the tenant context, as text (cross_tenant_read, cross_tenant_write)';

ALTER TABLE tenant_guard.violations ADD COLUMN reason text;

-- Break glass: an audited way across tenants for the rest of a transaction.
-- Nobody may call it until a DBA grants EXECUTE to a maintenance role.
CREATE FUNCTION tenant_guard.break_glass(reason text)
RETURNS void
LANGUAGE c
VOLATILE
AS 'MODULE_PATHNAME', 'tenant_guard_break_glass';
REVOKE ALL ON FUNCTION tenant_guard.break_glass(text) FROM PUBLIC;
COMMENT ON FUNCTION tenant_guard.break_glass(text) IS
	'For the rest of the transaction, no statement is refused by the scoping or tenant-context rules, and every statement on tenant tables is recorded as kind break_glass with this reason';
COMMENT ON COLUMN tenant_guard.violations.reason IS
	'The reason given to tenant_guard.break_glass() (kind break_glass); NULL for every other kind';

-- The barrier of a join level that passes rows to code that is not
-- leakproof: other tenants' rows are left out before that code sees them.
CREATE FUNCTION tenant_guard.filter_row(relation regclass, tenant anyelement)
RETURNS boolean
LANGUAGE c
STABLE PARALLEL SAFE COST 100
AS 'MODULE_PATHNAME', 'tenant_guard_filter_row';
COMMENT ON FUNCTION tenant_guard.filter_row(regclass, anyelement) IS
	'Barrier of a join that passes rows to code that is not leakproof: true for a row of tenant_guard.tenant, false for another tenant''s';

-- Declares (or with NULL, clears) the optimistic-locking column of a table
-- whose amounts are protected: every change of an amount must then change
-- it, and an UPDATE that compares it in WHERE is a compare-and-set.
CREATE FUNCTION tenant_guard.set_amount_version_column(rel regclass, version_column name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	columns	smallint[] := tenant_guard.lock_amount_columns(rel);
	col		smallint;
	typ		regtype;
BEGIN
	IF cardinality(columns) = 0 THEN
		RAISE EXCEPTION 'relation "%" has no protected amount column', tenant_guard.relation_message_name(rel)
			USING ERRCODE = 'undefined_object',
				  HINT = 'Protect its amount columns first with tenant_guard.protect_amount().';
	END IF;
	IF version_column IS NOT NULL THEN
		SELECT a.attnum, a.atttypid INTO col, typ
		  FROM pg_attribute a
		 WHERE a.attrelid = rel AND a.attname = version_column
		   AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'column "%" of relation "%" does not exist',
					version_column, tenant_guard.relation_message_name(rel)
				USING ERRCODE = 'undefined_column';
		END IF;
		IF col = ANY (columns) THEN
			RAISE EXCEPTION 'column "%" of relation "%" is a protected amount, not a version column',
					version_column, tenant_guard.relation_message_name(rel)
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF typ NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
					   'timestamp'::regtype, 'timestamptz'::regtype) THEN
			RAISE EXCEPTION 'column "%" of relation "%" is of type %, which cannot be a version column',
					version_column, tenant_guard.relation_message_name(rel), typ
				USING ERRCODE = 'datatype_mismatch',
					  DETAIL = 'A version column is an integer, numeric or timestamp column.';
		END IF;
	END IF;
	PERFORM tenant_guard.write_amount_trigger(rel, columns, version_column);
END;
$$;
REVOKE ALL ON FUNCTION tenant_guard.write_amount_trigger(regclass, smallint[], name) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenant_guard.set_amount_version_column(regclass, name) FROM PUBLIC;
COMMENT ON FUNCTION tenant_guard.set_amount_version_column(regclass, name) IS
	'Declare the optimistic-locking column of a table with protected amounts (NULL: none): amount changes must change it, and comparing it in WHERE makes an update a compare-and-set';

/* tenant_guard--0.1.0.sql: install script for tenant_guard 0.1.0 */

\echo Use "CREATE EXTENSION tenant_guard" to load this file. \quit

-- The schema holds the extension's objects only; nothing in it is ever a
-- tenant table.  Everyone may look up what is guarded; only superusers (or
-- roles granted EXECUTE explicitly) may change it.
GRANT USAGE ON SCHEMA tenant_guard TO PUBLIC;

------------------------------------------------------------------------------
-- Tenant-table registry (SPEC section 2 and 7)
------------------------------------------------------------------------------

-- One row per relation whose treatment is overridden: a registered table
-- names its tenant column; an excluded table is never a tenant table.
-- Tables without a row are detected by tenant_guard.tenant_columns.
CREATE TABLE tenant_guard.registry (
	relid			regclass PRIMARY KEY,
	tenant_column	name,
	excluded		boolean NOT NULL DEFAULT false,
	changed_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	changed_by		name NOT NULL DEFAULT session_user,
	CONSTRAINT registry_column_unless_excluded
		CHECK (excluded = (tenant_column IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('tenant_guard.registry', '');

-- Every change to the registry, whoever makes it, reaches the tenant-table
-- cache of every session when it commits.
CREATE FUNCTION tenant_guard.registry_changed()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'registry_changed';

CREATE TRIGGER registry_changed
	AFTER INSERT OR UPDATE OR DELETE ON tenant_guard.registry
	FOR EACH ROW EXECUTE FUNCTION tenant_guard.registry_changed();
CREATE TRIGGER registry_truncated
	AFTER TRUNCATE ON tenant_guard.registry
	FOR EACH STATEMENT EXECUTE FUNCTION tenant_guard.registry_changed();

-- Raises the error for a relation that cannot be registered or excluded.
CREATE FUNCTION tenant_guard.assert_guardable(rel regclass)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	kind	"char";
	nsp		name;
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'relation must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT c.relkind, n.nspname INTO kind, nsp
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.oid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', rel::oid
			USING ERRCODE = 'undefined_table';
	END IF;
	IF kind NOT IN ('r', 'p', 'f', 'm') THEN
		RAISE EXCEPTION '"%" is not a table', rel
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'Only tables, partitioned tables, partitions, foreign tables and materialized views can be tenant tables.';
	END IF;
	IF nsp IN ('pg_catalog', 'information_schema', 'tenant_guard')
	   OR nsp LIKE 'pg\_toast%' THEN
		RAISE EXCEPTION 'relation "%" is in schema "%", which tenant_guard never guards', rel, nsp
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END;
$$;

-- Writes one registry entry: a tenant column, or NULL to exclude the table.
CREATE FUNCTION tenant_guard.set_registry_entry(rel regclass, tenant_column name)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO tenant_guard.registry AS r (relid, tenant_column, excluded)
	VALUES (rel, tenant_column, tenant_column IS NULL)
	ON CONFLICT (relid) DO UPDATE
		SET tenant_column = excluded.tenant_column,
			excluded = excluded.excluded,
			changed_at = now(),
			changed_by = session_user;
$$;

CREATE FUNCTION tenant_guard.register_table(rel regclass, tenant_column name)
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
				register_table.tenant_column, rel
			USING ERRCODE = 'undefined_column',
				  HINT = 'Name an existing column of the table as its tenant column.';
	END IF;
	PERFORM tenant_guard.set_registry_entry(rel, register_table.tenant_column);
END;
$$;

CREATE FUNCTION tenant_guard.exclude_table(rel regclass)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM tenant_guard.assert_guardable(rel);
	PERFORM tenant_guard.set_registry_entry(rel, NULL);
END;
$$;

CREATE FUNCTION tenant_guard.forget_table(rel regclass)
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
		RAISE EXCEPTION 'relation "%" is not registered or excluded', rel
			USING ERRCODE = 'undefined_object',
				  HINT = 'forget_table() undoes register_table() or exclude_table().';
	END IF;
END;
$$;

REVOKE ALL ON FUNCTION tenant_guard.assert_guardable(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenant_guard.set_registry_entry(regclass, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenant_guard.register_table(regclass, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenant_guard.exclude_table(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenant_guard.forget_table(regclass) FROM PUBLIC;

-- A dropped relation leaves the registry with it, so that a new relation
-- that reuses its OID does not inherit its registration.
CREATE FUNCTION tenant_guard.forget_dropped_relations()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM tenant_guard.registry r
	 USING pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_class'::regclass
	   AND d.objsubid = 0
	   AND d.objid = r.relid::oid;
END;
$$;
REVOKE ALL ON FUNCTION tenant_guard.forget_dropped_relations() FROM PUBLIC;

CREATE EVENT TRIGGER tenant_guard_forget_dropped_relations ON sql_drop
	EXECUTE FUNCTION tenant_guard.forget_dropped_relations();

-- The answer the guard itself uses for one relation: a row when it is a
-- tenant table, none otherwise.
CREATE FUNCTION tenant_guard.describe_tenant_table(rel regclass,
		OUT tenant_column name, OUT source text)
RETURNS SETOF record
LANGUAGE c
STABLE STRICT
ROWS 1
AS 'MODULE_PATHNAME', 'describe_tenant_table';

CREATE VIEW tenant_guard.tenant_tables AS
	SELECT c.oid::regclass AS relid, d.tenant_column, d.source
	  FROM pg_catalog.pg_class c,
		   LATERAL tenant_guard.describe_tenant_table(c.oid) d
	 WHERE c.relkind IN ('r', 'p', 'f', 'm');
GRANT SELECT ON tenant_guard.tenant_tables TO PUBLIC;

------------------------------------------------------------------------------
-- Scoping guard (SPEC sections 3, 4 and 7)
------------------------------------------------------------------------------

-- Plans a statement without running it and returns the violations it
-- would raise; no rows when it is clean.  Works in every mode, records
-- nothing.
CREATE FUNCTION tenant_guard.check(query text)
RETURNS TABLE (relation text, tenant_column name, kind text, detail text)
LANGUAGE c
VOLATILE
AS 'MODULE_PATHNAME', 'tenant_guard_check';

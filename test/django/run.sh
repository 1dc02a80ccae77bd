#!/usr/bin/env bash
# The Django integration test (test/django/tests.py): a database of the
# shared test cluster, roles of its own, the app's tables and two firms'
# data; then enforce mode, signed contexts required, and the checks.
# Usage: run.sh SOCKET_DIR PORT
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
host=$1 port=$2
# The PostgreSQL of the cluster: PG_BINDIR, or the bindir of PG_CONFIG.
PG_BINDIR=${PG_BINDIR:-$("${PG_CONFIG:-pg_config}" --bindir)}
psql() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres "$@"; }

# django_app: the web app's role, owner of its tables; django_worker: a
# worker that keeps a context for its session; django_maint: maintenance,
# allowed to break glass.
psql -d postgres -c "DROP DATABASE IF EXISTS django_tg" \
	-c "DROP ROLE IF EXISTS django_app" -c "DROP ROLE IF EXISTS django_worker" \
	-c "DROP ROLE IF EXISTS django_maint" -c "CREATE ROLE django_app LOGIN" \
	-c "CREATE ROLE django_worker LOGIN" -c "CREATE ROLE django_maint LOGIN" \
	-c "CREATE DATABASE django_tg OWNER django_app" || exit 1
psql -d django_tg -c "CREATE EXTENSION tenant_guard" || exit 1
export PGHOST=$host PGPORT=$port PGDATABASE=django_tg PGUSER=django_app
# the tables and data are made before the guard is enforced
/usr/bin/python3 "$HERE/tests.py" setup || exit 1
# The membership table tells the middleware which firm a user works for,
# so it is read before the tenant context exists: exclude it (it holds no
# firm's business data, only the mapping that chooses the context).
# Then enforce for everyone; the app's roles take only signed contexts and
# need one for every statement on a tenant table, and django_app only for
# a transaction (its middleware sets it with set_config(..., true)).  The
# require_ settings are superuser-only, so the roles cannot undo them.
psql -d django_tg -c "SELECT tenant_guard.exclude_table('firmapp_membership')" \
	-c "ALTER DATABASE django_tg SET tenant_guard.mode = enforce" \
	-c "ALTER ROLE django_app SET tenant_guard.require_signed_tenant = on" \
	-c "ALTER ROLE django_app SET tenant_guard.require_tenant = on" \
	-c "ALTER ROLE django_app SET tenant_guard.require_local_tenant = on" \
	-c "ALTER ROLE django_worker SET tenant_guard.require_signed_tenant = on" \
	-c "ALTER ROLE django_worker SET tenant_guard.require_tenant = on" \
	-c "GRANT SELECT ON firmapp_invoice TO django_worker, django_maint" \
	-c "GRANT EXECUTE ON FUNCTION tenant_guard.break_glass(text) TO django_maint" \
	>/dev/null || exit 1

# The app signs its contexts with the server's tenant_guard.tenant_key,
# handed to it in the environment as a deployment hands an app a secret.
# Read as the superuser (no other role can), right before the run, since
# another test may change the key of the shared cluster.
key=$(psql -d postgres -At -c "SHOW tenant_guard.tenant_key") || exit 1
if [ "${#key}" -lt 32 ]; then
	echo "error: the cluster has no tenant_guard.tenant_key (at least 32 characters) to sign contexts with" >&2
	exit 1
fi
TENANT_GUARD_KEY=$key /usr/bin/python3 "$HERE/tests.py" run

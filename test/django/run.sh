#!/usr/bin/env bash
# The Django integration test (test/django/tests.py): a database of the
# shared test cluster, a role of its own, the app's tables and two firms'
# data; then enforce mode and the checks.  Usage: run.sh SOCKET_DIR PORT
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
host=$1 port=$2
# The PostgreSQL of the cluster: PG_BINDIR, or the bindir of PG_CONFIG.
PG_BINDIR=${PG_BINDIR:-$("${PG_CONFIG:-pg_config}" --bindir)}
psql() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres "$@"; }

psql -d postgres -c "DROP DATABASE IF EXISTS django_tg" -c "DROP ROLE IF EXISTS django_app" \
	-c "CREATE ROLE django_app LOGIN" -c "CREATE DATABASE django_tg OWNER django_app" || exit 1
psql -d django_tg -c "CREATE EXTENSION tenant_guard" || exit 1
export PGHOST=$host PGPORT=$port PGDATABASE=django_tg PGUSER=django_app
# the tables and data are made before the guard is enforced
/usr/bin/python3 "$HERE/tests.py" setup || exit 1
# The membership table tells the middleware which firm a user works for,
# so it is read before the tenant context exists: exclude it.
psql -d django_tg -c "SELECT tenant_guard.exclude_table('firmapp_membership')" \
	-c "ALTER DATABASE django_tg SET tenant_guard.mode = enforce" >/dev/null || exit 1
/usr/bin/python3 "$HERE/tests.py" run

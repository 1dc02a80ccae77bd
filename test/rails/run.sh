#!/usr/bin/env bash
# The Rails/ActiveRecord integration test (test/rails/tests.rb): a database
# of the shared test cluster, app roles that own nothing, the tables and two
# firms' data made by the superuser (schema.sql), a tenant key for signed
# contexts; then enforce mode and the checks.  Usage: run.sh SOCKET_DIR PORT
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
host=$1 port=$2
# The PostgreSQL of the cluster: PG_BINDIR, or the bindir of PG_CONFIG.
PG_BINDIR=${PG_BINDIR:-$("${PG_CONFIG:-pg_config}" --bindir)}
psql() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres "$@"; }

psql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS rails_tg" \
	-c "DROP ROLE IF EXISTS rails_app" -c "DROP ROLE IF EXISTS rails_local" \
	-c "DROP ROLE IF EXISTS rails_log" -c "CREATE ROLE rails_app LOGIN" \
	-c "CREATE ROLE rails_local LOGIN" -c "CREATE ROLE rails_log LOGIN" \
	-c "CREATE DATABASE rails_tg" || exit 1
psql -d rails_tg -c "CREATE EXTENSION tenant_guard" -f "$HERE/schema.sql" >/dev/null || exit 1

# The key that signs tenant contexts: 40 random characters, the server's
# copy set with ALTER SYSTEM, the app's passed in the environment.  The
# ALTER SYSTEM entry is removed when the test ends, which brings back the
# cluster's own key, if any.
key=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40)
trap 'psql -d postgres -c "ALTER SYSTEM RESET tenant_guard.tenant_key" \
	-c "SELECT pg_reload_conf()" >/dev/null' EXIT
psql -d postgres -c "ALTER SYSTEM SET tenant_guard.tenant_key = '$key'" \
	-c "SELECT pg_reload_conf()" >/dev/null || exit 1
for _ in $(seq 50); do # new sessions see the key once the postmaster reloaded
	[ "$(psql -d postgres -At -c "SHOW tenant_guard.tenant_key")" = "$key" ] && break
	sleep 0.1
done
[ "$(psql -d postgres -At -c "SHOW tenant_guard.tenant_key")" = "$key" ] ||
	{ echo "error: new sessions do not see the tenant key" >&2; exit 1; }

# enforce for everyone; the app role must send a signed context, and one
# for every statement on a tenant table; rails_local must also set it
# transaction-locally; rails_log runs in log mode for the client-message
# checks.
psql -d rails_tg -c "ALTER DATABASE rails_tg SET tenant_guard.mode = enforce" \
	-c "ALTER ROLE rails_app SET tenant_guard.require_signed_tenant = on" \
	-c "ALTER ROLE rails_app SET tenant_guard.require_tenant = on" \
	-c "ALTER ROLE rails_local SET tenant_guard.require_signed_tenant = on" \
	-c "ALTER ROLE rails_local SET tenant_guard.require_tenant = on" \
	-c "ALTER ROLE rails_local SET tenant_guard.require_local_tenant = on" \
	-c "ALTER ROLE rails_log SET tenant_guard.mode = log" >/dev/null || exit 1

PGHOST=$host PGPORT=$port PGDATABASE=rails_tg PG_BINDIR=$PG_BINDIR TENANT_KEY=$key \
	/usr/bin/ruby "$HERE/tests.rb"

#!/usr/bin/env bash
# `make demo`: build and install tenant_guard, start a local guarded
# PostgreSQL with the demo schema, show the guard at work, and say how to
# connect and how to stop it.  `make demo-stop` (this script with "stop")
# stops it and removes its directory.
set -euo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "$0")/lib.sh"

DEMO_DIR=${TENANT_GUARD_DEMO_DIR:-${TMPDIR:-/tmp}/tenant_guard-demo}

stop_demo() {
	if [ -d "$DEMO_DIR" ]; then
		tg_stop_cluster "$DEMO_DIR"
		rm -rf "$DEMO_DIR"
		tg_log "demo stopped and $DEMO_DIR removed"
	fi
}

if [ "${1:-}" = stop ]; then
	stop_demo
	exit 0
fi

tg_ensure_packages
tg_build_and_install
stop_demo
PORT=$(tg_free_port)
mkdir -p "$DEMO_DIR"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DEMO_DIR"
tg_log "starting a guarded PostgreSQL on port $PORT in $DEMO_DIR"
tg_start_cluster "$DEMO_DIR" "$PORT"

CONN="host=127.0.0.1 port=$PORT user=postgres dbname=demo"
"$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres demo
"$PG_BINDIR/psql" "$CONN" -q -v ON_ERROR_STOP=1 -f "$TG_ROOT/test/demo.sql"

# show TITLE SQL: print a query and what the server answers, errors included.
show() {
	printf '\n--- %s\n%s\n' "$1" "$2"
	"$PG_BINDIR/psql" "$CONN" -X -v VERBOSITY=default -c "$2" 2>&1 | sed 's/^/    /' || true
}

show "The tables tenant_guard treats as tenant tables (detected by their firm_id column):" \
	"SELECT relid, tenant_column, source FROM tenant_guard.tenant_tables ORDER BY relid::text;"

cat <<MSG

The demo server is running.
  connect:  psql "$CONN"
  stop:     make demo-stop
MSG

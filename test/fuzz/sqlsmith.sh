#!/usr/bin/env bash
# Randomized SQL against a guarded schema: sqlsmith generates queries
# against test/fuzz/schema.sql with tenant_guard in log mode, in enforce
# mode, and in enforce mode with a tenant context, and the run fails if any
# backend crashed or the server restarted.  Queries that fail (syntax the server rejects, timeouts,
# tenant_guard's own rejections) are expected; crashes are not.
#
#   bash test/fuzz/sqlsmith.sh [QUERIES_PER_MODE] [SEED]
#
# Defaults: 2000 queries per mode, seed 1.  KEEP=1 keeps the work directory.
set -uo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "$0")/../lib.sh"

QUERIES=${1:-2000}
SEED=${2:-1}

tg_ensure_packages sqlsmith || exit 1
tg_build_and_install || exit 1

WORK=$(tg_make_workdir fuzz) || exit 1
cleanup() {
	tg_stop_cluster "$WORK/cluster"
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(tg_free_port)
tg_start_cluster "$WORK/cluster" "$PORT" || exit 1
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK/cluster" -p "$PORT" -U postgres)
"${PSQL[@]}" -d postgres -c 'CREATE DATABASE fuzz' || exit 1
"${PSQL[@]}" -d fuzz -f "$TG_ROOT/test/fuzz/schema.sql" >/dev/null || exit 1
# Random queries can be slow or block; keep each one short.
"${PSQL[@]}" -d fuzz -c "ALTER DATABASE fuzz SET statement_timeout = '2s'; ALTER DATABASE fuzz SET lock_timeout = '1s'" || exit 1

start_time() { "${PSQL[@]}" -d postgres -Atc 'SELECT pg_postmaster_start_time()'; }
STARTED=$(start_time)
status=0
# The third pass is enforce mode with a tenant context, so that random SQL
# also goes through the value checks, row verification and written-row
# checks of doc/tenant-context.md.
for mode in log enforce context; do
	if [ "$mode" = context ]; then
		"${PSQL[@]}" -d postgres -c "ALTER DATABASE fuzz SET tenant_guard.mode = enforce" \
			-c "ALTER DATABASE fuzz SET tenant_guard.tenant = '1'" || exit 1
	else
		"${PSQL[@]}" -d postgres -c "ALTER DATABASE fuzz SET tenant_guard.mode = $mode" || exit 1
	fi
	tg_log "sqlsmith: $QUERIES queries in $mode mode (seed $SEED)"
	tg_as_owner sqlsmith --target="host=$WORK/cluster port=$PORT dbname=fuzz user=fuzzer" \
		--seed="$SEED" --max-queries="$QUERIES" --exclude-catalog --verbose \
		>"$WORK/sqlsmith-$mode.log" 2>&1
	grep -E "^(queries|AST|error)" "$WORK/sqlsmith-$mode.log" | tail -n 3 | sed "s/^/    /"; tail -c 600 "$WORK/sqlsmith-$mode.log" | tr "\r" "\n" | tail -n 4 | sed "s/^/    /"
	violations=$(grep -c 'tenant_guard violation:.*"action": "'"$([ $mode = log ] && echo logged || echo rejected)"'"' \
		"$WORK/cluster/server.log")
	tg_log "$mode mode: $violations violations $([ $mode = log ] && echo logged || echo rejected) so far"
done

crashes=$(grep -cE 'terminated by signal|was terminated by exception|all server processes terminated' \
	"$WORK/cluster/server.log")
if [ "$crashes" -ne 0 ]; then
	grep -E -B2 -A8 'terminated by signal|was terminated by exception' "$WORK/cluster/server.log" | head -n 60
	status=1
fi
if [ "$(start_time)" != "$STARTED" ]; then
	echo "the server restarted during the run"
	status=1
fi
echo "sqlsmith: $((QUERIES * 3)) queries, $crashes backend crashes"
exit $status

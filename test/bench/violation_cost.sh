#!/usr/bin/env bash
# `make bench-violation`: what a logged violation costs the statement that
# raises it, in CPU instructions (callgrind), with the default audit
# settings.
#
# Starts a throwaway guarded cluster in log mode with a table of 10,000
# invoices, restarts it with the postmaster under callgrind, and runs two
# prepared statements in one pgbench connection each, 100 and then 600
# times with the same seed: the point select scoped by its tenant, and the
# same without the scope, which raises a violation every time.  The
# difference of the two backends' counts divided by 500 is one statement
# in steady state; the unscoped one minus the scoped one is what a
# violation adds: with sampling (tenant_guard.audit_sample_interval, 1 s by
# default) nearly every violation is a repeat that is only counted.
#
# Environment: PG_CONFIG as for make test; KEEP=1 keeps the work directory.
set -euo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "$0")/../lib.sh"

tg_ensure_packages valgrind
tg_build_and_install
WORK=$(tg_make_workdir violation-cost)
PORT=$(tg_free_port)
VALGRIND_PID=
cleanup() {
	tg_stop_cluster "$WORK/cluster"
	# valgrind writes the postmaster's own file after it exits
	[ -z "$VALGRIND_PID" ] || wait "$VALGRIND_PID" 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

tg_start_cluster "$WORK/cluster" "$PORT"
psql_run() {
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"
}
psql_run -c "CREATE EXTENSION tenant_guard" \
	-c "CREATE TABLE invoices (id int PRIMARY KEY, firm_id int NOT NULL, note text)" \
	-c "INSERT INTO invoices SELECT i, i % 10, 'x' FROM generate_series(1, 10000) i" \
	-c "VACUUM ANALYZE invoices" -c "ALTER SYSTEM SET tenant_guard.mode = log" \
	-c "ALTER SYSTEM SET autovacuum = off" -c "ALTER SYSTEM SET log_disconnections = on"
cat >"$WORK/scoped.sql" <<'SQL'
\set id random(1, 10000)
SELECT note FROM invoices WHERE id = :id AND firm_id = :id % 10;
SQL
cat >"$WORK/unscoped.sql" <<'SQL'
\set id random(1, 10000)
SELECT note FROM invoices WHERE id = :id;
SQL
chmod a+r "$WORK"/*.sql
tg_stop_cluster "$WORK/cluster"

# The postmaster under callgrind: each backend it forks writes a file of
# its own, named by its pid, when it exits.
tg_as_owner bash -c "cd '$WORK' && exec valgrind --tool=callgrind --trace-children=yes \
	--callgrind-out-file='$WORK/cg.%p' '$PG_BINDIR/postgres' -D '$WORK/cluster/data' \
	>'$WORK/valgrind.log' 2>&1" &
VALGRIND_PID=$!
for _ in $(seq 120); do
	"$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
	sleep 1
done
"$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" || tg_die "the server did not start under callgrind"

# instructions STATEMENTS SCRIPT: the count of the backend that ran SCRIPT
# STATEMENTS times, found by its pid in its disconnection line (pgbench's
# second connection: its first only looks at the server).
instructions() {
	local n=$1 script=$2 app="cg_$2_$1" pid file
	PGAPPNAME=$app "$PG_BINDIR/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres -M prepared \
		-c 1 -t "$n" --random-seed=1 -f "$WORK/$script.sql" postgres >/dev/null 2>&1 ||
		tg_die "pgbench failed: $script"
	for _ in $(seq 60); do
		pid=$(sed -nE "s/.*\[([0-9]+)\] $app LOG:  disconnection.*/\1/p" "$WORK/valgrind.log" | sed -n 2p)
		file=$WORK/cg.$pid
		[ -n "$pid" ] && [ -f "$file" ] && grep -q '^summary:' "$file" && break
		sleep 1
	done
	[ -n "$pid" ] && [ -f "$file" ] || tg_die "no callgrind file for $app"
	awk '/^summary:/ { print $2 }' "$file"
}

declare -A PER
for script in scoped unscoped; do
	short=$(instructions 100 "$script")
	long=$(instructions 600 "$script")
	PER[$script]=$(((long - short) / 500))
done
raised=$(grep -c 'tenant_guard violation' "$WORK/valgrind.log" || true)
echo "| statement, prepared | instructions |"
echo "|---|---:|"
echo "| point select, scoped | ${PER[scoped]} |"
echo "| the same without its scope, log mode (a violation each) | ${PER[unscoped]} |"
echo "| what a violation adds | $((PER[unscoped] - PER[scoped])) ($(awk -v a="${PER[unscoped]}" -v b="${PER[scoped]}" 'BEGIN { printf "%+.1f%%", (a - b) * 100 / b }')) |"
echo
echo "700 violations raised, $raised server-log lines (sampled repeats write none)"

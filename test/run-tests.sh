#!/usr/bin/env bash
# `make test`: install what is missing, build with warnings as errors,
# install, start a throwaway cluster with tenant_guard preloaded, run every
# pg_regress suite, every isolation spec and every TAP test, stop and remove
# everything it started (also on failure), print a summary, and exit
# non-zero on any failure.
#
# Environment: KEEP=1 keeps the work directory for inspection;
# FUZZ_QUERIES sets the sqlsmith queries per mode (default 1000).
set -uo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "$0")/lib.sh"

# The Rails suite's ActiveRecord 6.1, pg and marginalia; marginalia loads
# rails/railtie, which Debian's ruby-marginalia does not depend on.
# The signing snippets' runtimes (test/signing): Node, Go, and OpenSSL's
# headers for the C one.
tg_ensure_packages sqlsmith python3-django python3-psycopg2 \
	ruby ruby-activerecord ruby-pg ruby-marginalia ruby-railties \
	nodejs golang-go libssl-dev || exit 1
# The report's browser check (test/t/010_report.pl) opens its html page in
# chromium; run without root, it is skipped when chromium is missing.
if [ "$(id -u)" -eq 0 ]; then
	tg_ensure_packages chromium || exit 1
fi
tg_build_and_install || exit 1

WORK=$(tg_make_workdir test) || exit 1
cleanup() {
	tg_stop_cluster "$WORK/cluster"
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The suites write results next to their inputs, so they run in a copy of
# the tree that the cluster owner can write.
tg_log "copying the tree to $WORK/tree"
mkdir -p "$WORK/tree"
tar -C "$TG_ROOT" --exclude=.git --exclude=results --exclude=tmp_check \
	--exclude=output_iso --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . |
	tar -C "$WORK/tree" -xf -
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$WORK/tree"

PORT=$(tg_free_port)
tg_log "starting a cluster on port $PORT in $WORK/cluster"
# The keys the signed contexts of sql/signed_context.sql are signed with.
TG_CLUSTER_CONF="tenant_guard.tenant_key = 'tenant-guard-regress-key-0123456789abcdef'
tenant_guard.tenant_key_previous = 'tenant-guard-regress-old-key-0123456789ab'" \
	tg_start_cluster "$WORK/cluster" "$PORT" || exit 1

passed=0
failed=0
failed_suites=()
skipped_suites=()

# run_suite NAME TARGET: run one make target in the copy and count its tests
# from the runner's own lines (pg_regress: "... ok" / "... FAILED",
# prove: one line per test file).
run_suite() {
	local name=$1 target=$2 log="$WORK/$1.log" status p f s line
	tg_log "running $name"
	tg_as_owner env PGHOST="$WORK/cluster" PGPORT="$PORT" PGUSER=postgres \
		make -C "$WORK/tree" PG_CONFIG="$PG_CONFIG" "$target" >"$log" 2>&1
	status=$?
	cat "$log"
	if [ "$target" = tapcheck ]; then
		# prove: one line per failed file in its summary report; a file
		# that skips itself ("skipped: why") counts as neither
		f=$(grep -cE '^test/t/[^ ]+\.pl +\(Wstat' "$log")
		s=$(grep -cE '^test/t/[^ ]+\.pl \.+ skipped: ' "$log")
		p=$(( $(ls "$TG_ROOT"/test/t/*.pl | wc -l) - f - s ))
		while IFS= read -r line; do
			skipped_suites+=("$line")
		done < <(grep -E '^test/t/[^ ]+\.pl \.+ skipped: ' "$log" | sed -E 's/ \.+ skipped: /: /')
	else
		p=$(tg_regress_results "$log" | grep -c ' ok$')
		f=$(tg_regress_results "$log" | grep -c ' failed$')
	fi
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # the runner itself failed
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$status" -ne 0 ]; then
		failed_suites+=("$name")
		for diffs in "$WORK"/tree/regression.diffs "$WORK"/tree/output_iso/regression.diffs; do
			[ -s "$diffs" ] && { echo "--- $diffs"; head -n 200 "$diffs"; }
		done
		[ "$target" = tapcheck ] && for l in "$WORK"/tree/tmp_check/log/*; do
			echo "--- $l (last 40 lines)"; tail -n 40 "$l"
		done
	fi
}

run_suite pg_regress regresscheck
run_suite isolation isolationcheck
run_suite tap tapcheck

# The signing snippets of doc/tenant-context.md (test/signing): each
# language's signing function against openssl dgst, and the doc's copy of
# each against the tested file; no cluster.  One "ok", "FAIL" or "skip"
# line per check.
tg_log "running signing"
bash "$WORK/tree/test/signing/run.sh" >"$WORK/signing.log" 2>&1
signing_status=$?
cat "$WORK/signing.log"
p=$(grep -cE '^ok ' "$WORK/signing.log")
f=$(grep -cE '^FAIL ' "$WORK/signing.log")
[ "$signing_status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
passed=$((passed + p))
failed=$((failed + f))
[ "$signing_status" -ne 0 ] && failed_suites+=(signing)
while IFS= read -r line; do
	skipped_suites+=("signing ${line#skip }")
done < <(grep -E '^skip ' "$WORK/signing.log")

# Concurrent payments (test/tools/payment_race.c) against the shared
# cluster, the amount column protected: the safe patterns must lose nothing
# and have nothing refused, read-modify-write must be refused and lose
# nothing.  Unprotected, the tool must see the updates read-modify-write
# loses, or it could not tell.
race() {
	"$TG_ROOT/test/tools/payment_race" "host=$WORK/cluster port=$PORT user=postgres dbname=race" "$@"
}
race_case() {
	local expected=$1 name=$2
	shift 2
	race "$@"
	if [ $? -eq "$expected" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_suites+=("payment_race:$name")
	fi
}
tg_log "running payment_race"
if make -s -C "$TG_ROOT" PG_CONFIG="$PG_CONFIG" payment-race >"$WORK/payment_race.log" 2>&1 &&
	"$PG_BINDIR/createdb" -h "$WORK/cluster" -p "$PORT" -U postgres race >>"$WORK/payment_race.log" 2>&1 &&
	"$PG_BINDIR/psql" -X -q -h "$WORK/cluster" -p "$PORT" -U postgres -d race \
		-c "CREATE EXTENSION tenant_guard" >>"$WORK/payment_race.log" 2>&1; then
	for pattern in relative lock webhook refund rmw; do
		race_case 0 "$pattern" "$pattern" 4 2 protected
	done
	race_case 1 rmw-unprotected-loses rmw 4 2 unprotected
else
	cat "$WORK/payment_race.log"
	failed=$((failed + 1))
	failed_suites+=(payment_race)
fi

# The Django and Rails integration tests (test/django, test/rails): a
# multi-tenant app whose middleware sets the tenant context, in enforce
# mode, against a database of the shared cluster; one "ok" or "FAIL" line
# per check.
run_app_suite() {
	local name=$1 log="$WORK/$1.log" status p f
	tg_log "running $name"
	PG_BINDIR="$PG_BINDIR" bash "$WORK/tree/test/$name/run.sh" "$WORK/cluster" "$PORT" \
		>"$log" 2>&1
	status=$?
	cat "$log"
	p=$(grep -cE '^ok ' "$log")
	f=$(grep -cE '^FAIL ' "$log")
	[ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$status" -ne 0 ] && failed_suites+=("$name")
}
run_app_suite django
run_app_suite rails

# A short randomized-SQL run against a cluster of its own; the long run is
# `make fuzz` (see the README, section Robustness).
tg_log "running sqlsmith (${FUZZ_QUERIES:-1000} queries per mode)"
if bash "$TG_ROOT/test/fuzz/sqlsmith.sh" "${FUZZ_QUERIES:-1000}" 1 >"$WORK/sqlsmith.log" 2>&1; then
	passed=$((passed + 1))
	tail -n 1 "$WORK/sqlsmith.log"
else
	failed=$((failed + 1))
	failed_suites+=(sqlsmith)
	tail -n 60 "$WORK/sqlsmith.log"
fi

if [ "${#failed_suites[@]}" -gt 0 ]; then
	echo "--- server log of the shared cluster (last 50 lines)"
	tail -n 50 "$WORK/cluster/server.log"
fi
echo
echo "tenant_guard test summary"
echo "  failed suites: ${failed_suites[*]:-none}"
for skipped in "${skipped_suites[@]}"; do
	echo "  skipped: $skipped"
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "${#failed_suites[@]}" -eq 0 ]

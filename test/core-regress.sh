#!/usr/bin/env bash
# PostgreSQL's own regression suite with tenant_guard loaded.  Hooks in the
# planner and the executor must not change what PostgreSQL does with
# statements that touch no tenant table, so the suite (make installcheck in
# the source tree's src/test/regress) runs against a throwaway cluster of
# the PostgreSQL that PG_CONFIG names, three times:
#
#   without     tenant_guard not loaded: the reference
#   preloaded   shared_preload_libraries = 'tenant_guard'
#   extension   preloaded, and CREATE EXTENSION tenant_guard in the test
#               database (pg_regress --load-extension=tenant_guard)
#
# and fails when a test's result in one of the last two differs from the
# reference: it passed in one and failed in the other, or failed in both
# with different output.  Expected, so not counted: in the extension run,
# opr_sanity and event_trigger, which list the extension's own SECURITY
# DEFINER functions and its event trigger.
#
#   bash test/core-regress.sh [PG_SOURCE]
#
# PG_SOURCE is the built source tree of the same PostgreSQL (default
# PREFIX/src, where a PostgreSQL installed into PREFIX was built in place).
# It is only read: the clusters run as the postgres user when run as root,
# and each run writes its results into a work directory of its own
# (pg_regress --outputdir), kept with KEEP=1.  Environment: PG_CONFIG as for
# make test; RUNS, the runs compared with the reference (default "preloaded
# extension").  Prints one line per run, the differences, and exits
# non-zero when any result differs.
set -uo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "$0")/lib.sh"

PG_SOURCE=${1:-$(dirname "$PG_BINDIR")/src}
REGRESS_DIR=$PG_SOURCE/src/test/regress
RUNS=${RUNS:-preloaded extension}

[ -x "$REGRESS_DIR/pg_regress" ] ||
	tg_die "no built regression suite in $REGRESS_DIR: pass the built source tree of $("$PG_CONFIG" --version) (PG_SOURCE)"
for run in $RUNS; do
	case $run in preloaded | extension) ;; *) tg_die "unknown run '$run' (preloaded, extension)" ;; esac
done

tg_ensure_packages || exit 1
tg_build_and_install || exit 1

WORK=$(tg_make_workdir core-regress) || exit 1
cleanup() {
	local dir
	for dir in "$WORK"/*/; do
		tg_stop_cluster "${dir%/}"
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_suite NAME: the suite against a cluster of its own in WORK/NAME; its
# results in WORK/NAME/out, "TEST ok|failed" lines in WORK/NAME/results.
run_suite() {
	local name=$1 dir=$WORK/$1 preload=tenant_guard opts port start
	case $name in
		without) preload= ;;
		extension) opts=--load-extension=tenant_guard ;;
	esac
	port=$(tg_free_port)
	start=$SECONDS
	tg_start_cluster "$dir" "$port" "$preload" || exit 1
	tg_as_owner mkdir "$dir/out"
	tg_as_owner env PGHOST="$dir" PGPORT="$port" PGUSER=postgres \
		make -C "$REGRESS_DIR" installcheck \
		EXTRA_REGRESS_OPTS="--outputdir=$dir/out ${opts:-}" >"$dir/regress.log" 2>&1
	tg_stop_cluster "$dir"
	tg_regress_results "$dir/regress.log" >"$dir/results"
	echo "core-regress: $name: $(wc -l <"$dir/results") tests, $(grep -c ' failed$' "$dir/results") failed ($((SECONDS - start)) s)"
}

# expected NAME TEST: whether TEST differs in the run NAME for a reason of
# its own: once the extension is created, these list its objects.
expected() {
	[ "$1" = extension ] && [[ $2 == opr_sanity || $2 == event_trigger ]]
}

# differences NAME: "TEST REFERENCE RUN" for each test whose result in the
# run differs from the reference's.
differences() {
	local name=$1 test ref run
	join -a 1 -a 2 -e missing -o 0,1.2,2.2 <(sort "$WORK/without/results") \
		<(sort "$WORK/$name/results") |
		while read -r test ref run; do
			if [ "$ref" != "$run" ]; then
				echo "$test $ref $run"
			elif [ "$ref" = failed ] && ! cmp -s "$WORK/without/out/results/$test.out" \
				"$WORK/$name/out/results/$test.out"; then
				echo "$test failed failed-otherwise"
			fi
		done
}

tg_log "PostgreSQL's regression suite ($REGRESS_DIR) against $("$PG_CONFIG" --version): without tenant_guard, then $RUNS"
run_suite without
if [ ! -s "$WORK/without/results" ]; then
	tail -n 30 "$WORK/without/regress.log"
	tg_die "the reference run ran no test"
fi
status=0
for name in $RUNS; do
	run_suite "$name"
	differing=()
	while read -r test ref run; do
		if expected "$name" "$test"; then
			echo "  $test: $ref without tenant_guard, $run in the $name run (expected)"
			continue
		fi
		differing+=("$test")
		echo "  $test: $ref without tenant_guard, $run in the $name run"
		diff -u "$WORK/without/out/results/$test.out" "$WORK/$name/out/results/$test.out" |
			head -n 40 | sed 's/^/    /'
	done < <(differences "$name")
	echo "core-regress: $name: ${#differing[@]} tests differ from the run without tenant_guard${differing:+: ${differing[*]}}"
	[ "${#differing[@]}" -eq 0 ] || status=1
done
exit $status

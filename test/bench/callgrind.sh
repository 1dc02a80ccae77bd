#!/usr/bin/env bash
# `make bench-callgrind`: what tenant_guard costs per statement, counted in
# CPU instructions by valgrind's callgrind, which a busy machine does not
# disturb the way it disturbs throughput.
#
# Creates the plain, guard and rls clusters of `make bench` (see
# test/bench/lib.sh), then, one cluster at a time, restarts it with the
# postmaster under callgrind (every backend it forks is counted, each into
# a file of its own) and runs each workload's script in one pgbench
# connection twice, BENCH_CG_SHORT and BENCH_CG_LONG transactions, with the
# same random seed.  The difference of the two backends' instruction counts
# divided by the difference of transactions is the cost of one statement in
# steady state: connection start-up, the first statement's catalog look-ups
# and plan caching cancel out.  Reports a markdown table of instructions
# per statement, and the guard's own functions for the workloads in
# BENCH_CG_PROFILE (per statement, self and inclusive, from
# callgrind_annotate).
#
# Environment (see also test/bench/run.sh and lib.sh):
#   BENCH_WORKLOADS   subset of the workloads (default all)
#   BENCH_CG_SHORT, BENCH_CG_LONG  transactions of the two runs (200, 1200)
#   BENCH_CG_CLUSTERS clusters to measure (default "plain guard rls")
#   BENCH_CG_PROFILE  workloads whose guard profile is shown
#                     (default point_simple,point_prepared)
#   BENCH_OUTPUT      also write the report to this file
#   PG_BINDIR, KEEP=1 as for make bench
# Unlike make bench, it writes into no documentation file: the figures in
# doc/performance.md are copied there by hand.
set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "$0")/lib.sh"

BENCH_WORKLOADS=${BENCH_WORKLOADS:-$BENCH_ALL_WORKLOADS}
BENCH_CG_SHORT=${BENCH_CG_SHORT:-200}
BENCH_CG_LONG=${BENCH_CG_LONG:-1200}
BENCH_CG_CLUSTERS=${BENCH_CG_CLUSTERS:-plain guard rls}
BENCH_CG_PROFILE=${BENCH_CG_PROFILE:-point_simple,point_prepared}
BENCH_OUTPUT=${BENCH_OUTPUT:-}
# shellcheck disable=SC2034 # read by publish_report (lib.sh)
BENCH_DOC=

for n in BENCH_CG_SHORT BENCH_CG_LONG BENCH_TABLES; do
	[[ ${!n} =~ ^[0-9]+$ ]] || tg_die "$n must be a whole number, not '${!n}'"
done
[ "$BENCH_CG_LONG" -gt "$BENCH_CG_SHORT" ] || tg_die "BENCH_CG_LONG must exceed BENCH_CG_SHORT"
IFS=, read -r -a WORKLOADS <<<"$BENCH_WORKLOADS"
read -r -a CLUSTERS <<<"$BENCH_CG_CLUSTERS"
for w in "${WORKLOADS[@]}"; do
	[ -n "${WORKLOAD[$w]:-}" ] || tg_die "unknown workload '$w'"
	if [ "$w" = point_simple_many ] && [ "$BENCH_TABLES" -eq 0 ]; then
		tg_die "workload point_simple_many needs BENCH_TABLES > 0"
	fi
done
[[ " ${CLUSTERS[*]} " == *" plain "* ]] || tg_die "BENCH_CG_CLUSTERS must include plain"

tg_ensure_packages postgresql-client-15 valgrind
[ -x "$PG_BINDIR/pgbench" ] || tg_die "no pgbench in $PG_BINDIR"
tg_build_and_install

bench_make_workdir callgrind
declare -A PORT
for c in "${CLUSTERS[@]}"; do
	tg_log "creating the $c cluster"
	PORT[$c]=$(bench_create_cluster "$WORK" "$c") || exit 1
	tg_stop_cluster "$WORK/$c"
done

# start_under_callgrind CLUSTER: start its postmaster under callgrind.
start_under_callgrind() {
	local dir=$WORK/$1 port=${PORT[$1]} i
	tg_as_owner mkdir -p "$dir/callgrind"
	tg_as_owner valgrind --tool=callgrind --trace-children=no \
		--callgrind-out-file="$dir/callgrind/callgrind.%p" \
		"$PG_BINDIR/postgres" -D "$dir/data" -c log_connections=on \
		>>"$dir/server.log" 2>&1 &
	for ((i = 0; i < 300; i++)); do
		"$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" && return 0
		sleep 1
	done
	tail -n 30 "$dir/server.log"
	tg_die "the $1 cluster did not start under callgrind"
}

# backend_instructions CLUSTER APPNAME: the instruction count of the backend
# that served the connection of this application_name, once it has exited,
# and its callgrind file.
backend_instructions() {
	local dir=$WORK/$1 app=$2 pid file i total
	pid=$(sed -n "s/^.* \[\([0-9]*\)\] .*connection authorized: .*application_name=$app\$/\1/p" \
		"$dir/server.log" | tail -n 1)
	[ -n "$pid" ] || tg_die "no backend for $app in $dir/server.log"
	file=$dir/callgrind/callgrind.$pid
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "$pid" 2>/dev/null && [ -s "$file" ]; then
			total=$(awk '/^(totals|summary):/ { print $2; exit }' "$file")
			[ -n "$total" ] && { echo "$total $file"; return 0; }
		fi
		sleep 0.2
	done
	tg_die "no callgrind totals in $file"
}

# The first statement of a session: a backend that runs the point select,
# minus one that runs an empty query string (no statement at all).  Both
# pay the connection start, so the difference is what the session's first
# statement costs, all of its catalog warm-up included (tenant_guard's
# look-up of the extension and the registry among it).
FIRST_STATEMENT="SELECT id, client_id, amount_due, amount_paid FROM invoices WHERE firm_id = $BENCH_FIRM AND id = $(( (BENCH_FIRM - 1) * BENCH_INVOICES_PER_FIRM + 1 ))"
measure_first_statement() {
	local c=$1 app n
	for n in 0 1; do
		app=cg_first_$n
		if [ "$n" = 0 ]; then
			set -- -c ""
		else
			set -- -c "$FIRST_STATEMENT"
		fi
		PGAPPNAME=$app PGOPTIONS=$(bench_pgoptions) "$PG_BINDIR/psql" -X -q -h 127.0.0.1 \
			-p "${PORT[$c]}" -U bench_app -d bench "$@" >"$WORK/psql.out" 2>&1 ||
			{ cat "$WORK/psql.out" >&2; tg_die "the first-statement session failed on $c"; }
		backend_instructions "$c" "$app" | while read -r total file; do
			printf 'first\t%s\t%s\t%s\t%s\n' "$c" "$n" "$total" "$file"
		done >>"$RESULTS"
	done
	tg_log "$c: first statement of a session measured"
}

first_statement() {
	awk -F'\t' -v c="$1" '
		$1 == "first" && $2 == c && $3 == 0 { a = $4 }
		$1 == "first" && $2 == c && $3 == 1 { b = $4 }
		END { if (a == "" || b == "") print ""; else printf "%.0f\n", b - a }
	' "$RESULTS"
}

RESULTS=$WORK/callgrind.tsv
: >"$RESULTS"
for c in "${CLUSTERS[@]}"; do
	tg_log "$c: starting the postmaster under callgrind"
	start_under_callgrind "$c"
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r label db args _ _ <<<"${WORKLOAD[$w]}"
		for n in "$BENCH_CG_SHORT" "$BENCH_CG_LONG"; do
			app=cg_${w}_$n
			# shellcheck disable=SC2046,SC2086
			(cd "$BENCH_DIR" && PGAPPNAME=$app PGOPTIONS=$(bench_pgoptions "$w") \
				"$PG_BINDIR/pgbench" -h 127.0.0.1 -p "${PORT[$c]}" -U bench_app -n \
				-c 1 -j 1 -t "$n" --random-seed=1 $(bench_pgbench_vars) $args "$db" \
				>"$WORK/pgbench.out" 2>&1) ||
				{ cat "$WORK/pgbench.out" >&2; tg_die "pgbench failed: $w on $c"; }
			backend_instructions "$c" "$app" | while read -r total file; do
				printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$c" "$n" "$total" "$file"
			done >>"$RESULTS"
		done
		tg_log "$c: $label measured"
	done
	measure_first_statement "$c"
	if [ "$c" = guard ] && grep -m 5 'tenant_guard violation' "$WORK/$c/server.log" >&2; then
		tg_die "the guard cluster logged violations: a workload is not scoped"
	fi
	tg_stop_cluster "$WORK/$c"
done

# per_statement WORKLOAD CLUSTER: instructions per statement.
per_statement() {
	awk -F'\t' -v w="$1" -v c="$2" -v s="$BENCH_CG_SHORT" -v l="$BENCH_CG_LONG" '
		$1 == w && $2 == c && $3 == s { a = $4 }
		$1 == w && $2 == c && $3 == l { b = $4 }
		END { if (a == "" || b == "") print ""; else printf "%.0f\n", (b - a) / (l - s) }
	' "$RESULTS"
}

# guard_annotate WORKLOAD: run callgrind_annotate on the guard cluster's two
# backends of this workload; prints the arguments guard_profile.pl takes
# after its mode (nothing when the guard cluster was not measured).
guard_annotate() {
	local short long f
	short=$(awk -F'\t' -v w="$1" -v n="$BENCH_CG_SHORT" '$1 == w && $2 == "guard" && $3 == n { print $5 }' "$RESULTS")
	long=$(awk -F'\t' -v w="$1" -v n="$BENCH_CG_LONG" '$1 == w && $2 == "guard" && $3 == n { print $5 }' "$RESULTS")
	[ -n "$short" ] && [ -n "$long" ] || return 0
	for f in "$short" "$long"; do
		[ -s "$f.self" ] || callgrind_annotate --threshold=100 "$f" >"$f.self"
		[ -s "$f.tree" ] ||
			callgrind_annotate --threshold=100 --inclusive=yes --tree=calling "$f" >"$f.tree"
	done
	echo "$((BENCH_CG_LONG - BENCH_CG_SHORT)) $short.self $long.self $short.tree $long.tree"
}

# guard_profile own|table WORKLOAD: see test/bench/guard_profile.pl.
guard_profile() {
	local args
	args=$(guard_annotate "$2")
	[ -n "$args" ] || return 0
	# shellcheck disable=SC2086 # file names from tg_make_workdir, no blanks
	perl "$BENCH_DIR/guard_profile.pl" "$1" $args
}

report() {
	local w label c x plain own has_guard=0
	[[ " ${CLUSTERS[*]} " == *" guard "* ]] && has_guard=1
	printf '| workload |'
	for c in "${CLUSTERS[@]}"; do printf ' %s |' "$c"; done
	for c in "${CLUSTERS[@]}"; do [ "$c" = plain ] || printf ' %s − plain |' "$c"; done
	[ "$has_guard" = 1 ] && printf " guard's own work |"
	echo
	printf '|---|'
	for c in "${CLUSTERS[@]}"; do printf -- '---:|'; done
	for c in "${CLUSTERS[@]}"; do [ "$c" = plain ] || printf -- '---:|'; done
	[ "$has_guard" = 1 ] && printf -- '---:|'
	echo
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r label _ <<<"${WORKLOAD[$w]}"
		plain=$(per_statement "$w" plain)
		printf '| %s |' "$label"
		for c in "${CLUSTERS[@]}"; do printf ' %s |' "$(per_statement "$w" "$c")"; done
		for c in "${CLUSTERS[@]}"; do
			[ "$c" = plain ] && continue
			x=$(per_statement "$w" "$c")
			awk -v x="$x" -v p="$plain" 'BEGIN { printf " %+d (%+.2f%%) |", x - p, 100 * (x - p) / p }'
		done
		if [ "$has_guard" = 1 ]; then
			own=$(guard_profile own "$w")
			awk -v x="$own" -v p="$plain" 'BEGIN { printf " %d (%.2f%%) |", x, 100 * x / p }'
		fi
		echo
	done
	plain=$(first_statement plain)
	printf '| first statement of a session (the point select) |'
	for c in "${CLUSTERS[@]}"; do printf ' %s |' "$(first_statement "$c")"; done
	for c in "${CLUSTERS[@]}"; do
		[ "$c" = plain ] && continue
		x=$(first_statement "$c")
		awk -v x="$x" -v p="$plain" 'BEGIN { printf " %+d (%+.2f%%) |", x - p, 100 * (x - p) / p }'
	done
	[ "$has_guard" = 1 ] && printf ' |'
	echo
	echo
	echo "Instructions per statement of the backend alone (not pgbench), in steady state: (count of a backend that ran $BENCH_CG_LONG transactions − one that ran $BENCH_CG_SHORT) / $((BENCH_CG_LONG - BENCH_CG_SHORT)), one pgbench connection each, same random seed."
	echo "The first statement of a session: a backend that ran the point select, minus one that ran an empty query string (psql, one session each), all catalog warm-up included."
	echo "\"guard − plain\" compares two clusters and so includes small differences that are not the guard's (catalog contents, hash-table layouts): a few hundred instructions either way."
	if [ "$has_guard" = 1 ]; then
		echo "\"guard's own work\" counts only what runs in tenant_guard's functions and what they call in PostgreSQL, without the planner and executor its hooks chain to (test/bench/guard_profile.pl); the percentage is of the plain cluster's statement."
	fi
	echo
	bench_machine
	echo "- valgrind: $(valgrind --version)"
	echo "- guard cluster: tenant_guard.mode = enforce; $BENCH_TABLES extra tenant tables in the many-tables database"
	echo "- command: BENCH_WORKLOADS=$BENCH_WORKLOADS BENCH_CG_SHORT=$BENCH_CG_SHORT BENCH_CG_LONG=$BENCH_CG_LONG make bench-callgrind"
	if [ "$has_guard" = 1 ]; then
		IFS=, read -r -a profiled <<<"$BENCH_CG_PROFILE"
		for w in "${profiled[@]}"; do
			[ -n "${WORKLOAD[$w]:-}" ] || continue
			[[ ",$BENCH_WORKLOADS," == *",$w,"* ]] || continue
			IFS='|' read -r label _ <<<"${WORKLOAD[$w]}"
			echo
			echo "#### $label: tenant_guard's functions, per statement"
			echo
			guard_profile table "$w"
		done
	fi
}
publish_report "tenant_guard: instructions per statement (callgrind)"

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
# Then the cost curve: statements that grow (tables joined, IN values,
# partitions scanned, OR arms), each point measured the same way on the
# plain and guard clusters in database bench_curve (test/bench/curve_schema.sql),
# with the guard's own instructions per table, value, partition or arm.
# Last, the product's instruction bars (doc/performance.md), each a PASS or
# FAIL line computed from the figures above.
#
# Environment (see also test/bench/run.sh and lib.sh):
#   BENCH_WORKLOADS   subset of the workloads (default all)
#   BENCH_CG_SHORT, BENCH_CG_LONG  transactions of the two runs (200, 1200)
#   BENCH_CG_CLUSTERS clusters to measure (default "plain guard rls")
#   BENCH_CG_PROFILE  workloads whose guard profile is shown
#                     (default point_simple,point_prepared)
#   BENCH_CG_CURVES   curves to measure, of join,in,or,part_one,part_all
#                     (default all; empty for none)
#   BENCH_CG_CURVE_SHORT, BENCH_CG_CURVE_LONG  transactions of the two runs
#                     of a curve point (3, 8: its statements are long)
#   BENCH_OUTPUT      also write the report to this file
#   BENCH_CG_REPORT_FROM  measure nothing: report again from the work
#                     directory of an earlier run kept with KEEP=1, with the
#                     same settings
#   PG_CONFIG, KEEP=1 as for make bench
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
BENCH_CG_CURVES=${BENCH_CG_CURVES-join,in,or,part_one,part_all}
BENCH_CG_CURVE_SHORT=${BENCH_CG_CURVE_SHORT:-3}
BENCH_CG_CURVE_LONG=${BENCH_CG_CURVE_LONG:-8}
BENCH_OUTPUT=${BENCH_OUTPUT:-}
BENCH_CG_REPORT_FROM=${BENCH_CG_REPORT_FROM:-}
# shellcheck disable=SC2034 # read by publish_report (lib.sh)
BENCH_DOC=

for n in BENCH_CG_SHORT BENCH_CG_LONG BENCH_CG_CURVE_SHORT BENCH_CG_CURVE_LONG BENCH_TABLES; do
	[[ ${!n} =~ ^[0-9]+$ ]] || tg_die "$n must be a whole number, not '${!n}'"
done
[ "$BENCH_CG_LONG" -gt "$BENCH_CG_SHORT" ] || tg_die "BENCH_CG_LONG must exceed BENCH_CG_SHORT"
[ "$BENCH_CG_CURVE_LONG" -gt "$BENCH_CG_CURVE_SHORT" ] ||
	tg_die "BENCH_CG_CURVE_LONG must exceed BENCH_CG_CURVE_SHORT"
IFS=, read -r -a WORKLOADS <<<"$BENCH_WORKLOADS"

# The cost curve: curve -> label | unit | points (sizes of the statement).
declare -A CURVE=(
	[join]="tenant tables joined by the tenant column and a foreign key, scoped|table|1 2 4 8 16"
	[in]="firm_id = <firm> AND id IN (n values)|value|10 100 1000 10000"
	[or]="n OR arms (firm_id = <firm> AND id = k)|arm|1 10 100"
	[part_one]="hash-partitioned tenant table, scoped, pruned to one partition|partition|10 100 1000"
	[part_all]="hash-partitioned tenant table, scoped, every partition scanned|partition|10 100 1000"
)
CURVE_ORDER=(join in or part_one part_all)
IFS=, read -r -a CURVES <<<"$BENCH_CG_CURVES"
for c in "${CURVES[@]}"; do
	[ -n "${CURVE[$c]:-}" ] || tg_die "unknown curve '$c' (known: ${CURVE_ORDER[*]})"
done
read -r -a CLUSTERS <<<"$BENCH_CG_CLUSTERS"
for w in "${WORKLOADS[@]}"; do
	[ -n "${WORKLOAD[$w]:-}" ] || tg_die "unknown workload '$w'"
	if [ "$w" = point_simple_many ] && [ "$BENCH_TABLES" -eq 0 ]; then
		tg_die "workload point_simple_many needs BENCH_TABLES > 0"
	fi
done
[[ " ${CLUSTERS[*]} " == *" plain "* ]] || tg_die "BENCH_CG_CLUSTERS must include plain"

if [ -n "$BENCH_CG_REPORT_FROM" ]; then
	WORK=$BENCH_CG_REPORT_FROM
	[ -s "$WORK/callgrind.tsv" ] || tg_die "no callgrind.tsv in $WORK"
else
	tg_ensure_packages valgrind
	[ -x "$PG_BINDIR/pgbench" ] || tg_die "no pgbench in $PG_BINDIR"
	tg_build_and_install
	bench_make_workdir callgrind
fi
RESULTS=$WORK/callgrind.tsv
# curve_statement CURVE N: the statement of the curve's point of size N,
# one line, for the benchmark's firm.
curve_statement() {
	local curve=$1 n=$2 first k sql
	first=$(( (BENCH_FIRM - 1) * BENCH_INVOICES_PER_FIRM + 1 ))
	case $curve in
		join)
			sql="SELECT j$n.id, j$n.note FROM j1"
			for ((k = 2; k <= n; k++)); do
				sql+=" JOIN j$k ON j$k.firm_id = j$((k - 1)).firm_id AND j$k.parent_id = j$((k - 1)).id"
			done
			echo "$sql WHERE j1.firm_id = $BENCH_FIRM AND j1.id = 1;" ;;
		in)
			echo "SELECT id, amount_due FROM invoices WHERE firm_id = $BENCH_FIRM AND id IN ($(seq -s ', ' "$first" $((first + n - 1))));" ;;
		or)
			sql="SELECT id, amount_due FROM invoices WHERE"
			for ((k = 0; k < n; k++)); do
				[ "$k" -gt 0 ] && sql+=" OR"
				sql+=" (firm_id = $BENCH_FIRM AND id = $((first + k)))"
			done
			echo "$sql;" ;;
		part_one) echo "SELECT id, note FROM p$n WHERE firm_id = $BENCH_FIRM AND id = $((BENCH_FIRM - 1));" ;;
		part_all) echo "SELECT id, note FROM p$n WHERE firm_id = $BENCH_FIRM AND note = 'none';" ;;
	esac
}

# The curve's points, as "curve n" lines, in report order.
curve_points() {
	local c n
	for c in "${CURVE_ORDER[@]}"; do
		[[ ",$BENCH_CG_CURVES," == *",$c,"* ]] || continue
		IFS='|' read -r _ _ points <<<"${CURVE[$c]}"
		for n in $points; do echo "$c $n"; done
	done
}

# bench_curve_load PORT: the curve's database, a copy of bench.
bench_curve_load() {
	local port=$1
	bench_psql "$port" postgres -c "CREATE DATABASE bench_curve TEMPLATE bench"
	bench_psql "$port" bench_curve -v joins=16 -f "$BENCH_DIR/curve_schema.sql" >/dev/null
	bench_psql "$port" bench_curve -c "VACUUM ANALYZE"
}

# create_clusters: the clusters, stopped, and the curve's statements.
declare -A PORT
create_clusters() {
	local c curve n
	for c in "${CLUSTERS[@]}"; do
		tg_log "creating the $c cluster"
		PORT[$c]=$(bench_create_cluster "$WORK" "$c") || exit 1
		if [ ${#CURVES[@]} -gt 0 ] && [[ $c == plain || $c == guard ]]; then
			tg_log "$c: loading the cost-curve database"
			bench_curve_load "${PORT[$c]}"
		fi
		tg_stop_cluster "$WORK/$c"
	done
	mkdir -p "$WORK/curve"
	while read -r curve n; do
		curve_statement "$curve" "$n" >"$WORK/curve/$curve-$n.sql"
	done < <(curve_points)
	chmod -R a+rX "$WORK/curve"
}

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

# measure CLUSTER KEY DB SHORT LONG ARGS...: run pgbench with ARGS in one
# connection for SHORT and then LONG transactions and record both
# backends' counts under KEY.
measure() {
	local c=$1 key=$2 db=$3 short=$4 long=$5 n app
	shift 5
	for n in "$short" "$long"; do
		app=cg_${key//[^a-z0-9_]/_}_$n
		# shellcheck disable=SC2046
		(cd "$BENCH_DIR" && PGAPPNAME=$app PGOPTIONS=$(bench_pgoptions "$key") \
			"$PG_BINDIR/pgbench" -h 127.0.0.1 -p "${PORT[$c]}" -U bench_app -n \
			-c 1 -j 1 -t "$n" --random-seed=1 $(bench_pgbench_vars) "$@" "$db" \
			>"$WORK/pgbench.out" 2>&1) ||
			{ cat "$WORK/pgbench.out" >&2; tg_die "pgbench failed: $key on $c"; }
		backend_instructions "$c" "$app" | while read -r total file; do
			printf '%s\t%s\t%s\t%s\t%s\n' "$key" "$c" "$n" "$total" "$file"
		done >>"$RESULTS"
	done
}

# warm_up CLUSTER: one session that reads a tenant table in the benchmark
# database, as in a server that has been up a while: what the first session
# after a start does once for all (tenant_guard's shared copy of the
# registry) is not counted in a measured one.  Every cluster gets it.
warm_up() {
	PGAPPNAME=cg_warm_up PGOPTIONS=$(bench_pgoptions) "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "${PORT[$1]}" -U bench_app \
		-d bench -c "$FIRST_STATEMENT" >"$WORK/psql.out" 2>&1 ||
		{ cat "$WORK/psql.out" >&2; tg_die "the warm-up session failed on $1"; }
}

# measure_all: every workload and curve point on every cluster.
measure_all() {
	local c w label db args curve n
	: >"$RESULTS"
	for c in "${CLUSTERS[@]}"; do
		tg_log "$c: starting the postmaster under callgrind"
		start_under_callgrind "$c"
		warm_up "$c"
		for w in "${WORKLOADS[@]}"; do
			IFS='|' read -r label db args _ _ <<<"${WORKLOAD[$w]}"
			# shellcheck disable=SC2086 # args: the workload's pgbench arguments
			measure "$c" "$w" "$db" "$BENCH_CG_SHORT" "$BENCH_CG_LONG" $args
			tg_log "$c: $label measured"
		done
		measure_first_statement "$c"
		if [[ $c == plain || $c == guard ]]; then
			while read -r curve n; do
				measure "$c" "curve:$curve-$n" bench_curve "$BENCH_CG_CURVE_SHORT" \
					"$BENCH_CG_CURVE_LONG" -M simple -f "$WORK/curve/$curve-$n.sql"
				tg_log "$c: curve $curve, $n measured"
			done < <(curve_points)
		fi
		if [ "$c" = guard ] && grep -m 5 'tenant_guard violation' "$WORK/$c/server.log" >&2; then
			tg_die "the guard cluster logged violations: a workload is not scoped"
		fi
		tg_stop_cluster "$WORK/$c"
	done
}

if [ -z "$BENCH_CG_REPORT_FROM" ]; then
	create_clusters
	measure_all
fi

# steps KEY: the SHORT and LONG transaction counts KEY was measured with.
steps() {
	if [[ $1 == curve:* ]]; then
		echo "$BENCH_CG_CURVE_SHORT $BENCH_CG_CURVE_LONG"
	else
		echo "$BENCH_CG_SHORT $BENCH_CG_LONG"
	fi
}

# per_statement WORKLOAD CLUSTER: instructions per statement.
per_statement() {
	local s l
	read -r s l <<<"$(steps "$1")"
	awk -F'\t' -v w="$1" -v c="$2" -v s="$s" -v l="$l" '
		$1 == w && $2 == c && $3 == s { a = $4 }
		$1 == w && $2 == c && $3 == l { b = $4 }
		END { if (a == "" || b == "") print ""; else printf "%.0f\n", (b - a) / (l - s) }
	' "$RESULTS"
}

# guard_annotate WORKLOAD: run callgrind_annotate on the guard cluster's two
# backends of this workload; prints the arguments guard_profile.pl takes
# after its mode (nothing when the guard cluster was not measured).
guard_annotate() {
	local s l short long f
	read -r s l <<<"$(steps "$1")"
	short=$(awk -F'\t' -v w="$1" -v n="$s" '$1 == w && $2 == "guard" && $3 == n { print $5 }' "$RESULTS")
	long=$(awk -F'\t' -v w="$1" -v n="$l" '$1 == w && $2 == "guard" && $3 == n { print $5 }' "$RESULTS")
	[ -n "$short" ] && [ -n "$long" ] || return 0
	for f in "$short" "$long"; do
		[ -s "$f.self" ] || callgrind_annotate --threshold=100 "$f" >"$f.self"
		[ -s "$f.tree" ] ||
			callgrind_annotate --threshold=100 --inclusive=yes --tree=calling "$f" >"$f.tree"
	done
	echo "$((l - s)) $short.self $long.self $short.tree $long.tree"
}

# guard_profile own|table WORKLOAD: see test/bench/guard_profile.pl.  The
# "own" figure is kept in a file, since the bars ask for it again.
guard_profile() {
	local args memo=$WORK/own.${2//[^a-z0-9_]/_}
	if [ "$1" = own ] && [ -s "$memo" ]; then
		cat "$memo"
		return 0
	fi
	args=$(guard_annotate "$2")
	[ -n "$args" ] || return 0
	# shellcheck disable=SC2086 # file names from tg_make_workdir, no blanks
	perl "$BENCH_DIR/guard_profile.pl" "$1" $args | if [ "$1" = own ]; then tee "$memo"; else cat; fi
}

# curve_report: one table per curve, with the guard's own instructions per
# unit of the statement's size (own / n) and between two points (the
# growth from the previous point / the growth of n), which a linear cost
# keeps flat.
curve_report() {
	local curve label unit points n plain guard own prev_n prev_own
	while read -r curve; do
		IFS='|' read -r label unit points <<<"${CURVE[$curve]}"
		echo
		echo "#### Cost curve: $label"
		echo
		echo "| $unit""s | plain | guard | guard − plain | guard's own work | own per $unit | own per added $unit |"
		echo "|---:|---:|---:|---:|---:|---:|---:|"
		prev_n='' prev_own=''
		for n in $points; do
			plain=$(per_statement "curve:$curve-$n" plain)
			guard=$(per_statement "curve:$curve-$n" guard)
			own=$(guard_profile own "curve:$curve-$n")
			awk -v n="$n" -v p="$plain" -v g="$guard" -v o="$own" -v pn="$prev_n" -v po="$prev_own" 'BEGIN {
				printf "| %d | %d | %d | %+d (%+.2f%%) | %d (%.2f%%) | %.1f | %s |\n",
					n, p, g, g - p, 100 * (g - p) / p, o, 100 * o / p, o / n,
					pn == "" ? "" : sprintf("%.1f", (o - po) / (n - pn))
			}'
			prev_n=$n prev_own=$own
		done
	done < <(curve_points | awk '{ print $1 }' | uniq)
	echo
	echo "Each point: one statement, simple protocol, in database bench_curve (test/bench/curve_schema.sql), ($BENCH_CG_CURVE_LONG − $BENCH_CG_CURVE_SHORT transactions); the statements are written out by curve_statement in test/bench/callgrind.sh."
}

# The product's instruction bars (doc/performance.md).
BAR_TENANT_SHARE=1		# guard's own work, % of plain, per tenant statement
BAR_NONE_SHARE=0.2		# the same, statements that touch no tenant table
BAR_FIRST_STATEMENT=10	# % more than plain's first statement of a session
# Linear growth: every step of a curve adds at most BAR_LINEAR_FACTOR times
# the own work per unit of its first step, plus BAR_LINEAR_SLACK
# instructions per unit (so that a flat curve's noise of a few
# instructions does not count as growth).
BAR_LINEAR_FACTOR=2
BAR_LINEAR_SLACK=5
# Flat in the number of tables: the many-tables database's point select
# may cost the guard at most this % more of its own work.
BAR_FLAT_SHARE=2
# The row-verified workloads: their own work counts the plan nodes that
# the row check wraps (row_checks.c runs them), so theirs is the tenant
# context's bar: fewer instructions than the RLS policy
# (doc/tenant-context.md#speed).
BAR_VERIFIED_WORKLOADS=" pk_select_verified pk_update_verified pk_select_verified_simple pk_update_verified_simple "

# bar OK TEXT: a PASS line when OK is 1, a FAIL line otherwise.
bar() {
	if [ "$1" = 1 ]; then echo "- PASS: $2"; else echo "- FAIL: $2"; fi
}

# share_lines: "label<TAB>own<TAB>plain" for every single tenant statement
# measured: the workloads of kind tenant or many, and the curve's points.
share_lines() {
	local w label kind curve n unit
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r label _ _ _ kind _ <<<"${WORKLOAD[$w]}"
		[[ $kind == tenant || $kind == many ]] || continue
		[[ $BAR_VERIFIED_WORKLOADS == *" $w "* ]] && continue
		printf '%s\t%s\t%s\n' "$label" "$(guard_profile own "$w")" "$(per_statement "$w" plain)"
	done
	while read -r curve n; do
		IFS='|' read -r _ unit _ <<<"${CURVE[$curve]}"
		printf '%s\t%s\t%s\n' "curve $curve, $n ${unit}s" \
			"$(guard_profile own "curve:$curve-$n")" "$(per_statement "curve:$curve-$n" plain)"
	done < <(curve_points)
}

bar_tenant_share() {
	share_lines | awk -F'\t' -v max="$BAR_TENANT_SHARE" '
		$2 != "" && $3 > 0 {
			share = 100 * $2 / $3; n++
			if (share > worst) { worst = share; worst_label = $1 }
			if (share > max) bad = bad sprintf("%s%s %.2f%%", bad == "" ? "" : "; ", $1, share)
		}
		END {
			if (n == 0) { print "skip"; exit }
			if (bad != "") printf "0\tthe guard'"'"'s own work at most %s%% of plain PostgreSQL'"'"'s per tenant statement: over it: %s\n", max, bad
			else printf "1\tthe guard'"'"'s own work at most %s%% of plain PostgreSQL'"'"'s per tenant statement (%d statements; the largest: %s, %.2f%%)\n", max, n, worst_label, worst
		}'
}

bar_none_share() {
	local w label kind own plain
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r label _ _ _ kind _ <<<"${WORKLOAD[$w]}"
		[ "$kind" = none ] || continue
		own=$(guard_profile own "$w")
		plain=$(per_statement "$w" plain)
		awk -v o="$own" -v p="$plain" -v max="$BAR_NONE_SHARE" -v l="$label" 'BEGIN {
			printf "%d\tthe guard'"'"'s own work at most %s%% of plain PostgreSQL'"'"'s without tenant tables: %s: %d of %d, %.2f%%\n",
				100 * o / p <= max, max, l, o, p, 100 * o / p
		}'
	done
}

bar_linear() {
	local curve label unit points n own slopes
	while read -r curve; do
		IFS='|' read -r label unit points <<<"${CURVE[$curve]}"
		slopes=''
		for n in $points; do
			own=$(guard_profile own "curve:$curve-$n")
			slopes+="$n $own "
		done
		awk -v pts="$slopes" -v c="$curve" -v u="$unit" -v f="$BAR_LINEAR_FACTOR" -v slack="$BAR_LINEAR_SLACK" 'BEGIN {
			k = split(pts, a, " "); ok = 1; text = ""
			for (i = 3; i < k; i += 2) {
				s = (a[i + 1] - a[i - 1]) / (a[i] - a[i - 2])
				if (i == 3) first = s
				else if (s > f * (first > 0 ? first : 0) + slack) ok = 0
				text = text sprintf("%s%d→%d: %.1f", text == "" ? "" : ", ", a[i - 2], a[i], s)
			}
			printf "%d\tlinear in the %ss of curve %s (own instructions per added %s: %s)\n", ok, u, c, u, text
		}'
	done < <(curve_points | awk '{ print $1 }' | uniq)
}

bar_flat() {
	local few many
	[[ ",$BENCH_WORKLOADS," == *,point_simple,* && ",$BENCH_WORKLOADS," == *,point_simple_many,* ]] || return 0
	few=$(guard_profile own point_simple)
	many=$(guard_profile own point_simple_many)
	awk -v a="$few" -v b="$many" -v t="$BENCH_TABLES" -v max="$BAR_FLAT_SHARE" 'BEGIN {
		printf "%d\tflat in the number of tenant tables: the simple point select costs the guard %d instructions with 3 tenant tables, %d with %d more (at most %s%% more allowed)\n",
			b <= a * (1 + max / 100), a, b, t, max
	}'
}

bar_verified() {
	local w label guard rls
	[[ " ${CLUSTERS[*]} " == *" rls "* ]] || return 0
	for w in "${WORKLOADS[@]}"; do
		[[ $BAR_VERIFIED_WORKLOADS == *" $w "* ]] || continue
		IFS='|' read -r label _ <<<"${WORKLOAD[$w]}"
		guard=$(per_statement "$w" guard)
		rls=$(per_statement "$w" rls)
		printf '%d\t%s: fewer instructions than RLS: %d against %d\n' \
			"$((guard < rls))" "$label" "$guard" "$rls"
	done
}

bar_first() {
	local plain guard
	plain=$(first_statement plain)
	guard=$(first_statement guard)
	[ -n "$plain" ] && [ -n "$guard" ] || return 0
	awk -v p="$plain" -v g="$guard" -v max="$BAR_FIRST_STATEMENT" 'BEGIN {
		printf "%d\ta session'"'"'s first tenant statement at most %s%% above plain PostgreSQL'"'"'s: %d against %d, %+.2f%%\n",
			100 * (g - p) / p <= max, max, g, p, 100 * (g - p) / p
	}'
}

bars_report() {
	local ok text
	{
		bar_tenant_share
		bar_none_share
		bar_verified
		bar_linear
		bar_flat
		bar_first
	} | while IFS=$'\t' read -r ok text; do
		[ "$ok" = skip ] || bar "$ok" "$text"
	done
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
	echo "- cost curve: BENCH_CG_CURVES=$BENCH_CG_CURVES BENCH_CG_CURVE_SHORT=$BENCH_CG_CURVE_SHORT BENCH_CG_CURVE_LONG=$BENCH_CG_CURVE_LONG"
	if [ "$has_guard" = 1 ] && [ ${#CURVES[@]} -gt 0 ]; then
		curve_report
	fi
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
		echo
		echo "#### The instruction bars"
		echo
		bars_report
	fi
}
publish_report "tenant_guard: instructions per statement (callgrind)"

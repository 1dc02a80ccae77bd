#!/usr/bin/env bash
# `make bench`: how much throughput tenant_guard costs, against the
# project's targets (doc/performance.md).
#
# Builds and installs tenant_guard (test/lib.sh), creates three throwaway
# clusters from the same binaries and settings (test/bench/lib.sh says what
# differs): plain (no tenant_guard), guard (enforce mode) and rls (the same
# tenant scope enforced by a row-level-security policy), loads the same data
# into each, and runs every workload with pgbench against each in turn:
#
#   point select, prepared   one invoice by firm_id and id, -M prepared
#   point select, simple     the same, simple query protocol (planned each time)
#   3-table join, prepared   clients/invoices/payments, scoped by equivalence
#   amount update, prepared  UPDATE invoices SET amount_paid = amount_paid + 1
#   pgbench -S, simple       pgbench's select-only workload: no tenant table
#   point select, simple, many tables
#                            the point select in the database with
#                            BENCH_TABLES (10,000) more tenant tables
#   point select, prepared, tenant context set
#                            the point select with tenant_guard.tenant set:
#                            its scope checked by value (doc/tenant-context.md)
#   primary-key select / update, row-verified, prepared
#                            SELECT / UPDATE invoices ... WHERE id = $1 with no
#                            tenant condition, the context set: verified row
#                            by row on the guard cluster, filtered by the
#                            policy on the rls cluster
#
# Each round runs every cluster once per workload, back to back (the order
# rotates from round to round), and yields the ratios guard/plain and
# rls/plain; the report gives the median of each ratio over the rounds and
# the median tps, so that machine noise shared by neighbouring runs cancels
# out.  It prints a markdown table with the targets, whether each workload
# is within its target, the machine, the date and the parameters, and
# writes the same report into doc/performance.md, between its lines
# "<!-- BEGIN make bench report -->" and "<!-- END make bench report -->".
# Then the audit-trail phase (unless BENCH_AUDIT_SECONDS is 0), on the guard
# cluster only, with its default audit settings: BENCH_AUDIT_ROUNDS times,
# BENCH_AUDIT_CLIENTS clients run the point select scoped, then the same
# select without its scope (point_select_unscoped.sql) in log mode, a
# violation per statement, BENCH_AUDIT_SECONDS each; the report gives the
# unscoped/scoped throughput ratio of each round, their median (target
# 0.80) and spread, what tenant_guard.stats() accounted for (raised,
# persisted, sampled, dropped, and whether the identity holds), and how
# much the trail grew per million violations (tenant_guard.violations and
# violation_counts with their indexes and TOAST; target under 50 MB).
# It exits non-zero on errors only (a workload outside its target is
# reported below the table), including any "tenant_guard violation" in the
# guard cluster's log: every statement of every workload must pass enforce
# mode.
#
# Usage: test/bench/run.sh [--seconds N] [--rounds N] [--clients N]
#                          [--workloads a,b,...] [--output FILE] [--doc FILE]
# or the same settings in the environment (BENCH_SECONDS=10 ...):
#   BENCH_SECONDS  seconds per pgbench run (default 10)
#   BENCH_ROUNDS   rounds (default 5)
#   BENCH_CLIENTS  pgbench clients, and as many threads (default: nproc)
#   BENCH_WARMUP   seconds of unrecorded warm-up per cluster and workload
#                  before the first round (default 2; 0 for none)
#   BENCH_WORKLOADS  comma-separated subset of: point_prepared,
#                  point_simple, join3, amount_update, select_only,
#                  point_simple_many, point_context, pk_select_verified,
#                  pk_update_verified (default all)
#   BENCH_AUDIT_SECONDS  seconds per run of the audit-trail phase (default
#                  60; 0 skips it)
#   BENCH_AUDIT_CLIENTS  clients in that phase (default 2)
#   BENCH_AUDIT_ROUNDS   rounds of that phase (default 3)
#   BENCH_OUTPUT   also write the report to this file
#   BENCH_DOC      the file whose text between the two marker lines above
#                  the report replaces (default doc/performance.md); set
#                  it empty (BENCH_DOC=) to leave every file alone
#   BENCH_TABLES, BENCH_SCALE, BENCH_FIRMS, ...: data sizes, see lib.sh
#   PG_CONFIG      the PostgreSQL to build against and run, by its
#                  pg_config (default Debian's 15, as for make test)
#   KEEP=1         keep the work directory (clusters stopped) for inspection
set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "$0")/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-5}
BENCH_CLIENTS=${BENCH_CLIENTS:-$(nproc)}
BENCH_WARMUP=${BENCH_WARMUP:-2}
BENCH_WORKLOADS=${BENCH_WORKLOADS:-$BENCH_ALL_WORKLOADS}
BENCH_OUTPUT=${BENCH_OUTPUT:-}
BENCH_AUDIT_SECONDS=${BENCH_AUDIT_SECONDS:-60}
BENCH_AUDIT_CLIENTS=${BENCH_AUDIT_CLIENTS:-2}
BENCH_AUDIT_ROUNDS=${BENCH_AUDIT_ROUNDS:-3}
BENCH_DOC=${BENCH_DOC-$TG_ROOT/doc/performance.md}

while [ $# -gt 0 ]; do
	case $1 in
		--seconds) BENCH_SECONDS=$2; shift 2 ;;
		--rounds) BENCH_ROUNDS=$2; shift 2 ;;
		--clients) BENCH_CLIENTS=$2; shift 2 ;;
		--workloads) BENCH_WORKLOADS=$2; shift 2 ;;
		--output) BENCH_OUTPUT=$2; shift 2 ;;
		--doc) BENCH_DOC=$2; shift 2 ;;
		-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) tg_die "unknown argument $1 (try --help)" ;;
	esac
done
for n in BENCH_SECONDS BENCH_ROUNDS BENCH_CLIENTS BENCH_WARMUP BENCH_TABLES \
	BENCH_AUDIT_SECONDS BENCH_AUDIT_CLIENTS BENCH_AUDIT_ROUNDS; do
	[[ ${!n} =~ ^[0-9]+$ ]] || tg_die "$n must be a whole number, not '${!n}'"
done
if [ "$BENCH_SECONDS" -eq 0 ] || [ "$BENCH_ROUNDS" -eq 0 ] || [ "$BENCH_CLIENTS" -eq 0 ]; then
	tg_die "seconds, rounds and clients must be at least 1"
fi

IFS=, read -r -a WORKLOADS <<<"$BENCH_WORKLOADS"
for w in "${WORKLOADS[@]}"; do
	[ -n "${WORKLOAD[$w]:-}" ] || tg_die "unknown workload '$w'"
	if [ "$w" = point_simple_many ] && [ "$BENCH_TABLES" -eq 0 ]; then
		tg_die "workload point_simple_many needs BENCH_TABLES > 0"
	fi
done
CLUSTERS=(plain guard rls)
if [ -n "$BENCH_DOC" ]; then
	bench_check_doc "$BENCH_DOC"
fi

tg_ensure_packages
[ -x "$PG_BINDIR/pgbench" ] || tg_die "no pgbench in $PG_BINDIR"
tg_build_and_install

bench_make_workdir bench

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A PORT
for c in "${CLUSTERS[@]}"; do
	tg_log "creating the $c cluster (data: $BENCH_FIRMS firms x $BENCH_INVOICES_PER_FIRM invoices, pgbench scale $BENCH_SCALE, $BENCH_TABLES extra tenant tables)"
	PORT[$c]=$(bench_create_cluster "$WORK" "$c") || exit 1
done
PROTECTED=$(bench_protected_amounts "${PORT[guard]}")
GUARD_LOG_OFFSET=$(stat -c %s "$WORK/guard/server.log")

# run_pgbench CLUSTER WORKLOAD SECONDS [CLIENTS]: one pgbench run; prints
# its tps.
run_pgbench() {
	local cluster=$1 workload=$2 seconds=$3 clients=${4:-$BENCH_CLIENTS} label db args out tps
	IFS='|' read -r label db args _ _ <<<"${WORKLOAD[$workload]}"
	# shellcheck disable=SC2046,SC2086
	out=$(cd "$BENCH_DIR" && PGOPTIONS=$(bench_pgoptions "$workload") "$PG_BINDIR/pgbench" \
		-h 127.0.0.1 -p "${PORT[$cluster]}" -U bench_app -n \
		-c "$clients" -j "$clients" -T "$seconds" \
		$(bench_pgbench_vars) $args "$db" 2>&1) ||
		{ echo "$out" >&2; tg_die "pgbench failed: $workload on $cluster"; }
	if grep -Eq '^number of failed transactions: [1-9]' <<<"$out"; then
		echo "$out" >&2
		tg_die "failed transactions: $workload on $cluster"
	fi
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' <<<"$out")
	[ -n "$tps" ] || { echo "$out" >&2; tg_die "no tps in pgbench's output"; }
	echo "$tps"
}

RESULTS=$WORK/results.tsv
: >"$RESULTS"
for w in "${WORKLOADS[@]}"; do
	IFS='|' read -r label _ <<<"${WORKLOAD[$w]}"
	if [ "$BENCH_WARMUP" -gt 0 ]; then
		tg_log "$label: warm-up, ${BENCH_WARMUP}s per cluster"
		for c in "${CLUSTERS[@]}"; do
			run_pgbench "$c" "$w" "$BENCH_WARMUP" >/dev/null
		done
	fi
	for ((r = 1; r <= BENCH_ROUNDS; r++)); do
		line="$label: round $r/$BENCH_ROUNDS:"
		for ((k = 0; k < ${#CLUSTERS[@]}; k++)); do
			# Rotate the order so that no cluster always runs first.
			c=${CLUSTERS[$(( (k + r - 1) % ${#CLUSTERS[@]} ))]}
			tps=$(run_pgbench "$c" "$w" "$BENCH_SECONDS")
			printf '%s\t%s\t%s\t%s\n' "$w" "$r" "$c" "$tps" >>"$RESULTS"
			line+=" $c $tps"
		done
		tg_log "$line"
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Every statement must have passed enforce mode.
sleep 0.5
if tail -c +"$((GUARD_LOG_OFFSET + 1))" "$WORK/guard/server.log" |
	grep -m 5 'tenant_guard violation' >&2; then
	tg_die "the guard cluster logged violations: a workload is not scoped"
fi

# The audit-trail phase: the scoped select, then the unscoped one in log
# mode, on the guard cluster; the trail's growth and tenant_guard.stats().
AUDIT_REPORT=$WORK/audit.md
: >"$AUDIT_REPORT"
audit_value() {
	bench_psql "${PORT[guard]}" bench -At -c "$1"
}
if [ "$BENCH_AUDIT_SECONDS" -gt 0 ]; then
	tg_log "audit trail: $BENCH_AUDIT_ROUNDS rounds of scoped, then unscoped in log mode, ${BENCH_AUDIT_SECONDS}s each, $BENCH_AUDIT_CLIENTS clients"
	audit_value "SELECT tenant_guard.flush()" >/dev/null
	stats="raised || ' ' || persisted || ' ' || sampled || ' ' || dropped || ' ' || pending"
	size="pg_total_relation_size('tenant_guard.violations') + pg_total_relation_size('tenant_guard.violation_counts')"
	read -r raised0 persisted0 sampled0 dropped0 _ <<<"$(audit_value "SELECT $stats FROM tenant_guard.stats()")"
	size0=$(audit_value "SELECT $size")
	rounds=()
	for ((round = 1; round <= BENCH_AUDIT_ROUNDS; round++)); do
		scoped=$(run_pgbench guard point_prepared "$BENCH_AUDIT_SECONDS" "$BENCH_AUDIT_CLIENTS")
		# bench_app is no superuser: its mode comes from a role setting
		audit_value "ALTER ROLE bench_app SET tenant_guard.mode = log" >/dev/null
		unscoped=$(run_pgbench guard audit_unscoped "$BENCH_AUDIT_SECONDS" "$BENCH_AUDIT_CLIENTS")
		audit_value "ALTER ROLE bench_app RESET tenant_guard.mode" >/dev/null
		tg_log "audit round $round: scoped $scoped tps, unscoped $unscoped tps"
		rounds+=("$scoped:$unscoped")
	done
	audit_value "SELECT tenant_guard.flush()" >/dev/null
	read -r raised1 persisted1 sampled1 dropped1 pending1 <<<"$(audit_value "SELECT $stats FROM tenant_guard.stats()")"
	identity=$(audit_value "SELECT raised = persisted + sampled + dropped + refused + lost + pending FROM tenant_guard.stats()")
	size1=$(audit_value "SELECT $size")
	perl -e '
		my ($r0, $p0, $c0, $d0, $r1, $p1, $c1, $d1, $pending, $id, $s0, $s1, $secs, $clients, @rounds) = @ARGV;
		my $raised = $r1 - $r0;
		my (@scoped, @unscoped, @ratio);
		for (@rounds) {
			my ($s, $u) = split /:/;
			push @scoped, $s;
			push @unscoped, $u;
			push @ratio, $s > 0 ? $u / $s : 0;
		}
		sub median {
			my @v = sort { $a <=> $b } @_;
			return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
		}
		my @sorted = sort { $a <=> $b } @ratio;
		my $mb = $raised > 0 ? ($s1 - $s0) / 1048576 * 1e6 / $raised : 0;
		my @rows = (
			["scoped point select, prepared (tps, median)", sprintf("%.0f", median(@scoped)), ""],
			["the same without its scope, log mode (tps, median)", sprintf("%.0f", median(@unscoped)), ""],
			["unscoped/scoped, median of the rounds", sprintf("%.3f", median(@ratio)), ">= 0.80"],
			["unscoped/scoped, each round", join(", ", map { sprintf "%.3f", $_ } @ratio), ""],
			["spread of the rounds (max - min)", sprintf("%.3f", $sorted[-1] - $sorted[0]), ""],
			["violations raised", $raised, ""],
			["persisted as detail rows", $p1 - $p0, ""],
			["sampled: counted in violation_counts", $c1 - $c0, ""],
			["dropped: neither row nor count", $d1 - $d0, "0"],
			["still pending after flush()", $pending, ""],
			["raised = persisted + sampled + dropped + refused + lost + pending",
			 $id eq "t" ? "holds" : "DOES NOT HOLD", "holds"],
			["trail growth per million violations (MB, violations and violation_counts)", sprintf("%.1f", $mb), "< 50"],
		);
		print "| audit trail, log mode | value | target |\n|---|---:|---|\n";
		print "| $_->[0] | $_->[1] | $_->[2] |\n" for @rows;
		printf "\n%d rounds of a scoped run then an unscoped run, %d clients, %d s per run, on the guard cluster.\n",
			scalar(@rounds), $clients, $secs;
	' "$raised0" "$persisted0" "$sampled0" "$dropped0" "$raised1" \
		"$persisted1" "$sampled1" "$dropped1" "$pending1" "$identity" "$size0" "$size1" "$BENCH_AUDIT_SECONDS" \
		"$BENCH_AUDIT_CLIENTS" "${rounds[@]}" >"$AUDIT_REPORT"
	cat "$AUDIT_REPORT"
fi

# The report: medians per workload, in the order the workloads ran.
report() {
	echo "| workload | plain tps | guard tps | guard/plain | rls tps | rls/plain | target |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	for w in "${WORKLOADS[@]}"; do
		echo "$w|${WORKLOAD[$w]}"
	done | perl -e '
		my $results = shift;
		my (%tps, %ratio);
		open my $fh, "<", $results or die "$results: $!";
		while (<$fh>) {
			chomp;
			my ($w, $r, $c, $tps) = split /\t/;
			$tps{$w}{$c}{$r} = $tps;
		}
		sub median {
			my @v = sort { $a <=> $b } @_;
			return undef unless @v;
			return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
		}
		my %guard_ratio;
		my @rows;
		while (<STDIN>) {
			chomp;
			my ($w, $label, $db, $args, $target, $kind) = split /\|/;
			my $t = $tps{$w};
			my @rounds = sort { $a <=> $b } keys %{ $t->{plain} };
			my %m = map { my $c = $_; ($c => median(map { $t->{$c}{$_} } @rounds)) } qw(plain guard rls);
			my $g = median(map { $t->{guard}{$_} / $t->{plain}{$_} } @rounds);
			my $s = median(map { $t->{rls}{$_} / $t->{plain}{$_} } @rounds);
			$guard_ratio{$w} = $g;
			push @rows, [$w, $label, $target, $kind, \%m, $g, $s];
		}
		my @verdicts;
		for my $row (@rows) {
			my ($w, $label, $target, $kind, $m, $g, $s) = @$row;
			my $text;
			# why the workload is not within its target, if it is not
			my @short;
			push @short, sprintf("guard/plain %.3f is below %s", $g, $target)
				if $g < $target;
			if ($kind eq "none") {
				$text = sprintf "guard/plain >= %s", $target;
			} else {
				$text = sprintf "guard/plain >= %s, above rls/plain", $target;
				push @short, sprintf("guard/plain is not above rls/plain (%.3f)", $s)
					unless $g > $s;
				if ($kind eq "many") {
					my $few = $guard_ratio{point_simple};
					if (defined $few) {
						$text .= sprintf ", flat (few tables: %.3f)", $few;
						push @short, sprintf("guard/plain is more than 0.01 below the few-tables figure (%.3f)", $few)
							if $g < $few - 0.01;
					} else {
						$text .= ", flat (run point_simple to compare)";
					}
				}
			}
			printf "| %s | %.0f | %.0f | %.3f | %.0f | %.3f | %s |\n",
				$label, $m->{plain}, $m->{guard}, $g, $m->{rls}, $s, $text;
			push @verdicts, @short
				? "- $label: not within the target: " . join("; ", @short) . "."
				: "- $label: within the target.";
		}
		print "\nAgainst the targets:\n\n";
		print "$_\n" for @verdicts;
	' "$RESULTS"
	echo
	echo "Median over $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s per cluster and workload, $BENCH_CLIENTS clients ($BENCH_CLIENTS pgbench threads); ratios are medians of the per-round ratios."
	echo
	bench_machine
	echo "- load average before / after: $LOAD_BEFORE / $LOAD_AFTER (the benchmark itself keeps about clients + 1 CPUs busy)"
	echo "- data: $BENCH_FIRMS firms, $BENCH_CLIENTS_PER_FIRM clients and $BENCH_INVOICES_PER_FIRM invoices (and payments) per firm, pgbench scale $BENCH_SCALE; $BENCH_TABLES extra tenant tables in the many-tables database"
	echo "- guard cluster: tenant_guard.mode = enforce; protected amounts: $PROTECTED"
	echo "- command: BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS BENCH_CLIENTS=$BENCH_CLIENTS BENCH_WORKLOADS=$BENCH_WORKLOADS BENCH_AUDIT_SECONDS=$BENCH_AUDIT_SECONDS BENCH_AUDIT_CLIENTS=$BENCH_AUDIT_CLIENTS BENCH_AUDIT_ROUNDS=$BENCH_AUDIT_ROUNDS make bench"
	if [ -s "$AUDIT_REPORT" ]; then
		echo
		cat "$AUDIT_REPORT"
	fi
}
publish_report "tenant_guard benchmark"

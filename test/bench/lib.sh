# shellcheck shell=bash
# Shell functions shared by the benchmark commands (test/bench/run.sh and
# test/bench/callgrind.sh), on top of test/lib.sh: settings, and creating
# the benchmark clusters with their schema and data.
#
# A benchmark cluster is one of
#   plain  tenant_guard not in shared_preload_libraries;
#   guard  tenant_guard preloaded, CREATE EXTENSION tenant_guard in both
#          databases, tenant_guard.mode = enforce (and, once the extension
#          has it, invoices.amount_paid protected);
#   rls    tenant_guard not loaded; the tenant tables carry a row-level
#          security policy that admits only the rows of the firm in the
#          session's app.firm_id setting.
# All are created by the same binaries with the same postgresql.conf apart
# from those lines, and hold the same data: database "bench" with the
# firms/clients/invoices/payments schema (test/bench/schema.sql) and
# pgbench's tables, and, unless BENCH_TABLES is 0, database "bench_many", a
# copy of "bench" with BENCH_TABLES more tenant tables that no workload
# touches.  Workloads connect as bench_app, a role that owns nothing and is
# no superuser, so that RLS applies to it.

# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_DIR=$TG_ROOT/test/bench

BENCH_FIRMS=${BENCH_FIRMS:-100}
BENCH_CLIENTS_PER_FIRM=${BENCH_CLIENTS_PER_FIRM:-50}
BENCH_INVOICES_PER_FIRM=${BENCH_INVOICES_PER_FIRM:-1000}
BENCH_TABLES=${BENCH_TABLES:-10000}
BENCH_SCALE=${BENCH_SCALE:-10}
# Every workload works for this firm, the one the rls cluster's sessions
# are restricted to, so that each cluster returns and changes the same rows.
BENCH_FIRM=${BENCH_FIRM:-$(( (BENCH_FIRMS + 1) / 2 ))}

# The workloads: name -> label | database | pgbench arguments (run in
# test/bench) | throughput target | target kind.  Target kinds: tenant
# (guard/plain >= target and guard above rls), none (no tenant table:
# guard/plain >= target), many (tenant, and guard/plain no lower than the
# point select's in the database with few tables).  The targets are the
# project's (doc/performance.md): within 1% of plain for prepared
# statements, 2% for the simple protocol, 0.5% without tenant tables.  An
# optional sixth field "context" runs the workload with the tenant context
# (tenant_guard.tenant) set to the benchmark's firm in every cluster
# (doc/tenant-context.md): the row-verified statements need it on the guard
# cluster, and the others ignore it.
# shellcheck disable=SC2034 # used by the scripts that source this file
declare -gA WORKLOAD=(
	[point_prepared]="point select, prepared|bench|-M prepared -f point_select.sql|0.99|tenant"
	[point_simple]="point select, simple|bench|-M simple -f point_select.sql|0.98|tenant"
	[join3]="3-table join, prepared|bench|-M prepared -f join3.sql|0.99|tenant"
	[amount_update]="amount update, prepared|bench|-M prepared -f amount_update.sql|0.99|tenant"
	[select_only]="pgbench -S (no tenant table), simple|bench|-M simple -S|0.995|none"
	[point_simple_many]="point select, simple, $BENCH_TABLES more tenant tables|bench_many|-M simple -f point_select.sql|0.98|many"
	[point_context]="point select, prepared, tenant context set|bench|-M prepared -f point_select.sql|0.99|tenant|context"
	[pk_select_verified]="primary-key select, row-verified, prepared|bench|-M prepared -f pk_select.sql|0.97|tenant|context"
	[pk_update_verified]="primary-key update, row-verified, prepared|bench|-M prepared -f pk_update.sql|0.97|tenant|context"
	[in_firms_simple]="scope over 1,000 tenants (IN list), simple|bench|-M simple -f in_firms.sql|0.98|tenant"
	[left_join_simple]="inner and left join scoped through their conditions, simple|bench|-M simple -f left_join.sql|0.98|tenant"
	[pk_select_verified_simple]="primary-key select, row-verified, simple|bench|-M simple -f pk_select.sql|0.97|tenant|context"
	[pk_update_verified_simple]="primary-key update, row-verified, simple|bench|-M simple -f pk_update.sql|0.97|tenant|context"
	# not in the table: the audit-trail phase of run.sh runs it in log mode
	[audit_unscoped]="point select without its scope, prepared|bench|-M prepared -f point_select_unscoped.sql|0.80|audit"
)
# shellcheck disable=SC2034
BENCH_ALL_WORKLOADS=point_prepared,point_simple,join3,amount_update,select_only,point_simple_many,point_context,pk_select_verified,pk_update_verified,pk_select_verified_simple,pk_update_verified_simple,in_firms_simple,left_join_simple

# postgresql.conf lines that every benchmark cluster shares, after those of
# tg_start_cluster (which also sets fsync = off).  No autovacuum, so that a
# background vacuum in one cluster cannot skew one run; the data is
# vacuumed and analyzed once after loading.
BENCH_CONF="
shared_buffers = 256MB
max_connections = 40
autovacuum = off
jit = off
"

bench_psql() {
	local port=$1 db=$2
	shift 2
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
		-U postgres -d "$db" "$@"
}

# The pgbench variables every workload script uses.
bench_pgbench_vars() {
	echo -D "firm=$BENCH_FIRM" -D "clients_per_firm=$BENCH_CLIENTS_PER_FIRM" \
		-D "invoices_per_firm=$BENCH_INVOICES_PER_FIRM"
}

# The environment a workload connection gets: the rls policy's setting,
# and the tenant context for the workloads marked "context" (a placeholder
# setting where tenant_guard is not loaded).  Every cluster gets the same,
# so that connections are set up alike.
bench_pgoptions() {
	local workload=${1:-} context=
	[ -n "$workload" ] && IFS='|' read -r _ _ _ _ _ context <<<"${WORKLOAD[$workload]:-}"
	if [ "$context" = context ]; then
		echo "-c app.firm_id=$BENCH_FIRM -c tenant_guard.tenant=$BENCH_FIRM"
	else
		echo "-c app.firm_id=$BENCH_FIRM"
	fi
}

# bench_configure DIR KIND [EXTRA_CONF]: append the benchmark settings of a
# cluster of this kind to DIR's postgresql.conf (later lines win).
bench_configure() {
	local dir=$1 kind=$2 extra=${3:-}
	{
		echo "# benchmark settings, cluster kind: $kind"
		echo "$BENCH_CONF"
		case $kind in
			guard) echo "tenant_guard.mode = enforce" ;;
			plain | rls) echo "shared_preload_libraries = ''" ;;
			*) tg_die "unknown cluster kind $kind" ;;
		esac
		[ -n "$extra" ] && echo "$extra"
	} | tg_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
}

bench_restart() {
	local dir=$1
	tg_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		restart >/dev/null ||
		{ tail -n 30 "$dir/server.log"; tg_die "the server in $dir did not restart"; }
}

# bench_load PORT KIND: create and fill the databases of a started cluster.
bench_load() {
	local port=$1 kind=$2 db
	"$PG_BINDIR/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
	bench_psql "$port" bench -v firms="$BENCH_FIRMS" \
		-v clients_per_firm="$BENCH_CLIENTS_PER_FIRM" \
		-v invoices_per_firm="$BENCH_INVOICES_PER_FIRM" \
		-f "$BENCH_DIR/schema.sql" >/dev/null
	"$PG_BINDIR/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -q \
		-s "$BENCH_SCALE" bench >/dev/null 2>&1 ||
		tg_die "pgbench -i failed on port $port"
	bench_psql "$port" bench -c "GRANT SELECT ON pgbench_accounts,
		pgbench_branches, pgbench_tellers, pgbench_history TO bench_app"
	case $kind in
		guard) bench_psql "$port" bench -f "$BENCH_DIR/guard.sql" >/dev/null ;;
		rls) bench_psql "$port" bench -f "$BENCH_DIR/rls.sql" >/dev/null ;;
	esac
	if [ "$BENCH_TABLES" -gt 0 ]; then
		bench_psql "$port" postgres -c "CREATE DATABASE bench_many TEMPLATE bench"
		bench_psql "$port" bench_many -v tables="$BENCH_TABLES" \
			-f "$BENCH_DIR/extra_tables.sql" >/dev/null
	fi
	for db in bench bench_many; do
		[ "$db" = bench_many ] && [ "$BENCH_TABLES" -eq 0 ] && continue
		bench_psql "$port" "$db" -c "VACUUM ANALYZE"
	done
	bench_psql "$port" postgres -c "CHECKPOINT"
}

# bench_check_guard PORT: the guard cluster really guards what it should.
bench_check_guard() {
	local port=$1 db n expected
	for db in bench bench_many; do
		[ "$db" = bench_many ] && [ "$BENCH_TABLES" -eq 0 ] && continue
		expected=3
		[ "$db" = bench_many ] && expected=$((3 + BENCH_TABLES))
		n=$(bench_psql "$port" "$db" -At -c \
			"SELECT count(*) FROM tenant_guard.tenant_tables")
		[ "$n" = "$expected" ] ||
			tg_die "guard cluster, database $db: $n tenant tables, expected $expected"
	done
	# Asked without running anything, so that the server log stays free of
	# violations: the benchmark fails on any.
	n=$("$PG_BINDIR/psql" -X -At -h 127.0.0.1 -p "$port" -U bench_app -d bench -c \
		"SELECT current_setting('tenant_guard.mode') || ' ' || count(*)
		   FROM tenant_guard.check('SELECT count(*) FROM invoices')")
	[ "$n" = "enforce 1" ] ||
		tg_die "the guard cluster is not in enforce mode or does not see an unscoped read ($n)"
}

# bench_protected_amounts PORT: what the guard cluster protects, for the report.
bench_protected_amounts() {
	local port=$1
	if [ "$(bench_psql "$port" bench -At -c \
		"SELECT to_regclass('tenant_guard.protected_amounts') IS NOT NULL")" != t ]; then
		echo "none (this version has no tenant_guard.protect_amount)"
		return
	fi
	bench_psql "$port" bench -At -c "SELECT coalesce(string_agg(relid::text || '.' ||
		amount_column, ', '), 'none') FROM tenant_guard.protected_amounts"
}

# bench_create_cluster WORK KIND [EXTRA_CONF]: a loaded cluster of this kind
# in WORK/KIND, running; prints its port.
bench_create_cluster() {
	local work=$1 kind=$2 extra=${3:-} dir port
	dir=$work/$kind
	port=$(tg_free_port)
	tg_start_cluster "$dir" "$port" >&2
	bench_configure "$dir" "$kind" "$extra"
	bench_restart "$dir"
	bench_load "$port" "$kind" >&2
	[ "$kind" = guard ] && bench_check_guard "$port" >&2
	echo "$port"
}

# The machine, server and date, for the report.
bench_machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "- machine: $(nproc) CPUs ($cpu), $(awk '/^MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
	echo "- PostgreSQL: $("$PG_BINDIR/postgres" --version | sed 's/^postgres (PostgreSQL) //')"
	echo "- date: $(date -u +%Y-%m-%d)"
}

# bench_make_workdir NAME: set WORK to a fresh directory the cluster owner
# can write, and make sure that every cluster started in it is stopped and
# the directory removed (KEEP=1 keeps it) when the script ends, however.
bench_make_workdir() {
	WORK=$(tg_make_workdir "$1")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup() {
	local dir
	for dir in "$WORK"/*/; do
		[ -d "$dir/data" ] && tg_stop_cluster "${dir%/}"
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}

# The lines between which `make bench` writes its report into BENCH_DOC
# (doc/performance.md); each must be a line of its own.
BENCH_DOC_BEGIN='<!-- BEGIN make bench report -->'
BENCH_DOC_END='<!-- END make bench report -->'

# bench_check_doc FILE: FILE has both markers, once each, begin first.
# Called before the benchmark runs, so that a missing marker is found
# before, not after, twenty minutes of measuring.
bench_check_doc() {
	local file=$1 begin end
	[ -f "$file" ] || tg_die "BENCH_DOC: no file $file (BENCH_DOC= writes no file)"
	begin=$(grep -nxF -- "$BENCH_DOC_BEGIN" "$file" | cut -d: -f1)
	end=$(grep -nxF -- "$BENCH_DOC_END" "$file" | cut -d: -f1)
	if [[ ! $begin =~ ^[0-9]+$ ]] || [[ ! $end =~ ^[0-9]+$ ]] || [ "$begin" -ge "$end" ]; then
		tg_die "$file needs the lines '$BENCH_DOC_BEGIN' and '$BENCH_DOC_END', once each and in this order (BENCH_DOC= writes no file)"
	fi
}

# bench_update_doc FILE BODY: replace the lines between the markers in FILE
# with the contents of the file BODY.  FILE is rewritten in place, so that
# it keeps its owner and permissions.
bench_update_doc() {
	local file=$1 body=$2
	bench_check_doc "$file"
	awk -v begin="$BENCH_DOC_BEGIN" -v end="$BENCH_DOC_END" -v body="$body" '
		$0 == begin { print; while ((getline line < body) > 0) print line; skipping = 1; next }
		$0 == end { skipping = 0 }
		!skipping { print }
	' "$file" >"$WORK/doc.md"
	cat "$WORK/doc.md" >"$file"
}

# publish_report TITLE: print the report (the caller's report function,
# under a heading TITLE), copy it to $BENCH_OUTPUT when that is set, and
# put it, without the heading, between the markers of $BENCH_DOC when that
# is set.
publish_report() {
	local title=$1
	report >"$WORK/report-body.md"
	{
		echo "### $title"
		echo
		cat "$WORK/report-body.md"
	} >"$WORK/report.md"
	echo
	cat "$WORK/report.md"
	if [ -n "$BENCH_OUTPUT" ]; then
		cp "$WORK/report.md" "$BENCH_OUTPUT"
		tg_log "report written to $BENCH_OUTPUT"
	fi
	if [ -n "${BENCH_DOC:-}" ]; then
		bench_update_doc "$BENCH_DOC" "$WORK/report-body.md"
		tg_log "report written to $BENCH_DOC, between its markers"
	fi
}

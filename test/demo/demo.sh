#!/usr/bin/env bash
# `make demo`: build and install tenant_guard, start a local guarded
# PostgreSQL with the demo schema, show the guard at work, and say how to
# connect and how to stop it.  `make demo-stop` (this script with "stop")
# stops it and removes its directory.
set -euo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "$0")/../lib.sh"

DEMO_DIR=${TENANT_GUARD_DEMO_DIR:-${TMPDIR:-/tmp}/tenant_guard-demo}

stop_demo() {
	if [ -d "$DEMO_DIR" ]; then
		# with the pg_ctl of the PostgreSQL it runs, whatever PG_CONFIG says now
		[ -f "$DEMO_DIR/bindir" ] && PG_BINDIR=$(cat "$DEMO_DIR/bindir")
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
echo "$PG_BINDIR" >"$DEMO_DIR/bindir"
tg_log "starting a guarded PostgreSQL on port $PORT in $DEMO_DIR"
tg_start_cluster "$DEMO_DIR" "$PORT"

CONN="host=127.0.0.1 port=$PORT user=postgres dbname=demo"
"$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres demo
"$PG_BINDIR/psql" "$CONN" -q -v ON_ERROR_STOP=1 -f "$TG_ROOT/test/demo/demo.sql"

# show TITLE SQL: print a query and what the server answers, errors included.
show() {
	printf '\n--- %s\n%s\n' "$1" "$2"
	"$PG_BINDIR/psql" "$CONN" -X -v VERBOSITY=default -c "$2" 2>&1 | sed 's/^/    /' || true
}

# show_log: the server-log lines tenant_guard wrote since the last call.
LOG_OFFSET=$(stat -c %s "$DEMO_DIR/server.log")
show_log() {
	sleep 0.2
	tail -c +"$((LOG_OFFSET + 1))" "$DEMO_DIR/server.log" | grep -o 'tenant_guard violation: .*' | sed 's/^/    log: /' || true
	LOG_OFFSET=$(stat -c %s "$DEMO_DIR/server.log")
}

show "The tables tenant_guard treats as tenant tables (detected by their firm_id column):" \
	"SELECT relid, tenant_column, source FROM tenant_guard.tenant_tables ORDER BY relid::text;"

show "Mode log (the default): a scoped query runs silently..." \
	"SELECT count(*) FROM invoices WHERE firm_id = 1 AND autopay_opt_in;"
show "...and an unscoped one, Invoice.objects.filter(autopay_opt_in=True), runs but is logged:" \
	"SELECT count(*) FROM invoices WHERE autopay_opt_in;"
show_log

show "Mode enforce: the webhook handler's lookup by provider id across all firms is rejected:" \
	"SET tenant_guard.mode = enforce; SELECT id, amount_paid FROM invoices WHERE provider_ref = 'pi_42';"
show_log
show "...while the same lookup scoped to the firm runs:" \
	"SET tenant_guard.mode = enforce; SELECT id, amount_paid FROM invoices WHERE firm_id = 2 AND provider_ref = 'pi_42';"
show "A join is scoped when the planner derives the firm for every table:" \
	"SET tenant_guard.mode = enforce; SELECT c.name, sum(i.amount_due) FROM clients c JOIN invoices i ON i.client_id = c.id AND i.firm_id = c.firm_id WHERE c.firm_id = 2 GROUP BY c.name ORDER BY c.name LIMIT 3;"

show "tenant_guard.check() plans statements without running them, for an app's CI:" \
	"SELECT q.statement, c.relation, c.kind
   FROM (VALUES ('SELECT * FROM invoices WHERE id = \$1'),
                ('SELECT * FROM invoices WHERE firm_id = \$1 AND id = \$2'),
                ('UPDATE invoices SET amount_paid = 0 WHERE id = 7'),
                ('SELECT * FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE i.firm_id = 1')) q(statement)
   LEFT JOIN LATERAL tenant_guard.check(q.statement) c ON true;"

show "Atomic amounts: invoices.amount_paid is protected" \
	"SELECT * FROM tenant_guard.protected_amounts;"

# The audited payment view, invoice.amount_paid += 50; invoice.save(): it
# reads the amount, the application adds the payment, and it saves the sum.
# A webhook pays 30 on the same invoice between the read and the save.
printf '\n--- A lost-update attempt: a payment view reads amount_paid, a webhook pays 30 meanwhile, the view saves read + 50:\n'
PAID_BEFORE=$("$PG_BINDIR/psql" "$CONN" -X -At -c "SELECT amount_paid FROM invoices WHERE firm_id = 1 AND id = 1")
"$PG_BINDIR/psql" "$CONN" -X -q -v VERBOSITY=default >"$DEMO_DIR/view.out" 2>&1 <<'SQL' &
BEGIN;
SELECT amount_paid AS paid FROM invoices WHERE firm_id = 1 AND id = 1 \gset
\echo view: read amount_paid = :paid
SELECT pg_sleep(1.5) \gset
\echo view: UPDATE invoices SET amount_paid = :paid + 50 ...
UPDATE invoices SET amount_paid = :paid + 50 WHERE firm_id = 1 AND id = 1;
COMMIT;
SQL
VIEW_PID=$!
sleep 0.5
VIEW_LINES=$(wc -l <"$DEMO_DIR/view.out")
head -n "$VIEW_LINES" "$DEMO_DIR/view.out" | sed 's/^/    /'
echo "    webhook: UPDATE invoices SET amount_paid = amount_paid + 30 ..."
"$PG_BINDIR/psql" "$CONN" -X -c "UPDATE invoices SET amount_paid = amount_paid + 30 WHERE firm_id = 1 AND id = 1" 2>&1 | sed 's/^/    webhook: /'
wait "$VIEW_PID" || true
tail -n +"$((VIEW_LINES + 1))" "$DEMO_DIR/view.out" | sed 's/^/    /'
echo "    amount_paid was $PAID_BEFORE, is now $("$PG_BINDIR/psql" "$CONN" -X -At -c "SELECT amount_paid FROM invoices WHERE firm_id = 1 AND id = 1"): the webhook's 30 is kept, the view was told"
show_log
show "The view retries the safe way, computing the amount in the UPDATE; both payments count:" \
	"UPDATE invoices SET amount_paid = amount_paid + 50 WHERE firm_id = 1 AND id = 1 RETURNING amount_paid;"

show "The audit trail: every violation above, rejected or logged, one row per statement shape:" \
	"SELECT tenant_guard.flush() AS just_written;
 SELECT kind, relation, count, users, applications, sample_query
   FROM tenant_guard.violation_summary ORDER BY last_seen;"

# The report program (doc/report.md) on the same trail, as an auditor sees it.
REPORT=("$PG_BINDIR/tenant_guard_report" -h 127.0.0.1 -p "$PORT" -U postgres -d demo)
printf '\n--- The report, for auditors and CI: %s\n\n' "tenant_guard_report ${REPORT[*]:1}"
"${REPORT[@]}"

cat <<MSG

The demo server is running.
  connect:  psql "$CONN"
  report:   ${REPORT[*]} --format html -o tenant_guard-report.html
            (a page with charts; also --format markdown or json, see doc/report.md)
  stop:     make demo-stop
MSG

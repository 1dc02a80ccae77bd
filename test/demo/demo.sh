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
# The key of signed tenant contexts (doc/tenant-context.md, "The key"): a
# demo key, printed below; a real one is secret and random.
DEMO_KEY=tenant-guard-demo-key-not-a-secret-0123456789
tg_log "starting a guarded PostgreSQL on port $PORT in $DEMO_DIR"
TG_CLUSTER_CONF="tenant_guard.tenant_key = '$DEMO_KEY'" tg_start_cluster "$DEMO_DIR" "$PORT"

CONN="host=127.0.0.1 port=$PORT user=postgres dbname=demo"
"$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres demo
"$PG_BINDIR/psql" "$CONN" -q -v ON_ERROR_STOP=1 -f "$TG_ROOT/test/demo/demo.sql"

# show TITLE SQL: print a query and what the server answers, errors included.
show() {
	printf '\n--- %s\n%s\n' "$1" "$2"
	"$PG_BINDIR/psql" "$CONN" -X -v VERBOSITY=default -c "$2" 2>&1 | sed 's/^/    /' || true
}

# show_as ROLE TITLE SQL...: each statement, run in one session of ROLE,
# and what the server answers to each.
show_as() {
	local role=$1 title=$2 args=() sql
	shift 2
	printf '\n--- %s\n' "$title"
	for sql in "$@"; do
		printf '%s;\n' "$sql"
		args+=(-c "$sql")
	done
	"$PG_BINDIR/psql" "host=127.0.0.1 port=$PORT user=$role dbname=demo" -X -q \
		-v VERBOSITY=default "${args[@]}" 2>&1 | sed 's/^/    /' || true
}

# hmac_hex VALUE: the hex HMAC-SHA256 of VALUE under the demo key, as the
# application computes it (openssl, or python3 where it is missing).
hmac_hex() {
	if command -v openssl >/dev/null; then
		printf '%s' "$1" | openssl dgst -sha256 -hmac "$DEMO_KEY" | sed 's/^.*= //'
	else
		python3 -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' \
			"$DEMO_KEY" "$1"
	fi
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

# The tenant context (doc/tenant-context.md), as the application's role sees
# it: a request of firm 1 runs under a context signed for firm 1.
EXP=$(($(date +%s) + 300))
FIRM1="1;exp=$EXP;sig=$(hmac_hex "1;exp=$EXP")"
printf '\n--- Signed tenant contexts: the role app (enforce, require_signed_tenant) takes only contexts\n'
printf 'signed with tenant_guard.tenant_key (postgresql.conf). The app signs firm 1'"'"'s, valid 5 minutes:\n'
printf '    $ KEY='"'%s'"'    # the demo'"'"'s key; a real one is secret\n' "$DEMO_KEY"
# shellcheck disable=SC2016 # "$KEY" is printed as it is typed
printf '    $ printf %%s '"'%s'"' | openssl dgst -sha256 -hmac "$KEY"\n    %s\n' "1;exp=$EXP" "$(hmac_hex "1;exp=$EXP")"
show_as app "A request of firm 1 sets its signed context and reads its invoice 1 by id (no firm_id: checked row by row):" \
	"SET tenant_guard.tenant = '$FIRM1'" \
	"SELECT id, firm_id, amount_due FROM invoices WHERE id = 1"
show_as app "An IDOR: the same request asks for invoice 2, which is firm 2's; refused as a cross_tenant_read:" \
	"SET tenant_guard.tenant = '$FIRM1'" \
	"SELECT id, firm_id, amount_due FROM invoices WHERE id = 2"
show_log
show_as app "A forged context: SQL injected into the request switches to firm 2, unsigned..." \
	"SET tenant_guard.tenant = '2'"
show_as app "...or with firm 1's signature on a value changed to firm 2; both refused, the context unchanged:" \
	"SET tenant_guard.tenant = '2${FIRM1#1}'"

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

show_as maint "Break glass: the role maint, granted tenant_guard.break_glass, reports across firms with a reason; nothing is refused, every statement is on record (kind break_glass):" \
	"BEGIN" \
	"SELECT tenant_guard.break_glass('ticket 77: month-end revenue per firm')" \
	"SELECT i.firm_id, count(DISTINCT c.id) AS clients, sum(i.amount_due) AS due FROM invoices i JOIN clients c ON c.id = i.client_id GROUP BY 1 ORDER BY 1" \
	"COMMIT"
"$PG_BINDIR/psql" "$CONN" -X -q -At -c "SELECT tenant_guard.flush()" >/dev/null

# The report program (doc/report.md) on the same trail, as an auditor sees it;
# its last section lists the break-glass use.
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

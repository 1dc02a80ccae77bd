# Signed tenant contexts across sessions and reloads: a context bound to one
# backend (pid=) is refused by every other; a new tenant_guard.tenant_key
# takes effect on reload in sessions already open, the previous key is
# accepted while keys are rotated, a key too short is refused and the old
# one stays; no key ever reaches the server log; tenant_guard.tenant is
# reported to clients as it changes; a cross-tenant refusal in a parallel
# worker closes the leader's tenant tables; a break-glass statement whose
# audit row finds no room in the queue is refused.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $key1 = 'first-key-of-the-015-test-0123456789abcdef';
my $key2 = 'second-key-of-the-015-test-0123456789abcdef';
my $short_key = 'short-015-key';

my $node = new_guarded_node('signed', "tenant_guard.tenant_key = '$key1'");
$node->safe_psql(
	'postgres', q{
	CREATE TABLE invoices (id int PRIMARY KEY, firm_id int NOT NULL);
	INSERT INTO invoices VALUES (1, 1), (2, 2);
	CREATE ROLE app LOGIN;
	GRANT SELECT ON invoices TO app;
	ALTER ROLE app SET tenant_guard.mode = enforce;
	ALTER ROLE app SET tenant_guard.require_signed_tenant = on;
	ALTER ROLE app SET tenant_guard.require_tenant = on;
});

# A context for these tenants, valid for ten minutes, signed with key.
sub signed
{
	my ($key, $tenants, $pid) = @_;
	my $message = "$tenants;exp=" . (time() + 600);
	$message .= ";pid=$pid" if defined $pid;
	return "$message;sig=" . hmac_sha256_hex($message, $key);
}

my $a = $node->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'app' ]);
my $b = $node->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'app' ]);
my $pid_a = $a->query_safe('SELECT pg_backend_pid()');

# 1. a context bound to session a
my $bound = signed($key1, '1', $pid_a);
is($a->query("SELECT set_config('tenant_guard.tenant', '$bound', false) IS NOT NULL"),
	't', 'the session the context is bound to accepts it');
is($a->query('SELECT count(*) FROM invoices WHERE firm_id = 1'),
	'1', 'and reads its tenant');
$b->{stderr} = '';
$b->query("SELECT set_config('tenant_guard.tenant', '$bound', false)");
like($b->{stderr},
	qr/signed tenant context is bound to another session.*backend $pid_a/s,
	'another session of the same role refuses it');
is($b->query('SHOW tenant_guard.tenant'), '', 'and keeps its setting');
$b->{stderr} = '';
$b->query('SELECT count(*) FROM invoices WHERE firm_id = 1');
like($b->{stderr}, qr/no tenant context for a statement on tenant table/,
	'so it still has no context to read with');

# 2. a new key, on reload, in sessions already open
$node->append_conf('postgresql.conf', "tenant_guard.tenant_key = '$key2'");
$node->reload;
my $old_token = signed($key1, '1');
my $refused = 0;
foreach (1 .. 50)
{
	$b->{stderr} = '';
	$b->query("SELECT set_config('tenant_guard.tenant', '$old_token', true)");
	$refused = 1, last if $b->{stderr} =~ /invalid signature/;
	select(undef, undef, undef, 0.1);
}
ok($refused, 'after the reload a context signed with the old key is refused');
is($b->query("SELECT set_config('tenant_guard.tenant', '" . signed($key2, '2') . "', false) IS NOT NULL"),
	't', 'and one signed with the new key is accepted');
is($a->query('SELECT count(*) FROM invoices WHERE firm_id = 1'),
	'1', 'a context set before the reload stays');

# 3. rotation: the previous key is accepted until it is removed
$node->append_conf('postgresql.conf', "tenant_guard.tenant_key_previous = '$key1'");
$node->reload;
ok( poll_until(
		$node, 'postgres',
		"SELECT current_setting('tenant_guard.tenant_key_previous') <> ''"),
	'the previous key is loaded');
my $accepted = '';
foreach (1 .. 50)
{
	$accepted = $b->query("SELECT set_config('tenant_guard.tenant', '$old_token', true) IS NOT NULL");
	last if $accepted eq 't';
	select(undef, undef, undef, 0.1);
}
is($accepted, 't', 'with tenant_key_previous the old key is accepted again');

# 4. a key too short is refused on reload, without naming it, and the key in
# force stays
$node->append_conf('postgresql.conf', "tenant_guard.tenant_key = '$short_key'");
$node->reload;
my $log = '';
foreach (1 .. 50)
{
	$log = slurp_file($node->logfile);
	last if $log =~ /must be at least 32 characters long/;
	select(undef, undef, undef, 0.1);
}
like($log, qr/a tenant_guard tenant key must be at least 32 characters long/,
	'the reload reports the short key');
is($b->query("SELECT set_config('tenant_guard.tenant', '" . signed($key2, '2') . "', true) IS NOT NULL"),
	't', 'and the key loaded before stays in force');

# 5. GUC_REPORT: a client learns the context from the server's messages
SKIP:
{
	skip 'python3 with psycopg2 is not installed', 2
	  if system('/usr/bin/python3 -c "import psycopg2" 2>/dev/null') != 0;
	my $token = signed($key2, '1');
	my $script = <<'PY';
import sys, psycopg2
conn = psycopg2.connect(sys.argv[1])
cur = conn.cursor()
cur.execute("SELECT set_config('tenant_guard.tenant', %s, true)", [sys.argv[2]])
print(conn.get_parameter_status('tenant_guard.tenant'))
conn.rollback()
print(repr(conn.get_parameter_status('tenant_guard.tenant')))
PY
	my ($out, $err) = run_command(
		[
			'/usr/bin/python3', '-c', $script,
			$node->connstr('postgres') . ' user=app', $token
		]);
	is($out, "1\n''", 'the client is told the context, and that it ended')
	  or diag($err);
	unlike($out, qr/sig=|\Q$key2\E/, 'but never the signature or the key');
}

# 8. a cross-tenant refusal raised in a parallel worker closes the tenant
# tables of the leader's transaction too
$node->safe_psql(
	'postgres', q{
	CREATE TABLE many (id int PRIMARY KEY, firm_id int NOT NULL, notes text);
	INSERT INTO many SELECT i, 1 + i % 2, 'n' || i FROM generate_series(1, 100000) i;
	ANALYZE many;
	GRANT SELECT ON many TO app;
});
my $parallel = q{
	SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
	SET min_parallel_table_scan_size = 0; SET parallel_leader_participation = off;
	BEGIN;
	SELECT set_config('tenant_guard.tenant', '} . signed($key2, '1') . q{', true) IS NOT NULL;
};
like(
	$node->safe_psql('postgres',
		$parallel . q{EXPLAIN (COSTS OFF) SELECT count(*) FROM many WHERE upper(notes) = 'N3';},
		extra_params => [ '-U', 'app' ]),
	qr/Parallel Seq Scan on many\s+Filter: \(tenant_guard\.verify_row/,
	'the rows are checked in the parallel workers');
my (undef, undef, $parallel_err) = $node->psql(
	'postgres', $parallel . q{
	SAVEPOINT s;
	SELECT count(*) FROM many WHERE upper(notes) = 'N3';
	ROLLBACK TO s;
	SELECT count(*) FROM many WHERE upper(notes) = 'N4';
}, on_error_stop => 0, extra_params => [ '-U', 'app' ]);
like($parallel_err,
	qr/cross-tenant read of tenant table "public\.many".*CONTEXT:  parallel worker.*tenant tables are closed for the rest of this transaction/s,
	'the worker\'s refusal closes the tenant tables');

# 9. FOR UPDATE NOWAIT: another tenant's row is refused before it is
# locked, so a lock held on it answers nothing
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN');
$locker->query_safe('SELECT * FROM invoices WHERE id = 2 FOR UPDATE');
$node->safe_psql('postgres', 'GRANT UPDATE ON invoices TO app');
my (undef, undef, $lock_err) = $node->psql(
	'postgres', q{
	BEGIN;
	SELECT set_config('tenant_guard.tenant', '} . signed($key2, '1') . q{', true) IS NOT NULL;
	SELECT id FROM invoices WHERE id = 2 FOR UPDATE NOWAIT;
}, on_error_stop => 0, extra_params => [ '-U', 'app' ]);
like($lock_err, qr/cross-tenant read of tenant table "public\.invoices"/,
	'FOR UPDATE NOWAIT on a locked row of another tenant is refused for its tenant');
unlike($lock_err, qr/could not obtain lock/, 'not answered by the lock');
(undef, undef, $lock_err) = $node->psql(
	'postgres', q{
	BEGIN;
	SELECT set_config('tenant_guard.tenant', '} . signed($key2, '1') . q{', true) IS NOT NULL;
	SELECT 1 FROM (SELECT id FROM invoices WHERE id = 2 FOR UPDATE NOWAIT) s;
}, on_error_stop => 0, extra_params => [ '-U', 'app' ]);
like($lock_err, qr/cross-tenant read of tenant table "public\.invoices"/,
	'also inside a subquery in FROM');
unlike($lock_err, qr/could not obtain lock/, 'where the lock comes before the row check at the top');
$locker->query_safe('ROLLBACK');
$locker->quit;

$a->quit;
$b->quit;
$node->stop;

# 7. break glass with no room for its rows: the statement is refused, never
# left with a count or nothing
my $small = new_guarded_node('small_queue', 'tenant_guard.audit_queue_size = 16');
$small->safe_psql(
	'postgres', q{
	CREATE TABLE invoices (id int PRIMARY KEY, firm_id int NOT NULL);
	INSERT INTO invoices VALUES (1, 1), (2, 2);
	CREATE ROLE maint LOGIN;
	GRANT SELECT ON invoices TO maint;
	GRANT EXECUTE ON FUNCTION tenant_guard.break_glass(text) TO maint;
});
my $before = audit_stats($small);
my ($ret, $out, $err) = $small->psql(
	'postgres', q{
	BEGIN;
	SELECT tenant_guard.break_glass('ticket 15: flood the audit queue');
	DO $$ BEGIN FOR i IN 1..2000 LOOP PERFORM count(*) FROM invoices; END LOOP; END $$;
	COMMIT;
}, extra_params => [ '-U', 'maint' ]);
like($err,
	qr/break-glass statement on "public\.invoices" refused: its audit row cannot be queued/,
	'a break-glass statement without room for its row is refused');
$small->safe_psql('postgres', 'SELECT tenant_guard.flush()');
my $after = audit_stats($small);
is($after->{dropped} - $before->{dropped}, 0, 'no break-glass row was dropped');
is($small->safe_psql('postgres',
		"SELECT coalesce(sum(count), 0) FROM tenant_guard.violation_counts WHERE kind = 'break_glass'"),
	'1', 'only the refused statement is counted, as a violation without room is');
ok($small->safe_psql('postgres',
		"SELECT count(*) FROM tenant_guard.violations WHERE kind = 'break_glass'") > 0,
	'the statements that ran are on record');
$small->stop;

# 6. no key reached the server log
my $whole_log = slurp_file($node->logfile);
unlike($whole_log, qr/\Q$key1\E/, 'the first key is not in the server log');
unlike($whole_log, qr/\Q$key2\E/, 'nor the second');
unlike($whole_log, qr/\Q$short_key\E/, 'nor the one refused');
done_testing();

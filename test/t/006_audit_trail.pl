# The audit trail survives what the violating transaction does not: a
# rejected statement's row and a logged violation in a rolled-back
# transaction are written by the audit workers without flush(); each
# database gets its own rows; queued entries and the counters survive a
# clean restart; a full queue counts what it cannot keep; killing a writer
# with SIGKILL loses nothing already written and the writers come back; a
# queue file of another build is reported, not deleted silently.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

# Every violation keeps a row here (no sampling; see 011_audit_faults.pl).
my $node = new_guarded_node('audit', "tenant_guard.mode = 'enforce'", 'restart_after_crash = on',
	'tenant_guard.audit_queue_size = 16', 'tenant_guard.audit_sample_interval = 0');
for my $db ('postgres', 'second')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db") if $db ne 'postgres';
	$node->safe_psql($db, 'CREATE EXTENSION IF NOT EXISTS tenant_guard');
	$node->safe_psql($db,
		'CREATE TABLE invoices (id int, firm_id int); INSERT INTO invoices VALUES (1, 1)');
}

sub rows
{
	my ($db, $where) = @_;
	return $node->safe_psql($db,
		"SELECT count(*) FROM tenant_guard.violations WHERE $where");
}

sub wait_for_rows
{
	my ($db, $where, $expected) = @_;
	return $node->poll_query_until($db,
		"SELECT count(*) = $expected FROM tenant_guard.violations WHERE $where");
}

# A rejected statement: its transaction aborts, its row appears anyway.
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"BEGIN; INSERT INTO invoices VALUES (2, 1); SELECT * FROM invoices WHERE id = 1; COMMIT;");
like($stderr, qr/unscoped read/, 'the statement is rejected');
is($node->safe_psql('postgres', 'SELECT count(*) FROM invoices WHERE firm_id = 1'), '1',
	'and its transaction rolled back');
ok( wait_for_rows(
		'postgres', "action = 'rejected' AND query LIKE '%WHERE id = 1;%'", 1),
	'its audit row is written by the worker, without flush()');

# A logged violation inside a transaction that rolls back.
$node->safe_psql('postgres',
	"BEGIN; SET LOCAL tenant_guard.mode = log; DELETE FROM invoices WHERE id = 7; ROLLBACK;");
ok(wait_for_rows('postgres', "action = 'logged' AND kind = 'unscoped_write'", 1),
	'a logged violation of a rolled-back transaction is written too');

# Two databases, each with its own rows.
$node->psql('second', 'SELECT count(*) FROM invoices');
ok(wait_for_rows('second', "database_name = 'second'", 1),
	'a violation in the second database lands in its own table');
is(rows('postgres', "database_name = 'second'"), '0',
	'and not in the first database');

# Queued entries survive a clean restart.  With no worker slot free the
# writers cannot start, so the entries wait in the queue.
$node->append_conf('postgresql.conf', 'max_worker_processes = 1');
$node->restart;
$node->psql('postgres', "SELECT * FROM invoices WHERE id = $_") for (101 .. 105);
is($node->safe_psql('postgres', 'SELECT pending FROM tenant_guard.stats()'),
	'5', 'five violations wait in the queue');

# flush() does not write in the caller's transaction: with no writer able
# to start it waits for them in vain (30 s) and warns; tested with writers
# in 011_audit_faults.pl.
$node->append_conf('postgresql.conf', 'max_worker_processes = 8');
$node->restart;
ok($node->log_contains('tenant_guard kept 5 queued violations'),
	'the clean shutdown kept them');
ok(wait_for_rows('postgres', "query LIKE '%WHERE id = 10_'", 5),
	'and after the restart they are written');

# A full queue: with writers blocked again, a burst beyond the 16 slots is
# counted exactly, and the server keeps running.
$node->append_conf('postgresql.conf', 'max_worker_processes = 1');
$node->restart;
$node->pgbench(
	'--no-vacuum --client=4 --transactions=25',
	0, [qr/processed: 100\/100/], [qr/^(|.*audit queue is full.*)$/s],
	'a burst of 100 violations from 4 clients in log mode',
	{ 'burst' => "SET tenant_guard.mode = log;\nSELECT count(*) FROM invoices;\n" });
# One database may fill three quarters of the queue (12 of 16 slots); the
# other 88 are counted in their statement shape.  The counters go back to
# the first violation of this test, over the restarts: 3 + 5 written
# before, 100 now.
is( $node->safe_psql('postgres',
		'SELECT raised, queued, persisted, sampled, dropped, refused, lost, pending FROM tenant_guard.stats()'),
	'108|20|8|0|0|0|0|100', '12 queued, 88 counted: every violation accounted for');
$node->append_conf('postgresql.conf', 'max_worker_processes = 8');
$node->restart;
ok($node->poll_query_until('postgres', 'SELECT pending = 0 FROM tenant_guard.stats()'),
	'the kept entries are written after the restart');
is(rows('postgres', "query = 'SELECT count(*) FROM invoices;' AND action = 'logged'"), '12',
	'12 rows for the burst');
ok( $node->poll_query_until('postgres',
		"SELECT count = 100 FROM tenant_guard.violation_summary WHERE sample_query = 'SELECT count(*) FROM invoices;'"),
	'and the summary counts all 100: 12 rows and 88 counted');
is( $node->safe_psql('postgres',
		'SELECT raised = persisted + sampled + dropped + refused + lost + pending AND sampled = 88 FROM tenant_guard.stats()'),
	't', 'the 88 are counted as sampled');

# A database whose extension is dropped while its violations wait: they are
# discarded, and counted as dropped.
$node->append_conf('postgresql.conf', 'max_worker_processes = 1');
$node->restart;
$node->psql('second', "SELECT * FROM invoices WHERE id = $_") for (1 .. 3);
$node->safe_psql('second', 'DROP EXTENSION tenant_guard');
$node->append_conf('postgresql.conf', 'max_worker_processes = 8');
$node->restart;
ok( $node->poll_query_until('postgres',
		'SELECT pending = 0 AND dropped = 3 FROM tenant_guard.stats()'),
	'the waiting violations of a database without the extension are discarded, counted');
ok($node->log_contains('tenant_guard discarded 3 queued violations of database \d+, which no longer has the extension'),
	'and the server log says so');

# SIGKILL of an audit writer: the postmaster restarts the server; nothing
# written is lost and the writers come back.
my $before = rows('postgres', 'true');
$node->psql('postgres', 'SELECT * FROM invoices WHERE id = 500');
ok(wait_for_rows('postgres', "query LIKE '%id = 500%'", 1), 'one more row written');
my $writer = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'tenant_guard audit writer' LIMIT 1");
ok($writer =~ /^\d+$/, 'an audit writer is running');
my $kill_offset = -s $node->logfile;
kill 'KILL', $writer;
# Wait for the crash restart itself, so that no query runs on the old server.
$node->wait_for_log(
	qr/all server processes terminated; reinitializing(?s:.*)database system is ready to accept connections/,
	$kill_offset);
ok( $node->poll_query_until('postgres', "SELECT count(*) > 0 FROM tenant_guard.violations"),
	'the server is back after the kill');
is(rows('postgres', 'true'), $before + 1, 'no written row was lost');
$node->psql('postgres', 'SELECT * FROM invoices WHERE id = 600');
ok(wait_for_rows('postgres', "query LIKE '%id = 600%'", 1),
	'and new violations are written again');

# pg_dump keeps the trail (and, like any reader of whole tenant tables,
# runs with the guard off).
{
	local $ENV{PGOPTIONS} = '-c tenant_guard.mode=off';
	$node->command_like(
		[ 'pg_dump', '--data-only', '--table=tenant_guard.violations', '-d', $node->connstr('postgres') ],
		qr/COPY tenant_guard\.violations .*\n.*id = 600/s,
		'pg_dump includes the audit rows');
}

# A kept queue file that this build cannot read is reported and set aside,
# not deleted silently.
$node->stop;
my $queue_file = $node->data_dir . '/pg_stat/tenant_guard_audit.queue';
open my $fh, '>', $queue_file or die "$queue_file: $!";
print $fh 'written by some other build';
close $fh;
my $start_offset = -s $node->logfile;
$node->start;
ok( $node->log_contains(
		'tenant_guard could not load file "pg_stat/tenant_guard_audit.queue": it was written by another build of tenant_guard',
		$start_offset),
	'a queue file of another build is reported');
ok(-e "$queue_file.rejected", 'and kept as tenant_guard_audit.queue.rejected');

$node->stop;
done_testing();

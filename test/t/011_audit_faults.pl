# The audit trail under faults.  Every scenario ends with the accounting
# identity of tenant_guard.stats() (raised = persisted + sampled + dropped +
# refused + lost + pending), with exactly `persisted` rows in the
# violations tables and `sampled` counted in the violation_counts tables
# (plus those of a dropped database).  Sampling is off (every violation
# keeps a row) except in the sampling scenarios: one where the queue
# overflows too, and 20 clients counting repeats of one shape at once.
#	D1	the launcher ended by pg_terminate_backend() comes back by itself
#	D2	an immediate shutdown while a writer has committed but not released
#		its entries, and one under load, write no row twice
#	D3	a row the table refuses (CHECK, trigger error, trigger skip) is set
#		aside and counted; the rest of its database and other databases
#		are written; a writer that keeps failing backs off
#	D4	savepoint tricks around flush() erase nothing
#	D5	PREPARE TRANSACTION after flush(): ROLLBACK PREPARED loses nothing,
#		COMMIT PREPARED after the session ended duplicates nothing
#	D7	a crash restart keeps the waiting entries and the counters
# and: a read-only database, the table locked, queue overflow and the
# per-database share, DROP DATABASE with entries waiting, SIGKILL of the
# launcher, SIGTERM of a writer, 20 clients at once.  A hot standby writes
# nothing (its writers start only after promotion): doc/audit-trail.md.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use TenantGuardNode;

my $node = new_guarded_node('faults', "tenant_guard.mode = 'log'",
	'tenant_guard.audit_queue_size = 64', 'max_prepared_transactions = 4',
	'restart_after_crash = on', 'wal_level = replica', 'max_wal_senders = 2',
	'tenant_guard.audit_sample_interval = 0');
my @dbs = ('postgres', 'second', 'ro');
$node->safe_psql('postgres', 'CREATE ROLE app_owner LOGIN');
$node->safe_psql('postgres', 'CREATE DATABASE second');
$node->safe_psql('postgres', 'CREATE DATABASE ro OWNER app_owner');
for my $db (@dbs)
{
	$node->safe_psql($db, 'CREATE EXTENSION IF NOT EXISTS tenant_guard');
	$node->safe_psql($db, 'CREATE TABLE invoices (id int, firm_id int)');
}
my $gone = 0;	# rows persisted into databases dropped since
my $gone_counts = 0;	# and counts

# n unscoped reads in log mode, each tagged in its text.
sub raise_n
{
	my ($db, $n, $tag) = @_;
	$node->safe_psql($db,
		join("\n", map { "SELECT count(*), '$tag' FROM invoices WHERE id = $_;" } 1 .. $n));
}

sub rows
{
	my ($db, $tag) = @_;
	return $node->safe_psql($db,
		"SELECT count(*) FROM tenant_guard.violations WHERE query LIKE '%''$tag''%'");
}

sub total_rows
{
	my $sum = $gone;
	$sum += $node->safe_psql($_, 'SELECT count(*) FROM tenant_guard.violations') for @dbs;
	return $sum;
}

sub total_counts
{
	my $sum = $gone_counts;
	$sum += $node->safe_psql($_, 'SELECT coalesce(sum(count), 0) FROM tenant_guard.violation_counts')
	  for @dbs;
	return $sum;
}

sub backend_pid
{
	my ($type) = @_;
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = '$type' LIMIT 1");
}

# Wait until nothing is pending, then check the identity and the rows.
sub settled
{
	my ($name) = @_;
	ok(poll_until($node, 'postgres', 'SELECT pending = 0 FROM tenant_guard.stats()', 30),
		"$name: nothing left pending");
	is(audit_identity($node), 'holds', "$name: the accounting identity holds");
	my $stats = audit_stats($node);
	is(total_rows(), $stats->{persisted}, "$name: exactly the persisted rows are in the tables");
	is(total_counts(), $stats->{sampled}, "$name: exactly the sampled violations are counted");
}

sub wait_for_crash_restart
{
	my ($offset) = @_;
	$node->wait_for_log(
		qr/all server processes terminated; reinitializing(?s:.*)database system is ready to accept connections/,
		$offset);
}

raise_n('postgres', 2, 'warm-up');
settled('start');

# D1: pg_terminate_backend() of the launcher.
my $launcher = backend_pid('tenant_guard audit launcher');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
ok( poll_until($node, 'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'tenant_guard audit launcher' AND pid <> $launcher",
		15),
	'D1: the terminated launcher comes back');
ok( poll_until($node, 'postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'tenant_guard audit writer'", 10),
	'D1: the writers went idle and exited');
raise_n('postgres', 3, 'd1');
ok(poll_until($node, 'postgres', "SELECT count(*) = 3 FROM tenant_guard.violations WHERE query LIKE '%''d1''%'", 15),
	'D1: violations raised afterwards are written without flush()');
settled('D1');

# A writer ended by SIGTERM comes back (after a 1 s backoff).
raise_n('postgres', 1, 'sigterm-1');
ok(poll_until($node, 'postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'tenant_guard audit writer' AND datname = 'postgres'", 10),
	'a writer runs');
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'tenant_guard audit writer'");
raise_n('postgres', 3, 'sigterm-2');
ok(poll_until($node, 'postgres', "SELECT count(*) = 3 FROM tenant_guard.violations WHERE query LIKE '%''sigterm-2''%'", 15),
	'a writer ended by SIGTERM is started again');
settled('writer SIGTERM');

# D7: a backend killed with entries waiting (the table locked, so that
# the writer cannot write them): the crash restart keeps them and the
# counters.
my $lock = $node->background_psql('second');
$lock->query_safe('BEGIN; LOCK TABLE tenant_guard.violations IN ACCESS EXCLUSIVE MODE');
raise_n('second', 5, 'd7');
my $before = audit_stats($node);
is($before->{pending}, 5, 'D7: five violations wait');
my $victim = $node->background_psql('postgres');
my $victim_pid = $victim->query_safe('SELECT pg_backend_pid()');
my $offset = -s $node->logfile;
kill 'KILL', $victim_pid;
wait_for_crash_restart($offset);
eval { $lock->quit; $victim->quit; };
ok(poll_until($node, 'second', "SELECT count(*) = 5 FROM tenant_guard.violations WHERE query LIKE '%''d7''%'", 20),
	'D7: after the crash restart the waiting violations are written');
my $after = audit_stats($node);
ok($after->{raised} == $before->{raised} && $after->{persisted} >= $before->{persisted} + 5,
	'D7: the counters survived the crash restart');
ok($node->log_contains('tenant_guard kept 5 queued violations and the counts of 0 statement shapes for the next start', $offset),
	'D7: the server log says what was kept');
settled('D7');

# SIGKILL of the launcher: a crash restart, and it comes back.
$offset = -s $node->logfile;
kill 'KILL', backend_pid('tenant_guard audit launcher');
wait_for_crash_restart($offset);
raise_n('postgres', 2, 'launcher-kill');
ok(poll_until($node, 'postgres', "SELECT count(*) = 2 FROM tenant_guard.violations WHERE query LIKE '%''launcher-kill''%'", 15),
	'after SIGKILL of the launcher violations are written again');
settled('launcher SIGKILL');

# D2: a writer that committed but has not yet released its entries (its
# commit waits for a synchronous standby that does not exist), then an
# immediate shutdown: the kept entries are written again after the start,
# and do nothing.
$node->append_conf('postgresql.conf', "synchronous_standby_names = 'nobody'");
$node->reload;
sleep 1;
raise_n('postgres', 4, 'd2');
ok( poll_until($node, 'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'tenant_guard audit writer' AND wait_event = 'SyncRep'", 10),
	'D2: the writer committed and waits for the standby');
$node->stop('immediate');
$node->append_conf('postgresql.conf', "synchronous_standby_names = ''");
$node->start;
ok(poll_until($node, 'postgres', 'SELECT pending = 0 FROM tenant_guard.stats()', 20), 'D2: the kept entries were handled');
is(rows('postgres', 'd2'), 4, 'D2: each violation has one row, not two');
settled('D2');

# Immediate shutdown under load: no duplicates.
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', '--client=2', '--time=4', '-f', '-', '-d', $node->connstr('postgres') ],
	'<', \"SELECT count(*), 'load' FROM invoices;\n", '>', \$out, '2>', \$err);
sleep 2;
$node->stop('immediate');
$bench->finish;
$node->start;
ok(poll_until($node, 'postgres', 'SELECT pending = 0 FROM tenant_guard.stats()', 20), 'load: the kept entries were handled');
is( $node->safe_psql('postgres',
		'SELECT count(*) FROM (SELECT 1 FROM tenant_guard.violations GROUP BY backend_pid, occurred_at, query HAVING count(*) > 1) d'),
	'0', 'immediate shutdown under load: no violation written twice');
settled('immediate shutdown under load');

# D3: a table that refuses some rows (a CHECK constraint, a trigger's
# error, a trigger that skips the row): the other rows of the database
# and those of another database are written, the refused are counted.
$node->safe_psql('postgres', q{
	ALTER TABLE tenant_guard.violations ADD CONSTRAINT refuse_check CHECK (query NOT LIKE '%refuse-check%') NOT VALID;
	CREATE FUNCTION public.refuse_rows() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NEW.query LIKE '%refuse-raise%' THEN RAISE EXCEPTION 'no such rows here'; END IF;
		IF NEW.query LIKE '%refuse-skip%' THEN RETURN NULL; END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER refuse_rows BEFORE INSERT ON tenant_guard.violations
		FOR EACH ROW EXECUTE FUNCTION public.refuse_rows();
});
$before = audit_stats($node);
raise_n('postgres', 2, 'refuse-check');
raise_n('postgres', 3, 'd3-ok');
raise_n('postgres', 1, 'refuse-raise');
raise_n('postgres', 1, 'refuse-skip');
raise_n('second', 2, 'd3-second');
$node->safe_psql('postgres', 'SELECT tenant_guard.flush()');
ok(poll_until($node, 'postgres', "SELECT count(*) = 3 FROM tenant_guard.violations WHERE query LIKE '%''d3-ok''%'", 15),
	'D3: the rows the table accepts are written');
ok(poll_until($node, 'second', "SELECT count(*) = 2 FROM tenant_guard.violations WHERE query LIKE '%''d3-second''%'", 15),
	'D3: and another database is written');
ok(poll_until($node, 'postgres', 'SELECT pending = 0 FROM tenant_guard.stats()', 15), 'D3: nothing is left waiting');
is(audit_stats($node)->{refused} - $before->{refused}, 4, 'D3: the four refused rows are counted');
ok($node->log_contains('tenant_guard.violations refused audit row -?\d+, set aside'),
	'D3: and logged');
ok($node->log_contains('audit row -?\d+ was skipped by a trigger on tenant_guard.violations'),
	'D3: a skipped row is logged too');
settled('D3 refused rows');

# A writer that keeps failing on the server's state (here a trigger
# raising lock_not_available) backs off instead of restarting in a loop.
$node->safe_psql('postgres', q{
	CREATE OR REPLACE FUNCTION public.refuse_rows() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NEW.query LIKE '%stuck%' THEN RAISE EXCEPTION 'busy' USING ERRCODE = 'lock_not_available'; END IF;
		RETURN NEW;
	END $$;
});
$offset = -s $node->logfile;
raise_n('postgres', 1, 'stuck');
sleep 7;
my $log = substr(slurp_file($node->logfile), $offset);
my $exits = () = $log =~ /"tenant_guard audit writer" \(PID \d+\) exited with exit code 1/g;
ok($exits >= 2 && $exits <= 4, "a failing writer backs off: $exits exits in 7 s");
$node->safe_psql('postgres', 'DROP TRIGGER refuse_rows ON tenant_guard.violations; ALTER TABLE tenant_guard.violations DROP CONSTRAINT refuse_check');
$node->safe_psql('postgres', 'SELECT tenant_guard.flush()');
is(rows('postgres', 'stuck'), 1, 'once the cause is gone, flush() has it written at once');
settled('backoff');

# A database whose owner made it read-only by default.
$node->safe_psql('ro', 'ALTER DATABASE ro SET default_transaction_read_only = on', extra_params => [ '-U', 'app_owner' ]);
raise_n('ro', 3, 'read-only');
ok(poll_until($node, 'ro', "SELECT count(*) = 3 FROM tenant_guard.violations WHERE query LIKE '%''read-only''%'", 15),
	'a read-only-by-default database still gets its rows');
settled('read-only database');

# D4: savepoint tricks around flush().
$node->safe_psql('postgres', join("\n",
	(map { "SELECT count(*), 'd4' FROM invoices WHERE id = $_;" } 1 .. 3),
	'BEGIN; SAVEPOINT a; SAVEPOINT b; SELECT tenant_guard.flush(); RELEASE b; ROLLBACK TO a; COMMIT;'));
settled('D4');
is(rows('postgres', 'd4'), 3, 'D4: a rolled-back savepoint around flush() erases nothing');

# D5: PREPARE TRANSACTION after flush().
$node->safe_psql('postgres', join("\n",
	(map { "SELECT count(*), 'd5-rollback' FROM invoices WHERE id = $_;" } 1 .. 3),
	"BEGIN; SELECT tenant_guard.flush(); PREPARE TRANSACTION 'd5a';"));
$node->safe_psql('postgres', "ROLLBACK PREPARED 'd5a'");
$node->safe_psql('postgres', join("\n",
	(map { "SELECT count(*), 'd5-commit' FROM invoices WHERE id = $_;" } 1 .. 3),
	"BEGIN; SELECT tenant_guard.flush(); PREPARE TRANSACTION 'd5b';"));
$node->safe_psql('postgres', "COMMIT PREPARED 'd5b'");
settled('D5');
is(rows('postgres', 'd5-rollback'), 3, 'D5: ROLLBACK PREPARED loses no row');
is(rows('postgres', 'd5-commit'), 3, 'D5: COMMIT PREPARED after the session ended writes no row twice');

# The table locked for a few seconds while a flood fills this database's
# share of the queue: the overflow is counted by its shape (every violation
# has a query id, tenant_guard's fingerprint with compute_query_id = off),
# with a WARNING; another database is still written; nothing is lost.
$lock = $node->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE tenant_guard.violations IN ACCESS EXCLUSIVE MODE');
$before = audit_stats($node);
$offset = -s $node->logfile;
$node->pgbench('--no-vacuum --client=4 --transactions=25', 0, [qr/processed: 100\/100/],
	[qr/^(|.*audit queue is full.*)$/s], 'a flood of 100 violations',
	{ 'flood' => "SET compute_query_id = off;\nSELECT count(*), 'flood' FROM invoices;\n" });
raise_n('second', 5, 'fair');
ok(poll_until($node, 'second', "SELECT count(*) = 5 FROM tenant_guard.violations WHERE query LIKE '%''fair''%'", 15),
	'fairness: the flood of one database leaves room for another');
$after = audit_stats($node);
is($after->{dropped} - $before->{dropped}, 0,
	'overflow: 48 of 64 slots for one database, the 52 without a slot are counted by their shape, none dropped');
ok($node->log_contains('WARNING:  tenant_guard audit queue is full', $offset), 'overflow: a WARNING');
sleep 2;
is(audit_stats($node)->{pending}, 100, 'locked: nothing written yet (48 rows and 52 counted wait)');
$lock->query_safe('COMMIT');
$lock->quit;
ok(poll_until($node, 'postgres', "SELECT count(*) = 48 FROM tenant_guard.violations WHERE query LIKE '%''flood''%'", 15),
	'locked: once the lock is gone the 48 waiting rows are written');
settled('locked table and overflow');

# Sampling: a flood of one statement in log mode keeps one detail row per
# second and counts the rest exactly, also while the table is locked and
# the queue overflows (the counts wait in shared memory), and over an
# immediate shutdown.
$lock = $node->background_psql('second');
$lock->query_safe('BEGIN; LOCK TABLE tenant_guard.violations IN ACCESS EXCLUSIVE MODE');
$before = audit_stats($node);
$node->pgbench('--no-vacuum --client=4 --transactions=50', 0, [qr/processed: 200\/200/],
	[qr/^(|.*audit queue is full.*)$/s], 'a sampled flood of 200 violations',
	{ 'sampled' => "SET tenant_guard.audit_sample_interval = '1h';\nSELECT count(*), 'sampled' FROM invoices /*controller='invoices',action='pay'*/;\n" },
	'second');
$after = audit_stats($node);
is($after->{raised} - $before->{raised}, 200, 'sampling: 200 raised');
is($after->{dropped} - $before->{dropped}, 0, 'sampling: none dropped');
$lock->query_safe('COMMIT');
$lock->quit;
$node->stop('immediate');
$node->start;
$node->safe_psql('second', 'SELECT tenant_guard.flush()');
is(rows('second', 'sampled'), 1, 'sampling: one detail row');
is( $node->safe_psql('second',
		"SELECT count || ' ' || call_site::text FROM tenant_guard.violation_summary WHERE sample_query LIKE '%''sampled''%'"),
	'200 {"action": "pay", "controller": "invoices"}',
	'sampling: the summary counts all 200, for the call site');
settled('sampling');

# DROP DATABASE with entries waiting (its writer blocked by a lock).
$node->safe_psql('postgres', 'CREATE DATABASE dropme');
$node->safe_psql('dropme', 'CREATE EXTENSION tenant_guard; CREATE TABLE invoices (id int, firm_id int)');
$lock = $node->background_psql('dropme');
$lock->query_safe('BEGIN; LOCK TABLE tenant_guard.violations IN ACCESS EXCLUSIVE MODE');
$before = audit_stats($node);
raise_n('dropme', 5, 'dropme');
$node->safe_psql('postgres', 'DROP DATABASE dropme WITH (FORCE)');
eval { $lock->quit; };
ok(poll_until($node, 'postgres', 'SELECT pending = 0 FROM tenant_guard.stats()', 15), 'DROP DATABASE: nothing left waiting');
$after = audit_stats($node);
is($after->{dropped} - $before->{dropped}, 5, 'DROP DATABASE: the waiting violations are dropped and counted');
ok($node->log_contains('tenant_guard discarded 5 queued violations of database \d+, which has been dropped'),
	'DROP DATABASE: and logged');
settled('DROP DATABASE');

# 20 clients for 3 s.
$before = audit_stats($node);
my $t0 = time;
$node->pgbench('--no-vacuum --client=20 --time=3', 0, [qr/processed: \d+/],
	[qr/^(|.*audit queue is full.*)$/s], '20 clients for 3 s',
	{ 'many' => "SELECT count(*), 'many' FROM invoices;\n" });
my $t1 = time;
ok(poll_until($node, 'postgres', 'SELECT pending = 0 FROM tenant_guard.stats()', 30), '20 clients: drained');
$after = audit_stats($node);
diag(sprintf('20 clients for 3 s: %d raised, %d persisted, %d dropped; the writer finished %.1f s after the clients',
	$after->{raised} - $before->{raised}, $after->{persisted} - $before->{persisted},
	$after->{dropped} - $before->{dropped}, time - $t1));
is(rows('postgres', 'many'), $after->{persisted} - $before->{persisted}, '20 clients: a row per persisted violation');
settled('20 clients');

# The same with sampling: all 20 count repeats of one shape at once.
$before = audit_stats($node);
$node->pgbench('--no-vacuum --client=20 --time=3', 0, [qr/processed: \d+/],
	[qr/^$/s], '20 clients for 3 s, sampled',
	{ 'sampled20' => "SET tenant_guard.audit_sample_interval = '1s';\nSELECT 'many sampled', count(*) FROM invoices;\n" });
ok(poll_until($node, 'postgres', 'SELECT pending = 0 FROM tenant_guard.stats()', 30), '20 clients, sampled: drained');
$after = audit_stats($node);
my $raised = $after->{raised} - $before->{raised};
diag(sprintf('20 clients for 3 s, sampled: %d raised, %d persisted, %d counted, %d dropped',
	$raised, $after->{persisted} - $before->{persisted},
	$after->{sampled} - $before->{sampled}, $after->{dropped} - $before->{dropped}));
is($after->{dropped} - $before->{dropped}, 0, '20 clients, sampled: none dropped');
ok($after->{persisted} - $before->{persisted} <= 20 * 5, '20 clients, sampled: at most a detail row per client and second');
is( $node->safe_psql('postgres',
		"SELECT sum(count) FROM tenant_guard.violation_summary WHERE sample_query LIKE '%''many sampled''%'"),
	$raised, '20 clients, sampled: the summary counts every violation raised');
settled('20 clients, sampled');

$node->stop;
done_testing();

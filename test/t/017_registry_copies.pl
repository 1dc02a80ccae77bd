# The registry's shared copy: a new session takes the registry from it
# instead of reading the table (counted by the table's scans), and never
# sees a state that is not committed or is no longer current: after a
# change commits, an uncommitted change, a rolled-back one, DROP and CREATE
# EXTENSION, a second database; a server that allows prepared transactions
# uses no copy, since a prepared change can commit from anywhere, also
# after a restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $node = new_guarded_node('registry_copies');
$node->safe_psql(
	'postgres', q{
CREATE TABLE accounts (id int, org int, owner_org int);
SELECT tenant_guard.register_table('accounts', 'org');
});

# What a new session sees of accounts, and whether it read the table to
# know (the registry's scans, counted once the session has flushed them).
my $describe =
  "SELECT coalesce((SELECT tenant_column FROM tenant_guard.describe_tenant_table('accounts')), 'none')";

sub scans
{
	my ($db) = @_;
	return $node->safe_psql($db // 'postgres',
		"SELECT seq_scan FROM pg_stat_all_tables WHERE relid = 'tenant_guard.registry'::regclass");
}

sub new_session_sees
{
	my ($db) = @_;
	my $before = scans($db);
	my $seen = $node->safe_psql($db // 'postgres',
		"$describe; SELECT pg_stat_force_next_flush()");
	$seen =~ s/\n.*//s;
	return ($seen, scans($db) - $before);
}

my ($seen, $read) = new_session_sees();
is($seen, 'org', 'the first session sees the registered column');
is($read, 1, 'and read the table');
($seen, $read) = new_session_sees();
is($seen, 'org', 'the next session too');
is($read, 0, 'from the shared copy, without reading the table');

# a committed change: the next session reads the table again, once
$node->safe_psql('postgres', "SELECT tenant_guard.register_table('accounts', 'owner_org')");
($seen, $read) = new_session_sees();
is($seen, 'owner_org', 'a committed change is seen by the next session');
is($read, 1, 'which reads the table');
($seen, $read) = new_session_sees();
is_deeply([ $seen, $read ], [ 'owner_org', 0 ], 'and the one after it has the new copy');

# an uncommitted change is seen by nobody else, and not kept in the copy
my $writer = $node->background_psql('postgres');
$writer->query_safe("BEGIN; SELECT tenant_guard.register_table('accounts', 'id')");
is($writer->query_safe($describe), 'id', 'the writer sees its own change');
($seen, $read) = new_session_sees();
is($seen, 'owner_org', 'another session does not see the uncommitted change');
$writer->query_safe('ROLLBACK');
($seen, $read) = new_session_sees();
is_deeply([ $seen, $read ], [ 'owner_org', 0 ], 'a rolled-back change leaves the copy as it was');

$writer->query_safe("BEGIN; SELECT tenant_guard.exclude_table('accounts')");
($seen, $read) = new_session_sees();
is($seen, 'owner_org', 'a session that starts before the commit sees the old registry');
$writer->query_safe('COMMIT');
($seen, $read) = new_session_sees();
is_deeply([ $seen, $read ], [ 'none', 1 ], 'after the commit: the exclusion, read from the table');

$writer->quit;

# a new registry table: the copy of the old one is not used
$node->restart;
$node->safe_psql('postgres', "SELECT tenant_guard.register_table('accounts', 'owner_org')");
($seen, $read) = new_session_sees();
($seen, $read) = new_session_sees();
is_deeply([ $seen, $read ], [ 'owner_org', 0 ], 'after a restart the copy is used again');
$node->safe_psql('postgres', 'DROP EXTENSION tenant_guard; CREATE EXTENSION tenant_guard');
$node->safe_psql('postgres', "SELECT tenant_guard.register_table('accounts', 'id')");
($seen, $read) = new_session_sees();
is($seen, 'id', 'a re-created registry is read, not the old copy');

# another database has a copy of its own
$node->safe_psql('postgres', 'CREATE DATABASE second');
$node->safe_psql(
	'second', q{
CREATE EXTENSION tenant_guard;
CREATE TABLE accounts (id int, org int, owner_org int);
SELECT tenant_guard.register_table('accounts', 'org');
});
($seen, $read) = new_session_sees('second');
($seen, $read) = new_session_sees('second');
is_deeply([ $seen, $read ], [ 'org', 0 ], 'the second database has its own copy');
($seen, $read) = new_session_sees();
is($seen, 'id', 'and the first keeps its own');

# With prepared transactions allowed, no copy: a change prepared before a
# restart and committed after it is seen by the next session.
$node->append_conf('postgresql.conf', 'max_prepared_transactions = 2');
$node->restart;
$node->safe_psql('postgres',
	"BEGIN; SELECT tenant_guard.register_table('accounts', 'owner_org'); PREPARE TRANSACTION 'later'");
($seen, $read) = new_session_sees();
is_deeply([ $seen, $read ], [ 'id', 1 ], 'prepared transactions allowed: the table is read');
($seen, $read) = new_session_sees();
is_deeply([ $seen, $read ], [ 'id', 1 ], 'by every session');
$node->restart;
($seen, $read) = new_session_sees();
is($seen, 'id', 'after a restart the prepared change is not seen yet');
$node->safe_psql('postgres', "COMMIT PREPARED 'later'");
($seen, $read) = new_session_sees();
is($seen, 'owner_org', 'after COMMIT PREPARED it is');
$node->append_conf('postgresql.conf', 'max_prepared_transactions = 0');
$node->restart;

# No registered table has children, so a session looks up no relation's
# ancestors; a registered table that gains its first child then is
# followed by that child at once, in a session that knew it had none.
$node->safe_psql(
	'postgres', q{
CREATE TABLE ledgers (id int, owner_org int);
CREATE TABLE notes (id int);
SELECT tenant_guard.register_table('ledgers', 'owner_org');
});
my $reader = $node->background_psql('postgres');
my $describe_as = "SELECT coalesce((SELECT tenant_column FROM tenant_guard.describe_tenant_table('%s')), 'none')";
is($reader->query_safe(sprintf($describe_as, 'notes')), 'none',
	'a table without an entry or a parent with one');
$node->safe_psql('postgres', 'CREATE TABLE ledgers_2027 () INHERITS (ledgers)');
is($reader->query_safe(sprintf($describe_as, 'ledgers_2027')), 'owner_org',
	'a new child of a registered table follows its entry in a session that knew it had no children');
$node->safe_psql('postgres',
	'CREATE TABLE ledgers_x (id int, owner_org int); ALTER TABLE ledgers_x INHERIT ledgers');
is($reader->query_safe(sprintf($describe_as, 'ledgers_x')), 'owner_org',
	'so does a table made a child with ALTER TABLE ... INHERIT');
$reader->quit;

done_testing();

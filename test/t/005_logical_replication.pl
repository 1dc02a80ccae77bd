# Logical replication copies a published table with COPY ... TO over a
# replication connection; that is not an application query, so a guarded
# publisher in enforce mode still replicates its tenant tables.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $publisher = new_guarded_node('publisher', "wal_level = logical",
	"max_wal_senders = 10", "max_replication_slots = 10",
	"tenant_guard.mode = 'enforce'");
my $subscriber = PostgreSQL::Test::Cluster->new('subscriber');
$subscriber->init;
$subscriber->start;

my $schema = 'CREATE TABLE invoices (id int PRIMARY KEY, firm_id int NOT NULL, amount numeric)';
$publisher->safe_psql('postgres', $schema);
$subscriber->safe_psql('postgres', $schema);
$publisher->safe_psql('postgres',
	"INSERT INTO invoices SELECT i, 1 + i % 3, i FROM generate_series(1, 30) i");

my ($ret, $stdout, $stderr) =
  $publisher->psql('postgres', 'COPY invoices TO STDOUT');
like($stderr, qr/unscoped read of tenant table "public.invoices"/,
	'an application COPY of the table is rejected on the publisher');

my $log_offset = -s $publisher->logfile;
$publisher->safe_psql('postgres', 'CREATE PUBLICATION billing FOR TABLE invoices');
my $connstr = $publisher->connstr . ' dbname=postgres';
$subscriber->safe_psql('postgres',
	"CREATE SUBSCRIPTION billing CONNECTION '$connstr' PUBLICATION billing");
$subscriber->wait_for_subscription_sync($publisher, 'billing');

is($subscriber->safe_psql('postgres', 'SELECT count(*), sum(amount) FROM invoices'),
	'30|465', 'the initial table copy arrived');

$publisher->safe_psql('postgres',
	'INSERT INTO invoices VALUES (31, 1, 31); UPDATE invoices SET amount = 0 WHERE firm_id = 1 AND id = 3');
$publisher->wait_for_catchup('billing');
is($subscriber->safe_psql('postgres', 'SELECT count(*), sum(amount) FROM invoices'),
	'31|493', 'changes stream too');
ok(!$publisher->log_contains('tenant_guard violation', $log_offset),
	'the replication connections caused no violation');

$subscriber->stop;
$publisher->stop;
done_testing();

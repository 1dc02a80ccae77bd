# A replication=database connection can run plain SQL.  The guard judges
# it like any statement; only logical replication's initial table copy
# (COPY ... TO STDOUT on a replication connection) is exempt.  Such
# connections need a role with REPLICATION, which can read every
# published row through logical decoding anyway.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $node = new_guarded_node('replication_connection', "wal_level = logical",
	"max_wal_senders = 10", "max_replication_slots = 10",
	"tenant_guard.mode = 'enforce'");
$node->safe_psql('postgres',
	'CREATE TABLE invoices (id int PRIMARY KEY, firm_id int NOT NULL);
	 INSERT INTO invoices SELECT i, 1 + i % 3 FROM generate_series(1, 30) i');

my $replication = $node->connstr('postgres') . ' replication=database';

sub on_replication_connection
{
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', $sql,
		extra_params => [ '-d', $replication, '-v', 'VERBOSITY=verbose' ]);
	return ($ret, $stdout, $stderr);
}

my ($ret, $stdout, $stderr) =
  on_replication_connection('SELECT count(*) FROM invoices');
like($stderr, qr/ERROR:  42501: unscoped read of tenant table "public.invoices"/,
	'an unscoped SELECT on a replication connection is rejected with 42501');
is($stdout, '', 'and returns nothing');

($ret, $stdout, $stderr) =
  on_replication_connection('UPDATE invoices SET firm_id = 1');
like($stderr, qr/ERROR:  42501: unscoped write to tenant table "public.invoices"/,
	'an unscoped UPDATE on a replication connection is rejected');
is($node->safe_psql('postgres', 'SELECT count(*) FROM invoices WHERE firm_id = 1'),
	'10', 'and changed no row');

($ret, $stdout, $stderr) =
  on_replication_connection('SELECT count(*) FROM invoices WHERE firm_id = 2');
is($stdout, '10', 'a scoped SELECT on a replication connection runs');

($ret, $stdout, $stderr) =
  on_replication_connection('COPY invoices TO STDOUT');
is(scalar(split /\n/, $stdout), 30,
	'COPY ... TO STDOUT on a replication connection (the initial table copy) runs');

($ret, $stdout, $stderr) =
  on_replication_connection('COPY (DELETE FROM invoices RETURNING *) TO STDOUT');
like($stderr, qr/ERROR:  42501: unscoped write to tenant table "public.invoices"/,
	'COPY (DELETE ... RETURNING) TO STDOUT is not the table copy: rejected');
is($node->safe_psql('postgres', 'SELECT count(*) FROM invoices WHERE firm_id IN (1, 2, 3)'),
	'30', 'and deleted nothing');

($ret, $stdout, $stderr) = on_replication_connection(
	'COPY (WITH x AS (SELECT * FROM invoices) SELECT * FROM x) TO STDOUT');
like($stderr, qr/ERROR:  42501: unscoped read of tenant table "public.invoices"/,
	'nor is a COPY of a query with WITH');

$node->stop;
done_testing();

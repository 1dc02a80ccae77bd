# The preloaded library leaves a database without the extension untouched:
# no errors, no log lines, even with the guard in enforce mode cluster-wide.
# Dropping the extension returns a database to that state at once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $node = new_guarded_node('unguarded', "tenant_guard.mode = 'enforce'");
$node->safe_psql('postgres', 'CREATE DATABASE plain');
for my $db ('postgres', 'plain')
{
	$node->safe_psql($db,
		'CREATE TABLE invoices (id int, firm_id int); INSERT INTO invoices VALUES (1, 1), (2, 2)'
	);
}

my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'SELECT count(*) FROM invoices');
like(
	$stderr,
	qr/unscoped read of tenant table "public.invoices"/,
	'the guarded database rejects an unscoped read');

my $log_offset = -s $node->logfile;
is($node->safe_psql('plain', 'SELECT count(*) FROM invoices'),
	'2', 'the database without the extension runs the same read');
is( $node->safe_psql(
		'plain', 'BEGIN; DELETE FROM invoices; TRUNCATE invoices; ROLLBACK; COPY invoices TO STDOUT'),
	"1\t1\n2\t2",
	'writes, TRUNCATE and COPY run too');
is( $node->safe_psql(
		'plain', q{CREATE TABLE upserted (id int PRIMARY KEY, firm_id int);
			INSERT INTO upserted VALUES (1, 1);
			INSERT INTO upserted VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET firm_id = excluded.firm_id
			RETURNING firm_id}),
	'2', 'and INSERT ... ON CONFLICT DO UPDATE, untouched by the cross-tenant check');
ok( !$node->log_contains('tenant_guard violation', $log_offset),
	'and nothing is logged for them');
is( $node->safe_psql(
		'plain',
		"SELECT count(*) FROM pg_proc WHERE proname = 'check' AND pronamespace::regnamespace::text = 'tenant_guard'"
	),
	'0',
	'no tenant_guard objects exist there');

# A session that stays connected sees DROP EXTENSION at once.
my $session = $node->background_psql('postgres', on_error_stop => 0);
$session->query('SELECT count(*) FROM invoices');
like($session->{stderr}, qr/unscoped read/, 'the open session is guarded');
$node->safe_psql('postgres', 'DROP EXTENSION tenant_guard');
$session->{stderr} = '';
is($session->query('SELECT count(*) FROM invoices'),
	'2', 'after DROP EXTENSION in another session it is not');
is($session->{stderr}, '', 'and it reports nothing');
$node->safe_psql('postgres', 'CREATE EXTENSION tenant_guard');
$session->{stderr} = '';
$session->query('SELECT count(*) FROM invoices');
like($session->{stderr}, qr/unscoped read/,
	'after CREATE EXTENSION it is guarded again');
$session->quit;

$node->stop;
done_testing();

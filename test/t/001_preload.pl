# tenant_guard refuses to load other than through shared_preload_libraries,
# with a message that says how to fix it, and leaves nothing behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('not_preloaded');
$node->init;
$node->start;

my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'CREATE EXTENSION tenant_guard');
isnt($ret, 0, 'CREATE EXTENSION fails without shared_preload_libraries');
like(
	$stderr,
	qr/ERROR:  tenant_guard must be loaded via shared_preload_libraries/,
	'the error names shared_preload_libraries');
like(
	$stderr,
	qr/HINT:  Add tenant_guard to shared_preload_libraries in postgresql.conf and restart the server\./,
	'the hint says how to fix it');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_guard'"),
	'0',
	'the failed CREATE EXTENSION left no schema behind');

($ret, $stdout, $stderr) = $node->psql('postgres', "LOAD 'tenant_guard'");
isnt($ret, 0, 'LOAD fails');
like(
	$stderr,
	qr/tenant_guard must be loaded via shared_preload_libraries/,
	'LOAD gives the same message');

# With the library preloaded the same server accepts the extension.
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'tenant_guard'");
$node->restart;
$node->safe_psql('postgres', 'CREATE EXTENSION tenant_guard');
is( $node->safe_psql(
		'postgres', "SELECT extversion FROM pg_extension WHERE extname = 'tenant_guard'"),
	'0.2.0',
	'CREATE EXTENSION works once preloaded');
is($node->safe_psql('postgres', 'SHOW tenant_guard.mode'),
	'log', 'the default mode is log');

$node->stop;
done_testing();

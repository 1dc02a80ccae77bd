# The tenant-table cache of one session follows changes made in another
# session at once, without reconnecting: registry changes, column changes,
# tenant_columns changed by ALTER SYSTEM and reload, and DROP/CREATE
# EXTENSION.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $node = new_guarded_node('cache');
$node->safe_psql('postgres',
	'CREATE TABLE accounts (id int, org_id int, account_org int)');

my $reader = $node->background_psql('postgres');
my $describe =
  "SELECT coalesce((SELECT tenant_column || '/' || source FROM tenant_guard.describe_tenant_table('accounts')), 'none')";

sub reader_sees
{
	my ($expected, $what) = @_;
	is($reader->query_safe($describe), $expected, $what);
}

reader_sees('org_id/detected', 'detected by name, now cached in the reader');

$node->safe_psql('postgres',
	"SELECT tenant_guard.register_table('accounts', 'account_org')");
reader_sees('account_org/registered', 'register_table in another session');

$node->safe_psql('postgres', "SELECT tenant_guard.exclude_table('accounts')");
reader_sees('none', 'exclude_table in another session');

$node->safe_psql('postgres', "SELECT tenant_guard.forget_table('accounts')");
reader_sees('org_id/detected', 'forget_table in another session');

$node->safe_psql('postgres',
	'ALTER TABLE accounts RENAME COLUMN org_id TO former_org');
reader_sees('none', 'a renamed column in another session');

$node->safe_psql('postgres',
	"ALTER SYSTEM SET tenant_guard.tenant_columns = 'account_org'");
$node->reload;
# The reader applies the reload at its next statement; poll briefly.
my $seen = '';
foreach (1 .. 50)
{
	$seen = $reader->query_safe($describe);
	last if $seen eq 'account_org/detected';
	select(undef, undef, undef, 0.1);
}
is($seen, 'account_org/detected', 'tenant_columns changed by ALTER SYSTEM and reload');

$node->safe_psql('postgres', 'DROP EXTENSION tenant_guard');
is( $reader->query_safe(
		"SELECT count(*) FROM pg_extension WHERE extname = 'tenant_guard'"),
	'0',
	'the reader sees the extension dropped');
$node->safe_psql('postgres', 'CREATE EXTENSION tenant_guard');
reader_sees('account_org/detected', 'the reader works again after CREATE EXTENSION');

$reader->quit;
$node->stop;
done_testing();

# Upgrades: a database created at 0.1.0 (the released install script, kept
# unchanged in the repository), filled with registry entries, protected
# amounts and violations, then moved to 0.2.0 with ALTER EXTENSION UPDATE,
# has exactly the objects of a fresh 0.2.0 install (definitions, comments,
# privileges, configuration-dump tables), and keeps its data; the guard
# works in it as in a fresh one.
use strict;
use warnings;
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $node = new_guarded_node('upgrade');
my $objects = slurp_file("$FindBin::Bin/extension_objects.sql");

$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('upgraded', q{
	CREATE EXTENSION tenant_guard VERSION '0.1.0';
	CREATE TABLE invoices (id int PRIMARY KEY, firm_id int, amount_paid numeric(12, 2) NOT NULL DEFAULT 0);
	CREATE TABLE ledger (id int, account_org int);
	CREATE TABLE countries (code text, org_id int);
	INSERT INTO invoices VALUES (1, 1, 100), (2, 2, 100);
	SELECT tenant_guard.register_table('ledger', 'account_org');
	SELECT tenant_guard.exclude_table('countries');
	SELECT tenant_guard.protect_amount('invoices', 'amount_paid');
	SELECT count(*) FROM invoices;
	SELECT count(*) FROM ledger;
	SELECT tenant_guard.flush();
});
is($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'tenant_guard'}),
	'0.1.0', 'the database starts at 0.1.0');

my $registry = q{SELECT string_agg(relid::text || ':' || coalesce(tenant_column, '-') || ':' || excluded, ', ' ORDER BY relid::text)
				  FROM tenant_guard.registry};
my $amounts = q{SELECT string_agg(relid::text || '.' || amount_column, ', ' ORDER BY 1) FROM tenant_guard.protected_amounts};
my $violations = q{SELECT string_agg(kind || ' ' || relation || ' ' || action || ' ' || query, E'\n' ORDER BY id)
					FROM tenant_guard.violations};
my %before = map { $_ => $node->safe_psql('upgraded', $_) } ($registry, $amounts, $violations);
is($before{$violations},
	"unscoped_read public.invoices logged SELECT count(*) FROM invoices;\n"
	  . "unscoped_read public.ledger logged SELECT count(*) FROM ledger;",
	'0.1.0 recorded the two unscoped reads');

$node->safe_psql('upgraded', 'ALTER EXTENSION tenant_guard UPDATE');
is($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'tenant_guard'}),
	'0.2.0', 'ALTER EXTENSION UPDATE moves it to 0.2.0');
$node->safe_psql('fresh', 'CREATE EXTENSION tenant_guard');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'tenant_guard'}),
	'0.2.0', 'a fresh install is 0.2.0');

my $upgraded_objects = $node->safe_psql('upgraded', $objects);
my $fresh_objects = $node->safe_psql('fresh', $objects);
cmp_ok(scalar(split /\n/, $fresh_objects), '>=', 30, 'the object list is not empty');
my %fresh_lines = map { $_ => 1 } split /\n/, $fresh_objects;
my %upgraded_lines = map { $_ => 1 } split /\n/, $upgraded_objects;
diag("only after the upgrade: $_") for grep { !$fresh_lines{$_} } sort keys %upgraded_lines;
diag("only in a fresh install: $_") for grep { !$upgraded_lines{$_} } sort keys %fresh_lines;
is($upgraded_objects, $fresh_objects,
	'the upgraded database has exactly the objects of a fresh install');

for my $query ($registry, $amounts, $violations)
{
	is($node->safe_psql('upgraded', $query), $before{$query},
		'kept across the upgrade: ' . ($query =~ /FROM (tenant_guard\.\w+)/)[0]);
}

# The guard works in the upgraded database: registry, exclusion, amounts.
my ($ret, $stdout, $stderr) = $node->psql('upgraded',
	'SET tenant_guard.mode = enforce; SELECT count(*) FROM ledger');
like($stderr, qr/unscoped read of tenant table "public.ledger" with no condition on tenant column "account_org"/,
	'the registered tenant column is still enforced');
is($node->safe_psql('upgraded', 'SET tenant_guard.mode = enforce; SELECT count(*) FROM countries'),
	'0', 'the excluded table is still not guarded');
($ret, $stdout, $stderr) = $node->psql('upgraded',
	'UPDATE invoices SET amount_paid = 150 WHERE firm_id = 1 AND id = 1');
like($stderr, qr/non-atomic update of amount column "amount_paid" of table "public.invoices"/,
	'the protected amount is still guarded');
($ret, $stdout, $stderr) = $node->psql('upgraded', q{SELECT tenant_guard.register_table('pg_class', 'relname')});
like($stderr, qr/relation "pg_catalog.pg_class" is in schema "pg_catalog", which tenant_guard never guards/,
	'the 0.2.0 functions replaced the 0.1.0 ones');
$node->safe_psql('upgraded', 'SELECT tenant_guard.flush()');
is($node->safe_psql('upgraded', 'SELECT count(*) FROM tenant_guard.violations'),
	'4', 'violations after the upgrade join those from before');

$node->stop;
done_testing();

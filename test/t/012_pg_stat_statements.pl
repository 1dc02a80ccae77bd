# tenant_guard stays out of the way of the statistics other extensions
# keep: with pg_stat_statements tracking every statement (track = all),
# the same workload leaves exactly the same entries (texts, calls, rows)
# with tenant_guard preloaded before or after pg_stat_statements, with
# auto_explain as well, and the extension created, as without tenant_guard.
# In particular a DROP runs no statement of tenant_guard's unless a
# dropped relation has a registry entry.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $workload = q{
CREATE TABLE invoices (id int PRIMARY KEY, firm_id int NOT NULL, amount numeric NOT NULL DEFAULT 0);
CREATE TABLE notes (id int, body text);
INSERT INTO invoices SELECT g, g % 3, g FROM generate_series(1, 30) g;
INSERT INTO notes VALUES (1, 'a'), (2, 'b');
SELECT count(*) FROM invoices WHERE firm_id = 1;
SELECT * FROM invoices WHERE firm_id = 2 AND id = 5;
UPDATE invoices SET amount = amount + 1 WHERE firm_id = 1 AND id = 4;
SELECT count(*) FROM notes;
CREATE INDEX ON invoices (firm_id);
ALTER TABLE notes ADD COLUMN extra int;
CREATE FUNCTION invoice_count(f int) RETURNS bigint LANGUAGE sql
	AS 'SELECT count(*) FROM invoices WHERE firm_id = f';
SELECT invoice_count(1);
DO $$ BEGIN PERFORM count(*) FROM invoices WHERE firm_id = 2; END $$;
TRUNCATE notes;
CREATE TEMP TABLE scratch (id int);
DROP TABLE scratch;
DROP FUNCTION invoice_count(int);
DROP TABLE notes;
DROP TABLE invoices;
};

my $entries = q{SELECT query || ' | calls=' || calls || ' | rows=' || rows
				  FROM pg_stat_statements
				 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
				   AND query !~ 'pg_stat_statements'
				 ORDER BY query, calls, rows};

# Runs the workload on a fresh node with the given preload list and
# returns what pg_stat_statements recorded.
sub recorded
{
	my ($name, $preload, $with_guard) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = '$preload'
pg_stat_statements.track = all
pg_stat_statements.track_utility = on
compute_query_id = on
auto_explain.log_min_duration = 0
auto_explain.log_nested_statements = on
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_stat_statements');
	$node->safe_psql('postgres', 'CREATE EXTENSION tenant_guard') if $with_guard;
	$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');
	$node->safe_psql('postgres', $workload);
	my $result = $node->safe_psql('postgres', $entries);
	if ($with_guard)
	{
		is($node->safe_psql('postgres', 'SELECT count(*) FROM tenant_guard.violations'),
			'0', "$name: the workload is clean, nothing was audited");
	}
	$node->stop;
	return $result;
}

my $plain = recorded('plain', 'pg_stat_statements', 0);
cmp_ok(scalar(split /\n/, $plain), '>=', 15, 'pg_stat_statements recorded the workload');
unlike($plain, qr/tenant_guard/, 'and nothing of tenant_guard without it');

for my $case (
	[ 'guard_first', 'tenant_guard,pg_stat_statements' ],
	[ 'guard_last', 'pg_stat_statements,tenant_guard' ],
	[ 'with_auto_explain', 'pg_stat_statements,tenant_guard,auto_explain' ])
{
	my ($name, $preload) = @$case;
	my $guarded = recorded($name, $preload, 1);
	is($guarded, $plain, "$name ($preload): the same entries as without tenant_guard");
}

# A DROP of a registered table does delete its registry entry.
my $node = PostgreSQL::Test::Cluster->new('registry_drop');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'tenant_guard'");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION tenant_guard;
	CREATE TABLE ledger (id int, account_org int);
	CREATE TABLE other (id int);
	SELECT tenant_guard.register_table('ledger', 'account_org');
	SELECT tenant_guard.exclude_table('other');
});
$node->safe_psql('postgres', 'DROP TABLE ledger, other');
is($node->safe_psql('postgres', 'SELECT count(*) FROM tenant_guard.registry'),
	'0', 'dropping registered and excluded tables removes their entries');
$node->safe_psql('postgres', q{
	CREATE ROLE regress_owner LOGIN;
	CREATE TABLE owned (id int, firm_id int);
	ALTER TABLE owned OWNER TO regress_owner;
	SELECT tenant_guard.exclude_table('owned');
});
$node->safe_psql('postgres', 'SET ROLE regress_owner; DROP TABLE owned');
is($node->safe_psql('postgres', 'SELECT count(*) FROM tenant_guard.registry'),
	'0', 'also when the table owner, not a superuser, drops it');
$node->stop;

done_testing();

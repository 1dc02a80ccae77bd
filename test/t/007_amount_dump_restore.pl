# Amount protection lives in the tenant_guard_amounts trigger of each
# table, so pg_dump and restore bring back the protection together with
# the table, for plain and partitioned tables.  Also: DROP DATABASE of a
# guarded database completes at once, even right after a violation, when
# an audit writer has just served it (the launcher absorbs the barrier
# DROP DATABASE waits for, and writers leave within its 5 s grace).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $node = new_guarded_node('amounts');
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
	CREATE EXTENSION tenant_guard;
	CREATE TABLE invoices (id int PRIMARY KEY, firm_id int, amount_paid numeric(12, 2) NOT NULL, fee int);
	INSERT INTO invoices VALUES (1, 1, 100, 0);
	CREATE TABLE p_invoices (id int, firm_id int, amount_paid numeric(12, 2) NOT NULL) PARTITION BY LIST (firm_id);
	CREATE TABLE p_invoices_1 PARTITION OF p_invoices FOR VALUES IN (1);
	CREATE TABLE p_invoices_2 PARTITION OF p_invoices FOR VALUES IN (2);
	INSERT INTO p_invoices VALUES (1, 1, 100), (1, 2, 100);
	SELECT tenant_guard.protect_amount('invoices', 'amount_paid');
	SELECT tenant_guard.protect_amount('invoices', 'fee');
	SELECT tenant_guard.protect_amount('p_invoices', 'amount_paid');
});
my $protected = q{SELECT string_agg(relid::text || '.' || amount_column, ', ' ORDER BY 1)
					FROM tenant_guard.protected_amounts};
is($node->safe_psql('shop', $protected),
	'invoices.amount_paid, invoices.fee, p_invoices.amount_paid',
	'three columns are protected before the dump');

my $dump = $node->basedir . '/shop.sql';
command_ok([ 'pg_dump', '-d', $node->connstr('shop'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'), '-f', $dump ],
	'restore into a new database');

is($node->safe_psql('restored', $protected),
	'invoices.amount_paid, invoices.fee, p_invoices.amount_paid',
	'the restored database protects the same columns');
is($node->safe_psql('restored',
		q{SELECT count(*) FROM pg_trigger WHERE tgname = 'tenant_guard_amounts' AND tgrelid::regclass::text LIKE 'p_invoices_%'}),
	'2', 'and both partitions have the protection again');

for my $table ('invoices', 'p_invoices')
{
	my ($ret, $stdout, $stderr) = $node->psql('restored',
		"UPDATE $table SET amount_paid = 150 WHERE firm_id = 1 AND id = 1");
	like($stderr, qr/non-atomic update of amount column "amount_paid" of table "public.$table"/,
		"an absolute update of restored $table is refused");
	is($node->safe_psql('restored',
			"UPDATE $table SET amount_paid = amount_paid + 50 WHERE firm_id IN (1, 2) AND id = 1 RETURNING amount_paid"),
		$table eq 'invoices' ? '150.00' : "150.00\n150.00",
		"a relative update of restored $table applies");
}

# DROP DATABASE right after a violation, while an audit writer may still
# be connected to it.
$node->safe_psql('postgres', 'CREATE DATABASE dropme');
$node->safe_psql('dropme',
	'CREATE EXTENSION tenant_guard; CREATE TABLE t (id int, firm_id int); SELECT count(*) FROM t');
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = 'dropme' AND backend_type = 'tenant_guard audit writer'")
  or diag('no audit writer was seen connected to dropme');
my $timed_out = 0;
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE dropme',
	timeout => 60, timed_out => \$timed_out);
ok(!$timed_out, 'DROP DATABASE does not hang');
is($ret, 0, 'DROP DATABASE succeeds') or diag($stderr);

$node->stop;
done_testing();

# The tenant context against portal tricks, on the wire: what a client of
# the extended protocol can do that psql cannot (named portals run a few
# rows at a time, a simple query between two fetches, statements pipelined
# without a Sync, a generic plan run under another context).  A portal
# keeps the context it was started with (at Bind) until it is closed;
# whatever the client does in between, no row of another tenant comes out.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;
use WireClient;

my $node = new_guarded_node('portals', "tenant_guard.mode = 'enforce'");
$node->safe_psql(
	'postgres', q{
CREATE TABLE invoices (id int PRIMARY KEY, firm_id int NOT NULL, notes text);
INSERT INTO invoices VALUES (1, 1, 'firm 1 a'), (2, 1, 'firm 1 b'),
  (10, 2, 'F2SECRET10'), (11, 2, 'F2SECRET11');
CREATE ROLE regress_app LOGIN;
GRANT SELECT, UPDATE ON invoices TO regress_app;
});

my $db = WireClient->connect(
	host => $node->host,
	port => $node->port,
	user => 'regress_app',
	dbname => 'postgres');

# No reply may carry another tenant's notes.
sub leaks
{
	my ($reply) = @_;
	return grep { grep { defined && /F2SECRET/ } @$_ } @{ $reply->{rows} };
}

sub first_error
{
	my ($reply) = @_;
	my $e = $reply->{errors}[0] or return '';
	return "$e->{C} $e->{M}";
}

my $r;
my $cross_read = qr/^42501 cross-tenant read of tenant table "public.invoices"$/;

# 1. A portal run one row at a time; between two fetches the client switches
#    the context to the other tenant.  The portal's rows are still checked
#    against the context it was bound with: firm 1's next row comes out,
#    firm 2's first row is refused.
$db->query("BEGIN; SELECT set_config('tenant_guard.tenant', '1', true)");
$db->parse('', 'SELECT id, notes FROM invoices ORDER BY id');
$db->bind('p1', '');
$db->execute('p1', 1);
$r = $db->sync;
is_deeply($r->{rows}, [ [ 1, 'firm 1 a' ] ], 'portal: the first row, of firm 1');
is($r->{suspended}, 1, 'portal: suspended after one row');
$r = $db->query("SELECT set_config('tenant_guard.tenant', '2', true)");
is(first_error($r), '', 'the context may change between two fetches of a portal');
$db->execute('p1', 10);
$r = $db->sync;
is_deeply([ map { $_->[0] } @{ $r->{rows} } ], [2], 'portal: firm 1\'s second row still comes out');
like(first_error($r), $cross_read, 'portal: firm 2\'s row is refused under the bound context');
is($r->{errors}[0]{D},
	'Tenant column "firm_id" of a row the statement reads is 2; tenant_guard.tenant is "1".',
	'portal: the detail names the context it was bound with');
ok(!leaks($r), 'portal: no row of firm 2');
$db->query('ROLLBACK');

# 2. The same with the context cleared between two fetches (RESET, then an
#    empty value): the portal still checks against its own.
$db->query("BEGIN; SET LOCAL tenant_guard.tenant = '1'");
$db->parse('', 'SELECT id, notes FROM invoices ORDER BY id');
$db->bind('p2', '');
$db->execute('p2', 1);
$r = $db->sync;
is_deeply($r->{rows}, [ [ 1, 'firm 1 a' ] ], 'cleared: the first row');
$r = $db->query("RESET tenant_guard.tenant; SELECT set_config('tenant_guard.tenant', '', true)");
is(first_error($r), '', 'cleared: the context may be cleared between two fetches');
$db->execute('p2', 0);
$r = $db->sync;
like(first_error($r), $cross_read, 'cleared: firm 2\'s row is refused, not let through');
ok(!leaks($r), 'cleared: no row of firm 2');
$db->query('ROLLBACK');

# 3. A portal bound in a savepoint that is rolled back is gone with it.
$db->query("BEGIN; SAVEPOINT s; SET LOCAL tenant_guard.tenant = '1'");
$db->parse('', 'SELECT id, notes FROM invoices ORDER BY id');
$db->bind('p3', '');
$db->execute('p3', 1);
$r = $db->sync;
is_deeply($r->{rows}, [ [ 1, 'firm 1 a' ] ], 'savepoint: the first row');
$db->query("ROLLBACK TO SAVEPOINT s; SET LOCAL tenant_guard.tenant = '2'");
$db->execute('p3', 0);
$r = $db->sync;
like(first_error($r), qr/^34000 portal "p3" does not exist$/, 'savepoint: the portal is gone');
ok(!leaks($r) && !@{ $r->{rows} }, 'savepoint: no row');
$db->query('ROLLBACK');

# 4. Pipelined without a Sync: a statement that switches the context,
#    bound and run between the Bind and the Execute of another portal,
#    does not change that portal's context.
$db->query("BEGIN; SET LOCAL tenant_guard.tenant = '1'");
$db->parse('', 'SELECT id, notes FROM invoices WHERE id IN (2, 10) ORDER BY id');
$db->bind('p4', '');
$db->parse('', "SELECT set_config('tenant_guard.tenant', '2', true)");
$db->bind('', '');
$db->execute('', 0);
$db->execute('p4', 0);
$r = $db->sync;
is_deeply($r->{rows}[0], ['2'], 'pipeline: the switching statement ran');
is_deeply([ map { $_->[0] } @{ $r->{rows} }[ 1 .. $#{ $r->{rows} } ] ],
	[2], 'pipeline: the portal returns firm 1\'s row');
like(first_error($r), $cross_read, 'pipeline: and refuses firm 2\'s');
ok(!leaks($r), 'pipeline: no row of firm 2');
$db->query('ROLLBACK');

# 5. A prepared statement's generic plan, made under one context, run under
#    another: its scope is checked against the context of each execution.
$db->query("SET tenant_guard.tenant = '1'");
$db->parse('by_firm', 'SELECT notes FROM invoices WHERE firm_id = $1 AND id = $2');
for (1 .. 6)
{
	$db->bind('', 'by_firm', 1, 1);
	$db->execute('', 0);
}
$r = $db->sync;
is(scalar @{ $r->{rows} }, 6, 'generic plan: six runs for firm 1 under its context');
$db->bind('', 'by_firm', 2, 10);
$db->execute('', 0);
$r = $db->sync;
is(first_error($r),
	'42501 cross-tenant read of tenant table "public.invoices"',
	'generic plan: firm 2\'s scope is refused under context 1');
ok(!leaks($r), 'generic plan: no row of firm 2');
$db->query("SET tenant_guard.tenant = '2'");
$db->bind('', 'by_firm', 1, 1);
$db->execute('', 0);
$r = $db->sync;
like(first_error($r), qr/^42501 /, 'generic plan: firm 1\'s scope is refused under context 2');
$db->bind('', 'by_firm', 2, 10);
$db->execute('', 0);
$r = $db->sync;
is_deeply($r->{rows}, [ ['F2SECRET10'] ], 'generic plan: firm 2 reads its own row under its context');
$db->query('RESET tenant_guard.tenant');

# 6. A row-verified UPDATE ... RETURNING run one row at a time: the update
#    is done, and checked, at the first Execute; switching the context
#    before the next fetch changes nothing of what it did.
$db->query("BEGIN; SET LOCAL tenant_guard.tenant = '1'");
$db->parse('', 'UPDATE invoices SET notes = notes WHERE id IN (1, 2, 10) RETURNING id, notes');
$db->bind('p6', '');
$db->execute('p6', 1);
$r = $db->sync;
like(first_error($r), qr/^42501 cross-tenant write to tenant table "public.invoices"$/,
	'UPDATE RETURNING: refused at the first Execute');
ok(!leaks($r), 'UPDATE RETURNING: no row of firm 2');
$db->query('ROLLBACK');
is($node->safe_psql('postgres',
		"SET tenant_guard.mode = 'off'; SELECT string_agg(notes, ',' ORDER BY id) FROM invoices"),
	'firm 1 a,firm 1 b,F2SECRET10,F2SECRET11', 'nothing was changed');

# 7. The server is still up, and the session usable.
$r = $db->query('SELECT 1');
is_deeply($r->{rows}, [ ['1'] ], 'the session still works');
$db->disconnect;

done_testing();

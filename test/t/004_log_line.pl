# Every violation writes one parseable server-log line (but for logged
# repeats that sampling only counts): in log mode the statement runs, in
# enforce mode it fails; the JSON object carries the
# documented fields (with the database, the query id and the call site).  Clients see nothing in log mode unless
# tenant_guard.client_messages says so.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $node = new_guarded_node('log_line');
$node->safe_psql('postgres',
	'CREATE TABLE invoices (id int, firm_id int); CREATE ROLE regress_app LOGIN; GRANT ALL ON invoices TO regress_app'
);

# The JSON objects logged since $offset.
sub violations_since
{
	my ($offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	return map { decode_json($_) } ($log =~ /tenant_guard violation: (\{.*\})$/mg);
}

my $offset = -s $node->logfile;
my ($ret, $stdout, $stderr) = $node->psql(
	'postgres',
	'UPDATE invoices SET id = id WHERE id = 1',
	extra_params => [ '-U', 'regress_app' ],
	connstr => $node->connstr('postgres') . ' application_name=billing-cron');
is($ret, 0, 'log mode lets the unscoped UPDATE run');
is($stderr, '', 'and the client sees nothing by default');
my @logged = violations_since($offset);
is(scalar @logged, 1, 'one log line for the violation');
my $query_id = delete $logged[0]{query_id};
ok(defined $query_id && $query_id =~ /^-?\d+$/, 'the line carries the query id as a number');
is_deeply(
	$logged[0],
	{
		kind => 'unscoped_write',
		action => 'logged',
		relation => 'public.invoices',
		column => 'firm_id',
		role => 'regress_app',
		application => 'billing-cron',
		database => 'postgres',
		statement => 'UPDATE invoices SET id = id WHERE id = 1',
		tenant => undef,
		row_tenant => undef
	},
	'the line names kind, action, relation, column, role, application, database, statement, and the tenant context (none here)');

# A statement with sqlcommenter tags: the call site as a JSON object.
$offset = -s $node->logfile;
$node->safe_psql('postgres',
	"SELECT count(*) FROM invoices /*controller='invoices',action='pay',route='%2Finvoices%2Fpay'*/");
@logged = violations_since($offset);
is_deeply($logged[0]{call_site}, { controller => 'invoices', action => 'pay', route => '/invoices/pay' },
	'the line carries the call site');

$offset = -s $node->logfile;
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET tenant_guard.mode = enforce; SELECT count(*) FROM invoices");
like($stderr, qr/ERROR:  unscoped read of tenant table "public.invoices"/,
	'enforce mode rejects');
@logged = violations_since($offset);
is(scalar @logged, 1, 'one log line for the rejected statement');
is($logged[0]{action}, 'rejected', 'with action "rejected"');
is($logged[0]{kind}, 'unscoped_read', 'and kind "unscoped_read"');

$offset = -s $node->logfile;
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET tenant_guard.client_messages = warning; SELECT count(*) FROM invoices WHERE id > 0");
like($stderr, qr/WARNING:  unscoped read of tenant table "public.invoices"/,
	'client_messages = warning shows the violation to the client');
is(scalar(my @l = violations_since($offset)), 1, 'still exactly one log line');

# Logged repeats of a statement shape within tenant_guard.audit_sample_interval
# are counted in the shape and write no line; with the interval 0 each does.
$offset = -s $node->logfile;
$node->safe_psql('postgres', "SET tenant_guard.audit_sample_interval = '1h';
	SELECT id FROM invoices WHERE id = 1; SELECT id FROM invoices WHERE id = 2;
	SELECT id FROM invoices WHERE id = 3; SELECT tenant_guard.flush();");
@logged = violations_since($offset);
is_deeply([ map { $_->{statement} } @logged ], [ 'SELECT id FROM invoices WHERE id = 1;' ],
	'three repeats of one shape: the first is logged, the repeats are not');
is($node->safe_psql('postgres', "SELECT sum(count) FROM tenant_guard.violation_counts"), '2',
	'the two repeats are counted');
$offset = -s $node->logfile;
$node->safe_psql('postgres', "SET tenant_guard.audit_sample_interval = 0;
	SELECT id FROM invoices WHERE id = 4; SELECT id FROM invoices WHERE id = 5;");
is(scalar(@l = violations_since($offset)), 2, 'with the interval 0 every repeat is logged');

$node->stop;
done_testing();

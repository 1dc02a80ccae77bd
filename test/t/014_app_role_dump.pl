# The application's own role, which owns its tables but holds no grant on
# the audit trail, can dump its schema in a guarded database: Rails'
# `rails db:structure:dump` runs `pg_dump --schema-only --no-privileges
# --no-owner` as that role.  pg_dump before 18 reads the last value of every
# configuration sequence of a dumped extension even for a schema-only dump,
# so tenant_guard.violations_id_seq must be readable (SELECT only: it shows
# how many audit ids were handed out, as stats() does, and no audit row).
# The audit rows themselves stay unreadable without a grant, a full dump as
# the application role is refused rather than left without them, and a
# superuser's dump and restore keeps the rows and the sequence's position.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

my $node = new_guarded_node('app_role_dump');
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN;
	CREATE DATABASE shop OWNER app;
});
$node->safe_psql('shop', 'CREATE EXTENSION tenant_guard');

# The application's schema, created by the application's role; one logged
# unscoped read, written to the trail, so that the trail and its sequence
# are not empty.
sub app_psql
{
	my ($sql) = @_;
	return $node->psql('shop', "\\set VERBOSITY verbose\n$sql", extra_params => [ '-U', 'app' ]);
}
$node->safe_psql('shop', q{
	CREATE TABLE invoices (id bigserial PRIMARY KEY, firm_id int NOT NULL, amount_paid numeric(12, 2) NOT NULL DEFAULT 0);
	CREATE TABLE countries (code text PRIMARY KEY, name text);
	INSERT INTO invoices (firm_id, amount_paid) VALUES (1, 100), (2, 250);
	INSERT INTO countries VALUES ('ch', 'Switzerland');
	SELECT count(*) FROM invoices;
	SELECT tenant_guard.flush();
}, extra_params => [ '-U', 'app' ]);
is($node->safe_psql('shop', 'SELECT count(*) FROM tenant_guard.violations'),
	'1', 'the audit trail has a row');
is($node->safe_psql('shop', q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'invoices'::regclass}),
	'app', 'the application role owns its tables');

my $app_conn = $node->connstr('shop') . ' user=app';
my $dir = $node->basedir;

# What rails db:structure:dump runs, without and with --schema.
for my $case ([ 'the whole database', [] ], [ 'schema public', ['--schema=public'] ])
{
	my ($name, $extra) = @$case;
	my $file = "$dir/structure.sql";
	unlink $file;
	command_ok(
		[ 'pg_dump', '--schema-only', '--no-privileges', '--no-owner', @$extra,
			'--file', $file, '-d', $app_conn ],
		"pg_dump --schema-only as the application role succeeds ($name)");
	my $structure = -e $file ? slurp_file($file) : '';
	like($structure, qr/^CREATE TABLE public\.invoices \(/m,
		"the structure dump has the application's CREATE TABLE ($name)");
	unlike($structure, qr/^COPY tenant_guard\./m,
		"and no audit rows ($name)");
}

# The query pg_dump before 18 runs for the extension's configuration
# sequence, also for --schema-only; 18 reads it with pg_get_sequence_data()
# when it dumps data.
my ($ret, $stdout, $stderr) = app_psql('SELECT last_value > 0 FROM tenant_guard.violations_id_seq');
is($ret, 0, 'the application role can read the last value of violations_id_seq') or diag($stderr);

# SELECT on the sequence, nothing more: no role but a superuser moves it.
($ret, $stdout, $stderr) = app_psql(q{SELECT nextval('tenant_guard.violations_id_seq')});
like($stderr, qr/ERROR:  42501: permission denied for sequence violations_id_seq/,
	'nextval on violations_id_seq is refused (42501)');
($ret, $stdout, $stderr) = app_psql(q{SELECT setval('tenant_guard.violations_id_seq', 1)});
like($stderr, qr/ERROR:  42501: permission denied for sequence violations_id_seq/,
	'setval on violations_id_seq is refused (42501)');

# The audit trail stays unreadable without a grant.
for my $relation ('violations', 'violation_counts', 'violation_summary')
{
	($ret, $stdout, $stderr) = app_psql("SELECT count(*) FROM tenant_guard.$relation");
	like($stderr, qr/ERROR:  42501: permission denied for (?:table|view) $relation/,
		"the application role cannot read tenant_guard.$relation (42501)");
}

# A data dump of the application's own schema as the application role (the
# guard is in log mode: its COPY TO is a logged unscoped read).
my $data_file = "$dir/public.sql";
command_ok([ 'pg_dump', '--schema=public', '--file', $data_file, '-d', $app_conn ],
	'pg_dump --schema=public (with data) as the application role succeeds');
my $data = -e $data_file ? slurp_file($data_file) : '';
like($data, qr/^CREATE TABLE public\.invoices \(/m, 'it has the CREATE TABLE');
like($data, qr/^COPY public\.invoices .*\n1\t1\t100\.00\n/m, 'and the rows');
unlike($data, qr/tenant_guard\.violations/, 'and nothing of the audit trail');

# A data dump of the whole database carries the extension's configuration
# tables, the audit trail among them: as the application role it is refused,
# never written without them; leaving their data out is the role's way.
command_fails_like([ 'pg_dump', '--file', "$dir/full.sql", '-d', $app_conn ],
	qr/permission denied for (?:table|sequence) |lack SELECT privilege on the sequence/,
	'a full data dump as the application role is refused');
command_ok(
	[ 'pg_dump', '--exclude-table-data=tenant_guard.*', '--file', "$dir/full.sql", '-d', $app_conn ],
	'a full data dump as the application role without the data of tenant_guard succeeds');
unlike(slurp_file("$dir/full.sql"), qr/^COPY tenant_guard\./m, 'and has no audit rows');

# A superuser's dump and restore keeps the audit rows and the sequence's
# position (a restored trail gets new rows, none refused for a taken id), and
# the privileges: the sequence readable, the rows not.
$node->safe_psql('shop', 'SELECT tenant_guard.flush()');
my $audit_rows = 'SELECT string_agg(id || \' \' || query, E\'\\n\' ORDER BY id) FROM tenant_guard.violations';
my $rows = $node->safe_psql('shop', $audit_rows);
my $last_value = $node->safe_psql('shop', 'SELECT last_value FROM tenant_guard.violations_id_seq');
{
	local $ENV{PGOPTIONS} = '-c tenant_guard.mode=off';
	command_ok([ 'pg_dump', '-Fc', '--file', "$dir/shop.dump", '-d', $node->connstr('shop') ],
		'pg_dump -Fc as a superuser');
	$node->safe_psql('postgres', 'CREATE DATABASE restored OWNER app');
	command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), "$dir/shop.dump" ],
		'pg_restore into a new database');
}
is($node->safe_psql('restored', $audit_rows), $rows, 'the restored database has the audit rows');
is($node->safe_psql('restored', 'SELECT last_value FROM tenant_guard.violations_id_seq'),
	$last_value, 'and the position of violations_id_seq');
$node->safe_psql('restored', 'SELECT tenant_guard.flush()');
my $restored_rows = $node->safe_psql('restored', 'SELECT count(*) FROM tenant_guard.violations');
my $refused = audit_stats($node)->{refused};
$node->safe_psql('restored', 'SELECT count(*) FROM invoices WHERE amount_paid > 0',
	extra_params => [ '-U', 'app' ]);
$node->safe_psql('restored', 'SELECT tenant_guard.flush()');
is($node->safe_psql('restored', 'SELECT count(*) FROM tenant_guard.violations'),
	$restored_rows + 1, 'a new violation in the restored database is written');
is(audit_stats($node)->{refused}, $refused, 'and none refused');
($ret, $stdout, $stderr) = $node->psql('restored', "\\set VERBOSITY verbose\nSELECT count(*) FROM tenant_guard.violations",
	extra_params => [ '-U', 'app' ]);
like($stderr, qr/ERROR:  42501: permission denied for table violations/,
	'the restored audit trail is still unreadable to the application role');
is($node->safe_psql('restored',
		q{SELECT c.relname || ' ' || coalesce(c.relacl::text, 'default') FROM pg_class c
		   WHERE c.oid IN ('tenant_guard.violations'::regclass, 'tenant_guard.violations_id_seq'::regclass)
		   ORDER BY 1}),
	$node->safe_psql('shop',
		q{SELECT c.relname || ' ' || coalesce(c.relacl::text, 'default') FROM pg_class c
		   WHERE c.oid IN ('tenant_guard.violations'::regclass, 'tenant_guard.violations_id_seq'::regclass)
		   ORDER BY 1}),
	'the restored database has the same privileges on the trail');
command_ok(
	[ 'pg_dump', '--schema-only', '--no-privileges', '--no-owner', '--file', "$dir/restored.sql",
		'-d', $node->connstr('restored') . ' user=app' ],
	'pg_dump --schema-only as the application role succeeds in the restored database');

$node->stop;
done_testing();

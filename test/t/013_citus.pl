# tenant_guard on a Citus cluster (doc/citus.md): a coordinator and two
# workers on 127.0.0.1, shared_preload_libraries = 'citus,tenant_guard'.
#
# The coordinator judges every client statement once, whatever path Citus's
# planner takes (fast-path router statements on tables distributed by
# another column, single-shard, reference and Citus-local tables, their
# prepared forms, recursively planned CTEs), and names the distributed
# table and the client's statement; check() agrees.  Workers leave Citus's
# own connections alone only when they carry the cluster secret: the
# application_name alone, or a wrong secret, does not exempt a client, and
# a client connected to a worker is judged as on one node.  Citus's own
# operations (distributing, undistributing and altering tables with rows,
# moving shards, rebalancing, draining) work in enforce mode, while SQL a
# client hands to Citus (run_command_on_workers) is still judged.
#
# Skipped when Citus is not installed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
plan skip_all => "Citus is not installed: no citus.control in $sharedir/extension"
  unless -f "$sharedir/extension/citus.control";

my $secret = 'tap-cluster-secret-0123456789';

# A node of the cluster: Citus first, tenant_guard after it.
sub citus_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 0);
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'citus,tenant_guard'
listen_addresses = '127.0.0.1'
max_worker_processes = 16
citus.shard_count = 4
citus.enable_statistics_collection = off
tenant_guard.cluster_secret = '$secret'
# every violation keeps a row, so that rows per client statement can be counted
tenant_guard.audit_sample_interval = 0
log_line_prefix = '%m [%p] %q%a '
});
	$node->append_conf('pg_hba.conf', 'host all all 127.0.0.1/32 trust');
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus; CREATE EXTENSION tenant_guard;');
	return $node;
}

my $coordinator = citus_node('coordinator');
my @workers = (citus_node('worker1'), citus_node('worker2'));
my @nodes = ($coordinator, @workers);
$coordinator->safe_psql('postgres',
	"SELECT citus_set_coordinator_host('127.0.0.1', " . $coordinator->port . ')');
$coordinator->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $_->port . ')')
  for @workers;

# The tables: distributed by the tenant column, by another column, a
# single-shard table, a reference table (with a placement on the
# coordinator too) and a Citus-local table.
$coordinator->safe_psql(
	'postgres', q{
CREATE TABLE invoices (id int, firm_id int, amount numeric);
SELECT create_distributed_table('invoices', 'firm_id');
INSERT INTO invoices VALUES (1, 1, 10), (2, 2, 20), (3, 3, 30);
CREATE TABLE audit_events (id int, firm_id int);
SELECT create_distributed_table('audit_events', 'id');
INSERT INTO audit_events VALUES (1, 1), (3, 2);
CREATE TABLE notes (id int, firm_id int);
SELECT create_distributed_table('notes', NULL);
INSERT INTO notes VALUES (1, 1);
CREATE TABLE plans (id int, firm_id int);
SELECT create_reference_table('plans');
INSERT INTO plans VALUES (1, 1);
CREATE TABLE memos (id int, firm_id int);
SELECT citus_add_local_table_to_metadata('memos');
INSERT INTO memos VALUES (1, 1);
CREATE TABLE scratch_ref (id int, firm_id int);
SELECT create_reference_table('scratch_ref');
CREATE TABLE scratch_local (id int, firm_id int);
SELECT citus_add_local_table_to_metadata('scratch_local');
});

# A client's psql session on a node; returns (stdout, stderr).
sub client
{
	my ($node, $sql, $conn) = @_;
	my ($out, $err);
	$node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout  => \$out,
		stderr  => \$err,
		on_error_stop => 0,
		connstr => $node->connstr('postgres') . ' ' . ($conn // 'application_name=tap_client'));
	return ($out, $err);
}

# The audit rows of a node since the last reset, after a flush.
sub audit
{
	my ($node, $what) = @_;
	$node->safe_psql('postgres', 'SELECT tenant_guard.flush()');
	return $node->safe_psql('postgres',
		"SELECT $what FROM tenant_guard.violations ORDER BY id");
}

# An aggregate over the audit rows of a node, after a flush.
sub audit_count
{
	my ($node, $what) = @_;
	$node->safe_psql('postgres', 'SELECT tenant_guard.flush()');
	return $node->safe_psql('postgres', "SELECT $what FROM tenant_guard.violations");
}

sub reset_audit
{
	$_->safe_psql('postgres', 'SELECT tenant_guard.flush(); TRUNCATE tenant_guard.violations')
	  for @nodes;
}

# A setting for every node, through postgresql.auto.conf; returns once new
# connections (Citus's among them) see it.
sub set_everywhere
{
	my ($name, $value) = @_;
	for my $node (@nodes)
	{
		$node->safe_psql('postgres', "ALTER SYSTEM SET $name = '$value'; SELECT pg_reload_conf()");
		$node->poll_query_until('postgres', "SELECT current_setting('$name') = '$value'")
		  or die "$name did not become $value";
	}
}

# The node and the name of the shard that holds firm 1's rows of a table.
sub shard_of_firm1
{
	my ($table) = @_;
	my ($shard, $port) = split /\|/,
	  $coordinator->safe_psql('postgres',
		"SELECT shard_name('$table'::regclass, shardid), nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('$table', 1)");
	my ($node) = grep { $_->port == $port } @nodes;
	return ($node, $shard);
}

sub worker_rows
{
	return join(',', map { audit_count($_, 'count(*)') } @workers);
}

#---------------------------------------------------------------------------
# The coordinator judges every client statement once (log mode).
#---------------------------------------------------------------------------
reset_audit();
my @unscoped = (
	'SELECT * FROM audit_events WHERE id = 3',
	'SELECT count(*) FROM notes',
	'UPDATE audit_events SET id = id WHERE id = 3',
	'DELETE FROM notes WHERE id = 99',
	'SELECT * FROM plans',
	'SELECT * FROM memos',
	'SELECT * FROM invoices WHERE id = 3',
	'WITH c AS MATERIALIZED (SELECT * FROM invoices) SELECT count(*) FROM c JOIN audit_events a USING (id) WHERE a.firm_id = 1',
	'TRUNCATE scratch_ref',
	'TRUNCATE scratch_local',
);
client($coordinator, "$_;") for @unscoped;
client($coordinator,
	"PREPARE p(int) AS SELECT * FROM audit_events WHERE id = \$1;\n"
	  . join('', map { "EXECUTE p($_);\n" } 1 .. 7));
client($coordinator,
	"SELECT * FROM audit_events WHERE firm_id = 1 AND id = 1;\n"
	  . "SELECT * FROM invoices WHERE firm_id = 2;\n"
	  . "SELECT count(*) FROM notes WHERE firm_id = 1;\n"
	  . "UPDATE plans SET id = id WHERE firm_id = 1;\n"
	  . "SELECT * FROM memos WHERE firm_id IN (1, 2);\n"
	  . "SELECT * FROM audit_events WHERE id = 3 AND firm_id = 2 + 0;\n");
is( audit($coordinator, "relation || ' ' || kind || ' ' || command || ' ' || application_name || ' ' || query"),
	join("\n",
		'public.audit_events unscoped_read SELECT tap_client SELECT * FROM audit_events WHERE id = 3;',
		'public.notes unscoped_read SELECT tap_client SELECT count(*) FROM notes;',
		'public.audit_events unscoped_write UPDATE tap_client UPDATE audit_events SET id = id WHERE id = 3;',
		'public.notes unscoped_write DELETE tap_client DELETE FROM notes WHERE id = 99;',
		'public.plans unscoped_read SELECT tap_client SELECT * FROM plans;',
		'public.memos unscoped_read SELECT tap_client SELECT * FROM memos;',
		'public.invoices unscoped_read SELECT tap_client SELECT * FROM invoices WHERE id = 3;',
		"public.invoices unscoped_read SELECT tap_client $unscoped[7];",
		'public.scratch_ref unscoped_write TRUNCATE TABLE tap_client TRUNCATE scratch_ref;',
		'public.scratch_local unscoped_write TRUNCATE TABLE tap_client TRUNCATE scratch_local;',
		map { "public.audit_events unscoped_read SELECT tap_client EXECUTE p($_);" } 1 .. 7),
	'log mode: one audit row per client statement on the coordinator, naming the distributed table and the statement (fast path, single-shard, reference, Citus-local, prepared, recursively planned CTE, TRUNCATE of a table with a shard on the coordinator)'
);
is(worker_rows(), '0,0', 'and none on the workers, which leave Citus\'s shard queries alone');

is( $coordinator->safe_psql(
		'postgres', q{
SELECT relation || ' ' || kind FROM tenant_guard.check('SELECT * FROM audit_events WHERE id = 3')
UNION ALL
SELECT relation || ' ' || kind FROM tenant_guard.check('UPDATE notes SET id = 2')
UNION ALL
SELECT relation || ' ' || kind FROM tenant_guard.check('DELETE FROM plans WHERE id = $1')
UNION ALL
SELECT relation || ' ' || kind FROM tenant_guard.check('SELECT * FROM audit_events WHERE id = 3 AND firm_id = $1')
}),
	"public.audit_events unscoped_read\npublic.notes unscoped_write\npublic.plans unscoped_write",
	'check() answers the same for fast-path statements');

#---------------------------------------------------------------------------
# Enforce mode on the coordinator.
#---------------------------------------------------------------------------
my ($out, $err) = client($coordinator,
	"SET tenant_guard.mode = enforce;\nSELECT * FROM audit_events WHERE id = 3;");
like(
	$err,
	qr/: ERROR:  42501: unscoped read of tenant table "public\.audit_events" with no condition on tenant column "firm_id"$/m,
	'enforce: a fast-path SELECT on a table distributed by another column is rejected, naming the distributed table'
);
($out, $err) = client($coordinator,
	"SET tenant_guard.mode = enforce;\nUPDATE notes SET id = id WHERE id = 1;");
like(
	$err,
	qr/: ERROR:  42501: unscoped write to tenant table "public\.notes" with no condition on tenant column "firm_id"$/m,
	'enforce: an UPDATE of a single-shard table is rejected');
($out, $err) = client($coordinator,
	"SET tenant_guard.mode = enforce;\nPREPARE q(int) AS DELETE FROM audit_events WHERE id = \$1;\n"
	  . join('', map { "EXECUTE q($_);\n" } 1 .. 7));
is(scalar(() = $err =~ /: ERROR:  42501: unscoped write to tenant table "public\.audit_events"/mg),
	7, 'enforce: each of 7 executions of a prepared fast-path DELETE is rejected');
($out, $err) = client($coordinator,
	"SET tenant_guard.mode = enforce;\nSELECT count(*) FROM plans WHERE firm_id = 1;\nSELECT count(*) FROM audit_events WHERE id = 1 AND firm_id = 1;");
is("$out|$err", "1\n1|", 'enforce: scoped statements run');
is(audit_count($coordinator, "count(*) FILTER (WHERE action = 'rejected') || ' ' || count(*) FILTER (WHERE relation ~ '_[0-9]+\$')"),
	'9 0', 'one rejected row per statement on the coordinator, none naming a shard');
is(worker_rows(), '0,0', 'and none on the workers');

#---------------------------------------------------------------------------
# Workers: Citus's connections need the secret, clients are judged.
#---------------------------------------------------------------------------
reset_audit();
my ($shard, $port) = split /\|/,
  $coordinator->safe_psql('postgres',
	"SELECT shard_name(table_name, shardid), nodeport FROM citus_shards WHERE table_name = 'invoices'::regclass ORDER BY shardid LIMIT 1");
my ($worker) = grep { $_->port == $port } @workers;
my $as_citus = "application_name='citus_internal gpid=10000012345'";
for my $case (
	[ 'the application_name alone', $as_citus ],
	[ 'a wrong secret', "$as_citus options='-c tenant_guard.cluster_proof=not-the-cluster-secret'" ],
	[ 'the rebalancer\'s application_name', "application_name='citus_rebalancer gpid=10000012345'" ])
{
	($out, $err) = client($worker,
		"SET tenant_guard.mode = enforce;\nSELECT count(*) FROM $shard;", $case->[1]);
	like($err,
		qr/: ERROR:  42501: unscoped read of tenant table "public\.$shard" with no condition on tenant column "firm_id"$/m,
		"worker: $case->[0] does not exempt a client reading a shard");
	($out, $err) = client($worker,
		"SET application_name = 'citus_internal gpid=1';\nSET tenant_guard.mode = enforce;\nSELECT count(*) FROM $shard;",
		$case->[1]);
	like($err, qr/: ERROR:  42501: unscoped read/m,
		"worker: nor does $case->[0] after SET application_name");
}
($out, $err) = client($worker,
	"SET tenant_guard.mode = enforce;\nSELECT count(*) FROM $shard;",
	"$as_citus options='-c tenant_guard.cluster_proof=$secret'");
is("$out|$err", "1|", 'worker: a connection with Citus\'s application_name and the secret is left alone');
($out, $err) = client($worker,
	"SET tenant_guard.mode = enforce;\nSELECT count(*) FROM invoices;");
like($err,
	qr/: ERROR:  42501: unscoped read of tenant table "public\.invoices" with no condition on tenant column "firm_id"$/m,
	'worker: a client querying the distributed table there is judged as on one node');
($out, $err) = client($worker,
	"ALTER SYSTEM SET tenant_guard.cluster_secret = 'too-short';\nALTER SYSTEM SET tenant_guard.cluster_secret = 'has spaces in it, too long';\nSET tenant_guard.cluster_proof = '$secret';");
like($err, qr/invalid value for parameter "tenant_guard\.cluster_secret": "too-short"\nDETAIL:  The secret must be at least 16 characters long\./,
	'worker: a short secret is refused');
like($err, qr/invalid value for parameter "tenant_guard\.cluster_secret": "has spaces in it, too long"\nDETAIL:  The secret may contain letters, digits, "-" and "_" only\./,
	'worker: a secret that PGOPTIONS cannot carry is refused');
like($err, qr/parameter "tenant_guard\.cluster_proof" cannot be set after connection start/,
	'worker: the proof cannot be presented after the connection started');
$worker->safe_psql('postgres', 'CREATE ROLE app LOGIN');
($out, $err) = client($worker, 'SHOW tenant_guard.cluster_secret;', 'user=app');
like($err, qr/must be superuser or have privileges of pg_read_all_settings to examine "tenant_guard\.cluster_secret"/,
	'worker: a non-superuser cannot read the secret');
($out, $err) = client($coordinator,
	"SELECT success, result FROM run_command_on_workers('SELECT count(*) FROM invoices_' || (SELECT min(shardid) FROM pg_dist_shard WHERE logicalrelid = 'invoices'::regclass));");
is( audit($worker,
		"regexp_replace(application_name, '^citus_run_command gpid=[0-9]+\$', 'citus_run_command') || ' ' || relation"),
	"citus_internal gpid=10000012345 public.$shard\n"
	  . "citus_internal gpid=1 public.$shard\n"
	  . "citus_internal gpid=10000012345 public.$shard\n"
	  . "citus_internal gpid=1 public.$shard\n"
	  . "citus_rebalancer gpid=10000012345 public.$shard\n"
	  . "citus_internal gpid=1 public.$shard\n"
	  . "tap_client public.invoices\n"
	  . "citus_run_command public.$shard",
	'worker: the audit rows of the judged connections, SQL passed to run_command_on_workers included'
);

#---------------------------------------------------------------------------
# The registry and amount protection reach every node.
#---------------------------------------------------------------------------
$coordinator->safe_psql(
	'postgres', q{
CREATE TABLE ledger (id int, acct int);
SELECT create_distributed_table('ledger', 'id');
INSERT INTO ledger VALUES (1, 1), (2, 2);
CREATE TABLE lookup (id int, firm_id int);
SELECT create_reference_table('lookup');
INSERT INTO lookup VALUES (1, 1);
SELECT tenant_guard.register_table('ledger', 'acct');
SELECT tenant_guard.exclude_table('lookup');
});
is( join(' / ', map { $_->safe_psql('postgres',
	"SELECT string_agg(relid::text || ':' || coalesce(tenant_column, '-') || ':' || excluded, ', ' ORDER BY relid::text) FROM tenant_guard.registry") } @workers),
	'ledger:acct:false, lookup:-:true / ledger:acct:false, lookup:-:true',
	'register_table and exclude_table on the coordinator reach every worker');
($out, $err) = client($coordinator,
	"SET tenant_guard.mode = enforce;\nSELECT * FROM ledger WHERE id = 1;\nSELECT count(*) FROM lookup;\nSELECT count(*) FROM ledger WHERE id = 1 AND acct = 1;");
like($err,
	qr/: ERROR:  42501: unscoped read of tenant table "public\.ledger" with no condition on tenant column "acct"$/m,
	'coordinator: the registered tenant column counts for a fast-path statement');
is($out, "1\n1", 'coordinator: the excluded reference table and the scoped statement run');
for my $node (@workers)
{
	my %shard = map {
		my $table = $_;
		$table => $coordinator->safe_psql('postgres',
			"SELECT shard_name(table_name, shardid) FROM citus_shards WHERE table_name = '$table'::regclass AND nodeport = "
			  . $node->port . ' ORDER BY shardid LIMIT 1')
	} ('ledger', 'lookup');
	($out, $err) = client($node,
		"SET tenant_guard.mode = enforce;\nSELECT count(*) FROM $shard{ledger};\nSELECT count(*) FROM $shard{lookup};\nSELECT count(*) >= 0 FROM $shard{ledger} WHERE acct = 1;");
	like($err,
		qr/: ERROR:  42501: unscoped read of tenant table "public\.$shard{ledger}" with no condition on tenant column "acct"$/m,
		'worker ' . $node->name . ': a shard of the registered table is judged by its tenant column');
	is($out, "1\nt", 'worker ' . $node->name . ': a shard of the excluded reference table is not a tenant table');
}
$coordinator->safe_psql('postgres', "SELECT tenant_guard.forget_table('lookup')");
is( join(' / ', map { $_->safe_psql('postgres',
	"SELECT string_agg(relid::text, ', ') FROM tenant_guard.registry") } @workers),
	'ledger / ledger', 'forget_table on the coordinator reaches every worker');

reset_audit();
($out, $err) = client($coordinator, q{
SELECT tenant_guard.protect_amount('invoices', 'amount');
SHOW citus.enable_unsafe_triggers;
UPDATE invoices SET amount = amount + 1 WHERE firm_id = 1;
UPDATE invoices SET amount = 5 WHERE firm_id = 1;
});
is($out, "\noff", 'protect_amount on a distributed table works without citus.enable_unsafe_triggers, and leaves it off');
like($err,
	qr/: ERROR:  23TG1: non-atomic update of amount column "amount" of table "public\.invoices"$/m,
	'the protection reaches the shards, and its error names the distributed table');
unlike($err, qr/UPDATE 1|42501/, 'the relative update was not refused');
my $amount_row = "relation || ' ' || kind || ' ' || action || ' ' || command || ' ' || tenant_column || ' ' || application_name || ' ' || query";
is( audit($coordinator, $amount_row),
	'public.invoices non_atomic_amount rejected UPDATE amount tap_client UPDATE invoices SET amount = 5 WHERE firm_id = 1;',
	'enforce: the coordinator records the refused amount update once, naming the distributed table and the client\'s statement');
is(worker_rows(), '0,0', 'enforce: the worker that refused it records nothing');

# Log mode: the worker lets the update through and the coordinator records
# it, also when the client turns off the relay of workers' messages and
# its own client messages.
set_everywhere('tenant_guard.amount_mode', 'log');
reset_audit();
($out, $err) = client($coordinator,
	"SET citus.worker_min_messages = error;\nSET client_min_messages = error;\nUPDATE invoices SET amount = 6 WHERE firm_id = 1;\nSELECT amount FROM invoices WHERE firm_id = 1;");
is("$out|$err", '6|', 'log: the update runs, and the client sees nothing of the relay');
is( audit($coordinator, $amount_row),
	'public.invoices non_atomic_amount logged UPDATE amount tap_client UPDATE invoices SET amount = 6 WHERE firm_id = 1;',
	'log: the coordinator records the violation once, naming the distributed table and the client\'s statement');
is(worker_rows(), '0,0', 'log: the worker records nothing');
($out, $err) = client($coordinator,
	"SET tenant_guard.client_messages = notice;\nUPDATE invoices SET amount = 7 WHERE firm_id = 1;");
like($err, qr/NOTICE:  23TG1: non-atomic update of amount column "amount" of table "public\.invoices"\n/,
	'log: the coordinator\'s client message names the distributed table');
my ($firm1_node, $firm1_shard) = shard_of_firm1('invoices');
($out, $err) = client($firm1_node, "UPDATE $firm1_shard SET amount = 8 WHERE firm_id = 1;", $as_citus);
is( audit($firm1_node, "relation || ' ' || action || ' ' || query"),
	"public.invoices logged UPDATE $firm1_shard SET amount = 8 WHERE firm_id = 1;",
	'log: a client with Citus\'s application_name but no secret is recorded by the worker');
set_everywhere('tenant_guard.amount_mode', 'enforce');
($out, $err) = client($coordinator, q{
SELECT tenant_guard.unprotect_amount('invoices', 'amount');
UPDATE invoices SET amount = 5 WHERE firm_id = 1;
SELECT amount FROM invoices WHERE firm_id = 1;
});
is("$out|$err", "\n5|", 'unprotect_amount reaches the shards too');

#---------------------------------------------------------------------------
# The tenant context on the coordinator: written rows.
#---------------------------------------------------------------------------
reset_audit();
($out, $err) = client($coordinator, q{BEGIN;
SET LOCAL tenant_guard.tenant = '1';
INSERT INTO invoices VALUES (10, 2, 0);
INSERT INTO audit_events VALUES (10, 1), (11, 3);
PREPARE ins(int) AS INSERT INTO notes VALUES (10, $1);
EXECUTE ins(2);
INSERT INTO plans (id) VALUES (10);
UPDATE audit_events SET firm_id = 4 WHERE id = 1 AND firm_id = 1;
INSERT INTO invoices VALUES (11, 1, 0);
INSERT INTO memos VALUES (10, 1);
EXECUTE ins(1);
INSERT INTO audit_events VALUES (12, 1), (13, 1);
UPDATE audit_events SET firm_id = 1 WHERE id = 1 AND firm_id = 1;
COPY audit_events FROM STDIN;
14	1
15	5
\.
SELECT count(*) FROM audit_events WHERE id IN (14, 15) AND firm_id = 1;
ROLLBACK;
});
is($out, '1', 'COPY FROM into a distributed table works with a context set (and is not checked)');
is( audit($coordinator, "relation || ' ' || kind || ' ' || action || ' ' || tenant || ' ' || row_tenant || ' ' || query"),
	join("\n",
		'public.invoices cross_tenant_write logged 1 2 INSERT INTO invoices VALUES (10, 2, 0);',
		'public.audit_events cross_tenant_write logged 1 3 INSERT INTO audit_events VALUES (10, 1), (11, 3);',
		'public.notes cross_tenant_write logged 1 2 EXECUTE ins(2);',
		'public.plans cross_tenant_write logged 1 null INSERT INTO plans (id) VALUES (10);',
		'public.audit_events cross_tenant_write logged 1 4 UPDATE audit_events SET firm_id = 4 WHERE id = 1 AND firm_id = 1;'),
	'log: rows written into Citus tables outside the context are recorded once on the coordinator, naming the distributed table (VALUES, multi-row VALUES, parameters, a missing column, a reference table with a shard on the coordinator, UPDATE of the tenant column)')
or diag($err);
is(worker_rows(), '0,0', 'log: and nothing on the workers');
($out, $err) = client($coordinator, q{SET tenant_guard.mode = enforce;
SET tenant_guard.tenant = '1';
INSERT INTO invoices VALUES (12, 2, 0);
INSERT INTO audit_events VALUES (12, 1), (13, 3);
UPDATE audit_events SET firm_id = 4 WHERE id = 1 AND firm_id = 1;
RESET tenant_guard.tenant;
SELECT count(*) FROM invoices WHERE id = 12 AND firm_id = 2;
SELECT count(*) FROM audit_events WHERE id IN (12, 13) AND firm_id = 1;
});
is(scalar(() = $err =~ /: ERROR:  42501: cross-tenant write to tenant table "public\.(invoices|audit_events)"$/mg),
	3, 'enforce: each write outside the context is refused, naming the distributed table');
is($out, "0\n0", 'enforce: and nothing was written');

#---------------------------------------------------------------------------
# The tenant context: unscoped UPDATE and DELETE verified where the shards are.
#---------------------------------------------------------------------------
reset_audit();
($out, $err) = client($coordinator, q{BEGIN;
SET LOCAL tenant_guard.tenant = '1';
UPDATE invoices SET amount = amount WHERE id IN (2, 3);
DELETE FROM audit_events WHERE id = 3;
UPDATE invoices SET amount = amount WHERE id = 1;
UPDATE plans SET id = id WHERE id = 1;
PREPARE upd(int) AS UPDATE notes SET id = id WHERE id = $1;
EXECUTE upd(1);
SET LOCAL tenant_guard.tenant = '2';
UPDATE plans SET id = id WHERE id = 1;
SELECT count(*) FROM audit_events WHERE id = 3 AND firm_id = 2;
ROLLBACK;
});
is($out, '0', 'log: an unscoped DELETE of another tenant\'s row with a context set runs');
is( audit($coordinator, "relation || ' ' || kind || ' ' || action || ' ' || tenant || ' ' || CASE WHEN query LIKE 'UPDATE%' AND row_tenant IN ('2', '3') THEN '2|3' ELSE row_tenant END || ' ' || query"),
	join("\n",
		'public.invoices cross_tenant_write logged 1 2|3 UPDATE invoices SET amount = amount WHERE id IN (2, 3);',
		'public.audit_events cross_tenant_write logged 1 2 DELETE FROM audit_events WHERE id = 3;',
		'public.plans cross_tenant_write logged 2 1 UPDATE plans SET id = id WHERE id = 1;'),
	'log: unscoped UPDATE and DELETE of Citus tables are verified row by row where the shards are, and recorded once on the coordinator with the distributed table and the client\'s statement (a reference table\'s too, with a shard on every node)')
  or diag($err);
is(worker_rows(), '0,0', 'log: and nothing on the workers');
($out, $err) = client($coordinator, q{SET tenant_guard.mode = enforce;
SET tenant_guard.tenant = '1';
UPDATE invoices SET amount = 0 WHERE id = 3;
DELETE FROM audit_events WHERE id = 3;
UPDATE invoices SET amount = amount WHERE id = 1;
RESET tenant_guard.tenant;
SELECT amount FROM invoices WHERE id = 3 AND firm_id = 3;
UPDATE invoices SET amount = amount WHERE id = 1;
});
like($err, qr/: ERROR:  42501: cross-tenant write to tenant table "public\.invoices"\nDETAIL:  Tenant column "firm_id" of a row the statement updates or deletes is 3; tenant_guard\.tenant is "1"\./,
	'enforce: an unscoped UPDATE of another tenant\'s row is refused, naming the distributed table');
like($err, qr/: ERROR:  42501: cross-tenant write to tenant table "public\.audit_events"/,
	'enforce: and so is an unscoped DELETE');
like($err, qr/: ERROR:  42501: unscoped write to tenant table "public\.invoices"/,
	'enforce: without a context the unscoped rule applies');
is($out, '30', 'enforce: the refused UPDATE changed nothing');
is(scalar(() = $err =~ /ERROR/g), 3, 'enforce: the UPDATE of the tenant\'s own row runs');

# Single-table SELECTs: the condition carries the context in force at
# planning, and a new context makes cached plans again.
reset_audit();
($out, $err) = client($coordinator, q{BEGIN;
SET LOCAL tenant_guard.tenant = '1';
SELECT id FROM invoices WHERE id = 3;
SELECT count(*) FROM audit_events WHERE id IN (1, 3);
SELECT id FROM invoices WHERE id = 1;
SELECT firm_id FROM plans WHERE id = 1;
SELECT count(*) FROM invoices WHERE firm_id = 2;
SELECT count(*) FROM audit_events WHERE id = 3 AND firm_id = 2;
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE sel(int) AS SELECT firm_id FROM audit_events WHERE id = $1;
EXECUTE sel(1);
SET LOCAL tenant_guard.tenant = '2';
EXECUTE sel(3);
EXECUTE sel(1);
COMMIT;
});
is($out, join("\n", 3, 2, 1, 1, 1, 1, 1, 2, 1), 'log: single-table SELECTs with a context set run');
is( audit($coordinator, "relation || ' ' || kind || ' ' || action || ' ' || tenant || ' ' || row_tenant || ' ' || query"),
	join("\n",
		'public.invoices cross_tenant_read logged 1 3 SELECT id FROM invoices WHERE id = 3;',
		'public.audit_events cross_tenant_read logged 1 2 SELECT count(*) FROM audit_events WHERE id IN (1, 3);',
		'public.invoices cross_tenant_read logged 1 2 SELECT count(*) FROM invoices WHERE firm_id = 2;',
		'public.audit_events cross_tenant_read logged 1 2 SELECT count(*) FROM audit_events WHERE id = 3 AND firm_id = 2;',
		'public.audit_events cross_tenant_read logged 2 1 EXECUTE sel(1);'),
	'log: unscoped ones are verified where the shards are against the context in force, once per statement, on the coordinator (a cached plan is made again for a new context); fast-path scoped ones are checked by value')
  or diag($err);
is(worker_rows(), '0,0', 'log: and nothing on the workers');
($out, $err) = client($coordinator, q{SET tenant_guard.mode = enforce;
SET tenant_guard.tenant = '1';
SELECT id FROM invoices WHERE id = 3;
SELECT id FROM invoices WHERE id = 1;
});
like($err, qr/: ERROR:  42501: cross-tenant read of tenant table "public\.invoices"\nDETAIL:  Tenant column "firm_id" of a row the statement reads is 3; tenant_guard\.tenant is "1"\./,
	'enforce: an unscoped SELECT of another tenant\'s row is refused');
is($out, '1', 'enforce: the SELECT of the tenant\'s own row runs');

#---------------------------------------------------------------------------
# Citus's own operations in enforce mode.
#---------------------------------------------------------------------------
reset_audit();
for my $node (@nodes)
{
	$node->safe_psql('postgres', 'ALTER SYSTEM SET tenant_guard.mode = enforce; SELECT pg_reload_conf()');
}
my $w1 = $workers[0]->port;
my $w2 = $workers[1]->port;
for my $op (
	[ 'create_distributed_table on a table with rows',
		"CREATE TABLE d1 (id int, firm_id int); INSERT INTO d1 VALUES (1, 1), (2, 2); SELECT create_distributed_table('d1', 'firm_id')" ],
	[ 'create_distributed_table on an empty table',
		"CREATE TABLE d2 (id int, firm_id int); SELECT create_distributed_table('d2', 'firm_id', colocate_with := 'none')" ],
	[ 'create_reference_table on a table with rows',
		"CREATE TABLE r1 (id int, firm_id int); INSERT INTO r1 VALUES (1, 1); SELECT create_reference_table('r1')" ],
	[ 'alter_distributed_table',
		"SELECT alter_distributed_table('d2', shard_count := 2)" ],
	[ 'undistribute_table',
		"INSERT INTO d2 VALUES (5, 5); SELECT undistribute_table('d2')" ],
	[ 'citus_move_shard_placement',
		"SELECT citus_move_shard_placement((SELECT shardid FROM citus_shards WHERE table_name = 'd1'::regclass AND nodeport = $w1 ORDER BY shardid LIMIT 1), '127.0.0.1', $w1, '127.0.0.1', $w2, shard_transfer_mode := 'block_writes')" ],
	[ 'rebalance_table_shards',
		"SELECT rebalance_table_shards(shard_transfer_mode := 'block_writes')" ],
	[ 'citus_drain_node',
		"SELECT citus_drain_node('127.0.0.1', $w2, shard_transfer_mode := 'block_writes')" ],
	[ 'citus_rebalance_start',
		"SELECT citus_set_node_property('127.0.0.1', $w2, 'shouldhaveshards', true); SELECT citus_rebalance_start(shard_transfer_mode := 'block_writes') IS NOT NULL; SELECT citus_rebalance_wait()" ])
{
	my ($ret, $o, $e) = $coordinator->psql('postgres', $op->[1], on_error_stop => 1);
	is($ret, 0, "enforce: $op->[0] works") or diag($e);
}
is( $coordinator->safe_psql('postgres',
		"SELECT string_agg(state::text, ',') FROM pg_dist_background_job"),
	'finished', 'the background rebalance job finished');
is( $coordinator->safe_psql('postgres',
		"SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'd1'::regclass"),
	'2', 'the shards of d1 are spread over both workers again');
is( join(',', map { audit_count($_, 'count(*)') } @nodes),
	'0,0,0', 'and no node recorded a violation for Citus\'s operations');
($out, $err) = client($coordinator,
	"CREATE TABLE d3 (id int, firm_id int);\nSELECT create_distributed_table('d3', 'firm_id') FROM invoices;");
like($err,
	qr/: ERROR:  42501: unscoped read of tenant table "public\.invoices"/m,
	'enforce: a statement that calls a Citus operation is still judged itself');
($out, $err) = client($coordinator,
	"BEGIN;\nSELECT create_intermediate_result('r', 'SELECT * FROM invoices');\nROLLBACK;");
like($err,
	qr/: ERROR:  42501: unscoped read of tenant table "public\.invoices"/m,
	'enforce: SQL text Citus plans for a client (create_intermediate_result) is judged on the coordinator');
($out, $err) = client($coordinator,
	"SELECT bool_and(NOT success) AND bool_and(result ~ 'unscoped read of tenant table') FROM run_command_on_workers('SELECT count(*) FROM invoices');");
is($out, 't', 'enforce: SQL passed to run_command_on_workers is judged on the workers');
($out, $err) = client($coordinator,
	"SELECT count(*), bool_and(NOT success AND result ~ 'unscoped read of tenant table') FROM run_command_on_shards('invoices', \$x\$DO \$do\$ BEGIN PERFORM set_config('application_name', 'citus_internal gpid=1', false); PERFORM count(*) FROM %s; END \$do\$ \$x\$);");
is($out, '4|t', 'enforce: also when it sets a Citus application_name first');

$_->stop for @nodes;
done_testing();

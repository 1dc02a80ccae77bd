# tenant_guard_report against a cluster with known violations in two
# databases: the exact content of the text, markdown and json reports,
# --all-databases, --since, the baseline gate both ways, bad input (one line
# on stderr, exit status 2), call sites recorded by a later version of the
# trail, hostile trail content, the break-glass section (statements run under
# tenant_guard.break_glass() are listed apart and never counted as
# violations), and the html page opened in a headless chromium: charts drawn,
# hostile text shown as text, no console error.
use strict;
use warnings;
use Compress::Zlib qw(uncompress);
use File::Temp ();
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TenantGuardNode;

# The program make install put next to the server (PATH starts with its bindir).
my $bindir = `pg_config --bindir`;
chomp $bindir;
my $prog = "$bindir/tenant_guard_report";
ok(-x $prog, "tenant_guard_report is installed in $bindir");

my $node = new_guarded_node('report', "tenant_guard.mode = 'log'");
my $hostile = q{</script><img src=x onerror=alert(1)> a|b `x`};

$node->safe_psql('postgres', "CREATE DATABASE second; CREATE DATABASE plain;
	CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;");
for my $db ('postgres', 'second')
{
	$node->safe_psql($db, 'CREATE EXTENSION IF NOT EXISTS tenant_guard');
	$node->safe_psql($db, 'CREATE TABLE invoices (id int, firm_id int, note text);
		CREATE TABLE clients (id int, firm_id int);
		GRANT ALL ON invoices, clients TO PUBLIC;');
}

# Run statements as a user with an application name, then write the trail.
sub violate
{
	my ($db, $user, $app, @statements) = @_;
	my $sql = "SET application_name = '$app';\n" . join(";\n", @statements) . ";\n";
	$node->safe_psql($db, $sql, extra_params => [ '-U', $user ]);
	$node->safe_psql($db, 'SELECT tenant_guard.flush()');
}

# postgres: four shapes with the counts 4, 3, 2, 1; second: one, 5 times.
violate('postgres', 'alice', 'billing',
	(map { "SELECT * FROM invoices WHERE id = $_" } 1 .. 4),
	'SELECT count(*) FROM clients', 'SELECT count(*) FROM clients',
	"UPDATE invoices SET note = 'paid' WHERE id = 3",
	"UPDATE invoices SET note = 'paid' WHERE id = 4");
violate('postgres', 'bob', 'web|hooks', 'SELECT count(*) FROM clients',
	"SELECT * FROM invoices WHERE note = '$hostile'");
violate('second', 'bob', 'cron', map { "DELETE FROM clients WHERE id = $_" } 1 .. 5);

# Query ids depend on OIDs: the outputs name them by statement instead.
my %qid_name;
sub learn_query_ids
{
	for my $db (@_)
	{
		for my $row (split /\n/,
			$node->safe_psql($db,
				"SELECT DISTINCT query_id, query FROM tenant_guard.violations WHERE query_id IS NOT NULL"))
		{
			my ($id, $query) = split /\|/, $row, 2;
			my $name =
				$query =~ /WHERE id = \d/ && $query =~ /^SELECT/ ? 'by_id'
			  : $query =~ /count/ ? 'count_clients'
			  : $query =~ /onerror/ ? 'hostile'
			  : $query =~ /^UPDATE/ ? 'update'
			  : $query =~ /^DELETE/ ? 'delete'
			  : 'other';
			$qid_name{$id} = "<$name>";
		}
	}
}
learn_query_ids('postgres', 'second');

# With the default sampling, a repeat of a shape (same role and application)
# within a second keeps no row of its own and is counted instead: the
# report must add both up.
is($node->safe_psql('postgres', "SELECT (SELECT count(*) FROM tenant_guard.violations)
	|| ' ' || (SELECT sum(count) FROM tenant_guard.violation_counts)
	|| ' ' || (SELECT string_agg(user_name || ':' || n, ',' ORDER BY user_name)
				 FROM (SELECT user_name, sum(count) AS n FROM tenant_guard.violation_counts
						GROUP BY user_name) c)"),
	'5 5 alice:5', 'the fixture: 5 detail rows, 5 counted repeats (all of alice)');

# Run the program; returns its exit status, stdout and stderr.
sub report
{
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ $prog, '-h', $node->host, '-p', $node->port, @_ ],
		'>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stdout, $stderr);
}

# A json report without what changes from one run to the next.
sub stable_json
{
	my ($json) = decode_json((report(@_))[1]);
	delete $json->{$_} for 'generated_at', 'break_glass';
	return $json;
}

# Break glass: a maintenance role reads and writes across tenants for a
# month-end run, in one transaction: 3 statements, 4 audit rows (the join
# has one per table).  Not violations: the report lists them apart.
my $before = stable_json('-d', 'postgres', '--format=json');
$node->safe_psql('postgres', 'CREATE ROLE maint LOGIN;
	GRANT EXECUTE ON FUNCTION tenant_guard.break_glass(text) TO maint');
$node->safe_psql('postgres', q{SET application_name = 'month-end';
	BEGIN;
	SELECT tenant_guard.break_glass('ticket 77: month-end billing run');
	SELECT count(*) FROM invoices;
	SELECT count(*) FROM invoices i JOIN clients c ON c.id = i.id;
	UPDATE invoices SET note = 'billed' WHERE id = 1;
	COMMIT;}, extra_params => [ '-U', 'maint' ]);
$node->safe_psql('postgres', 'SELECT tenant_guard.flush()');
is($node->safe_psql('postgres', q{SELECT count(*) || ' ' || string_agg(DISTINCT reason, ',')
	FROM tenant_guard.violations WHERE kind = 'break_glass' AND user_name = 'maint'}),
	'4 ticket 77: month-end billing run', 'the fixture: 4 break-glass rows with their reason');
is_deeply(stable_json('-d', 'postgres', '--format=json'), $before,
	'break-glass rows change no violation count, shape, user, application or timeline point');

# Times, query ids and backend pids replaced by stable names.
sub normalize
{
	my ($text) = @_;
	$text =~ s/\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\dZ?/TIME/g;
	$text =~ s/(backend pid |\| local \| )\d+/$1PID/g;
	$text =~ s{(?<![\d-])(-?\d{5,})(?!\d)}{$qid_name{$1} // $1}ge;
	return $text;
}

# A parsed JSON report as canonical text: one line per key, one per array element.
sub json_lines
{
	my ($json) = @_;
	my $encoder = JSON::PP->new->canonical;
	my $text = '';
	for my $key (sort keys %$json)
	{
		my $value = $json->{$key};
		if (ref $value eq 'ARRAY' && @$value)
		{
			$text .= "$key:\n";
			$text .= '  ' . $encoder->encode($_) . "\n" for @$value;
		}
		else
		{
			$text .= "$key: " . $encoder->allow_nonref->encode($value) . "\n";
		}
	}
	return $text;
}

# --- text -------------------------------------------------------------------
my ($rc, $out, $err) = report('-d', 'postgres');
is($rc, 0, 'text report: exit status 0');
is($err, '', 'text report: nothing on stderr');
is(normalize($out), <<'EOT', 'text report: exact content');
tenant_guard report: 10 violations in 4 statement shapes
database: postgres
first seen TIME UTC, last seen TIME UTC
generated TIME UTC

By kind
      count  shapes  kind
          8       3  unscoped_read
          2       1  unscoped_write

Relations
      count  shapes  relation
          7       3  public.invoices
          3       1  public.clients

Statement shapes
   1.         4  unscoped_read on public.invoices, query_id <by_id>
                 first TIME, last TIME
                 users: alice; applications: billing
                 SELECT * FROM invoices WHERE id = 1;
   2.         3  unscoped_read on public.clients, query_id <count_clients>
                 first TIME, last TIME
                 users: alice, bob; applications: billing, web|hooks
                 SELECT count(*) FROM clients;
   3.         2  unscoped_write on public.invoices, query_id <update>
                 first TIME, last TIME
                 users: alice; applications: billing
                 UPDATE invoices SET note = 'paid' WHERE id = 3;
   4.         1  unscoped_read on public.invoices, query_id <hostile>
                 first TIME, last TIME
                 users: bob; applications: web|hooks
                 SELECT * FROM invoices WHERE note = '</script><img sr...onerror=alert(1)> a|b `x`';

Call sites

Users
      count  user
          8  alice
          2  bob

Applications
      count  application
          8  billing
          2  web|hooks

Break glass: 1 use, not counted as violations
   1.  user maint, application month-end, client local, backend pid PID
       first TIME, last TIME: 3 statements (SELECT, UPDATE), 4 rows
       reason: ticket 77: month-end billing run
       tables: public.clients, public.invoices
EOT
ok(!grep({ length($_) > 100 } split /\n/, $out), 'text report: every line fits 100 columns');

# --- markdown ---------------------------------------------------------------
($rc, $out, $err) = report('-d', 'postgres', '--format=markdown');
is($rc, 0, 'markdown report: exit status 0');
is(normalize($out), <<'EOT', 'markdown report: exact content, the pipe and backticks escaped');
# tenant_guard report

| | |
|---|---|
| violations | 10 |
| statement shapes | 4 |
| database | postgres |
| first seen | TIME UTC |
| last seen | TIME UTC |
| generated | TIME UTC |

## By kind

| kind | count | shapes |
|---|---:|---:|
| unscoped\_read | 8 | 3 |
| unscoped\_write | 2 | 1 |

## Relations

| relation | count | shapes |
|---|---:|---:|
| public.invoices | 7 | 3 |
| public.clients | 3 | 1 |

## Statement shapes

| # | kind | relation | query_id | count | first seen | last seen | users | applications | latest statement |
|---:|---|---|---|---:|---|---|---|---|---|
| 1 | unscoped\_read | public.invoices | <by_id> | 4 | TIME | TIME | alice | billing | SELECT \* FROM invoices WHERE id = 1; |
| 2 | unscoped\_read | public.clients | <count_clients> | 3 | TIME | TIME | alice, bob | billing, web\|hooks | SELECT count(\*) FROM clients; |
| 3 | unscoped\_write | public.invoices | <update> | 2 | TIME | TIME | alice | billing | UPDATE invoices SET note = 'paid' WHERE id = 3; |
| 4 | unscoped\_read | public.invoices | <hostile> | 1 | TIME | TIME | bob | web\|hooks | SELECT \* FROM invoices WHERE note = '\</script\>\<img src=x onerror=alert(1)\> a\|b \`x\`'; |

## Call sites

| # | call site | kind | relation | count | first seen | last seen |
|---:|---|---|---|---:|---|---|

## Users

| user | count |
|---|---:|
| alice | 8 |
| bob | 2 |

## Applications

| application | count |
|---|---:|
| billing | 8 |
| web\|hooks | 2 |

## Break glass

Uses of `tenant_guard.break_glass()`, oldest first; not counted as violations.

| # | user | application | client | backend pid | first seen | last seen | reason | tables | commands | statements | rows |
|---:|---|---|---|---:|---|---|---|---|---|---:|---:|
| 1 | maint | month-end | local | PID | TIME | TIME | ticket 77: month-end billing run | public.clients, public.invoices | SELECT, UPDATE | 3 | 4 |
EOT

# --- json -------------------------------------------------------------------
($rc, $out, $err) = report('-d', 'postgres', '--format', 'json');
is($rc, 0, 'json report: exit status 0');
my $json = decode_json($out);
my $timeline = delete $json->{timeline};
for my $use (@{ $json->{break_glass} })
{
	$use->{backend_pid} = 'PID' if $use->{backend_pid} =~ /^[1-9]\d*$/;
}
is(normalize(json_lines($json)), <<'EOT', 'json report: exact structure, every key');
applications:
  {"application":"billing","count":8}
  {"application":"web|hooks","count":2}
break_glass:
  {"application":"month-end","backend_pid":"PID","client_addr":null,"commands":["SELECT","UPDATE"],"database":"postgres","first_seen":"TIME","last_seen":"TIME","reason":"ticket 77: month-end billing run","rows":4,"statements":3,"tables":["public.clients","public.invoices"],"user":"maint"}
by_kind:
  {"count":8,"kind":"unscoped_read","shapes":3}
  {"count":2,"kind":"unscoped_write","shapes":1}
by_relation:
  {"count":7,"database":"postgres","relation":"public.invoices","shapes":3}
  {"count":3,"database":"postgres","relation":"public.clients","shapes":1}
call_sites: []
call_sites_recorded: true
databases:
  "postgres"
format_version: 1
generated_at: "TIME"
since: null
top_shapes:
  {"applications":["billing"],"count":4,"database":"postgres","first_seen":"TIME","kind":"unscoped_read","last_seen":"TIME","query_id":"<by_id>","relation":"public.invoices","sample_query":"SELECT * FROM invoices WHERE id = 1;","users":["alice"]}
  {"applications":["billing","web|hooks"],"count":3,"database":"postgres","first_seen":"TIME","kind":"unscoped_read","last_seen":"TIME","query_id":"<count_clients>","relation":"public.clients","sample_query":"SELECT count(*) FROM clients;","users":["alice","bob"]}
  {"applications":["billing"],"count":2,"database":"postgres","first_seen":"TIME","kind":"unscoped_write","last_seen":"TIME","query_id":"<update>","relation":"public.invoices","sample_query":"UPDATE invoices SET note = 'paid' WHERE id = 3;","users":["alice"]}
  {"applications":["web|hooks"],"count":1,"database":"postgres","first_seen":"TIME","kind":"unscoped_read","last_seen":"TIME","query_id":"<hostile>","relation":"public.invoices","sample_query":"SELECT * FROM invoices WHERE note = '</script><img src=x onerror=alert(1)> a|b `x`';","users":["bob"]}
totals: {"first_seen":"TIME","last_seen":"TIME","shapes":4,"violations":10}
users:
  {"count":8,"user":"alice"}
  {"count":2,"user":"bob"}
EOT
is($timeline->{bucket}, 'hour', 'json timeline: hourly buckets over a short range');
my %by_kind;
$by_kind{ $_->{kind} } += $_->{count} for @{ $timeline->{points} };
is_deeply(\%by_kind, { unscoped_read => 8, unscoped_write => 2 },
	'json timeline: the points add up to the totals by kind');

# --- --all-databases --------------------------------------------------------
($rc, $out, $err) = report('-d', 'postgres', '--all-databases');
is($rc, 0, '--all-databases: exit status 0');
is($err, <<'EOT', '--all-databases: the databases without the extension are named on stderr');
tenant_guard_report: skipping database "plain": it does not have the tenant_guard extension
tenant_guard_report: skipping database "template1": it does not have the tenant_guard extension
EOT
is(normalize($out), <<'EOT', '--all-databases: both databases merged, relations named with their database');
tenant_guard report: 15 violations in 5 statement shapes
databases: postgres, second
first seen TIME UTC, last seen TIME UTC
generated TIME UTC

By kind
      count  shapes  kind
          8       3  unscoped_read
          7       2  unscoped_write

Relations
      count  shapes  relation
          7       3  postgres:public.invoices
          5       1  second:public.clients
          3       1  postgres:public.clients

Statement shapes
   1.         5  unscoped_write on second:public.clients, query_id <delete>
                 first TIME, last TIME
                 users: bob; applications: cron
                 DELETE FROM clients WHERE id = 1;
   2.         4  unscoped_read on postgres:public.invoices, query_id <by_id>
                 first TIME, last TIME
                 users: alice; applications: billing
                 SELECT * FROM invoices WHERE id = 1;
   3.         3  unscoped_read on postgres:public.clients, query_id <count_clients>
                 first TIME, last TIME
                 users: alice, bob; applications: billing, web|hooks
                 SELECT count(*) FROM clients;
   4.         2  unscoped_write on postgres:public.invoices, query_id <update>
                 first TIME, last TIME
                 users: alice; applications: billing
                 UPDATE invoices SET note = 'paid' WHERE id = 3;
   5.         1  unscoped_read on postgres:public.invoices, query_id <hostile>
                 first TIME, last TIME
                 users: bob; applications: web|hooks
                 SELECT * FROM invoices WHERE note = '</script><img sr...onerror=alert(1)> a|b `x`';

Call sites

Users
      count  user
          8  alice
          7  bob

Applications
      count  application
          8  billing
          5  cron
          2  web|hooks

Break glass: 1 use, not counted as violations
   1.  user maint, application month-end, client local, backend pid PID
       first TIME, last TIME: 3 statements (SELECT, UPDATE), 4 rows
       reason: ticket 77: month-end billing run
       tables: postgres:public.clients, postgres:public.invoices
EOT
($rc, $out, $err) = report('--all-databases', '--format=json', '--top=2');
my $all = decode_json($out);
is_deeply(
	[ $all->{databases}, $all->{totals}{violations}, $all->{by_kind}, $all->{users} ],
	[
		[ 'postgres', 'second' ], 15,
		[
			{ kind => 'unscoped_read',  count => 8, shapes => 3 },
			{ kind => 'unscoped_write', count => 7, shapes => 2 }
		],
		[ { user => 'alice', count => 8 }, { user => 'bob', count => 7 } ]
	],
	'--all-databases json: both databases, totals and users summed over them');
is_deeply([ map { "$_->{database} $_->{kind} $_->{count}" } @{ $all->{top_shapes} } ],
	[ 'second unscoped_write 5', 'postgres unscoped_read 4' ],
	'--top 2: the two largest shapes of the cluster, each with its database');

# --- the html page, in a headless browser -------------------------------------
my $html = PostgreSQL::Test::Utils::tempdir() . '/report.html';
($rc, $out, $err) = report('--all-databases', '--format=html', '-o', $html);
is($rc, 0, 'html report written with --output');
browser_checks($html, scalar @{ $all->{timeline}{points} });

# --- --since ----------------------------------------------------------------
# Six violations of 30 days ago, without a query id (so named by their text).
$node->safe_psql('postgres', q{
	INSERT INTO tenant_guard.violations (occurred_at, database_name, user_name, backend_pid,
		relation, kind, action, query)
	SELECT now() - interval '30 days', 'postgres', 'carol', 1, 'public.invoices',
		'unscoped_read', 'logged', 'SELECT * FROM invoices  -- old'
	  FROM generate_series(1, 6)});
# ... and an old break-glass use, which --since leaves out as well.
$node->safe_psql('postgres', q{
	INSERT INTO tenant_guard.violations (occurred_at, database_name, user_name, backend_pid,
		relation, kind, action, command, query, reason)
	VALUES (now() - interval '30 days', 'postgres', 'maint', 2, 'public.clients',
		'break_glass', 'logged', 'DELETE', 'DELETE FROM clients', 'ticket 12: old cleanup')});
($rc, $out) = report('-d', 'postgres', '--format=json');
$json = decode_json($out);
is_deeply([ map { "$_->{reason}: $_->{statements} $_->{rows}" } @{ $json->{break_glass} } ],
	[ 'ticket 12: old cleanup: 1 1', 'ticket 77: month-end billing run: 3 4' ],
	'without --since both break-glass uses are listed, oldest first');
is_deeply([ $json->{totals}{violations}, $json->{top_shapes}[0]{count},
		$json->{top_shapes}[0]{query_id}, $json->{timeline}{bucket} ],
	[ 16, 6, undef, 'day' ],
	'without --since the old violations count, and a month of trail is drawn by the day');
for my $since ('7 days', '2 hours',
	$node->safe_psql('postgres', "SELECT (now() - interval '1 day')::date"))
{
	($rc, $out) = report('-d', 'postgres', '--format=json', '--since', $since);
	$json = decode_json($out);
	is_deeply([ $json->{totals}{violations}, scalar @{ $json->{top_shapes} }, $json->{timeline}{bucket} ],
		[ 10, 4, 'hour' ], "--since '$since' leaves the old violations out");
	is_deeply([ map { $_->{reason} } @{ $json->{break_glass} } ],
		[ 'ticket 77: month-end billing run' ], "--since '$since' leaves the old break-glass use out");
}
like($json->{since}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'the json report says since when');

# --- the baseline gate ------------------------------------------------------
my $dir = PostgreSQL::Test::Utils::tempdir();
($rc, $out, $err) = report('-d', 'postgres', '--write-baseline', "$dir/known.txt");
is($rc, 0, '--write-baseline: exit status 0');
is($err, qq{tenant_guard_report: wrote 5 known violations to "$dir/known.txt"\n},
	'--write-baseline: says how many');
is($out, '', '--write-baseline alone prints no report');
# The file is sorted by its raw lines; which of two query ids sorts first
# depends on the ids, so the content is compared line by line, in any order.
my @raw_lines = grep { !/^#/ } split /\n/, slurp_file("$dir/known.txt");
is_deeply(\@raw_lines, [ sort @raw_lines ], 'the baseline is sorted');
sub sorted_lines { return join("\n", sort split /\n/, shift) . "\n"; }
is(sorted_lines(normalize(slurp_file("$dir/known.txt"))), sorted_lines(<<'EOT'), 'the baseline: one violation per line');
# tenant_guard_report baseline: known violations, one per line, sorted
# kind<TAB>relation<TAB>call_site=JSON, query_id=N or query=TEXT<TAB># latest statement
unscoped_read	public.clients	query_id=<count_clients>	# SELECT count(*) FROM clients;
unscoped_read	public.invoices	query=SELECT * FROM invoices -- old	# SELECT * FROM invoices -- old
unscoped_read	public.invoices	query_id=<by_id>	# SELECT * FROM invoices WHERE id = 1;
unscoped_read	public.invoices	query_id=<hostile>	# SELECT * FROM invoices WHERE note = '</script><img src=x onerror=alert(1)> a|b `x`';
unscoped_write	public.invoices	query_id=<update>	# UPDATE invoices SET note = 'paid' WHERE id = 3;
EOT
($rc, $out, $err) = report('-d', 'postgres', '--baseline', "$dir/known.txt");
is($rc, 0, '--baseline with nothing new: exit status 0');
is($out, '', 'and nothing listed');
is($err, qq{tenant_guard_report: no new violations (5 known in "$dir/known.txt")\n},
	'and one line says so');

violate('postgres', 'alice', 'billing', 'SELECT * FROM clients WHERE id = 5');
learn_query_ids('postgres');
($rc, $out, $err) = report('-d', 'postgres', '--baseline', "$dir/known.txt");
is($rc, 1, '--baseline with a new violation: exit status 1');
is(normalize($out),
	"unscoped_read\tpublic.clients\tquery_id=<by_id>\t# SELECT * FROM clients WHERE id = 5;\n",
	'exactly the new violation is listed, in the baseline format');
is($err, qq{tenant_guard_report: 1 new violation not in the baseline "$dir/known.txt"\n},
	'and one line counts it');
($rc, $out, $err) = report('-d', 'postgres', '--baseline', "$dir/known.txt", '--since', '1 hour');
is($rc, 1, '--since and --baseline together: the new violation is still new');

append_to_file("$dir/broken.txt", "# known\n\nunscoped_read public.invoices query_id=1\n");
($rc, $out, $err) = report('-d', 'postgres', '--baseline', "$dir/broken.txt");
is($rc, 2, 'a malformed baseline: exit status 2');
is($err,
	qq{tenant_guard_report: error: baseline "$dir/broken.txt" line 3: expected kind, relation and statement shape separated by tabs\n},
	'one line naming the line');
append_to_file("$dir/broken2.txt", "unscoped_read\tpublic.invoices\tquery_id=12x\n");
($rc, $out, $err) = report('-d', 'postgres', '--baseline', "$dir/broken2.txt");
is_deeply([ $rc, $err ],
	[ 2, qq{tenant_guard_report: error: baseline "$dir/broken2.txt" line 1: the statement shape must be query_id=NUMBER, call_site=JSON or query=TEXT\n} ],
	'a bad statement shape: exit status 2, one line');

# --- bad input --------------------------------------------------------------
sub bad_input
{
	my ($args, $message, $name) = @_;
	my ($rc, $out, $err) = report(@$args);
	is($rc, 2, "$name: exit status 2");
	like($err, qr/^tenant_guard_report: error: $message[^\n]*\n\z/, "$name: one line on stderr");
	is($out, '', "$name: nothing on stdout");
}
bad_input([ '--frobnicate' ], 'unknown option "--frobnicate" \(see --help\)', 'an unknown option');
bad_input([ '--format=xml' ], 'unknown format "xml"', 'a bad --format');
bad_input([ '-d', 'postgres', '--since', 'the day before' ], '--since needs a timestamp', 'a bad --since');
bad_input([ '--top', 'ten' ], '--top needs a number', 'a bad --top');
bad_input([ '-d', 'plain' ], 'database "plain" does not have the tenant_guard extension',
	'a database without the extension');
{
	my $closed = PostgreSQL::Test::Cluster::get_free_port();
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ $prog, '-h', '127.0.0.1', '-p', $closed, '-d', 'postgres' ],
		'>', \$stdout, '2>', \$stderr);
	is($? >> 8, 2, 'no server: exit status 2');
	like($stderr,
		qr/^tenant_guard_report: error: connection to server at "127\.0\.0\.1", port $closed failed: [^\n]*\n\z/,
		'no server: one line on stderr');
}

# --- call sites, as a later version of the trail records them ---------------
$node->safe_psql('postgres', 'CREATE DATABASE later');
$node->safe_psql('later', 'CREATE EXTENSION tenant_guard;
	CREATE TABLE invoices (id int, firm_id int); GRANT ALL ON invoices TO PUBLIC;
	ALTER DATABASE later SET tenant_guard.audit_sample_interval = 0;');
violate('later', 'alice', 'web', 'SELECT * FROM invoices WHERE id = 1',
	'SELECT * FROM invoices WHERE id = 2', 'SELECT count(*) FROM invoices');
$node->safe_psql('later', q{
	UPDATE tenant_guard.violations SET call_site = '{"controller": "invoices", "action": "show"}'
	 WHERE query LIKE '%WHERE id = 1%'});
($rc, $out) = report('-d', 'later', '--format=json');
$json = decode_json($out);
is_deeply(
	[ $json->{call_sites_recorded}, [ map { [ $_->{call_site}, $_->{count} ] } @{ $json->{call_sites} } ] ],
	[ JSON::PP::true, [ [ { controller => 'invoices', action => 'show' }, 1 ] ] ],
	'a call_site column is found: the call sites are counted, as JSON values');
($rc, $out) = report('-d', 'later');
like($out, qr/\nCall sites\n +1\. +1  \{"action": "show", "controller": "invoices"\}\n/,
	'the text report lists the call sites');
report('-d', 'later', '--write-baseline', "$dir/later.txt");
like(slurp_file("$dir/later.txt"),
	qr/^unscoped_read\tpublic\.invoices\tcall_site=\{"action": "show", "controller": "invoices"\}\t# SELECT \* FROM invoices WHERE id = 1;\n/m,
	'the baseline names a violation by its call site when it has one');
like(slurp_file("$dir/later.txt"),
	qr/^unscoped_read\tpublic\.invoices\tquery_id=-?\d+\t# SELECT \* FROM invoices WHERE id = 2;\n/m,
	'and by its query id when it has none');

# --- hostile trail content: NULLs, control characters, a huge text ---------
$node->safe_psql('postgres', 'CREATE DATABASE odd');
$node->safe_psql('odd', q{CREATE EXTENSION tenant_guard;
	INSERT INTO tenant_guard.violations (occurred_at, database_name, backend_pid, relation, kind, action)
	VALUES (now(), 'odd', 1, 'public.t', 'unscoped_read', 'logged');
	INSERT INTO tenant_guard.violations (occurred_at, database_name, user_name, application_name,
		backend_pid, relation, kind, action, query_id, query)
	VALUES (now(), 'odd', E'u\x01"', E'a\tb', 1, E'public."t\x02|x"', 'unscoped_read', 'logged', 7,
		E'SELECT 1 \x1b[31m red \x07' || repeat('<b>&amp;''', 100000) || E'\r\n-- </script>');
	INSERT INTO tenant_guard.violations (occurred_at, database_name, backend_pid, relation, kind,
		action, reason)
	VALUES (now(), 'odd', 1, 'public.t', 'break_glass', 'logged',
		E'</script><b>&amp;\x07 why\r\n' || repeat('x', 300));});
for my $format ('text', 'markdown', 'json', 'html')
{
	($rc, $out, $err) = report('-d', 'odd', "--format=$format");
	is($rc, 0, "hostile content, $format: exit status 0");
	ok($out !~ /[\x00-\x08\x0b-\x1f\x7f]/, "hostile content, $format: no control character is output");
}
($rc, $out) = report('-d', 'odd', '--format=json');
ok(eval { decode_json($out); 1 }, 'hostile content: the json is valid');
is(eval { decode_json($out)->{break_glass}[0]{reason} },
	"</script><b>&amp;\x07 why\r\n" . ('x' x 300),
	'hostile content: a break-glass reason survives the json whole');
($rc, $out) = report('-d', 'odd', '--format=html');
ok($out !~ /<b>&amp;|<\/script>/ && $out =~ /&lt;b&gt;&amp;amp;&#39;/,
	'hostile content: the html has no markup from the trail, only escaped text');
($rc, $out) = report('-d', 'odd', '--format=text');
ok(!grep({ length($_) > 100 } split /\n/, $out), 'hostile content: the text report still fits 100 columns');

$node->stop;
done_testing();

# --- the browser check ----------------------------------------------------------

sub find_chromium
{
	for my $dir (split /:/, $ENV{PATH})
	{
		return "$dir/chromium" if -x "$dir/chromium";
	}
	return undef;
}

# Width, height, distinct colours and the share of non-white pixels of an
# 8-bit RGB or RGBA PNG (what chromium writes), decoded with zlib alone.
sub png_stats
{
	my ($file) = @_;
	open my $fh, '<:raw', $file or return;
	my $png = do { local $/; <$fh> };
	close $fh;
	return if substr($png, 0, 8) ne "\x89PNG\r\n\x1a\n";
	my ($pos, $idat, $width, $height, $depth, $type) = (8, '');
	while ($pos + 8 <= length $png)
	{
		my ($len, $chunk) = unpack('N a4', substr($png, $pos, 8));
		my $data = substr($png, $pos + 8, $len);
		$pos += 12 + $len;
		($width, $height, $depth, $type) = unpack('N N C C', $data) if $chunk eq 'IHDR';
		$idat .= $data if $chunk eq 'IDAT';
	}
	my $bpp = { 2 => 3, 6 => 4 }->{ $type // -1 };
	my $raw = uncompress($idat);
	return unless $bpp && $depth == 8 && defined $raw;
	my $stride = $width * $bpp;
	my @prev = (0) x $stride;
	my (%colours, $coloured);
	for my $y (0 .. $height - 1)
	{
		my $filter = ord substr($raw, $y * ($stride + 1), 1);
		my @row = unpack('C*', substr($raw, $y * ($stride + 1) + 1, $stride));
		if ($filter)
		{
			for my $i (0 .. $stride - 1)
			{
				my $left = $i >= $bpp ? $row[ $i - $bpp ] : 0;
				my $up = $prev[$i];
				my $upleft = $i >= $bpp ? $prev[ $i - $bpp ] : 0;
				my $pred =
					$filter == 1 ? $left
				  : $filter == 2 ? $up
				  : $filter == 3 ? ($left + $up) >> 1
				  : paeth($left, $up, $upleft);
				$row[$i] = ($row[$i] + $pred) & 255;
			}
		}
		for (my $i = 0; $i < $stride; $i += $bpp)
		{
			my $pixel = "$row[$i],$row[$i + 1],$row[$i + 2]";
			$colours{$pixel} = 1;
			$coloured++ if $pixel ne '255,255,255';
		}
		@prev = @row;
	}
	return ($width, $height, scalar(keys %colours), ($coloured // 0) / ($width * $height));
}

sub paeth
{
	my ($left, $up, $upleft) = @_;
	my $p = $left + $up - $upleft;
	my ($pl, $pu, $pul) = (abs($p - $left), abs($p - $up), abs($p - $upleft));
	return $pl <= $pu && $pl <= $pul ? $left : $pu <= $pul ? $up : $upleft;
}

# Run headless chromium on the page; returns its stdout and its log.
sub chromium
{
	my ($chromium, @args) = @_;
	my $profile = PostgreSQL::Test::Utils::tempdir();
	my ($stdout, $log) = ('', '');
	local $ENV{HOME} = $profile;
	IPC::Run::run(
		[
			$chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
			'--no-first-run', '--disable-background-networking', '--disable-component-update',
			'--disable-sync', "--user-data-dir=$profile/data", '--enable-logging=stderr', '--v=0',
			@args
		],
		'>', \$stdout, '2>', \$log, IPC::Run::timeout(180));
	return ($stdout, $log);
}

# The bars of one chart in the rendered DOM.
sub bars
{
	my ($dom, $id) = @_;
	my ($svg) = $dom =~ /(<svg id="$id".*?<\/svg>)/s;
	return -1 unless defined $svg;
	my @bars = $svg =~ /<rect class="bar /g;
	return scalar @bars;
}

sub browser_checks
{
	my ($html, $timeline_points) = @_;
	my $chromium = find_chromium();
  SKIP:
	{
		skip 'chromium is not installed, so the html page is not opened in a browser '
		  . '(make test run as root installs it; or apt-get install chromium)', 11
		  unless $chromium;
		my ($dom, $log) = chromium($chromium, '--dump-dom', "file://$html");
		like($dom, qr/<svg id="chart-timeline"/, 'browser: the page renders, with its timeline chart');
		is(bars($dom, 'chart-timeline'), $timeline_points,
			'browser: one timeline bar per hour and kind');
		is(bars($dom, 'chart-relations'), 3, 'browser: three relation bars');
		is(bars($dom, 'chart-shapes'), 5, 'browser: five statement shape bars');
		ok(index($dom, '&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; a|b `x`') >= 0,
			'browser: the hostile statement is in the DOM as text');
		ok($dom !~ /<img/i && $dom !~ /<[^>]*\sonerror=/i,
			'browser: no img element and no onerror attribute was created');
		like($dom,
			qr{<section id="break-glass"><h2>Break glass</h2>.*<table id="break-glass-table">.*<td>maint</td>.*<td>ticket 77: month-end billing run</td><td>postgres:public.clients, postgres:public.invoices</td>}s,
			'browser: the break-glass section lists the use with its reason and tables');
		my ($screen_out, $screen_log) = chromium($chromium, '--window-size=1200,2000',
			'--screenshot=' . "$html.png", "file://$html");
		my @console = grep { /CONSOLE/ } split /\n/, $log . $screen_log;
		is_deeply(\@console, [], 'browser: no console message (no error, no blocked script)');
		my ($width, $height, $colours, $ink) = png_stats("$html.png");
		is_deeply([ $width, $height ], [ 1200, 2000 ], 'browser: a 1200x2000 screenshot');
		cmp_ok($colours // 0, '>', 50, "browser: the screenshot is not blank ($colours colours)");
		cmp_ok($ink // 0, '>', 0.02, 'browser: more than 2% of it is drawn, not white');
	}
}

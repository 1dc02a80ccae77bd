# Helpers for tenant_guard's TAP tests.
package TenantGuardNode;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Time::HiRes qw(usleep time);

use Exporter 'import';
our @EXPORT = qw(new_guarded_node poll_until audit_stats audit_identity);

# A started cluster with tenant_guard preloaded and created in "postgres".
# Extra postgresql.conf lines may be passed.
sub new_guarded_node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		join("\n", "shared_preload_libraries = 'tenant_guard'", @conf));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION tenant_guard');
	return $node;
}

# Like poll_query_until, with a short limit (seconds), so that a test that
# fails does not wait three minutes.
sub poll_until
{
	my ($node, $db, $query, $seconds) = @_;
	my $deadline = time + ($seconds // 20);
	while (time < $deadline)
	{
		my ($ret, $out) = $node->psql($db, $query);
		return 1 if $ret == 0 && $out eq 't';
		usleep(100_000);
	}
	return 0;
}

# tenant_guard.stats() as a hash.
sub audit_stats
{
	my ($node) = @_;
	my @names = qw(raised queued persisted sampled dropped refused lost pending);
	my @values = split /\|/, $node->safe_psql('postgres',
		'SELECT ' . join(', ', @names) . ' FROM tenant_guard.stats()');
	my %stats;
	@stats{@names} = @values;
	return \%stats;
}

# The accounting identity: every violation raised is persisted (a row),
# sampled (a count), dropped, refused, lost or pending.  Returns a
# description when it does not hold.
sub audit_identity
{
	my ($node) = @_;
	my $s = audit_stats($node);
	my $sum = $s->{persisted} + $s->{sampled} + $s->{dropped} + $s->{refused} + $s->{lost} + $s->{pending};
	return $sum == $s->{raised}
	  ? 'holds'
	  : "raised $s->{raised} <> persisted $s->{persisted} + sampled $s->{sampled} + dropped $s->{dropped} + refused $s->{refused} + lost $s->{lost} + pending $s->{pending}";
}

1;

# Helpers for tenant_guard's TAP tests.
package TenantGuardNode;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;

use Exporter 'import';
our @EXPORT = qw(new_guarded_node);

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

1;

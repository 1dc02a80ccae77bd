#!/usr/bin/perl
# guard_profile.pl: tenant_guard's share of a backend's instructions, from
# callgrind_annotate's output for two backends that ran the same workload
# for a different number of statements (test/bench/callgrind.sh).
#
#   guard_profile.pl own   STEPS SHORT.self LONG.self SHORT.tree LONG.tree
#   guard_profile.pl table STEPS SHORT.self LONG.self SHORT.tree LONG.tree
#
# *.self is `callgrind_annotate --threshold=100`, *.tree the same with
# `--inclusive=yes --tree=calling`; STEPS is the difference in statements.
# "own" prints the guard's own instructions per statement: the self cost of
# every function of tenant_guard.so plus what those functions call outside
# it, except the standard_* functions its hooks chain to (the planner, the
# executor), which run without tenant_guard as well.  "table" prints the
# guard's functions, per statement, self and inclusive, as markdown.
use strict;
use warnings;

my ($mode, $steps, @files) = @ARGV;
die "usage: $0 own|table STEPS SHORT.self LONG.self SHORT.tree LONG.tree\n"
	unless $mode && $mode =~ /^(own|table)$/ && @files == 4 && $steps > 0;

# "  1,234 (0.01%)  [*|>]  file:function (5x) [object]"; a callee in the
# same object as its caller comes without "[object]".
my $line = qr/^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?([*>])?\s*(\S+?)(?:\s+\(([\d,]+)x\))?(?:\s+\[([^\]]*)\])?\s*$/;
my $guard_object = qr{/tenant_guard\.so$};

my (%self, %inclusive, %call, @own);
for my $i (0, 1) {
	open my $fh, '<', $files[$i] or die "$files[$i]: $!\n";
	while (<$fh>) {
		my ($ir, undef, $function, undef, $object) = $_ =~ $line or next;
		next unless defined $object && $object =~ $guard_object;
		$ir =~ tr/,//d;
		$function =~ s/^.*://;
		$self{$function}[$i] += $ir;
		$own[$i] += $ir;
	}
	close $fh;

	open $fh, '<', $files[$i + 2] or die "$files[$i + 2]: $!\n";
	my ($caller, $caller_is_guard) = ('', 0);
	while (<$fh>) {
		my ($ir, $mark, $function, $calls, $object) = $_ =~ $line or next;
		$mark //= '';
		$ir =~ tr/,//d;
		$function =~ s/^.*://;
		if ($mark eq '*') {
			($caller, $caller_is_guard) = ($function, defined $object && $object =~ $guard_object);
			$inclusive{$function}[$i] += $ir if $caller_is_guard;
		} elsif ($mark eq '>' && $caller_is_guard && defined $object &&
				 $object !~ $guard_object && $function !~ /^standard_/) {
			$calls //= 1;
			$calls =~ tr/,//d;
			$call{"$caller>$function"}[$i] = [$ir, $calls];
		}
	}
	close $fh;
}

# Calls into PostgreSQL made as often in both backends are one-time work
# (the first look-ups of the tenant catalog and the registry): leave them
# out, since their cost varies a little from backend to backend with the
# state of PostgreSQL's own caches and would show as noise per statement.
for my $pair (values %call) {
	my ($short, $long) = map { $_ // [0, 0] } @$pair[0, 1];
	next if $short->[1] == $long->[1];
	$own[0] += $short->[0];
	$own[1] += $long->[0];
}

sub per_statement {
	my ($pair) = @_;
	return ((($pair->[1] // 0) - ($pair->[0] // 0)) / $steps);
}

if ($mode eq 'own') {
	printf "%.0f\n", per_statement(\@own);
	exit 0;
}

print "| function | self Ir/stmt | inclusive Ir/stmt |\n|---|---:|---:|\n";
my @rows = map { [$_, per_statement($self{$_}), per_statement($inclusive{$_})] }
	keys %inclusive;
for my $row (sort { $b->[2] <=> $a->[2] || $a->[0] cmp $b->[0] }
			 grep { $_->[1] >= 1 || $_->[2] >= 1 } @rows) {
	my $note = $row->[0] =~ /^tenant_guard_(planner|ExecutorStart|ProcessUtility)$/ ?
		' (hook; inclusive of the PostgreSQL function it chains to)' : '';
	printf "| %s%s | %.0f | %.0f |\n", $row->[0], $note, $row->[1], $row->[2];
}

# A PostgreSQL client that speaks the frontend/backend protocol (version
# 3) itself, for the TAP tests that need what libpq does not offer: named
# portals run a few rows at a time, messages pipelined without a Sync, a
# simple query between two fetches of a portal.  Trust authentication
# only; text formats only.
package WireClient;

use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Socket::INET;

# WireClient->connect(host => DIR or ADDRESS, port => N, user => U,
# dbname => D): a started session, ready for queries.
sub connect
{
	my ($class, %opt) = @_;
	my $sock =
	  $opt{host} =~ m{^/}
	  ? IO::Socket::UNIX->new(Peer => "$opt{host}/.s.PGSQL.$opt{port}")
	  : IO::Socket::INET->new(PeerAddr => $opt{host}, PeerPort => $opt{port});
	die "cannot connect: $!" unless $sock;
	my $self = bless { sock => $sock }, $class;
	my $params = "user\0$opt{user}\0database\0$opt{dbname}\0\0";
	$sock->print(pack('NN', 8 + length($params), 196608) . $params);
	my $reply = $self->_until_ready;
	die "startup failed: $reply->{errors}[0]{M}" if @{ $reply->{errors} };
	return $self;
}

sub _send
{
	my ($self, $type, $body) = @_;
	$self->{sock}->print($type . pack('N', 4 + length($body)) . $body);
}

sub _read_exactly
{
	my ($self, $n) = @_;
	my $buf = '';
	while (length($buf) < $n)
	{
		my $got = $self->{sock}->sysread($buf, $n - length($buf), length($buf));
		die "the server closed the connection" unless $got;
	}
	return $buf;
}

# The messages after Sync or a simple query, up to ReadyForQuery: the rows
# (array refs of text values, undef for NULL), the errors (hashes of their
# fields: C the SQLSTATE, M the message, D the detail), the command tags,
# whether a portal was suspended, the notices, and the transaction status.
sub _until_ready
{
	my ($self) = @_;
	my %reply = (rows => [], errors => [], tags => [], notices => [], suspended => 0);
	while (1)
	{
		my ($type, $len) = unpack('aN', $self->_read_exactly(5));
		my $body = $self->_read_exactly($len - 4);
		if ($type eq 'D')
		{
			my $count = unpack('n', $body);
			my ($pos, @values) = (2);
			for (1 .. $count)
			{
				my $vlen = unpack('l>', substr($body, $pos, 4));
				$pos += 4;
				if ($vlen < 0) { push @values, undef; next; }
				push @values, substr($body, $pos, $vlen);
				$pos += $vlen;
			}
			push @{ $reply{rows} }, \@values;
		}
		elsif ($type eq 'E' || $type eq 'N')
		{
			my %fields = map { /^(.)(.*)$/s } grep { length } split /\0/, $body;
			push @{ $reply{ $type eq 'E' ? 'errors' : 'notices' } }, \%fields;
		}
		elsif ($type eq 'C') { push @{ $reply{tags} }, unpack('Z*', $body); }
		elsif ($type eq 's') { $reply{suspended}++; }
		elsif ($type eq 'Z') { $reply{status} = $body; return \%reply; }
	}
}

# A simple query (one or more statements); its reply.
sub query
{
	my ($self, $sql) = @_;
	$self->_send('Q', "$sql\0");
	return $self->_until_ready;
}

# The extended protocol's messages, sent without waiting for a reply.
sub parse
{
	my ($self, $name, $sql) = @_;
	$self->_send('P', "$name\0$sql\0" . pack('n', 0));
}

sub bind
{
	my ($self, $portal, $statement, @params) = @_;
	my $body = "$portal\0$statement\0" . pack('nn', 0, scalar @params);
	$body .= defined $_ ? pack('N', length $_) . $_ : pack('N', 0xFFFFFFFF) for @params;
	$self->_send('B', $body . pack('n', 0));
}

# Execute a portal for at most $rows rows (0: all).
sub execute
{
	my ($self, $portal, $rows) = @_;
	$self->_send('E', "$portal\0" . pack('N', $rows // 0));
}

sub close_portal
{
	my ($self, $portal) = @_;
	$self->_send('C', "P$portal\0");
}

# Sync, and the reply to everything sent since the last one.
sub sync
{
	my ($self) = @_;
	$self->_send('S', '');
	return $self->_until_ready;
}

sub disconnect
{
	my ($self) = @_;
	$self->_send('X', '');
	$self->{sock}->close;
}

1;

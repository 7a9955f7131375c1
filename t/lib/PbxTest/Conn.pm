package PbxTest::Conn;

# One client connection: send exact bytes (all at once or trickled), read
# responses one by one, tell whether the server closed.

use strict;
use warnings;

use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep time);

sub new {
    my ($class, %o) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $o{port},
        Proto => 'tcp', Timeout => $o{timeout} // 5) or return undef;
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $sock;
    $sock->blocking(0);
    return bless { sock => $sock, in => '', eof => 0, timeout => $o{timeout} // 5,
        send_error => undef }, $class;
}

# Writes all bytes; false when the server stopped taking them.
sub send {
    my ($self, $data) = @_;
    my $sel = IO::Select->new($self->{sock});
    my $deadline = time + $self->{timeout};

    while (length $data) {
        my $n = syswrite($self->{sock}, $data);
        if (!defined $n) {
            if ($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR) {
                return 0 if time > $deadline;
                $sel->can_write(0.1);
                next;
            }
            $self->{send_error} = "$!";
            return 0;
        }
        substr($data, 0, $n, '');
    }
    return 1;
}

# Sends in pieces of $size bytes, $delay seconds apart.
sub trickle {
    my ($self, $data, $size, $delay) = @_;
    while (length $data) {
        $self->send(substr($data, 0, $size, '')) or return 0;
        sleep $delay if length $data;
    }
    return 1;
}

# Reads more into the buffer: 1 got bytes, 0 end of stream, undef timeout.
sub fill {
    my ($self, $deadline) = @_;
    return 0 if $self->{eof};
    my $sel = IO::Select->new($self->{sock});

    while (1) {
        my $left = $deadline - time;
        return undef if $left <= 0;
        $sel->can_read($left > 0.5 ? 0.5 : $left) or next;
        my $n = sysread($self->{sock}, my $data, 65536);
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            $self->{eof} = 1;
            $self->{reset} = 1;
            return 0;
        }
        if ($n == 0) {
            $self->{eof} = 1;
            return 0;
        }
        $self->{in} .= $data;
        return 1;
    }
}

# The next response (an interim 1xx one is a response too): a hash of status,
# version, reason, headers (lower-cased names, repeats joined by ", "),
# header_list ([name, value] pairs), body, raw. undef on timeout or when the
# stream ends first. head => 1 for a response to HEAD.
sub read_response {
    my ($self, %o) = @_;
    my $deadline = time + ($o{timeout} // $self->{timeout});

    my $end;
    while (($end = index($self->{in}, "\r\n\r\n")) < 0) {
        my $got = $self->fill($deadline);
        return undef unless $got;
    }

    my $head = substr($self->{in}, 0, $end + 4);
    my @lines = split /\r\n/, $head;
    my ($version, $status, $reason) = (shift @lines) =~ m{^HTTP/(\d\.\d) (\d{3})(?: (.*))?$}
        or return undef;

    my (%h, @list);
    for my $line (@lines) {
        my ($name, $value) = $line =~ /^([^:\s]+):\s*(.*?)\s*$/ or next;
        push @list, [$name, $value];
        my $key = lc $name;
        $h{$key} = exists $h{$key} ? "$h{$key}, $value" : $value;
    }

    my $r = { status => $status + 0, version => $version, reason => $reason // '',
        headers => \%h, header_list => \@list, raw_head => $head, body => '' };

    my $rest = $end + 4;
    my $no_body = $o{head} || $status < 200 || $status == 204 || $status == 304;

    if ($no_body) {
        substr($self->{in}, 0, $rest, '');

    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        substr($self->{in}, 0, $rest, '');
        while (1) {
            my $eol;
            while (($eol = index($self->{in}, "\r\n")) < 0) {
                $self->fill($deadline) or return undef;
            }
            my ($size) = substr($self->{in}, 0, $eol) =~ /^([0-9a-fA-F]+)/ or return undef;
            $size = hex $size;
            if ($size == 0) {
                while (($eol = index($self->{in}, "\r\n\r\n")) < 0) {
                    $self->fill($deadline) or return undef;
                }
                substr($self->{in}, 0, $eol + 4, '');
                last;
            }
            while (length($self->{in}) < $eol + 2 + $size + 2) {
                $self->fill($deadline) or return undef;
            }
            $r->{body} .= substr($self->{in}, $eol + 2, $size);
            substr($self->{in}, 0, $eol + 2 + $size + 2, '');
        }

    } elsif (defined $h{'content-length'}) {
        my $len = $h{'content-length'};
        while (length($self->{in}) < $rest + $len) {
            $self->fill($deadline) or return undef;
        }
        $r->{body} = substr($self->{in}, $rest, $len);
        substr($self->{in}, 0, $rest + $len, '');

    } else {
        while (1) {
            my $got = $self->fill($deadline);
            return undef unless defined $got;
            last if $got == 0;
        }
        $r->{body} = substr($self->{in}, $rest);
        $self->{in} = '';
    }

    $r->{raw} = $head . $r->{body};
    return $r;
}

# True when the server closes the connection within $timeout seconds (bytes
# that arrive meanwhile are kept for read_response).
sub closed {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 1);
    while (1) {
        my $got = $self->fill($deadline);
        return 0 unless defined $got;
        return 1 if $got == 0;
    }
}

# Whatever has arrived within $timeout seconds, without parsing.
sub pending {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 0.5);
    while ($self->fill($deadline)) { }
    return $self->{in};
}

sub close {
    my ($self) = @_;
    CORE::close($self->{sock}) if $self->{sock};
    $self->{sock} = undef;
}

1;

#!/usr/bin/perl

# The recording backend of the integration tests and the demo.
#
#   perl t/lib/backend.pl --listen 127.0.0.1:PORT [--status CODE] [--pid FILE] [--log FILE]
#
# One process, many keep-alive HTTP/1.x connections. Every request is answered
# CODE (default 200) with what arrived: X-Backend-Body-Sha256 (hex sha256 of
# the de-chunked body), X-Backend-Body-Length, X-Backend-Token (X-Pbx-Token or
# "-"), X-Backend-Seq (request number). The body, absent for 204 and 304,
# says the same ("seq N", "sha256 HEX", "length N" lines) and then repeats the
# request head, so a test can see the headers nginx passed on.
# GET /__backend/stats answers {"requests":N} and is not counted;
# POST /__backend/reset sets the count to zero. Exits on SIGTERM.
# Per request: X-Backend-Status: CODE answers that status instead, and
# X-Backend-Delay: SECONDS holds the answer back that long (a hanging
# backend); the request is counted when it arrives. --log FILE appends the
# sha256 of each counted request's body, one a line.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use Getopt::Long qw(GetOptions);
use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);

my ($listen, $status, $pidfile, $logfile) = (undef, 200, undef, undef);

GetOptions('listen=s' => \$listen, 'status=i' => \$status, 'pid=s' => \$pidfile,
    'log=s' => \$logfile)
    && defined $listen && !@ARGV
    or die "usage: backend.pl --listen ADDR:PORT [--status CODE] [--pid FILE] [--log FILE]\n";

my $log;
if (defined $logfile) {
    open $log, '>>', $logfile or die "backend: cannot write $logfile: $!\n";
    $log->autoflush(1);
}

my %reasons = (
    200 => 'OK', 201 => 'Created', 202 => 'Accepted', 204 => 'No Content',
    304 => 'Not Modified', 400 => 'Bad Request', 404 => 'Not Found',
    500 => 'Internal Server Error', 502 => 'Bad Gateway', 503 => 'Service Unavailable',
);

my $server = IO::Socket::INET->new(
    LocalAddr => $listen,
    Listen    => 128,
    ReuseAddr => 1,
    Proto     => 'tcp',
) or die "backend: cannot listen on $listen: $!\n";
$server->blocking(0);

my $port = $server->sockport;

if (defined $pidfile) {
    open my $fh, '>', $pidfile or die "backend: cannot write $pidfile: $!\n";
    print $fh "$$\n";
    close $fh;
}

my $done = 0;
$SIG{TERM} = $SIG{INT} = sub { $done = 1 };
$SIG{PIPE} = 'IGNORE';

$| = 1;
print "backend ready on $port\n";

my $requests = 0;
my %conns;    # fileno => state
my $select = IO::Select->new($server);

while (!$done) {
    my @held = sort { $a->{held}{due} <=> $b->{held}{due} } grep { $_->{held} } values %conns;
    my $wait = 0.5;
    if (@held) {
        my $left = $held[0]{held}{due} - time;
        $wait = $left < 0 ? 0 : $left < $wait ? $left : $wait;
    }
    my @ready = $select->can_read($wait);

    for my $c (grep { $_->{held} && $_->{held}{due} <= time } values %conns) {
        my $h = delete $c->{held};
        if (!write_all($c->{sock}, $h->{bytes}) || !$h->{keepalive} || !serve($c)) {
            drop($c);
        }
    }

    for my $fh (@ready) {
        if ($fh == $server) {
            while (my $client = $server->accept) {
                $client->blocking(0);
                setsockopt($client, IPPROTO_TCP, TCP_NODELAY, 1);
                binmode $client;
                $conns{fileno $client} = { sock => $client, in => '', req => undef };
                $select->add($client);
            }
            next;
        }

        my $fd = fileno $fh;
        my $c = defined $fd ? $conns{$fd} : undef or next;
        my $n = sysread($fh, my $data, 65536);
        if ($c->{held}) {
            # Only the end of the connection matters while an answer is held.
            drop($c) if defined $n && $n == 0;
            $c->{in} .= $data if $n;
            next;
        }

        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            drop($c);
            next;
        }
        if ($n == 0) {
            drop($c);
            next;
        }

        $c->{in} .= $data;
        drop($c) unless serve($c);
    }
}

unlink $pidfile if defined $pidfile;
exit 0;

sub drop {
    my ($c) = @_;
    $select->remove($c->{sock});
    delete $conns{fileno $c->{sock}};
    close $c->{sock};
}

# Handles every complete request in the buffer; false closes the connection.
sub serve {
    my ($c) = @_;

    while (1) {
        my $req = $c->{req};

        if (!$req) {
            my $end = index($c->{in}, "\r\n\r\n");
            if ($end < 0) {
                return length($c->{in}) < 65536;
            }
            my $head = substr($c->{in}, 0, $end + 4, '');
            $req = $c->{req} = parse_head($head) or return 0;

            if (($req->{headers}{expect} // '') =~ /100-continue/i && $req->{version} eq '1.1'
                && ($req->{chunked} || $req->{length} > 0))
            {
                write_all($c->{sock}, "HTTP/1.1 100 Continue\r\n\r\n") or return 0;
            }
        }

        if ($req->{chunked}) {
            my $r = dechunk($c, $req);
            return 0 if $r < 0;
            return 1 if $r == 0;
        } else {
            return 1 if length($c->{in}) < $req->{length};
            $req->{body} = substr($c->{in}, 0, $req->{length}, '');
        }

        $c->{req} = undef;
        respond($c, $req) or return 0;
        return 1 if $c->{held};
        return 0 unless $req->{keepalive};
    }
}

sub parse_head {
    my ($head) = @_;
    my @lines = split /\r\n/, $head;
    my $first = shift @lines // '';
    my ($method, $uri, $version) = $first =~ m{^(\S+) (\S+) HTTP/(\d\.\d)$} or return undef;

    my %h;
    my @raw;
    for my $line (@lines) {
        my ($name, $value) = $line =~ /^([^:\s]+):\s*(.*?)\s*$/ or return undef;
        push @raw, [$name, $value];
        my $key = lc $name;
        $h{$key} = exists $h{$key} ? "$h{$key}, $value" : $value;
    }

    my $connection = lc($h{connection} // '');
    my $keepalive = $version eq '1.1' ? $connection !~ /close/ : $connection =~ /keep-alive/;

    my $chunked = ($h{'transfer-encoding'} // '') =~ /chunked/i ? 1 : 0;
    my $length = $h{'content-length'} // 0;
    return undef unless $length =~ /^\d+$/;

    return {
        method => $method, uri => $uri, version => $version, head => $head,
        headers => \%h, raw_headers => \@raw, keepalive => $keepalive,
        chunked => $chunked, length => $length + 0, body => '',
        chunk_left => undef, trailers => 0,
    };
}

# 1 when the chunked body is complete, 0 when more bytes are needed, -1 on error.
sub dechunk {
    my ($c, $req) = @_;

    while (1) {
        if ($req->{trailers}) {
            my $eol = index($c->{in}, "\r\n");
            return 0 if $eol < 0;
            my $line = substr($c->{in}, 0, $eol + 2, '');
            return 1 if $eol == 0;
            next;
        }

        if (!defined $req->{chunk_left}) {
            my $eol = index($c->{in}, "\r\n");
            return 0 if $eol < 0;
            my $line = substr($c->{in}, 0, $eol + 2, '');
            my ($hex) = $line =~ /^([0-9a-fA-F]+)/ or return -1;
            my $size = hex $hex;
            if ($size == 0) {
                $req->{trailers} = 1;
                next;
            }
            $req->{chunk_left} = $size;
        }

        return 0 if length($c->{in}) < $req->{chunk_left} + 2;
        $req->{body} .= substr($c->{in}, 0, $req->{chunk_left}, '');
        return -1 unless substr($c->{in}, 0, 2, '') eq "\r\n";
        $req->{chunk_left} = undef;
    }
}

sub respond {
    my ($c, $req) = @_;
    my ($code, $body, @extra);
    my $path = $req->{uri} =~ s/\?.*//sr;

    if ($req->{method} eq 'GET' && $path eq '/__backend/stats') {
        ($code, $body) = (200, qq({"requests":$requests}\n));
        push @extra, 'Content-Type: application/json';

    } elsif ($req->{method} eq 'POST' && $path eq '/__backend/reset') {
        $requests = 0;
        ($code, $body) = (200, qq({"requests":0}\n));
        push @extra, 'Content-Type: application/json';

    } else {
        $requests++;
        print $log sha256_hex($req->{body}), "\n" if $log;
        $code = $status;
        $code = $1 if ($req->{headers}{'x-backend-status'} // '') =~ /^(\d{3})$/;
        $body = "seq $requests\nsha256 " . sha256_hex($req->{body})
            . "\nlength " . length($req->{body}) . "\n$req->{head}";
        push @extra,
            'Content-Type: text/plain',
            'X-Backend-Body-Sha256: ' . sha256_hex($req->{body}),
            'X-Backend-Body-Length: ' . length($req->{body}),
            'X-Backend-Token: ' . token($req),
            "X-Backend-Seq: $requests";
    }

    $body = '' if $code == 204 || $code == 304 || $code < 200;
    my $send_body = $req->{method} eq 'HEAD' ? '' : $body;

    my $head = "HTTP/1.1 $code " . ($reasons{$code} // 'Status') . "\r\n"
        . join('', map { "$_\r\n" } @extra);
    $head .= "Content-Length: " . length($body) . "\r\n" unless $code == 204 || $code == 304;
    $head .= 'Connection: ' . ($req->{keepalive} ? 'keep-alive' : 'close') . "\r\n\r\n";

    my $delay = $req->{headers}{'x-backend-delay'} // '';
    if ($delay =~ /^\d+(?:\.\d+)?$/ && $delay > 0) {
        $c->{held} = { due => time + $delay, bytes => $head . $send_body,
            keepalive => $req->{keepalive} };
        return 1;
    }

    return write_all($c->{sock}, $head . $send_body);
}

sub token {
    my ($req) = @_;
    my @values = map { $_->[1] } grep { lc $_->[0] eq 'x-pbx-token' } @{$req->{raw_headers}};
    return '-' unless @values;
    return join ', ', @values;
}

sub write_all {
    my ($sock, $data) = @_;
    my $w = IO::Select->new($sock);

    while (length $data) {
        my $n = syswrite($sock, $data);
        if (!defined $n) {
            if ($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR) {
                $w->can_write(5) or return 0;
                next;
            }
            return 0;
        }
        substr($data, 0, $n, '');
    }
    return 1;
}

package PbxTest::H2;

# A minimal HTTP/2 client (prior knowledge, no TLS) for what curl cannot do:
# several streams on one connection, and a request whose body is held back
# until the answer has come (curl 7.88 drops a response that arrives, with
# RST_STREAM, before it has sent the body). Requests are encoded without
# Huffman or indexing. Responses: :status always decodes (nginx never Huffman
# codes it); other header values that nginx Huffman codes are left undef.

use strict;
use warnings;

use Time::HiRes qw(time);

use PbxTest::Conn;

my @STATIC = (undef,
    [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'],
    [':path', '/index.html'], [':scheme', 'http'], [':scheme', 'https'], [':status', '200'],
    [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'],
    [':status', '404'], [':status', '500'],
    map { [$_, ''] } qw(accept-charset accept-encoding accept-language accept-ranges accept
        access-control-allow-origin age allow authorization cache-control content-disposition
        content-encoding content-language content-length content-location content-range
        content-type cookie date etag expect expires from host if-match if-modified-since
        if-none-match if-range if-unmodified-since last-modified link location max-forwards
        proxy-authenticate proxy-authorization range referer refresh retry-after server
        set-cookie strict-transport-security transfer-encoding user-agent vary via
        www-authenticate));

sub new {
    my ($class, %o) = @_;
    my $c = PbxTest::Conn->new(%o) or return undef;
    my $self = bless { c => $c, next_id => 1, streams => {}, port => $o{port},
        timeout => $o{timeout} // 5, goaway => undef }, $class;
    $c->send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . frame(4, 0, 0, ''));
    return $self;
}

sub frame {
    my ($type, $flags, $sid, $payload) = @_;
    my $len = length $payload;
    return pack('CnCCN', $len >> 16, $len & 0xffff, $type, $flags, $sid) . $payload;
}

sub hpack_int {
    my ($value, $bits, $first) = @_;
    my $max = (1 << $bits) - 1;
    return chr($first | $value) if $value < $max;
    my $out = chr($first | $max);
    $value -= $max;
    while ($value >= 128) {
        $out .= chr(($value & 127) | 128);
        $value >>= 7;
    }
    return $out . chr($value);
}

sub hpack_string { hpack_int(length $_[0], 7, 0) . $_[0] }

# Starts a stream. Options: method (POST), path, authority, headers (pairs,
# names lower-cased), body (undef: none), hold_body (send the HEADERS only;
# send_body later), frame_size (DATA frame size, 16384).
sub request {
    my ($self, %o) = @_;
    my $sid = $self->{next_id};
    $self->{next_id} += 2;

    my @h = ([':method', $o{method} // 'POST'], [':scheme', 'http'],
        [':path', $o{path} // '/'], [':authority', $o{authority} // 'localhost'],
        map { [lc $_->[0], $_->[1]] } @{$o{headers} // []});
    my $block = join '', map { "\x00" . hpack_string($_->[0]) . hpack_string($_->[1]) } @h;

    my $body = $o{body};
    my $end = !defined $body || ($body eq '' && !$o{hold_body});
    $self->{streams}{$sid} = { headers => {}, body => '', done => 0, pending => $body,
        frame_size => $o{frame_size} // 16384 };
    $self->{c}->send(frame(1, 0x4 | ($end ? 0x1 : 0), $sid, $block));
    $self->send_body($sid) if defined $body && !$end && !$o{hold_body};
    return $sid;
}

sub send_body {
    my ($self, $sid) = @_;
    my $s = $self->{streams}{$sid};
    my $body = delete $s->{pending} // '';
    my $out = '';
    do {
        my $piece = substr($body, 0, $s->{frame_size}, '');
        $out .= frame(0, length $body ? 0 : 0x1, $sid, $piece);
    } while (length $body);
    return $self->{c}->send($out);
}

# Sends DATA without ending the stream (a body cut short), or RST_STREAM.
sub send_data {
    my ($self, $sid, $data) = @_;
    return $self->{c}->send(frame(0, 0, $sid, $data));
}

# Ends the stream with an empty DATA frame (what is held back is dropped).
sub end_stream {
    my ($self, $sid) = @_;
    delete $self->{streams}{$sid}{pending};
    return $self->{c}->send(frame(0, 0x1, $sid, ''));
}

sub reset {
    my ($self, $sid, $code) = @_;
    return $self->{c}->send(frame(3, 0, $sid, pack('N', $code // 8)));
}

# Reads frames until stream $sid has its whole response (or was reset).
# Returns { status, headers, body, rst (error code, if reset) } or undef.
sub response {
    my ($self, $sid, %o) = @_;
    my $deadline = time + ($o{timeout} // $self->{timeout});
    my $s = $self->{streams}{$sid} or return undef;

    until ($s->{done}) {
        $self->read_frame($deadline) or return undef;
    }
    return { status => $s->{headers}{':status'}, headers => $s->{headers},
        body => $s->{body}, rst => $s->{rst} };
}

# True when the server has said GOAWAY or closed the connection.
sub gone {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 0.5);
    while (!defined $self->{goaway}) {
        my $got = $self->read_frame($deadline);
        return 1 if !defined $got && $self->{c}{eof};
        return 0 unless $got;
    }
    return 1;
}

sub read_frame {
    my ($self, $deadline) = @_;
    my $c = $self->{c};

    while (length $c->{in} < 9 || length $c->{in} < 9 + unpack('N', "\0" . substr($c->{in}, 0, 3)))
    {
        my $got = $c->fill($deadline);
        return undef unless $got;
    }

    my ($hi, $lo, $type, $flags, $sid) = unpack('CnCCN', substr($c->{in}, 0, 9));
    my $len = ($hi << 16) | $lo;
    my $payload = substr($c->{in}, 9, $len);
    substr($c->{in}, 0, 9 + $len, '');
    $sid &= 0x7fffffff;
    my $s = $self->{streams}{$sid};

    if ($type == 4 && !($flags & 1)) {
        $c->send(frame(4, 1, 0, ''));
    } elsif ($type == 6 && !($flags & 1)) {
        $c->send(frame(6, 1, 0, $payload));
    } elsif ($type == 7) {
        $self->{goaway} = unpack('N', substr($payload, 4, 4));
    } elsif ($type == 3 && $s) {
        $s->{rst} = unpack('N', $payload);
        $s->{done} = 1;
    } elsif (($type == 1 || $type == 9) && $s) {
        if ($type == 1) {
            my $at = 0;
            my $pad = 0;
            if ($flags & 0x8) {
                $pad = ord $payload;
                $at = 1;
            }
            $at += 5 if $flags & 0x20;
            $payload = substr($payload, $at, length($payload) - $at - $pad);
        }
        $s->{block} .= $payload;
        if ($flags & 0x4) {
            $self->decode(delete $s->{block}, $s->{headers});
        }
        $s->{done} = 1 if $type == 1 && $flags & 0x1 && $s->{headers}{':status'}
            && $s->{headers}{':status'} >= 200;
        $s->{end_after_headers} = 1 if $type == 1 && $flags & 0x1;
        $s->{done} = 1 if $type == 9 && $flags & 0x4 && $s->{end_after_headers};
    } elsif ($type == 0 && $s) {
        if ($flags & 0x8) {
            my $pad = ord $payload;
            $payload = substr($payload, 1, length($payload) - 1 - $pad);
        }
        $s->{body} .= $payload;
        $s->{done} = 1 if $flags & 0x1;
        # give the window back so a long answer is not stalled
        if ($len) {
            $c->send(frame(8, 0, 0, pack('N', $len)) . frame(8, 0, $sid, pack('N', $len)));
        }
    }
    return 1;
}

sub decode {
    my ($self, $block, $headers) = @_;
    my $at = 0;

    my $int = sub {
        my ($bits) = @_;
        my $max = (1 << $bits) - 1;
        my $v = ord(substr($block, $at++, 1)) & $max;
        return $v if $v < $max;
        my $shift = 0;
        while (1) {
            my $b = ord substr($block, $at++, 1);
            $v += ($b & 127) << $shift;
            $shift += 7;
            last unless $b & 128;
        }
        return $v;
    };
    my $string = sub {
        my $huffman = ord(substr($block, $at, 1)) & 0x80;
        my $len = $int->(7);
        my $s = substr($block, $at, $len);
        $at += $len;
        return $huffman ? undef : $s;
    };
    my $name_of = sub {
        my ($index) = @_;
        return $index ? ($STATIC[$index] ? $STATIC[$index][0] : undef) : $string->();
    };

    while ($at < length $block) {
        my $b = ord substr($block, $at, 1);
        my ($name, $value);
        if ($b & 0x80) {
            my $e = $STATIC[$int->(7)] or next;
            ($name, $value) = @$e;
        } elsif (($b & 0xc0) == 0x40) {
            $name = $name_of->($int->(6));
            $value = $string->();
        } elsif (($b & 0xe0) == 0x20) {
            $int->(5);
            next;
        } else {
            $name = $name_of->($int->(4));
            $value = $string->();
        }
        $headers->{$name} = $value if defined $name;
    }
}

sub close { $_[0]{c}->close }

1;

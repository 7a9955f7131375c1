#!/usr/bin/perl

# The gate over HTTP/3 (QUIC on loopback): every reason with the status and
# verdict it has over HTTP/1.1, a bad token answered before any DATA frame is
# sent, bodies split over many DATA frames and spilled to temp files passed on
# byte-identical, and one connection serving on after refusals.
#
# The client is nginx's own pure-Perl one, lib/Test/Nginx/HTTP3.pm of the
# nginx-tests suite, used from where it lies: NGINX_TESTS_DIR names an
# unpacked nginx-tests (scripts/matrix sets it). It needs libcryptx-perl.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $t = PbxTest->new;
$t->skip_all_under_valgrind('QUIC handshakes time out under memcheck');

my $V = `$t->{nginx} -V 2>&1`;
plan skip_all => 'nginx was built without --with-http_v3_module'
    unless $V =~ /--with-http_v3_module/;

my $tests = $ENV{NGINX_TESTS_DIR};
plan skip_all => 'no HTTP/3 client: set NGINX_TESTS_DIR to an unpacked nginx-tests'
    . ' (nginx-tests-*.tar.gz; scripts/matrix does it)'
    unless $tests && -f "$tests/lib/Test/Nginx/HTTP3.pm";
plan skip_all => 'the HTTP/3 client needs CryptX (apt-get install libcryptx-perl)'
    unless eval { require CryptX; 1 };
plan skip_all => 'no openssl to make a certificate' if system('openssl version >/dev/null 2>&1');

unshift @INC, "$tests/lib";
require Test::Nginx::HTTP3;

my $SECRET = 'h3-secret-0123456789abcdef';
my $WRONG = 'wrong-secret-0000000000000';
my $dir = $t->dir;

system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
    . "-keyout $dir/localhost.key -out $dir/localhost.crt >$dir/openssl.out 2>&1") == 0
    or BAIL_OUT("openssl could not make a certificate: " . read_file("$dir/openssl.out"));

# Test::Nginx's port(): HTTP3.pm connects to the port it hands out by number.
my $quic = Test::Nginx::port(8980, udp => 1);

$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET, QUIC => $quic);
http {
    ssl_certificate %%DIR%%/localhost.crt;
    ssl_certificate_key %%DIR%%/localhost.key;

    server {
        listen 127.0.0.1:%%QUIC%% quic;
        listen 127.0.0.1:%%PORT%%;

        pbx_webhook_token %%SECRET%%;

        location /hook {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /small {
            pbx_webhook on;
            pbx_webhook_max_body_size 1k;
            pbx_webhook_max_depth 3;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /spill {
            pbx_webhook on;
            client_body_buffer_size 1k;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /ping {
            return 200 "pong\n";
        }
    }
}
EOF
$t->run;

my %STATUS = (
    method => 405, token_missing => 401, token_repeated => 400, token_mismatch => 401,
    content_type => 415, body_too_large => 413, body_empty => 400, json_syntax => 400,
    json_too_deep => 400, duplicate_key => 400, not_object => 422, type_missing => 422,
    type_unknown => 422, field_missing => 422, field_type => 422,
);

my $good = event();
my $id = 0;
my $forwarded = 0;

# Starts a request stream. Options: method, path, token (undef: none), tokens
# (several), content_type, length (Content-Length; default the body's, undef
# with nolen => 1), body, frames (DATA frame size: one frame, one packet each),
# hold (send the HEADERS only, stream left open), id (X-Test-Id).
sub start {
    my ($s, %o) = @_;
    my $body = $o{body};
    my @h = ([':method', $o{method} // 'POST'], [':scheme', 'https'],
        [':path', $o{path} // '/hook'], [':authority', 'localhost']);
    push @h, ['x-pbx-token', $o{token}] if defined $o{token};
    push @h, map { ['x-pbx-token', $_] } @{$o{tokens} // []};
    push @h, ['content-type', $o{content_type}] if defined $o{content_type};
    my $length = exists $o{length} ? $o{length} : defined $body ? length $body : undef;
    push @h, ['content-length', $length] if defined $length && !$o{nolen};
    push @h, ['x-test-id', $o{id}] if defined $o{id};

    my $open = defined $body || $o{hold};
    my $sid = $s->new_stream({ headers => [map { { name => $_->[0], value => $_->[1] } } @h],
        body_more => $open ? 1 : 0 });
    return $sid if $o{hold} || !defined $body;

    # DATA frames of $size bytes, as many to a packet as fit in ~1000 bytes:
    # the client does not resend a lost packet, so few packets.
    my $size = $o{frames} // 1000;
    my @pieces = length $body ? unpack("(a$size)*", $body) : ();
    while (@pieces) {
        my @packet = shift @pieces;
        my $bytes = length($packet[0]) + 3;
        while (@pieces && $bytes + length($pieces[0]) + 3 <= 1000) {
            $bytes += length($pieces[0]) + 3;
            push @packet, shift @pieces;
        }
        my @split = map { length } @packet[0 .. $#packet - 1];
        $s->h3_body(join('', @packet), $sid, { body_more => 1, body_split => \@split });
    }
    $s->h3_body('', $sid);
    return $sid;
}

# The response on stream $sid: { status, headers, body }, or undef.
sub response {
    my ($s, $sid, $wait) = @_;
    my $frames = $s->read(all => [{ sid => $sid, fin => 1 }], wait => $wait // $t->timeout(30));
    my ($h) = grep { $_->{type} eq 'HEADERS' && $_->{sid} == $sid } @$frames;
    return undef unless $h;
    my $body = join '', map { $_->{data} } grep { $_->{type} eq 'DATA' && $_->{sid} == $sid }
        @$frames;
    return { status => $h->{headers}{':status'}, headers => $h->{headers}, body => $body };
}

my @CLIENTS;

sub client {
    my $s = Test::Nginx::HTTP3->new(8980) or BAIL_OUT('no QUIC handshake with nginx');
    push @CLIENTS, $s;
    return $s;
}

# One request on connection $s, checked as reasons.t checks it over HTTP/1.1:
# status, logged result and reason, and what reached the backend.
sub check {
    my ($s, $name, $reason, %req) = @_;
    my $status = $reason eq 'ok' ? 200 : $STATUS{$reason} // die $reason;
    my $tid = ++$id;

    subtest "h3, $name: $reason" => sub {
        my $r = response($s, start($s, token => $SECRET, content_type => 'application/json',
            %req, id => $tid));
        is($r && $r->{status}, $status, "status $status");
        my $e = $t->next_log(id => $tid);
        is($e->{status}, $status, 'logged status');
        is($e->{result}, $reason eq 'ok' ? 'accepted' : 'rejected', '$pbx_webhook_result');
        is($e->{reason}, $reason, '$pbx_webhook_reason');
        if ($reason eq 'ok') {
            $forwarded++;
            is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($req{body}),
                'backend got the same bytes');
        } else {
            ok(length $e->{detail}, '$pbx_webhook_detail is set');
            ok(!exists $r->{headers}{'x-backend-seq'}, 'answered by nginx');
        }
        is($t->backend_requests, $forwarded, 'backend saw only accepted events');
    };
}

###############################################################################

my $s = client();

check($s, 'a valid event', 'ok', body => $good);
check($s, 'GET', 'method', method => 'GET');
check($s, 'PUT', 'method', method => 'PUT', body => $good);
check($s, 'no token', 'token_missing', token => undef, body => $good);
check($s, 'two tokens', 'token_repeated', token => undef, tokens => [$SECRET, $SECRET],
    body => $good);
check($s, 'wrong token', 'token_mismatch', token => $WRONG, body => $good);
check($s, 'text/plain', 'content_type', content_type => 'text/plain', body => $good);
check($s, 'no Content-Type', 'content_type', content_type => undef, body => $good);
check($s, 'Content-Length over 1k', 'body_too_large', path => '/small',
    body => event(pad => 'x' x 1100));
check($s, 'over 1k without Content-Length', 'body_too_large', path => '/small',
    body => event(pad => 'x' x 1100), nolen => 1, frames => 100);
check($s, 'Content-Length: 0', 'body_empty', body => '');
check($s, 'no body at all', 'body_empty');
check($s, 'syntax error', 'json_syntax', body => "$good x");
check($s, 'too deep', 'json_too_deep', path => '/small',
    body => '{"type":"user_outbound","a":{"b":{"c":{"d":1}}}}');
check($s, 'duplicate key', 'duplicate_key',
    body => '{"type":"user_outbound","type":"user_outbound"}');
check($s, 'an array', 'not_object', body => '[1,2]');
check($s, 'no type', 'type_missing', body => '{"unique_call_id":"1"}');
check($s, 'unknown type', 'type_unknown', body => event(type => 'nope'));
check($s, 'field missing', 'field_missing', body => '{"type":"user_outbound","unique_call_id":"1"}');
check($s, 'field of the wrong type', 'field_type', body => event(user_number => \'201'));

subtest 'h3: the connection serves on after the refusals' => sub {
    check($s, 'after refusals', 'ok', body => $good);
    my $r = response($s, start($s, method => 'GET', path => '/ping', token => undef));
    is($r && $r->{status}, 200, 'ungated location answers');
};

subtest 'h3: bad token answered before any DATA frame is sent' => sub {
    my $c = client();
    my $tid = ++$id;
    my $sid = start($c, token => $WRONG, content_type => 'application/json',
        length => length $good, hold => 1, id => $tid);
    my $r = response($c, $sid);
    is($r && $r->{status}, 401, '401 with the body unsent');
    is($t->next_log(id => $tid)->{reason}, 'token_mismatch', 'reason');

    $tid = ++$id;
    $sid = start($c, token => $SECRET, content_type => 'application/json',
        length => length $good, hold => 1, id => $tid);
    ok(!response($c, $sid, 1), 'a good token waits for the body');
    $c->h3_body($good, $sid);
    $r = response($c, $sid);
    is($r && $r->{status}, 200, 'then the body is judged and passed on');
    $forwarded++;
    is($t->next_log(id => $tid)->{reason}, 'ok', 'reason');
};

my $utf8 = event(user_name => "M\xc4\x81ori \xe2\x82\xac \xf0\x9f\x93\x9e",
    caller_name => \'"esc \u00e9 \ud83d\udcde \" \\\\ \/"');
my $big = event(pad => 'x' x 8000, caller_name => "\xc3\xa9" x 50);
for my $size (1, 3, 7, 64) {
    check($s, "body in $size-byte DATA frames", 'ok', body => $utf8, frames => $size);
}
check($s, 'body in 1-byte DATA frames, no Content-Length', 'ok', body => $utf8, frames => 1,
    nolen => 1);
check($s, '8 KB in 1000-byte DATA frames', 'ok', body => $big);
check($s, '8 KB spilled to a temp file', 'ok', path => '/spill', body => $big);
check($s, '8 KB spilled, no Content-Length', 'ok', path => '/spill', body => $big, nolen => 1);
check($s, '8 KB spilled, field missing', 'field_missing', path => '/spill',
    body => $big =~ s/"dest_number":"[^"]*",//r);
ok(scalar $t->error_log_grep(qr/a client request body is buffered to a temporary file/),
    'bodies were spilled to temp files');

# Told to quit, nginx waits 7-10 s for its QUIC connections to go, whether
# or not the client closed them: a fast stop instead.
$_->DESTROY for $s, @CLIENTS;
kill 'TERM', $t->master_pid;
my $deadline = time + $t->timeout(10);
select(undef, undef, undef, 0.1) while $t->master_pid && time < $deadline;
$t->stop;
$t->error_log_clean;

done_testing;

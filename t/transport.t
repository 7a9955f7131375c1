#!/usr/bin/perl

# The gate over every way a body arrives: HTTP/1.0, HTTP/1.1 with
# Content-Length and chunked, HTTP/2 (h2c), bodies kept in memory and spilled
# to temp files, Expect: 100-continue, many requests on one keep-alive
# connection, bodies trickled in small pieces. The backend must get exactly
# the bytes the client sent.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'transport-secret-0123456789';
my $WRONG = 'wrong-secret-0000000000000';

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        listen 127.0.0.1:%%PORT_h2%% http2;
        lingering_timeout 1s;

        pbx_webhook_token %%SECRET%%;

        location /hook {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /spill {
            pbx_webhook on;
            client_body_buffer_size 1k;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /small {
            pbx_webhook on;
            pbx_webhook_max_body_size 1k;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /ping {
            return 200 "pong\n";
        }
    }
}
EOF
$t->run;

my %events = PbxTest::example_events();
my $good = $events{user_inbound_answered};
my $utf8 = event(user_name => "M\xc4\x81ori \xe2\x82\xac \xf0\x9f\x93\x9e",
    caller_name => \'"esc \u00e9 \ud83d\udcde \" \\\\ \/"');
my $big = event(pad => 'x' x 8000, caller_name => "\xc3\xa9" x 50);
my $forwarded = 0;
my $id = 0;

# One request, checked: status, and for an accepted one that the backend got
# the same bytes; for a rejected one the reason in the log.
sub one {
    my ($name, $status, $reason, %req) = @_;
    my $via = delete $req{via} // 'http1';
    my $tid = ++$id;
    my $r;

    if ($via eq 'h2') {
        $r = $t->h2(port => $t->port('h2'), path => '/hook', token => $SECRET, %req,
            headers => [['X-Test-Id', $tid]]);
    } else {
        $r = $t->post(path => '/hook', token => $SECRET, %req, id => $tid);
    }

    subtest "$name: $status" => sub {
        is($r && $r->{status}, $status, "status $status");
        if ($status == 200) {
            $forwarded++;
            is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($req{body}),
                'backend got the same bytes');
        } else {
            ok(!exists $r->{headers}{'x-backend-seq'}, 'not passed on');
        }
        my $e = $t->next_log(id => $tid);
        is($e->{reason}, $reason, "reason $reason");
    };
}

# HTTP/1.0 and HTTP/1.1

one('HTTP/1.0, Content-Length', 200, 'ok', version => '1.0', body => $good);
one('HTTP/1.0, no Host', 200, 'ok', version => '1.0', host => undef, body => $good);
one('HTTP/1.0, wrong token', 401, 'token_mismatch', version => '1.0', token => $WRONG,
    body => $good);
one('HTTP/1.0, unknown type', 422, 'type_unknown', version => '1.0',
    body => event(type => 'nope'));
one('HTTP/1.1, Content-Length', 200, 'ok', body => $good);
one('HTTP/1.1, UTF-8 and escapes', 200, 'ok', body => $utf8);

# chunked, with chunk edges anywhere (inside escapes and UTF-8 sequences)

for my $sizes ([1], [2, 3, 5], [7], [64], [length $utf8]) {
    my $label = join ',', @$sizes;
    one("chunked [$label]", 200, 'ok', body => $utf8, chunked => $sizes);
}
one('chunked, unknown type', 422, 'type_unknown', body => event(type => 'nope'),
    chunked => [3]);
one('chunked, syntax error', 400, 'json_syntax', body => "$good,", chunked => [1]);
one('chunked, invalid UTF-8 split across chunks', 400, 'json_syntax',
    body => qq({"type":"user_outbound","x":"\xe2\x82\x41"}), chunked => [1]);
one('chunked, over max size', 413, 'body_too_large', path => '/small',
    body => event(pad => 'x' x 2000), chunked => [100]);

# HTTP/2

for my $type (sort keys %events) {
    one("h2, sample $type", 200, 'ok', via => 'h2', body => $events{$type});
}
one('h2, UTF-8 and escapes', 200, 'ok', via => 'h2', body => $utf8);
# curl only where nginx reads the body before it answers: curl 7.88 drops an
# answer that comes (with RST_STREAM) before it has sent the body, so early
# rejections go through our own client below.
one('h2, GET', 405, 'method', via => 'h2', method => 'GET');
one('h2, empty body', 400, 'body_empty', via => 'h2', body => '');
one('h2, syntax error', 400, 'json_syntax', via => 'h2', body => '{"type":');
one('h2, unknown type', 422, 'type_unknown', via => 'h2', body => event(type => 'nope'));
one('h2, field missing', 422, 'field_missing', via => 'h2',
    body => '{"type":"user_outbound","unique_call_id":"1"}');
one('h2, 8 KB spilled to a temp file', 200, 'ok', via => 'h2', path => '/spill', body => $big);

subtest 'h2: many streams on one connection, early answers before the body' => sub {
    my $h = $t->h2_connect(port => $t->port('h2'));
    my $json = ['content-type', 'application/json'];
    my $token = ['x-pbx-token', $SECRET];
    my $first_id = $id + 1;

    # [status, reason, hold the body back?, request]
    my @steps = (
        [401, 'token_missing', 1, body => $good, headers => [$json]],
        [200, 'ok', 0, body => $good, headers => [$json, $token]],
        [401, 'token_mismatch', 1, body => $good, headers => [$json, ['x-pbx-token', $WRONG]]],
        [415, 'content_type', 1, body => $good, headers => [['content-type', 'text/plain'], $token]],
        [413, 'body_too_large', 1, path => '/small', body => $big,
            headers => [$json, $token, ['content-length', length $big]]],
        [400, 'token_repeated', 1, body => $good, headers => [$json, $token, $token]],
        [200, 'ok', 0, body => $utf8, headers => [$json, $token], frame_size => 7],
        [422, 'type_unknown', 0, body => event(type => 'nope'), headers => [$json, $token]],
        [400, 'json_syntax', 0, body => "$good}", headers => [$json, $token], frame_size => 50],
        [405, 'method', 0, method => 'PUT', body => $good, headers => [$json, $token]],
        [200, 'ok', 0, path => '/spill', body => $big, headers => [$json, $token],
            frame_size => 3000],
    );

    for my $step (@steps) {
        my ($status, $reason, $hold, %req) = @$step;
        my $tid = ++$id;
        push @{$req{headers}}, ['x-test-id', $tid];
        my $sid = $h->request(path => '/hook', %req, hold_body => $hold);
        my $r = $h->response($sid);
        is($r && $r->{status}, $status, "stream $sid: $reason, status $status"
            . ($hold ? ', before the body was sent' : ''));
        if ($status == 200) {
            like($r->{body}, qr/^sha256 @{[sha256_hex($req{body})]}$/m, 'same bytes');
            $forwarded++;
        }
        is($t->next_log(id => $tid)->{reason}, $reason, "reason $reason");
    }
    ok(!$h->gone(0.3), 'connection still open');
    $h->close;
};

subtest 'h2: body sent after an early answer, and a stream reset mid-body' => sub {
    my $h = $t->h2_connect(port => $t->port('h2'));
    my $json = ['content-type', 'application/json'];

    my $sid = $h->request(path => '/hook', body => $good, hold_body => 1,
        headers => [$json, ['x-pbx-token', $WRONG], ['x-test-id', ++$id]]);
    my $r = $h->response($sid);
    is($r && $r->{status}, 401, '401 before the body');
    $h->send_body($sid);
    is($t->next_log(id => $id)->{reason}, 'token_mismatch', 'reason');

    $sid = $h->request(path => '/hook', body => $good, hold_body => 1,
        headers => [$json, ['x-pbx-token', $SECRET], ['x-test-id', ++$id]]);
    $h->send_data($sid, substr($good, 0, 20));
    $h->reset($sid);

    $sid = $h->request(path => '/hook', body => $utf8,
        headers => [$json, ['x-pbx-token', $SECRET], ['x-test-id', ++$id]]);
    $r = $h->response($sid);
    is($r && $r->{status}, 200, 'the connection still serves');
    like($r->{body}, qr/^sha256 @{[sha256_hex($utf8)]}$/m, 'same bytes');
    $forwarded++;
    is($t->next_log(id => $id)->{reason}, 'ok', 'reason ok');

    # the end of the stream in an empty DATA frame
    $sid = $h->request(path => '/hook', body => '', hold_body => 1,
        headers => [$json, ['x-pbx-token', $SECRET], ['x-test-id', ++$id]]);
    $h->end_stream($sid);
    $r = $h->response($sid);
    is($r && $r->{status}, 400, 'empty body ended by an empty DATA frame: 400');
    is($t->next_log(id => $id)->{reason}, 'body_empty', 'reason');

    $sid = $h->request(path => '/hook', body => $good, hold_body => 1,
        headers => [$json, ['x-pbx-token', $SECRET], ['x-test-id', ++$id]]);
    $h->send_data($sid, $good);
    $h->end_stream($sid);
    $r = $h->response($sid);
    is($r && $r->{status}, 200, 'body, then an empty DATA frame with END_STREAM: 200');
    like($r->{body}, qr/^sha256 @{[sha256_hex($good)]}$/m, 'same bytes');
    $forwarded++;

    # no content-length: the size is counted as DATA comes
    my $over = event(pad => 'x' x 3000);
    $sid = $h->request(path => '/small', body => $over, frame_size => 500,
        headers => [$json, ['x-pbx-token', $SECRET], ['x-test-id', ++$id]]);
    $r = $h->response($sid);
    is($r && $r->{status}, 413, 'over max size without content-length: 413');
    is($t->next_log(id => $id)->{reason}, 'body_too_large', 'reason');

    $sid = $h->request(path => '/small', body => $over, hold_body => 1,
        headers => [$json, ['x-pbx-token', $SECRET], ['x-test-id', ++$id]]);
    $h->send_data($sid, substr($over, 0, 1500));
    $r = $h->response($sid);
    is($r && $r->{status}, 413, '413 before the stream ends');
    ok(!$h->gone(0.3), 'connection still open');
    $h->close;
};

# bodies in memory and spilled to temp files (client_body_buffer_size 1k)

one('8 KB, Content-Length, spilled', 200, 'ok', path => '/spill', body => $big);
one('8 KB, chunked [1000], spilled', 200, 'ok', path => '/spill', body => $big,
    chunked => [1000]);
one('8 KB, chunked [8192], spilled', 200, 'ok', path => '/spill', body => $big,
    chunked => [8192]);
one('8 KB, chunked [1], spilled', 200, 'ok', path => '/spill', body => $big, chunked => [1]);
one('8 KB in memory', 200, 'ok', body => $big);
one('8 KB spilled, syntax error at the end', 400, 'json_syntax', path => '/spill',
    body => "$big]");
one('8 KB spilled, field missing', 422, 'field_missing', path => '/spill',
    body => $big =~ s/"dest_number":"[^"]*",//r);
ok(scalar $t->error_log_grep(qr/a client request body is buffered to a temporary file/),
    'bodies were spilled to temp files');

# Expect: 100-continue

sub expect_request {
    my (%req) = @_;
    my ($head, $body) = build_request(path => '/hook', token => $SECRET, expect => 1,
        keepalive => 1, id => ++$id, %req);
    my $c = $t->connect;
    $c->send($head);
    my $first = $c->read_response(timeout => $t->timeout(2));
    return ($c, $first, $body);
}

subtest 'Expect: 100-continue, good event' => sub {
    my ($c, $first, $body) = expect_request(body => $good);
    is($first && $first->{status}, 100, '100 Continue first');
    $c->send($body);
    my $r = $c->read_response;
    is($r && $r->{status}, 200, 'then status 200');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($good), 'same bytes');
    $forwarded++;
    $c->close;
};

for my $case (
    ['wrong token', 401, 'token_mismatch', token => $WRONG, body => $good],
    ['no token', 401, 'token_missing', token => undef, body => $good],
    ['text/plain', 415, 'content_type', content_type => 'text/plain', body => $good],
    ['Content-Length over max', 413, 'body_too_large', path => '/small', body => $big],
    ['two tokens', 400, 'token_repeated', token => undef, tokens => [$SECRET, $SECRET],
        body => $good],
    ['wrong token, chunked', 401, 'token_mismatch', token => $WRONG, body => $good,
        chunked => [10]],
) {
    my ($name, $status, $reason, %req) = @$case;
    subtest "Expect: 100-continue, $name: $status before the body, never 100" => sub {
        my ($c, $first, $body) = expect_request(%req);
        is($first && $first->{status}, $status, "$status at once");
        if ($status == 401 || $status == 415) {
            # the client sends the body anyway; nginx discards it
            $c->send($body);
            $c->send("GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
            my $p = $c->read_response;
            is($p && $p->{status}, 200, 'connection goes on');
        } else {
            ok($c->closed($t->timeout(4)), 'connection closed');
        }
        unlike($c->{in} . ($first ? $first->{raw} : ''), qr/HTTP\/1\.1 100/, 'no 100 Continue');
        $c->close;
        is($t->next_log(id => $id)->{reason}, $reason, "reason $reason");
    };
}

subtest 'Expect: 100-continue, unknown type: 100, then 422' => sub {
    my ($c, $first, $body) = expect_request(body => event(type => 'nope'));
    is($first && $first->{status}, 100, '100 Continue');
    $c->send($body);
    my $r = $c->read_response;
    is($r && $r->{status}, 422, 'status 422');
    $c->close;
    is($t->next_log(id => $id)->{reason}, 'type_unknown', 'reason');
};

subtest 'Expect: 100-continue with HTTP/1.0: no 100' => sub {
    my ($head, $body) = build_request(path => '/hook', token => $SECRET, expect => 1,
        version => '1.0', body => $good, id => ++$id);
    my $c = $t->connect;
    $c->send($head);
    is($c->pending(0.3), '', 'nothing before the body');
    $c->send($body);
    my $r = $c->read_response;
    is($r && $r->{status}, 200, 'status 200');
    $forwarded++;
    $c->close;
    is($t->next_log(id => $id)->{reason}, 'ok', 'reason ok');
};

# Many requests on one keep-alive connection. The bad ones are of the kinds
# after which the connection stays open.

my @kinds = (
    [200, 'ok', body => $good],
    [401, 'token_mismatch', token => $WRONG, body => $good],
    [405, 'method', method => 'GET'],
    [415, 'content_type', content_type => 'text/plain', body => $good],
    [422, 'type_unknown', body => event(type => 'nope')],
    [200, 'ok', body => $utf8, chunked => [5]],
    [401, 'token_missing', token => undef, body => $big],
    [422, 'field_missing', body => '{"type":"voicemail","unique_call_id":"1"}', chunked => [4]],
    [200, 'ok', path => '/spill', body => $big],
    [405, 'method', method => 'DELETE', body => $good],
);

sub mixed {
    my ($n, $seed) = @_;
    my @plan;
    my $x = $seed;
    for my $i (1 .. $n) {
        $x = ($x * 1103515245 + 12345) % 2147483648;
        push @plan, $kinds[($x >> 8) % @kinds];
    }
    return @plan;
}

subtest '100 mixed requests, one after another, on one connection' => sub {
    my @plan = mixed(100, 7);
    my $c = $t->connect;
    my ($right, $good_ones) = (0, 0);
    my $first_id = $id + 1;

    for my $k (@plan) {
        my ($status, $reason, %req) = @$k;
        $c->send(scalar build_request(path => '/hook', token => $SECRET, keepalive => 1,
            id => ++$id, %req));
        my $r = $c->read_response;
        my $ok = $r && $r->{status} == $status;
        if ($ok && $status == 200) {
            $ok = ($r->{headers}{'x-backend-body-sha256'} // '') eq sha256_hex($req{body});
            $good_ones++;
        }
        $right++ if $ok;
        diag("request $id: want $status, got " . ($r ? $r->{status} : 'nothing')) unless $ok;
        last unless $r;
    }
    is($right, 100, 'every answer right');
    ok(!$c->closed(0.2), 'connection still open');
    $c->close;
    $forwarded += $good_ones;

    my @e = map { $t->next_log(id => $first_id + $_) } 0 .. 99;
    is(join(',', map { $_->{reason} // '-' } @e), join(',', map { $_->[1] } @plan),
        'reasons in the log');
    is(join(',', map { $_->{requests} // '-' } @e), join(',', 1 .. 100),
        'all on one connection, requests 1 to 100');
};

subtest '30 mixed requests pipelined in one write' => sub {
    my @plan = mixed(30, 99);
    my $first_id = $id + 1;
    my $bytes = join '', map {
        my ($status, $reason, %req) = @$_;
        scalar build_request(path => '/hook', token => $SECRET, keepalive => 1, id => ++$id,
            %req);
    } @plan;
    my $c = $t->connect;
    $c->send($bytes);
    my @r = map { $c->read_response } @plan;
    is(join(',', map { $_ ? $_->{status} : '-' } @r), join(',', map { $_->[0] } @plan),
        'statuses in order');
    my @sums = map { $_->[0] == 200 ? sha256_hex({ @$_[2 .. $#$_] }->{body}) : () } @plan;
    my @got = map { $_ && $_->{status} == 200 ? $_->{headers}{'x-backend-body-sha256'} : () } @r;
    is("@got", "@sums", 'accepted bodies reached the backend unchanged');
    $forwarded += @sums;
    $c->close;
    my @e = map { $t->next_log(id => $first_id + $_) } 0 .. 29;
    is(join(',', map { $_->{reason} // '-' } @e), join(',', map { $_->[1] } @plan),
        'reasons in the log');
};

# bodies trickled in small pieces

sub trickled {
    my ($name, $status, $reason, $piece, %req) = @_;
    subtest "trickled in $piece-byte pieces: $name" => sub {
        my ($head, $body) = build_request(path => '/hook', token => $SECRET, id => ++$id, %req);
        my $c = $t->connect;
        $c->send($head);
        $c->trickle($body, $piece, 0.005);
        my $r = $c->read_response;
        is($r && $r->{status}, $status, "status $status");
        if ($status == 200) {
            is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($req{body}), 'same bytes');
            $forwarded++;
        }
        $c->close;
        is($t->next_log(id => $id)->{reason}, $reason, "reason $reason");
    };
}

trickled('good event', 200, 'ok', 3, body => $utf8);
trickled('good event, chunked', 200, 'ok', 4, body => $utf8, chunked => [3]);
trickled('syntax error', 400, 'json_syntax', 5, body => "$good}");
trickled('unknown type', 422, 'type_unknown', 5, body => event(type => 'nope'));
trickled('too deep', 400, 'json_too_deep', 2, body => event(a => \('[' x 20 . ']' x 20)));

subtest 'headers and body trickled together' => sub {
    my $bytes = build_request(path => '/hook', token => $SECRET, id => ++$id, body => $good);
    my $c = $t->connect;
    $c->trickle($bytes, 9, 0.003);
    my $r = $c->read_response;
    is($r && $r->{status}, 200, 'status 200');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($good), 'same bytes');
    $forwarded++;
    $c->close;
    $t->next_log(id => $id);
};

# a decision that needs no more bytes does not wait for them

subtest 'chunked body over the max: 413 before the body ends' => sub {
    my ($head) = build_request(path => '/small', token => $SECRET, body => 'x', chunked => [1],
        id => ++$id);
    my $start = '{"type":"user_outbound","pad":"';
    my $c = $t->connect;
    $c->send($head);
    $c->send(sprintf("%x\r\n%s\r\n", length $start, $start));
    $c->send(join '', ("100\r\n" . ('x' x 256) . "\r\n") x 5);    # 1311 bytes, no last chunk
    my $r = $c->read_response(timeout => $t->timeout(3));
    is($r && $r->{status}, 413, '413 without the rest');
    $c->close;
    is($t->next_log(id => $id)->{reason}, 'body_too_large', 'reason');
};

subtest 'syntax error early in a long body: 400 before the body ends' => sub {
    my ($head) = build_request(path => '/hook', token => $SECRET, length => 5000, id => ++$id);
    my $c = $t->connect;
    $c->send($head);
    $c->send('{"type" "user_outbound"' . ' ' x 100);
    my $r = $c->read_response(timeout => $t->timeout(3));
    is($r && $r->{status}, 400, '400 without the rest');
    $c->close;
    is($t->next_log(id => $id)->{reason}, 'json_syntax', 'reason');
};

is($t->backend_requests, $forwarded, 'the backend got exactly the accepted events');

$t->stop;

done_testing;

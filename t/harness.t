#!/usr/bin/perl

# The test helper and the recording backend themselves, with plain nginx (no
# module): if these fail, the other files' results mean nothing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $t = PbxTest->new(module => 0);
$t->start_backend;
$t->write_config(<<'EOF2');
http {
    log_format t escape=json '$status\t$request_method\t$request_length\t$http_x_empty\t$http_x_value';
    server {
        listen 127.0.0.1:%%PORT%%;
        listen 127.0.0.1:%%PORT_h2%% http2;
        access_log %%DIR%%/t.log t;
        client_body_buffer_size 1k;
        location / {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
        location = /teapot {
            return 418 "teapot\n";
        }
    }
}
EOF2
$t->run;

my @f = (fields => [qw(status method length empty value)], file => 't.log');
my $body = '{"type":"x","n":' . ('1' x 50) . '}';

my $r = $t->post(path => '/a', body => $body, token => 'secret-1234567890');
is($r->{status}, 200, 'content-length: status');
is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'content-length: body sha256');
is($r->{headers}{'x-backend-token'}, 'secret-1234567890', 'token header seen by backend');
is($r->{headers}{'x-backend-seq'}, 1, 'backend sequence');
like($r->{body}, qr{^POST /a HTTP/1\.[01]\r$}m, 'backend echoes the request head');

my $e = $t->next_log(@f);
is($e->{status}, '200', 'access log status');
is($e->{empty}, '', 'json escaping logs an absent variable as empty');

$r = $t->post(path => '/b', body => $body, chunked => [3, 5]);
is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'chunked: body sha256');
is($r->{headers}{'x-backend-token'}, '-', 'no token: backend says -');
$t->next_log(@f);

my $big = '{"pad":"' . ('x' x 8000) . '"}';
$r = $t->post(body => $big, version => '1.0');
is($r->{version}, '1.1', 'HTTP/1.0 request answered');
is($r->{headers}{'x-backend-body-length'}, length $big, 'HTTP/1.0, spilled body: length');
$t->next_log(@f);

$r = $t->h2(path => '/h2', body => $body, port => $t->port('h2'), token => 'tok-h2-1234567890',
    headers => [['X-Value', "tab\there \"q\""]]);
is($r->{status}, 200, 'h2: status');
is($r->{version}, '2', 'h2: HTTP/2 used');
is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'h2: body sha256');
$e = $t->next_log(@f);
is($e->{value}, "tab\there \"q\"", 'json escapes are undone in next_log');

# our own HTTP/2 client: several streams on one connection
my $h = $t->h2_connect(port => $t->port('h2'));
my $s1 = $h->request(method => 'GET', path => '/teapot');
$r = $h->response($s1);
is($r && $r->{status}, 418, 'h2 client: status');
is($r->{body}, "teapot\n", 'h2 client: body');
my $s2 = $h->request(path => '/h2', body => $big, headers => [['Content-Type', 'application/json']],
    frame_size => 1000);
$r = $h->response($s2);
is($r && $r->{status}, 200, 'h2 client: POST');
like($r->{body}, qr/^sha256 @{[sha256_hex($big)]}$/m, 'h2 client: body reached the backend');
my $s3 = $h->request(path => '/teapot', body => $body, hold_body => 1);
$r = $h->response($s3);
is($r && $r->{status}, 418, 'h2 client: answer before the body is sent');
ok(!$h->gone(0.2), 'h2 client: connection still open');
$h->close;
$t->next_log(@f) for 1 .. 3;

# pipelined keep-alive requests on one connection
my $c = $t->connect;
$c->send(join '', map { build_request(path => "/p$_", body => "{\"i\":$_}", keepalive => 1) } 1 .. 5);
my @seen = map { $c->read_response } 1 .. 5;
is(scalar(grep { $_ && $_->{status} == 200 } @seen), 5, 'pipelined: five answers');
is(join(',', map { $_->{headers}{'x-backend-body-length'} } @seen), '7,7,7,7,7', 'pipelined: bodies');
ok(!$c->closed(0.3), 'keep-alive connection stays open');
$c->send(build_request(method => 'GET', path => '/teapot', keepalive => 1));
$r = $c->read_response;
is($r->{status}, 418, 'then one more on it');
$c->close;
$t->next_log(@f) for 1 .. 6;

# Expect: 100-continue: plain nginx proxying asks for the body
my ($head, $payload) = build_request(body => $body, expect => 1);
$c = $t->connect;
$c->send($head);
$r = $c->read_response(timeout => $t->timeout(3));
is($r && $r->{status}, 100, 'expect: 100 Continue');
$c->send($payload);
$r = $c->read_response;
is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'expect: body after 100');
$c->close;
$t->next_log(@f);

# the same through the helpers
my ($interim, $final) = $t->post_expect(body => $body, path => '/e');
is($interim && $interim->{status}, 100, 'post_expect: 100 Continue');
is($final && $final->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'post_expect: body');
my @p = $t->pipeline({ path => '/p1', body => '{}' }, { method => 'GET', path => '/teapot' },
    { path => '/p3', body => '[]' });
is(join(',', map { $_ ? $_->{status} : '-' } @p), '200,418,200', 'pipeline');
$t->next_log(@f) for 1 .. 4;

# a trickled body
($head, $payload) = build_request(body => $body);
$c = $t->connect;
$c->send($head);
$c->trickle($payload, 7, 0.02);
$r = $c->read_response;
is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'trickled body');
$c->close;
$t->next_log(@f);

# 400 closes the connection
$c = $t->connect;
$c->send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
$r = $c->read_response;
is($r->{status}, 400, 'bad request');
ok($c->closed(2), '400 closes the connection');
$c->close;

is($t->backend_requests, 15, 'backend counted every proxied request');
$t->backend_reset;
is($t->backend_requests, 0, 'backend reset');

my ($rc, $out) = $t->test_config("http { server { listen 127.0.0.1:%%PORT%%; no_such_thing; } }\n");
is($rc, 1, 'nginx -t fails');
like($out, qr/\[emerg\] unknown directive "no_such_thing"/, 'nginx -t output');

($rc, $out) = $t->test_config("http { server { listen 127.0.0.1:%%PORT%%; server_name a/b; } }\n");
is($rc, 0, 'nginx -t passes with a warning');
like($out, qr/\[warn\].*suspicious symbols/, 'nginx -t warning');

SKIP: {
    skip 'reload needs a master process (valgrind)', 2 if $t->valgrind;
    ok($t->reload, 'reload');
    is($t->post(method => 'GET', path => '/teapot')->{status}, 418, 'serves after reload');
}

$t->stop;

done_testing;

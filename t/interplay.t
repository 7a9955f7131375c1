#!/usr/bin/perl

# The gate next to other nginx features that touch the request or its body:
# return, set, rewrite, client_body_in_file_only, proxy_request_buffering
# off, client_max_body_size, client_body_timeout, a client that goes away,
# mirror, deny, an upstream that is down.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use PbxTest;

my $SECRET = 'interplay-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend;
$t->start_backend(name => 'mirror');
my $dead = PbxTest::free_port();
$t->write_config(<<'EOF', SECRET => $SECRET, DEAD => $dead);
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        pbx_webhook_token %%SECRET%%;
        default_type text/plain;
        lingering_timeout 1s;

        location /return {
            pbx_webhook on;
            return 200 "reached $pbx_webhook_result\n";
        }

        location /set {
            pbx_webhook on;
            set $seen "$pbx_webhook_result/$pbx_event_type";
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /alias {
            rewrite ^ /hook last;
        }

        location /hook {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /file-only {
            pbx_webhook on;
            client_body_in_file_only on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /unbuffered {
            pbx_webhook on;
            proxy_request_buffering off;
            proxy_http_version 1.1;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /nginx-limit {
            pbx_webhook on;
            client_max_body_size 100;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /slow {
            pbx_webhook on;
            client_body_timeout 1s;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /mirrored {
            pbx_webhook on;
            mirror /mirror;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /mirror {
            internal;
            proxy_pass http://127.0.0.1:%%BACKEND_mirror%%;
        }

        location /denied {
            pbx_webhook on;
            deny all;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /down {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%DEAD%%;
        }

        location = /ping {
            return 200 "pong\n";
        }
    }
}
EOF
$t->run;

my $good = event();
my $big = event(pad => 'q' x 9000);
my $id = 0;
my $forwarded = 0;

sub case {
    my ($name, $status, $reason, %req) = @_;
    my $tid = ++$id;
    my $r = $t->post(token => $SECRET, id => $tid, %req);
    my $e = $t->next_log(id => $tid);
    subtest "$req{path}: $name" => sub {
        is($r && $r->{status}, $status, "status $status");
        is($e->{reason}, $reason, "reason '$reason'") if defined $reason;
        if ($r && $r->{headers}{'x-backend-seq'}) {
            $forwarded++;
            is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($req{body}), 'same bytes');
        }
    };
    return $r;
}

# return runs in the rewrite phase, before access: the gate still comes first
case('return, no token', 401, 'token_missing', path => '/return', token => undef, body => $good);
case('return, bad event', 422, 'type_unknown', path => '/return', body => event(type => 'x'));
my $r = case('return, good event', 200, 'ok', path => '/return', body => $good);
is($r->{body}, "reached accepted\n", 'return sees the verdict');

case('set in the rewrite phase does not freeze the variables', 200, 'ok', path => '/set',
    body => $good);
case('rewrite into a gated location, no token', 401, 'token_missing', path => '/alias',
    token => undef, body => $good);
case('rewrite into a gated location, good event', 200, 'ok', path => '/alias', body => $good);

case('client_body_in_file_only, good', 200, 'ok', path => '/file-only', body => $big);
case('client_body_in_file_only, small', 200, 'ok', path => '/file-only', body => $good);
case('client_body_in_file_only, bad', 400, 'json_syntax', path => '/file-only', body => "$big]");

case('proxy_request_buffering off, Content-Length', 200, 'ok', path => '/unbuffered',
    body => $big);
case('proxy_request_buffering off, chunked', 200, 'ok', path => '/unbuffered', body => $big,
    chunked => [100]);
case('proxy_request_buffering off, bad', 422, 'field_missing', path => '/unbuffered',
    body => '{"type":"voicemail","unique_call_id":"1"}', chunked => [3]);

case('client_max_body_size by Content-Length', 413, undef, path => '/nginx-limit', body => $big);
case('client_max_body_size, chunked', 413, undef, path => '/nginx-limit', body => $big,
    chunked => [50]);
case('client_max_body_size, small event passes', 200, 'ok', path => '/nginx-limit',
    body => '{"type":"voicemail","unique_call_id":"1","caller_id":"","dest_number":""}');

subtest 'client_body_timeout: a body that stops coming' => sub {
    my ($head) = build_request(path => '/slow', token => $SECRET, length => 500, id => ++$id);
    my $c = $t->connect;
    $c->send($head);
    $c->send('{"type":"user_outbound",');
    ok($c->closed($t->timeout(5)), 'nginx closes the connection');
    $c->close;
    is($t->next_log(id => $id)->{status}, '408', 'logged 408');
};

subtest 'the client goes away mid-body' => sub {
    for my $path ('/hook', '/file-only', '/unbuffered') {
        my ($head) = build_request(path => $path, token => $SECRET, length => 5000);
        my $c = $t->connect;
        $c->send($head);
        $c->send('{"type":"user_outbound","pad":"' . 'z' x 2000);
        $c->close;
    }
    my ($head) = build_request(path => '/hook', token => $SECRET, body => 'x', chunked => [1]);
    my $c = $t->connect;
    $c->send($head);
    $c->send("10\r\n{\"type\":\"user_ou");
    $c->close;

    my $p = $t->post(method => 'GET', path => '/ping', content_type => undef);
    is($p && $p->{status}, 200, 'nginx still serves');
};

subtest 'mirror gets the same body' => sub {
    my $r = $t->post(path => '/mirrored', token => $SECRET, body => $big, id => ++$id);
    is($r->{status}, 200, 'status 200');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($big), 'same bytes');
    $forwarded++;
    my $deadline = time + $t->timeout(3);
    sleep 0.1 while ($t->backend_requests('mirror') // 0) < 1 && time < $deadline;
    is($t->backend_requests('mirror'), 1, 'the mirror got it too');
    is($t->next_log(id => $id)->{reason}, 'ok', 'reason ok');
};

case('deny all still denies a good event', 403, undef, path => '/denied', body => $good);

case('accepted, upstream down', 502, 'ok', path => '/down', body => $good);

is($t->backend_requests, $forwarded, 'the backend saw what was passed on');

$t->stop;

done_testing;

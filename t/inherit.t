#!/usr/bin/perl

# Directives set at http or server level apply to the locations below, which
# may override them one by one; a location with "pbx_webhook off" is not gated.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $HTTP = 'http-level-secret-0123456789';
my $SERVER = 'server-level-secret-0123456789';
my $LOC = 'location-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', HTTP => $HTTP, SERVER => $SERVER, LOC => $LOC);
http {
    pbx_webhook on;
    pbx_webhook_token %%HTTP%%;
    pbx_webhook_token_header X-Http-Token;
    pbx_webhook_max_body_size 1k;
    pbx_webhook_content_type off;

    server {
        listen 127.0.0.1:%%PORT%%;

        location /a {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /off {
            pbx_webhook off;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /own-token {
            pbx_webhook_token %%LOC%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /outer {
            pbx_webhook_max_depth 2;

            location /outer/inner {
                proxy_pass http://127.0.0.1:%%BACKEND%%;
            }

            location /outer/off {
                pbx_webhook off;
                proxy_pass http://127.0.0.1:%%BACKEND%%;
            }
        }

        location /monitor {
            pbx_webhook monitor;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /ct {
            pbx_webhook_content_type on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /header {
            pbx_webhook_token_header X-Pbx-Token;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_b%%;
        pbx_webhook_token %%SERVER%%;
        pbx_webhook_event user_outbound;
        pbx_webhook_max_body_size 64k;

        location /b {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /b-events {
            pbx_webhook_event voicemail;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_c%%;
        pbx_webhook off;

        location /c-plain {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /c-on {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

my %samples = PbxTest::example_events();
my $good = event();
my $big = event(pad => 'x' x 2000);
my $id = 0;
my $forwarded = 0;

sub case {
    my ($name, $status, $result, $reason, %req) = @_;
    my $tid = ++$id;
    my $port = delete $req{server};
    $port = $t->port($port) if defined $port;
    my $r = $t->post(port => $port, token => undef, id => $tid, %req);
    my $e = $t->next_log(id => $tid);
    $forwarded++ if $r && $r->{headers}{'x-backend-seq'};

    subtest "$req{path}: $name" => sub {
        is($r && $r->{status}, $status, "status $status");
        is($e->{result}, $result, "result '$result'");
        is($e->{reason}, $reason, "reason '$reason'");
        if ($status == 200) {
            is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($req{body} // ''),
                'passed on unchanged');
        }
    };
    return $e;
}

my @http_token = (headers => [['X-Http-Token', $HTTP]]);

# everything from the http level
case('inherited secret and header', 200, 'accepted', 'ok', path => '/a', body => $good,
    @http_token);
case('X-Pbx-Token is not the header here', 401, 'rejected', 'token_missing', path => '/a',
    body => $good, token => $HTTP);
case('inherited max body size', 413, 'rejected', 'body_too_large', path => '/a', body => $big,
    @http_token);
case('inherited content_type off', 200, 'accepted', 'ok', path => '/a', body => $good,
    content_type => 'text/plain', @http_token);
case('inherited content_type off, no Content-Type', 200, 'accepted', 'ok', path => '/a',
    body => $good, content_type => undef, @http_token);

# off in a location
my $e = case('no token, not gated', 200, '', '', path => '/off', body => $good);
is($e->{token_id}, '', 'no token id where the gate did not run');
is($e->{type}, '', 'no event variables where the gate did not run');
case('GET, not gated', 200, '', '', path => '/off', method => 'GET');
case('not JSON, not gated', 200, '', '', path => '/off', body => 'not json',
    content_type => 'text/plain');
case('over the inherited max size, not gated', 200, '', '', path => '/off', body => $big);

# overrides in a location
$e = case('own secret', 200, 'accepted', 'ok', path => '/own-token', body => $good,
    headers => [['X-Http-Token', $LOC]]);
is($e->{token_id}, '1', 'own secret is number 1');
case('inherited secret replaced by the own one', 401, 'rejected', 'token_mismatch',
    path => '/own-token', body => $good, @http_token);
case('monitor overrides on', 200, 'would_reject', 'token_mismatch', path => '/monitor',
    body => $good, headers => [['X-Http-Token', 'wrong-0123456789abcdef']]);
case('monitor keeps the inherited secret', 200, 'accepted', 'ok', path => '/monitor',
    body => $good, @http_token);
case('content_type on again', 415, 'rejected', 'content_type', path => '/ct', body => $good,
    content_type => 'text/plain', @http_token);
case('default header again', 200, 'accepted', 'ok', path => '/header', body => $good,
    token => $HTTP);

# nested locations
case('depth from the outer location', 400, 'rejected', 'json_too_deep', path => '/outer/inner',
    body => event(a => \'[[1]]'), @http_token);
case('depth 2 is fine', 200, 'accepted', 'ok', path => '/outer/inner',
    body => event(a => \'[1]'), @http_token);
case('off in a nested location', 200, '', '', path => '/outer/off', body => event(a => \'[[1]]'));

# the second server: its own secret, schema and size
case('server secret', 200, 'accepted', 'ok', server => 'b', path => '/b',
    body => $samples{user_outbound}, headers => [['X-Http-Token', $SERVER]]);
case('http secret replaced at server level', 401, 'rejected', 'token_mismatch', server => 'b',
    path => '/b', body => $samples{user_outbound}, @http_token);
case('server allowlist', 422, 'rejected', 'type_unknown', server => 'b', path => '/b',
    body => $samples{user_inbound}, headers => [['X-Http-Token', $SERVER]]);
case('server max size', 200, 'accepted', 'ok', server => 'b', path => '/b', body => $big,
    headers => [['X-Http-Token', $SERVER]]);
case('location allowlist replaces the server one', 200, 'accepted', 'ok', server => 'b',
    path => '/b-events', body => $samples{voicemail}, headers => [['X-Http-Token', $SERVER]]);
case('server type not accepted there', 422, 'rejected', 'type_unknown', server => 'b',
    path => '/b-events', body => $samples{user_outbound}, headers => [['X-Http-Token', $SERVER]]);

# the third server: off at server level, on again in a location
case('off at server level', 200, '', '', server => 'c', path => '/c-plain', body => 'x');
case('on again in a location, http-level secret', 200, 'accepted', 'ok', server => 'c',
    path => '/c-on', body => $good, @http_token);
case('on again in a location, no token', 401, 'rejected', 'token_missing', server => 'c',
    path => '/c-on', body => $good);

is($t->backend_requests, $forwarded, 'the backend saw what was passed on');

$t->stop;

done_testing;

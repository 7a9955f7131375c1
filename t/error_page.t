#!/usr/bin/perl

# Answers are nginx's own error responses, so error_page reshapes them into
# targets without the gate; the variables survive the internal redirect and
# the gate judges once per request (t/redirect.t: targets with the gate on).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'error-page-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend;
$t->start_backend(name => 'down', status => 503);
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        pbx_webhook_token %%SECRET%%;
        default_type text/plain;

        location /hook {
            pbx_webhook on;
            error_page 422 =202 @ack;
            error_page 401 = @denied;
            error_page 400 = /bad;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location @ack {
            return 202 "ack $pbx_webhook_result $pbx_webhook_reason $pbx_event_type\n";
        }

        location @denied {
            return 403 "denied $pbx_webhook_reason\n";
        }

        location = /bad {
            return 200 "bad $request_method $pbx_webhook_reason [$pbx_webhook_detail]\n";
        }

        # an accepted event whose first backend fails goes to a second one
        location /failover {
            pbx_webhook on;
            proxy_intercept_errors on;
            error_page 503 = @second;
            proxy_pass http://127.0.0.1:%%BACKEND_down%%;
        }

        location @second {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

my $id = 0;
my %info;    # test id => expected number of info lines (1)

sub redirected {
    my ($name, $status, $body_re, $reason, %req) = @_;
    my $tid = ++$id;
    my $r = $t->post(path => '/hook', token => $SECRET, id => $tid, %req);
    my $e = $t->next_log(id => $tid);
    subtest $name => sub {
        is($r && $r->{status}, $status, "status $status");
        like($r->{body}, $body_re, 'answer of the redirect target');
        ok(!exists $r->{headers}{'x-backend-seq'}, 'not passed on');
        is($e->{status}, $status, 'logged status');
        is($e->{result}, 'rejected', '$pbx_webhook_result kept');
        is($e->{reason}, $reason, '$pbx_webhook_reason kept');
    };
    return $e;
}

my $e = redirected('unknown type acknowledged with 202', 202, qr/^ack rejected type_unknown nope$/,
    'type_unknown', body => event(type => 'nope'));
is($e->{type}, 'nope', '$pbx_event_type kept');
like($e->{detail}, qr/nope/, '$pbx_webhook_detail kept');

redirected('field missing acknowledged with 202', 202,
    qr/^ack rejected field_missing user_outbound$/, 'field_missing',
    body => '{"type":"user_outbound","unique_call_id":"1"}');
redirected('no token to a named location', 403, qr/^denied token_missing$/, 'token_missing',
    token => undef, body => event());
redirected('wrong token to a named location', 403, qr/^denied token_mismatch$/,
    'token_mismatch', token => 'wrong-0123456789abcdef', body => event());
redirected('syntax error to a URI (a GET after the redirect)', 200,
    qr/^bad GET json_syntax \[.+\]$/, 'json_syntax', body => '{"type":');
redirected('duplicate key to a URI', 200, qr/^bad GET duplicate_key \[.*type.*\]$/,
    'duplicate_key', body => '{"type":"a","type":"b"}');

subtest 'a good event is not redirected' => sub {
    my $body = event();
    my $r = $t->post(path => '/hook', token => $SECRET, body => $body, id => ++$id);
    is($r->{status}, 200, 'status 200');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'passed on');
    is($t->next_log(id => $id)->{reason}, 'ok', 'reason ok');
};

subtest 'acknowledged requests keep the connection open' => sub {
    my $c = $t->connect;
    my @st;
    for my $i (1 .. 3) {
        $c->send(scalar build_request(path => '/hook', token => $SECRET, keepalive => 1,
            body => event(type => "nope$i"), id => ++$id));
        my $r = $c->read_response;
        push @st, $r ? $r->{status} : 'none';
    }
    is("@st", '202 202 202', 'three 202s on one connection');
    $c->close;
    $t->next_log(id => $id);
};

subtest 'accepted event retried on a second backend after a 503' => sub {
    my $body = $t->valgrind ? event() : event(pad => 'z' x 3000);
    my $r = $t->post(path => '/failover', token => $SECRET, body => $body, id => ++$id);
    is($r->{status}, 200, 'the second backend answered');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'with the same bytes');
    is($t->backend_requests('down'), 1, 'the first backend was tried');
    my $e = $t->next_log(id => $id);
    is("$e->{result} $e->{reason}", 'accepted ok', 'verdict kept');
};

is($t->backend_requests, 2, 'the backend saw only the accepted events');

$t->stop;

# one info line per rejected request: the gate ran once
my @lines = $t->error_log_grep(qr/\[info\].*pbx_webhook/);
is(scalar @lines, 9, 'one pbx_webhook info line per rejected request, none after a redirect')
    or diag(join "\n", @lines);
is(scalar(grep { /\bmethod\b/ } @lines), 0, 'no method rejection after a redirect to GET');

done_testing;

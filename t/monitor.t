#!/usr/bin/perl

# pbx_webhook monitor: every request reaches the backend with its body
# unchanged, and the log says what "on" would have done.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'monitor-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        listen 127.0.0.1:%%PORT_h2%% http2;

        pbx_webhook monitor;
        pbx_webhook_token %%SECRET%%;

        location /hook {
            pbx_webhook_max_body_size 1k;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /spill {
            client_body_buffer_size 1k;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

my $good = event();
my $big = event(pad => 'y' x 8000);
my $id = 0;
my $sent = 0;

sub monitored {
    my ($name, $result, $reason, %req) = @_;
    my $via = delete $req{via} // 'http1';
    my $tid = ++$id;
    my $r;
    if ($via eq 'h2') {
        $r = $t->h2(port => $t->port('h2'), path => '/hook', token => $SECRET, %req,
            headers => [['X-Test-Id', $tid]]);
    } else {
        $r = $t->post(path => '/hook', token => $SECRET, %req, id => $tid);
    }
    my $e = $t->next_log(id => $tid);
    $sent++;

    subtest "$name: $result $reason" => sub {
        is($r && $r->{status}, 200, 'the backend answered');
        ok($r->{headers}{'x-backend-seq'}, 'passed on');
        is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($req{body} // ''),
            'with the body unchanged');
        is($e->{result}, $result, "\$pbx_webhook_result $result");
        is($e->{reason}, $reason, "\$pbx_webhook_reason $reason");
        ok(length $e->{detail}, 'detail set') if $reason ne 'ok';
        unlike($e->{detail}, qr/\Q$SECRET\E/, 'no secret in the detail');
    };
    return $e;
}

monitored('good event', 'accepted', 'ok', body => $good);
monitored('GET', 'would_reject', 'method', method => 'GET');
monitored('no token', 'would_reject', 'token_missing', token => undef, body => $good);
monitored('two tokens', 'would_reject', 'token_repeated', token => undef,
    tokens => [$SECRET, $SECRET], body => $good);
monitored('wrong token', 'would_reject', 'token_mismatch', token => 'wrong-0123456789abcdef',
    body => $good);
monitored('text/plain', 'would_reject', 'content_type', content_type => 'text/plain',
    body => $good);
monitored('over max size by Content-Length', 'would_reject', 'body_too_large',
    body => event(pad => 'x' x 2000));
monitored('over max size, chunked', 'would_reject', 'body_too_large',
    body => event(pad => 'x' x 2000), chunked => [300]);
monitored('empty body', 'would_reject', 'body_empty', length => 0);
monitored('syntax error', 'would_reject', 'json_syntax', body => "$good,");
monitored('too deep', 'would_reject', 'json_too_deep', body => event(a => \('[' x 20 . ']' x 20)));
monitored('duplicate key', 'would_reject', 'duplicate_key',
    body => '{"type":"user_outbound","type":"voicemail"}');
monitored('not an object', 'would_reject', 'not_object', body => '[1,2]');
monitored('no type', 'would_reject', 'type_missing', body => '{"unique_call_id":"1"}');
my $e = monitored('unknown type', 'would_reject', 'type_unknown',
    body => event(type => 'nope', unique_call_id => 'mon-1'));
is($e->{type}, 'nope', '$pbx_event_type set for an event that would be rejected');
monitored('field missing', 'would_reject', 'field_missing',
    body => '{"type":"user_outbound","unique_call_id":"1"}');
monitored('field type', 'would_reject', 'field_type', body => event(user_number => \'1'));
monitored('h2, wrong token', 'would_reject', 'token_mismatch', via => 'h2',
    token => 'wrong-0123456789abcdef', body => $good);
monitored('h2, unknown type', 'would_reject', 'type_unknown', via => 'h2',
    body => event(type => 'nope'));

subtest 'spilled body with a syntax error reaches the backend unchanged' => sub {
    my $body = "$big ]";
    my $r = $t->post(path => '/spill', token => $SECRET, body => $body, id => ++$id);
    $sent++;
    is($r->{status}, 200, 'the backend answered');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($body), 'same bytes');
    my $e = $t->next_log(id => $id);
    is("$e->{result} $e->{reason}", 'would_reject json_syntax', 'logged');
};

subtest 'Expect: 100-continue with a wrong token: the body is still wanted' => sub {
    my ($head, $body) = build_request(path => '/hook', token => 'wrong-0123456789abcdef',
        expect => 1, body => $good, id => ++$id);
    my $c = $t->connect;
    $c->send($head);
    my $first = $c->read_response(timeout => $t->timeout(2));
    is($first && $first->{status}, 100, '100 Continue');
    $c->send($body);
    my $r = $c->read_response;
    is($r && $r->{status}, 200, 'the backend answered');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($good), 'same bytes');
    $c->close;
    $sent++;
    my $e = $t->next_log(id => $id);
    is("$e->{result} $e->{reason}", 'would_reject token_mismatch', 'logged');
};

is($t->backend_requests, $sent, 'every request reached the backend');

$t->stop;
is(scalar($t->error_log_grep(qr/\Q$SECRET\E/)), 0, 'the secret never appears in error.log');

done_testing;

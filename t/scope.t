#!/usr/bin/perl

# Secrets scoped to event types (types=): a scoped secret sends only its
# types, anything else the location accepts is refused with 403
# type_forbidden after type_unknown and before the field checks; an unscoped
# secret sends every accepted type. Inline and file secrets, inheritance,
# monitor mode, the log line and the metrics label.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $GLOBAL = 'scope-global-secret-0123456789';
my $COMPONENT = 'scope-component-secret-012345';
my $F1 = 'scope-file-secret-one-0123456';
my $F2 = 'scope-file-secret-two-0123456';

my $t = PbxTest->new;
write_file($t->dir . '/scoped.tokens', "$F1\n$F2\n");
chmod 0600, $t->dir . '/scoped.tokens';

$t->start_backend;
$t->write_config(<<'EOF', GLOBAL => $GLOBAL, COMPONENT => $COMPONENT);
http {
    pbx_webhook_zone hooks 64k;

    server {
        listen 127.0.0.1:%%PORT%%;

        location /hook {
            pbx_webhook on;
            pbx_webhook_zone_use hooks;
            pbx_webhook_token %%GLOBAL%%;
            pbx_webhook_token %%COMPONENT%% types=webhook_component_event;
            pbx_webhook_token_file %%DIR%%/scoped.tokens types=voicemail,queue_call;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /monitor {
            pbx_webhook monitor;
            pbx_webhook_zone_use hooks;
            pbx_webhook_token %%COMPONENT%% types=webhook_component_event;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /own {
            pbx_webhook on;
            pbx_webhook_event crm_note;
            pbx_webhook_event voicemail;
            pbx_webhook_token %%COMPONENT%% types=crm_note;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /metrics {
            pbx_webhook_metrics;
        }

        location = /ping {
            return 200 "pong\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT_b%%;
        pbx_webhook_token %%COMPONENT%% types=webhook_component_event;
        pbx_webhook_token %%GLOBAL%%;

        location /hook {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

my %events = PbxTest::example_events();
my $id = 0;
my $forwarded = 0;

sub case {
    my ($name, $token, $status, $reason, %o) = @_;
    my $detail = delete $o{detail};
    my $token_id = delete $o{token_id};
    my $result = delete $o{result} // ($reason eq 'ok' ? 'accepted' : 'rejected');
    my $port = delete $o{server};
    my $tid = ++$id;
    my $r = $t->post(path => '/hook', token => $token, id => $tid,
        port => defined $port ? $t->port($port) : undef, %o);
    my $e = $t->next_log(id => $tid);
    $forwarded++ if $r && $r->{headers}{'x-backend-seq'};

    subtest $name => sub {
        is($r && $r->{status}, $status, "status $status");
        is($e->{result}, $result, "result $result");
        is($e->{reason}, $reason, "reason $reason");
        is($e->{detail}, $detail, 'detail') if defined $detail;
        is($e->{token_id}, $token_id, 'token id') if defined $token_id;
        if ($status == 403) {
            ok(!$r->{headers}{'x-backend-seq'}, 'answered by nginx, not the backend');
        }
        is($t->backend_requests, $forwarded, 'backend saw only what passed');
    };
    return $e;
}

my $inbound = $events{user_inbound};
my $component = $events{webhook_component_event};

case('unscoped secret: a call trigger', $GLOBAL, 200, 'ok', body => $inbound, token_id => 1);
case('unscoped secret: a call-flow event', $GLOBAL, 200, 'ok', body => $component,
    token_id => 1);
case('scoped secret: its own type', $COMPONENT, 200, 'ok', body => $component, token_id => 2);
case('scoped secret: another accepted type', $COMPONENT, 403, 'type_forbidden',
    body => $inbound, token_id => 2,
    detail => 'type "user_inbound" not allowed for secret 2');
case('scoped secret: every other catalog type is forbidden', $COMPONENT, 403, 'type_forbidden',
    body => $events{recording_outbound}, detail => 'type "recording_outbound" not allowed for secret 2');
case('scoped secret: an unknown type is type_unknown first', $COMPONENT, 422, 'type_unknown',
    body => event(type => 'fax_received'), detail => 'type "fax_received" not accepted');
case('scoped secret: forbidden before the field checks', $COMPONENT, 403, 'type_forbidden',
    body => '{"type":"user_inbound"}');
case('scoped secret: its own type still needs its fields', $COMPONENT, 422, 'field_missing',
    body => '{"type":"webhook_component_event","unique_call_id":"1"}');
case('scoped secret: a type missing is type_missing', $COMPONENT, 422, 'type_missing',
    body => '{"unique_call_id":"1"}');
case('scoped secret: escaped type compared unescaped', $COMPONENT, 200, 'ok',
    body => $component =~ s/"webhook_component_event"/"webhook_\\u0063omponent_event"/r);

case('file secret 1, first listed type', $F1, 200, 'ok', body => $events{voicemail},
    token_id => 3);
case('file secret 2, second listed type', $F2, 200, 'ok', body => $events{queue_call},
    token_id => 4);
case('file secret 2, an unlisted type', $F2, 403, 'type_forbidden', body => $component,
    token_id => 4, detail => 'type "webhook_component_event" not allowed for secret 4');

case('own schema: scoped to a new type', $COMPONENT, 200, 'ok', path => '/own',
    body => event(type => 'crm_note'));
case('own schema: another type it accepts', $COMPONENT, 403, 'type_forbidden', path => '/own',
    body => $events{voicemail}, detail => 'type "voicemail" not allowed for secret 1');

case('monitor: would reject, passes on', $COMPONENT, 200, 'type_forbidden', path => '/monitor',
    body => $inbound, result => 'would_reject');

case('inherited from the server: scoped secret forbidden', $COMPONENT, 403, 'type_forbidden',
    server => 'b', body => $inbound, detail => 'type "user_inbound" not allowed for secret 1');
case('inherited from the server: unscoped secret', $GLOBAL, 200, 'ok', server => 'b',
    body => $inbound, token_id => 2);

subtest '403 keeps the connection open' => sub {
    my $c = $t->connect;
    $c->send(scalar build_request(path => '/hook', token => $COMPONENT, body => $inbound,
        keepalive => 1, id => ++$id));
    my $r = $c->read_response;
    is($r && $r->{status}, 403, 'status 403');
    $c->send("GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
    my $p = $c->read_response;
    is($p && $p->{status}, 200, 'a second request on the connection is answered');
    $c->close;
    is($t->next_log(id => $id)->{reason}, 'type_forbidden', 'logged');
};

subtest 'metrics count type_forbidden' => sub {
    my $r = $t->post(method => 'GET', path => '/metrics', token => undef);
    is($r->{status}, 200, 'metrics served');
    # /hook: 5 forbidden (one on the kept-alive connection); /monitor: 1.
    like($r->{body}, qr/^pbx_webhook_requests_total\{zone="hooks",result="rejected",reason="type_forbidden"\} 5$/m,
        'rejected');
    like($r->{body}, qr/^pbx_webhook_requests_total\{zone="hooks",result="would_reject",reason="type_forbidden"\} 1$/m,
        'would_reject');
};

$t->stop;

my @info = $t->error_log_grep(qr/\[info\].*pbx_webhook rejected request: 403 type_forbidden, type "user_inbound" not allowed for secret 2/);
ok(scalar @info >= 1, 'error.log: info line with reason and detail');
is(scalar($t->error_log_grep(qr/\Q$COMPONENT\E|\Q$GLOBAL\E/)), 0, 'no secret in error.log');

$t->error_log_clean;

done_testing;

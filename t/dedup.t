#!/usr/bin/perl

# Duplicate deliveries: the idempotency zone answers a retry of a delivered
# event without reaching the backend, and lets every retry of an event that
# was not delivered through.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use PbxTest;

my $SECRET = 'dedup-secret-0123456789abcdef';

my $t = PbxTest->new;
$t->skip_all_under_valgrind('needs two workers, reloads and timeouts');
$t->start_backend;
$t->start_backend(name => 'mirror');

my @FIELDS = qw(dedup status result reason detail type test_id);

my $CONFIG = <<'EOF';
worker_processes 2;

http {
    pbx_webhook_dedup_zone events %%EVENTS_SIZE%%;
    pbx_webhook_dedup_zone short 64k window=1s;
    pbx_webhook_dedup_zone tiny 32k;
    pbx_webhook_zone counts 64k;

    log_format dedup escape=json '$pbx_webhook_dedup\t$status\t$pbx_webhook_result\t$pbx_webhook_reason\t$pbx_webhook_detail\t$pbx_event_type\t$http_x_test_id';

    server {
        listen 127.0.0.1:%%PORT%% reuseport;
        listen 127.0.0.1:%%PORT_h2%% http2 reuseport;

        access_log %%DIR%%/dedup.log dedup;
        pbx_webhook_token %%SECRET%%;
        pbx_webhook_zone_use counts;
        proxy_read_timeout 1s;
        add_header X-Worker $pid always;

        location /hook {
            pbx_webhook on;
            pbx_webhook_dedup events;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /accepted {
            pbx_webhook on;
            pbx_webhook_dedup events;
            pbx_webhook_dedup_status 202;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /slow {
            pbx_webhook on;
            pbx_webhook_dedup events;
            proxy_read_timeout 10s;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        # The mirror keeps the request open for a second after the answer
        # went out: its log phase comes late.
        location /mirrored {
            pbx_webhook on;
            pbx_webhook_dedup events;
            mirror /late;
            mirror_request_body off;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /late {
            internal;
            proxy_pass http://127.0.0.1:%%BACKEND_mirror%%;
            proxy_method GET;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Backend-Delay 1;
        }

        location /short {
            pbx_webhook on;
            pbx_webhook_dedup short;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /keyed {
            pbx_webhook on;
            pbx_webhook_dedup events;
            pbx_webhook_dedup_key $pbx_event_type:$pbx_event_unique_call_id;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /tiny {
            pbx_webhook on;
            pbx_webhook_dedup tiny;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /watch {
            pbx_webhook monitor;
            pbx_webhook_dedup events;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /plain {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /metrics {
            pbx_webhook_metrics;
        }
    }
}
EOF

my %VARS = (SECRET => $SECRET, EVENTS_SIZE => '1m');

$t->write_config($CONFIG, %VARS);
$t->run;

my $n = 0;

# A fresh event: its own call id, so that no test sees another's entry.
sub fresh_event {
    my (%more) = @_;
    $n++;
    return event(unique_call_id => "1764202001.$n", %more);
}

sub send_event {
    my ($path, $body, %o) = @_;
    my $id = "req-" . ++$n;
    my @headers;
    push @headers, ['X-Backend-Status', $o{backend_status}] if $o{backend_status};
    push @headers, ['X-Backend-Delay', $o{delay}] if $o{delay};
    my $r = $t->post(path => $path, token => $SECRET, body => $body, id => $id,
        headers => \@headers, timeout => $o{timeout});
    my $e = $t->next_log(file => 'dedup.log', fields => \@FIELDS, id => $id);
    return ($r, $e);
}

sub reached {
    my ($code) = @_;
    my $before = $t->backend_requests;
    my @out = $code->();
    return ($t->backend_requests - $before, @out);
}

sub scrape {
    my $r = $t->request("GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n");
    my %m;
    for my $line (split /\n/, $r ? $r->{body} : '') {
        next if $line =~ /^#/;
        my ($name, $value) = $line =~ /^(\S+) (\S+)$/ or next;
        $m{$name} = $value;
    }
    return %m;
}

###############################################################################
# the contract

{
    my $body = fresh_event();
    my ($hits, $r, $e) = reached(sub { send_event('/hook', $body) });
    is($r && $r->{status}, 200, 'first delivery passes');
    is($hits, 1, 'first delivery reaches the backend');
    is($e && $e->{dedup}, 'first', '$pbx_webhook_dedup is first');

    ($hits, $r, $e) = reached(sub { send_event('/hook', $body) });
    is($r && $r->{status}, 200, 'retry answered with the dedup status');
    is($r && $r->{body}, '', 'with an empty body');
    is($hits, 0, 'retry does not reach the backend');
    is($e && $e->{dedup}, 'duplicate', '$pbx_webhook_dedup is duplicate');
    is($e && $e->{result}, 'duplicate', '$pbx_webhook_result is duplicate');
    is($e && $e->{reason}, 'duplicate', '$pbx_webhook_reason is duplicate');
    like($e && $e->{detail}, qr/^first delivered \d+ s ago$/, 'detail tells when');
    ok($t->error_log_grep(qr/\[info\].*pbx_webhook answered duplicate request: 200 duplicate, first delivered \d+ s ago/),
        'duplicate logged at info');
}

{
    my $body = fresh_event();
    my ($hits, $r) = reached(sub { send_event('/accepted', $body, backend_status => 204) });
    is($r && $r->{status}, 204, 'backend answers 204');
    is($hits, 1, 'the 204 came from the backend');

    ($hits, $r) = reached(sub { send_event('/accepted', $body) });
    is($r && $r->{status}, 202, 'retry after a 204 answered with the dedup status 202');
    is($hits, 0, 'and not passed on');
    is($r && $r->{headers}{'content-length'}, '0', 'empty body, Content-Length: 0');
}

{
    my $body = fresh_event();
    my ($hits, $r) = reached(sub { send_event('/hook', $body, backend_status => 502) });
    is($r && $r->{status}, 502, 'backend answers 502');
    ($hits, $r, my $e) = reached(sub { send_event('/hook', $body) });
    is($hits, 1, 'retry after a 502 reaches the backend');
    is($e && $e->{dedup}, 'first', 'and is first again');
    ($hits) = reached(sub { send_event('/hook', $body) });
    is($hits, 0, 'once delivered, the next retry does not');
}

{
    my $body = fresh_event();
    my ($hits, $r) = reached(sub { send_event('/hook', $body, delay => 3) });
    is($r && $r->{status}, 504, 'backend hanging past proxy_read_timeout: 504');
    ($hits, $r) = reached(sub { send_event('/hook', $body) });
    is($hits, 1, 'retry after a 504 reaches the backend');
}

{
    my $body = fresh_event();
    my $id = 'gave-up';
    my $c = $t->connect;
    $c->send(scalar build_request(path => '/hook', token => $SECRET, body => $body, id => $id,
        headers => [['X-Backend-Delay', 3]]));
    sleep 0.5;
    $c->close;
    my $e = $t->next_log(file => 'dedup.log', fields => \@FIELDS, id => $id, timeout => 5);
    is($e && $e->{status}, 499, 'client gave up: 499');
    my ($hits, $r) = reached(sub { send_event('/hook', $body) });
    is($hits, 1, 'retry after the client gave up reaches the backend');
}

{
    my $body = fresh_event();
    my $before = $t->backend_requests;
    my $c = $t->connect(timeout => 10);
    $c->send(scalar build_request(path => '/slow', token => $SECRET, body => $body,
        headers => [['X-Backend-Delay', 1.5]]));
    sleep 0.3;

    my ($hits, $r, $e) = reached(sub { send_event('/slow', $body) });
    is($r && $r->{status}, 200, 'retry while the first is in flight passes');
    is($hits, 1, 'and reaches the backend');
    is($e && $e->{dedup}, 'in_flight', 'marked in_flight');

    my $first = $c->read_response;
    is($first && $first->{status}, 200, 'the first is delivered after all');
    $c->close;
    $t->next_log(file => 'dedup.log', fields => \@FIELDS);
    is($t->backend_requests - $before, 2, 'both reached the backend');

    ($hits, $r, $e) = reached(sub { send_event('/slow', $body) });
    is($hits, 0, 'a third copy is a duplicate');
}

{
    my $body = fresh_event();
    send_event('/short', $body);
    my ($hits) = reached(sub { send_event('/short', $body) });
    is($hits, 0, 'within window=1s: duplicate');
    sleep 1.2;
    ($hits, my $r, my $e) = reached(sub { send_event('/short', $body) });
    is($hits, 1, 'after the window: reaches the backend');
    is($e && $e->{dedup}, 'first', 'as first');
}

{
    $n++;
    my $a = event(unique_call_id => "ring.$n", user_number => '201', type => 'user_inbound',
        caller_id => '+6495550000');
    my $b = event(unique_call_id => "ring.$n", user_number => '202', type => 'user_inbound',
        caller_id => '+6495550000');
    my ($hits_a, $ra) = reached(sub { send_event('/hook', $a) });
    my ($hits_b, $rb) = reached(sub { send_event('/hook', $b) });
    is($ra && $ra->{status}, 200, 'ring group member 1 accepted') or diag(explain $ra);
    is($hits_a + $hits_b, 2, 'events differing in one field are not duplicates under the default key');

    $n++;
    $a =~ s/ring\.\d+/ring.$n/;
    $b =~ s/ring\.\d+/ring.$n/;
    ($hits_a) = reached(sub { send_event('/keyed', $a) });
    ($hits_b, $rb, my $e) = reached(sub { send_event('/keyed', $b) });
    is($hits_a, 1, 'keyed: first reaches the backend');
    is($hits_b, 0, 'keyed: the one differing only outside the key is a duplicate');
    is($e && $e->{dedup}, 'duplicate', 'marked duplicate');
}

{
    my $bad = fresh_event(dest_number => \'42');
    my ($hits, $r, $e) = reached(sub { send_event('/hook', $bad) });
    is($r && $r->{status}, 422, 'a refused event');
    is($e && $e->{dedup}, '', '$pbx_webhook_dedup empty when refused');
    ($hits, $r, $e) = reached(sub { send_event('/plain', fresh_event()) });
    is($e && $e->{dedup}, '', '$pbx_webhook_dedup empty when off');
}

{
    my $body = fresh_event();
    my ($hits, $r, $e) = reached(sub { send_event('/watch', $body) });
    is($e && $e->{dedup}, 'first', 'monitor: first');
    ($hits, $r, $e) = reached(sub { send_event('/watch', $body) });
    is($hits, 1, 'monitor: the duplicate goes on to the backend');
    is($r && $r->{status}, 200, 'answered by the backend');
    is($e && $e->{dedup}, 'duplicate', 'monitor: marked duplicate');
    is($e && $e->{result}, 'accepted', 'monitor: result stays accepted');
    ok($t->error_log_grep(qr/pbx_webhook would answer duplicate request: 200 duplicate/),
        'monitor: logged as would answer');
}

###############################################################################
# HTTP/2

{
    my $body = fresh_event();
    my ($hits, $r) = reached(sub {
        $t->h2(port => $t->port('h2'), path => '/hook', token => $SECRET, body => $body) });
    is($r && $r->{status}, 200, 'HTTP/2: first passes');
    is($r && $r->{version}, '2', 'over HTTP/2');
    is($hits, 1, 'HTTP/2: first reaches the backend');
    ($hits, $r) = reached(sub {
        $t->h2(port => $t->port('h2'), path => '/hook', token => $SECRET, body => $body) });
    is($r && $r->{status}, 200, 'HTTP/2: retry answered');
    is($hits, 0, 'HTTP/2: retry does not reach the backend');
    is($r && $r->{body}, '', 'HTTP/2: empty body');
}

###############################################################################
# two workers, one zone

{
    my (%first_by, %dup_by, $cross);
    my $dups = 0;
    my @bodies = map { fresh_event() } 1 .. 20;
    for my $body (@bodies) {
        my ($r) = send_event('/hook', $body);
        $first_by{$body} = $r && $r->{headers}{'x-worker'};
    }
    my $before = $t->backend_requests;
    for my $body (@bodies) {
        my ($r, $e) = send_event('/hook', $body);
        $dups++ if $e && $e->{dedup} eq 'duplicate';
        my $w = $r && $r->{headers}{'x-worker'};
        $dup_by{$w}++ if $w;
        $cross++ if $w && $first_by{$body} && $w ne $first_by{$body};
    }
    is($dups, 20, 'every retry is a duplicate, whichever worker serves it');
    is($t->backend_requests - $before, 0, 'none reaches the backend');
    ok($cross, 'some retries were served by the other worker') or diag(explain \%dup_by);
}

{
    # The retry right after the answer, before the first request has ended:
    # a 2xx is settled when its header goes out, not in the log phase.
    my $body = fresh_event();
    my $start = time;
    my ($hits, $r) = reached(sub { $t->post(path => '/mirrored', token => $SECRET, body => $body) });
    is($r && $r->{status}, 200, 'first delivery answered while its request stays open');
    ($hits, $r) = reached(sub { $t->post(path => '/mirrored', token => $SECRET, body => $body) });
    ok(time - $start < 1, 'the retry came before the first request ended');
    is($hits, 0, 'a retry sent the moment the answer arrives is a duplicate');
    is($r && $r->{status}, 200, 'answered by nginx');
}

###############################################################################
# metrics

{
    my %m = scrape();
    ok($m{'pbx_webhook_requests_total{zone="counts",result="duplicate",reason="duplicate"}'} >= 26,
        'duplicates counted as a result and a reason');
    ok($m{'pbx_webhook_duplicates_total{zone="counts",type="user_outbound"}'} >= 26,
        'duplicates by event type');
    ok($m{'pbx_webhook_dedup_entries{zone="events"}'} >= 20, 'entries of the zone');
    is($m{'pbx_webhook_dedup_evictions_total{zone="events"}'}, 0, 'no evictions yet');
}

###############################################################################
# a full zone

{
    my @bodies = map { fresh_event() } 1 .. 400;
    my $ok = 0;
    for my $body (@bodies) {
        my ($r) = send_event('/tiny', $body);
        $ok++ if $r && $r->{status} == 200;
    }
    is($ok, 400, 'a full zone still passes first deliveries');

    my %m = scrape();
    my $entries = $m{'pbx_webhook_dedup_entries{zone="tiny"}'} // 0;
    my $evicted = $m{'pbx_webhook_dedup_evictions_total{zone="tiny"}'} // 0;
    ok($entries > 0 && $entries < 400, "tiny zone holds some ($entries)");
    is($entries + $evicted, 400, 'every entry is held or counted as evicted');

    my ($hits) = reached(sub { send_event('/tiny', $bodies[-1]) });
    is($hits, 0, 'the newest delivery is still a duplicate');
    ($hits) = reached(sub { send_event('/tiny', $bodies[0]) });
    is($hits, 1, 'the oldest was evicted: its retry reaches the backend');
}

###############################################################################
# reload

{
    my $body = fresh_event();
    send_event('/hook', $body);

    ok($t->reload($CONFIG, %VARS), 'reload with the same zones');
    my ($hits, $r, $e) = reached(sub { send_event('/hook', $body) });
    is($hits, 0, 'a reload keeping name and size keeps the entries');
    is($e && $e->{dedup}, 'duplicate', 'still a duplicate');

    ok($t->reload($CONFIG, %VARS, EVENTS_SIZE => '2m'), 'reload with a changed size');
    ($hits, $r, $e) = reached(sub { send_event('/hook', $body) });
    is($hits, 1, 'a changed size starts empty');
    my %m = scrape();
    is($m{'pbx_webhook_dedup_entries{zone="events"}'}, 1, 'with the one new entry');
}

$t->stop;
$t->error_log_clean;

###############################################################################
# nginx -t

sub config_error {
    my ($http, $location) = @_;
    my ($status, $out) = $t->test_config(<<"EOF");
http {
    $http
    server {
        listen 127.0.0.1:%%PORT%%;
        pbx_webhook_token $SECRET;
        location / {
            pbx_webhook on;
            $location
        }
    }
}
EOF
    return $status ? $out : '';
}

like(config_error('pbx_webhook_dedup_zone "" 1m;', ''), qr/"pbx_webhook_dedup_zone" name is empty/,
    'empty zone name');
like(config_error('pbx_webhook_dedup_zone a lots;', ''),
    qr/"pbx_webhook_dedup_zone" invalid size "lots"/, 'bad size');
like(config_error('pbx_webhook_dedup_zone a 4k;', ''),
    qr/"pbx_webhook_dedup_zone" "a" is too small, at least \d+k is needed/, 'too small');
like(config_error('pbx_webhook_dedup_zone a 600000m;', ''),
    qr/"pbx_webhook_dedup_zone" "a" is too large, at most 524288m/, 'too large');
like(config_error('pbx_webhook_dedup_zone a 1m; pbx_webhook_dedup_zone a 1m;', ''),
    qr/"pbx_webhook_dedup_zone" "a" is duplicate/, 'declared twice');
like(config_error('pbx_webhook_dedup_zone a 1m window=0s;', ''),
    qr/window must be between 1s and 24h, not "0s"/, 'window too short');
like(config_error('pbx_webhook_dedup_zone a 1m window=25h;', ''),
    qr/window must be between 1s and 24h, not "25h"/, 'window too long');
like(config_error('pbx_webhook_dedup_zone a 1m window=soon;', ''),
    qr/window must be between 1s and 24h, not "soon"/, 'window not a time');
like(config_error('pbx_webhook_dedup_zone a 1m slack=1;', ''),
    qr/"pbx_webhook_dedup_zone" invalid parameter "slack=1"/, 'unknown parameter');
like(config_error('', 'pbx_webhook_dedup nowhere;'),
    qr/"pbx_webhook_dedup" names "nowhere", which no "pbx_webhook_dedup_zone" declares/,
    'unknown zone');
like(config_error('pbx_webhook_dedup_zone a 1m;', 'pbx_webhook_dedup a; pbx_webhook_dedup_status 301;'),
    qr/"pbx_webhook_dedup_status" must be a 2xx status, not 301/, 'status not 2xx');
like(config_error('pbx_webhook_zone a 64k; pbx_webhook_dedup_zone a 1m;', ''),
    qr/already declared for a different use/, 'a counting zone name is not a dedup zone');
is(config_error('pbx_webhook_dedup_zone a 1m window=24h;',
        'pbx_webhook_dedup a; pbx_webhook_dedup_key $pbx_event_type; pbx_webhook_dedup_status 204;'),
    '', 'a good configuration passes');

done_testing;

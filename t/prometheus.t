#!/usr/bin/perl

# The metrics endpoint as its consumer sees it: a real Prometheus server on
# loopback, run with examples/prometheus/prometheus.yml and its alert rules
# (only the target and the intervals changed), scrapes the module's
# endpoint; the series, the target's health and an alert are read back
# through Prometheus's HTTP API. Skipped when /usr/bin/prometheus is absent
# (Debian package "prometheus").

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP qw(decode_json);
use Test::More;
use Time::HiRes qw(sleep time);
use PbxTest;

my $PROMETHEUS = $ENV{PBX_PROMETHEUS} || '/usr/bin/prometheus';
plan skip_all => "$PROMETHEUS not found (Debian package prometheus)" unless -x $PROMETHEUS;

my $OLD = 'prometheus-old-secret-0123456789';
my $NEW = 'prometheus-new-secret-0123456789';

my $t = PbxTest->new;
$t->skip_all_under_valgrind('Prometheus scrapes on its own schedule');
$t->start_backend;

$t->write_config(<<'EOF', OLD => $OLD, NEW => $NEW);
http {
    pbx_webhook_zone pbx_webhook 64k;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /pbx/events {
            pbx_webhook on;
            pbx_webhook_token %%OLD%%;
            pbx_webhook_token %%NEW%%;
            pbx_webhook_zone_use pbx_webhook;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /metrics {
            pbx_webhook_metrics;
        }
    }
}
EOF
$t->run;

# The example configuration, pointed at this nginx and made fast.
my $dir = $t->dir;
my $example = "$PbxTest::ROOT/examples/prometheus";
my $yml = read_file("$example/prometheus.yml");
my $target = '127.0.0.1:' . $t->port;
ok($yml =~ s/"gateway\.example\.net:8080"/"$target"/, 'example has the target to replace');
ok($yml =~ s/scrape_interval: 15s/scrape_interval: 1s/, 'and a scrape interval');
ok($yml =~ s/evaluation_interval: 15s/evaluation_interval: 1s/, 'and an evaluation interval');
ok($yml =~ s{- pbx_webhook\.rules\.yml}{- $example/pbx_webhook.rules.yml}, 'and the rules file');
write_file("$dir/prometheus.yml", $yml);

my $api = '127.0.0.1:' . $t->port('prometheus');
my $pid = PbxTest::spawn("$dir/prometheus.out", $PROMETHEUS, "--config.file=$dir/prometheus.yml",
    "--storage.tsdb.path=$dir/tsdb", "--web.listen-address=$api", '--log.level=warn');

END { if ($pid) { kill 'TERM', $pid; waitpid($pid, 0); } }

# One Prometheus API call; the "data" of a successful answer.
sub api {
    my ($path) = @_;
    my $out = PbxTest::capture('curl', '-s', '--max-time', '5', "http://$api$path");
    my $reply = eval { decode_json($out) } or return undef;
    return $reply->{status} eq 'success' ? $reply->{data} : undef;
}

# Asks until $check accepts the data, or 30 s have passed.
sub eventually {
    my ($path, $check) = @_;
    my $deadline = time + 30;
    my $data;
    while (time < $deadline) {
        $data = api($path);
        return $data if $data && $check->($data);
        sleep 0.25;
    }
    diag(explain $data);
    diag(read_file("$dir/prometheus.out") // '');
    return undef;
}

# The value of a query's only sample, once it equals $want.
sub value_of {
    my ($query, $want) = @_;
    (my $escaped = $query) =~ s/([^A-Za-z0-9_])/sprintf('%%%02X', ord $1)/ge;
    my $data = eventually("/api/v1/query?query=$escaped", sub {
        my $r = $_[0]{result};
        @$r == 1 && $r->[0]{value}[1] eq $want;
    });
    return $data ? $data->{result}[0]{value}[1] : undef;
}

my $targets = eventually('/api/v1/targets', sub {
    my $active = $_[0]{activeTargets};
    @$active == 1 && $active->[0]{health} eq 'up';
});
ok($targets, 'Prometheus scrapes the endpoint: target health "up"');
is($targets && $targets->{activeTargets}[0]{lastError}, '', 'with no scrape error');
is($targets && $targets->{activeTargets}[0]{labels}{job}, 'pbx_webhook', 'as the example job');

my $rules = api('/api/v1/rules');
my @rules = map { @{$_->{rules}} } @{$rules ? $rules->{groups} : []};
ok(@rules >= 3 && !grep({ $_->{health} eq 'err' } @rules),
    'the example rules load and evaluate without error') or diag(explain \@rules);

# Counted requests, read back after the next scrape.
my %events = PbxTest::example_events();
for my $type (qw(voicemail queue_call voicemail)) {
    is($t->post(path => '/pbx/events', token => $NEW, body => $events{$type})->{status}, 200,
        "$type accepted");
}
is($t->post(path => '/pbx/events', token => 'not-a-secret-0123456789', body => '{}')->{status},
    401, 'wrong secret refused');

is(value_of('pbx_webhook_requests_total{result="accepted"}', 3), 3,
    'accepted requests, as Prometheus stored them');
is(value_of('pbx_webhook_requests_total{result="rejected",reason="token_mismatch"}', 1), 1,
    'refusals by reason');
is(value_of('pbx_webhook_events_total{type="voicemail"}', 2), 2, 'events by type');
is(value_of('pbx_webhook_token_matches_total{token_id="2"}', 3), 3,
    'matches by secret number');
is(value_of('pbx_webhook_secrets', 2), 2, 'the number of secrets');
is(value_of('pbx_webhook_old_secret_matches_total', 0), 0, 'no old secret used yet');
my $direct = $t->request("GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n");
my $series = () = $direct->{body} =~ /^pbx_webhook_requests_total\{/mg;
ok($series > 10, "the endpoint lists $series request series");
is(value_of('count(pbx_webhook_requests_total)', $series), $series,
    'Prometheus stored every one, zeros included');

my $silent = api('/api/v1/alerts');
ok($silent && !grep({ $_->{labels}{alertname} eq 'PbxWebhookOldSecretUsed' } @{$silent->{alerts}}),
    'no rotation alert while only the newest secret is used');

# The old secret in use: the rotation alert of the example rules fires.
is($t->post(path => '/pbx/events', token => $OLD, body => $events{voicemail})->{status}, 200,
    'old secret still accepted');
is(value_of('pbx_webhook_old_secret_matches_total', 1), 1, 'counted as an old secret match');
my $alerts = eventually('/api/v1/alerts', sub {
    grep { $_->{labels}{alertname} eq 'PbxWebhookOldSecretUsed' && $_->{state} eq 'firing' }
        @{$_[0]{alerts}};
});
ok($alerts, 'PbxWebhookOldSecretUsed fires');

$t->stop;

done_testing;

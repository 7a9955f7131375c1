#!/usr/bin/perl

# The shared-memory counters and their Prometheus endpoint: exact counts over
# two workers, kept across a reload, and output that parses as the text
# exposition format.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $FIRST = 'metrics-first-secret-0123456789';
my $SECOND = 'metrics-second-secret-0123456789';

my $t = PbxTest->new;
$t->skip_all_under_valgrind('needs two workers and a reload');
$t->start_backend;

my $CONFIG = <<'EOF';
worker_processes 2;

http {
    pbx_webhook_zone hooks 64k;
    pbx_webhook_zone other 32k;

    server {
        listen 127.0.0.1:%%PORT%% reuseport;

        pbx_webhook_token %%FIRST%%;
        pbx_webhook_token %%SECOND%%;

        location /hook {
            pbx_webhook on;
            pbx_webhook_zone_use hooks;
            add_header X-Worker $pid;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /watch {
            pbx_webhook monitor;
            pbx_webhook_zone_use hooks;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /uncounted {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /metrics {
            pbx_webhook_metrics;
        }
    }

    # pbx_webhook_zone_use is inherited; "off" stops counting an inherited
    # zone, in a location and in the locations nested in it.
    server {
        listen 127.0.0.1:%%PORT_inherit%%;
        pbx_webhook_token %%FIRST%%;
        pbx_webhook_zone_use other;

        location /inherited {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /off {
            pbx_webhook on;
            pbx_webhook_zone_use off;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /outer {
            pbx_webhook_zone_use off;

            location /outer/inner {
                pbx_webhook on;
                proxy_pass http://127.0.0.1:%%BACKEND%%;
            }

            location /outer/again {
                pbx_webhook on;
                pbx_webhook_zone_use other;
                proxy_pass http://127.0.0.1:%%BACKEND%%;
            }
        }
    }
}
EOF

$t->write_config($CONFIG, FIRST => $FIRST, SECOND => $SECOND);
$t->run;

my %events = PbxTest::example_events();
my @types = sort keys %events;
my (%expect_events, %workers);
my ($accepted, $by_first, $by_second, $bytes) = (0, 0, 0, 0);

for my $i (0 .. 119) {
    my $type = $types[$i % @types];
    my $secret = $i % 3 ? $FIRST : $SECOND;
    my $r = $t->post(path => '/hook', token => $secret, body => $events{$type});
    is($r && $r->{status}, 200, "event $i ($type) accepted") or next;
    $workers{$r->{headers}{'x-worker'} // '?'}++;
    $expect_events{$type}++;
    $accepted++;
    $secret eq $FIRST ? $by_first++ : $by_second++;
    $bytes += length $events{$type};
}

for my $i (1 .. 7) {
    my $r = $t->post(path => '/hook', token => 'not-a-secret-at-all-0123', body => event());
    is($r && $r->{status}, 401, "bad token $i rejected");
}

my $unknown = event(type => 'fax_received');
for my $i (1 .. 5) {
    my $r = $t->post(path => '/hook', token => $SECOND, body => $unknown);
    is($r && $r->{status}, 422, "unknown type $i rejected");
    $by_second++;
    $bytes += length $unknown;
}

my $incomplete = json_object(type => 'voicemail', unique_call_id => '1');
for my $i (1 .. 3) {
    my $r = $t->post(path => '/watch', token => $FIRST, body => $incomplete);
    is($r && $r->{status}, 200, "monitored bad event $i goes through");
    $by_first++;
    $bytes += length $incomplete;
}

my $r = $t->post(path => '/uncounted', token => $FIRST, body => event());
is($r && $r->{status}, 200, 'a location without a zone is gated but not counted');

ok(keys %workers >= 2, 'requests were served by both workers')
    or diag(explain \%workers);

my %m = scrape();

is($m{'pbx_webhook_requests_total{zone="hooks",result="accepted",reason="ok"}'}, $accepted,
    'accepted requests counted exactly');
is($m{'pbx_webhook_requests_total{zone="hooks",result="rejected",reason="token_mismatch"}'}, 7,
    'token mismatches counted');
is($m{'pbx_webhook_requests_total{zone="hooks",result="rejected",reason="type_unknown"}'}, 5,
    'unknown types counted');
is($m{'pbx_webhook_requests_total{zone="hooks",result="would_reject",reason="field_missing"}'},
    3, 'monitor mode counts would_reject');
is($m{'pbx_webhook_requests_total{zone="hooks",result="rejected",reason="field_missing"}'}, 0,
    'zero counters are exported too');
is($m{'pbx_webhook_token_matches_total{zone="hooks",token_id="1"}'}, $by_first,
    'matches of the first secret');
is($m{'pbx_webhook_token_matches_total{zone="hooks",token_id="2"}'}, $by_second,
    'matches of the second secret');
is($m{'pbx_webhook_old_secret_matches_total{zone="hooks"}'}, $by_first,
    'matches of the first of two secrets count as old');
is($m{'pbx_webhook_secrets{zone="hooks"}'}, 2, 'the locations hold two secrets');
is($m{'pbx_webhook_validated_bytes_total{zone="hooks"}'}, $bytes, 'bytes validated');
is($m{'pbx_webhook_zone_full_total{zone="hooks"}'}, 0, 'zone not full');
is($m{'pbx_webhook_requests_total{zone="other",result="accepted",reason="ok"}'}, 0,
    'an unused zone stays at zero');

for my $type (@types) {
    is($m{"pbx_webhook_events_total{zone=\"hooks\",type=\"$type\"}"}, $expect_events{$type},
        "events of type $type");
    my $seen = $m{"pbx_webhook_last_event_timestamp_seconds{zone=\"hooks\",type=\"$type\"}"};
    ok(defined $seen && abs($seen - time) < 120, "last $type is recent");
}
ok(!exists $m{'pbx_webhook_events_total{zone="hooks",type="fax_received"}'},
    'rejected types are not counted as events');

ok($t->reload($CONFIG, FIRST => $FIRST, SECOND => $SECOND), 'reloaded');

my %after = scrape();
is($after{'pbx_webhook_requests_total{zone="hooks",result="accepted",reason="ok"}'}, $accepted,
    'counters survive a reload');

$r = $t->post(path => '/hook', token => $FIRST, body => $events{voicemail});
is($r && $r->{status}, 200, 'accepted after the reload');
%after = scrape();
is($after{'pbx_webhook_requests_total{zone="hooks",result="accepted",reason="ok"}'},
    $accepted + 1, 'counting goes on after the reload');
is($after{'pbx_webhook_events_total{zone="hooks",type="voicemail"}'},
    $expect_events{voicemail} + 1, 'event counts go on after the reload');

# Inheritance of pbx_webhook_zone_use and "off".
my %inherit = (port => $t->port('inherit'), token => $FIRST, body => $events{voicemail});
for my $path (qw(/inherited /inherited /off /outer/inner /outer/again)) {
    $r = $t->post(path => $path, %inherit);
    is($r && $r->{status}, 200, "$path: gated and accepted");
}
%after = scrape();
is($after{'pbx_webhook_requests_total{zone="other",result="accepted",reason="ok"}'}, 3,
    'a zone named at server level counts in its locations; "off" stops it, in nested ones too, '
    . 'until a location names it again');
is($after{'pbx_webhook_requests_total{zone="hooks",result="accepted",reason="ok"}'},
    $accepted + 1, 'the other zone is untouched');

$r = $t->post(path => '/metrics', method => 'POST', token => $FIRST, body => '{}');
is($r && $r->{status}, 405, 'the metrics endpoint answers GET only');

my ($status, $out) = $t->test_config(<<'EOF');
http {
    pbx_webhook_zone tiny 4k;
}
EOF
isnt($status, 0, 'a zone under 8 pages fails nginx -t');
like($out, qr/"pbx_webhook_zone" "tiny" is too small/, 'and says which zone');

($status, $out) = $t->test_config(<<'EOF');
http {
    pbx_webhook_zone twice 64k;
    pbx_webhook_zone twice 64k;
}
EOF
isnt($status, 0, 'a zone declared twice fails nginx -t');
like($out, qr/"twice" is duplicate/, 'and says so');

($status, $out) = $t->test_config(<<'EOF');
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        location / {
            pbx_webhook_zone_use nowhere;
        }
    }
}
EOF
isnt($status, 0, 'using an undeclared zone fails nginx -t');
like($out, qr/"pbx_webhook_zone_use" names "nowhere", which no "pbx_webhook_zone" declares/,
    'and names it');

$t->stop;

done_testing;

# Fetches /metrics, checks every line against the text exposition format and
# returns the samples as "name{labels}" => value.
sub scrape {
    my $r = $t->request("GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n");
    is($r && $r->{status}, 200, 'metrics served');
    like($r->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4},
        'exposition content type');

    my (%samples, %help, %type);
    my $bad = 0;
    for my $line (split /\n/, $r->{body}) {
        if ($line =~ /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S/) {
            $help{$1}++;
        } elsif ($line =~ /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/) {
            $type{$1} = $2;
        } elsif ($line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)
                (\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"
                  (?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*\})
                \x20(\d+)$/x)
        {
            my ($name, $labels, $value) = ($1, $2, $3);
            $bad++, diag("sample before its TYPE: $line") unless $type{$name} && $help{$name};
            $bad++, diag("counter not named _total: $line")
                if ($type{$name} // '') eq 'counter' && $name !~ /_total$/;
            $bad++, diag("duplicate sample: $line") if exists $samples{"$name$labels"};
            $samples{"$name$labels"} = $value;
        } else {
            $bad++;
            diag("not exposition format: '$line'");
        }
    }
    is($bad, 0, 'every line is valid exposition format');
    ok(substr($r->{body}, -1) eq "\n", 'output ends with a newline');
    return %samples;
}

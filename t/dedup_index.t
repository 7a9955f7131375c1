#!/usr/bin/perl

# The dedup zone's index in shared memory, in one nginx process, so that it
# runs under valgrind too (t/dedup.t needs two workers and reloads): keys
# found, not found, replaced after a failure, evicted from a full zone and
# found again; the zone stays consistent through hundreds of inserts and
# evictions.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'dedup-index-secret-0123456789ab';

my $t = PbxTest->new;
$t->start_backend;

$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    pbx_webhook_dedup_zone tiny 32k;

    log_format dedup '$pbx_webhook_dedup\t$status\t$http_x_test_id';

    server {
        listen 127.0.0.1:%%PORT%%;

        access_log %%DIR%%/dedup.log dedup;
        pbx_webhook_token %%SECRET%%;

        location /tiny {
            pbx_webhook on;
            pbx_webhook_dedup tiny;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /keyed {
            pbx_webhook on;
            pbx_webhook_dedup tiny;
            pbx_webhook_dedup_key $pbx_event_unique_call_id;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /metrics {
            pbx_webhook_metrics;
        }
    }
}
EOF
$t->run;

my $n = 0;

sub call_event { return event(unique_call_id => "1764203001.$_[0]") }

sub send_event {
    my ($path, $body, %o) = @_;
    my $id = 'req-' . ++$n;
    my @headers = $o{backend_status} ? (['X-Backend-Status', $o{backend_status}]) : ();
    my $before = $t->backend_requests;
    my $r = $t->post(path => $path, token => $SECRET, body => $body, id => $id,
        headers => \@headers);
    my $e = $t->next_log(file => 'dedup.log', fields => [qw(dedup status test_id)], id => $id);
    return ($t->backend_requests - $before, $r && $r->{status}, $e && $e->{dedup});
}

sub zone_metrics {
    my $r = $t->request("GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n");
    my ($entries) = ($r ? $r->{body} : '') =~ /^pbx_webhook_dedup_entries\{zone="tiny"\} (\d+)$/m;
    my ($evicted) = ($r ? $r->{body} : '') =~ /^pbx_webhook_dedup_evictions_total\{zone="tiny"\} (\d+)$/m;
    return ($entries // -1, $evicted // -1);
}

{
    my ($hits, $status, $mark) = send_event('/tiny', call_event(1));
    is("$hits $status $mark", '1 200 first', 'a new key is first and passed on');
    ($hits, $status, $mark) = send_event('/tiny', call_event(1));
    is("$hits $status $mark", '0 200 duplicate', 'the same key is found: a duplicate');
    ($hits, $status, $mark) = send_event('/tiny', call_event(2));
    is("$hits $mark", '1 first', 'another key is not found');
}

{
    my ($hits, $status) = send_event('/tiny', call_event(3), backend_status => 502);
    is("$hits $status", '1 502', 'a failed delivery');
    ($hits, $status, my $mark) = send_event('/tiny', call_event(3));
    is("$hits $mark", '1 first', 'its key was removed: the retry is first');
    ($hits, $status, $mark) = send_event('/tiny', call_event(3));
    is("$hits $mark", '0 duplicate', 'and recorded again');
}

{
    # Same call id, another body: a different key by the body, the same by
    # the call id.
    my ($hits, $status, $mark) = send_event('/keyed', call_event(4));
    is("$hits $mark", '1 first', 'a key of the call id: first');
    ($hits, $status, $mark) = send_event('/keyed',
        event(unique_call_id => '1764203001.4', user_number => '202'));
    is("$hits $mark", '0 duplicate', 'another event of that call is found by it');
}

# More first deliveries than the zone holds: each one past the zone's room
# evicts the oldest, the index gives up slots and takes new ones, and every
# key it still holds is found.
my $total = 600;
{
    my $passed = 0;
    for my $i (1000 .. 999 + $total) {
        my ($hits, $status, $mark) = send_event('/tiny', call_event($i));
        $passed++ if $hits == 1 && $status == 200 && $mark eq 'first';
    }
    is($passed, $total, "$total new keys, each first and passed on");

    my ($entries, $evicted) = zone_metrics();
    ok($entries > 50 && $entries < $total, "the zone holds some of them ($entries)");
    # The four keys recorded above were delivered before the 600, so they
    # went first.
    is($entries + $evicted, $total + 4, 'every key is held or counted as evicted');

    my $held = 0;
    for my $i (999 + $total - $entries + 1 .. 999 + $total) {
        my ($hits, $status, $mark) = send_event('/tiny', call_event($i));
        $held++ if $hits == 0 && $mark eq 'duplicate';
    }
    is($held, $entries, 'each of the newest keys the zone holds is found');

    my ($hits, $status, $mark) = send_event('/tiny', call_event(1000));
    is("$hits $mark", '1 first', 'the oldest was evicted: not found');
    ($hits, $status, $mark) = send_event('/tiny', call_event(1));
    is("$hits $mark", '1 first', 'nor an early one');
}

done_testing;

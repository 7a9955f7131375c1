#!/usr/bin/perl

# Hostile clients: slow and broken senders, lying lengths, pathological JSON,
# bad UTF-8, huge or repeated token headers. Each gets the README's status (or
# nginx's own for protocol errors), nothing reaches the backend unless the README
# says it passes, and no worker logs an alert or dies.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use PbxTest;

my $SECRET = 'hostile-secret-0123456789abcdef';

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        client_body_timeout 2s;
        lingering_timeout 1s;

        location /hook {
            pbx_webhook on;
            pbx_webhook_token %%SECRET%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

    }

    server {
        listen 127.0.0.1:%%PORT_held%%;
        client_body_timeout 60s;

        location /hook {
            pbx_webhook on;
            pbx_webhook_token %%SECRET%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_roomy%%;
        large_client_header_buffers 4 32k;

        location /hook {
            pbx_webhook on;
            pbx_webhook_token %%SECRET%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

my $forwarded = 0;
my $id = 0;

sub backend_is {
    my ($what) = @_;
    is($t->backend_requests, $forwarded, "$what: the backend saw only accepted events");
}

# One request on its own connection; checks status, reason and the backend.
sub verdict {
    my ($name, $status, $reason, %req) = @_;
    my $tid = ++$id;
    my $r = $t->post(path => '/hook', token => $SECRET, id => $tid, %req);
    is($r && $r->{status}, $status, "$name: status $status");
    my $e = $t->next_log(id => $tid);
    is($e->{reason}, $reason, "$name: reason $reason");
    $forwarded++ if $status == 200;
    backend_is($name);
    return ($r, $e);
}

subtest 'a body sent a byte per second ends with client_body_timeout' => sub {
    my $body = event();
    my ($head) = build_request(path => '/hook', token => $SECRET, body => $body, id => ++$id);
    my $slow = $t->connect(timeout => 10);
    $slow->send($head);

    my $started = time;
    my $served = 0;
    my $i = 0;

    # Meanwhile the same worker serves others; the slow client sends a byte
    # a second until nginx gives up on it.
    while (time - $started < 4.5) {
        last unless $slow->send(substr($body, $i++, 1));
        my $r = $t->post(path => '/hook', token => $SECRET, body => event());
        $served++ if $r && $r->{status} == 200;
        $forwarded++ if $r && $r->{status} == 200;
        sleep 1;
    }
    ok($served >= 3, "others were served meanwhile ($served)");

    my $r = $slow->read_response(timeout => 5);
    ok(!$r || $r->{status} == 408, 'the slow request got no verdict from the gate')
        or diag($r->{raw_head});
    ok($slow->closed(5), 'and its connection was closed');
    $slow->close;
    backend_is('slow body');
};

subtest 'the client closes mid-body' => sub {
    for my $n (1 .. 5) {
        my $body = event(padding => 'x' x 2000);
        my $c = $t->connect;
        $c->send(scalar build_request(path => '/hook', token => $SECRET, body => $body,
            length => length $body) =~ s/.{1000}\z//sr);
        sleep 0.05;
        $c->close;
    }
    sleep 0.3;
    my $r = $t->post(path => '/hook', token => $SECRET, body => event());
    is($r && $r->{status}, 200, 'the worker still serves');
    $forwarded++;
    backend_is('closed mid-body');
};

subtest 'Content-Length larger than the body' => sub {
    my $body = event();
    my $c = $t->connect(timeout => 6);
    $c->send(scalar build_request(path => '/hook', token => $SECRET, body => $body,
        length => length($body) + 50));
    my $r = $c->read_response(timeout => 6);
    ok(!$r || $r->{status} == 408, 'no verdict before the promised bytes; nginx times out')
        or diag($r->{raw_head});
    $c->close;
    backend_is('long Content-Length');
};

subtest 'Content-Length smaller than the body' => sub {
    my $body = event();
    my $c = $t->connect;
    $c->send(scalar build_request(path => '/hook', token => $SECRET, body => $body,
        length => length($body) - 10, keepalive => 1));
    my $r = $c->read_response;
    is($r && $r->{status}, 400, 'the cut body is not JSON');
    $c->close;
    backend_is('short Content-Length');
};

subtest 'Content-Length together with chunked' => sub {
    my $body = event();
    my $c = $t->connect;
    my $req = build_request(path => '/hook', token => $SECRET, body => $body,
        chunked => [16]);
    $req =~ s/\r\n\r\n/\r\nContent-Length: 5\r\n\r\n/;
    $c->send($req);
    my $r = $c->read_response;
    is($r && $r->{status}, 400, 'nginx refuses the request itself');
    $c->close;
    backend_is('Content-Length with chunked');
};

verdict('10,000-deep nesting', 400, 'json_too_deep',
    body => '{"type":"voicemail","x":' . ('[' x 10000) . (']' x 10000) . '}');

{
    my @pairs = (type => 'user_outbound', unique_call_id => '1', user_number => '201',
        dest_number => '202');
    push @pairs, "k$_", \'1' for 1 .. 5000;
    my $body = json_object(@pairs);
    cmp_ok(length $body, '<', 64 * 1024, '5,000 keys fit in the default limit');
    verdict('5,000 keys', 200, 'ok', body => $body);
}

{
    my ($r, $e) = verdict('a 60 KB string', 200, 'ok',
        body => event(caller_name => 'n' x (60 * 1024)));
    is($r->{headers}{'x-backend-body-length'}, length event(caller_name => 'n' x (60 * 1024)),
        'forwarded whole');
}

verdict('70 KB body', 413, 'body_too_large', body => event(caller_name => 'n' x (70 * 1024)));

my %bad_utf8 = (
    'overlong slash' => "\xC0\xAF",
    'overlong NUL' => "\xC0\x80",
    'overlong 3 bytes' => "\xE0\x80\xAF",
    'lone high surrogate' => "\xED\xA0\x80",
    'lone low surrogate' => "\xED\xBF\xBF",
    'byte C1' => "\xC1\xBF",
    'byte F5' => "\xF5\x80\x80\x80",
    'byte FF' => "\xFF",
    'above U+10FFFF' => "\xF4\x90\x80\x80",
    'truncated sequence' => "\xE2\x82",
    'lone continuation' => "\x80",
);
for my $name (sort keys %bad_utf8) {
    verdict("invalid UTF-8: $name", 400, 'json_syntax',
        body => '{"type":"user_outbound","unique_call_id":"1","user_number":"2'
            . $bad_utf8{$name} . '","dest_number":"3"}');
}

verdict('a raw NUL in a value', 400, 'json_syntax',
    body => qq({"type":"user_outbound","unique_call_id":"1\x00","user_number":"2","dest_number":"3"}));
verdict('a raw NUL in a key', 400, 'json_syntax',
    body => qq({"type":"user_outbound","uni\x00":"1","unique_call_id":"1","user_number":"2","dest_number":"3"}));
verdict('an escaped NUL in a key and a value', 200, 'ok',
    body => '{"type":"user_outbound","a\u0000b":"c\u0000d","unique_call_id":"1",'
        . '"user_number":"2","dest_number":"3"}');

{
    my $digits = '9' x 400;
    my ($r, $e) = verdict('huge numbers', 200, 'ok',
        body => event(call_duration => \'1e999999', conversation_duration => \$digits));
}

{
    my $tid = ++$id;
    my $r = $t->post(path => '/hook', token => 'x' x (16 * 1024), body => event(), id => $tid);
    is($r && $r->{status}, 400, 'a 16 KB token header is refused by nginx itself');
    backend_is('16 KB token, default buffers');

    $tid = ++$id;
    $r = $t->post(port => $t->port('roomy'), path => '/hook', token => 'x' x (16 * 1024), body => event(), id => $tid);
    is($r && $r->{status}, 401, 'a 16 KB token with room for it is a mismatch');
    my $e = $t->next_log(id => $tid);
    is($e->{reason}, 'token_mismatch', 'reason token_mismatch');
    backend_is('16 KB token, large buffers');
}

{
    my $tid = ++$id;
    my $r = $t->post(path => '/hook', tokens => [($SECRET) x 50], body => event(), id => $tid);
    is($r && $r->{status}, 400, '50 token headers');
    my $e = $t->next_log(id => $tid);
    is($e->{reason}, 'token_repeated', 'reason token_repeated');
    backend_is('many token headers');
}

# Many clients each hold open a body at the 64 KB limit made of as many
# top-level keys as fit, its closing brace not sent: what each costs the
# worker must stay a small multiple of the body (issue 15 measured ~1 MB of
# request pool each). The bound per connection: the 4 bytes of pool per
# body byte plus 16 KB that tests/allocation_test.cpp asserts for the core,
# and 64 KB for nginx's own buffers, pools and connection.
SKIP: {
    skip 'RSS is not the worker\'s own under valgrind', 5 if $t->valgrind;

    my @keys = map { chr } grep { $_ != 0x22 && $_ != 0x5c } 0x20 .. 0x7e;
    my @two = map { my $first = $_; map { "$first$_" } @keys } @keys;
    my $head = '{"type":"user_outbound","unique_call_id":"1","user_number":"2","dest_number":"3"';
    my $open = $head;
    for my $key (@keys, @two, map { " $_" } @two) {
        my $member = ',"' . $key . '":0';
        last if length($open) + length($member) + 1 > 64 * 1024;
        $open .= $member;
    }
    my $body = "$open}";
    cmp_ok(length $body, '>', 64 * 1024 - 10, 'the body is at the 64 KB limit');

    my ($worker) = $t->worker_pids;
    my $rss = sub {
        my $status = read_file("/proc/$worker/status") // return 0;
        return $status =~ /^VmRSS:\s+(\d+) kB/m ? $1 * 1024 : 0;
    };
    # Still until three readings a fifth of a second apart agree.
    my $settled = sub {
        my ($last, $same, $deadline) = ($rss->(), 0, time + 20);
        while ($same < 3 && time < $deadline) {
            sleep 0.2;
            my $now = $rss->();
            $same = $now == $last ? $same + 1 : 0;
            $last = $now;
        }
        return $last;
    };

    my $held = sub {
        my $c = $t->connect(port => $t->port('held'), timeout => 10);
        $c->send(scalar build_request(path => '/hook', token => $SECRET, body => $body)
            =~ s/\}\z//r) if $c;
        return $c;
    };
    my $warm = $held->();
    $warm->send('}');
    my $r = $warm->read_response(timeout => 10);
    is($r && $r->{status}, 200, 'a body of as many keys as fit is accepted');
    $forwarded++;
    $warm->close;

    my $n = 100;
    my $before = $settled->();
    my @conns = grep { defined } map { $held->() } 1 .. $n;
    my $after = $settled->();
    my $growth = $after - $before;
    my $bound = $n * (4 * 64 * 1024 + 16 * 1024 + 64 * 1024);
    cmp_ok($growth, '<=', $bound, sprintf('%d held bodies grew the worker by %.1f MB (bound %.1f MB)',
        scalar @conns, $growth / 2**20, $bound / 2**20));

    my $accepted = 0;
    for my $c (@conns) {
        $c->send('}');
        my $res = $c->read_response(timeout => 10);
        $accepted++ if $res && $res->{status} == 200;
        $c->close;
    }
    is($accepted, $n, 'each held body, once ended, is accepted');
    $forwarded += $accepted;
    backend_is('held bodies');
}

my $r = $t->post(path => '/hook', token => $SECRET, body => event());
is($r && $r->{status}, 200, 'still serving at the end');
$forwarded++;
backend_is('the end');

$t->stop;

done_testing;

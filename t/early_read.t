#!/usr/bin/perl

# Bodies nginx read before the gate: with client_body_early_read (nginx after
# 1.31.4) the whole body is read before the location is chosen. The gate then
# judges the body nginx holds, in memory or in a temp file, and every request
# ends as on a server without early reading: the same status, verdict,
# reason, detail, event variables, metrics, and the same bytes at the backend.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'early-secret-0123456789abc';
my $WRONG = 'wrong-secret-0000000000000';

my $t = PbxTest->new;

my ($status, $out) = $t->test_config(<<'EOF');
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        client_body_early_read 1;
    }
}
EOF
plan skip_all => 'this nginx has no client_body_early_read'
    if $out =~ /unknown directive "client_body_early_read"/;
BAIL_OUT("nginx -t failed: $out") if $status != 0;

my $locations = <<'EOF';
        pbx_webhook_token %%SECRET%%;
        pbx_webhook_zone_use hooks;

        location /hook {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
            add_header X-Body-File $request_body_file;
        }

        location /small {
            pbx_webhook on;
            pbx_webhook_max_body_size 1k;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /monitor {
            pbx_webhook monitor;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /ep {
            pbx_webhook on;
            error_page 401 422 = /fallback;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /fallback {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /metrics {
            pbx_webhook_metrics;
        }
EOF

# Three servers alike but for how the body is read: "normal" by the gate,
# "early" by nginx into memory, "spill" by nginx into a temp file. Each keeps
# its own metrics zone, so their counters can be compared.
my $config = <<'EOF';
http {
    pbx_webhook_zone hooks_normal 1m;
    pbx_webhook_zone hooks_early 1m;
    pbx_webhook_zone hooks_spill 1m;
    pbx_webhook_zone hooks_cap 1m;

    server {
        listen 127.0.0.1:%%PORT_normal%%;
        listen 127.0.0.1:%%PORT_normal_h2%% http2;
        lingering_timeout 1s;
LOCATIONS_normal
    }

    server {
        listen 127.0.0.1:%%PORT_early%%;
        listen 127.0.0.1:%%PORT_early_h2%% http2;
        lingering_timeout 1s;
        client_body_early_read 1;
LOCATIONS_early
    }

    server {
        listen 127.0.0.1:%%PORT_spill%%;
        listen 127.0.0.1:%%PORT_spill_h2%% http2;
        lingering_timeout 1s;
        client_body_early_read 1;
        client_body_buffer_size 1k;
LOCATIONS_spill
    }

    # nginx refuses a body over client_max_body_size while it reads it
    # early, and error_page brings the request to the gate
    server {
        listen 127.0.0.1:%%PORT_cap%%;
        listen 127.0.0.1:%%PORT_cap_h2%% http2;
        lingering_timeout 1s;
        client_body_early_read 1;
        client_max_body_size 2k;
        error_page 413 @gated;

        location @gated {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
LOCATIONS_cap
    }
}
EOF
for my $server (qw(normal early spill cap)) {
    $config =~ s/^LOCATIONS_$server\n/$locations =~ s{zone_use hooks;}{zone_use hooks_$server;}r/me;
}

$t->start_backend;
$t->write_config($config, SECRET => $SECRET);
$t->run;

my $good = event();
my $big = event(pad => 'x' x 8000, caller_name => "\xc3\xa9" x 50);
my $id = 0;

# The same request to a server, answered and logged. Returns the response
# and the access log entry.
sub send_to {
    my ($server, %req) = @_;
    my $via = delete $req{via} // 'http1';
    my $tid = ++$id;
    my $r;
    if ($via eq 'h2') {
        # not curl: it drops an answer that comes before it sent the body
        my $h = $t->h2_connect(port => $t->port("${server}_h2"));
        my @headers = (['content-type', 'application/json'], ['x-test-id', $tid]);
        push @headers, ['x-pbx-token', $req{token} // $SECRET] unless exists $req{token}
            && !defined $req{token};
        push @headers, ['content-length', length $req{body}] if defined $req{body};
        $r = $h->response($h->request(path => $req{path} // '/hook', body => $req{body},
            headers => \@headers));
        $h->close;
    } else {
        $r = $t->post(port => $t->port($server), path => '/hook', token => $SECRET, %req,
            id => $tid);
    }
    return ($r, $t->next_log(id => $tid));
}

# Sends a request to an early-reading server and the same to the normal
# one, and checks the early answer against the normal one and against what is
# due. The normal server gets each request once per early one, so that their
# metrics add up.
sub same {
    my ($name, $status, $reason, %req) = @_;
    my @servers = @{delete $req{servers} // ['early', 'spill']};
    my $result = delete $req{result} // ($reason eq 'ok' ? 'accepted' : 'rejected');

    subtest "$name: $status $reason" => sub {
        for my $server (@servers) {
            my ($nr, $ne) = send_to('normal', %req);
            is($nr && $nr->{status}, $status, "normal server: $status");
            is($ne->{reason}, $reason, "normal server: reason $reason");

            my ($r, $e) = send_to($server, %req);
            is($r && $r->{status}, $status, "$server: status $status");
            for my $field (qw(status result reason detail token_id type method body_length)) {
                is($e->{$field}, $ne->{$field}, "$server: $field as on the normal server");
            }
            is($e->{result}, $result, "$server: result $result");
            if ($status == 200) {
                my $sha = sha256_hex($req{body} // '');
                ok(($r->{headers}{'x-backend-body-sha256'} // '') eq $sha
                    || $r->{body} =~ /^sha256 $sha$/m, "$server: backend got the same bytes");
            } else {
                ok(!exists $r->{headers}{'x-backend-seq'}, "$server: not passed on");
            }
        }
    };
}

same('in memory, good event', 200, 'ok', body => $good, servers => ['early']);
same('8 KB in memory', 200, 'ok', body => $big, servers => ['early']);
same('8 KB in a temp file', 200, 'ok', body => $big, servers => ['spill']);

# nginx logs no "buffered to a temporary file" for a body read early
subtest 'where the bodies were: a temp file on the spill server, memory on the early one' => sub {
    my ($r) = send_to('normal', body => $big);
    ($r) = send_to('spill', body => $big);
    like($r && $r->{headers}{'x-body-file'} // '', qr/client_body_temp/, 'spill: temp file');
    ($r) = send_to('normal', body => $big);
    ($r) = send_to('early', body => $big);
    ok($r && !defined $r->{headers}{'x-body-file'}, 'early: in memory');
};

same('wrong token', 401, 'token_mismatch', token => $WRONG, body => $good);
same('no token', 401, 'token_missing', token => undef, body => $good);
same('text/plain', 415, 'content_type', content_type => 'text/plain', body => $good);
same('GET', 405, 'method', method => 'GET');
same('unknown type', 422, 'type_unknown', body => event(type => 'nope'));
same('field missing, 8 KB', 422, 'field_missing', body => $big =~ s/"dest_number":"[^"]*",//r);
same('syntax error at the end of 8 KB', 400, 'json_syntax', body => "$big]");
same('empty body', 400, 'body_empty', body => '');
same('no body at all', 400, 'body_empty');
same('over the max by Content-Length', 413, 'body_too_large', path => '/small',
    body => event(pad => 'x' x 1100));

for my $sizes ([1], [7], [1000]) {
    my $label = join ',', @$sizes;
    same("chunked [$label]", 200, 'ok', body => $big, chunked => $sizes);
}
same('chunked, over the max', 413, 'body_too_large', path => '/small',
    body => event(pad => 'x' x 1100), chunked => [100]);
same('chunked, unknown type', 422, 'type_unknown', body => event(type => 'nope'),
    chunked => [3]);

same('h2, good event', 200, 'ok', via => 'h2', body => $good);
same('h2, 8 KB', 200, 'ok', via => 'h2', body => $big);
same('h2, wrong token', 401, 'token_mismatch', via => 'h2', token => $WRONG, body => $good);
same('h2, unknown type', 422, 'type_unknown', via => 'h2', body => event(type => 'nope'));
same('h2, over the max', 413, 'body_too_large', via => 'h2', path => '/small',
    body => event(pad => 'x' x 1100));

same('monitor, good event', 200, 'ok', path => '/monitor', body => $good);
same('monitor, wrong token', 200, 'token_mismatch', path => '/monitor', token => $WRONG,
    body => $good, result => 'would_reject');
same('monitor, unknown type in a temp file', 200, 'type_unknown', path => '/monitor',
    body => event(type => 'nope', pad => 'x' x 8000), result => 'would_reject');

# error_page into a location that proxies: what goes on of a refused body
for my $case (['wrong token', token => $WRONG, body => $good],
    ['unknown type', body => event(type => 'nope')])
{
    my ($name, %req) = @$case;
    subtest "error_page after a refusal, $name: the backend gets what it gets normally" => sub {
        for my $server (qw(early spill)) {
            my ($nr, $ne) = send_to('normal', path => '/ep', %req);
            my ($r, $e) = send_to($server, path => '/ep', %req);
            is($r && $r->{status}, $nr && $nr->{status}, "$server: status as on normal");
            is($e->{reason}, $ne->{reason}, "$server: reason as on normal");
            is($r->{headers}{'x-backend-body-length'}, $nr->{headers}{'x-backend-body-length'},
                "$server: the backend got as many body bytes as from normal");
        }
    };
}

subtest 'nginx refuses a body read early, error_page into the gate' => sub {
    for my $req ([chunked => [500]], [via => 'h2'], []) {
        my $how = $req->[0] // 'Content-Length';
        my ($r, $e) = send_to('cap', body => $big, @$req);
        is($r && $r->{status}, 413, "$how: 413");
        is($e->{reason}, 'body_too_large', "$how: body_too_large");
        ok(!exists $r->{headers}{'x-backend-seq'}, "$how: not passed on");
    }
    ok(!$t->error_log_grep(qr/\[alert\]/), 'no [alert]');
};

subtest 'metrics count as on the normal server' => sub {
    my $r = $t->post(port => $t->port('normal'), method => 'GET', path => '/metrics');
    is($r && $r->{status}, 200, 'metrics');
    my (%normal, %early);
    for (split /\n/, $r ? $r->{body} : '') {
        my ($name, $labels, $value) = /^(pbx_webhook_\w+)\{(.*)\}\s+(\S+)$/ or next;
        # The validator counts a rejected body's bytes up to the last whole
        # piece it was fed, so that count depends on how nginx split it.
        # Counters only: gauges and timestamps do not add up.
        next if $name !~ /_total$/ || $name =~ /validated_bytes/;
        my ($zone) = $labels =~ /zone="hooks_(normal|early|spill)"/ or next;
        my $series = $name . '{' . join(',', grep { !/^zone=/ } split /,/, $labels) . '}';
        ($zone eq 'normal' ? \%normal : \%early)->{$series} += $value;
    }
    ok(scalar(grep { $_ > 0 } values %normal) > 5, 'the normal server counted');
    is_deeply(\%early, \%normal, 'early and spill servers together count what normal did');
};

$t->stop;
$t->error_log_clean;
ok(!$t->error_log_grep(qr/request body was read before the gate/),
    'never "request body was read before the gate"');

done_testing;

#!/usr/bin/perl

# Never pass on what the gate did not accept. In a location where the gate is
# on, the content handler runs only for requests the gate accepted, here or
# before an internal redirect: error_page into a gated named location, a
# monitor location that rewrites into a gated one, a body nginx itself
# refused (a broken chunked body, client_max_body_size, an HTTP/2 DATA frame
# beyond the declared length). nginx's own refusals are recorded in the
# variables and counted once; a refused request redirected into a proxying
# location never goes with a Content-Length whose body is missing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'redirect-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    pbx_webhook_zone pbx 64k;

    server {
        listen 127.0.0.1:%%PORT%%;
        listen 127.0.0.1:%%PORT_h2%% http2;
        pbx_webhook_token %%SECRET%%;
        pbx_webhook_zone_use pbx;
        client_max_body_size 2k;
        client_body_timeout 2s;
        lingering_timeout 1s;
        default_type text/plain;
        error_log %%DIR%%/debug.log debug;

        # every refusal into a gated named location that proxies
        location /hook {
            pbx_webhook on;
            error_page 400 401 408 413 422 = @gated;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location @gated {
            pbx_webhook on;
            proxy_read_timeout 3s;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        # the same statuses into a location without the gate that proxies
        location /open {
            pbx_webhook on;
            error_page 400 413 422 = @open;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location @open {
            proxy_read_timeout 3s;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        # error_page without "=": nginx's status stays in r->err_status
        location /plain {
            pbx_webhook on;
            error_page 400 413 @gated;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        # a target without the gate answers as it always did
        location /ack {
            pbx_webhook on;
            error_page 422 =202 @ack;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location @ack {
            return 202 "ack $pbx_webhook_reason\n";
        }

        # monitor passes everything, but not into a gated location
        location /watch {
            pbx_webhook monitor;
            rewrite ^ /gated last;
        }

        location /watch-open {
            pbx_webhook monitor;
            rewrite ^ /passed last;
        }

        location = /gated {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /passed {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /metrics {
            pbx_webhook_metrics;
        }
    }
}
EOF
$t->run;

my $good = event();
my $id = 0;

# A request, its response and its log line; checks that the backend saw
# nothing of it.
sub refused {
    my ($name, $status, $reason, $send, %o) = @_;
    my $before = $t->backend_requests;
    my $tid = ++$id;
    my $r = $send->($tid);
    my $e = $t->next_log(id => $tid, timeout => 6);
    subtest $name => sub {
        is($r && $r->{status}, $status, "answered $status");
        is($t->backend_requests, $before, 'the backend was not reached');
        is($e && $e->{status}, $status, 'logged status');
        is($e && $e->{result}, $o{result} // 'rejected', '$pbx_webhook_result');
        is($e && $e->{reason}, $reason, '$pbx_webhook_reason');
        like($e && $e->{detail}, $o{detail}, '$pbx_webhook_detail') if $o{detail};
    };
    return ($r, $e);
}

# Sends a chunked request by hand: the head, the given raw chunk bytes.
sub chunked {
    my ($path, $raw, $tid) = @_;
    my $head = build_request(path => $path, token => $SECRET, id => $tid);
    $head =~ s/\r\n\r\n\z/\r\nTransfer-Encoding: chunked\r\n\r\n/;
    return $t->request($head . $raw, timeout => 6);
}

my $event_chunk = sprintf("%x\r\n%s\r\n", length $good, $good);

refused('a whole event, then a malformed chunk: nginx 400, not passed', 400,
    'body_incomplete', sub { chunked('/hook', $event_chunk . "zz\r\nbad\r\n0\r\n\r\n", $_[0]) },
    detail => qr/^nginx refused the body with 400$/);

refused('a whole event, then a chunk past client_max_body_size: nginx 413', 413,
    'body_too_large',
    sub { chunked('/hook', $event_chunk . sprintf("%x\r\n", 4096) . ('x' x 4096) . "\r\n0\r\n\r\n",
        $_[0]) },
    detail => qr/client_max_body_size/);

# The same with the bad chunk arriving after the event was read.
sub chunked_later {
    my ($path, $raw, $tid) = @_;
    my $head = build_request(path => $path, token => $SECRET, id => $tid);
    $head =~ s/\r\n\r\n\z/\r\nTransfer-Encoding: chunked\r\n\r\n/;
    my $c = $t->connect(timeout => 6);
    $c->send($head . $event_chunk);
    select(undef, undef, undef, 0.3);
    $c->send($raw);
    my $r = $c->read_response(timeout => $t->timeout(6));
    $c->close;
    return $r;
}

refused('a malformed chunk after a pause: nginx 400, not passed', 400, 'body_incomplete',
    sub { chunked_later('/hook', "zz\r\nbad\r\n0\r\n\r\n", $_[0]) });

refused('a chunk past client_max_body_size after a pause: nginx 413', 413, 'body_too_large',
    sub { chunked_later('/open', sprintf("%x\r\n", 4096) . ('x' x 4096) . "\r\n0\r\n\r\n",
        $_[0]) });

refused('the same into a target without the gate: nginx 400, not passed', 400,
    'body_incomplete', sub { chunked('/open', $event_chunk . "zz\r\nbad\r\n0\r\n\r\n", $_[0]) });

refused('error_page without "=": nginx 413', 413, 'body_too_large',
    sub { chunked('/plain', $event_chunk . sprintf("%x\r\n", 4096) . ('x' x 4096) . "\r\n0\r\n\r\n",
        $_[0]) });

my $big = event(pad => 'p' x 3000);
refused('Content-Length over client_max_body_size into a gated location: 413, not body_empty',
    413, 'body_too_large',
    sub { $t->post(path => '/hook', token => $SECRET, body => $big, id => $_[0], timeout => 6) });

my ($r) = refused('own refusal (json_syntax) into a gated location that proxies: 400 at once',
    400, 'json_syntax',
    sub { $t->post(path => '/hook', token => $SECRET, body => '{"type":"x",}', id => $_[0],
        timeout => 6) });

subtest 'own refusal into a proxying location without the gate: no body, no Content-Length lie'
    => sub {
    my $tid = ++$id;
    my $start = time;
    my $r = $t->post(path => '/open', token => $SECRET, body => '{"type":"x",' . ('y' x 40),
        id => $tid, timeout => 6);
    is($r && $r->{status}, 200, 'the target answered');
    like($r->{body}, qr/^length 0$/m, 'the backend got an empty body');
    unlike($r->{body}, qr/"type"/, 'nothing of the refused event');
    cmp_ok(time - $start, '<', 2.5, 'at once, not after proxy_read_timeout');
    my $e = $t->next_log(id => $tid);
    is("$e->{result} $e->{reason}", 'rejected json_syntax', 'verdict kept');
};

refused('own 422 into a gated location: 422 again', 422, 'type_unknown',
    sub { $t->post(path => '/hook', token => $SECRET, body => event(type => 'nope'), id => $_[0]) });

refused('no token into a gated location: 401 again', 401, 'token_missing',
    sub { $t->post(path => '/hook', body => $good, id => $_[0]) });

subtest 'a target without the gate answers as before (ack)' => sub {
    my $tid = ++$id;
    my $r = $t->post(path => '/ack', token => $SECRET, body => event(type => 'nope'), id => $tid);
    is($r && $r->{status}, 202, '202 from the target');
    is($r->{body}, "ack type_unknown\n", 'its body');
    is($t->next_log(id => $tid)->{reason}, 'type_unknown', 'reason kept');
};

refused('monitor location rewriting into a gated one, no token: 401', 401, 'token_missing',
    sub { $t->post(path => '/watch', body => $good, id => $_[0]) });

refused('monitor location rewriting into a gated one, bad JSON: 400', 400, 'json_syntax',
    sub { $t->post(path => '/watch', token => $SECRET, body => '{', id => $_[0]) });

subtest 'monitor location rewriting into one without the gate passes' => sub {
    my $tid = ++$id;
    my $r = $t->post(path => '/watch-open', body => $good, id => $tid);
    is($r && $r->{status}, 200, 'passed');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($good), 'the body unchanged');
    my $e = $t->next_log(id => $tid);
    is("$e->{result} $e->{reason}", 'would_reject token_missing', 'monitor verdict');
};

subtest 'an accepted event in a monitor location passes a gated one' => sub {
    my $tid = ++$id;
    my $r = $t->post(path => '/watch', token => $SECRET, body => $good, id => $tid);
    is($r && $r->{status}, 200, 'passed');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($good), 'the body unchanged');
    is($t->next_log(id => $tid)->{result}, 'accepted', 'accepted');
};

subtest 'a body that stops coming: client_body_timeout recorded' => sub {
    my $tid = ++$id;
    my $before = $t->backend_requests;
    my $c = $t->connect(timeout => 8);
    my ($head, $body) = build_request(path => '/hook', token => $SECRET, body => $good,
        id => $tid);
    $c->send($head . substr($body, 0, 10));
    my $r = $c->read_response(timeout => $t->timeout(6));
    $c->close;
    my $e = $t->next_log(id => $tid, timeout => 8);
    is($t->backend_requests, $before, 'the backend was not reached');
    is($e && $e->{status}, 408, 'logged 408');
    is($e && "$e->{result} $e->{reason}", 'rejected body_incomplete', 'recorded');
    like($e && $e->{detail}, qr/client_body_timeout/, 'detail');
};

SKIP: {
    my $h = $t->h2_connect(port => $t->port('h2'));
    skip 'no HTTP/2 connection', 1 unless $h;

    refused('HTTP/2: DATA beyond the declared content-length: 400, not passed', 400,
        'body_incomplete', sub {
            my $sid = $h->request(path => '/hook', body => $good, hold_body => 1,
                headers => [['content-type', 'application/json'], ['x-pbx-token', $SECRET],
                    ['content-length', length $good], ['x-test-id', $_[0]]]);
            $h->send_data($sid, $good);
            $h->send_data($sid, 'trailing bytes');
            return $h->response($sid, timeout => 6);
        });
}

subtest 'HTTP/2: refusals into gated locations are answered again' => sub {
    my $before = $t->backend_requests;
    my $h = $t->h2_connect(port => $t->port('h2'));
    my $json = ['content-type', 'application/json'];
    my $token = ['x-pbx-token', $SECRET];
    my @cases = (
        ['/hook', 400, 'json_syntax', '{"type":"x",}', $json, $token],
        ['/hook', 422, 'type_unknown', event(type => 'nope'), $json, $token],
        ['/hook', 413, 'body_too_large', $big, $json, $token],
        ['/watch', 401, 'token_missing', $good, $json],
    );
    for my $case (@cases) {
        my ($path, $status, $reason, $body, @headers) = @$case;
        my $tid = ++$id;
        my $sid = $h->request(path => $path, body => $body,
            headers => [@headers, ['content-length', length $body], ['x-test-id', $tid]]);
        my $r = $h->response($sid);
        is($r && $r->{status}, $status, "$path $reason: $status");
        my $e = $t->next_log(id => $tid);
        is($e && "$e->{result} $e->{reason}", "rejected $reason", "$path $reason: logged");
    }
    is($t->backend_requests, $before, 'the backend was not reached');
};

# Each request counted once, never again after a redirect.
my $m = $t->request("GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n");
my %count;
while ($m->{body} =~ /^pbx_webhook_requests_total\{zone="pbx",result="(\w+)",reason="(\w+)"\} (\d+)$/mg) {
    $count{"$1 $2"} = $3;
}
is($count{'rejected body_incomplete'}, 5, 'body_incomplete counted once per request');
is($count{'rejected body_too_large'}, 5, 'body_too_large counted once per request');
is($count{'rejected json_syntax'}, 3, 'json_syntax counted once per request');
is($count{'would_reject json_syntax'}, 1, 'json_syntax in monitor mode counted once');
is($count{'rejected token_missing'}, 1, 'token_missing counted once');
is($count{'would_reject token_missing'}, 3, 'monitor verdicts counted once');
is($count{'rejected type_unknown'}, 3, 'type_unknown counted once');

$t->stop;

my @info = $t->error_log_grep(qr/\[info\].*pbx_webhook (?:rejected|would reject)/, 'debug.log');
is(scalar(grep { /body_incomplete|body_too_large/ } @info), 10,
    'one info line per refusal by nginx');
SKIP: {
    skip 'nginx without --with-debug', 4
        unless (PbxTest::capture($t->{nginx}, '-V') // '') =~ /--with-debug/;
    my @debug = $t->error_log_grep(qr/pbx_webhook (?:headers judged|reads the body|verdict|answers)/,
        'debug.log');
    ok((grep { /pbx_webhook headers judged/ } @debug), 'debug: headers judged');
    ok((grep { /pbx_webhook reads the body/ } @debug), 'debug: body reading started');
    ok((grep { /pbx_webhook verdict: 400 json_syntax/ } @debug), 'debug: the verdict');
    ok((grep { /pbx_webhook answers 422 again/ } @debug), 'debug: answered again');
}

done_testing;

#!/usr/bin/perl

# The configurations in examples/ do what their comments (and the README) say:
# each one passes "nginx -t" without a warning, serves a good and a bad event,
# and shows its point; nothing is logged at [alert] or [emerg].
#
# Recipes are files for inside http {} with %%PORT%%, %%BACKEND%%,
# %%BACKEND_name%% and %%DIR%% placeholders, which PbxTest fills.
# examples/nginx.conf is a whole nginx.conf with real values; it is rendered
# the way scripts/demo renders it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Basename qw(basename);
use IO::Socket::INET;
use JSON::PP qw(decode_json);
use Test::More;
use Time::HiRes qw(sleep time);
use PbxTest;

my $root = $PbxTest::ROOT;
my $secret = 'examples-secret-0123456789abcdef';
my $second = 'examples-second-fedcba9876543210';
my $path = '/pbx/events';

my %event = map { basename($_, '.json') => read_file($_) } glob "$root/examples/events/*.json";
my $voicemail = $event{voicemail};
(my $no_caller = $voicemail) =~ s/^\s*"caller_id":[^\n]*\n//m;

my %tested;
my %read;    # "test dir/log file" => lines already returned by log_lines

# A PbxTest for one example: token file, backends, nginx -t, nginx started.
sub start_example {
    my ($file, %o) = @_;
    $tested{$file} = 1;

    my $t = PbxTest->new(name => 'examples-' . ($file =~ s/\.conf$//r));
    write_tokens($t, @{$o{tokens} // [$secret]});
    $t->start_backend(name => $_) for @{$o{backends} // []};
    $t->start_backend unless $o{backends};

    my $conf = $o{conf} // "http {\n" . read_file("$root/examples/$file") . "}\n";
    my ($rc, $out) = $t->test_config($conf);
    is($rc, 0, "$file: nginx -t passes") or diag($out);
    unlike($out, qr/\[(warn|emerg|alert|crit)\]/, "$file: nginx -t says nothing at warn or above")
        or diag($out);

    $t->write_config($conf);
    $t->run;
    return $t;
}

sub finish {
    my ($t) = @_;
    $t->stop;
}

sub write_tokens {
    my ($t, @secrets) = @_;
    my $file = $t->dir . '/pbx-webhook.tokens';
    write_file($file, join '', map { "$_\n" } @secrets);
    chmod 0600, $file;
}

sub send_event {
    my ($t, $body, %o) = @_;
    return $t->post(path => $path, token => $secret, body => $body, %o);
}

# The next $n lines of one of the example's own access logs, waiting for
# them: nginx writes a line when it is done with the request.
sub log_lines {
    my ($t, $file, $n) = @_;
    my $deadline = time + $t->timeout(5);
    my @lines;
    while (1) {
        my $text = read_file($t->dir . "/$file") // '';
        my $from = $read{$t->dir . "/$file"} // 0;
        @lines = grep { length } split /\n/, $text;
        if (@lines - $from >= $n || time > $deadline) {
            @lines = @lines[$from .. $#lines];
            last;
        }
        sleep 0.05;
    }
    $read{$t->dir . "/$file"} += @lines;
    return @lines;
}

# A line of the space-separated formats: the fields after "$request".
sub verdict_of {
    my ($line) = @_;
    my ($status, $result, $reason) = ($line // '') =~ /" (\d{3}) (\S+) (\S+) / or return '';
    return "$status $result $reason";
}

sub curl_from {
    my ($t, $address, $token, $body) = @_;
    my $file = $t->dir . '/curl-body.json';
    write_file($file, $body);
    my $out = PbxTest::capture('curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
        '--max-time', $t->timeout(10), '--interface', $address,
        '-H', 'Content-Type: application/json', '-H', "X-Pbx-Token: $token",
        '--data-binary', "\@$file", 'http://127.0.0.1:' . $t->port . $path);
    return $out =~ /(\d{3})$/ ? $1 : $out;
}

###############################################################################
# examples/nginx.conf, as scripts/demo runs it

{
    my $conf = read_file("$root/examples/nginx.conf");

    # The harness writes load_module, user, pid and error_log.
    $conf =~ s/^((?:load_module|user|pid|error_log)\s)/# $1/mg;
    $conf =~ s{127\.0\.0\.1:8080\b}{127.0.0.1:%%PORT%%}g;
    $conf =~ s{127\.0\.0\.1:8081\b}{127.0.0.1:%%BACKEND%%}g;
    $conf =~ s{/var/log/nginx/}{%%DIR%%/}g;
    $conf =~ s{/etc/nginx/pbx-webhook\.tokens}{%%DIR%%/pbx-webhook.tokens}g;

    my $t = start_example('nginx.conf', conf => $conf);

    my $r = send_event($t, $voicemail);
    is($r->{status}, 200, 'nginx.conf: event accepted');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($voicemail),
        'nginx.conf: backend gets the body unchanged');
    is($r->{headers}{'x-backend-token'}, '-', 'nginx.conf: backend does not see the secret');
    like($r->{body}, qr/^X-Pbx-Event-Type: voicemail\r$/mi, 'nginx.conf: event type header');

    $r = send_event($t, $voicemail, token => 'wrong-secret-000000000000');
    is($r->{status}, 401, 'nginx.conf: wrong secret refused');
    is($t->backend_requests, 1, 'nginx.conf: refused request did not reach the backend');

    my @lines = log_lines($t, 'pbx-webhook.log', 2);
    like($lines[0] // '', qr{"POST /pbx/events HTTP/1\.1" 200 accepted ok "-" 1 voicemail 1764201722\.48290$},
        'nginx.conf: log line of an accepted event');
    like($lines[1] // '', qr{ 401 rejected token_mismatch "token matches no secret" - - -$},
        'nginx.conf: log line of a refused one');

    finish($t);
}

###############################################################################
# gate-existing-endpoint.conf

{
    my $t = start_example('gate-existing-endpoint.conf');

    my $r = send_event($t, $voicemail);
    is($r->{status}, 200, 'gate-existing: event accepted');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($voicemail),
        'gate-existing: body reaches the application');
    is($t->next_log->{result}, 'accepted', 'gate-existing: logged accepted');

    $r = send_event($t, $no_caller);
    is($r->{status}, 422, 'gate-existing: event without caller_id refused');
    my $e = $t->next_log;
    is("$e->{result} $e->{reason}", 'rejected field_missing', 'gate-existing: logged why');

    $r = send_event($t, $voicemail, token => undef);
    is($r->{status}, 401, 'gate-existing: no secret refused');
    is($t->backend_requests, 1, 'gate-existing: refused requests did not reach the application');
    $t->next_log;

    $r = $t->post(method => 'GET', path => '/health');
    is($r->{status}, 200, 'gate-existing: other routes are not gated');
    is($t->next_log->{result}, '', 'gate-existing: gate did not run there');

    # Spellings of the endpoint an application may route to the same
    # handler: none gets through without the secret.
    my @variants = ('/pbx/events/', '/pbx/events//', '/pbx/events/.', '/PBX/EVENTS',
        '/pbx//events', '/pbx/./events', '/Pbx/Events/', '/pbx/events.json', '/pbx/events;x',
        '/pbx/%65vents', '/pbx/%2e/events', '/x/../pbx/events', '/pbx/events?x=1');
    my $before = $t->backend_requests;
    for my $variant (@variants) {
        $r = $t->post(path => $variant, body => $voicemail);
        is($r->{status}, 401, "gate-existing: POST $variant without the secret refused");
        my $e = $t->next_log;
        is("$e->{result} $e->{reason}", 'rejected token_missing', "gate-existing: $variant judged");
    }
    is($t->backend_requests, $before, 'gate-existing: no path variant reached the application');

    $r = $t->post(path => '/PBX/Events/', token => $secret, body => $voicemail);
    is($r->{status}, 200, 'gate-existing: a variant with the secret is judged like the endpoint');
    $t->next_log;

    # client_body_buffer_size as large as the body limit: no temp file.
    my $big = event(type => 'voicemail', caller_id => '+6495550000', dest_number => '201',
        note => 'n' x 60000);
    $r = send_event($t, $big);
    is($r->{status}, 200, 'gate-existing: a 60 KB event accepted');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($big), 'gate-existing: whole');
    is(scalar($t->error_log_grep(qr/buffered to a temporary file/)), 0,
        'gate-existing: and kept in memory, not in a temp file');

    finish($t);
}

###############################################################################
# monitor-rollout.conf

{
    my $t = start_example('monitor-rollout.conf');

    my $r = send_event($t, $voicemail);
    is($r->{status}, 200, 'monitor: good event passes');

    $r = send_event($t, $voicemail, token => 'wrong-secret-000000000000');
    is($r->{status}, 200, 'monitor: wrong secret still reaches the backend');
    is($r->{headers}{'x-backend-token'}, 'wrong-secret-000000000000',
        'monitor: the secret is passed on as before');

    $r = send_event($t, $no_caller);
    is($r->{status}, 200, 'monitor: bad event still reaches the backend');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($no_caller),
        'monitor: with its body unchanged');
    is($t->backend_requests, 3, 'monitor: backend got all three');

    my @all = log_lines($t, 'pbx-webhook.log', 3);
    is(verdict_of($all[0]), '200 accepted ok', 'monitor: log, good event');
    is(verdict_of($all[1]), '200 would_reject token_mismatch', 'monitor: log, wrong secret');
    is(verdict_of($all[2]), '200 would_reject field_missing', 'monitor: log, bad event');

    my @would = log_lines($t, 'pbx-would-reject.log', 2);
    is(scalar @would, 2, 'monitor: would-reject log has the two bad requests only');
    like($would[1] // '', qr/field \\x22caller_id\\x22 missing/, 'monitor: with the detail');

    finish($t);
}

###############################################################################
# rotate-secrets.conf

SKIP: {
    $tested{'rotate-secrets.conf'} = 1;
    skip 'rotate-secrets: reload needs a master process (valgrind)', 15 if $ENV{PBX_VALGRIND};

    my $t = start_example('rotate-secrets.conf', tokens => [$secret]);
    my $new = $second;

    is(send_event($t, $voicemail)->{status}, 200, 'rotate: old secret accepted');
    like((log_lines($t, 'pbx-webhook.log', 1))[0] // '', qr/ token=1 /, 'rotate: as token 1');

    write_tokens($t, $secret, $new);
    ok($t->reload, 'rotate: reload with both secrets');
    is(send_event($t, $voicemail)->{status}, 200, 'rotate: old secret still accepted');
    is(send_event($t, $voicemail, token => $new)->{status}, 200, 'rotate: new secret accepted');
    my @lines = log_lines($t, 'pbx-webhook.log', 2);
    like($lines[0] // '', qr/ token=1 /, 'rotate: old one logs token 1');
    like($lines[1] // '', qr/ token=2 /, 'rotate: new one logs token 2');

    write_tokens($t, $new);
    ok($t->reload, 'rotate: reload with the new secret only');
    is(send_event($t, $voicemail)->{status}, 401, 'rotate: old secret refused');
    is(send_event($t, $voicemail, token => $new)->{status}, 200, 'rotate: new secret accepted');
    @lines = log_lines($t, 'pbx-webhook.log', 2);
    like($lines[0] // '', qr/ 401 rejected token_mismatch token=- /, 'rotate: refusal logged');
    like($lines[1] // '', qr/ token=1 /, 'rotate: new secret is token 1 now');

    finish($t);
}

###############################################################################
# route-by-type.conf

{
    my $t = start_example('route-by-type.conf', backends => [qw(calls recordings)]);

    my $r = send_event($t, $voicemail);
    is($r->{status}, 200, 'route: voicemail accepted');
    like($r->{body}, qr/^X-Pbx-Event-Type: voicemail\r$/mi, 'route: with its type header');
    $r = send_event($t, $event{recording_inbound});
    is($r->{status}, 200, 'route: recording accepted');
    $r = send_event($t, $event{user_inbound});
    is($r->{status}, 200, 'route: call event accepted');
    $r = send_event($t, '{"type":"fax_received","unique_call_id":"1"}');
    is($r->{status}, 422, 'route: unknown type refused');

    is($t->backend_requests('recordings'), 2, 'route: recordings service got voicemail and recording');
    is($t->backend_requests('calls'), 1, 'route: calls service got the call event');

    finish($t);
}

###############################################################################
# ack-unwanted.conf

{
    my $t = start_example('ack-unwanted.conf');

    my $r = send_event($t, $voicemail);
    is($r->{status}, 200, 'ack: wanted type proxied');

    $r = send_event($t, $event{queue_call});
    is($r->{status}, 202, 'ack: unwanted type answered 202');
    is($r->{body}, "ignored\n", 'ack: by the named location');

    $r = send_event($t, $no_caller);
    is($r->{status}, 202, 'ack: event failing a field check answered 202 too');

    $r = send_event($t, $voicemail, token => 'wrong-secret-000000000000');
    is($r->{status}, 401, 'ack: wrong secret still 401');
    is($t->backend_requests, 1, 'ack: only the wanted event reached the backend');

    my @lines = log_lines($t, 'pbx-webhook.log', 4);
    is(verdict_of($lines[0]), '200 accepted ok', 'ack: log, wanted');
    is(verdict_of($lines[1]), '202 rejected type_unknown', 'ack: log keeps the real reason');
    is(verdict_of($lines[2]), '202 rejected field_missing', 'ack: log, field check');
    is(verdict_of($lines[3]), '401 rejected token_mismatch', 'ack: log, wrong secret');

    finish($t);
}

###############################################################################
# hide-secret.conf

{
    my $t = start_example('hide-secret.conf', tokens => [$secret, $second]);

    my $r = send_event($t, $voicemail, token => $second);
    is($r->{status}, 200, 'hide-secret: accepted');
    is($r->{headers}{'x-backend-token'}, '-', 'hide-secret: backend gets no X-Pbx-Token');
    unlike($r->{body}, qr/\Q$second\E/, 'hide-secret: nor the secret anywhere in the head');
    like($r->{body}, qr/^X-Pbx-Token-Id: 2\r$/m, 'hide-secret: which secret matched');
    like($r->{body}, qr/^X-Pbx-Event-Type: voicemail\r$/m, 'hide-secret: event type');
    like($r->{body}, qr/^X-Pbx-Call-Id: 1764201722\.48290\r$/m, 'hide-secret: call id');

    $r = send_event($t, $voicemail, token => 'wrong-secret-000000000000');
    is($r->{status}, 401, 'hide-secret: wrong secret refused');
    is($t->backend_requests, 1, 'hide-secret: and not proxied');

    finish($t);
}

###############################################################################
# json-access-log.conf

{
    my $t = start_example('json-access-log.conf');

    is(send_event($t, $event{user_inbound_completed})->{status}, 200, 'json log: accepted');
    is(send_event($t, $no_caller)->{status}, 422, 'json log: refused');
    is(send_event($t, "{\"type\":\"voice\\u0022mail\\n\",\"unique_call_id\":\"1\"}")->{status}, 422,
        'json log: odd type refused');

    my @lines = log_lines($t, 'pbx-webhook.json', 3);
    my @e = map { my $l = $_; eval { decode_json($l) } } @lines;
    is(scalar(grep { ref } @e), 3, 'json log: every line parses as JSON') or diag(join "\n", @lines);

    is_deeply([@{$e[0] // {}}{qw(status result reason token_id type call_id call_duration)}],
        [200, 'accepted', 'ok', '1', 'user_inbound_completed', '1764201600.48213', '187'],
        'json log: accepted event');
    is_deeply([@{$e[0] // {}}{qw(caller user_number dest)}], ['+*******234', '201', '+*******000'],
        'json log: numbers masked but for the last 3 digits');
    is_deeply([@{$e[1] // {}}{qw(status result reason detail type caller dest)}],
        [422, 'rejected', 'field_missing', 'field "caller_id" missing', 'voicemail', '',
            '+*******001'],
        'json log: refused event, detail with quotes');
    my @numbers = ($event{user_inbound_completed} =~ /"(\+\d+)"/g, $voicemail =~ /"(\+\d+)"/g);
    ok(@numbers >= 4, 'json log: the events carry phone numbers');
    is(scalar(grep { my $n = $_; grep { index($_, $n) >= 0 } @lines } @numbers), 0,
        'json log: no whole phone number in the log');
    is(($e[2] // {})->{type}, "voice\"mail?",
        'json log: unescaped type, control byte shown as ?, escaped again for JSON');

    finish($t);
}

###############################################################################
# allow-deny-limit-req.conf

{
    my $t = start_example('allow-deny-limit-req.conf');

    is(send_event($t, $voicemail)->{status}, 200, 'allow-deny: allowed address, good event');
    is($t->next_log->{result}, 'accepted', 'allow-deny: logged accepted');

    SKIP: {
        my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.2', PeerAddr => '127.0.0.1',
            PeerPort => $t->port, Proto => 'tcp');
        skip 'cannot connect from 127.0.0.2', 4 unless $probe;
        close $probe;

        is(curl_from($t, '127.0.0.2', $secret, $voicemail), 403,
            'allow-deny: other address with the secret: 403');
        is($t->next_log->{result}, 'accepted', 'allow-deny: after the gate passed it');
        is(curl_from($t, '127.0.0.2', 'wrong-secret-000000000000', $voicemail), 401,
            'allow-deny: other address without the secret: the gate answers first');
        is($t->backend_requests, 1, 'allow-deny: only the allowed request was proxied');
        $t->skip_log;
    }

    SKIP: {
        skip 'allow-deny: rate limit timing under valgrind', 4 if $ENV{PBX_VALGRIND};

        # Pipelined on one connection, so that they arrive faster than the rate.
        my $n = 60;
        my $before = $t->backend_requests;
        my $c = $t->connect;
        $c->send(join '', map { build_request(path => $path, token => $secret, body => $voicemail,
            keepalive => 1) } 1 .. $n);
        my @status = map { my $r = $c->read_response; $r ? $r->{status} : 0 } 1 .. $n;
        $c->close;
        is(scalar(grep { $_ == 200 } @status[0 .. 19]), 20, 'allow-deny: a burst of 20 passes');
        my $passed = grep { $_ == 200 } @status;
        ok($passed < $n && !grep({ $_ != 200 && $_ != 429 } @status),
            'allow-deny: then the rate limit answers 429') or diag("@status");
        is($t->backend_requests - $before, $passed, 'allow-deny: 429s did not reach the backend');

        my @e = map { $t->next_log } 1 .. $n;
        my @limited = grep { $_ && $_->{status} eq '429' } @e;
        ok(@limited && !grep({ $_->{result} ne 'accepted' } @limited),
            'allow-deny: rate-limited requests had passed the gate');
    }

    finish($t);
}

###############################################################################
# metrics.conf

{
    my $t = start_example('metrics.conf');

    is(send_event($t, $voicemail)->{status}, 200, 'metrics: accepted');
    is(send_event($t, $voicemail, token => 'wrong-secret-000000000000')->{status}, 401,
        'metrics: refused');

    my $r = $t->post(method => 'GET', path => '/metrics');
    is($r->{status}, 200, 'metrics: served');
    like($r->{headers}{'content-type'} // '', qr{^text/plain}, 'metrics: as text');
    my %m = map { /^(\S+) (\S+)$/ ? ($1 => $2) : () } grep { !/^#/ } split /\n/, $r->{body};
    is($m{'pbx_webhook_requests_total{zone="pbx_webhook",result="accepted",reason="ok"}'}, 1,
        'metrics: accepted request counted');
    is($m{'pbx_webhook_requests_total{zone="pbx_webhook",result="rejected",reason="token_mismatch"}'},
        1, 'metrics: refusal counted by reason');
    is($m{'pbx_webhook_events_total{zone="pbx_webhook",type="voicemail"}'}, 1,
        'metrics: event counted by type');
    is($m{'pbx_webhook_token_matches_total{zone="pbx_webhook",token_id="1"}'}, 1,
        'metrics: match counted by secret number');

    finish($t);
}

###############################################################################
# dedup.conf

{
    my $t = start_example('dedup.conf');

    my $r = send_event($t, $voicemail);
    is($r->{status}, 200, 'dedup: first delivery accepted');
    $r = send_event($t, $voicemail);
    is($r->{status}, 200, 'dedup: the retry answered 200');
    is($r->{body}, '', 'dedup: by nginx, with an empty body');
    is($t->backend_requests, 1, 'dedup: the retry did not reach the backend');

    my $other = $voicemail =~ s/"caller_id":\s*"/"caller_id": "1/r;
    is(send_event($t, $other)->{status}, 200, 'dedup: another event accepted');
    is($t->backend_requests, 2, 'dedup: and passed on');

    my @lines = log_lines($t, 'pbx-dedup.log', 3);
    like($lines[0] // '', qr/ 200 accepted first voicemail$/, 'dedup: first logged');
    like($lines[1] // '', qr/ 200 duplicate duplicate voicemail$/, 'dedup: duplicate logged');
    like($lines[2] // '', qr/ 200 accepted first voicemail$/, 'dedup: another first');

    finish($t);
}

###############################################################################

my @files = sort map { basename($_) } glob "$root/examples/*.conf";
is_deeply([sort keys %tested], \@files, 'every examples/*.conf is tested here');

done_testing;

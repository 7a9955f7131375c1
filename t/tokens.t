#!/usr/bin/perl

# Secrets: several inline ones, token files (numbered after the inline ones),
# rotation by rewriting the file and reloading, a custom header, a header
# sent twice. $pbx_webhook_token_id says which secret matched.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $A = 'inline-secret-a-0123456789';
my $B = 'inline-secret-b-0123456789';
my $F1 = 'file-secret-one-0123456789';
my $F2 = 'file-secret-two-0123456789';
my $F3 = 'file secret with spaces 0123';
my $C = 'dup-file-secret-c-0123456789';
my $R1 = 'rotate-secret-1-0123456789';
my $R2 = 'rotate-secret-2-0123456789';
my $R3 = 'rotate-secret-3-0123456789';
my @ALL = ($A, $B, $F1, $F2, $F3, $C, $R1, $R2, $R3);

my $t = PbxTest->new;
my $dir = $t->dir;

sub token_file {
    my ($name, $text) = @_;
    write_file("$dir/$name", $text);
    chmod 0600, "$dir/$name";
}

# blank lines, surrounding blanks and CRs do not count; inner spaces do
token_file('tokens.txt', "\n  $F1  \r\n\n\t$F2\r\n$F3\n   \n");
token_file('dup.txt', "$A\n$C\n");
token_file('rotate.txt', "$R1\n");

$t->start_backend;
my $conf = <<'EOF';
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        proxy_set_header X-Pbx-Token "";

        location /two {
            pbx_webhook on;
            pbx_webhook_token %%A%%;
            pbx_webhook_token %%B%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /file {
            pbx_webhook on;
            pbx_webhook_token %%A%%;
            pbx_webhook_token_file %%DIR%%/tokens.txt;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /mixed {
            pbx_webhook on;
            pbx_webhook_token %%A%%;
            pbx_webhook_token_file %%DIR%%/tokens.txt;
            pbx_webhook_token %%B%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /dup {
            pbx_webhook on;
            pbx_webhook_token %%A%%;
            pbx_webhook_token_file %%DIR%%/dup.txt;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /rotate {
            pbx_webhook on;
            pbx_webhook_token_file %%DIR%%/rotate.txt;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /schema {
            pbx_webhook on;
            pbx_webhook_token_file %%DIR%%/rotate.txt;
            pbx_webhook_event %%EVENTS%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /custom {
            pbx_webhook on;
            pbx_webhook_token %%A%%;
            pbx_webhook_token_header X-Hook-Secret;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
my %vars = (A => $A, B => $B, EVENTS => 'user_outbound');
$t->write_config($conf, %vars);
$t->run;

my $id = 0;

# Sends a good event with the given token options; checks status, reason
# and token id.
sub token_case {
    my ($name, $path, $status, $reason, $token_id, %req) = @_;
    my $tid = ++$id;
    my $r = $t->post(path => $path, body => event(), id => $tid, %req);
    my $e = $t->next_log(id => $tid);
    subtest "$path: $name" => sub {
        is($r && $r->{status}, $status, "status $status");
        is($e->{reason}, $reason, "reason $reason");
        is($e->{token_id}, $token_id, "token id '$token_id'");
        if ($status == 200) {
            is($r->{headers}{'x-backend-token'}, '-', 'token blanked for the backend');
        }
    };
}

token_case('first inline secret', '/two', 200, 'ok', '1', token => $A);
token_case('second inline secret', '/two', 200, 'ok', '2', token => $B);
token_case('neither', '/two', 401, 'token_mismatch', '', token => $F1);
token_case('no token', '/two', 401, 'token_missing', '');

token_case('inline secret', '/file', 200, 'ok', '1', token => $A);
token_case('first file line', '/file', 200, 'ok', '2', token => $F1);
token_case('second file line (tab, CR stripped)', '/file', 200, 'ok', '3', token => $F2);
token_case('third file line (inner spaces kept)', '/file', 200, 'ok', '4', token => $F3);
token_case('third file line without its spaces', '/file', 401, 'token_mismatch', '',
    token => $F3 =~ s/ //gr);
token_case('a secret of another location', '/file', 401, 'token_mismatch', '', token => $B);

# inline secrets first, then the file's, whatever the order in the location
token_case('inline before the file', '/mixed', 200, 'ok', '1', token => $A);
token_case('inline after the file', '/mixed', 200, 'ok', '2', token => $B);
token_case('file line 1', '/mixed', 200, 'ok', '3', token => $F1);
token_case('file line 2', '/mixed', 200, 'ok', '4', token => $F2);
token_case('file line 3', '/mixed', 200, 'ok', '5', token => $F3);

token_case('a secret both inline and in the file: the first', '/dup', 200, 'ok', '1',
    token => $A);
token_case('the file line after it', '/dup', 200, 'ok', '3', token => $C);

# a custom header
token_case('custom header', '/custom', 200, 'ok', '1', token => undef,
    headers => [['X-Hook-Secret', $A]]);
token_case('custom header, lower case', '/custom', 200, 'ok', '1', token => undef,
    headers => [['x-hook-secret', $A]]);
token_case('custom header, wrong value', '/custom', 401, 'token_mismatch', '', token => undef,
    headers => [['X-Hook-Secret', $B]]);
token_case('only X-Pbx-Token', '/custom', 401, 'token_missing', '', token => $A);
token_case('custom header twice', '/custom', 400, 'token_repeated', '', token => undef,
    headers => [['X-Hook-Secret', $A], ['X-Hook-Secret', $A]]);
token_case('X-Pbx-Token twice is not the token header here', '/custom', 200, 'ok', '1',
    tokens => [$B, $B], headers => [['X-Hook-Secret', $A]]);

# the default header, twice
token_case('X-Pbx-Token twice, both right', '/two', 400, 'token_repeated', '',
    tokens => [$A, $A]);
token_case('X-Pbx-Token twice, right then wrong', '/two', 400, 'token_repeated', '',
    tokens => [$A, 'nope-0123456789abcdef']);
token_case('X-Pbx-Token twice, names in different case', '/two', 400, 'token_repeated', '',
    token => $A, headers => [['x-pbx-token', $A]]);

# rotation: rewrite the file, reload

token_case('before rotation', '/rotate', 200, 'ok', '1', token => $R1);

SKIP: {
    skip 'reload needs a master process, not run under valgrind', 8 if $t->valgrind;

    token_file('rotate.txt', "$R2\n");
    ok($t->reload($conf, %vars), 'reload after rewriting the token file');
    token_case('old secret after rotation', '/rotate', 401, 'token_mismatch', '', token => $R1);
    token_case('new secret after rotation', '/rotate', 200, 'ok', '1', token => $R2);

    token_file('rotate.txt', "$R3\n$R2\n");
    ok($t->reload($conf, %vars), 'reload with two secrets in the file');
    token_case('newest secret', '/rotate', 200, 'ok', '1', token => $R3);
    token_case('previous secret still accepted', '/rotate', 200, 'ok', '2', token => $R2);
    token_case('oldest secret gone', '/rotate', 401, 'token_mismatch', '', token => $R1);
    token_case('inline secrets unchanged by the reload', '/two', 200, 'ok', '2', token => $B);
}

# Requests open across a reload finish with the configuration they started
# with; new ones get the new secrets and schemas at once.
SKIP: {
    skip 'reload needs a master process, not run under valgrind', 9 if $t->valgrind;

    my $voicemail = json_object(type => 'voicemail', unique_call_id => 'r1', caller_id => '',
        dest_number => '');
    my $outbound = event();

    my @open;
    for my $req (['/rotate', $R2, $outbound], ['/schema', $R3, $voicemail],
        ['/schema', $R3, $outbound])
    {
        my ($path, $token, $body) = @$req;
        my ($head, $payload) = build_request(path => $path, token => $token, body => $body,
            id => ++$id);
        my $c = $t->connect;
        $c->send($head . substr($payload, 0, 10));
        push @open, [$c, substr($payload, 10), $id];
    }
    # let the old worker take all three before the reload
    my $p = $t->post(method => 'GET', path => '/two', token => $A);

    token_file('rotate.txt', "$R3\n");
    %vars = (%vars, EVENTS => 'voicemail');
    ok($t->reload_in_flight($conf, %vars), 'reload while three requests are open');

    token_case('new request: removed secret', '/rotate', 401, 'token_mismatch', '', token => $R2);
    token_case('new request: new schema', '/schema', 200, 'ok', '1', token => $R3,
        body => $voicemail);
    token_case('new request: type no longer listed', '/schema', 422, 'type_unknown', '1',
        token => $R3, body => $outbound);

    my @want = ([200, 'ok', '2'], [422, 'type_unknown', '1'], [200, 'ok', '1']);
    my @what = ('secret removed by the reload', 'type added by the reload',
        'type removed by the reload');
    for my $i (0 .. 2) {
        my ($c, $rest, $tid) = @{$open[$i]};
        $c->send($rest);
        my $r = $c->read_response;
        # an exiting worker lingers on a closing connection before it logs
        $c->close;
        my $e = $t->next_log(id => $tid);
        my ($status, $reason, $token_id) = @{$want[$i]};
        is(join(' ', $r ? $r->{status} : 'none', $e->{reason} // '', $e->{token_id} // ''),
            "$status $reason $token_id", "open request, $what[$i]: old configuration");
    }
    ok($t->wait_old_workers, 'old worker exits once its requests are done');
}

$t->stop;

my @leaks = grep { my $s = $_; $t->error_log_grep(qr/\Q$s\E/) } @ALL;
is("@leaks", '', 'no secret appears in error.log');
is(scalar($t->error_log_grep(qr/\[warn\].*pbx_webhook/)), 0,
    'no warning for long secrets in files only the owner reads');

done_testing;

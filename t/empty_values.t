#!/usr/bin/perl

# One rule for every variable of the module: with nothing to show it is
# "not found", which a log_format without escape=json writes as "-", never
# an empty string (written as nothing). Checked in such a log for each way
# a variable can be without a value.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'empty-values-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    log_format brackets '[$pbx_webhook_result] [$pbx_webhook_reason] [$pbx_webhook_detail] '
                        '[$pbx_webhook_token_id] [$pbx_event_type] [$pbx_event_caller_id] '
                        '[$pbx_event_user_name] [$pbx_event_audio_file] [$pbx_event_meta]';

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%DIR%%/brackets.log brackets;

        location /hook {
            pbx_webhook on;
            pbx_webhook_token %%SECRET%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /off {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

sub logged {
    my ($name, $want) = @_;
    my $e = $t->next_log(file => 'brackets.log', fields => ['line']);
    is($e && $e->{line}, $want, $name);
}

my $r = $t->post(path => '/hook', token => $SECRET,
    body => '{"type":"user_outbound","unique_call_id":"1","user_number":"","dest_number":"",'
        . '"user_name":"","audio_file":["a"],"meta":{"k":"v"}}');
is($r->{status}, 200, 'accepted');
logged('accepted: no detail; empty string, array, object and absent fields: all "-"',
    '[accepted] [ok] [-] [1] [user_outbound] [-] [-] [-] [-]');

$r = $t->post(path => '/hook', token => 'wrong-secret-0123456789', body => '{}');
is($r->{status}, 401, 'wrong secret');
logged('refused before the body: no secret number, no fields',
    '[rejected] [token_mismatch] [token matches no secret] [-] [-] [-] [-] [-] [-]');

$r = $t->post(path => '/hook', token => $SECRET, body => '{"type":"voicemail","caller_id":');
is($r->{status}, 400, 'body cut after a key');
logged('a field whose value never came is "-"',
    '[rejected] [json_syntax] [syntax error: premature EOF] [1] [voicemail] [-] [-] [-] [-]');

$r = $t->post(path => '/hook', token => $SECRET, body => '{"type":"voicemail","caller_id":}');
is($r->{status}, 400, 'key without a value');
my $e = $t->next_log(file => 'brackets.log', fields => ['line']);
like($e && $e->{line}, qr/^\[rejected\] \[json_syntax\] \[[^\]]+\] \[1\] \[voicemail\] \[-\] /,
    'its field is "-" too');

$r = $t->post(path => '/off', token => $SECRET, body => '{"type":"voicemail"}');
is($r->{status}, 200, 'no gate');
logged('where the gate is off, every variable is "-"', '[-] [-] [-] [-] [-] [-] [-] [-] [-]');

$t->stop;

done_testing;

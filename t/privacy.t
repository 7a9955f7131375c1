#!/usr/bin/perl

# $pbx_masked_NAME: the field as $pbx_event_NAME shows it, with every ASCII
# digit but the last pbx_webhook_mask_keep (3) replaced by '*'; not found
# exactly when $pbx_event_NAME is; the keep of the location that asks.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'privacy-secret-0123456789';

my @MASKED = qw(caller_id user_name user_number dest_number call_duration note obj flag nothing);
my $masked_format = join '\t', '$http_x_test_id', '$pbx_webhook_reason',
    map { "\$pbx_masked_$_" } @MASKED;
my @masked_fields = (qw(test_id reason), @MASKED);

# Without escape=json a value not found is "-", an empty one nothing.
my $presence_format = join '\t', '$http_x_test_id', '$pbx_masked_absent', '$pbx_event_absent',
    '$pbx_masked_empty', '$pbx_event_empty', '$pbx_masked_obj', '$pbx_event_obj';
my @presence_fields = qw(test_id masked_absent event_absent masked_empty event_empty masked_obj
    event_obj);

my $t = PbxTest->new;
$t->start_backend;
my %vars = (SECRET => $SECRET, MASKED => $masked_format, PRESENCE => $presence_format);
$t->write_config(<<'EOF', %vars);
http {
    log_format masked escape=json '%%MASKED%%';
    log_format presence '%%PRESENCE%%';

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%DIR%%/masked.log masked;
        access_log %%DIR%%/presence.log presence;
        pbx_webhook_token %%SECRET%%;

        location /hook {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /keep0 {
            pbx_webhook on;
            pbx_webhook_mask_keep 0;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /header {
            pbx_webhook on;
            proxy_set_header X-Caller $pbx_masked_caller_id;
            proxy_set_header X-Name $pbx_masked_user_name;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /off {
            return 200;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_b%%;
        access_log %%DIR%%/masked.log masked;
        pbx_webhook_token %%SECRET%%;
        pbx_webhook_mask_keep 5;

        location /hook {
            pbx_webhook on;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /keep1 {
            pbx_webhook on;
            pbx_webhook_mask_keep 1;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

my $id = 0;

sub masked {
    my (%o) = @_;
    my $port = delete $o{server};
    my $tid = ++$id;
    my $r = $t->post(path => '/hook', token => $SECRET, id => $tid,
        port => defined $port ? $t->port($port) : undef, %o);
    my $e = $t->next_log(file => 'masked.log', fields => \@masked_fields, id => $tid);
    return ($r, $e);
}

my $inbound = json_object(type => 'user_inbound', unique_call_id => '1764201600.48213',
    caller_id => '+61412345678', user_name => 'Jane 4242 Doe', user_number => '201',
    dest_number => '(09) 887-0000', call_duration => \'187', note => "Zo\xc3\xab 12345",
    obj => \'{"a":"123456"}', flag => \'true');

subtest 'numbers keep their last 3 digits by default' => sub {
    my ($r, $e) = masked(body => $inbound);
    is($r->{status}, 200, 'accepted');
    is($e->{reason}, 'ok', 'reason');
    is($e->{caller_id}, '+********678', 'phone number');
    is($e->{user_name}, 'Jane *242 Doe', 'digits counted over the whole value');
    is($e->{user_number}, '201', 'three digits stay');
    is($e->{dest_number}, '(**) ***-*000', 'punctuation kept');
    is($e->{call_duration}, '187', 'a JSON number as written');
    is($e->{note}, "Zo\xc3\xab **345", 'UTF-8 unchanged');
    is($e->{obj}, '', 'an object is empty');
    is($e->{flag}, 'true', 'a literal as written');
    is($e->{nothing}, '', 'an absent field logs as nothing with escape=json');
};

subtest 'pbx_webhook_mask_keep 0 masks every digit' => sub {
    my ($r, $e) = masked(path => '/keep0', body => $inbound);
    is($r->{status}, 200, 'accepted');
    is($e->{caller_id}, '+***********', 'phone number');
    is($e->{user_number}, '***', 'extension');
    is($e->{user_name}, 'Jane **** Doe', 'name');
    is($e->{flag}, 'true', 'no digits, unchanged');
};

subtest 'pbx_webhook_mask_keep at server level, and a location overriding it' => sub {
    my ($r, $e) = masked(server => 'b', body => $inbound);
    is($r->{status}, 200, 'accepted');
    is($e->{caller_id}, '+******45678', 'server: keep 5');
    is($e->{user_number}, '201', 'fewer digits than kept');
    ($r, $e) = masked(server => 'b', path => '/keep1', body => $inbound);
    is($e->{caller_id}, '+**********8', 'location: keep 1');
};

subtest 'control bytes show as ? and are not digits' => sub {
    my ($r, $e) = masked(body => json_object(type => 'user_outbound', unique_call_id => '1',
        user_number => "021\r\n555\x001234", dest_number => "\x7f9"));
    is($r->{status}, 200, 'accepted');
    is($e->{user_number}, '***??***?*234', 'masked after the ? replacement');
    is($e->{dest_number}, '?9', 'DEL as ?');
};

subtest 'the value is cut at 1024 bytes before masking' => sub {
    my ($r, $e) = masked(body => event(user_number => '9' x 2000));
    is($r->{status}, 200, 'accepted');
    is($e->{user_number}, ('*' x 1021) . '999', 'the last 3 digits of the cut value stay');
};

subtest 'a refused event: the fields read are masked too' => sub {
    my ($r, $e) = masked(body => json_object(type => 'user_inbound', unique_call_id => '1',
        caller_id => '+6493031234'));
    is($r->{status}, 422, 'refused');
    is($e->{reason}, 'field_missing', 'reason');
    is($e->{caller_id}, '+*******234', 'masked');
};

subtest 'usable in proxy_set_header' => sub {
    my ($r, $e) = masked(path => '/header', body => $inbound);
    is($r->{status}, 200, 'accepted');
    like($r->{body}, qr/^X-Caller: \+\*{8}678\r$/m, 'masked number header');
    like($r->{body}, qr/^X-Name: Jane \*242 Doe\r$/m, 'masked name header');
};

subtest 'absent and empty follow $pbx_event_NAME' => sub {
    my $tid = ++$id;
    my $r = $t->post(path => '/hook', token => $SECRET, id => $tid,
        body => event(empty => '', obj => \'[1,2,3]'));
    is($r->{status}, 200, 'accepted');
    my $e = $t->next_log(file => 'presence.log', fields => \@presence_fields, id => $tid);
    is($e->{masked_absent}, '-', 'absent: not found');
    is($e->{masked_absent}, $e->{event_absent}, 'as $pbx_event_absent');
    is($e->{masked_empty}, '-', 'empty string: not found');
    is($e->{masked_empty}, $e->{event_empty}, 'as $pbx_event_empty');
    is($e->{masked_obj}, '-', 'array: not found');
    is($e->{masked_obj}, $e->{event_obj}, 'as $pbx_event_obj');
    $t->next_log(file => 'masked.log', fields => \@masked_fields, id => $tid);
};

subtest 'not found where the gate did not run' => sub {
    my $tid = ++$id;
    my $r = $t->post(path => '/off', token => $SECRET, id => $tid, body => $inbound);
    is($r->{status}, 200, 'served');
    my $e = $t->next_log(file => 'presence.log', fields => \@presence_fields, id => $tid);
    is($e->{masked_obj}, '-', '$pbx_masked_obj not found');
    $e = $t->next_log(file => 'masked.log', fields => \@masked_fields, id => $tid);
    is($e->{caller_id}, '', '$pbx_masked_caller_id empty in the JSON log');
};

$t->stop;
$t->error_log_clean;

done_testing;

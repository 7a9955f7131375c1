#!/usr/bin/perl

# Accepted events go on unchanged: the 12 sample events reach the backend
# byte for byte, the token is passed on unless blanked, and the event's fields
# are variables for log_format and proxy_set_header.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;
use PbxTest;

my $SECRET = 'forward-secret-0123456789';

# The event fields the "ev" log format records, after the test id and verdict.
my @EVENT_FIELDS = qw(type unique_call_id caller_id caller_name user_name user_number
    dest_number call_start_at connected_at call_duration conversation_duration queue_name
    ring_group_name status recorded_at emails email_subject email_message
    call_recording_link audio_file component_name flag nothing number object);

my $format = join '\t', '$http_x_test_id', '$pbx_webhook_result', '$pbx_webhook_reason',
    '$pbx_webhook_token_id', map { "\$pbx_event_$_" } @EVENT_FIELDS;
my @fields = (qw(test_id result reason token_id), @EVENT_FIELDS);

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET, FORMAT => $format);
http {
    log_format ev escape=json '%%FORMAT%%';

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%DIR%%/events.log ev;

        pbx_webhook_token %%SECRET%%;

        location /hook {
            pbx_webhook on;
            add_header X-Pbx-Version $pbx_webhook_version;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /blank {
            pbx_webhook on;
            proxy_set_header X-Pbx-Token "";
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /headers {
            pbx_webhook on;
            proxy_set_header X-Event-Type $pbx_event_type;
            proxy_set_header X-Call-Id $pbx_event_unique_call_id;
            proxy_set_header X-Caller $pbx_event_caller_id;
            proxy_set_header X-Duration $pbx_event_call_duration;
            proxy_set_header X-Result $pbx_webhook_result;
            proxy_set_header X-Token-Id $pbx_webhook_token_id;
            proxy_set_header X-User $pbx_event_user_name;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

my $json = JSON::PP->new->utf8;
my %events = PbxTest::example_events();
my $id = 0;
my $sent = 0;

is(scalar keys %events, 12, 'twelve sample events');

# What $pbx_event_NAME should hold for a raw event: strings unescaped (UTF-8
# bytes), numbers and literals as written, nothing for arrays and objects.
sub expected_fields {
    my ($raw) = @_;
    my $data = $json->decode($raw);
    my %want;
    for my $name (@EVENT_FIELDS) {
        my $v = $data->{$name};
        if (!exists $data->{$name} || ref $v eq 'ARRAY' || ref $v eq 'HASH') {
            $want{$name} = '';
        } elsif (JSON::PP::is_bool($v) || !defined $v || !($raw =~ /"\Q$name\E"\s*:\s*"/)) {
            # as written in the text
            ($want{$name}) = $raw =~ /"\Q$name\E"\s*:\s*([^\s,}\]]+)/;
        } else {
            $want{$name} = $v;
            utf8::encode($want{$name});
        }
    }
    return \%want;
}

sub check_fields {
    my ($e, $raw, $what) = @_;
    my $want = expected_fields($raw);
    my @wrong = grep { ($e->{$_} // '<undef>') ne $want->{$_} } @EVENT_FIELDS;
    ok(!@wrong, "$what: every \$pbx_event_* matches the JSON")
        or diag(join "\n", map { "  $_: got '" . ($e->{$_} // '<undef>') . "', want '$want->{$_}'" }
            @wrong);
}

for my $type (sort keys %events) {
    my $raw = $events{$type};

    subtest "sample $type" => sub {
        my $r = $t->post(path => '/hook', token => $SECRET, body => $raw, id => ++$id);
        $sent++;
        is($r->{status}, 200, 'accepted');
        is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($raw), 'backend got the same bytes');
        is($r->{headers}{'x-backend-body-length'}, length $raw, 'and as many');
        is($r->{headers}{'x-backend-token'}, $SECRET, 'the token is passed on by default');
        is($r->{headers}{'x-pbx-version'}, PbxTest::module_version(), '$pbx_webhook_version');

        my $e = $t->next_log(file => 'events.log', fields => \@fields, id => $id);
        is($e->{result}, 'accepted', '$pbx_webhook_result');
        is($e->{reason}, 'ok', '$pbx_webhook_reason');
        is($e->{token_id}, '1', '$pbx_webhook_token_id');
        is($e->{type}, $type, '$pbx_event_type');
        check_fields($e, $raw, $type);
    };
}

subtest 'proxy_set_header X-Pbx-Token "" keeps the token from the backend' => sub {
    my $raw = $events{queue_call};
    my $r = $t->post(path => '/blank', token => $SECRET, body => $raw, id => ++$id);
    $sent++;
    is($r->{status}, 200, 'accepted');
    is($r->{headers}{'x-backend-token'}, '-', 'backend saw no token');
    unlike($r->{body}, qr/\Q$SECRET\E/, 'the secret is nowhere in what the backend saw');
    is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($raw), 'body unchanged');
};

subtest 'event fields as proxy_set_header values' => sub {
    my $raw = $events{user_inbound_completed};
    my $r = $t->post(path => '/headers', token => $SECRET, body => $raw, id => ++$id);
    $sent++;
    is($r->{status}, 200, 'accepted');
    my $head = $r->{body};
    like($head, qr/^X-Event-Type: user_inbound_completed\r$/m, '$pbx_event_type');
    like($head, qr/^X-Call-Id: 1764201600\.48213\r$/m, '$pbx_event_unique_call_id');
    like($head, qr/^X-Caller: \+6493031234\r$/m, '$pbx_event_caller_id');
    like($head, qr/^X-Duration: 187\r$/m, '$pbx_event_call_duration, a number');
    like($head, qr/^X-Result: accepted\r$/m, '$pbx_webhook_result');
    like($head, qr/^X-Token-Id: 1\r$/m, '$pbx_webhook_token_id');
};

# Caller names come from the phone network; an escaped CR LF in one must not
# become a header line of its own in the request to the backend.
subtest 'an event value cannot add headers to the backend request' => sub {
    my $raw = json_object(type => 'user_outbound', unique_call_id => 'inj-1', user_number => '',
        dest_number => '', user_name => "Bob\r\nX-Injected: yes\r\nX-Pbx-Token: forged");
    my $r = $t->post(path => '/headers', token => $SECRET, body => $raw, id => ++$id);
    $sent++;
    is($r->{status}, 200, 'accepted');
    my ($head) = $r->{body} =~ /\n(POST .*)/s;
    unlike($head, qr/^X-Injected:/mi, 'no injected header line');
    unlike($head, qr/^X-Pbx-Token: forged/mi, 'no forged token header');
    unlike($head, qr/^X-User:[^\n]*\r(?!\n)/m, 'no bare CR in X-User');
};

# Values: unescaped strings, numbers and literals as written, nothing for
# arrays, objects and absent fields, cut at 1024 bytes.
my %special = (
    'escapes and UTF-8' => [
        '{"type":"user_inbound","unique_call_id":"u\u0031","caller_id":"+64\u00a0",'
        . '"user_name":"M\u0101ori \"q\" \\\\ \/ tab\tend","user_number":"","dest_number":"",'
        . qq("caller_name":"\xc4\x80\xe2\x82\xac\xf0\x9f\x93\x9e"}),
        { unique_call_id => 'u1', caller_id => "+64\xc2\xa0",
          # control bytes show as '?', so a value cannot break a header line
          user_name => "M\xc4\x81ori \"q\" \\ / tab?end",
          caller_name => "\xc4\x80\xe2\x82\xac\xf0\x9f\x93\x9e" },
    ],
    'a surrogate pair escape' => [
        '{"type":"user_outbound","unique_call_id":"1","user_number":"","dest_number":"",'
        . '"user_name":"\ud83d\udcde"}',
        { user_name => "\xf0\x9f\x93\x9e" },
    ],
    'numbers and literals as written' => [
        '{"type":"user_outbound","unique_call_id":"1","user_number":"","dest_number":"",'
        . '"call_duration":1.50e+2,"conversation_duration":-0,"number":12345678901234567890,'
        . '"flag":true,"nothing":null,"status":false}',
        { call_duration => '1.50e+2', conversation_duration => '-0',
          number => '12345678901234567890', flag => 'true', nothing => 'null', status => 'false' },
    ],
    'arrays, objects and absent fields are empty' => [
        '{"type":"user_outbound","unique_call_id":"1","user_number":"","dest_number":"",'
        . '"audio_file":["a","b"],"object":{"x":"y"},"emails":[]}',
        { audio_file => '', object => '', emails => '', caller_id => '', queue_name => '' },
    ],
    'escaped keys are unescaped' => [
        '{"t\u0079pe":"user_outbound","unique_call_id":"1","user_number":"",'
        . '"dest_\u006eumber":"42","c\u0061ller_id":"+64"}',
        { type => 'user_outbound', dest_number => '42', caller_id => '+64' },
    ],
    'values are cut at 1024 bytes' => [
        event(user_name => 'n' x 2000, caller_name => 'c' x 1024, queue_name => 'q' x 1023),
        { user_name => 'n' x 1024, caller_name => 'c' x 1024, queue_name => 'q' x 1023 },
    ],
);

for my $name (sort keys %special) {
    my ($raw, $want) = @{$special{$name}};
    subtest $name => sub {
        my $r = $t->post(path => '/hook', token => $SECRET, body => $raw, id => ++$id);
        $sent++;
        is($r->{status}, 200, 'accepted');
        is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($raw), 'body unchanged');
        my $e = $t->next_log(file => 'events.log', fields => \@fields, id => $id);
        for my $field (sort keys %$want) {
            is($e->{$field}, $want->{$field}, "\$pbx_event_$field");
        }
    };
}

subtest 'other request headers reach the backend' => sub {
    my $raw = $events{voicemail};
    my $r = $t->post(path => '/hook', token => $SECRET, body => $raw,
        content_type => 'application/json; charset=utf-8',
        headers => [['X-Pbx-Custom', 'from the call flow'], ['User-Agent', 'pbx/1.0']]);
    $sent++;
    like($r->{body}, qr/^X-Pbx-Custom: from the call flow\r$/m, 'operator header');
    like($r->{body}, qr/^Content-Type: application\/json; charset=utf-8\r$/m, 'content type');
    like($r->{body}, qr/^User-Agent: pbx\/1\.0\r$/m, 'user agent');
};

is($t->backend_requests, $sent, 'every accepted event reached the backend once');

$t->stop;
is(scalar($t->error_log_grep(qr/\Q$SECRET\E/)), 0, 'the secret never appears in error.log');

done_testing;

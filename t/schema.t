#!/usr/bin/perl

# pbx_webhook_event: a location that lists types accepts exactly those; a
# catalog type listed alone keeps its catalog fields; a new type has the
# fields and KINDs it lists (type and unique_call_id always required).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'schema-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        pbx_webhook on;
        pbx_webhook_token %%SECRET%%;

        location /catalog {
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /outbound-only {
            pbx_webhook_event user_outbound;
            pbx_webhook_event recording_outbound;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /custom {
            pbx_webhook_event crm_note note:nonempty count:number n:numeric when:datetime
                              tags:array meta:object whatever:any s:string plain;
            pbx_webhook_event bare;
            pbx_webhook_event idnum unique_call_id:numeric;
            pbx_webhook_event voicemail caller_id;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }
    }
}
EOF
$t->run;

my $id = 0;
my $forwarded = 0;

sub case {
    my ($path, $name, $reason, $body, $detail) = @_;
    my $tid = ++$id;
    my $r = $t->post(path => $path, token => $SECRET, body => $body, id => $tid);
    my $e = $t->next_log(id => $tid);
    my $status = $reason eq 'ok' ? 200 : 422;
    $forwarded++ if $status == 200;

    subtest "$path: $name: $reason" => sub {
        is($r && $r->{status}, $status, "status $status");
        is($e->{reason}, $reason, "reason $reason");
        if (ref $detail) {
            like($e->{detail}, $detail, 'detail');
        } elsif (defined $detail) {
            is($e->{detail}, $detail, 'detail');
        }
    };
}

my %samples = PbxTest::example_events();

# without pbx_webhook_event every catalog type passes
for my $type (sort keys %samples) {
    case('/catalog', "sample $type", 'ok', $samples{$type});
}
case('/catalog', 'a type not in the catalog', 'type_unknown', event(type => 'crm_note'));

# an allowlist
case('/outbound-only', 'listed type', 'ok', $samples{user_outbound});
case('/outbound-only', 'second listed type', 'ok', $samples{recording_outbound});
for my $type (grep { $_ ne 'user_outbound' && $_ ne 'recording_outbound' } sort keys %samples) {
    case('/outbound-only', "unlisted catalog type $type", 'type_unknown', $samples{$type},
        qq(type "$type" not accepted));
}
case('/outbound-only', 'listed type keeps its catalog fields', 'field_missing',
    '{"type":"user_outbound","unique_call_id":"1","user_number":"201"}',
    'field "dest_number" missing');
case('/outbound-only', 'and their kinds', 'field_type',
    event(dest_number => \'6495551234'), qr/dest_number/);
case('/outbound-only', 'the call id is still nonempty', 'field_type',
    event(unique_call_id => ''), qr/unique_call_id/);

# a custom type with every KIND
my @note = (type => 'crm_note', unique_call_id => 'c1', note => 'hello', count => \'3',
    n => '42', when => '2026-11-27T09:15:02+13:00', tags => \'[]', meta => \'{}',
    whatever => \'null', s => '', plain => '');

sub crm_note {
    my (%change) = @_;
    my @pairs = @note;
    my @out;
    while (my ($k, $v) = splice @pairs, 0, 2) {
        next if exists $change{$k} && !defined $change{$k};
        push @out, $k, exists $change{$k} ? $change{$k} : $v;
    }
    return json_object(@out);
}

case('/custom', 'all fields right', 'ok', crm_note());
case('/custom', 'catalog types are not accepted here', 'type_unknown', $samples{user_inbound});

my @kinds = (
    # field, value, reason
    [note => '', 'field_type'],
    [note => \'1', 'field_type'],
    [note => 'x', 'ok'],
    [count => '3', 'field_type'],
    [count => \'-2.5e3', 'ok'],
    [count => \'0', 'ok'],
    [count => \'true', 'field_type'],
    [n => \'17', 'ok'],
    [n => \'1.5', 'ok'],
    [n => '0042', 'ok'],
    [n => '12a', 'field_type'],
    [n => '-12', 'field_type'],
    [n => '', 'field_type'],
    [n => \'null', 'field_type'],
    [when => '2026-11-27 09:15:02', 'ok'],
    [when => '2026-11-27T09:15:02Z', 'ok'],
    [when => '2026-11-27T09:15:02.123456-05:30', 'ok'],
    [when => '2026-11-27T09:15:02', 'ok'],
    [when => 'null', 'field_type'],
    [when => '', 'field_type'],
    [when => '2026-11-27', 'field_type'],
    [when => '2026-11-27T09:15', 'field_type'],
    [when => '2026-13-27T09:15:02', 'field_type'],
    [when => '2026-11-27T25:15:02', 'field_type'],
    [when => '2026-11-27T09:15:02+13', 'field_type'],
    [when => '2026-11-27T09:15:02.Z', 'field_type'],
    [when => '27/11/2026 09:15', 'field_type'],
    [when => \'1764201600', 'field_type'],
    [tags => \'["a",1]', 'ok'],
    [tags => \'{}', 'field_type'],
    [tags => '[]', 'field_type'],
    [meta => \'{"a":{"b":[]}}', 'ok'],
    [meta => \'[]', 'field_type'],
    [meta => \'null', 'field_type'],
    [whatever => \'[1]', 'ok'],
    [whatever => 'text', 'ok'],
    [whatever => undef, 'field_missing'],
    [s => 'x', 'ok'],
    [s => \'1', 'field_type'],
    [plain => \'false', 'field_type'],
    [plain => undef, 'field_missing'],
    [unique_call_id => undef, 'field_missing'],
    [unique_call_id => '', 'field_type'],
    [note => undef, 'field_missing'],
);
for my $k (@kinds) {
    my ($field, $value, $reason) = @$k;
    my $shown = !defined $value ? 'absent' : ref $value ? $$value : qq("$value");
    case('/custom', "$field = $shown", $reason, crm_note($field => $value),
        $reason eq 'ok' ? undef : qr/"\Q$field\E"/);
}

case('/custom', 'missing beats wrongly typed', 'field_missing',
    crm_note(note => '', plain => undef), 'field "plain" missing');
case('/custom', 'the first wrongly typed field in listed order', 'field_type',
    crm_note(s => \'1', count => 'x', tags => \'{}'), qr/"count"/);
case('/custom', 'the first missing field in listed order', 'field_missing',
    crm_note(whatever => undef, n => undef), 'field "n" missing');
case('/custom', 'unlisted fields of any kind', 'ok',
    crm_note() =~ s/}$/,"extra":[{"x":null}],"more":1}/r);

# a new type without fields needs only type and unique_call_id
case('/custom', 'bare type', 'ok', '{"type":"bare","unique_call_id":"b1"}');
case('/custom', 'bare type with anything else', 'ok',
    '{"type":"bare","unique_call_id":"b1","x":[1,{"y":2}]}');
case('/custom', 'bare type without a call id', 'field_missing', '{"type":"bare"}',
    'field "unique_call_id" missing');
case('/custom', 'bare type with an empty call id', 'field_type',
    '{"type":"bare","unique_call_id":""}', qr/unique_call_id/);

# listing unique_call_id changes its kind
case('/custom', 'numeric call id, digits', 'ok', '{"type":"idnum","unique_call_id":"123"}');
case('/custom', 'numeric call id, a number', 'ok', '{"type":"idnum","unique_call_id":123}');
case('/custom', 'numeric call id, letters', 'field_type',
    '{"type":"idnum","unique_call_id":"abc"}', qr/unique_call_id/);

# a catalog type listed with fields has just those
case('/custom', 'voicemail with its listed field only', 'ok',
    '{"type":"voicemail","unique_call_id":"v1","caller_id":"+64"}');
case('/custom', 'voicemail without the listed field', 'field_missing',
    '{"type":"voicemail","unique_call_id":"v1","dest_number":"+64"}',
    'field "caller_id" missing');

is($t->backend_requests, $forwarded, 'only accepted events reached the backend');

$t->stop;

done_testing;

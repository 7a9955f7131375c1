#!/usr/bin/perl

# Every row of the README's reasons table: the status, the variables in the access
# log, the info line in error.log, what happens to the connection, and that
# nothing rejected reaches the backend. Then the order of the checks.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'reasons-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend;
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        # nginx waits this long for an unsent body before it closes after 413
        lingering_timeout 1s;

        location /hook {
            pbx_webhook on;
            pbx_webhook_token %%SECRET%%;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /small {
            pbx_webhook on;
            pbx_webhook_token %%SECRET%%;
            pbx_webhook_max_body_size 1k;
            pbx_webhook_max_depth 3;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location /scoped {
            pbx_webhook on;
            pbx_webhook_token %%SECRET%% types=voicemail;
            proxy_pass http://127.0.0.1:%%BACKEND%%;
        }

        location = /ping {
            return 200 "pong\n";
        }
    }
}
EOF
$t->run;

my %CLOSES = map { $_ => 1 } qw(400 413);
my %STATUS = (
    method => 405, token_missing => 401, token_repeated => 400, token_mismatch => 401,
    content_type => 415, body_too_large => 413, body_empty => 400, json_syntax => 400,
    json_too_deep => 400, duplicate_key => 400, not_object => 422, type_missing => 422,
    type_unknown => 422, type_forbidden => 403, field_missing => 422, field_type => 422,
);

my $good = event();
my $forwarded = 0;
my %info_lines;
my $id = 0;

# Sends one request on a keep-alive connection and checks the verdict:
# status, log line, and that the connection stays open (a second request on
# it is answered) or is closed, as the README says for that status.
sub check {
    my ($name, $reason, %req) = @_;
    my $detail = delete $req{detail};
    my $status = $reason eq 'ok' ? 200 : $STATUS{$reason};

    subtest "$name: $reason" => sub {
        my $tid = ++$id;
        my $c = $t->connect;
        $c->send(scalar build_request(path => '/hook', token => $SECRET, %req, keepalive => 1,
            id => $tid));
        my $r = $c->read_response(head => ($req{method} // '') eq 'HEAD');

        is($r && $r->{status}, $status, "status $status");

        # the connection first: with lingering close the log line may wait for it
        if ($CLOSES{$status}) {
            ok($c->closed($t->timeout(3)), "connection closed after $status");
        } else {
            $c->send("GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
            my $p = $c->read_response;
            is($p && $p->{status}, 200, "connection kept open after $status");
        }
        $c->close;

        my $e = $t->next_log(id => $tid);
        is($e->{status}, $status, 'logged status');
        is($e->{result}, $reason eq 'ok' ? 'accepted' : 'rejected', '$pbx_webhook_result');
        is($e->{reason}, $reason, '$pbx_webhook_reason');

        if ($reason eq 'ok') {
            $forwarded++;
            is($r->{headers}{'x-backend-body-sha256'}, sha256_hex($req{body}),
                'backend got the body');
        } else {
            $info_lines{$reason}++;
            ok(length $e->{detail}, '$pbx_webhook_detail is set') or diag($e->{_line});
            if (ref $detail) {
                like($e->{detail}, $detail, '$pbx_webhook_detail');
            } elsif (defined $detail) {
                is($e->{detail}, $detail, '$pbx_webhook_detail');
            }
            unlike($e->{detail}, qr/\Q$SECRET\E/, 'detail holds no secret');
            ok(!exists $r->{headers}{'x-backend-seq'}, 'answered by nginx, not the backend');
        }

        is($t->backend_requests, $forwarded, 'backend saw only accepted events');
    };
}

# ok

check('a valid event', 'ok', body => $good);

# method

subtest 'method: GET gets 405 with Allow: POST' => sub {
    my $r = $t->post(method => 'GET', path => '/hook', token => $SECRET, id => ++$id);
    is($r->{status}, 405, 'status');
    is($r->{headers}{allow}, 'POST', 'Allow: POST');
    is($t->next_log(id => $id)->{reason}, 'method', 'reason');
    $info_lines{method}++;
};

check('GET', 'method', method => 'GET');
check('PUT with a valid event', 'method', method => 'PUT', body => $good);
check('HEAD', 'method', method => 'HEAD');
check('OPTIONS', 'method', method => 'OPTIONS');

# token

check('no token header', 'token_missing', token => undef, body => $good);
check('two token headers, both right', 'token_repeated', token => undef,
    tokens => [$SECRET, $SECRET], body => $good);
check('two token headers, one right', 'token_repeated', token => undef,
    tokens => ['wrong-token-0000000000', $SECRET], body => $good);
check('wrong token', 'token_mismatch', token => 'wrong-token-0000000000', body => $good);
check('token is a prefix of the secret', 'token_mismatch', token => substr($SECRET, 0, -1),
    body => $good);
check('token is the secret and more', 'token_mismatch', token => "${SECRET}x", body => $good);
check('token differs in case', 'token_mismatch', token => uc $SECRET, body => $good);
check('empty token header', 'token_mismatch', token => '', body => $good);
check('a 4000-byte token', 'token_mismatch', token => $SECRET x 160, body => $good);
check('the secret with a NUL-like suffix', 'token_mismatch', token => "$SECRET\\0", body => $good);
check('non-ASCII token', 'token_mismatch', token => "\xc3\xa9$SECRET", body => $good);

subtest 'token header name is case-insensitive' => sub {
    my $r = $t->post(path => '/hook', token => undef, body => $good, id => ++$id,
        headers => [['x-pbx-TOKEN', $SECRET]]);
    is($r->{status}, 200, 'status');
    is($t->next_log(id => $id)->{reason}, 'ok', 'reason');
    $forwarded++;
};

# content type

check('text/plain', 'content_type', content_type => 'text/plain', body => $good);
check('no Content-Type', 'content_type', content_type => undef, body => $good);
check('text/json', 'content_type', content_type => 'text/json', body => $good);
check('application/jsonp', 'content_type', content_type => 'application/jsonp', body => $good);
check('application/json-seq', 'content_type', content_type => 'application/json-seq',
    body => $good);
check('application/x-www-form-urlencoded', 'content_type',
    content_type => 'application/x-www-form-urlencoded', body => $good);

for my $ct ('application/json', 'application/json; charset=utf-8', 'Application/JSON',
    'APPLICATION/JSON;CHARSET=UTF-8', 'application/vnd.pbx+json', 'application/problem+JSON')
{
    check("content type \"$ct\"", 'ok', content_type => $ct, body => $good);
}

# body size

subtest 'body_too_large by Content-Length, before the body is sent' => sub {
    my $c = $t->connect;
    $c->send(scalar build_request(path => '/hook', token => $SECRET, length => 70000,
        id => ++$id));
    my $r = $c->read_response(timeout => $t->timeout(3));
    is($r && $r->{status}, 413, '413 without waiting for the body');
    ok($c->closed($t->timeout(4)), 'connection closed');
    $c->close;
    my $e = $t->next_log(id => $id);
    is($e->{reason}, 'body_too_large', 'reason');
    is($e->{detail}, 'body 70000 bytes > 65536', 'detail');
    $info_lines{body_too_large}++;
};

my $big = event(pad => 'x' x 1100);
check('Content-Length over 1k', 'body_too_large', path => '/small', body => $big);
check('chunked body over 1k', 'body_too_large', path => '/small', body => $big,
    chunked => [100]);
check('exactly 1024 bytes', 'ok', path => '/small',
    body => event(pad => 'x' x (1024 - length event(pad => ''))));
check('1025 bytes', 'body_too_large', path => '/small',
    body => event(pad => 'x' x (1025 - length event(pad => ''))));
check('1025 bytes, chunked', 'body_too_large', path => '/small',
    body => event(pad => 'x' x (1025 - length event(pad => ''))), chunked => [512]);

# empty body

check('Content-Length: 0', 'body_empty', length => 0);
check('no body at all', 'body_empty');
check('chunked, no chunks', 'body_empty', body => '', chunked => [1]);

# syntax

my %syntax = (
    'truncated'              => '{"type":"user_outbound","unique_call_id":"1"',
    'only whitespace'        => "   \r\n\t ",
    'trailing garbage'       => "$good x",
    'two values'             => "$good$good",
    'two values, spaced'     => "$good \n {}",
    'a comment'              => '{/* c */"type":"user_outbound"}',
    'a line comment'         => "{\"type\":\"x\" // c\n}",
    'single quotes'          => "{'type':'user_outbound'}",
    'trailing comma'         => '{"type":"user_outbound",}',
    'unquoted key'           => '{type:"user_outbound"}',
    'invalid UTF-8 byte'     => qq({"type":"user_outbound","x":"\xff"}),
    'overlong UTF-8'         => qq({"type":"user_outbound","x":"\xc0\xaf"}),
    'UTF-8 surrogate'        => qq({"type":"user_outbound","x":"\xed\xa0\x80"}),
    'truncated UTF-8 at end' => qq({"type":"user_outbound","x":"a"}\xe2\x82),
    'raw control byte'       => qq({"type":"user_outbound","x":"a\x01b"}),
    'raw newline in string'  => qq({"type":"user_outbound","x":"a\nb"}),
    'NaN'                    => '{"type":"user_outbound","x":NaN}',
    'leading zero'           => '{"type":"user_outbound","x":01}',
    'bad escape'             => '{"type":"user_outbound","x":"\q"}',
    'NUL after the object'   => "$good\x00",
);
for my $name (sort keys %syntax) {
    check($name, 'json_syntax', body => $syntax{$name});
}

# depth: the top-level object is 1, an array in it 2 (max 3 in /small)

check('depth 3', 'ok', path => '/small', body => event(a => \'[[1]]'));
check('depth 4', 'json_too_deep', path => '/small', body => event(a => \'[[[1]]]'));
check('depth 4, empty', 'json_too_deep', path => '/small', body => event(a => \'[{"b":{}}]'));
check('depth 16 (default)', 'ok', body => event(a => \('[' x 15 . ']' x 15)));
check('depth 17 (default)', 'json_too_deep', body => event(a => \('[' x 16 . ']' x 16)));
check('very deep, unterminated', 'json_too_deep', body => '{"a":' . '[' x 5000);
check('deep array as the text', 'json_too_deep', body => '[' x 17 . ']' x 17);

# duplicate keys

check('type twice', 'duplicate_key', body => '{"type":"user_outbound","type":"voicemail"}');
check('a field twice', 'duplicate_key', body => event() =~ s/}$/,"user_number":"2"}/r,
    detail => 'duplicate key "user_number"');
check('the same key, once escaped', 'duplicate_key',
    body => '{"type":"user_outbound","t\u0079pe":"user_outbound"}');
check('a key repeated in a nested object is fine', 'ok',
    body => event(nested => \'{"a":1,"a":2}'));

# not an object

for my $text ('[]', '"user_outbound"', '42', 'null', 'true', '[{"type":"user_outbound"}]') {
    check("JSON text $text", 'not_object', body => $text);
}

# type

check('no type', 'type_missing', body => '{"unique_call_id":"1","user_number":"1"}');
check('empty type', 'type_missing', body => event(type => ''));
check('numeric type', 'type_missing', body => event(type => \'5'));
check('null type', 'type_missing', body => event(type => \'null'));
check('array type', 'type_missing', body => event(type => \'["user_outbound"]'));
check('unknown type', 'type_unknown', body => event(type => 'nope'),
    detail => 'type "nope" not accepted');
check('type in another case', 'type_unknown', body => event(type => 'User_Outbound'));
check('escaped type key and value', 'ok',
    body => '{"t\u0079pe":"user_\u006futbound","unique_call_id":"1","user_number":"",'
    . '"dest_number":""}');

# type scope: /scoped's secret may send voicemail only

my $voicemail = json_object(type => 'voicemail', unique_call_id => '1', caller_id => '+6421555019',
    dest_number => '+6498870001');
check('a type the secret may send', 'ok', path => '/scoped', body => $voicemail);
check('an accepted type the secret may not send', 'type_forbidden', path => '/scoped',
    body => $good, detail => 'type "user_outbound" not allowed for secret 1');

# fields

my $no_number = '{"type":"user_outbound","unique_call_id":"1","dest_number":"2"}';
check('required field absent', 'field_missing', body => $no_number,
    detail => 'field "user_number" missing');
check('call id absent', 'field_missing',
    body => '{"type":"user_outbound","user_number":"1","dest_number":"2"}',
    detail => 'field "unique_call_id" missing');
check('required field is a number', 'field_type', body => event(user_number => \'201'),
    detail => qr/user_number/);
check('required field is null', 'field_type', body => event(dest_number => \'null'),
    detail => qr/dest_number/);
check('empty call id', 'field_type', body => event(unique_call_id => ''),
    detail => qr/unique_call_id/);
check('empty strings are fine for string fields', 'ok',
    body => event(user_number => '', dest_number => ''));
check('datetime field is "null"', 'field_type',
    body => json_object(type => 'webhook_component_event', unique_call_id => '1',
        user_name => '', user_number => '', dest_number => '', call_start_at => 'null',
        component_name => 'x'),
    detail => qr/call_start_at/);
check('missing beats wrongly typed', 'field_missing',
    body => '{"type":"user_outbound","unique_call_id":"1","user_number":5}',
    detail => 'field "dest_number" missing');
check('the first missing field in schema order is named', 'field_missing',
    body => '{"type":"webhook_component_event","unique_call_id":"1","dest_number":"",'
    . '"call_start_at":"2026-11-27T09:26:40+13:00"}',
    detail => 'field "user_name" missing');
check('the first wrongly typed field in schema order is named', 'field_type',
    body => json_object(type => 'webhook_component_event', unique_call_id => '1',
        user_name => '', user_number => \'1', dest_number => \'2', call_start_at => 'x',
        component_name => ''),
    detail => qr/user_number/);
check('unlisted fields may be anything', 'ok',
    body => event(extra => \'{"a":[1,2,{"b":null}]}', flag => \'true', n => \'-1.5e3'));

# order of the checks: the first failure decides

check('wrong method and no token', 'method', method => 'GET', token => undef);
check('no token and bad content type', 'token_missing', token => undef,
    content_type => 'text/plain', body => 'not json');
check('wrong token and bad content type', 'token_mismatch', token => 'wrong-0123456789abcdef',
    content_type => 'text/plain', body => 'not json');
check('repeated token and bad content type', 'token_repeated', token => undef,
    tokens => [$SECRET, 'x'], content_type => 'text/plain');
check('bad content type and empty body', 'content_type', content_type => 'text/plain',
    length => 0);
check('too large and not JSON', 'body_too_large', path => '/small', body => 'x' x 2000);
check('syntax error after a duplicate key', 'duplicate_key',
    body => '{"type":"a","type":"b", oops');
check('duplicate key after a syntax error', 'json_syntax',
    body => '{"type":"a" oops, "type":"b"}');
check('too deep before a syntax error', 'json_too_deep', path => '/small',
    body => '{"a":[[[1]]] oops');
check('not an object beats everything after', 'not_object', body => '[{"a":1}]');
check('type missing beats missing fields', 'type_missing', body => '{}');
check('unknown type beats a forbidden one', 'type_unknown', path => '/scoped',
    body => event(type => 'nope'));
check('forbidden type beats missing fields', 'type_forbidden', path => '/scoped',
    body => '{"type":"user_outbound"}');

# the request that fails the token is not read: 401 comes before the body
subtest 'token_missing answered before the body is sent' => sub {
    my $c = $t->connect;
    $c->send(scalar build_request(path => '/hook', token => undef, length => 500, keepalive => 1,
        id => ++$id));
    my $r = $c->read_response(timeout => $t->timeout(3));
    is($r && $r->{status}, 401, '401 at once');
    $c->send('{' . ' ' x 498 . '}');
    $c->send("GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
    my $p = $c->read_response;
    is($p && $p->{status}, 200, 'the body is discarded and the connection goes on');
    $c->close;
    is($t->next_log(id => $id)->{reason}, 'token_missing', 'reason');
    $info_lines{token_missing}++;
};

subtest 'content_type answered before the body is sent' => sub {
    my $c = $t->connect;
    $c->send(scalar build_request(path => '/hook', token => $SECRET, content_type => 'text/plain',
        length => 500, id => ++$id));
    my $r = $c->read_response(timeout => $t->timeout(3));
    is($r && $r->{status}, 415, '415 at once');
    $c->close;
    is($t->next_log(id => $id)->{reason}, 'content_type', 'reason');
    $info_lines{content_type}++;
};

is($t->backend_requests, $forwarded, 'backend saw exactly the accepted events');

$t->stop;

# One info line per rejection, naming the gate and the reason; no secret.
for my $reason (sort keys %info_lines) {
    my @lines = $t->error_log_grep(qr/\[info\].*pbx_webhook.*\b\Q$reason\E\b/);
    is(scalar @lines, $info_lines{$reason}, "error.log: one info line per $reason rejection");
}
is(scalar($t->error_log_grep(qr/\Q$SECRET\E/)), 0, 'the secret never appears in error.log');


done_testing;

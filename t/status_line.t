#!/usr/bin/perl

# 422 goes out with a reason phrase: nginx (1.22.1 here) has no text for it
# and would send "HTTP/1.1 422 " with nothing after the code. The module
# adds "Unprocessable Content" over HTTP/1.x and leaves alone a status line
# that an upstream sent.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'status-line-secret-0123456789';

my $t = PbxTest->new;
$t->start_backend(name => 'unprocessable', status => 422);
$t->write_config(<<'EOF', SECRET => $SECRET);
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        listen 127.0.0.1:%%PORT_h2%% http2;

        location /hook {
            pbx_webhook on;
            pbx_webhook_token %%SECRET%%;
            return 204;
        }

        location = /plain {
            return 422;
        }

        location = /upstream {
            proxy_pass http://127.0.0.1:%%BACKEND_unprocessable%%;
        }

        location = /ok {
            return 200 "ok\n";
        }
    }
}
EOF
$t->run;

sub status_line {
    my ($r) = @_;
    return $r ? ($r->{raw_head} =~ /^([^\r\n]*)/)[0] : '';
}

my $r = $t->post(path => '/hook', token => $SECRET, body => '{}');
is(status_line($r), 'HTTP/1.1 422 Unprocessable Content', "the gate's 422 has a reason phrase");
is($t->next_log->{reason}, 'type_missing', 'for a type_missing refusal');

$r = $t->post(path => '/hook', token => $SECRET, body => '{"type":"fax"}', version => '1.0',
    host => undef);
is(status_line($r), 'HTTP/1.1 422 Unprocessable Content', 'to an HTTP/1.0 client too');
$t->next_log;

$r = $t->request("GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is(status_line($r), 'HTTP/1.1 422 Unprocessable Content', 'any 422 nginx answers itself');

$r = $t->request("GET /upstream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is(status_line($r), 'HTTP/1.1 422 Status', "an upstream's own status line is kept");

$r = $t->request("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is(status_line($r), 'HTTP/1.1 200 OK', 'other statuses are untouched');

my $h2 = $t->h2(path => '/hook', token => $SECRET, body => '{}', port => $t->port('h2'));
is($h2 && "$h2->{version} $h2->{status}", '2 422', 'over HTTP/2, the bare code, as there');
like($h2 ? $h2->{raw_head} : '', qr{^HTTP/2 422 ?\r?$}m, 'and no phrase');
$t->next_log;

$t->stop;

done_testing;

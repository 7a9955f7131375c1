#!/usr/bin/perl

# "nginx -t": each configuration error the README names fails, naming the directive and
# the reason; each warning passes with a [warn] line; neither prints a secret.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $SECRET = 'config-secret-0123456789';

my $t = PbxTest->new;
my $dir = $t->dir;

sub file {
    my ($name, $text, $mode) = @_;
    write_file("$dir/$name", $text);
    chmod $mode // 0600, "$dir/$name";
    return "$dir/$name";
}

file('good.txt', "file-secret-0123456789\n");
file('blank.txt', "\n   \r\n\t\n");
file('zero.txt', '');
file('short.txt', "file-secret-0123456789\nshortfile\n");
file('world.txt', "file-secret-0123456789\n", 0644);
file('other.txt', "file-secret-0123456789\n", 0604);
file('group.txt', "file-secret-0123456789\n", 0640);
file('hash.txt', "# old secret below, remove after rotation\nfile-secret-0123456789\n");
mkdir "$dir/a-directory";

# nginx -t on a location holding $directives (the server holds $server,
# http holds $http).
sub conf {
    my ($directives, $server, $http) = @_;
    $server //= '';
    $http //= '';
    return $t->test_config(<<"EOF");
http {
    $http
    server {
        listen 127.0.0.1:%%PORT%%;
        $server
        location / {
            $directives
        }
    }
}
EOF
}

# The number of the first line of the last nginx -t configuration that
# matches $re.
sub line_of {
    my ($re) = @_;
    my @lines = split /\n/, read_file("$dir/nginx-t.conf") // '';
    for my $i (0 .. $#lines) {
        return $i + 1 if $lines[$i] =~ $re;
    }
    return 0;
}

# With at => qr/.../: the message names the line that matches it.
sub at_place {
    my ($out, $level, $re, $at) = @_;
    my $line = line_of($at);
    ok($line, "the configuration has a line matching $at");
    like($out, qr/\[$level\][^\n]*$re[^\n]* in \Q$dir\E\/nginx-t\.conf:$line\n/,
        "and the place: line $line");
}

sub fails {
    my ($name, $directives, $re, %o) = @_;
    my ($rc, $out) = conf($directives, $o{server}, $o{http});
    subtest "error: $name" => sub {
        is($rc, 1, 'nginx -t fails');
        like($out, qr/\[emerg\][^\n]*$re/, 'names the directive and the reason');
        like($out, qr/\[emerg\][^\n]* in \Q$dir\E\/nginx-t\.conf:\d+/, 'and the place');
        at_place($out, 'emerg', $re, $o{at}) if $o{at};
        unlike($out, qr/\Q$o{secret}\E/, 'no secret printed') if $o{secret};
    } or diag($out);
}

sub passes {
    my ($name, $directives, %o) = @_;
    my ($rc, $out) = conf($directives, $o{server}, $o{http});
    subtest "ok: $name" => sub {
        is($rc, 0, 'nginx -t passes');
        unlike($out, qr/\[(warn|emerg)\]/, 'without a warning');
    } or diag($out);
}

sub warns {
    my ($name, $directives, $re, %o) = @_;
    my ($rc, $out) = conf($directives, $o{server}, $o{http});
    subtest "warning: $name" => sub {
        is($rc, 0, 'nginx -t passes');
        like($out, qr/\[warn\][^\n]*$re/, 'with a warning naming the directive and the reason');
        at_place($out, 'warn', $re, $o{at}) if $o{at};
        unlike($out, qr/\Q$o{secret}\E/, 'no secret printed') if $o{secret};
    } or diag($out);
}

my $token = "pbx_webhook_token $SECRET;";

# a secret is needed
fails('on without a secret', 'pbx_webhook on;', qr/pbx_webhook\b.*secret/i);
fails('monitor without a secret', 'pbx_webhook monitor;', qr/pbx_webhook\b.*secret/i);
fails('on at server level without a secret', '', qr/pbx_webhook\b.*secret/i,
    server => 'pbx_webhook on;');
passes('off without a secret', 'pbx_webhook off;');
passes('a secret without pbx_webhook', $token);
passes('on with a secret', "pbx_webhook on; $token");
passes('monitor with a token file', "pbx_webhook monitor; pbx_webhook_token_file $dir/good.txt;");
passes('secret at server level, on in the location', 'pbx_webhook on;', server => $token);

# An operator who turns the gate on for a whole server and gives each
# location its secret has no location without one; the server level itself
# only judges requests that match no location, and with no secret it refuses
# them all (token_mismatch).
passes('on at server level, a secret in the only location', $token,
    server => 'pbx_webhook on;');
fails('on in a location with no secret anywhere', 'pbx_webhook on;',
    qr/"pbx_webhook on" needs a secret/);
fails('a token header that is not a header name',
    "pbx_webhook on; $token pbx_webhook_token_header \"X Bad\";",
    qr/"pbx_webhook_token_header" "X Bad" is not a header name/);
fails('an unknown mode', "pbx_webhook maybe; $token",
    qr/"pbx_webhook" must be "on", "off" or "monitor", not "maybe"/);

# secrets
fails('empty secret', 'pbx_webhook on; pbx_webhook_token "";', qr/pbx_webhook_token\b.*empty/i);
fails('empty secret besides a good one', "pbx_webhook on; $token pbx_webhook_token '';",
    qr/pbx_webhook_token\b.*empty/i);
fails('token file missing', "pbx_webhook on; pbx_webhook_token_file $dir/none.txt;",
    qr/pbx_webhook_token_file\b.*none\.txt/);
fails('token file is a directory', "pbx_webhook on; pbx_webhook_token_file $dir/a-directory;",
    qr/pbx_webhook_token_file\b.*a-directory/);
fails('token file with only blank lines', "pbx_webhook on; pbx_webhook_token_file $dir/blank.txt;",
    qr/pbx_webhook_token_file\b.*(empty|no secret)/i);
fails('token file of zero bytes', "pbx_webhook on; pbx_webhook_token_file $dir/zero.txt;",
    qr/pbx_webhook_token_file\b.*(empty|no secret)/i);

# secret scopes (types=)
fails('types= lists nothing', "pbx_webhook on; pbx_webhook_token $SECRET types=;",
    qr/"pbx_webhook_token" "types=" lists no event type/, secret => $SECRET);
fails('types= with an empty type',
    "pbx_webhook on; pbx_webhook_token $SECRET types=voicemail,,queue_call;",
    qr/"pbx_webhook_token" "types=voicemail,,queue_call" has an empty event type/,
    secret => $SECRET);
fails('types= with a type twice',
    "pbx_webhook on; pbx_webhook_token $SECRET types=voicemail,voicemail;",
    qr/"pbx_webhook_token" "types=voicemail,voicemail" lists "voicemail" twice/,
    secret => $SECRET);
fails('a parameter other than types=', "pbx_webhook on; pbx_webhook_token $SECRET type=voicemail;",
    qr/"pbx_webhook_token" unknown parameter "type=voicemail"/, secret => $SECRET);
fails('token file: types= lists nothing',
    "pbx_webhook on; pbx_webhook_token_file $dir/good.txt types=;",
    qr/"pbx_webhook_token_file" "types=" lists no event type/);
fails('a type the catalog does not have',
    "pbx_webhook on; pbx_webhook_token $SECRET types=voicemail,fax_received;",
    qr/"pbx_webhook_token" types= names "fax_received", which location "\/" does not accept/,
    secret => $SECRET, at => qr/types=voicemail,fax_received;/);
fails('token file: a type the location does not list',
    "pbx_webhook on; pbx_webhook_event voicemail;"
    . " pbx_webhook_token_file $dir/good.txt types=voicemail,queue_call;",
    qr/"pbx_webhook_token_file" "\Q$dir\E\/good\.txt" types= names "queue_call", which location "\/" does not accept/,
    at => qr/types=voicemail,queue_call;/);
fails('a server secret scoped to a type the location drops',
    'pbx_webhook on; pbx_webhook_event voicemail;',
    qr/"pbx_webhook_token" types= names "queue_call", which location "\/" does not accept/,
    server => "pbx_webhook_token $SECRET types=queue_call;", secret => $SECRET,
    at => qr/types=queue_call;/);
passes('scoped secrets of catalog types',
    "pbx_webhook on; pbx_webhook_token $SECRET types=webhook_component_event;"
    . " pbx_webhook_token_file $dir/good.txt types=voicemail,queue_call;");
passes('scoped to a type of the location', "pbx_webhook on; pbx_webhook_event crm;"
    . " pbx_webhook_token $SECRET types=crm;");
passes('a server secret scoped to a type its location adds', 'pbx_webhook on; pbx_webhook_event crm;',
    server => "pbx_webhook_token $SECRET types=crm;");
passes('gate off: a scope is not checked', "pbx_webhook off; pbx_webhook_token $SECRET types=crm;");

# schemas
fails('unknown KIND', "pbx_webhook on; $token pbx_webhook_event crm a:integer;",
    qr/pbx_webhook_event\b.*integer/);
fails('empty KIND', "pbx_webhook on; $token pbx_webhook_event crm a:;",
    qr/pbx_webhook_event\b/);
fails('same TYPE twice', "pbx_webhook on; $token pbx_webhook_event crm; pbx_webhook_event crm a;",
    qr/pbx_webhook_event\b.*crm/);
fails('same catalog TYPE twice',
    "pbx_webhook on; $token pbx_webhook_event voicemail; pbx_webhook_event voicemail;",
    qr/pbx_webhook_event\b.*voicemail/);
passes('the same TYPE at server and location level', "pbx_webhook on; pbx_webhook_event crm;",
    server => "$token pbx_webhook_event crm;");
passes('every KIND', "pbx_webhook on; $token pbx_webhook_event crm a:string b:nonempty"
    . ' c:number d:numeric e:datetime f:array g:object h:any i;');

# limits
fails('depth 0', "pbx_webhook on; $token pbx_webhook_max_depth 0;", qr/pbx_webhook_max_depth\b/);
fails('depth 513', "pbx_webhook on; $token pbx_webhook_max_depth 513;",
    qr/pbx_webhook_max_depth\b/);
fails('depth -1', "pbx_webhook on; $token pbx_webhook_max_depth -1;", qr/pbx_webhook_max_depth\b/);
fails('depth abc', "pbx_webhook on; $token pbx_webhook_max_depth abc;",
    qr/pbx_webhook_max_depth\b/);
passes('depth 1', "pbx_webhook on; $token pbx_webhook_max_depth 1;");
passes('depth 512', "pbx_webhook on; $token pbx_webhook_max_depth 512;");
fails('max body size 0', "pbx_webhook on; $token pbx_webhook_max_body_size 0;",
    qr/pbx_webhook_max_body_size\b/);
fails('max body size abc', "pbx_webhook on; $token pbx_webhook_max_body_size abc;",
    qr/pbx_webhook_max_body_size\b/);
passes('max body size 1', "pbx_webhook on; $token pbx_webhook_max_body_size 1;");
passes('max body size 1m', "pbx_webhook on; $token pbx_webhook_max_body_size 1m;");

# masking
fails('mask keep -1', 'pbx_webhook_mask_keep -1;', qr/pbx_webhook_mask_keep\b/);
fails('mask keep abc', 'pbx_webhook_mask_keep abc;', qr/pbx_webhook_mask_keep\b/);
fails('mask keep 1025', 'pbx_webhook_mask_keep 1025;',
    qr/"pbx_webhook_mask_keep" must be between 0 and 1024/);
fails('mask keep twice', 'pbx_webhook_mask_keep 3; pbx_webhook_mask_keep 4;',
    qr/pbx_webhook_mask_keep\b.*duplicate/);
passes('mask keep 0', 'pbx_webhook_mask_keep 0;');
passes('mask keep 1024', 'pbx_webhook_mask_keep 1024;');
passes('mask keep at server level', "pbx_webhook on; $token", server => 'pbx_webhook_mask_keep 4;');

# values nginx itself checks (its enum message does not name the directive)
fails('pbx_webhook maybe', "pbx_webhook maybe; $token", qr/maybe/);
fails('pbx_webhook_content_type maybe', "pbx_webhook on; $token pbx_webhook_content_type maybe;",
    qr/pbx_webhook_content_type\b/);
fails('pbx_webhook twice', "pbx_webhook on; pbx_webhook off; $token", qr/pbx_webhook\b.*duplicate/);
fails('pbx_webhook_max_depth twice',
    "pbx_webhook on; $token pbx_webhook_max_depth 3; pbx_webhook_max_depth 4;",
    qr/pbx_webhook_max_depth\b.*duplicate/);
passes('every directive',
    "pbx_webhook on; $token pbx_webhook_token_file $dir/good.txt; pbx_webhook_token_header X-Secret;"
    . ' pbx_webhook_event user_outbound; pbx_webhook_max_body_size 8k; pbx_webhook_max_depth 4;'
    . ' pbx_webhook_content_type off;');

# warnings
warns('secret of 15 bytes', 'pbx_webhook on; pbx_webhook_token abcdefghijklmno;',
    qr/pbx_webhook_token\b.*(16|short)/i, secret => 'abcdefghijklmno');
passes('secret of 16 bytes', 'pbx_webhook on; pbx_webhook_token abcdefghijklmnop;');
warns('short secret in a token file', "pbx_webhook on; pbx_webhook_token_file $dir/short.txt;",
    qr/pbx_webhook_token_file\b.*(16|short)/i, secret => 'shortfile');
warns('token file readable by everyone (0644)',
    "pbx_webhook on; pbx_webhook_token_file $dir/world.txt;",
    qr/pbx_webhook_token_file\b.*(readable|permission|mode|other)/i,
    secret => 'file-secret-0123456789');
warns('token file readable by others (0604)',
    "pbx_webhook on; pbx_webhook_token_file $dir/other.txt;",
    qr/pbx_webhook_token_file\b.*(readable|permission|mode|other)/i);
passes('token file readable by its group only (0640)',
    "pbx_webhook on; pbx_webhook_token_file $dir/group.txt;");

# nginx -t points at the line to fix, and warns about traps that would
# otherwise pass silently.
my $needs = qr/"pbx_webhook on" needs a secret: add "pbx_webhook_token" or "pbx_webhook_token_file"/;
fails('no secret: the place is the location\'s "pbx_webhook on"',
    "proxy_pass http://127.0.0.1:1;\n            pbx_webhook on;",
    qr/$needs to location "\/"/, at => qr/^\s*pbx_webhook on;$/);
fails('no secret, the gate on at server level: that line, and the location',
    'proxy_pass http://127.0.0.1:1;', qr/$needs to location "\/"/,
    server => 'pbx_webhook on;', at => qr/^\s*pbx_webhook on;$/);
fails('no secret, monitor', "proxy_pass http://127.0.0.1:1;\n            pbx_webhook monitor;",
    qr/"pbx_webhook monitor" needs a secret/, at => qr/^\s*pbx_webhook monitor;$/);

my $cmbs = qr/"pbx_webhook_max_body_size" is (\d+) bytes, above "client_max_body_size" (\d+) of location "\/": nginx refuses the larger bodies first/;
warns('pbx_webhook_max_body_size above client_max_body_size',
    "pbx_webhook on; $token client_max_body_size 10k;\n            pbx_webhook_max_body_size 1m;",
    qr/"pbx_webhook_max_body_size" is 1048576 bytes, above "client_max_body_size" 10240 /,
    at => qr/pbx_webhook_max_body_size 1m;/);
warns('the default pbx_webhook_max_body_size above client_max_body_size: the gate\'s line',
    "client_max_body_size 10k; $token\n            pbx_webhook on;",
    qr/"pbx_webhook_max_body_size" is 65536 bytes, above "client_max_body_size" 10240 /,
    at => qr/^\s*pbx_webhook on;$/);
warns('client_max_body_size set at server level', "pbx_webhook on; $token",
    $cmbs, server => 'client_max_body_size 1k;');
passes('pbx_webhook_max_body_size equal to client_max_body_size',
    "pbx_webhook on; $token client_max_body_size 64k;");
passes('client_max_body_size 0 (no limit)',
    "pbx_webhook on; $token client_max_body_size 0; pbx_webhook_max_body_size 100m;");
passes('client_max_body_size under the limit where the gate is off',
    "$token client_max_body_size 1k;");

my $underscore = qr/"pbx_webhook_token_header" "X_Pbx_Token" has "_": nginx drops such header lines unless "underscores_in_headers on" is set in the server, so the token would always count as missing/;
warns('a token header name with "_"',
    "pbx_webhook on; $token\n            pbx_webhook_token_header X_Pbx_Token;",
    $underscore, at => qr/pbx_webhook_token_header X_Pbx_Token;/);
warns('a token header name with "_" inherited from the server', "pbx_webhook on; $token",
    $underscore, server => 'pbx_webhook_token_header X_Pbx_Token;',
    at => qr/pbx_webhook_token_header X_Pbx_Token;/);
passes('a token header name with "_" and underscores_in_headers on',
    "pbx_webhook on; $token pbx_webhook_token_header X_Pbx_Token;",
    server => 'underscores_in_headers on;');
passes('a token header name with "_" where the gate is off',
    "$token pbx_webhook_token_header X_Pbx_Token;");

warns('a token-file line that starts with "#"',
    "pbx_webhook on;\n            pbx_webhook_token_file $dir/hash.txt;",
    qr/"pbx_webhook_token_file" "\Q$dir\E\/hash\.txt" line 1: starts with "#", which makes it a secret, not a comment/,
    at => qr/hash\.txt;/, secret => 'old secret below');

my $zone = 'pbx_webhook_zone counters 32k;';
fails('pbx_webhook_metrics where the gate is on', "pbx_webhook on; $token\n            pbx_webhook_metrics;",
    qr/"pbx_webhook_metrics" where "pbx_webhook" is on: the gate refuses the GET that reads the metrics/,
    http => $zone, at => qr/^\s*pbx_webhook_metrics;$/);
fails('pbx_webhook_metrics where the server turns the gate on', 'pbx_webhook_metrics;',
    qr/"pbx_webhook_metrics" where "pbx_webhook" is on/, http => $zone,
    server => "pbx_webhook on; $token", at => qr/^\s*pbx_webhook_metrics;$/);
passes('pbx_webhook_metrics where the gate is off', "pbx_webhook off; pbx_webhook_metrics;",
    server => "pbx_webhook on; $token", http => $zone);
warns('pbx_webhook_metrics with no zone declared', 'pbx_webhook_metrics;',
    qr/"pbx_webhook_metrics" has nothing to show: no "pbx_webhook_zone" is declared/,
    at => qr/^\s*pbx_webhook_metrics;$/);
{
    my ($rc, $out) = $t->test_config(<<"EOF");
http {
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /metrics {
            pbx_webhook_metrics;
        }
    }
    $zone
}
EOF
    subtest 'ok: pbx_webhook_metrics with a zone declared after it' => sub {
        is($rc, 0, 'nginx -t passes');
        unlike($out, qr/\[(warn|emerg)\]/, 'without a warning');
    } or diag($out);
}

# the lines nginx -t printed went to their own log, not error.log

done_testing;

#!/usr/bin/perl

# scripts/build-module: refuses an nginx built without --with-compat whose
# configure arguments cannot be reproduced; and, given the nginx source of
# the nginx under test (PBX_BUILD_MODULE_SOURCE, set by scripts/matrix for
# one version), builds a .so that this nginx loads.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PbxTest;

my $t = PbxTest->new(module => 0);
my $dir = $t->dir;
my $script = "$PbxTest::ROOT/scripts/build-module";

sub run_script {
    my (@args) = @_;
    my $out = `$script @args 2>&1`;
    return ($? >> 8, $out);
}

subtest 'refuses an nginx without --with-compat it cannot reproduce' => sub {
    write_file("$dir/nginx", <<'EOF');
#!/bin/sh
echo "nginx version: nginx/1.24.0" >&2
echo "configure arguments: --prefix=/etc/nginx --add-module=/nonexistent/ngx_foo --with-cc-opt='-O2 -g'" >&2
EOF
    chmod 0755, "$dir/nginx";
    my ($status, $out) = run_script('--nginx', "$dir/nginx", '--source', "$dir/none");
    isnt($status, 0, 'fails');
    like($out, qr/without --with-compat/, 'says the binary lacks --with-compat');
    like($out, qr{--add-module=/nonexistent/ngx_foo.*cannot be reproduced}s,
        'names what cannot be reproduced');
    ok(!-e "$PbxTest::ROOT/build/ngx_http_pbx_webhook_module-1.24.0.so"
        || -M "$PbxTest::ROOT/build/ngx_http_pbx_webhook_module-1.24.0.so" > 0,
        'built nothing');
};

subtest 'refuses a source of another version' => sub {
    mkdir "$dir/src-9";
    mkdir "$dir/src-9/src";
    mkdir "$dir/src-9/src/core";
    write_file("$dir/src-9/src/core/nginx.h", "#define NGINX_VERSION      \"9.9.9\"\n");
    my ($status, $out) = run_script('--version', '1.24.0', '--source', "$dir/src-9");
    isnt($status, 0, 'fails');
    like($out, qr{is nginx 9\.9\.9, the binary is 1\.24\.0.*nginx\.org/download/nginx-1\.24\.0},
        'says which version to get, and where');
};

my $source = $ENV{PBX_BUILD_MODULE_SOURCE};
SKIP: {
    skip 'PBX_BUILD_MODULE_SOURCE (the source of the nginx under test) not set', 1
        unless $source;
    skip 'under valgrind', 1 if $t->valgrind;

    subtest "builds a module that $t->{nginx} loads" => sub {
        my ($status, $out) = run_script('--nginx', $t->{nginx}, '--source', $source, '--out',
            "$dir/built.so");
        is($status, 0, 'build-module succeeds') or diag($out);
        ok(-f "$dir/built.so", 'a .so');

        my ($rc, $said) = $t->test_config(<<"EOF");
load_module $dir/built.so;
events {
}
http {
    pbx_webhook_zone hooks 1m;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /hook {
            pbx_webhook on;
            pbx_webhook_token built-module-secret-0123;
            pbx_webhook_zone_use hooks;
        }
    }
}
EOF
        is($rc, 0, 'nginx -t loads it and takes its directives') or diag($said);
    };
}

done_testing;

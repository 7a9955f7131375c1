package PbxTest;

# The integration tests' own small nginx-tests style helper (core Perl only).
#
#   my $t = PbxTest->new;                   # scratch dir $PBX_TMP/<test name>
#   $t->start_backend;                      # t/lib/backend.pl on %%BACKEND%%
#   $t->write_config(<<'EOF');              # load_module, error_log, pid,
#   http { server { listen 127.0.0.1:%%PORT%%; ... } }    # events, temp paths
#   EOF
#   $t->run;
#   my $r = $t->post(path => '/hook', token => $secret, body => $json);
#   my $e = $t->next_log;                   # the access log line, as a hash
#   $t->stop;
#   done_testing;                           # first stops what still runs and
#                                           # checks every error log for alerts
#
# Also: test_config (nginx -t: status and output), reload, reload_in_flight,
# request (exact bytes), connect (a PbxTest::Conn, t/lib/PbxTest/Conn.pm:
# send, trickle, read_response, closed, pending), post_expect (Expect:
# 100-continue), pipeline, h2 (curl, h2c), h2_connect (PbxTest::H2,
# t/lib/PbxTest/H2.pm: several streams, bodies held back), backend_requests, backend_reset, error_log_grep, skip_log,
# skip_all_under_valgrind, timeout (scaled under valgrind). Exported:
# build_request, chunked_body, event, json_object, json_string, sha256_hex,
# read_file, write_file.
#
# Environment: PBX_MODULE (the .so), PBX_NGINX (the binary), PBX_TMP (scratch
# root), PBX_VALGRIND=1 (run nginx under memcheck, one process, and fail on
# errors or definite leaks when it stops; nginx -t runs without it).

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use File::Basename qw(basename dirname);
use File::Path qw(make_path remove_tree);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test2::API qw(test2_add_callback_testing_done test2_stack);
use Test::More;
use Time::HiRes qw(sleep time);

use PbxTest::Conn;
use PbxTest::H2;

our @EXPORT = qw(build_request chunked_body read_file write_file sha256_hex json_object
    json_string event);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');

# The fields of the default access log format "pbx", in order.
our @LOG_FIELDS = qw(status result reason detail token_id type method uri
    request_length connection requests body_length test_id);

my @LOG_VARIABLES = qw($status $pbx_webhook_result $pbx_webhook_reason
    $pbx_webhook_detail $pbx_webhook_token_id $pbx_event_type $request_method
    $uri $request_length $connection $connection_requests
    $upstream_http_x_backend_body_length $http_x_test_id);

my @LIVE;

$SIG{PIPE} = 'IGNORE';

sub new {
    my ($class, %o) = @_;

    my $name = $o{name} // basename($0, '.t');
    my $tmp = $ENV{PBX_TMP} || "$ROOT/build/t-tmp";
    my $self = bless {
        name     => $name,
        dir      => undef,
        nginx    => $ENV{PBX_NGINX} || '/usr/sbin/nginx',
        module   => $o{module} // 1,
        so       => $ENV{PBX_MODULE} || "$ROOT/build/ngx_http_pbx_webhook_module.so",
        valgrind => $ENV{PBX_VALGRIND} ? 1 : 0,
        ports    => {},
        backends => {},
        offsets  => {},
        running  => 0,
        conf     => undef,
        error_logs => {},
    }, $class;

    make_path($tmp);
    $self->{dir} = abs_path($tmp) . "/$name";
    remove_tree($self->{dir});
    make_path($self->{dir});

    if ($self->{module}) {
        $self->{so} = abs_path($self->{so}) // $self->{so};
        BAIL_OUT("module not found at $self->{so}: build it first (PBX_MODULE)")
            unless -f $self->{so};
    }

    push @LIVE, $self;
    return $self;
}

sub dir { $_[0]{dir} }
sub valgrind { $_[0]{valgrind} }
sub module_path { $_[0]{so} }

# Seconds to wait for something nginx does; memcheck makes it ~20x slower.
sub timeout {
    my ($self, $seconds) = @_;
    return $self->{valgrind} ? $seconds * 20 : $seconds;
}

sub skip_all_under_valgrind {
    my ($self, $why) = @_;
    plan skip_all => "under valgrind: $why" if $self->{valgrind};
}

# A free loopback port by name: bind to port 0, note it, let it go.
sub port {
    my ($self, $name) = @_;
    $name //= 'main';
    return $self->{ports}{$name} //= free_port();
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
        Listen => 1) or die "cannot find a free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

###############################################################################
# configuration

# Expands %%PORT%%, %%PORT_name%%, %%BACKEND%%, %%BACKEND_name%%, %%DIR%%,
# %%MODULE%% and any %%KEY%% given in %vars.
sub expand {
    my ($self, $text, %vars) = @_;

    $text =~ s{%%(\w+)%%}{
        my $key = $1;
        exists $vars{$key} ? $vars{$key}
        : $key eq 'PORT' ? $self->port('main')
        : $key =~ /^PORT_(\w+)$/ ? $self->port($1)
        : $key eq 'BACKEND' ? $self->port('backend')
        : $key =~ /^BACKEND_(\w+)$/ ? $self->port("backend_$1")
        : $key eq 'DIR' ? $self->{dir}
        : $key eq 'MODULE' ? $self->{so}
        : croak "unknown placeholder %%$key%%"
    }ge;

    return $text;
}

sub log_format {
    return "log_format pbx escape=json '" . join('\t', @LOG_VARIABLES) . "';";
}

sub compose {
    my ($self, $template, $error_log, %vars) = @_;
    my $dir = $self->{dir};
    my $body = $self->expand($template, %vars);

    my $main = '';
    $main .= "load_module $self->{so};\n" if $self->{module};
    $main .= "error_log $error_log info;\n";
    $main .= "pid $dir/nginx.pid;\n";
    $main .= "daemon on;\n" unless $self->{valgrind};
    $main .= "user root;\n" if $> == 0;
    $main .= "events {\n}\n" unless $body =~ /^\s*events\s*\{/m;

    my $http = join '', map { "    $_\n" }
        "client_body_temp_path $dir/client_body_temp;",
        "proxy_temp_path $dir/proxy_temp;",
        "fastcgi_temp_path $dir/fastcgi_temp;",
        "uwsgi_temp_path $dir/uwsgi_temp;",
        "scgi_temp_path $dir/scgi_temp;",
        ($self->{module}
            ? (log_format(), "access_log $dir/access.log pbx;")
            : ("access_log $dir/access.log;"));

    $body =~ s/^(\s*http\s*\{)/$1\n$http/m;

    return $main . "\n" . $body;
}

sub write_config {
    my ($self, $template, %vars) = @_;
    my $conf = $self->compose($template, "$self->{dir}/error.log", %vars);
    $self->{error_logs}{$1} = 1 while $conf =~ /^\s*error_log\s+\Q$self->{dir}\E\/([^\s;]+)/mg;
    write_file("$self->{dir}/nginx.conf", $conf);
    $self->{conf} = $conf;
    return $conf;
}

# Runs "nginx -t" on a config of its own (its own error log too, so that the
# expected [emerg] lines stay out of error.log). Returns (exit status, all
# that nginx said).
sub test_config {
    my ($self, $template, %vars) = @_;
    my $dir = $self->{dir};
    my $log = "$dir/error-t.log";

    unlink $log;
    write_file("$dir/nginx-t.conf", $self->compose($template, $log, %vars));

    my $output = capture($self->{nginx}, '-t', '-p', "$dir/", '-c', "$dir/nginx-t.conf",
        '-e', $log);
    my $status = $? >> 8;
    $output .= read_file($log) if -f $log;

    return ($status, $output);
}

###############################################################################
# nginx processes

sub nginx_args {
    my ($self) = @_;
    my $dir = $self->{dir};
    return ('-p', "$dir/", '-c', "$dir/nginx.conf", '-e', "$dir/error.log");
}

sub run {
    my ($self) = @_;
    my $dir = $self->{dir};

    croak 'write_config first' unless defined $self->{conf};
    croak 'nginx already running' if $self->{running};
    unlink "$dir/nginx.pid";

    if ($self->{valgrind}) {
        my @vg = ('valgrind', '--tool=memcheck', '--leak-check=full',
            '--errors-for-leak-kinds=definite', '--num-callers=30',
            "--suppressions=$ROOT/t/valgrind.supp", "--log-file=$dir/valgrind.%p.log");
        my $pid = spawn("$dir/nginx.out", @vg, $self->{nginx}, $self->nginx_args,
            '-g', 'daemon off; master_process off;');
        $self->{vg_pid} = $pid;

    } else {
        my $out = capture($self->{nginx}, $self->nginx_args);
        if ($? != 0) {
            die "nginx did not start (exit " . ($? >> 8) . "): $out\n" . $self->error_log_tail;
        }
    }

    # The pid file is written after the listening sockets are bound.
    my $deadline = time + $self->timeout(10);
    while (!$self->master_pid) {
        if ($self->{vg_pid} && waitpid($self->{vg_pid}, WNOHANG) == $self->{vg_pid}) {
            delete $self->{vg_pid};
            die "nginx under valgrind exited at start\n" . $self->error_log_tail;
        }
        die "nginx did not write its pid file\n" . $self->error_log_tail if time > $deadline;
        sleep 0.05;
    }

    $self->{running} = 1;
    return $self;
}

sub master_pid {
    my ($self) = @_;
    my $pid = read_file("$self->{dir}/nginx.pid") // return undef;
    return $pid =~ /^(\d+)\s*$/ ? $1 : undef;
}

# Pids of the master's children (workers), from /proc.
sub worker_pids {
    my ($self) = @_;
    my $master = $self->master_pid // return ();
    return $master if $self->{valgrind};
    return children($master);
}

sub children {
    my ($parent) = @_;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = read_file($stat) // next;
        my ($pid, $state, $ppid) = $s =~ /^(\d+) \(.*\) (\S) (\d+)/s or next;
        push @pids, $pid if $ppid == $parent && $state ne 'Z';
    }
    return sort { $a <=> $b } @pids;
}

sub alive {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    my $s = read_file("/proc/$pid/stat") // return 0;
    return $s =~ /^\d+ \(.*\) (\S)/s && $1 ne 'Z';
}

# "nginx -s reload", then waits until every old worker has gone and new ones
# serve. False (with a diagnostic) when the reload did not happen.
sub reload {
    my ($self, $template, %vars) = @_;
    return $self->signal_reload($template, 0, %vars);
}

# The same while requests are still open on old workers: waits until new
# workers run and every old one has stopped accepting (it logged "gracefully
# shutting down"), not for the old ones to exit.
sub reload_in_flight {
    my ($self, $template, %vars) = @_;
    return $self->signal_reload($template, 1, %vars);
}

sub signal_reload {
    my ($self, $template, $in_flight, %vars) = @_;

    croak 'reload needs nginx with a master process' if $self->{valgrind};
    $self->write_config($template, %vars) if defined $template;

    my @old = $self->worker_pids;
    my $out = capture($self->{nginx}, $self->nginx_args, '-s', 'reload');
    if ($? != 0) {
        diag("nginx -s reload failed: $out");
        return 0;
    }

    my %old = map { $_ => 1 } @old;
    my $deadline = time + $self->timeout(10);

    while (time < $deadline) {
        my @now = $self->worker_pids;
        my $fresh = grep { !$old{$_} } @now;
        my $stale = grep { $old{$_} } @now;
        if ($in_flight) {
            my $quitting = grep {
                my $pid = $_;
                $self->error_log_grep(qr/\b$pid#\d+: gracefully shutting down/);
            } @old;
            return 1 if $fresh && $quitting == @old;
        } else {
            return 1 if $fresh && !$stale;
        }
        sleep 0.05;
    }

    diag('reload: old workers still running or no new worker' . "\n" . $self->error_log_tail);
    return 0;
}

# Waits until no worker of before the last reload is left.
sub wait_old_workers {
    my ($self) = @_;
    my $master = $self->master_pid // return 1;
    my $deadline = time + $self->timeout(10);
    while (time < $deadline) {
        my @stale = grep { $self->error_log_grep(qr/\b$_#\d+: gracefully shutting down/) }
            children($master);
        return 1 unless @stale;
        sleep 0.05;
    }
    return 0;
}

sub stop {
    my ($self) = @_;
    my $dir = $self->{dir};

    if ($self->{running}) {
        $self->{running} = 0;

        if (my $pid = delete $self->{vg_pid}) {
            # Without a master, a QUIT that lands after nginx last looked at
            # its flags and before it blocks in epoll_wait with no timer
            # left goes unseen until the next event: sent again every
            # second, one of them interrupts the wait.
            kill 'QUIT', $pid;
            my $deadline = time + $self->timeout(10);
            my $again = time + 1;
            while (waitpid($pid, WNOHANG) != $pid) {
                if (time > $deadline) {
                    kill 'KILL', $pid;
                    waitpid($pid, 0);
                    fail('nginx under valgrind stopped on QUIT');
                    last;
                }
                if (time > $again) {
                    kill 'QUIT', $pid;
                    $again = time + 1;
                }
                sleep 0.05;
            }

        } elsif (my $master = $self->master_pid) {
            kill 'QUIT', $master;
            my $deadline = time + $self->timeout(10);
            while (alive($master)) {
                if (time > $deadline) {
                    kill 'KILL', $master, children($master);
                    fail('nginx stopped on QUIT');
                    last;
                }
                sleep 0.05;
            }
        }

        $self->check_valgrind if $self->{valgrind};
    }

    $self->stop_backends;
    return $self;
}

sub check_valgrind {
    my ($self) = @_;
    my @logs = glob "$self->{dir}/valgrind.*.log";

    ok(scalar @logs, 'valgrind wrote a log');

    for my $log (@logs) {
        my $text = read_file($log) // '';
        my $errors = $text =~ /ERROR SUMMARY: [1-9]/;
        my $lost = $text =~ /definitely lost: [1-9]|are definitely lost in loss record/;
        ok(!$errors && !$lost, 'valgrind: no errors, nothing definitely lost in ' . basename($log))
            or diag($text);
    }
}

sub DESTROY { }

# The last tests of every file, as done_testing (or the end of a file that
# died) comes: each nginx is stopped, then each error log it wrote must be
# free of alerts. A file that skipped all has nothing to check.
test2_add_callback_testing_done(sub {
    return if (test2_stack()->top->plan // '') eq 'SKIP';
    $_->finish for grep { ref } @LIVE;
});

sub finish {
    my ($self) = @_;
    return if $self->{finished}++;
    $self->stop;
    $self->error_log_clean($_) for $self->error_logs;
}

# error.log, and every other error log a configuration named in the
# scratch directory.
sub error_logs {
    my ($self) = @_;
    return sort keys %{{ 'error.log' => 1, %{ $self->{error_logs} } }};
}

END {
    my $status = $?;
    for my $t (@LIVE) {
        next unless ref $t;
        if ($t->{running}) {
            $t->{running} = 0;
            if (my $pid = delete $t->{vg_pid}) {
                kill 'KILL', $pid;
                waitpid($pid, 0);
            } elsif (my $master = $t->master_pid) {
                kill 'KILL', $master, children($master);
            }
        }
        $t->stop_backends;
    }
    $? = $status;
}

###############################################################################
# the recording backend

sub start_backend {
    my ($self, %o) = @_;
    my $name = defined $o{name} ? "backend_$o{name}" : 'backend';

    for my $attempt (1 .. 3) {
        my $port = $self->port($name);
        my @cmd = ($^X, "$ROOT/t/lib/backend.pl", '--listen', "127.0.0.1:$port",
            '--pid', "$self->{dir}/$name.pid", (defined $o{status} ? ('--status', $o{status}) : ()));

        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $r;
            open STDOUT, '>&', $w or POSIX::_exit(1);
            open STDERR, '>>', "$self->{dir}/$name.err" or POSIX::_exit(1);
            exec @cmd or POSIX::_exit(1);
        }
        close $w;

        my $line = '';
        my $sel = IO::Select->new($r);
        my $deadline = time + 10;
        while ($line !~ /\n/ && time < $deadline) {
            $sel->can_read(0.2) or next;
            sysread($r, $line, 256, length $line) or last;
        }

        if ($line =~ /^backend ready on (\d+)/) {
            $self->{backends}{$name} = { pid => $pid, port => $port, pipe => $r };
            return $port;
        }

        kill 'TERM', $pid;
        waitpid($pid, 0);
        close $r;
        diag("backend did not start on port $port (attempt $attempt)");
        delete $self->{ports}{$name};
        croak 'port of a backend changed after the config was written'
            if defined $self->{conf} && $self->{conf} =~ /:$port\b/;
    }

    die "backend did not start\n";
}

sub stop_backends {
    my ($self) = @_;
    for my $b (values %{$self->{backends}}) {
        kill 'TERM', $b->{pid};
        waitpid($b->{pid}, 0);
        close $b->{pipe};
    }
    $self->{backends} = {};
}

# Requests the backend has counted (stats and reset excluded).
sub backend_requests {
    my ($self, $name) = @_;
    my $port = $self->port(defined $name ? "backend_$name" : 'backend');
    my $r = $self->request("GET /__backend/stats HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
        port => $port);
    return $r && $r->{body} =~ /"requests":(\d+)/ ? $1 : undef;
}

sub backend_reset {
    my ($self, $name) = @_;
    my $port = $self->port(defined $name ? "backend_$name" : 'backend');
    $self->request("POST /__backend/reset HTTP/1.1\r\nHost: b\r\nContent-Length: 0\r\n"
        . "Connection: close\r\n\r\n", port => $port);
}

###############################################################################
# clients

sub connect {
    my ($self, %o) = @_;
    return PbxTest::Conn->new(port => $o{port} // $self->port('main'),
        timeout => $self->timeout($o{timeout} // 5));
}

# An HTTP/2 connection of our own (PbxTest::H2), for several streams on it.
sub h2_connect {
    my ($self, %o) = @_;
    return PbxTest::H2->new(port => $o{port} // $self->port('main'),
        timeout => $self->timeout($o{timeout} // 5));
}

# Sends exact bytes on a new connection and reads one response.
sub request {
    my ($self, $bytes, %o) = @_;
    my $c = $self->connect(%o) or return undef;
    $c->send($bytes);
    my $r = $c->read_response(timeout => $self->timeout($o{timeout} // 5), head => $o{head});
    $c->close;
    return $r;
}

# One request made by build_request (see there for the options), on a new
# connection.
sub post {
    my ($self, %o) = @_;
    my $port = delete $o{port};
    my $timeout = delete $o{timeout};
    return $self->request(scalar build_request(%o), port => $port, timeout => $timeout,
        head => ($o{method} // 'POST') eq 'HEAD');
}

# A request with Expect: 100-continue, sent as a careful client does: the
# head, then a wait for the server's word. On "100 Continue" the body follows
# and the final answer is read. Returns (interim response or undef, final
# response or undef, connection).
sub post_expect {
    my ($self, %o) = @_;
    my $port = delete $o{port};
    my ($head, $body) = build_request(%o, expect => 1);
    my $c = $self->connect(port => $port) or return;
    $c->send($head);
    my $first = $c->read_response(timeout => $self->timeout($o{wait} // 2));
    return (undef, $first, $c) if !$first || $first->{status} != 100;
    $c->send($body);
    return ($first, $c->read_response, $c);
}

# Several requests (build_request option hashes) written at once on one
# keep-alive connection; returns their responses in order (undef for those
# that never came).
sub pipeline {
    my ($self, @requests) = @_;
    my $c = $self->connect or return;
    $c->send(join '', map { scalar build_request(%$_, keepalive => 1) } @requests);
    my @r = map { $c->read_response } @requests;
    $c->close;
    return @r;
}

# HTTP/2 without TLS (prior knowledge) through curl. Options as for post:
# path, method, body, token, tokens, content_type, headers.
sub h2 {
    my ($self, %o) = @_;
    my $dir = $self->{dir};
    my $n = ++$self->{h2_count};
    my @cmd = ('curl', '-sS', '--http2-prior-knowledge', '--max-time', $self->timeout(10),
        '-o', "$dir/h2.$n.body", '-D', "$dir/h2.$n.head", '-w', '%{http_code} %{http_version}');

    push @cmd, '-X', $o{method} // 'POST';
    my $ct = exists $o{content_type} ? $o{content_type} : 'application/json';
    push @cmd, '-H', defined $ct ? "Content-Type: $ct" : 'Content-Type:';
    my $header = $o{token_header} // 'X-Pbx-Token';
    push @cmd, '-H', "$header: $o{token}" if defined $o{token};
    push @cmd, '-H', "$_->[0]: $_->[1]" for @{$o{headers} // []};

    if (defined $o{body}) {
        write_file("$dir/h2.$n.req", $o{body});
        push @cmd, '--data-binary', "\@$dir/h2.$n.req";
    }
    push @cmd, "http://127.0.0.1:" . ($o{port} // $self->port('main')) . ($o{path} // '/');

    my $out = capture(@cmd);
    my ($code, $version) = $out =~ /(\d{3}) (\S+)\s*$/ or return undef;
    my $head = read_file("$dir/h2.$n.head") // '';
    my %h = parse_headers($head);

    return {
        status => $code + 0, version => $version, headers => \%h,
        body => read_file("$dir/h2.$n.body") // '', raw_head => $head,
    };
}

# Builds the bytes of one request.
#   method (POST), path (/), version (1.1), host (localhost; undef omits),
#   token (X-Pbx-Token value; absent omits), tokens => [..] (one header each),
#   token_header (X-Pbx-Token), content_type (application/json for POST or
#   with a body; undef omits),
#   body (undef: no body), chunked => [sizes] (Transfer-Encoding: chunked with
#   those chunk sizes, the last repeating), expect (Expect: 100-continue),
#   length (Content-Length value to claim), keepalive (no Connection: close),
#   headers => [[name, value], ...] (appended in order), id (X-Test-Id, which
#   the "pbx" log format records as test_id).
# In list context returns (head, body) so the two can be sent apart.
sub build_request {
    my (%o) = @_;
    my $method = $o{method} // 'POST';
    my $version = $o{version} // '1.1';
    my @h;

    push @h, ['Host', $o{host} // 'localhost'] if !exists $o{host} || defined $o{host};

    my $ct = exists $o{content_type} ? $o{content_type}
        : ($method eq 'POST' || defined $o{body} ? 'application/json' : undef);
    push @h, ['Content-Type', $ct] if defined $ct;

    my $th = $o{token_header} // 'X-Pbx-Token';
    push @h, [$th, $o{token}] if defined $o{token};
    push @h, [$th, $_] for @{$o{tokens} // []};

    push @h, ['Expect', '100-continue'] if $o{expect};

    my $body = '';
    if (defined $o{body}) {
        if ($o{chunked}) {
            push @h, ['Transfer-Encoding', 'chunked'];
            $body = chunked_body($o{body}, ref $o{chunked} ? @{$o{chunked}} : ());
        } else {
            push @h, ['Content-Length', $o{length} // length $o{body}];
            $body = $o{body};
        }
    } elsif (defined $o{length}) {
        push @h, ['Content-Length', $o{length}];
    }

    push @h, ['Connection', 'close'] unless $o{keepalive};
    push @h, ['X-Test-Id', $o{id}] if defined $o{id};
    push @h, @{$o{headers} // []};

    my $head = "$method " . ($o{path} // '/') . " HTTP/$version\r\n"
        . join('', map { "$_->[0]: $_->[1]\r\n" } @h) . "\r\n";

    return wantarray ? ($head, $body) : $head . $body;
}

# The chunked encoding of $body in chunks of the given sizes (the last size
# repeats; all of it in one chunk when none is given).
sub chunked_body {
    my ($body, @sizes) = @_;
    my $out = '';
    my $at = 0;
    my $i = 0;

    while ($at < length $body) {
        my $size = @sizes ? $sizes[$i < @sizes ? $i : -1] : length $body;
        $size = 1 if $size < 1;
        my $piece = substr($body, $at, $size);
        $out .= sprintf("%x\r\n", length $piece) . $piece . "\r\n";
        $at += length $piece;
        $i++;
    }

    return $out . "0\r\n\r\n";
}

sub parse_headers {
    my ($head) = @_;
    my %h;
    # With HTTP/2 curl's -D file may also hold interim responses: keep the last.
    my @blocks = grep { /\S/ } split /\r?\n\r?\n/, $head;
    my $block = $blocks[-1] // '';
    for my $line (split /\r?\n/, $block) {
        my ($name, $value) = $line =~ /^([^:\s]+):\s*(.*?)\s*$/ or next;
        my $key = lc $name;
        $h{$key} = exists $h{$key} ? "$h{$key}, $value" : $value;
    }
    return %h;
}

###############################################################################
# logs

# The next unread line of an access log, split on tabs into the named fields
# (the "pbx" format's by default), json escapes undone. Waits for it, since
# nginx logs a request after it has answered. undef when none comes. With
# id => N, lines of other requests (X-Test-Id) are skipped.
sub next_log {
    my ($self, %o) = @_;
    my $file = $o{file} // 'access.log';
    my $fields = $o{fields} // \@LOG_FIELDS;
    my $path = "$self->{dir}/$file";
    my $deadline = time + $self->timeout($o{timeout} // 3);

    while (1) {
        my $off = $self->{offsets}{$file} // 0;
        if (open my $fh, '<:raw', $path) {
            seek $fh, $off, 0;
            my $line = <$fh>;
            if (defined $line && $line =~ /\n\z/) {
                $self->{offsets}{$file} = $off + length $line;
                chomp $line;
                my @values = map { json_unescape($_) } split /\t/, $line, -1;
                my %e = (_line => $line);
                @e{@$fields} = @values;
                next if defined $o{id} && ($e{test_id} // '') ne $o{id};
                return \%e;
            }
        }
        return undef if time > $deadline;
        sleep 0.02;
    }
}

# Skips what an access log holds now (lines of requests made earlier).
sub skip_log {
    my ($self, $file) = @_;
    $file //= 'access.log';
    $self->{offsets}{$file} = -s "$self->{dir}/$file" // 0;
}

# The lines of error.log matching a pattern.
sub error_log_grep {
    my ($self, $re, $file) = @_;
    my $text = read_file("$self->{dir}/" . ($file // 'error.log')) // '';
    return grep { /$re/ } split /\n/, $text;
}

sub error_log_tail {
    my ($self) = @_;
    my $text = read_file("$self->{dir}/error.log") // '';
    my @lines = split /\n/, $text;
    splice @lines, 0, @lines - 20 if @lines > 20;
    return join '', map { "  $_\n" } @lines;
}

# The final check of every test file, made by finish.
sub error_log_clean {
    my ($self, $file) = @_;
    my @bad = $self->error_log_grep(
        qr/\[(alert|crit|emerg)\]|worker process \d+ exited on signal|exited with fatal code/,
        $file);
    ok(!@bad, ($file // 'error.log') . ' has no [alert], [crit], [emerg] or crashed worker')
        or diag(join "\n", @bad);
}

sub json_unescape {
    my ($s) = @_;
    $s =~ s{\\(?:u([0-9a-fA-F]{4})|(.))}{
        defined $1 ? chr(hex $1)
        : $2 eq 'n' ? "\n" : $2 eq 'r' ? "\r" : $2 eq 't' ? "\t"
        : $2 eq 'b' ? "\b" : $2 eq 'f' ? "\f" : $2
    }ge;
    return $s;
}

###############################################################################
# events

# The sample events shipped in examples/events: (type => raw bytes, ...).
sub example_events {
    my %events;
    for my $path (glob "$ROOT/examples/events/*.json") {
        $events{basename($path, '.json')} = read_file($path);
    }
    return %events;
}

# A JSON object with keys in the given order. Values: a plain scalar is a
# JSON string (escaped), a scalar reference is raw JSON text (\'42', \'null').
sub json_object {
    my (@pairs) = @_;
    my @out;
    while (my ($k, $v) = splice @pairs, 0, 2) {
        push @out, json_string($k) . ':' . (ref $v eq 'SCALAR' ? $$v : json_string($v));
    }
    return '{' . join(',', @out) . '}';
}

sub json_string {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/([\x00-\x1f])/sprintf('\u%04x', ord $1)/ge;
    return qq("$s");
}

# A small valid event of a catalog type (user_outbound unless told), with
# fields added or replaced by %more (same value rules as json_object).
sub event {
    my (%o) = @_;
    my @pairs = (type => 'user_outbound', unique_call_id => '1764202001.48377',
        user_number => '201', dest_number => '+6495551234');
    for my $k (sort keys %o) {
        my $found = 0;
        for (my $i = 0; $i < @pairs; $i += 2) {
            if ($pairs[$i] eq $k) {
                $pairs[$i + 1] = $o{$k};
                $found = 1;
            }
        }
        push @pairs, $k, $o{$k} unless $found;
    }
    return json_object(@pairs);
}

sub module_version {
    my $text = read_file("$ROOT/src/core/version.hpp") // return undef;
    return $text =~ /PBX_WEBHOOK_VERSION\s+"([^"]+)"/ ? $1 : undef;
}

###############################################################################
# files and processes

sub read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    my $text = <$fh>;
    return $text // '';
}

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>:raw', $path or die "cannot write $path: $!";
    print $fh $text;
    close $fh or die "cannot write $path: $!";
}

# Runs a command, returns its stdout and stderr together; $? as system sets it.
sub capture {
    my (@cmd) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        open STDOUT, '>&', $w or POSIX::_exit(127);
        open STDERR, '>&', $w or POSIX::_exit(127);
        open STDIN, '<', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    close $w;
    local $/;
    my $out = <$r> // '';
    close $r;
    waitpid($pid, 0);
    return $out;
}

# Starts a command in the background, output to a file; returns its pid.
sub spawn {
    my ($out, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', $out or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        open STDIN, '<', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    return $pid;
}

1;

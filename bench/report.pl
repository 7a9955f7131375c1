#!/usr/bin/perl
# Turns what scripts/bench measured into tables: prints them and writes the
# results file (bench/RESULTS.md). Core Perl only.
#
#   report.pl --env FILE --out FILE [--http results.tsv --verify verify.tsv
#             [--paired paired.tsv]]
#             [--core core.json [--core-ir core_ir.tsv]] [--findings FILE]
use strict;
use warnings;
use Getopt::Long;
use JSON::PP;
use List::Util qw(max min);

my %opt;
GetOptions(\%opt, 'env=s', 'out=s', 'http=s', 'verify=s', 'paired=s', 'core=s', 'core-ir=s',
    'findings=s')
    or die "usage\n";
die "report.pl: --env and --out are required\n" unless $opt{env} && $opt{out};

my @variants = qw(plain module module_zone module_dedup njs lua);
my @peers = qw(njs lua);
my @cases = qw(valid_300 valid_8k bad_token malformed missing_field);
my %case_title = (
    valid_300     => 'valid event, 283 B',
    valid_8k      => 'valid event, 8 KB',
    bad_token     => 'bad token (401)',
    malformed     => 'malformed JSON (400)',
    missing_field => 'missing field (422)',
);
# Runs where other processes used more CPU than this (% of one core) are flagged.
my $busy_limit = 10;

sub median {
    my @v = sort { $a <=> $b } grep { defined } @_;
    return undef unless @v;
    my $n = @v;
    return $n % 2 ? $v[$n / 2] : ($v[$n / 2 - 1] + $v[$n / 2]) / 2;
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "report.pl: $path: $!\n";
    local $/;
    return scalar <$fh>;
}

# The rows of a file of tab-separated values under a header line, as hashes.
sub read_tsv {
    my ($path) = @_;
    my ($header, @lines) = split /\n/, slurp($path);
    my @names = split /\t/, $header;
    my @rows;
    for (@lines) {
        my %r;
        @r{@names} = split /\t/;
        push @rows, \%r;
    }
    return @rows;
}

my %env;
for (split /\n/, slurp($opt{env})) {
    $env{$1} = $2 if /^(\w+)=(.*)$/;
}

my @md;          # the results file
my @anomalies;   # things that make a number untrustworthy
my @targets;     # [target, value, met]

push @md, '# Benchmark results', '',
    'Written by `scripts/bench`; every number below is from the run described here.', '',
    "- date: $env{date}",
    "- machine: $env{nproc} CPUs ($env{cpu}), $env{memory} memory, Linux $env{kernel}",
    "- nginx $env{nginx}; njs (libnginx-mod-http-js) $env{njs}; lua-nginx (libnginx-mod-http-lua) $env{lua_module}",
    "- wrk $env{wrk}; yajl $env{yajl}; Google Benchmark $env{benchmark}; $env{compiler}",
    "- source: $env{source}; module $env{module}",
    "- command: `$env{command}`",
    "- settings: $env{settings}",
    '';

sub fmt_int { my $n = sprintf '%.0f', shift; 1 while $n =~ s/^(\d+)(\d{3})/$1,$2/; $n }
sub fmt_ratio { defined $_[0] ? sprintf('%.2f', $_[0]) : '-' }
sub fmt_ms { defined $_[0] ? sprintf('%.2f', $_[0] / 1000) : '-' }

# ---- HTTP

my (%run, %rounds);
if ($opt{http}) {
    for my $row (read_tsv($opt{http})) {
        my %r = %$row;
        $run{$r{case}}{$r{variant}}{$r{round}} = \%r;
        $rounds{$r{round}} = 1;
        my $what = "round $r{round} $r{case} $r{variant}";
        if ($r{expect_errors}) {
            push @anomalies, "$what: $r{status_errors} of $r{requests} answers were errors, expected all"
                if $r{status_errors} != $r{requests};
        } elsif ($r{status_errors} != 0) {
            push @anomalies, "$what: $r{status_errors} answers were not 2xx";
        }
        push @anomalies, "$what: $r{socket_errors} socket errors" if $r{socket_errors};
    }
}

# Median over rounds of a per-round ratio of req/s, a over b.
sub round_ratio {
    my ($case, $a, $b) = @_;
    my @r;
    for my $round (keys %rounds) {
        my ($x, $y) = ($run{$case}{$a}{$round}, $run{$case}{$b}{$round});
        push @r, $x->{rps} / $y->{rps} if $x && $y && $y->{rps} > 0;
    }
    return median(@r);
}

sub cell {
    my ($case, $variant, $field) = @_;
    return median(map { $_->{$field} } values %{$run{$case}{$variant} || {}});
}

my @http_table;
if ($opt{http}) {
    my $nrounds = keys %rounds;
    push @md, '## HTTP: nginx in front of a backend, per variant and case', '',
        "Medians of $nrounds rounds. *× plain* is the median over rounds of the variant's req/s",
        'divided by `plain`\'s in the same round; *range* is the lowest and highest req/s of the rounds.',
        '*nginx CPU* is the CPU time the variant\'s nginx (master and worker) used per request, in µs, user and',
        'system, kernel network work done in its context included; the backend and wrk are not in it.',
        "A `*` marks a cell where, during some round, other processes on the machine used more than $busy_limit%",
        'of a core (the *other CPU* column, the highest of the rounds).', '';
    push @md, '| case | variant | req/s | × plain | p99 ms | p50 ms | nginx CPU µs/req | range req/s | other CPU |',
        '|---|---|--:|--:|--:|--:|--:|--:|--:|';
    for my $case (@cases) {
        for my $variant (@variants) {
            next unless $run{$case}{$variant};
            my @r = values %{$run{$case}{$variant}};
            my $rps = cell($case, $variant, 'rps');
            my $busy = max(map { $_->{foreign_cpu_pct} } @r);
            my $ratio = $variant eq 'plain' ? undef : round_ratio($case, $variant, 'plain');
            my $flag = $busy > $busy_limit ? ' *' : '';
            my @row = ($case_title{$case}, $variant, fmt_int($rps) . $flag, fmt_ratio($ratio),
                fmt_ms(cell($case, $variant, 'p99_us')), fmt_ms(cell($case, $variant, 'p50_us')),
                defined $r[0]{front_cpu_us} ? sprintf('%.1f', cell($case, $variant, 'front_cpu_us')) : '-',
                fmt_int(min(map { $_->{rps} } @r)) . '–' . fmt_int(max(map { $_->{rps} } @r)),
                sprintf('%.0f%%', $busy));
            push @md, '| ' . join(' | ', @row) . ' |';
            push @http_table, \@row;
        }
    }
    push @md, '',
        'For `plain` the three rejection cases are proxied like any request (the backend answers 204).',
        'nginx closes the connection after a 400 (and a 413), whatever produced it, so the',
        '*malformed JSON* rows mostly measure TCP connection setup, for every variant alike;',
        '401 and 422 keep the connection open.', '';

    # targets
    my $m = 'module';
    my $r300 = round_ratio('valid_300', $m, 'plain');
    my $l300 = round_ratio('valid_300', $m, 'lua');
    push @targets, ['valid ~300 B: module ≥ 0.97× plain', sprintf('%.3f×', $r300), $r300 >= 0.97] if defined $r300;
    push @targets, ['valid ~300 B: module ≥ Lua', sprintf('%.2f× Lua', $l300), $l300 >= 1.0] if defined $l300;
    my $r8k = round_ratio('valid_8k', $m, 'plain');
    my $l8k = round_ratio('valid_8k', $m, 'lua');
    push @targets, ['valid 8 KB: module ≥ 0.65× plain', sprintf('%.3f×', $r8k), $r8k >= 0.65] if defined $r8k;
    push @targets, ['valid 8 KB: module ≥ 1.5× Lua', sprintf('%.2f× Lua', $l8k), $l8k >= 1.5] if defined $l8k;
    for my $case (qw(bad_token malformed missing_field)) {
        next unless $run{$case}{$m};
        my ($best, $best_rps) = ('', -1);
        for my $p (@peers) {
            my $rps = cell($case, $p, 'rps');
            ($best, $best_rps) = ($p, $rps) if defined $rps && $rps > $best_rps;
        }
        next unless $best;
        my $ratio = round_ratio($case, $m, $best);
        push @targets, ["$case_title{$case}: module not below the fastest peer",
            sprintf('%.2f× %s', $ratio, $best), $ratio >= 1.0];
    }
}

# ---- paired: module_dedup against module

# The order statistics that bound the median of n values with 95 %
# confidence (normal approximation of the binomial), 1-based.
sub median_bounds {
    my ($n) = @_;
    my $half = 1.96 * sqrt($n) / 2;
    my $lo = sprintf('%.0f', $n / 2 - $half);
    my $hi = sprintf('%.0f', 1 + $n / 2 + $half);
    $lo = 1 if $lo < 1;
    $hi = $n if $hi > $n;
    return ($lo, $hi);
}

if ($opt{paired}) {
    my %pair;
    for my $row (read_tsv($opt{paired})) {
        my %r = %$row;
        $pair{$r{pair}}{$r{variant}} = \%r;
        my $what = "paired run $r{pair} $r{variant}";
        push @anomalies, "$what: $r{status_errors} answers were not 2xx" if $r{status_errors};
        push @anomalies, "$what: $r{socket_errors} socket errors" if $r{socket_errors};
    }
    my (@cpu, @rps, @a_cpu, @b_cpu);
    for my $p (sort { $a <=> $b } keys %pair) {
        my ($x, $y) = @{$pair{$p}}{qw(module_dedup module)};
        next unless $x && $y && $x->{requests} > 0 && $y->{requests} > 0;
        my ($cx, $cy) = ($x->{cpu_ns} / $x->{requests}, $y->{cpu_ns} / $y->{requests});
        push @a_cpu, $cy / 1000;
        push @b_cpu, $cx / 1000;
        push @cpu, $cx / $cy;
        push @rps, ($x->{requests} / $x->{seconds}) / ($y->{requests} / $y->{seconds});
    }
    if (@cpu) {
        my $n = @cpu;
        my ($lo, $hi) = median_bounds($n);
        my @c = sort { $a <=> $b } @cpu;
        my @q = sort { $a <=> $b } @rps;
        my $seconds = (values %pair)[0]{module}{seconds};
        push @md, '## module_dedup against module: paired runs', '',
            "The cost of deduplication on the 283-byte event: $n pairs of runs, one of `module` and one of",
            "`module_dedup` back to back (${\ sprintf('%.0f', $seconds)} s each, the order alternating from pair to pair), both",
            'sending a new event each request, so every event is a first delivery: digested, looked up,',
            'recorded and marked delivered, and once the 16m zone is full each evicts the oldest.',
            'Pairing cancels most of what this shared machine\'s speed does from minute to minute: each',
            'ratio compares two runs made seconds apart, each nginx pinned to one core and the backend and',
            'wrk to the other (`taskset`). *nginx CPU* is the CPU time of the variant\'s',
            'nginx per request (from `/proc/PID/schedstat`); the 95 % interval of the median ratio is',
            "from the order statistics (values $lo and $hi of the $n ratios in order).", '',
            '| | module | module_dedup | module_dedup ÷ module, median (95 % interval) |',
            '|---|--:|--:|--:|',
            sprintf('| nginx CPU µs/req, median | %.1f | %.1f | %.3f (%.3f–%.3f) |', median(@a_cpu),
                median(@b_cpu), median(@cpu), $c[$lo - 1], $c[$hi - 1]),
            sprintf('| req/s | | | %.3f (%.3f–%.3f) |', median(@rps), $q[$lo - 1], $q[$hi - 1]), '';
        push @targets, ['valid ~300 B: module_dedup within 3 % of module (nginx CPU per request, paired)',
            sprintf('%.3f× (95 %%: %.3f–%.3f)', median(@cpu), $c[$lo - 1], $c[$hi - 1]),
            $c[$hi - 1] <= 1.03];
    }
}

# ---- core

my @core_table;
if ($opt{core}) {
    # Google Benchmark writes NaN for the spread of a constant counter
    (my $text = slurp($opt{core})) =~ s/:\s*-?(?:nan|inf(?:inity)?)\b/: null/gi;
    my $data = decode_json($text);
    my %bench;
    for my $b (@{$data->{benchmarks}}) {
        next if ($b->{run_type} // '') eq 'aggregate' && ($b->{aggregate_name} // '') ne 'median';
        my ($kind, $event) = split m{/}, $b->{run_name} // $b->{name}, 2;
        if ($b->{error_occurred}) {
            push @anomalies, "core $kind/$event: $b->{error_message}";
            next;
        }
        $bench{$event}{$kind} = $b;
    }
    my @events = sort { ($a eq 'valid_8k') <=> ($b eq 'valid_8k') || $a cmp $b } keys %bench;

    my %ir;
    if ($opt{'core-ir'}) {
        for (split /\n/, slurp($opt{'core-ir'})) {
            my ($event, $series, $n) = split /\t/;
            $ir{$event}{$series} = $n if defined $n && $n =~ /^\d+$/;
        }
    }
    my $ir_note = %ir
        ? ' *Instructions* are per run, counted by callgrind (`--profile` mode of core_bench, 200 runs, so one-time costs such as lazy symbol binding fade):'
          . ' the same comparison without the timing noise of a shared virtual machine.'
        : '';

    push @md, '## Core: Validator against raw yajl on the same bytes', '',
        'Google Benchmark, median of 9 repetitions run in random order. *Validator* is one `Validator` per event over a bump arena',
        'reset between iterations (the request pool\'s stand-in): feed the whole body, `finish()`, the full',
        'catalog check. *yajl* is `yajl_alloc(NULL, NULL, NULL)` + `yajl_parse` + `yajl_complete_parse` +',
        '`yajl_free` with no callbacks (so it neither unescapes strings nor sees keys). *yajl, no-op callbacks*',
        'is yajl configured as the Validator configures it (every callback, `yajl_dont_validate_strings`, arena',
        'memory) with callbacks that do nothing: the parser\'s share of a validation. Heap allocations are',
        'counted by interposing `malloc` and friends in the benchmark binary, and `operator new` separately,',
        "only during the measured loop.$ir_note",
        '(Google Benchmark\'s "Library was built as DEBUG" warning is about Debian\'s libbenchmark',
        'itself; the code measured is built RelWithDebInfo, `-O2 -g`.)', '';
    push @md, '| event | bytes | Validator MB/s | yajl MB/s | Validator / yajl | yajl, no-op callbacks MB/s | instructions: Validator / yajl / no-op callbacks | yajl / Validator by instructions | heap allocs per validation | operator new per validation | arena bytes (blocks) | yajl heap allocs per parse |',
        '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
    my (@ratios, @ir_ratios, $heap_total, $new_total);
    $heap_total = $new_total = 0;
    for my $event (@events) {
        my ($v, $y, $c) = @{$bench{$event}}{qw(validator yajl yajl_callbacks)};
        next unless $v && $y;
        my $ratio = $v->{bytes_per_second} / $y->{bytes_per_second};
        push @ratios, [$event, $ratio];
        $heap_total += $v->{heap_allocs};
        $new_total += $v->{new_calls};
        my $i = $ir{$event} || {};
        my ($ir_text, $ir_ratio) = ('-', '-');
        if ($i->{validator} && $i->{yajl}) {
            $ir_text = join(' / ', map { fmt_int($i->{$_} // 0) } qw(validator yajl yajl_callbacks));
            push @ir_ratios, [$event, $i->{yajl} / $i->{validator}];
            $ir_ratio = sprintf('%.2f', $i->{yajl} / $i->{validator});
        }
        my @row = ($event, $v->{body_bytes}, sprintf('%.0f', $v->{bytes_per_second} / 1e6),
            sprintf('%.0f', $y->{bytes_per_second} / 1e6), sprintf('%.2f', $ratio),
            $c ? sprintf('%.0f', $c->{bytes_per_second} / 1e6) : '-', $ir_text, $ir_ratio,
            sprintf('%g', $v->{heap_allocs}), sprintf('%g', $v->{new_calls}),
            sprintf('%d (%d)', $v->{arena_bytes}, $v->{arena_blocks}), sprintf('%g', $y->{heap_allocs}));
        push @md, '| ' . join(' | ', @row) . ' |';
        push @core_table, \@row;
    }
    push @md, '';
    if (@ratios) {
        my ($worst) = sort { $a->[1] <=> $b->[1] } @ratios;
        my $by_ir = '';
        if (@ir_ratios) {
            my ($w) = sort { $a->[1] <=> $b->[1] } @ir_ratios;
            $by_ir = sprintf('; by instructions lowest %.2f× (%s), median %.2f×', $w->[1], $w->[0],
                median(map { $_->[1] } @ir_ratios));
        }
        push @targets, ['core: Validator ≥ 0.8× raw yajl bytes/s (every event)',
            sprintf('lowest %.2f× (%s), median %.2f×%s', $worst->[1], $worst->[0],
                median(map { $_->[1] } @ratios), $by_ir), $worst->[1] >= 0.8];
        push @targets, ['core: 0 heap allocations per validation',
            sprintf('%g malloc, %g operator new', $heap_total, $new_total), $heap_total == 0 && $new_total == 0];
    }
}

# ---- targets, checks, notes

if (@targets) {
    push @md, '## Targets', '', '| target | measured | |', '|---|---|---|';
    push @md, "| $_->[0] | $_->[1] | " . ($_->[2] ? 'met' : '**missed**') . ' |' for @targets;
    push @md, '';
}

if (@anomalies) {
    push @md, '## Anomalies in this run', '', map({ "- $_" } @anomalies), '';
}

if ($opt{verify}) {
    push @md, '## Answers checked before measuring', '',
        'One `curl` per variant and case; the run stops if any status is wrong, or if the backend did',
        'not receive the whole body of a passed event (it echoes the `Content-Length` it saw).', '',
        '| variant | ' . join(' | ', @cases) . ' |', '|---|' . ('---|' x @cases);
    my %v;
    for (split /\n/, slurp($opt{verify})) {
        my ($variant, $case, $status, $conn) = split /\t/;
        $v{$variant}{$case} = "$status $conn";
    }
    for my $variant (@variants) {
        next unless $v{$variant};
        push @md, "| $variant | " . join(' | ', map { $v{$variant}{$_} // '-' } @cases) . ' |';
    }
    push @md, '';
}

push @md, <<'EOF';
## How each variant is set up

All six are a separate nginx (`worker_processes 1`, `access_log off`) on its own loopback port,
proxying `location /hook` to one shared backend nginx (1 worker, `return 204`) through
`upstream { keepalive 32; }` with `proxy_http_version 1.1; proxy_set_header Connection "";`.
wrk runs with one thread and 32 connections; the rounds interleave the variants
(plain, module, module_zone, module_dedup, njs, lua for one case, then the next case), each measured run after a warm-up
run against the same variant. wrk, the variant and the backend share the machine's CPUs.

- **plain**: `proxy_pass` only, no checks.
- **module**: `pbx_webhook on; pbx_webhook_token …;` with the built-in catalog: the gate reads
  the body in the location's rewrite phase, validates it as it arrives (request body filter),
  and lets the request go on to the proxy, which sends the body already read.
- **module_zone**: the same, counting every request into a metrics zone
  (`pbx_webhook_zone bench 64k;` and `pbx_webhook_zone_use bench;`): the cost of the counters.
- **module_dedup**: the same gate with a dedup zone (`pbx_webhook_dedup_zone bench_dedup 16m;`
  and `pbx_webhook_dedup bench_dedup;`, the default key: the body's SHA-1 as it streams). wrk
  sends a new event each request (`PBX_BENCH_UNIQUE=1` in `bench/wrk/post.lua`: the
  `unique_call_id` replaced by a number of the same width, counted from the clock's microseconds
  so that no run resends an earlier run's events), so every one is a first delivery,
  recorded and then marked delivered; once the zone is full each evicts the oldest. wrk builds
  each request in Lua for this variant, so compare its *nginx CPU* rather than its req/s.
- **njs** (`bench/njs/pbx_gate.js`): njs 0.7's HTTP module has no access-phase handler
  (`js_access` is the stream module's) and `auth_request` subrequests do not carry the body, so the usual
  pattern is a `js_content` handler: njs reads the body before calling it, the handler checks the
  token, `JSON.parse`s `r.requestText` and checks the catalog, then `r.internalRedirect('@backend')`
  hands the request, body already read, to a named location with the same `proxy_pass`; rejections
  are `r.return(status)`, nginx's own error pages. This is the cheapest of the njs ways: a
  `r.subrequest()` to the proxy would run a second request and copy the answer back.
- **lua** (`bench/lua/pbx_gate.lua`): `access_by_lua_block` with `ngx.req.read_body()`,
  `cjson.safe.decode`, the same checks, `ngx.exit(401 | 400 | 422)`; then `proxy_pass`.

The peers make the checks the benchmark cases exercise, in the README's order: method, token (a plain
string compare, not constant time), content type, empty body, JSON syntax, object, non-empty
string `type` in the catalog, every required field present, then each a string (`call_start_at`
of `webhook_component_event` a date-time). The module does more on every body: it checks UTF-8
strictly and `\u` escapes for unpaired surrogates, refuses duplicate top-level keys and nesting
deeper than 16, checks date-time field ranges, and keeps the top-level fields for `$pbx_event_*`.
Run-to-run spread on this shared virtual machine is large (see *range*); more rounds
(`PBX_BENCH_ROUNDS`) narrow the medians.
EOF

if ($opt{findings} && -f $opt{findings}) {
    push @md, slurp($opt{findings});
}

open my $out, '>', $opt{out} or die "report.pl: $opt{out}: $!\n";
print $out join("\n", @md), "\n";
close $out;

# ---- the same on the terminal

if (@http_table) {
    printf "%-22s %-7s %10s %8s %8s %12s\n", 'case', 'variant', 'req/s', 'x plain', 'p99 ms', 'cpu us/req';
    printf "%-22s %-7s %10s %8s %8s %12s\n", @{$_}[0 .. 4], $_->[6] for @http_table;
    print "\n";
}
if (@core_table) {
    printf "%-26s %6s %10s %10s %7s %9s %6s\n", 'event', 'bytes', 'valid MB/s', 'yajl MB/s', 'ratio',
        'ratio(Ir)', 'allocs';
    printf "%-26s %6s %10s %10s %7s %9s %6s\n", @{$_}[0 .. 4], $_->[7], $_->[8] for @core_table;
    print "\n";
}
for (@targets) {
    printf "%-7s %s: %s\n", $_->[2] ? 'met' : 'MISSED', $_->[0], $_->[1];
}
if (@anomalies) {
    print "\nANOMALIES:\n";
    print "  $_\n" for @anomalies;
}
exit(@anomalies ? 1 : 0);

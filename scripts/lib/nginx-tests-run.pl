#!/usr/bin/perl
# Runs nginx-tests files (in the current directory, an unpacked nginx-tests)
# and prints one line per file: "file<TAB>result", the result being "ok N",
# "skipped: reason", or "FAILED n,m of N" (test numbers, or the exit status
# when the file died). Environment as nginx-tests wants it (TEST_NGINX_*).
#   nginx-tests-run.pl JOBS FILE...
use strict;
use warnings;

use TAP::Harness;

my ($jobs, @files) = @ARGV;
my $harness = TAP::Harness->new({ jobs => $jobs, lib => ['lib'], merge => 1,
    verbosity => -3 });
my $aggregate = $harness->runtests(@files);

for my $file (@files) {
    my ($p) = $aggregate->parsers($file);
    my $result;
    if (defined $p->skip_all) {
        $result = 'skipped: ' . $p->skip_all;
    } elsif ($p->failed || $p->exit || $p->parse_errors || !$p->is_good_plan) {
        my @failed = $p->failed;
        $result = 'FAILED ' . (@failed ? join(',', @failed) : 'exit ' . $p->exit)
            . ' of ' . $p->tests_run;
    } else {
        my $todo_passed = scalar $p->todo_passed;
        $result = 'ok ' . $p->tests_run . ($todo_passed ? " ($todo_passed TODO passed)" : '');
    }
    print "$file\t$result\n";
}

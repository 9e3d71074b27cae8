#!/bin/sh
# 4 threads x 100,000 allocations, freed or realloc'd by other threads
# while the others allocate (tests/programs/threads.c): the per-site
# totals at exit are exact.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/threads
run_native "$prog"
run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/threads.c" "$T/report"
check_no_stderr "$T/report"

# With stacks of 4 the chains run out at the threads' outermost frame;
# every thread takes the same path, so each marked line still has one
# record with the same exact totals.
ALLOCINFO_DEPTH=4 run_preloaded "$T/depth" "$prog"
check_report_wellformed "$T/depth"
check_expect_markers "$TEST_SRC/programs/threads.c" "$T/depth"
grep -q ' stack:' "$T/depth" || fail_later "ALLOCINFO_DEPTH=4 wrote no stack"
check_no_stderr "$T/depth"

test_done

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

test_done

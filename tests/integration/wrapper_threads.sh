#!/bin/sh
# Wrappers in threads that come and go (tests/programs/wrapper_threads.c):
# 300 threads each call strdup from the same lines; every count survives
# the threads' exits, exact per line (the freed one 0 0), at depth 1 and
# with stacks of 3.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/wrapper_threads
run_native "$prog"
for depth in 1 3; do
	ALLOCINFO_DEPTH=$depth run_preloaded "$T/depth$depth" "$prog"
	check_report_wellformed "$T/depth$depth"
	check_expect_markers "$TEST_SRC/programs/wrapper_threads.c" "$T/depth$depth"
	check_no_stderr "$T/depth$depth"
done
test_done

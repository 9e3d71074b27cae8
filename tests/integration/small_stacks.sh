#!/bin/sh
# 200 threads made one after another with PTHREAD_STACK_MIN stacks
# (tests/programs/small_stacks.c): under the preload each is made as it
# is natively (the library's static TLS fits in such a stack), its
# magazines open and are flushed at its exit, and the per-site totals
# at exit are exact; the program prints the same.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/small_stacks
run_native "$prog"
run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/small_stacks.c" "$T/report"
check_no_stderr "$T/report"
cmp -s "$T/native.stdout" "$T/report.stdout" ||
	fail_later "small_stacks printed differently under the preload"

test_done

#!/bin/sh
# 64 threads hammering malloc, free, realloc, mmap and munmap at shared
# and per-group call sites, freeing and unmapping each other's memory,
# then threads cancelled while allocating or blocked holding a block
# (tests/programs/stress_threads.c): the program's own checks pass, the
# cancelled threads neither deadlock nor corrupt anything, and every
# site's total at exit is exact.  A deadlock fails the test by timeout.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init

prog=$TEST_BIN/programs/stress_threads
run_native timeout 60 "$prog"

# timeout runs outside the preload: only the program writes the report.
status=0
timeout 60 env ALLOCINFO_OUTPUT="$T/report" LD_PRELOAD="$ALLOCINFO_LIB" "$prog" \
	>"$T/report.stdout" 2>"$T/report.stderr" || status=$?
[ "$status" -ne 124 ] || fail "the program did not finish in 60 s under the preload (deadlock?)"
[ "$status" -eq 0 ] || {
	cat "$T/report.stderr" >&2
	fail_later "the program failed under the preload (exit $status)"
}
[ -s "$T/report" ] || fail "no report at $T/report"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/stress_threads.c" "$T/report"
check_no_internal_tags "$T/report"
check_no_stderr "$T/report"

test_done

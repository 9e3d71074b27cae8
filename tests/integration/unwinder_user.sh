#!/bin/sh
# A program that calls libunwind itself (tests/programs/unwinder_user.c)
# runs under the preload as without it, and its report is exact.  Its
# first unw_backtrace maps memory from inside libunwind's pthread_once;
# the preload used to unwind from there, entering the once again, and
# the program hung: so each run has a deadline.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/unwinder_user
run_native "$prog"
for depth in 1 4; do
	status=0
	timeout -s KILL 60 env LD_PRELOAD="$ALLOCINFO_LIB" ALLOCINFO_OUTPUT="$T/report.$depth" \
		ALLOCINFO_DEPTH=$depth "$prog" >"$T/report.$depth.stdout" 2>"$T/report.$depth.stderr" ||
		status=$?
	[ "$status" -ne 137 ] || fail "ALLOCINFO_DEPTH=$depth: the program hung (killed after 60 s)"
	[ "$status" -eq 0 ] || fail "ALLOCINFO_DEPTH=$depth: exit status $status: $(cat "$T/report.$depth.stderr")"
	cmp -s "$T/native.stdout" "$T/report.$depth.stdout" ||
		fail "ALLOCINFO_DEPTH=$depth: stdout differs from the native run's"
	check_report_wellformed "$T/report.$depth"
	check_no_stderr "$T/report.$depth"
done
check_expect_markers "$TEST_SRC/programs/unwinder_user.c" "$T/report.1"

test_done

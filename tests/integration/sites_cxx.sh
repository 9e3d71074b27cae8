#!/bin/sh
# C++ new and delete at known call sites (tests/programs/sites_cxx.cc):
# scalar, array (with and without the array cookie), nothrow, sized and
# align_val_t forms; bad_alloc and nullptr on failure.  Exact bytes and
# calls per site; the program's own checks must pass with and without
# the preload.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/sites_cxx
run_native "$prog"
run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/sites_cxx.cc" "$T/report"
check_no_stderr "$T/report"

test_done

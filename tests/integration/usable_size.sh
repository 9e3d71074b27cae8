#!/bin/sh
# ALLOCINFO_SIZE=usable (tests/programs/usable.c): each tag counts the
# malloc_usable_size of its blocks, as the program itself prints them.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/usable
run_native "$prog"
ALLOCINFO_SIZE=usable run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
# The program's stdout is the NAME VALUE list the markers refer to.
[ -s "$T/report.stdout" ] || fail "usable printed no sizes"
cat "$T/report.stdout"
check_expect_markers "$TEST_SRC/programs/usable.c" "$T/report" "$T/report.stdout"
check_no_stderr "$T/report"

# The sizes are the allocator's, not the requests: at least one of these
# requests is not a size class of its own, so some value must differ.
awk '$1 == "small" && $2 != 1 { found = 1 } $1 == "odd" && $2 != 100 { found = 1 }
     $1 == "page" && $2 != 5000 { found = 1 } END { exit !found }' "$T/report.stdout" ||
	fail "every usable size equals its request; the test shows nothing"

test_done

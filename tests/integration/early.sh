#!/bin/sh
# The early window (tests/programs/early.c, libearly.c): allocations in
# the constructor of a library the program links, which runs before
# allocinfo's constructor, are counted and marked accurate:no, under the
# library's module; the program's later allocations are not marked.
set -eu
. "$TEST_SRC/lib.sh"
test_init

# Linked -no-install: this is the program, not a libtool wrapper.
prog=$TEST_BIN/programs/early
head -c 4 "$prog" | grep -q ELF || fail "$prog is not an ELF file (a libtool wrapper?)"
run_native "$prog"
run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/libearly.c" "$T/report"
check_expect_markers "$TEST_SRC/programs/early.c" "$T/report"
check_no_stderr "$T/report"

test_done

#!/bin/sh
# The C allocation API at known call sites (tests/programs/sites_c.c):
# malloc, calloc, realloc chains, reallocarray, posix_memalign,
# aligned_alloc, memalign, valloc, pvalloc; leaks stay live, freed sites
# show 0 0, failed calls leave no record; exact bytes and calls per site.
# The program checks glibc's observable behaviour itself (alignment,
# errno, return codes) and must pass with and without the preload.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/sites_c
run_native "$prog"
run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/sites_c.c" "$T/report"
check_no_stderr "$T/report"

# ALLOCINFO_SIZE=requested is the default, said explicitly.
ALLOCINFO_SIZE=requested run_preloaded "$T/requested" "$prog"
check_expect_markers "$TEST_SRC/programs/sites_c.c" "$T/requested"
check_no_stderr "$T/requested"

test_done

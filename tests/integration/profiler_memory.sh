#!/bin/sh
# The profiler's own memory is never the program's.  Debian's libjemalloc
# pulls libstdc++ into every profiled process, and libstdc++'s
# initialiser allocates its emergency exception pool before allocinfo's
# constructor runs.  In a C program that memory is the profiler's: no
# libstdc++ record, and profiler_bytes covers it.  In a C++ program
# libstdc++ is the program's own runtime, so its sites stay.
set -eu
. "$TEST_SRC/lib.sh"
test_init

meta() { awk -v k="# $2:" 'index($0, k) == 1 { print $3 }' "$1"; }

run_preloaded "$T/c" "$TEST_BIN/programs/sites_c"
check_report_wellformed "$T/c"
if grep -q 'libstdc++' "$T/c"; then
	grep 'libstdc++' "$T/c" >&2
	fail "a C program's report charges libstdc++'s memory to the program"
fi
# The emergency pool alone is tens of KiB; the profiler's memory at exit
# must include it.
[ "$(meta "$T/c" profiler_bytes)" -ge 32768 ] ||
	fail "profiler_bytes $(meta "$T/c" profiler_bytes) does not include libstdc++'s pool"

run_preloaded "$T/cxx" "$TEST_BIN/programs/sites_cxx"
check_report_wellformed "$T/cxx"
grep -q '\[libstdc++\.so[^]]*\]' "$T/cxx" ||
	fail "a C++ program's report lost its libstdc++ sites"

test_done

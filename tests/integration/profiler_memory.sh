#!/bin/sh
# The profiler's own memory is never the program's.  The library links
# jemalloc without its C++ part and loads no libstdc++ (whose
# initialiser allocates an emergency exception pool before allocinfo's
# constructor runs): a C program's report has no libstdc++ record, and
# its profiler_bytes (the library's tables) are counted apart.  In a C++
# program libstdc++ is the program's own runtime, so its sites stay.
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
# The tag table's and the slot arrays' pages alone are tens of KiB.
[ "$(meta "$T/c" profiler_bytes)" -ge 32768 ] ||
	fail "profiler_bytes $(meta "$T/c" profiler_bytes) is less than the library's own tables"

run_preloaded "$T/cxx" "$TEST_BIN/programs/sites_cxx"
check_report_wellformed "$T/cxx"
grep -q '\[libstdc++\.so[^]]*\]' "$T/cxx" ||
	fail "a C++ program's report lost its libstdc++ sites"

test_done

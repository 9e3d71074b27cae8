#!/bin/sh
# jemalloc inside the library (core/embed_jemalloc.sh):
# - a program linked with libjemalloc that calls mallocx, rallocx,
#   sdallocx and the rest, and frees each API's blocks with the other's
#   (tests/programs/jemalloc_api.c), passes its own checks with and
#   without the preload, prints the same, and its mallocx blocks are
#   counted at their sites, exact bytes and calls;
# - a C program under the preload loads neither libstdc++ nor libgcc_s
#   nor libjemalloc, which are what made every process slower.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/jemalloc_api
run_native "$prog"
run_preloaded "$T/report" "$prog"
cmp -s "$T/native.stdout" "$T/report.stdout" || fail "jemalloc_api: stdout differs under the preload"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/jemalloc_api.c" "$T/report"
check_no_stderr "$T/report"

# The libraries a C program maps, as cat reads them from its own maps:
# under the preload, the library and what cat maps without it.
maps_libraries()
{
	sed -n 's|.* \(/[^ ]*\.so[^ /]*\)$|\1|p' "$1" | sed 's|.*/||' | sort -u
}
cat /proc/self/maps >"$T/native.maps"
ALLOCINFO_OUTPUT=/dev/null LD_PRELOAD=$ALLOCINFO_LIB cat /proc/self/maps >"$T/preloaded.maps"
maps_libraries "$T/native.maps" >"$T/native.libs"
maps_libraries "$T/preloaded.maps" >"$T/preloaded.libs"
grep -qx "liballocinfo.so" "$T/preloaded.libs" ||
	fail "cat under the preload does not map liballocinfo.so: $(tr '\n' ' ' <"$T/preloaded.libs")"
for lib in libstdc++.so.6 libgcc_s.so.1 libjemalloc.so.2; do
	if grep -qx "$lib" "$T/native.libs"; then
		fail "cat maps $lib without the preload: this check shows nothing"
	fi
	if grep -qx "$lib" "$T/preloaded.libs"; then
		fail "cat under the preload maps $lib"
	fi
done
echo "ok: cat under the preload maps $(tr '\n' ' ' <"$T/preloaded.libs")"

test_done

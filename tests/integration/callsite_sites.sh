#!/bin/sh
# Call sites people can act on (tests/programs/callsite_c.c,
# callsite_cxx.cc, callsite_lib.c): the exact file:line and function of
# every marked site, built -g at -O0 and at -O2.  Wrappers (glibc's
# strdup family, the C++ standard library, ALLOCINFO_WRAPPERS) are
# charged to the line that called them, inlined or not; a static
# function, a header's inline function and an always_inline function
# keep their own line and name; a dlopen'd library shows its module;
# C++ names are demangled without parameters.
set -eu
. "$TEST_SRC/lib.sh"
test_init

lib=$TEST_BIN/programs/.libs/libcallsite.so
[ -f "$lib" ] || fail "no $lib"
ALLOCINFO_WRAPPERS=my_wrapper,inline_wrapper
export ALLOCINFO_WRAPPERS

for prog in "$TEST_BIN/programs/callsite_c" "$TEST_BIN/callsite/callsite_c_O2"; do
	name=${prog##*/}
	run_native "$prog" "$lib"
	run_preloaded "$T/$name" "$prog" "$lib"
	check_report_wellformed "$T/$name"
	check_expect_markers "$TEST_SRC/programs/callsite_c.c" "$T/$name"
	check_expect_markers "$TEST_SRC/programs/callsite_inline.h" "$T/$name"
	check_expect_markers "$TEST_SRC/programs/callsite_lib.c" "$T/$name"
	check_no_stderr "$T/$name"
done

# Without ALLOCINFO_WRAPPERS the program's wrapper is a call site of its
# own: the record is on its malloc line, not on its caller's.
unset ALLOCINFO_WRAPPERS
run_preloaded "$T/own" "$TEST_BIN/programs/callsite_c"
wrapper_line=$(grep -n 'void \*p = malloc(n);$' "$TEST_SRC/programs/callsite_c.c" | head -1 | cut -d: -f1)
[ -n "$wrapper_line" ] || fail "no wrapper malloc line in callsite_c.c"
grep -Eq "[ /]callsite_c\.c:$wrapper_line func:my_wrapper \$" "$T/own" ||
	fail "without ALLOCINFO_WRAPPERS, my_wrapper's own line $wrapper_line has no record:
$(grep callsite_c.c "$T/own")"

for prog in "$TEST_BIN/programs/callsite_cxx" "$TEST_BIN/callsite/callsite_cxx_O2"; do
	name=${prog##*/}
	run_native "$prog"
	run_preloaded "$T/$name" "$prog"
	check_report_wellformed "$T/$name"
	check_expect_markers "$TEST_SRC/programs/callsite_cxx.cc" "$T/$name"
	check_no_stderr "$T/$name"
done

# A bad value: one line naming the variable and the value.
ALLOCINFO_WRAPPERS=a,,b run_preloaded "$T/bad" "$TEST_BIN/programs/callsite_c"
[ "$(cat "$T/bad.stderr")" = "allocinfo: ALLOCINFO_WRAPPERS='a,,b' is not a comma-separated list of function name globs; using the built-in list alone" ] ||
	fail "ALLOCINFO_WRAPPERS=a,,b: stderr is '$(cat "$T/bad.stderr")'"

test_done

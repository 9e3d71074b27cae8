#!/bin/sh
# Wrappers called many times from the same lines
# (tests/programs/wrapper_repeat.c, at -O0 and -O2): after the first
# allocations at a wrapper site the caller is found by a measured stack
# offset instead of unwinding, and it must charge exactly the same lines;
# a wrapper with a variable-length frame must fall back to unwinding.
set -eu
. "$TEST_SRC/lib.sh"
test_init

ALLOCINFO_WRAPPERS=repeat_alloc,repeat_alloc_twice_wrapped,repeat_alloc_varying
export ALLOCINFO_WRAPPERS
for prog in "$TEST_BIN/programs/wrapper_repeat" "$TEST_BIN/callsite/wrapper_repeat_O2"; do
	name=${prog##*/}
	run_native "$prog"
	run_preloaded "$T/$name" "$prog"
	check_report_wellformed "$T/$name"
	check_expect_markers "$TEST_SRC/programs/wrapper_repeat.c" "$T/$name"
	check_no_stderr "$T/$name"
done

test_done

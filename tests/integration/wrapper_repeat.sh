#!/bin/sh
# Wrappers called many times from the same lines
# (tests/programs/wrapper_repeat.c, at -O0 and -O2): after the first
# allocations at a wrapper site the caller is found by a measured stack
# offset instead of unwinding, and it must charge exactly the same lines;
# a wrapper with a variable-length frame must fall back to unwinding,
# also one whose frame grows only after its offset was confirmed;
# a realloc wrapper within a block's class charges its callers too, as
# do the same through a second wrapper and a wrapped wrapper's large
# blocks;
# and with ALLOCINFO_DEPTH=3 the same holds frame by frame.
set -eu
. "$TEST_SRC/lib.sh"
test_init

ALLOCINFO_WRAPPERS=repeat_alloc,repeat_alloc_twice_wrapped,repeat_alloc_varying,repeat_alloc_late_varying,repeat_realloc,repeat_realloc_twice_wrapped
export ALLOCINFO_WRAPPERS
for prog in "$TEST_BIN/programs/wrapper_repeat" "$TEST_BIN/callsite/wrapper_repeat_O2"; do
	name=${prog##*/}
	run_native "$prog"
	run_preloaded "$T/$name" "$prog"
	check_report_wellformed "$T/$name"
	check_expect_markers "$TEST_SRC/programs/wrapper_repeat.c" "$T/$name"
	check_no_stderr "$T/$name"
	# Stacks of 3 take the same shortcut frame by frame: every
	# iteration of a loop must make the same chain, so each marked line
	# still has exactly one record with the loop's total.
	ALLOCINFO_DEPTH=3 run_preloaded "$T/$name.depth" "$prog"
	check_expect_markers "$TEST_SRC/programs/wrapper_repeat.c" "$T/$name.depth"
	grep -q ' stack:' "$T/$name.depth" || fail_later "$name: ALLOCINFO_DEPTH=3 wrote no stack"
	check_no_stderr "$T/$name.depth"
done

test_done

#!/bin/sh
# A stripped library's anonymous allocator behind its wrappers, as
# sqlite3's is (tests/programs/helper_lib.c): the wrapper's callers are
# charged sites of the program, anonymous functions of the library, or
# code of its own.  Every allocation, in the main thread and in a
# second one started after it, is charged where the unwinder's rule
# says, in a cold run (the unwinder measures the frames' offsets) and
# in warm ones (the route memory has them, and the tag's way through
# the wrapper and each thread's paths answer from its first rounds
# on): the same records every time, and in the warm runs the main
# thread's rounds need no unwinder.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/callsite/helper_chain
lib=$TEST_BIN/callsite/libhelper.so
[ -x "$prog" ] || fail "no $prog"
for name in helper_alloc helper_inner; do
	nm "$lib" | grep -q " $name\$" && fail "$lib still names $name"
done

run_native "$prog"
export ALLOCINFO_WRAPPERS=helper_xmalloc,helper_outer_xmalloc
check_runs_agree "$prog" "$TEST_SRC/programs/helper_chain.c" "$TEST_SRC/programs/helper_lib.c"
for run in warm warmer; do
	grep -qx 'rounds: unwinder: no' "$T/$run.stdout" ||
		fail "the $run run mapped the unwinder in its first rounds: $(cat "$T/$run.stdout")"
done

test_done

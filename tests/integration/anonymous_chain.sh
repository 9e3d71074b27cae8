#!/bin/sh
# A site in an anonymous function (a static one whose symbol the
# library's build removed: tests/programs/anonymous_lib.c), reached on
# the way to a wrapper and, from functions of its own, not (through
# another anonymous helper, or directly): the first is charged to the
# wrapper's caller, the others to the site itself, as the unwinder's
# rule says (core/callsite.c).  A second run, whose route memory has
# the frames' offsets, charges every way the same by offsets alone: it
# never maps the unwinder.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/callsite/anonymous_chain
lib=$TEST_BIN/callsite/libanonymous.so
[ -x "$prog" ] || fail "no $prog"
nm "$lib" | grep -q ' anonymous_leaf$' && fail "$lib still names anonymous_leaf"
nm "$lib" | grep -q ' anonymous_middle$' && fail "$lib still names anonymous_middle"

run_native "$prog"
export ALLOCINFO_WRAPPERS=anonymous_xmalloc
for run in cold warm; do
	run_preloaded "$T/$run" "$prog"
	check_expect_markers "$TEST_SRC/programs/anonymous_chain.c" "$T/$run"
	check_expect_markers "$TEST_SRC/programs/anonymous_lib.c" "$T/$run"
	check_no_stderr "$T/$run"
done
grep -qx 'end: unwinder: no' "$T/warm.stdout" ||
	fail "the warm run mapped the unwinder: $(cat "$T/warm.stdout")"

test_done

#!/bin/sh
# A site in an anonymous function (a static one whose symbol the
# library's build removed: tests/programs/anonymous_lib.c), reached on
# the way to a wrapper and, from functions of its own, not (through
# another anonymous helper, or directly): the first is charged to the
# wrapper's caller, the others to the site itself, as the unwinder's
# rule says (core/callsite.c).  Later runs, whose route memory has the
# frames' offsets, charge every way the same by offsets alone: they
# never map the unwinder, and list the same records as the first.
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
check_runs_agree "$prog" "$TEST_SRC/programs/anonymous_chain.c" "$TEST_SRC/programs/anonymous_lib.c"
for run in warm warmer; do
	grep -qx 'end: unwinder: no' "$T/$run.stdout" ||
		fail "the $run run mapped the unwinder: $(cat "$T/$run.stdout")"
done

test_done

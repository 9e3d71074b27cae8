#!/bin/sh
# The profiler's unwinder is loaded on first need, and before anything
# that makes it unsafe to load later (tests/programs/unwinder_lazy.c
# prints whether libunwind is mapped at each step):
#  1. a first run (empty caches) loads it at its wrapper site, strdup,
#     whose caller it measures; a second run, which knows the caller's
#     offset from the first, never loads it, and charges the same lines;
#  2. before the process makes a second thread, it is loaded;
#  3. before a dlopen of the program's, it is loaded;
#  4. with ALLOCINFO_DEPTH=4 it is loaded at start-up, and with
#     ALLOCINFO_INTERVAL, whose thread the profiler makes at start-up.
# Every report matches the program's markers.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init

prog=$TEST_BIN/programs/unwinder_lazy
src=$TEST_SRC/programs/unwinder_lazy.c

# check_states REPORT WANT: the program's lines about the unwinder.
check_states()
{
	got=$(grep 'unwinder:' "$1.stdout" | tr '\n' ';')
	[ "$got" = "$2" ] || fail "${1##*/}: unwinder states
  got:  $got
  want: $2"
}

run_native "$prog" strdup

# 1. First and second run.
run_preloaded "$T/cold" "$prog" strdup
check_states "$T/cold" "start: unwinder: no;after strdup: unwinder: yes;"
check_expect_markers "$src" "$T/cold"
check_no_stderr "$T/cold"
run_preloaded "$T/warm" "$prog" strdup
check_states "$T/warm" "start: unwinder: no;after strdup: unwinder: no;"
check_expect_markers "$src" "$T/warm"
check_no_stderr "$T/warm"

# 2. A second thread (the caches are warm: nothing before needs it).
run_preloaded "$T/thread" "$prog" thread
check_states "$T/thread" "start: unwinder: no;after strdup: unwinder: no;in the thread: unwinder: yes;"
check_expect_markers "$(expect_variant thread "$src")" "$T/thread"
check_no_stderr "$T/thread"

# 3. A dlopen.
run_preloaded "$T/dlopen" "$prog" dlopen
check_states "$T/dlopen" "start: unwinder: no;after strdup: unwinder: no;after dlopen: unwinder: yes;"
# errno as natively after the dlopen that loaded libunwind first (it
# was 0).
"$prog" dlopen >"$T/dlopen.native" 2>&1 || fail "unwinder_lazy dlopen failed natively"
grep '^errno after dlopen' "$T/dlopen.native" >"$T/errno.native"
grep '^errno after dlopen' "$T/dlopen.stdout" | cmp -s - "$T/errno.native" ||
	fail "errno after the dlopen: $(grep '^errno' "$T/dlopen.stdout"), natively $(cat "$T/errno.native")"
check_expect_markers "$src" "$T/dlopen"
check_no_stderr "$T/dlopen"

# 4. Stacks; the interval snapshots' thread.
ALLOCINFO_DEPTH=4 run_preloaded "$T/depth4" "$prog" strdup
check_states "$T/depth4" "start: unwinder: yes;after strdup: unwinder: yes;"
check_no_stderr "$T/depth4"
ALLOCINFO_INTERVAL=60 run_preloaded "$T/interval" "$prog" strdup
check_states "$T/interval" "start: unwinder: yes;after strdup: unwinder: yes;"
check_expect_markers "$src" "$T/interval"
check_no_stderr "$T/interval"

test_done

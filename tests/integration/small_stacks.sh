#!/bin/sh
# 200 threads made one after another with PTHREAD_STACK_MIN stacks
# (tests/programs/small_stacks.c): under the preload each is made as it
# is natively (the library's static TLS fits in such a stack), its
# magazines open and are flushed at its exit, and the per-site totals
# at exit are exact; the program prints the same.
# And the program's first allocation, made ten frames of 256 bytes deep
# in a thread on such a stack (tests/programs/stack_headroom.c), where
# the profiler first reads the module's routes: with a fresh default
# cache folder (under HOME) and again with the folder the first run
# filled, the program
# exits 0 and its site holds its block; and so at ALLOCINFO_DEPTH=4,
# whose first walk unwinds with libunwind, on the profiler's own stack
# (core/profiler_stack.h; on the thread's, the program died of SIGSEGV
# with a fresh folder).
# And a thread on such a stack that calls exit()
# (tests/programs/exit_small_stack.c), on which the report is written:
# at depths 1 and 4 the program exits 0 as natively, and the report
# holds its block.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/small_stacks
run_native "$prog"
run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/small_stacks.c" "$T/report"
check_no_stderr "$T/report"
cmp -s "$T/native.stdout" "$T/report.stdout" ||
	fail_later "small_stacks printed differently under the preload"

headroom=$TEST_BIN/programs/stack_headroom
run_native "$headroom"
# The default folder, under HOME: its path is the one built on the way.
mkdir "$T/home"
for run in fresh filled; do
	(unset ALLOCINFO_CACHE XDG_CACHE_HOME && HOME=$T/home run_preloaded "$T/headroom-$run" "$headroom")
	cmp -s "$T/native.stdout" "$T/headroom-$run.stdout" ||
		fail_later "stack_headroom ($run cache) printed differently"
	check_expect_markers "$TEST_SRC/programs/stack_headroom.c" "$T/headroom-$run"
done
for run in fresh filled; do
	ALLOCINFO_DEPTH=4 ALLOCINFO_CACHE=$T/depth4-cache run_preloaded "$T/depth4-$run" "$headroom"
	cmp -s "$T/native.stdout" "$T/depth4-$run.stdout" ||
		fail_later "stack_headroom at depth 4 ($run cache) printed differently"
	check_expect_markers "$TEST_SRC/programs/stack_headroom.c" "$T/depth4-$run"
done

exiting=$TEST_BIN/programs/exit_small_stack
run_native "$exiting"
for depth in 1 4; do
	ALLOCINFO_DEPTH=$depth run_preloaded "$T/exit-$depth" "$exiting"
	cmp -s "$T/native.stdout" "$T/exit-$depth.stdout" ||
		fail_later "exit_small_stack at depth $depth printed differently"
	check_expect_markers "$TEST_SRC/programs/exit_small_stack.c" "$T/exit-$depth"
done

test_done

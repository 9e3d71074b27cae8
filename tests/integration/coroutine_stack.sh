#!/bin/sh
# ALLOCINFO_DEPTH=3 on two coroutines' 16 KiB stacks, one mapped below
# the profiler's own stack and one above it
# (tests/programs/coroutine_stack.c): with a fresh cache folder and
# again with the folder filled, the program prints what it prints
# natively, its site holds its six blocks, and the site's chain is
# coroutine_leaf <- coroutine_middle <- coroutine_outer, the lines found
# from the DEPTH markers: the walks made on the profiler stack step
# back onto the coroutines' frames.
set -eu
. "$TEST_SRC/lib.sh"
test_init

src=$TEST_SRC/programs/coroutine_stack.c
prog=$TEST_BIN/programs/coroutine_stack
# The chain's pattern, frame by frame from the DEPTH markers.
chain=
for level in 1 2 3; do
	line=$(marker_line "$src" "DEPTH: $level")
	[ "$level" = 1 ] && site=$line
	chain="$chain${chain:+>}[^ >]*coroutine_stack\.c@$line"
done

run_native "$prog"
export ALLOCINFO_CACHE="$T/cache"
for run in fresh filled; do
	ALLOCINFO_DEPTH=3 run_preloaded "$T/$run" "$prog"
	check_report_wellformed "$T/$run"
	check_no_stderr "$T/$run"
	cmp -s "$T/native.stdout" "$T/$run.stdout" ||
		fail_later "$run cache: coroutine_stack printed differently under the preload"
	check_expect_markers "$src" "$T/$run"
	grep -Eq "^ +462 +6 [^ ]*coroutine_stack\.c:$site func:coroutine_leaf stack:$chain \$" "$T/$run" ||
		fail_later "$run cache: no record of 462 6 with the chain $chain:
$(grep coroutine_leaf "$T/$run" || :)"
done

test_done

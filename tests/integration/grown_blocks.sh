#!/bin/sh
# Blocks that realloc grows to 256 KiB or more live in mappings of
# their own, resized by mremap (core/alloc.c, grown blocks):
# tests/programs/grown_blocks.c checks their bytes, errno and usable
# sizes natively and under the preload, at depths 1 and 4, and its
# EXPECT markers give each site's exact bytes and calls.  A grown
# block's mapping is summed in the allocator's mapped bytes.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/grown_blocks
run_native "$prog"
for depth in 1 4; do
	ALLOCINFO_DEPTH=$depth run_preloaded "$T/depth$depth" "$prog"
	check_report_wellformed "$T/depth$depth"
	check_no_stderr "$T/depth$depth"
done
check_expect_markers "$TEST_SRC/programs/grown_blocks.c" "$T/depth1"

# b, grown to 1 MiB and shrunk by less than three quarters, kept its
# whole mapping, which jemalloc's classes would not give it.
[ "$(sed -n 's/^b_usable //p' "$T/depth1.stdout")" = 1048576 ] ||
	fail "b's usable size is $(sed -n 's/^b_usable //p' "$T/depth1.stdout"), not its 1 MiB mapping"

# Live at exit, in mappings of their own: a's 4 MiB, b's 300,000 bytes
# (its 1 MiB mapping kept, as it shrank by less than three quarters),
# e's 700,000 and the threads' four 1 MiB blocks.
mapped=$(sed -n 's/^# allocator_mapped_bytes: //p' "$T/depth1")
[ -n "$mapped" ] && [ "$mapped" -ge $((4194304 + 1048576 + 700000 + 4 * 1048576)) ] ||
	fail "allocator_mapped_bytes $mapped does not hold the grown blocks"

test_done

#!/bin/sh
# Blocks that realloc grows to 256 KiB or more live in mappings of
# their own, resized by mremap (core/alloc.c, grown blocks):
# tests/programs/grown_blocks.c checks their bytes, errno and usable
# sizes natively and under the preload, at depths 1 and 4, and its
# EXPECT markers give each site's exact bytes and calls.  mallinfo2's
# mmapped figures are the live grown blocks'.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/grown_blocks
run_native "$prog"
for depth in 1 4; do
	ALLOCINFO_DEPTH=$depth run_preloaded "$T/depth$depth" "$prog"
	check_report_wellformed "$T/depth$depth"
	check_no_stderr "$T/depth$depth"
	check_expect_markers "$TEST_SRC/programs/grown_blocks.c" "$T/depth$depth"
	# b, grown to 1 MiB and shrunk by less than three quarters, kept
	# its whole mapping, which jemalloc's classes would not give it.
	[ "$(sed -n 's/^b_usable //p' "$T/depth$depth.stdout")" = 1048576 ] ||
		fail "depth $depth: b's usable size is $(sed -n 's/^b_usable //p' "$T/depth$depth.stdout"), not its 1 MiB mapping"
	# A block grown a page at a time from 256 KiB to 2 MiB (448
	# reallocs) moves into a mapping of its own, then each time that
	# mapping, given a quarter more than it had, runs out: 11 times.
	# Before (core/alloc.c: GROWN_HEADROOM_SHIFT) it moved at every
	# realloc, 448 times, three system calls each.  (Natively glibc
	# grew it in place at its heap's top; plain jemalloc moved it
	# twice.)
	moves=$(sed -n 's/^page_growth_moves //p' "$T/depth$depth.stdout")
	[ -n "$moves" ] && [ "$moves" -le 11 ] ||
		fail "depth $depth: the block grown a page at a time moved ${moves:-?} times in 448 reallocs, more than 11"
done

# Under the preload, mallinfo2 counts exactly the grown blocks that live
# (a, b, e and the threads' last), and their mappings' bytes, as the
# program's malloc_usable_size gives them.
for depth in 1 4; do
	awk '{ v[$1] = $2 } END {
		if (v["hblks"] != v["grown_live"] || v["hblkhd"] != v["grown_usable"]) {
			printf "hblks %s, hblkhd %s; the live grown blocks: %s, of %s bytes\n",
			       v["hblks"], v["hblkhd"], v["grown_live"], v["grown_usable"]
			exit 1
		}
	}' "$T/depth$depth.stdout" >&2 || fail "depth $depth: mallinfo2 does not count the grown blocks"
done

test_done

#!/bin/sh
# The profiler's own memory is never the program's.  The library links
# jemalloc without its C++ part and loads no libstdc++ (whose
# initialiser allocates an emergency exception pool before allocinfo's
# constructor runs): a C program's report has no libstdc++ record, and
# its profiler_bytes (the library's tables) are counted apart, the
# blocks' tags among them shown as block_tag_bytes.  In a C++
# program libstdc++ is the program's own runtime, so its sites stay.
set -eu
. "$TEST_SRC/lib.sh"
test_init

meta() { awk -v k="# $2:" 'index($0, k) == 1 { print $3 }' "$1"; }

run_preloaded "$T/c" "$TEST_BIN/programs/sites_c"
check_report_wellformed "$T/c"
if grep -q 'libstdc++' "$T/c"; then
	grep 'libstdc++' "$T/c" >&2
	fail "a C program's report charges libstdc++'s memory to the program"
fi
# The tag table's and the slot arrays' pages alone are tens of KiB.
[ "$(meta "$T/c" profiler_bytes)" -ge 32768 ] ||
	fail "profiler_bytes $(meta "$T/c" profiler_bytes) is less than the library's own tables"

# The blocks' tags are memory per block, counted in profiler_bytes and
# shown apart as block_tag_bytes; the rest of profiler_bytes does not
# grow with the heap.  A page of 16-byte blocks has an array of 256
# 4-byte slots after an 8-byte link, 1,040 bytes in 16-byte units
# (core/allocator_pages.h): 200,000 live blocks more take at least
# 200,000 x 1,040 / 256 = 812,500 bytes more of block tags, and at most
# 64 KiB more than that for the page table's pages around them.
run_preloaded "$T/none" "$TEST_BIN/programs/live_blocks" 0
run_preloaded "$T/many" "$TEST_BIN/programs/live_blocks" 200000
check_expect_markers "$TEST_SRC/programs/live_blocks.c" "$T/many" "$T/many.stdout"
for run in none many; do
	check_report_wellformed "$T/$run"
	[ -n "$(meta "$T/$run" block_tag_bytes)" ] || fail "$run: no # block_tag_bytes line"
	[ "$(meta "$T/$run" block_tag_bytes)" -le "$(meta "$T/$run" profiler_bytes)" ] ||
		fail "$run: block_tag_bytes $(meta "$T/$run" block_tag_bytes) is more than profiler_bytes $(meta "$T/$run" profiler_bytes)"
done
tags=$(($(meta "$T/many" block_tag_bytes) - $(meta "$T/none" block_tag_bytes)))
[ "$tags" -ge 812500 ] && [ "$tags" -le $((812500 + 65536)) ] ||
	fail "200,000 live 16-byte blocks took $tags bytes of block tags, not 812,500 to 878,036"
rest_none=$(($(meta "$T/none" profiler_bytes) - $(meta "$T/none" block_tag_bytes)))
rest_many=$(($(meta "$T/many" profiler_bytes) - $(meta "$T/many" block_tag_bytes)))
# The tag table's pages alone are tens of KiB, and not block tags.
[ "$rest_none" -ge 32768 ] ||
	fail "profiler_bytes less block_tag_bytes is $rest_none, less than the library's tag table"
[ "$rest_many" -le $((rest_none + 65536)) ] ||
	fail "the profiler's memory besides block tags grew from $rest_none to $rest_many bytes with 200,000 live blocks"
echo "ok: 200,000 live blocks: $tags bytes of block tags; the rest $rest_none and $rest_many bytes"

run_preloaded "$T/cxx" "$TEST_BIN/programs/sites_cxx"
check_report_wellformed "$T/cxx"
grep -q '\[libstdc++\.so[^]]*\]' "$T/cxx" ||
	fail "a C++ program's report lost its libstdc++ sites"

test_done

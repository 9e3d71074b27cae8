#!/bin/sh
# libunwind's memory checks use a pipe, made at the lowest free
# descriptors; tests/programs/unwind_fds.c puts its own files on every
# descriptor above stderr but a few (a shell's exec 3<in 4>out does two),
# then allocates where the profiler unwinds.  At ALLOCINFO_DEPTH 1 and 4,
# each with a fresh cache folder: the program reads its input whole and
# its output file holds only its own line, as natively
# (core/unwinder_pipe.c), and it has as many descriptors open as
# natively (the program counts them where process_vm_readv may read its
# own memory, as the unwinder's checks then do without a pipe; its
# stdout says which); the sites are charged as usual, to the callers
# of strdup by the EXPECT markers and to each stub's own site.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/unwind_fds
src=$TEST_SRC/programs/unwind_fds.c
printf 'first line of the input\nsecond line\n' >"$T/in"

run_native "$prog" "$T/in" "$T/native.out"
for depth in 1 4; do
	name=depth$depth
	mkdir "$T/cache$depth"
	ALLOCINFO_CACHE=$T/cache$depth ALLOCINFO_DEPTH=$depth \
		run_preloaded "$T/$name" "$prog" "$T/in" "$T/$name.out"
	check_report_wellformed "$T/$name"
	check_no_stderr "$T/$name"
	cmp -s "$T/native.stdout" "$T/$name.stdout" ||
		fail_later "$name: the program read or printed differently:
$(diff "$T/native.stdout" "$T/$name.stdout" | head -5)"
	cmp -s "$T/native.out" "$T/$name.out" ||
		fail_later "$name: its output file differs: $(od -c "$T/$name.out" | head -3)"
	# The 64 stubs' strdup calls, each at its stub's own site.
	stubs=$(awk '$3 ~ /^0x[0-9a-f]+:0$/ { b += $1; c += $2 } END { print b + 0, c + 0 }' "$T/$name")
	[ "$stubs" = "640 64" ] ||
		fail_later "$name: the stubs' sites hold '$stubs' (bytes calls), not '640 64'"
done
grep -E '^(descriptors not counted|[0-9]+ descriptors open)' "$T/native.stdout"
check_expect_markers "$src" "$T/depth1"
for line in $(grep -n 'strdup(text); /\* EXPECT: 80 8 \*/' "$src" | cut -d: -f1); do
	grep -Eq "^ +80 +8 [^ ]*unwind_fds\.c:$line func:copy_[a-z]+ stack:" "$T/depth4" ||
		fail_later "depth4: no record of 80 bytes in 8 calls for unwind_fds.c:$line"
done

test_done

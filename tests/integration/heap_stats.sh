#!/bin/sh
# glibc's heap statistics under the preload (preload/malloc_stats.c):
# tests/programs/heap_stats.c checks that mallinfo2's and mallinfo's
# bytes in use follow its blocks, that malloc_trim answers 0 or 1, and
# that malloc_stats writes glibc's layout on stderr (the same labels,
# line by line, as natively).  Natively first, so each check holds for
# glibc; then at depths 1 and 4.  Before the preload answered them they
# reached glibc's idle allocator: every figure 0.
# And glibc's own names, __libc_malloc and kin, mixed with malloc and
# free (tests/programs/libc_names.c): the program runs as natively, and
# each kept block is charged to its line.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/heap_stats
run_native "$prog"
cut -d= -f1 "$T/native.stderr" >"$T/labels.native"
[ "$(head -n 1 "$T/labels.native")" = "Arena 0:" ] ||
	fail "glibc's malloc_stats began with '$(head -n 1 "$T/native.stderr")'"
for depth in 1 4; do
	ALLOCINFO_DEPTH=$depth run_preloaded "$T/depth$depth" "$prog"
	check_report_wellformed "$T/depth$depth"
	cmp -s "$T/native.stdout" "$T/depth$depth.stdout" ||
		fail_later "depth $depth: $(cat "$T/depth$depth.stdout")"
	cut -d= -f1 "$T/depth$depth.stderr" | cmp -s - "$T/labels.native" ||
		fail_later "depth $depth: malloc_stats' layout differs from glibc's:
$(cat "$T/depth$depth.stderr")"
done

names=$TEST_BIN/programs/libc_names
run_native "$names"
run_preloaded "$T/names" "$names"
check_report_wellformed "$T/names"
check_no_stderr "$T/names"
cmp -s "$T/native.stdout" "$T/names.stdout" || fail_later "libc_names printed differently"
check_expect_markers "$TEST_SRC/programs/libc_names.c" "$T/names"

test_done

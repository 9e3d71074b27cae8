#!/bin/sh
# A C++ function whose mangled name is 39 KB long
# (tests/programs/long_names.cc): the report at exit names it, and with
# ALLOCINFO_WRAPPERS naming a C++ scope the router matches it at the
# block's first sight, on the profiler's stacks (core/profiler_stack.h).
# The program prints and exits as natively, and the line holds its
# block, with the whole name.
set -eu
. "$TEST_SRC/lib.sh"
test_init

src=$TEST_SRC/programs/long_names.cc
prog=$TEST_BIN/programs/long_names
longest=$(nm "$prog" | awk '/make_block/ { print length($3) }' | sort -n | tail -1)
[ "${longest:-0}" -gt 30000 ] ||
	fail "make_block's mangled name has ${longest:-no} characters, not over 30000"

run_native "$prog"
run_preloaded "$T/plain" "$prog"
ALLOCINFO_WRAPPERS='long_names::Unused*' run_preloaded "$T/wrappers" "$prog"
for name in plain wrappers; do
	check_report_wellformed "$T/$name"
	check_no_stderr "$T/$name"
	cmp -s "$T/native.stdout" "$T/$name.stdout" ||
		fail_later "$name: long_names printed differently under the preload"
	check_expect_markers "$src" "$T/$name"
	shown=$(grep 'long_names\.cc:' "$T/$name" | sed -n 's/.* func:\([^ ]*\) *$/\1/p' | awk '{ print length($0) }')
	[ "$shown" = "$longest" ] ||
		fail_later "$name: the report's name has ${shown:-no} characters, not $longest"
done

test_done

#!/bin/sh
# Mappings at known call sites (tests/programs/mmap_sites.c): 100 MiB at
# one site is exactly 104857600 1; partial munmaps at the front, in the
# middle (a split) and at the end; a mapping loses its call with its
# last page; mremap grows in place, moves, shrinks, moves to a chosen
# address, under the original mmap's tag; MAP_FIXED untags what it
# covers; failed calls change nothing.
#
# ALLOCINFO_MMAP: anon (the default, and said explicitly) tags anonymous
# mappings only; all tags file mappings too; none tags no mapping at
# all, while malloc sites stay; a bad value gets one line on stderr
# naming the variable and the value, and anon is used.
#
# jemalloc's own mappings are never a tag: they are summed in
# # allocator_mapped_bytes (the 64 MiB malloc of the program is among
# them), and no record names libjemalloc or liballocinfo.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init

prog=$TEST_BIN/programs/mmap_sites
src=$TEST_SRC/programs/mmap_sites.c
run_native "$prog" "$T/native.file"

# check_mode REPORT MARKERS: the report of one run, against MARKERS.
check_mode()
{
	check_report_wellformed "$1"
	check_expect_markers "$2" "$1"
	check_no_internal_tags "$1"
	bytes=$(meta "$1" allocator_mapped_bytes)
	[ -n "$bytes" ] && [ -n "$(meta "$1" allocator_mappings)" ] ||
		fail_later "${1##*/}: no # allocator_mapped_bytes or # allocator_mappings line"
	# The program's 64 MiB block alone is mapped by jemalloc.
	[ "${bytes:-0}" -ge 67108864 ] ||
		fail_later "${1##*/}: # allocator_mapped_bytes: $bytes, less than the program's 64 MiB block"
}

run_preloaded "$T/default" "$prog" "$T/default.file"
check_no_stderr "$T/default"
check_mode "$T/default" "$src"

ALLOCINFO_MMAP=anon run_preloaded "$T/anon" "$prog" "$T/anon.file"
check_no_stderr "$T/anon"
check_mode "$T/anon" "$src"

ALLOCINFO_MMAP=all run_preloaded "$T/all" "$prog" "$T/all.file"
check_no_stderr "$T/all"
check_mode "$T/all" "$(expect_variant all "$src")"

ALLOCINFO_MMAP=none run_preloaded "$T/none" "$prog" "$T/none.file"
check_no_stderr "$T/none"
check_mode "$T/none" "$(expect_variant none "$src")"

ALLOCINFO_MMAP=files run_preloaded "$T/bad" "$prog" "$T/bad.file"
[ "$(wc -l <"$T/bad.stderr")" -eq 1 ] &&
	grep -q "ALLOCINFO_MMAP" "$T/bad.stderr" && grep -q "files" "$T/bad.stderr" ||
	fail_later "ALLOCINFO_MMAP=files: expected one line on stderr naming the variable and the value, got:
$(cat "$T/bad.stderr")"
check_mode "$T/bad" "$src"

test_done

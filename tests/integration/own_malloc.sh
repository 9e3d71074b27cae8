#!/bin/sh
# A program with a malloc of its own (tests/programs/own_malloc.cc), as
# rustc has with its static jemalloc: the preload stays out of its way.
# - The program's own checks pass with and without the preload: every
#   block it freed was its allocator's (operator new and delete and
#   reallocarray included), and its allocator was never called from
#   inside itself (the preload's mmap, allocating while the allocator
#   holds its lock, deadlocked rustc), across threads and a fork.
# - stdout and the exit status are the same; stderr has one line more,
#   which says that nothing is profiled and why.
# - The report says so too, and holds no record.
# - SIGTERM kills it as without the preload: no handler of ours waits
#   on the program's allocator to write a report.
set -eu
. "$TEST_SRC/lib.sh"
test_init

notice="allocinfo: the program has a malloc of its own; its allocations and mappings are not profiled, and a fatal signal writes no report"

check_program()
{
	prog=$1
	run_native "$prog"
	run_preloaded "$T/report" "$prog"
	cmp -s "$T/native.stdout" "$T/report.stdout" ||
		fail "${prog##*/}: stdout differs under the preload: '$(cat "$T/report.stdout")'"
	{ cat "$T/native.stderr"; echo "$notice"; } >"$T/expected.stderr"
	cmp -s "$T/expected.stderr" "$T/report.stderr" ||
		fail "${prog##*/}: stderr under the preload is not the program's and the one notice:
$(head -n 5 "$T/report.stderr")"

	report=$T/report
	[ "$(sed -n 1p "$report")" = "allocinfo - version: 2.0" ] ||
		fail "${prog##*/}: the report's line 1 is not the allocinfo 2.0 header"
	"$ALLOCINFO_TOOL" top "$report" >/dev/null || fail "${prog##*/}: allocinfo top could not read the report"
	grep -qx "# malloc: not profiled, the program has an allocator of its own" "$report" ||
		fail "${prog##*/}: the report does not say that malloc was not profiled"
	records=$(sed 1d "$report" | grep -cv '^#') || :
	[ "$records" -eq 0 ] || fail "${prog##*/}: the report has $records records:
$(sed 1d "$report" | grep -v '^#' | head -n 3)"

	status=0
	"$prog" term >/dev/null 2>&1 || status=$?
	[ "$status" -eq 143 ] || fail "${prog##*/}: without the preload, the program ended with $status, not SIGTERM's 143"
	status=0
	ALLOCINFO_OUTPUT=$T/term LD_PRELOAD=$ALLOCINFO_LIB "$prog" term >/dev/null 2>&1 || status=$?
	[ "$status" -eq 143 ] || fail "${prog##*/}: under the preload, SIGTERM ended the program with $status, not 143"
}

# Position-independent, and linked at a fixed address.
check_program "$TEST_BIN/programs/own_malloc"
check_program "$TEST_BIN/programs/own_malloc_nopie"

test_done

#!/bin/sh
# A Rust program's allocations (tests/programs/rust_sites.rs), built
# with the rustc on PATH at opt-level 2 and 0: the standard library's
# functions are wrappers (report/rust_names.h), so every block is
# charged to the program's line that used Box, Vec, String, format! or
# collect, inlined or not, never to alloc::alloc::alloc; a program's own
# impl of Display keeps its lines, and so does a thread's closure; names
# are demangled.  Cold, warm and
# warmer runs give the same records, and the program prints the same
# with and without the preload.
set -eu
. "$TEST_SRC/lib.sh"
test_init

if ! command -v rustc >/dev/null 2>&1; then
	echo "SKIP: no rustc on PATH (apt-get install rustc)"
	exit 77
fi

src=$TEST_SRC/programs/rust_sites.rs
for opt in 2 0; do
	prog=$T/rust_sites_O$opt
	rustc -g -C opt-level=$opt --edition 2021 -o "$prog" "$src" ||
		fail "rustc -C opt-level=$opt could not build $src"
	run_native "$prog"
	for run in cold warm warmer; do
		report=$T/O$opt.$run
		run_preloaded "$report" "$prog"
		check_report_wellformed "$report"
		check_expect_markers "$src" "$report" "$report.stdout"
		check_no_stderr "$report"
		cmp -s "$T/native.stdout" "$report.stdout" ||
			fail_later "opt-level $opt, $run run: the output differs from the native run's"
		grep -v '^#' "$report" >"$report.records"
		[ "$run" = cold ] || diff "$T/O$opt.cold.records" "$report.records" >&2 ||
			fail "opt-level $opt: the $run run's records differ from the cold run's"
	done
	# No record of the standard library's source: its lines were all
	# walked out of.
	if grep -v '^#' "$T/O$opt.cold" | grep -E ' [^ ]*library/(alloc|core|std)/src/' >&2; then
		fail_later "opt-level $opt: records at the standard library's lines"
	fi
done

test_done

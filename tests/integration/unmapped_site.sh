#!/bin/sh
# A site in code the program unmapped before exit (a JIT's buffer,
# tests/programs/unmapped_site.c) is named by its bare address, though
# the libdw the report loads at exit may be mapped where that code was:
# it was named libdw-0.188.so+0x28006, even func:dwarf_getpubnames, and
# the symbolizer's cache kept the answer under libdw's build-id.  Three
# runs: where the hole is reused varies.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/unmapped_site
run_native "$prog"
for run in 1 2 3; do
	run_preloaded "$T/report.$run" "$prog"
	check_report_wellformed "$T/report.$run"
	check_no_stderr "$T/report.$run"
	site=$(sed -n 's/^site //p' "$T/report.$run.stdout")
	[ -n "$site" ] || fail "run $run: the program printed no site"
	record=$(awk '$1 == 12288 && $2 == 1' "$T/report.$run")
	[ "$(echo "$record" | awk '{ print $3, $4 }')" = "$site:0 func:?" ] ||
		fail "run $run: the site $site is named '$record', not by its address"
done
# Nothing of libdw's or libelf's was cached on the way.
! grep -rl 'libdw\|libelf' "$ALLOCINFO_CACHE" 2>/dev/null ||
	fail "the site cache holds answers naming libdw or libelf: $(grep -rh 'libdw\|libelf' "$ALLOCINFO_CACHE" | head -3)"

test_done

#!/bin/sh
# ALLOCINFO_DEPTH=4 through code in no module (tests/programs/jit_stub.c:
# a stub in an anonymous executable mapping).  libunwind guesses the
# stub's frame, and its walk from there reads a stale stack word as a
# return address; the walks that measure caller offsets learned nothing,
# and every allocation unwound again, twice (7 to 9 us each,
# bench/scaling sites 10 tramp).  The walk ends at the stub instead:
# every allocation is counted at the stub's site, and all but the first,
# which measured the stub's frame, are on the stack of the stub alone.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/jit_stub
run_native "$prog"
ALLOCINFO_DEPTH=4 run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_no_stderr "$T/report"
set -- $(cat "$T/report.stdout")
[ "$1" = site ] && [ "$3" = calls ] && [ "$5" = bytes ] ||
	fail "the program printed '$*', not 'site ADDR calls N bytes B'"
site=$2 calls=$4 bytes=$6

records=$(awk -v key="$site:0" '$3 == key' "$T/report")
[ -n "$records" ] || fail "no record for the stub's site $site"
# Every allocation, on one record or another of the site.
total=$(printf '%s\n' "$records" | awk '{ b += $1; c += $2 } END { print b, c }')
[ "$total" = "$bytes $calls" ] ||
	fail "the stub's records hold '$total' (bytes calls), not '$bytes $calls':
$records"
# The walk ends at the stub: its chain is the stub alone, a record
# without a stack extra, with all but the measuring allocation.
alone=$(printf '%s\n' "$records" | awk '$5 !~ /^stack:/ { c += $2 } END { print c + 0 }')
[ "$alone" -eq $((calls - 1)) ] ||
	fail "$alone of $calls allocations are on the stub's own chain:
$records"
echo "ok: $alone of $calls allocations on the stub's chain"

test_done

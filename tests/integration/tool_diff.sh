#!/bin/sh
# `allocinfo diff`: exact output on tests/fixtures/diff-old.txt and
# diff-new.txt (expected files written by hand): changed, new, gone and
# unchanged tags, repeated keys summed, a module that makes another
# tag, --ignore-lines, filters, -n, JSON and CSV; --fail-on-growth by
# size and by percentage on both sides of the limit; exit codes.
set -eu
. "$TEST_SRC/lib.sh"
test_init
LC_ALL=C
export LC_ALL

cd "$TEST_SRC/fixtures"

diff_case()
{
	dc_name=$1
	dc_expected=$2
	shift 2
	run_capture "$dc_name" 0 "$ALLOCINFO_TOOL" diff "$@"
	check_output "$dc_name" out "$dc_expected"
	check_output_empty "$dc_name" err
}

diff_case basic diff.expected diff-old.txt diff-new.txt
diff_case reverse diff-reverse.expected diff-new.txt diff-old.txt
diff_case ignore-lines diff-ignore-lines.expected --ignore-lines diff-old.txt diff-new.txt
diff_case app-n2 diff-app-n2.expected -n 2 --file 'app/*' diff-old.txt diff-new.txt
diff_case csv diff.csv.expected --csv diff-old.txt diff-new.txt
diff_case json diff-ignore-lines-n1.json.expected --json -n1 --ignore-lines diff-old.txt diff-new.txt
diff_case stdin-new diff.expected diff-old.txt - <diff-new.txt
diff_case stdin-old diff.expected - diff-new.txt <diff-old.txt

# A report against itself: nothing changed.
run_capture same 0 "$ALLOCINFO_TOOL" diff diff-new.txt diff-new.txt
tail -n 1 "$T/same.out" >"$T/same.last"
check_output_is same last "# change: 0 bytes (+0.0%), 0 calls; 0 new, 0 gone, 0 changed, 8 unchanged tags"
[ "$(grep -vc '^#' "$T/same.out")" = 0 ] || fail_later "same: rows printed for unchanged tags"

# --fail-on-growth: live bytes grew by 15664 (89.878...% of 17428).
# "Past the limit" is strictly more; exit 1 says so on stderr, and the
# report is still printed.
gate()
{
	g_name=$1
	g_status=$2
	shift 2
	run_capture "$g_name" "$g_status" "$ALLOCINFO_TOOL" diff "$@"
	check_output "$g_name" out "$T/gate.expected"
}
cp diff.expected "$T/gate.expected"
gate grew-size 1 --fail-on-growth 15663 diff-old.txt diff-new.txt
check_output_is grew-size err "allocinfo: diff: live memory grew by 15664 bytes, more than --fail-on-growth 15663"
gate at-size 0 --fail-on-growth 15664 diff-old.txt diff-new.txt
check_output_empty at-size err
gate grew-iec 1 --fail-on-growth 15K diff-old.txt diff-new.txt
gate under-iec 0 --fail-on-growth 16K diff-old.txt diff-new.txt
gate grew-percent 1 --fail-on-growth 89.8% diff-old.txt diff-new.txt
check_output_is grew-percent err "allocinfo: diff: live memory grew by 15664 bytes, more than --fail-on-growth 89.8%"
gate under-percent 0 --fail-on-growth 89.9% diff-old.txt diff-new.txt
gate grew-0 1 --fail-on-growth 0 diff-old.txt diff-new.txt
cp diff-reverse.expected "$T/gate.expected"
gate shrank 0 --fail-on-growth 0 diff-new.txt diff-old.txt
gate shrank-percent 0 --fail-on-growth 0% diff-new.txt diff-old.txt

# The gate sees the selected tags only: io/* grew by 3072 bytes.
run_capture io-at 0 "$ALLOCINFO_TOOL" diff --file 'io/*' --fail-on-growth 3K diff-old.txt diff-new.txt
run_capture io-over 1 "$ALLOCINFO_TOOL" diff --file 'io/*' --fail-on-growth 3071 diff-old.txt diff-new.txt
check_output_is io-over err "allocinfo: diff: live memory grew by 3072 bytes, more than --fail-on-growth 3071"
# Growth from nothing passes any percentage.
run_capture from-empty 1 "$ALLOCINFO_TOOL" diff --fail-on-growth 1000% /dev/null diff-new.txt
tail -n 1 "$T/from-empty.out" >"$T/from-empty.last"
check_output_is from-empty last "# change: +33092 bytes, +41 calls; 8 new, 0 gone, 0 changed, 0 unchanged tags"

# Errors exit 2, as diff(1): usage, unreadable and malformed input.
run_capture one-file 2 "$ALLOCINFO_TOOL" diff diff-old.txt
check_output_is one-file err "allocinfo: diff: needs two files, OLD and NEW (try 'allocinfo --help')"
run_capture three-files 2 "$ALLOCINFO_TOOL" diff diff-old.txt diff-new.txt top-basic.txt
check_output_is three-files err "allocinfo: diff: too many files, from 'top-basic.txt' (try 'allocinfo --help')"
run_capture two-stdin 2 "$ALLOCINFO_TOOL" diff - - </dev/null
check_output_is two-stdin err "allocinfo: diff: only one of OLD and NEW can be stdin (try 'allocinfo --help')"
for bad in -5 abc% 10.% 1.0000001% % 5X; do
	run_capture "bad-limit$bad" 2 "$ALLOCINFO_TOOL" diff --fail-on-growth "$bad" diff-old.txt diff-new.txt
	check_output_is "bad-limit$bad" err "allocinfo: diff: bad --fail-on-growth '$bad', not a size (1M) or a percentage (10%) (try 'allocinfo --help')"
done
run_capture missing 2 "$ALLOCINFO_TOOL" diff diff-old.txt no-such-file.txt
check_output_is missing err "allocinfo: no-such-file.txt: No such file or directory"
check_output_empty missing out
run_capture corrupt 2 "$ALLOCINFO_TOOL" diff top-corrupt.txt diff-new.txt
check_output_is corrupt err "allocinfo: top-corrupt.txt:4: bad size: '\$ sort -g /proc/allocinfo'"
run_capture corrupt-lenient 0 "$ALLOCINFO_TOOL" diff --lenient top-corrupt.txt diff-new.txt

test_done

#!/bin/sh
# ALLOCINFO_INTERVAL (tests/programs/phases.c): while the program runs,
# the report is rewritten in the background, so it shows each phase of
# the program's memory while the program waits in it; every copy read
# at any moment is a whole report (the rewrite is atomic); each
# snapshot is appended to REPORT.series, a sequence of whole reports.
# At the end: a normal exit writes the final report; after _exit or
# SIGKILL the last snapshot stands.  A bad ALLOCINFO_INTERVAL gets one
# line on stderr naming the variable and the value.
#
# The program says which phase it is in on a FIFO and waits on another
# for the test; the test waits for a report file that shows the phase,
# polling in a bounded loop.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init

prog=$TEST_BIN/programs/phases
src=$TEST_SRC/programs/phases.c
phase1=$(expect_variant phase1 "$src")
mkfifo "$T/in" "$T/out"

# wait_for_report REPORT MARKERS: waits up to 20 s for REPORT to match
# MARKERS.  Every copy of it read on the way must be well-formed.
wait_for_report()
{
	tries=0
	while :; do
		if cp "$1" "$T/copy" 2>/dev/null; then
			check_report_wellformed "$T/copy"
			(check_expect_markers "$2" "$T/copy") >/dev/null 2>&1 && return 0
		fi
		tries=$((tries + 1))
		if [ "$tries" -gt 400 ]; then
			[ -f "$T/copy" ] && check_expect_markers "$2" "$T/copy"
			fail "no report at $1 that shows this phase after 20 s"
		fi
		sleep 0.05
	done
}

# start END: starts the program in the background, snapshots every 0.2 s.
start()
{
	rm -f "$T/report" "$T/report.series"
	timeout --foreground -k 5 60 env ALLOCINFO_INTERVAL=0.2 ALLOCINFO_OUTPUT="$T/report" \
		LD_PRELOAD="$ALLOCINFO_LIB" "$prog" "$1" <"$T/in" >"$T/out" 2>"$T/err" &
	job=$!
	exec 4>"$T/in" 3<"$T/out"
	line=
	read -r line <&3 || :
	[ "${line% *}" = phase1 ] || fail "$1: the program did not say phase1: '$line' $(cat "$T/err")"
	pid=${line#phase1 }
}

# next_phase: lets the program go on to phase 2.
next_phase()
{
	echo go >&4
	line=
	read -r line <&3 || :
	[ "$line" = phase2 ] || fail "the program did not say phase2: '$line' $(cat "$T/err")"
}

# finish WANT: waits for the program; its exit status must be WANT.
finish()
{
	status=0
	wait "$job" || status=$?
	exec 3<&- 4>&-
	[ "$status" -eq "$1" ] || fail "exit status $status, expected $1: $(cat "$T/err")"
	[ ! -s "$T/err" ] || fail_later "stderr: $(cat "$T/err")"
}

# check_series: REPORT.series is whole reports, at least one per phase.
check_series()
{
	[ -s "$T/report.series" ] || { fail_later "$1: no $T/report.series"; return 0; }
	rm -rf "$T/series"
	mkdir "$T/series"
	awk -v dir="$T/series" '/^allocinfo - version/ { n++ } { print > (dir "/" n) }' \
		"$T/report.series"
	[ -f "$T/series/1" ] || fail_later "$1: report.series does not start with the allocinfo header"
	for snapshot in "$T"/series/*; do
		check_report_wellformed "$snapshot"
	done
	n=$(ls "$T/series" | wc -l)
	[ "$n" -ge 2 ] || fail_later "$1: report.series has $n snapshots, expected one per phase at least"
}

# Normal exit: each phase seen while the program waits, then the final report.
start exit
wait_for_report "$T/report" "$phase1"
[ "$(meta "$T/report" pid)" = "$pid" ] || fail "the report is not the program's"
next_phase
wait_for_report "$T/report" "$src"
echo go >&4
finish 0
check_report_wellformed "$T/report"
check_expect_markers "$src" "$T/report"
check_no_internal_tags "$T/report"
check_series exit
leftover=$(find "$T" -name 'report.tmp*')
[ -z "$leftover" ] || fail_later "temporary file left behind: $leftover"

# _exit: the last snapshot, of phase 2, stands.
start _exit
wait_for_report "$T/report" "$phase1"
next_phase
wait_for_report "$T/report" "$src"
echo go >&4
finish 0
check_expect_markers "$src" "$T/report"
[ "$(meta "$T/report" pid)" = "$pid" ] || fail_later "_exit: the report is not the program's"
check_series _exit

# SIGKILL in phase 2: the last snapshot stands.
start wait
wait_for_report "$T/report" "$phase1"
next_phase
wait_for_report "$T/report" "$src"
kill -KILL "$pid"
finish 137
check_expect_markers "$src" "$T/report"
check_series SIGKILL

# Bad values: one line on stderr each, and the program unaffected.
for bad in soon -2; do
	ALLOCINFO_INTERVAL=$bad run_preloaded "$T/bad" "$TEST_BIN/programs/sites_c"
	[ "$(wc -l <"$T/bad.stderr")" -eq 1 ] && grep -q ALLOCINFO_INTERVAL "$T/bad.stderr" &&
		grep -qe "$bad" "$T/bad.stderr" ||
		fail_later "ALLOCINFO_INTERVAL=$bad: expected one line on stderr naming the variable and the value, got:
$(cat "$T/bad.stderr")"
	[ ! -e "$T/bad.series" ] || fail_later "ALLOCINFO_INTERVAL=$bad: snapshots were taken"
	check_expect_markers "$TEST_SRC/programs/sites_c.c" "$T/bad"
done

test_done

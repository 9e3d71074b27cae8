#!/bin/sh
# A fork child's last report takes its memory from an arena of its own
# (core/exit_arena.h), and is as exact as any: many_sites makes N sites
# of one live 24-byte block each, then forks a child that holds the
# same blocks and ends without an exec.  The parent's report and the
# child's (the template's path and .PID) have every site at 24 bytes in
# 1 call:
# - 3,000 sites, the child returning from main: the report's memory
#   fits in the arena;
# - 100,000 sites: past the arena's room, the rest of the report's
#   memory is jemalloc's again;
# - 3,000 sites, the child ended by a SIGTERM it sends itself: the
#   report of a fatal signal.
# The parent and the child each say the profiler kept the same number
# of live allocations (# profiler_calls): the child's are its parent's,
# and neither counts its report's own (core/snapshot.c takes the
# snapshot's arrays out of the parent's count; the child's come from
# its arena, or past its room from jemalloc and are taken out too).
set -eu
. "$TEST_SRC/lib.sh"
test_init

many=$TEST_BIN/programs/many_sites

# stub_records REPORT: the distinct stub sites at 24 bytes in 1 call.
stub_records()
{
	awk '$1 == 24 && $2 == 1 && $3 ~ /^0x[0-9a-f]+:0$/' "$1" | sort -u | wc -l
}

# check_family NAME N ENDING: the parent's and the child's reports of
# `many_sites N 1 ENDING` each have the N sites.
check_family()
{
	cf_name=$1
	cf_sites=$2
	run_preloaded "$T/$cf_name" "$many" "$cf_sites" 1 "$3"
	check_no_stderr "$T/$cf_name"
	cf_child=$(awk '$1 == "child" { print $2 }' "$T/$cf_name.stdout")
	[ -n "$cf_child" ] || fail "$cf_name: the child printed no pid"
	for cf_report in "$T/$cf_name" "$T/$cf_name.$cf_child"; do
		[ -s "$cf_report" ] || fail "$cf_name: no report $cf_report"
		check_report_wellformed "$cf_report"
		cf_stubs=$(stub_records "$cf_report")
		[ "$cf_stubs" -eq "$cf_sites" ] ||
			fail_later "$cf_report: $cf_stubs distinct records of the $cf_sites stub sites at 24 bytes in 1 call, not $cf_sites"
		grep -q 'accurate:no' "$cf_report" && fail_later "$cf_report: a record is marked inaccurate"
	done
	[ "$(sed -n 's/^# pid: //p' "$T/$cf_name.$cf_child")" = "$cf_child" ] ||
		fail_later "$cf_name: the child's report is not the child's"
	cf_parent_calls=$(sed -n 's/^# profiler_calls: //p' "$T/$cf_name")
	cf_child_calls=$(sed -n 's/^# profiler_calls: //p' "$T/$cf_name.$cf_child")
	[ -n "$cf_parent_calls" ] && [ "$cf_parent_calls" = "$cf_child_calls" ] ||
		fail_later "$cf_name: profiler_calls $cf_parent_calls in the parent's report, $cf_child_calls in the child's"
	echo "ok: $cf_name: the parent's and the child's reports have the $cf_sites sites"
}

check_family fits 3000 fork
check_family past 100000 fork
check_family term 3000 fork-term
test_done

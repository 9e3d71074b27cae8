#!/bin/sh
# Process trees (tests/programs/forks.c), one report per process:
# - fork: the child that returns from main writes its own report under
#   its own pid, with the root's live blocks and mapping as its memory
#   now holds them, and its own; a child that calls _exit writes none;
# - fork while 8 threads allocate and map: no child deadlocks, each
#   writes its report;
# - a symbolizer made ready for the children before a fork, only once
#   a child has reported at exit without an exec;
# - exec, vfork + exec, posix_spawn: the exec'd program writes its own
#   report, of its own memory only, also when its parent is gone
#   before it starts (an orphan); ALLOCINFO_FOLLOW=0 stops that (a
#   forked child still reports); a bad ALLOCINFO_FOLLOW gets one line
#   on stderr;
# - a program that takes LD_PRELOAD out of its child's environment, or
#   sets it empty, is left alone: the child runs unprofiled and finds
#   LD_PRELOAD as its parent left it;
# - a template without %p: the root writes the path itself, every
#   child the path and .PID; both under `allocinfo run -o` and with
#   plain LD_PRELOAD; and the default template allocinfo.%e.%p.
# The program checks every child's exit status itself.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init

prog=$TEST_BIN/programs/forks
src=$TEST_SRC/programs/forks.c
child_markers=$(expect_variant child "$src")
leaf_markers=$(expect_variant leaf "$src")

for mode in fork exec vfork spawn unset empty orphan busy alone execs exits handler; do
	run_native timeout 60 "$prog" "$mode"
done

# run_tree NAME TEMPLATE ARGS...: runs the program under the preload
# with ALLOCINFO_OUTPUT=TEMPLATE in a fresh folder $T/NAME (also its
# working directory); stdout in $T/NAME.out, stderr in $T/NAME.err.
# It must exit 0.  Variables the caller sets pass through.  timeout
# runs outside the preload, so a deadlock fails the test.
run_tree()
{
	rt_name=$1
	rt_template=$2
	shift 2
	mkdir "$T/$rt_name"
	rt_status=0
	(cd "$T/$rt_name" && timeout 60 env ALLOCINFO_OUTPUT="$rt_template" \
		LD_PRELOAD="$ALLOCINFO_LIB" "$prog" "$@") \
		>"$T/$rt_name.out" 2>"$T/$rt_name.err" || rt_status=$?
	[ "$rt_status" -ne 124 ] || fail "$rt_name: did not finish in 60 s (deadlock?)"
	if [ "$rt_status" -ne 0 ]; then
		cat "$T/$rt_name.err" >&2
		fail_later "$rt_name: exit status $rt_status under the preload"
	fi
}

# pid NAME ROLE: the pid the process of ROLE printed in run NAME.
pid()
{
	p_pid=$(awk -v role="$2" '$1 == role { print $2 }' "$T/$1.out")
	[ "$(printf '%s\n' "$p_pid" | wc -l)" -eq 1 ] && [ -n "$p_pid" ] ||
		fail "$1: expected one '$2 PID' line on stdout, got: $(cat "$T/$1.out")"
	printf '%s\n' "$p_pid"
}

# check_files NAME FILE...: the folder of run NAME holds exactly FILEs.
check_files()
{
	cf_name=$1
	shift
	printf '%s\n' "$@" | sort >"$T/files.expected"
	ls "$T/$cf_name" | sort >"$T/files.actual"
	diff "$T/files.expected" "$T/files.actual" >"$T/files.diff" || {
		sed 's/^/  /' "$T/files.diff" >&2
		fail_later "$cf_name: the reports written are not one per profiled process (< expected, > found)"
	}
}

# check_process REPORT PID MARKERS: REPORT exists, is PID's, and matches
# the MARKERS.
check_process()
{
	if [ ! -f "$1" ]; then
		fail_later "no report $1"
		return 0
	fi
	check_report_wellformed "$1"
	[ "$(meta "$1" pid)" = "$2" ] || fail_later "$1: # pid: $(meta "$1" pid), expected $2"
	check_expect_markers "$3" "$1"
	check_no_internal_tags "$1"
}

# fork: the child's report, none for the child that calls _exit.
run_tree fork 'r.%p' fork
root=$(pid fork root)
child=$(pid fork child)
quick=$(pid fork quick)
check_files fork "r.$root" "r.$child"
check_process "$T/fork/r.$root" "$root" "$src"
check_process "$T/fork/r.$child" "$child" "$child_markers"
[ ! -e "$T/fork/r.$quick" ] || fail_later "the child that called _exit wrote a report"
[ ! -s "$T/fork.err" ] || fail_later "fork: stderr: $(cat "$T/fork.err")"

# fork while other threads allocate and map.
run_tree busy 'r.%p' busy
set -- "r.$(pid busy root)"
for child in $(awk '$1 == "busy" { print $2 }' "$T/busy.out"); do
	set -- "$@" "r.$child"
done
[ $# -eq 11 ] || fail_later "busy: expected 10 children on stdout, got $(($# - 1))"
check_files busy "$@"
for report in "$@"; do
	[ -f "$T/busy/$report" ] || continue
	check_report_wellformed "$T/busy/$report"
	[ "$(meta "$T/busy/$report" pid)" = "${report#r.}" ] ||
		fail_later "busy/$report: # pid: $(meta "$T/busy/$report" pid)"
done

# What the root keeps for its fork children (preload/lifecycle.c,
# prepare_for_children): the symbolizer made ready before a fork, which
# children that exit without an exec inherit for their reports, is made
# only once one of them has reported.  It is made of the profiler's own
# allocations: a root whose children exec has as many of them live at
# its report ("# profiler_calls") as a root without children; a root
# whose children report has more.  A fork in a signal handler, which
# may have interrupted malloc, makes nothing ready, even once a child
# has reported: the root that forks so has as many as the root alone.
# (Its "# profiler_bytes" also
# counts resident pages of the profiler's tables, which move by a page
# from run to run with where the blocks and tags fall.)
run_tree alone 'r.%p' alone
run_tree execs 'r.%p' execs
run_tree exits 'r.%p' exits
run_tree handler 'r.%p' handler
for mode in alone execs exits handler; do
	root=$(pid "$mode" root)
	set -- "r.$root"
	for child in $(awk '$1 == "leaf" || $1 == "exiter" { print $2 }' "$T/$mode.out"); do
		set -- "$@" "r.$child"
	done
	case $mode in
	execs | exits) children=3 ;;
	handler) children=1 ;;
	*) children=0 ;;
	esac
	[ $# -eq $((children + 1)) ] ||
		fail_later "$mode: expected $children children on stdout, got $(($# - 1))"
	check_files "$mode" "$@"
	check_process "$T/$mode/r.$root" "$root" "$src"
done
for leaf in $(awk '$1 == "leaf" { print $2 }' "$T/execs.out"); do
	check_process "$T/execs/r.$leaf" "$leaf" "$leaf_markers"
done

# kept MODE: the profiler's memory in the root's report of run MODE.
kept()
{
	k_report=$T/$1/r.$(pid "$1" root)
	printf '%s bytes in %s calls\n' "$(meta "$k_report" profiler_bytes)" \
		"$(meta "$k_report" profiler_calls)"
}
# calls MODE: the profiler's live allocations in that report.
calls()
{
	meta "$T/$1/r.$(pid "$1" root)" profiler_calls
}
[ "$(calls execs)" -eq "$(calls alone)" ] ||
	fail_later "execs: the root whose children exec keeps $(kept execs) of the profiler's, the root alone $(kept alone): it made a symbolizer ready that no child uses"
[ "$(calls exits)" -gt "$(calls alone)" ] ||
	fail_later "exits: the root whose children report keeps $(kept exits) of the profiler's, no more calls than the root alone ($(kept alone)): no symbolizer was made ready for its children"
[ "$(calls handler)" -eq "$(calls alone)" ] ||
	fail_later "handler: the root that forks in a signal handler after a child has reported keeps $(kept handler) of the profiler's, the root alone $(kept alone): it allocated in the handler's fork"
echo "ok: the root alone keeps $(kept alone) of the profiler's; with children that exec $(kept execs); with children that report at exit $(kept exits); forking in a signal handler $(kept handler)"

# exec, vfork + exec, posix_spawn, exec by an orphaned grandchild: the
# leaf's own report.
for mode in exec vfork spawn orphan; do
	run_tree "$mode" 'r.%p' "$mode"
	root=$(pid "$mode" root)
	leaf=$(pid "$mode" leaf)
	check_files "$mode" "r.$root" "r.$leaf"
	check_process "$T/$mode/r.$root" "$root" "$src"
	check_process "$T/$mode/r.$leaf" "$leaf" "$leaf_markers"
done

# ALLOCINFO_FOLLOW=0: exec'd programs are not profiled; forks are.
for mode in exec vfork spawn; do
	ALLOCINFO_FOLLOW=0 run_tree "nofollow-$mode" 'r.%p' "$mode"
	root=$(pid "nofollow-$mode" root)
	check_files "nofollow-$mode" "r.$root"
	check_process "$T/nofollow-$mode/r.$root" "$root" "$src"
	[ ! -s "$T/nofollow-$mode.err" ] || fail_later "nofollow-$mode: stderr: $(cat "$T/nofollow-$mode.err")"
done
ALLOCINFO_FOLLOW=0 run_tree nofollow-fork 'r.%p' fork
check_files nofollow-fork "r.$(pid nofollow-fork root)" "r.$(pid nofollow-fork child)"
ALLOCINFO_FOLLOW=1 run_tree follow-exec 'r.%p' exec
check_files follow-exec "r.$(pid follow-exec root)" "r.$(pid follow-exec leaf)"
[ ! -s "$T/follow-exec.err" ] || fail_later "ALLOCINFO_FOLLOW=1: stderr: $(cat "$T/follow-exec.err")"

# A bad value: one line naming the variable and the value (a fork
# reads no option again).
ALLOCINFO_FOLLOW=sometimes run_tree badfollow 'r.%p' fork
[ "$(wc -l <"$T/badfollow.err")" -eq 1 ] && grep -q ALLOCINFO_FOLLOW "$T/badfollow.err" &&
	grep -q sometimes "$T/badfollow.err" ||
	fail_later "ALLOCINFO_FOLLOW=sometimes: expected one line on stderr naming the variable and the value, got:
$(cat "$T/badfollow.err")"
check_files badfollow "r.$(pid badfollow root)" "r.$(pid badfollow child)"

# LD_PRELOAD taken out or set empty by the program: its child runs
# unprofiled (the leaf checks its environment, the root its status).
for mode in unset empty; do
	run_tree "$mode" 'r.%p' "$mode"
	root=$(pid "$mode" root)
	pid "$mode" leaf >/dev/null
	check_files "$mode" "r.$root"
	check_process "$T/$mode/r.$root" "$root" "$src"
done

# A template without %p: the root's report is the path itself, each
# child's the path and .PID, even the leaf whose parent is gone.  With
# plain LD_PRELOAD ...
for mode in fork exec orphan; do
	run_tree "plain-$mode" "$T/plain-$mode/report" "$mode"
	root=$(pid "plain-$mode" root)
	if [ "$mode" = fork ]; then
		child=$(pid "plain-$mode" child)
		markers=$child_markers
	else
		child=$(pid "plain-$mode" leaf)
		markers=$leaf_markers
	fi
	check_files "plain-$mode" report "report.$child"
	check_process "$T/plain-$mode/report" "$root" "$src"
	check_process "$T/plain-$mode/report.$child" "$child" "$markers"
done

# ... and under allocinfo run -o, which says where the root's went.
mkdir "$T/run"
status=0
(cd "$T/run" && timeout 60 "$ALLOCINFO_TOOL" run -o "$T/run/report" -- "$prog" fork) \
	>"$T/run.out" 2>"$T/run.err" || status=$?
[ "$status" -eq 0 ] || fail_later "allocinfo run: exit status $status: $(cat "$T/run.err")"
root=$(pid run root)
child=$(pid run child)
check_files run report "report.$child"
check_process "$T/run/report" "$root" "$src"
check_process "$T/run/report.$child" "$child" "$child_markers"
grep -q "$T/run/report" "$T/run.err" ||
	fail_later "allocinfo run did not name the root's report $T/run/report on stderr: $(cat "$T/run.err")"

# The default template, allocinfo.%e.%p, in the working directory.
mkdir "$T/default"
status=0
(cd "$T/default" && unset ALLOCINFO_OUTPUT &&
	timeout 60 env LD_PRELOAD="$ALLOCINFO_LIB" "$prog" fork) \
	>"$T/default.out" 2>"$T/default.err" || status=$?
[ "$status" -eq 0 ] || fail_later "default template: exit status $status"
root=$(pid default root)
child=$(pid default child)
check_files default "allocinfo.forks.$root" "allocinfo.forks.$child"
check_process "$T/default/allocinfo.forks.$root" "$root" "$src"
check_process "$T/default/allocinfo.forks.$child" "$child" "$child_markers"

test_done

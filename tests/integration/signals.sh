#!/bin/sh
# Deaths by signal (tests/programs/crash.c).  Before it dies the
# program checks what it sees of signals: default dispositions through
# sigaction(sig, NULL, &old), no signal blocked, SIG_IGN that really
# ignores, handlers that read back as set, errno and the mask unchanged
# by allocating.  Then:
# - SIGSEGV (a null write), SIGABRT (abort), SIGFPE (division by zero),
#   SIGILL (__builtin_trap), SIGBUS (a truncated file mapping) and
#   SIGTERM (raise): the exit status is the same signal's, as without
#   the preload, stdout and stderr are the same, and the report was
#   written with the allocations made before the death;
# - SIGTERM sent to a process whose 8 threads allocate and map without
#   pause (5 times): it dies by SIGTERM, with a whole report, and never
#   hangs (10 s); and the same with SIGTERM sent twice at once, as
#   timeout(1) sends it (to the process, then to its process group), 25
#   times; to two threads that only malloc and free (20 times, each
#   report exact); to a process that forks without pause (20 times);
#   to python3 with PYTHONMALLOC=malloc churning objects (10 times);
# - a stack overflow dies as without the preload;
# - a SIGSEGV handler of the program's (sigaction with SA_SIGINFO, or
#   signal()) runs exactly as without the preload: same si_code, si_addr,
#   errno and signal mask in the handler, same exit status 7.
# Core dumps are off.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init
ulimit -c 0

prog=$TEST_BIN/programs/crash
src=$TEST_SRC/programs/crash.c

# A hung program is killed: timeout --foreground sends its signals to
# the program alone (without it, timeout also signals its own process
# group), and timeout itself dies by the program's signal.

# run_both NAME MODE ARGS...: the program without and with the preload
# (report $T/NAME.report); both exit statuses must be the same, and so
# must stdout and stderr.  Sets $status, and keeps it in $T/NAME.status.
run_both()
{
	rb_name=$1
	shift
	native=0
	timeout --foreground -k 5 30 "$prog" "$@" \
		>"$T/$rb_name.native.out" 2>"$T/$rb_name.native.err" || native=$?
	status=0
	timeout --foreground -k 5 30 env ALLOCINFO_OUTPUT="$T/$rb_name.report" \
		LD_PRELOAD="$ALLOCINFO_LIB" "$prog" "$@" \
		>"$T/$rb_name.out" 2>"$T/$rb_name.err" || status=$?
	echo "$status" >"$T/$rb_name.status"
	[ "$status" -eq "$native" ] ||
		fail_later "$rb_name: exit status $status under the preload, $native without"
	for stream in out err; do
		cmp -s "$T/$rb_name.native.$stream" "$T/$rb_name.$stream" || {
			diff "$T/$rb_name.native.$stream" "$T/$rb_name.$stream" | head -10 >&2
			fail_later "$rb_name: std$stream differs under the preload (< without, > with)"
		}
	done
}

# signum NAME: the number of signal SIGNAME.
signum()
{
	for n in $(seq 1 31); do
		[ "$(kill -l "$n")" != "$1" ] || { echo "$n"; return 0; }
	done
	fail "no signal SIG$1"
}

# check_death NAME SIGNAL: the run died by SIGNAL and left its report.
check_death()
{
	status=$(cat "$T/$1.status")
	want=$((128 + $(signum "$2")))
	[ "$status" -eq "$want" ] || fail_later "$1: exit status $status, expected $want (SIG$2)"
	if [ ! -s "$T/$1.report" ]; then
		fail_later "$1: no report after SIG$2"
		return 0
	fi
	check_report_wellformed "$T/$1.report"
	check_no_internal_tags "$T/$1.report"
}

for mode in segv abort fpe ill term; do
	run_both "$mode" "$mode"
done
run_both bus bus "$T/bus.file"
for pair in segv:SEGV abort:ABRT fpe:FPE ill:ILL bus:BUS term:TERM; do
	mode=${pair%:*}
	check_death "$mode" "${pair#*:}"
	[ -s "$T/$mode.report" ] && check_expect_markers "$src" "$T/$mode.report"
done

# The stack overflows: the same death, with or without a report.
run_both overflow overflow
[ "$status" -eq $((128 + $(signum SEGV))) ] || fail_later "overflow: exit status $status, expected SIGSEGV's"

# The program's own handler runs as it would without us.
for mode in handler signal; do
	run_both "$mode" "$mode"
	[ "$status" -eq 7 ] || fail_later "$mode: exit status $status, expected 7 from the program's handler"
	grep -q '^caught signal 11 ' "$T/$mode.out" || fail_later "$mode: the handler did not run: $(cat "$T/$mode.out")"
done
grep -q ' code 1 addr (nil) errno 4321; blocked: SIGSEGV 1 SIGUSR2 1 SIGUSR1 0$' "$T/handler.native.out" ||
	fail "the handler saw what it should not even without the preload: $(cat "$T/handler.native.out")"

# SIGTERM from outside, while every thread but the main one allocates.
# The program says "ready PID" on a FIFO, then blocks reading another;
# the signals go to it, not to timeout.
# busy ROUND KILLS [COMMAND...]: sends SIGTERM KILLS times at once to
# COMMAND (the program in busy mode without one), which says "ready PID"
# first.
mkfifo "$T/in" "$T/out"
busy()
{
	bz_round=$1
	bz_kills=$2
	shift 2
	[ $# -gt 0 ] || set -- "$prog" busy
	rm -f "$T/busy.report"
	timeout --foreground -k 2 10 env ALLOCINFO_OUTPUT="$T/busy.report" \
		LD_PRELOAD="$ALLOCINFO_LIB" "$@" <"$T/in" >"$T/out" 2>"$T/busy.err" &
	pid=$!
	exec 4>"$T/in" 3<"$T/out"
	line=
	read -r line <&3 || :
	[ "${line% *}" = ready ] || fail "busy: the program did not say ready: '$line' $(cat "$T/busy.err")"
	# The process may be gone before the last of them: a report at
	# SIGTERM takes a millisecond, the loop a few.
	for k in $(seq "$bz_kills"); do
		kill -TERM "${line#ready }" 2>/dev/null || :
	done
	status=0
	wait "$pid" || status=$?
	exec 3<&- 4>&-
	[ "$status" -eq 143 ] ||
		fail "busy, round $bz_round: exit status $status, expected 143 (SIGTERM; 124 or 137: it hung)"
	if [ -s "$T/busy.report" ]; then
		check_report_wellformed "$T/busy.report"
	else
		fail_later "busy, round $bz_round (SIGTERM sent $bz_kills times): no report after SIGTERM"
	fi
}
for round in 1 2 3 4 5; do
	busy "$round" 1
done
for round in $(seq 6 30); do
	busy "$round" 2
done

# SIGTERM to threads that are in malloc and free all the time: in their
# fast paths, which keep no depth, or in jemalloc, where the handler
# finds jemalloc's frame and has the signal sent again once it has
# returned (preload/signals.c).  Each report is exact as far as a
# report written while another thread allocates can be: the thread that
# runs the handler stands still with 64 blocks of 16 bytes live at the
# spin site, or 63 between a free and its malloc; the other spins on,
# and a page's slots are copied for no single instant (core/snapshot.c),
# so when it replaces a block by one elsewhere in the page as the copy
# passes, it shows one more or one fewer than it ever had: 125 to 129
# in all (125 came up in about 1 of 300 rounds).  The sites allocated
# before have their markers' counts.
spin_line=$(grep -n '/\* SPIN \*/' "$src" | cut -d: -f1)
[ -n "$spin_line" ] || fail "no SPIN marker in ${src##*/}"
for round in $(seq 1 20); do
	busy "spin $round" 1 "$prog" spin
	[ -s "$T/busy.report" ] || continue
	spin_record=$(awk -v site="crash.c:$spin_line" '$3 ~ ("/" site "$") || $3 == site' "$T/busy.report")
	set -- $spin_record
	case "${2:-}" in
	125|126|127|128|129) [ "$1" -eq $((16 * $2)) ] ||
		fail_later "spin, round $round: $1 bytes in $2 blocks of 16: $spin_record" ;;
	*) fail_later "spin, round $round: the spin site has '$spin_record', expected 125 to 129 blocks of 16 bytes" ;;
	esac
	mkdir -p "$T/spin"
	sed "s#/\* SPIN \*/#/* EXPECT: $1 $2 */#" "$src" >"$T/spin/crash.c"
	check_expect_markers "$T/spin/crash.c" "$T/busy.report"
done

# SIGTERM to a process that forks all the time: it often lands while
# fork holds the report's lock and jemalloc's (from its prefork handlers
# to its postfork ones), where the report must wait for fork to finish
# instead of waiting for a lock its own thread holds.  Without that, 4
# of 20 runs hung.
for round in $(seq 1 20); do
	busy "forks $round" 1 "$prog" forks
done

# SIGTERM to a real program whose every object is a malloc: python3
# with PYTHONMALLOC=malloc, building and dropping lists of dicts.
if [ -x /usr/bin/python3 ]; then
	for round in $(seq 1 10); do
		PYTHONMALLOC=malloc busy "python3 $round" 1 /usr/bin/python3 \
			"$TEST_SRC/programs/sigterm_churn.py"
	done
else
	fail_later "no /usr/bin/python3 (apt-get install python3)"
fi

test_done

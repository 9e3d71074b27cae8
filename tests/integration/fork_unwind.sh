#!/bin/sh
# fork while the profiler unwinds (tests/programs/fork_unwind.c), at
# ALLOCINFO_DEPTH=4 with an empty cache folder, so that the callers are
# charged by unwinding as they are first seen:
# - "signal": a profiling timer's handler forks while the thread it
#   interrupted may be inside libunwind.  fork's wait for the unwinder
#   (core/callsite.c: callsite_prefork) must not wait for the thread
#   that forks: with 15bfd64's wait every run hung.
# - "mmap": the same handler forks while the thread is inside its own
#   munmap, under the page map's lock: the fork must not wait for that
#   lock, which only the thread that forks holds.
# - "threads 60": three threads unwind while the main thread forks 60
#   children that allocate too.  A child copied while another thread
#   was inside libunwind would hang on its locks; that is a race, so
#   this run can pass by luck without the wait (bench/fork_stress.sh
#   repeats it).
# Each run must end (a hang is killed after 60 s and fails the test)
# with the output and status it has without the preload.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/fork_unwind
for mode in signal mmap "threads 60"; do
	# shellcheck disable=SC2086 # the mode is two words on purpose
	run_native "$prog" $mode
	status=0
	# shellcheck disable=SC2086
	ALLOCINFO_DEPTH=4 ALLOCINFO_CACHE=$T/cache.${mode%% *} ALLOCINFO_OUTPUT=$T/report \
		LD_PRELOAD=$ALLOCINFO_LIB timeout -s KILL 60 "$prog" $mode \
		>"$T/preloaded.stdout" 2>"$T/preloaded.stderr" || status=$?
	[ "$status" -ne 137 ] || fail "fork_unwind $mode hung under the preload (killed after 60 s)"
	[ "$status" -eq 0 ] || {
		cat "$T/preloaded.stderr" >&2
		fail "fork_unwind $mode exited $status under the preload"
	}
	cmp -s "$T/native.stdout" "$T/preloaded.stdout" ||
		fail "fork_unwind $mode: stdout differs under the preload: '$(cat "$T/preloaded.stdout")'"
	[ ! -s "$T/preloaded.stderr" ] ||
		fail "fork_unwind $mode printed on stderr under the preload: $(head -n 3 "$T/preloaded.stderr")"
	echo "ok: fork_unwind $mode"
done

test_done

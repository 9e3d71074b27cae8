#!/bin/sh
# A process under a limit on its address space (ulimit -v) or data
# segment (ulimit -d):
# - jemalloc runs with one arena, made as it starts (narenas:1, no
#   percpu_arena), where without a limit the library asks for an arena
#   per CPU: jemalloc cannot survive failing to make an arena later
#   (preload/malloc.c);
# - threads that start allocating with the address space nearly used up
#   (tests/programs/limited_threads.c) exit 0 with the program's own
#   output in each of 20 runs at depths 1 and 4, where the library
#   before this check crashed in about one run in five;
# - /bin/echo under every limit from 20 to 80 MB, in steps of 1 MB,
#   exits 0 and prints what it prints natively: profiled, or, where the
#   limit leaves jemalloc no room to start, on glibc's malloc with one
#   line on stderr that says so (core/alloc.c), or without the library
#   where the loader cannot map it (its own line).  The only other
#   outcome allowed is the loader's failing to map the program's
#   libraries beside the library (exit 127, its message).  Before, 11
#   of the limits from 38 to 51 MB killed it with SIGSEGV in jemalloc's
#   start.
set -eu
. "$TEST_SRC/lib.sh"
test_init

opts=$TEST_BIN/programs/jemalloc_options
for limit in "-v 4000000" "-d 4000000"; do
	status=0
	(ulimit $limit && ALLOCINFO_OUTPUT=/dev/null LD_PRELOAD=$ALLOCINFO_LIB "$opts") \
		>"$T/opts" 2>"$T/opts.err" || status=$?
	[ "$status" -eq 0 ] || fail "jemalloc_options under ulimit $limit: exit $status, $(cat "$T/opts.err")"
	[ "$(sed -n 2p "$T/opts")" = "narenas=1 percpu_arena=disabled" ] ||
		fail "under ulimit $limit: expected narenas=1 percpu_arena=disabled, got: $(sed -n 2p "$T/opts")"
done
status=0
ALLOCINFO_OUTPUT=/dev/null LD_PRELOAD=$ALLOCINFO_LIB "$opts" >"$T/opts" 2>"$T/opts.err" || status=$?
[ "$status" -eq 0 ] && [ "$(sed -n 2p "$T/opts")" != "narenas=1 percpu_arena=disabled" ] ||
	[ "$(nproc)" -eq 1 ] ||
	fail "without a limit the library's arenas should be per CPU: $(sed -n 2p "$T/opts")"

prog=$TEST_BIN/programs/limited_threads
(ulimit -v 300000 && "$prog") >"$T/native" 2>&1 || fail "limited_threads failed natively: $(cat "$T/native")"
[ "$(cat "$T/native")" = "threads done" ] || fail "limited_threads natively: $(cat "$T/native")"
for depth in 1 4; do
	run=0
	while [ "$run" -lt 20 ]; do
		run=$((run + 1))
		status=0
		(ulimit -v 300000 && ALLOCINFO_DEPTH=$depth ALLOCINFO_OUTPUT=/dev/null \
			LD_PRELOAD=$ALLOCINFO_LIB timeout -s KILL 60 "$prog") \
			>"$T/out" 2>"$T/err" || status=$?
		[ "$status" -eq 0 ] ||
			fail "depth $depth, run $run: limited_threads exit $status under ulimit -v 300000 ($(cat "$T/err"))"
		cmp -s "$T/out" "$T/native" ||
			fail "depth $depth, run $run: output $(cat "$T/out"), natively $(cat "$T/native")"
	done
done
echo "ok: 40 runs under ulimit -v 300000 exit 0 with the native output"

no_room="allocinfo: the address-space limit (ulimit -v or -d) leaves jemalloc no room to start; the program runs on glibc's malloc, unprofiled, and writes no report"
kinds=
limit=20000
while [ "$limit" -le 80000 ]; do
	status=0
	(ulimit -v "$limit" && /bin/echo hi) >"$T/echo-native" 2>&1 || status=$?
	if [ "$status" -ne 0 ]; then
		limit=$((limit + 1000))
		continue
	fi
	status=0
	(ulimit -v "$limit" && ALLOCINFO_OUTPUT=/dev/null LD_PRELOAD=$ALLOCINFO_LIB /bin/echo hi) \
		>"$T/echo" 2>"$T/echo.err" || status=$?
	if [ "$status" -eq 0 ] && [ "$(cat "$T/echo")" = hi ]; then
		if [ ! -s "$T/echo.err" ]; then
			kind=profiled
		elif [ "$(cat "$T/echo.err")" = "$no_room" ]; then
			kind=glibc
		elif grep -q "cannot be preloaded" "$T/echo.err"; then
			kind=unloaded
		else
			fail_later "ulimit -v $limit: echo said on stderr: $(cat "$T/echo.err")"
			kind=bad
		fi
	elif [ "$status" -eq 127 ] && grep -q "error while loading shared libraries: .*failed to map segment" "$T/echo.err"; then
		kind=no-room-for-libraries
	else
		fail_later "ulimit -v $limit: echo exit $status, printed '$(cat "$T/echo")' and '$(cat "$T/echo.err")'"
		kind=bad
	fi
	case " $kinds " in *" $kind "*) ;; *) kinds="$kinds $kind" ;; esac
	limit=$((limit + 1000))
done
# The sweep must meet both the profiled runs and the ones on glibc.
case " $kinds " in *" profiled "*) ;; *) fail_later "no limit from 20 to 80 MB ran profiled:$kinds" ;; esac
case " $kinds " in *" glibc "*) ;; *) fail_later "no limit from 20 to 80 MB ran on glibc's malloc:$kinds" ;; esac
echo "ok: echo under limits from 20 to 80 MB:$kinds"

test_done

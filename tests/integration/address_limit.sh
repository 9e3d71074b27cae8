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
#   before this check crashed in about one run in five.
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

test_done

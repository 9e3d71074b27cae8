#!/bin/sh
# fork in a threaded program under the preload, many times over:
# tests/programs/fork_unwind.c (threads) at ALLOCINFO_DEPTH=4, each run with a cache folder
# of its own (so that its callers are first seen, and unwound, in that
# run).  A run must end within 20 s; one that does not has hung, most
# likely a child in libunwind (core/callsite.c: callsite_prefork): the
# hung processes' stacks (gdb, if installed) are printed and the script
# stops with status 1.  Before callsite_prefork, 1 run in 10 hung here.
# A stress, not a test: make check does not run it.
#   sh bench/fork_stress.sh LIB [RUNS]
set -eu
[ $# -ge 1 ] || { echo "usage: sh bench/fork_stress.sh LIB [RUNS]" >&2; exit 2; }
lib=$1
runs=${2:-30}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
gcc -O1 -fno-omit-frame-pointer -pthread -o "$tmp/fork_unwind" "$here/../tests/programs/fork_unwind.c"
run=0
while [ "$run" -lt "$runs" ]; do
	run=$((run + 1))
	status=0
	ALLOCINFO_DEPTH=4 ALLOCINFO_CACHE="$tmp/cache.$run" ALLOCINFO_OUTPUT=/dev/null \
		LD_PRELOAD="$lib" timeout -s KILL 20 "$tmp/fork_unwind" threads 300 >"$tmp/out" 2>&1 ||
		status=$?
	if [ "$status" -ne 0 ]; then
		echo "run $run: exit $status: $(cat "$tmp/out")"
		for pid in $(pgrep -f "$tmp/fork_unwind"); do
			command -v gdb >/dev/null 2>&1 &&
				gdb -p "$pid" -batch -ex "thread apply all bt 12" 2>/dev/null | grep '^#'
			kill -9 "$pid" 2>/dev/null || :
		done
		exit 1
	fi
done
echo "$runs runs, every one ended"

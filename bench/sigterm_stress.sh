#!/bin/sh
# SIGTERM's report under the preload, many times over: python3
# (PYTHONMALLOC=malloc, churning dicts as tests/integration/signals.sh's
# python3 rounds do) runs under LIB, says "ready", gets one SIGTERM, and
# must die of it within 5 s.  One that does not has hung: its threads'
# stacks (gdb, if installed) are printed and the script stops with
# status 1.  A hang that comes once in hundreds of runs shows sooner
# with both CPUs busy (run `make -j2 check` beside it).  A stress, not a
# test: make check does not run it.
#   sh bench/sigterm_stress.sh LIB [RUNS]
set -eu
[ $# -ge 1 ] || { echo "usage: sh bench/sigterm_stress.sh LIB [RUNS]" >&2; exit 2; }
lib=$1
runs=${2:-500}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
churn=$here/../tests/programs/sigterm_churn.py
run=0
while [ "$run" -lt "$runs" ]; do
	run=$((run + 1))
	: >"$tmp/out"
	ALLOCINFO_OUTPUT="$tmp/report" LD_PRELOAD="$lib" PYTHONMALLOC=malloc \
		/usr/bin/python3 "$churn" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	# Polls: no sleep stands in for a synchronization here, it only
	# paces the looks at the process.
	tries=0
	while ! grep -q ready "$tmp/out" && [ "$tries" -lt 500 ]; do
		tries=$((tries + 1))
		sleep 0.01
	done
	kill -TERM "$pid"
	tries=0
	while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 500 ]; do
		tries=$((tries + 1))
		sleep 0.01
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "run $run: pid $pid did not die of SIGTERM within 5 s"
		if command -v gdb >/dev/null 2>&1; then
			gdb -q -batch -p "$pid" -ex "thread apply all bt" 2>&1 | grep -E '^#|^Thread'
		fi
		kill -KILL "$pid"
		exit 1
	fi
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 143 ] || echo "run $run: exit status $status, expected 143"
done
echo "$runs runs: each died of SIGTERM"

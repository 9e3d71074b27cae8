#!/bin/sh
# A configure script's pattern, for bench/alternate: N times, a new
# small C program compiled and linked with gcc -g -O2 in DIR, then run
# once.  Each program is new (its build-id too), so each run is its
# first: its report's names cost what a first run costs (README,
# "Programs the bench does not run").  Not one of bench/run's workloads.
#
#   sh bench/workloads/conftests.sh N DIR
set -eu
[ $# -eq 2 ] || { echo "usage: sh bench/workloads/conftests.sh N DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$2"
cd "$2"
i=0
while [ "$i" -lt "$1" ]; do
	i=$((i + 1))
	# A size no earlier run used: the process id and the count.
	sh "$here/new_program.sh" "$$$i" conftest
	./conftest >/dev/null
done

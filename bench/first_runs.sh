#!/bin/sh
# What a program's first run costs under each library, as a configure
# script's test programs pay it: N new small C programs (each a build-id
# of its own, one malloc in main: bench/workloads/new_program.sh), each
# run once under every LIB in turn, the order rotated from
# one program to the next.  Each LIB has a cache folder of its own,
# which one more such program fills first with what every program
# shares (libc's names); the compiles are not timed.  Prints, per LIB, the mean
# wall time of a first run in microseconds, as `date +%s%N` gives it
# around the run (a fork and exec included, the same for each LIB).
# "none" runs the programs without a preload.  Not one of bench/run's
# workloads, and not a test.
#
#   sh bench/first_runs.sh N DIR LIB...
set -eu
[ $# -ge 3 ] || { echo "usage: sh bench/first_runs.sh N DIR LIB..." >&2; exit 2; }
n=$1 dir=$2
shift 2
case $n in
'' | *[!0-9]*) echo "bench/first_runs.sh: N must be a number, not '$n'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cd "$dir"
libs=$#

# run_under K LIB PROGRAM: PROGRAM once under LIB with cache folder K;
# its wall time in ns is added to total_K.
run_under()
{
	if [ "$2" = none ]; then
		start=$(date +%s%N)
		"./$3" >/dev/null
		end=$(date +%s%N)
	else
		start=$(date +%s%N)
		ALLOCINFO_CACHE=$PWD/cache$1 ALLOCINFO_OUTPUT=$PWD/report$1 LD_PRELOAD=$2 "./$3" >/dev/null
		end=$(date +%s%N)
	fi
	eval "total_$1=\$((total_$1 + end - start))"
}

# One program, not timed, fills each folder with what every program
# shares: libc's names, for printf's buffer.
sh "$here/workloads/new_program.sh" "$$" prime
k=0
for lib in "$@"; do
	k=$((k + 1))
	rm -rf "cache$k"
	[ "$lib" = none ] ||
		ALLOCINFO_CACHE=$PWD/cache$k ALLOCINFO_OUTPUT=$PWD/report$k LD_PRELOAD=$lib ./prime >/dev/null
	eval "total_$k=0"
done
i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	# A size no earlier run used: the process id and the count.
	sh "$here/workloads/new_program.sh" "$$$i" first
	# LIB number i % libs + 1 first, then the others in order.
	j=0
	while [ "$j" -lt "$libs" ]; do
		k=$(( (i + j) % libs + 1 ))
		eval "lib=\${$k}"
		run_under "$k" "$lib" first
		j=$((j + 1))
	done
done
k=0
for lib in "$@"; do
	k=$((k + 1))
	eval "total=\$total_$k"
	printf '%-50s %8d us\n' "$lib" $((total / n / 1000))
done

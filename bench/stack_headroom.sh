#!/bin/sh
# How deep a thread on the smallest stack (PTHREAD_STACK_MIN, 16 KiB)
# may be, in frames of 256 bytes, when it makes its first allocation
# (tests/programs/stack_headroom.c): natively, under plain jemalloc,
# and under LIB at ALLOCINFO_DEPTH 1 and 4, with a fresh cache folder
# each run and with one that runs before filled.  The figures of the
# README's "Resource limits" bullet.
#   sh bench/stack_headroom.sh LIB
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# = 1 ] || { echo "usage: sh bench/stack_headroom.sh LIB" >&2; exit 2; }
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$lib" ] || { echo "stack_headroom.sh: no $1" >&2; exit 1; }
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O0 -fno-builtin -D_GNU_SOURCE -pthread -I"$here/../tests/programs" \
	-o "$tmp/stack_headroom" "$here/../tests/programs/stack_headroom.c"

# deepest PRELOAD DEPTH CACHE: the most frames that still allocate, in
# steps of 1 up to 64; PRELOAD "none" runs natively, CACHE "fresh"
# empties the folder before each run.
deepest()
{
	best=-1
	for frames in $(seq 0 64); do
		[ "$3" = fresh ] && rm -rf "$tmp/cache"
		if [ "$1" = none ]; then
			"$tmp/stack_headroom" "$frames" >/dev/null 2>&1 || break
		else
			ALLOCINFO_DEPTH=$2 ALLOCINFO_CACHE=$tmp/cache ALLOCINFO_OUTPUT=/dev/null \
				LD_PRELOAD=$1 "$tmp/stack_headroom" "$frames" >/dev/null 2>&1 || break
		fi
		best=$frames
	done
	echo "$best"
}

printf '%-34s %s\n' "configuration" "frames"
printf '%-34s %s\n' "native" "$(deepest none 1 -)"
[ -f "$jemalloc" ] && printf '%-34s %s\n' "plain jemalloc" "$(deepest "$jemalloc" 1 -)"
for depth in 1 4; do
	for cache in fresh filled; do
		rm -rf "$tmp/cache"
		printf '%-34s %s\n' "allocinfo, depth $depth, $cache cache" "$(deepest "$lib" "$depth" "$cache")"
	done
done

#!/bin/sh
# Requests larger than RAM and swap fail under the preload as they do
# under glibc where the kernel's overcommit is heuristic (its default):
# tests/programs/huge_requests.c's malloc, calloc, realloc,
# reallocarray and the aligned allocations, at depths 1 and 4 (it runs
# natively first, so each check holds for glibc here); and python3's
# bytes(2**40) raises MemoryError as it does natively, where jemalloc's
# MAP_NORESERVE mapping once handed it a terabyte.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/huge_requests
run_native "$prog"
for depth in 1 4; do
	ALLOCINFO_DEPTH=$depth run_preloaded "$T/depth$depth" "$prog"
	check_report_wellformed "$T/depth$depth"
	cmp -s "$T/native.stdout" "$T/depth$depth.stdout" ||
		fail_later "depth $depth: $(cat "$T/depth$depth.stdout" "$T/depth$depth.stderr" | head -5)"
done

script='
try:
    bytes(2**40)
    print("a terabyte")
except MemoryError:
    print("MemoryError")
'
native=$(/usr/bin/python3 -c "$script")
if [ "$native" = MemoryError ]; then
	status=0
	got=$(ALLOCINFO_OUTPUT=/dev/null LD_PRELOAD=$ALLOCINFO_LIB /usr/bin/python3 -c "$script") || status=$?
	[ "$status" -eq 0 ] && [ "$got" = MemoryError ] ||
		fail_later "python3 bytes(2**40) under the preload: '$got' (exit $status), natively MemoryError"
else
	echo "python3 bytes(2**40) gives '$native' natively: not compared"
fi

test_done

#!/bin/sh
# Threads whose first call is pthread_getattr_np on themselves, as the
# JVM's are (tests/programs/thread_attr.c), half of them on stacks of
# the program's own: at ALLOCINFO_DEPTH 1, 3 and 4 the program finishes
# and prints what it prints natively (java at depth 4 hung: glibc holds
# the thread's lock where it allocates, and the walk asked for it
# again), its marked site has exactly its bytes and calls, and at depth
# 3 the site's chain names the CHAIN markers' lines.
set -eu
. "$TEST_SRC/lib.sh"
test_init

src=$TEST_SRC/programs/thread_attr.c
prog=$TEST_BIN/programs/thread_attr
l1=$(marker_line "$src" 'CHAIN: 1')
l2=$(marker_line "$src" 'CHAIN: 2')
l3=$(marker_line "$src" 'CHAIN: 3')

run_native "$prog"
for depth in 1 3 4; do
	name=depth$depth
	# Killed after 60 s: a hang fails the test rather than the suite.
	status=0
	ALLOCINFO_DEPTH=$depth ALLOCINFO_OUTPUT=$T/$name timeout -s KILL 60 \
		env LD_PRELOAD="$ALLOCINFO_LIB" "$prog" \
		>"$T/$name.stdout" 2>"$T/$name.stderr" || status=$?
	[ "$status" -ne 137 ] || fail "$name: thread_attr hung under the preload (killed after 60 s)"
	if [ "$status" -ne 0 ]; then
		cat "$T/$name.stderr" >&2
		fail "$name: thread_attr failed under the preload (exit $status)"
	fi
	check_report_wellformed "$T/$name"
	check_no_stderr "$T/$name"
	cmp -s "$T/native.stdout" "$T/$name.stdout" ||
		fail_later "$name: thread_attr printed differently under the preload"
	# One record at the site, 8 threads' 40 bytes, whatever its chain.
	record=$(grep -E "[ /]thread_attr\.c:$l1 func:chain_inner( |$)" "$T/$name" || :)
	[ "$(printf '%s\n' "$record" | grep -c .)" = 1 ] ||
		fail "$name: not one record for thread_attr.c:$l1:
$record"
	printf '%s\n' "$record" | grep -Eq '^ +320 +8 ' ||
		fail_later "$name: thread_attr.c:$l1 is not 320 bytes in 8 calls: $record"
	echo "ok: $name: $record"
done
check_expect_markers "$src" "$T/depth1"
grep -Eq "[ /]thread_attr\.c:$l1 func:chain_inner stack:[^ >]*thread_attr\.c@$l1>[^ >]*thread_attr\.c@$l2>[^ >]*thread_attr\.c@$l3 \$" "$T/depth3" ||
	fail_later "depth3: the chain is not thread_attr.c@$l1>@$l2>@$l3"

test_done

#!/bin/sh
# ALLOCINFO_DEPTH=3: the record of depth_c's malloc stays one kernel-shaped
# line naming that site, and carries the chain depth_c <- depth_b <-
# depth_a as " stack:FILE@LINE>FILE@LINE>FILE@LINE", the lines found from
# the DEPTH markers of callsite_c.c.  At -O0 and -O2.
set -eu
. "$TEST_SRC/lib.sh"
test_init

src=$TEST_SRC/programs/callsite_c.c
l1=$(grep -n '/\* DEPTH: 1 \*/' "$src" | cut -d: -f1)
l2=$(grep -n '/\* DEPTH: 2 \*/' "$src" | cut -d: -f1)
l3=$(grep -n '/\* DEPTH: 3 \*/' "$src" | cut -d: -f1)
[ -n "$l1" ] && [ -n "$l2" ] && [ -n "$l3" ] || fail "DEPTH markers missing in $src"

for prog in "$TEST_BIN/programs/callsite_c" "$TEST_BIN/callsite/callsite_c_O2"; do
	name=${prog##*/}
	ALLOCINFO_DEPTH=3 run_preloaded "$T/$name" "$prog"
	check_report_wellformed "$T/$name"
	check_no_stderr "$T/$name"
	record=$(grep -E "[ /]callsite_c\.c:$l1 func:depth_c stack:" "$T/$name" || :)
	[ "$(printf '%s\n' "$record" | grep -c .)" = 1 ] ||
		fail "$name: not one record for callsite_c.c:$l1 with a stack:
$record"
	printf '%s\n' "$record" |
		grep -Eq "^ +33 +1 [^ ]*callsite_c\.c:$l1 func:depth_c stack:[^ >]*callsite_c\.c@$l1>[^ >]*callsite_c\.c@$l2>[^ >]*callsite_c\.c@$l3 \$" ||
		fail "$name: the chain is not callsite_c.c@$l1>@$l2>@$l3:
$record"
	# Every record has a stack of at most 3 frames, and the reader's rule
	# (a single ':' after the key) keeps it one extra.
	bad=$(grep -v '^#' "$T/$name" | awk 'NR > 1' | grep -Ev ' stack:[^: ]+ $' || :)
	[ -z "$bad" ] || fail "$name: records without a well-formed stack extra:
$(printf '%s\n' "$bad" | head -5)"
	echo "ok: $name: $record"
done

ALLOCINFO_DEPTH=0 run_preloaded "$T/bad" "$TEST_BIN/programs/callsite_c"
[ "$(cat "$T/bad.stderr")" = "allocinfo: ALLOCINFO_DEPTH='0' is not a number from 1 to 16; using 1" ] ||
	fail "ALLOCINFO_DEPTH=0: stderr is '$(cat "$T/bad.stderr")'"
grep -q ' stack:' "$T/bad" && fail "ALLOCINFO_DEPTH=0 wrote stacks"

test_done

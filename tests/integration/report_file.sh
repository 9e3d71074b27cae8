#!/bin/sh
# Where the report goes, and what happens when it cannot go there:
# - an unwritable path: one line on stderr naming the path, and the
#   program's own output and exit status unchanged;
# - the report is created mode 0600 and leaves no temporary file
#   (symlinks at the report path: report_targets.sh);
# - a target that is not a regular file (/dev/null) is written in place,
#   by descendants too (never a new /dev/null.PID);
# - a report longer than the writer's 64 KiB buffer, written a buffer at
#   a time, is whole; a write that fails on the way (/dev/full) is one
#   line on stderr, and leaves the program as it was.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/sites_c
run_native "$prog"

# Unwritable: a folder that does not exist.
status=0
ALLOCINFO_OUTPUT=$T/missing/dir/report LD_PRELOAD=$ALLOCINFO_LIB "$prog" \
	>"$T/out" 2>"$T/err" || status=$?
[ "$status" -eq 0 ] || fail "exit status $status with an unwritable report path"
cmp -s "$T/out" "$T/native.stdout" || fail "stdout changed with an unwritable report path"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "expected one line on stderr, got:
$(cat "$T/err")"
grep -q "allocinfo: .*$T/missing/dir/report" "$T/err" ||
	fail "the stderr line does not name the path: $(cat "$T/err")"

# Mode 0600, no temporary left.
run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
mode=$(stat -c %a "$T/report")
[ "$mode" = 600 ] || fail "report mode is $mode, not 600"
leftover=$(find "$T" -name 'report.tmp*')
[ -z "$leftover" ] || fail "temporary file left behind: $leftover"

# Not a regular file: written in place, never replaced.
status=0
ALLOCINFO_OUTPUT=/dev/null LD_PRELOAD=$ALLOCINFO_LIB "$prog" >"$T/out" 2>"$T/err" || status=$?
[ "$status" -eq 0 ] && [ ! -s "$T/err" ] || fail "writing to /dev/null failed: $(cat "$T/err")"
[ -c /dev/null ] || fail "/dev/null is no longer a character device"

# A descendant (the program run by a profiled bash) writes there too.
before=$(ls -d /dev/null.* 2>/dev/null | wc -l)
status=0
ALLOCINFO_OUTPUT=/dev/null LD_PRELOAD=$ALLOCINFO_LIB bash -c '"$1"; exit $?' sh "$prog" \
	>"$T/out" 2>"$T/err" || status=$?
[ "$status" -eq 0 ] && [ ! -s "$T/err" ] ||
	fail "a descendant writing to /dev/null failed: $(cat "$T/err")"
cmp -s "$T/out" "$T/native.stdout" || fail "stdout changed under bash -c"
after=$(ls -d /dev/null.* 2>/dev/null | wc -l)
[ "$after" -eq "$before" ] || fail "a descendant made a file beside /dev/null: $(ls -d /dev/null.*)"

# Longer than a buffer: 3,000 sites in no module, each one live 24-byte
# block, named by address (tests/programs/many_sites.c).
many=$TEST_BIN/programs/many_sites
run_preloaded "$T/many" "$many" 3000
check_report_wellformed "$T/many"
check_no_stderr "$T/many"
[ "$(stat -c %s "$T/many")" -gt 65536 ] ||
	fail "the report of 3,000 sites is $(stat -c %s "$T/many") bytes: not past one buffer"
stubs=$(awk '$1 == 24 && $2 == 1 && $3 ~ /^0x[0-9a-f]+:0$/' "$T/many" | sort -u | wc -l)
[ "$stubs" -eq 3000 ] || fail "$stubs distinct records of the 3,000 stub sites, not 3,000"
[ "$(tail -c 1 "$T/many" | od -An -c | tr -d ' ')" = '\n' ] ||
	fail "the report does not end with its last record's newline"

# 25,000 sites: past the small and the medium slot arrays' 24,576, so
# the large array is mapped for the rest when they come (core/codetag.c).
# Four rounds, the first freed: sites the small array does not hold,
# seen before, allocate and free again (core_malloc_by_route's lookup
# of them), and each keeps three blocks.
run_preloaded "$T/more" "$many" 25000 4
check_no_stderr "$T/more"
stubs=$(awk '$1 == 72 && $2 == 3 && $3 ~ /^0x[0-9a-f]+:0$/' "$T/more" | sort -u | wc -l)
[ "$stubs" -eq 25000 ] || fail "$stubs distinct records of the 25,000 stub sites at 72 bytes in 3 calls, not 25,000"
grep -q 'accurate:no' "$T/more" && fail "a record of 25,000 sites is marked inaccurate"

# With stacks on, 6,000 sites in turn: more than a thread's frame and
# chain memos hold, so most walks take a frame and its chain from the
# tag tables (core/callsite.c: frame_memo_from_tags); each chain keeps
# its own three blocks.
ALLOCINFO_DEPTH=4 run_preloaded "$T/deep" "$many" 6000 4
check_no_stderr "$T/deep"
stubs=$(awk '$1 == 72 && $2 == 3 && $3 ~ /^0x[0-9a-f]+:0$/' "$T/deep" | sort -u | wc -l)
[ "$stubs" -eq 6000 ] || fail "$stubs distinct records of the 6,000 stub chains at 72 bytes in 3 calls, not 6,000"

# A write that fails: /dev/full takes nothing.
if [ -c /dev/full ]; then
	status=0
	ALLOCINFO_OUTPUT=/dev/full LD_PRELOAD=$ALLOCINFO_LIB "$many" 3000 \
		>"$T/out" 2>"$T/err" || status=$?
	[ "$status" -eq 0 ] || fail "exit status $status when the report's write fails"
	[ "$(cat "$T/out")" = "sites 3000" ] || fail "stdout changed when the report's write fails: $(cat "$T/out")"
	[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^allocinfo: cannot write report /dev/full: write: ' "$T/err" ||
		fail "a failed write should be one line naming /dev/full and the write: $(cat "$T/err")"
fi

test_done

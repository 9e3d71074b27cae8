#!/bin/sh
# Where the report goes, and what happens when it cannot go there:
# - an unwritable path: one line on stderr naming the path, and the
#   program's own output and exit status unchanged;
# - a symlink planted at the report path is replaced, never followed;
# - the report is created mode 0600 and leaves no temporary file;
# - a target that is not a regular file (/dev/null) is written in place,
#   by descendants too (never a new /dev/null.PID).
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

# A planted symlink to a file we must not touch.
echo "precious" >"$T/victim"
ln -s "$T/victim" "$T/planted"
run_preloaded "$T/planted" "$prog"
[ "$(cat "$T/victim")" = "precious" ] || fail "the report followed a planted symlink"
[ -f "$T/planted" ] && [ ! -L "$T/planted" ] || fail "the symlink was not replaced by the report"
check_report_wellformed "$T/planted"
mode=$(stat -c %a "$T/planted")
[ "$mode" = 600 ] || fail "report mode is $mode, not 600"
leftover=$(find "$T" -name 'planted.tmp*')
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

test_done

#!/bin/sh
# What the report never does, and secure execution
# (a planted symlink, mode 0600 and /dev/null are in report_file.sh):
# - a FIFO at the report path, with a reader waiting, gets the report
#   written in place and stays a FIFO;
# - an existing report path owned by another user is never replaced:
#   the file keeps its content and owner, one line on stderr names it,
#   and the program's output and status are unchanged;
# - ALLOCINFO_OUTPUT set but empty: one line on stderr, and the default
#   template is used;
# - AT_SECURE (a setuid program, run by root as another user): the
#   program works as without the preload, and no report is written
#   anywhere it could write one.  (ld.so ignores an LD_PRELOAD path
#   with a slash for such a program, so the library is not even loaded;
#   this checks that nothing at all happens.)
# Needs root, for chown and setuid.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init

prog=$TEST_BIN/programs/sites_c
run_native "$prog"

# A FIFO with a reader waiting; the reader gives up after 30 s, so a
# report never written fails instead of hanging.
mkfifo "$T/fifo"
timeout 30 cat "$T/fifo" >"$T/from-fifo" &
reader=$!
status=0
timeout 30 env ALLOCINFO_OUTPUT="$T/fifo" LD_PRELOAD="$ALLOCINFO_LIB" "$prog" \
	>"$T/fifo.out" 2>"$T/fifo.err" || status=$?
[ "$status" -eq 0 ] || fail "writing the report to a FIFO: exit status $status: $(cat "$T/fifo.err")"
[ ! -s "$T/fifo.err" ] || fail_later "writing the report to a FIFO: stderr: $(cat "$T/fifo.err")"
status=0
wait "$reader" || status=$?
[ "$status" -eq 0 ] || fail "the FIFO's reader got no end of file (status $status)"
[ -p "$T/fifo" ] || fail_later "the FIFO was replaced"
check_report_wellformed "$T/from-fifo"
check_expect_markers "$TEST_SRC/programs/sites_c.c" "$T/from-fifo"

# ALLOCINFO_OUTPUT empty: the default template, allocinfo.%e.%p.
mkdir "$T/cwd"
status=0
(cd "$T/cwd" && ALLOCINFO_OUTPUT= LD_PRELOAD="$ALLOCINFO_LIB" "$prog") \
	>"$T/empty.out" 2>"$T/empty.err" || status=$?
[ "$status" -eq 0 ] || fail "ALLOCINFO_OUTPUT empty: exit status $status"
[ "$(wc -l <"$T/empty.err")" -eq 1 ] && grep -q ALLOCINFO_OUTPUT "$T/empty.err" ||
	fail_later "ALLOCINFO_OUTPUT empty: expected one line on stderr naming the variable, got:
$(cat "$T/empty.err")"
set -- "$T"/cwd/allocinfo.sites_c.*
[ $# -eq 1 ] && [ -f "$1" ] || fail "ALLOCINFO_OUTPUT empty: no report by the default template: $(ls "$T/cwd")"
check_expect_markers "$TEST_SRC/programs/sites_c.c" "$1"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the other user's file and the setuid program need root"
	exit 77
fi
nobody=$(id -u nobody) || fail "no user nobody"

# A report path owned by another user.
echo precious >"$T/owned"
chown nobody "$T/owned"
status=0
ALLOCINFO_OUTPUT="$T/owned" LD_PRELOAD="$ALLOCINFO_LIB" "$prog" \
	>"$T/owned.out" 2>"$T/owned.err" || status=$?
[ "$status" -eq 0 ] || fail_later "a report path owned by nobody: exit status $status"
cmp -s "$T/owned.out" "$T/native.stdout" || fail_later "a report path owned by nobody: stdout changed"
[ "$(cat "$T/owned")" = precious ] || fail_later "the report replaced a file owned by nobody"
[ "$(stat -c %u "$T/owned")" = "$nobody" ] || fail_later "the file owned by nobody changed owner"
[ "$(wc -l <"$T/owned.err")" -eq 1 ] && grep -q "$T/owned" "$T/owned.err" ||
	fail_later "a report path owned by nobody: expected one line on stderr naming it, got:
$(cat "$T/owned.err")"
leftover=$(find "$T" -name 'owned.tmp*')
[ -z "$leftover" ] || fail_later "temporary file left behind: $leftover"

# Secure execution: root runs a copy of a program, setuid nobody, so
# its effective uid differs from its real one.  Nobody can reach $T and
# write to $T/secure, so a report could land there if anything wrote
# one.  A copy of id first shows that setuid works on this file system.
chmod 755 "$T"
mkdir -m 1777 "$T/secure"
cp /usr/bin/id "$T/setuid-id"
cp "$prog" "$T/setuid-prog"
chown nobody "$T/setuid-id" "$T/setuid-prog"
chmod 4755 "$T/setuid-id" "$T/setuid-prog"
euid=$("$T/setuid-id" -u)
[ "$euid" = "$nobody" ] ||
	fail "a setuid-nobody copy of id runs as $euid: setuid does not work under $T (nosuid?)"
for secure in setuid-id setuid-prog; do
	native=0
	"$T/$secure" >"$T/$secure.native.out" 2>"$T/$secure.native.err" || native=$?
	status=0
	(cd "$T/secure" && ALLOCINFO_OUTPUT="$T/secure/r.%p" LD_PRELOAD="$ALLOCINFO_LIB" "$T/$secure") \
		>"$T/$secure.out" 2>"$T/$secure.err" || status=$?
	[ "$status" -eq 0 ] && [ "$native" -eq 0 ] ||
		fail_later "$secure: exit status $status under the preload, $native without"
	cmp -s "$T/$secure.native.out" "$T/$secure.out" && cmp -s "$T/$secure.native.err" "$T/$secure.err" ||
		fail_later "$secure: output differs under the preload"
done
[ -z "$(ls -A "$T/secure")" ] || fail_later "a secure-execution program wrote: $(ls -A "$T/secure")"

test_done

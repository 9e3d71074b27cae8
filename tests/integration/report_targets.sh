#!/bin/sh
# Report paths that are not plain files, and limits on writing one:
# - ALLOCINFO_OUTPUT=/dev/stdout or /dev/stderr, the stream redirected
#   to a file: the report follows the program's own output in that file,
#   and /dev/stdout and /dev/stderr stay the symlinks they were (a report
#   once replaced /dev's link with a regular file);
# - the user's own symlink in a private folder leads to its target, and
#   stays a symlink;
# - another user's symlink in a sticky folder that everyone may write
#   (/tmp's kind) is never followed: its target keeps its content, one
#   line on stderr names the link (needs root, to make the link another
#   user's: said on stdout and left out otherwise);
# - a FIFO that nobody reads: the program exits (once the writer has
#   waited 5 s for a reader), one line on stderr, where the report's
#   open used to wait for ever;
# - a file-size limit (ulimit -f) smaller than the report: the program
#   exits 0 with its own output, and one line on stderr says the write
#   failed, where SIGXFSZ used to kill it (exit 153);
# - a process in a seccomp sandbox that forbids opening files
#   (tests/programs/sandboxed.c, as man-db's preconv and col): one line
#   on stderr that names the sandbox, and none for the cache folder it
#   cannot open either; where only opens to write are forbidden (as in
#   man-db's sandbox), the same line, and no name is looked up for the
#   report that cannot be written: libdw is not loaded (LD_DEBUG=files
#   says what the loader loads), where a report that can be written
#   loads it; a fork child sandboxed so, its report to a descriptor,
#   names sites from the answers its parent read, after one of its own
#   that none had;
# - a relative path is taken from the folder the process starts in, also
#   when it changes to another (python3 os.chdir), in a folder whose name
#   has a % sign (not a template's).
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/sites_c
run_native "$prog"

# The report after the program's output, in the file behind a stream.
for stream in stdout stderr; do
	[ -L /dev/$stream ] || { echo "/dev/$stream is not a symlink here: not checked"; continue; }
	status=0
	ALLOCINFO_OUTPUT=/dev/$stream LD_PRELOAD=$ALLOCINFO_LIB "$prog" \
		>"$T/$stream.out" 2>"$T/$stream.err" || status=$?
	[ "$status" -eq 0 ] || fail "exit status $status with the report on /dev/$stream"
	if [ ! -L /dev/$stream ]; then
		# Put the machine's link back before failing.
		fd=1; [ "$stream" = stdout ] || fd=2
		rm -f /dev/$stream && ln -s /proc/self/fd/$fd /dev/$stream || :
		fail "/dev/$stream was replaced by a regular file"
	fi
	if [ "$stream" = stdout ]; then
		file=$T/stdout.out own=$T/native.stdout other=$T/stdout.err other_native=$T/native.stderr
	else
		file=$T/stderr.err own=$T/native.stderr other=$T/stderr.out other_native=$T/native.stdout
	fi
	lines=$(wc -l <"$own")
	head -n "$lines" "$file" | cmp -s - "$own" ||
		fail "/dev/$stream: the program's own output is not first in the file"
	tail -n +"$((lines + 1))" "$file" >"$T/$stream.report"
	check_report_wellformed "$T/$stream.report"
	check_expect_markers "$TEST_SRC/programs/sites_c.c" "$T/$stream.report"
	cmp -s "$other" "$other_native" || fail "/dev/$stream: the other stream changed: $(head -3 "$other")"
done

# The user's own symlink, in a private folder.
echo "old" >"$T/target"
ln -s "$T/target" "$T/link"
status=0
ALLOCINFO_OUTPUT=$T/link LD_PRELOAD=$ALLOCINFO_LIB "$prog" >"$T/out" 2>"$T/err" || status=$?
[ "$status" -eq 0 ] && [ ! -s "$T/err" ] || fail "the own symlink: status $status, $(cat "$T/err")"
[ -L "$T/link" ] || fail "the own symlink was replaced by a file"
check_report_wellformed "$T/target"
check_expect_markers "$TEST_SRC/programs/sites_c.c" "$T/target"

# Another user's symlink in a sticky folder everyone may write.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	mkdir "$T/shared"
	chmod 1777 "$T/shared"
	echo "precious" >"$T/victim"
	ln -s "$T/victim" "$T/shared/planted"
	chown -h nobody "$T/shared/planted"
	status=0
	ALLOCINFO_OUTPUT=$T/shared/planted LD_PRELOAD=$ALLOCINFO_LIB "$prog" \
		>"$T/out" 2>"$T/err" || status=$?
	[ "$status" -eq 0 ] || fail "exit status $status with a planted symlink"
	cmp -s "$T/out" "$T/native.stdout" || fail "stdout changed with a planted symlink"
	[ "$(cat "$T/victim")" = "precious" ] || fail "the report followed another user's symlink"
	[ -L "$T/shared/planted" ] || fail "the planted symlink was replaced"
	[ "$(wc -l <"$T/err")" -eq 1 ] &&
		grep -q "^allocinfo: cannot write report $T/shared/planted: a symlink another user made" "$T/err" ||
		fail "a planted symlink should be one line naming it: $(cat "$T/err")"
else
	echo "not root: the planted symlink of another user is not checked"
fi

# A FIFO nobody reads.
mkfifo "$T/fifo"
status=0
timeout -s KILL 30 env ALLOCINFO_OUTPUT="$T/fifo" LD_PRELOAD="$ALLOCINFO_LIB" "$prog" \
	>"$T/out" 2>"$T/err" || status=$?
[ "$status" -ne 137 ] || fail "the program hung at exit on a FIFO nobody reads"
[ "$status" -eq 0 ] || fail "exit status $status with a FIFO nobody reads"
[ -p "$T/fifo" ] || fail "the FIFO was replaced"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^allocinfo: cannot write report $T/fifo: .*no reader" "$T/err" ||
	fail "a FIFO nobody reads should be one line naming it: $(cat "$T/err")"

# A file-size limit below the report (3,000 sites: past 64 KiB).
many=$TEST_BIN/programs/many_sites
status=0
(ulimit -f 8 && ALLOCINFO_OUTPUT=$T/big ALLOCINFO_CACHE=off LD_PRELOAD=$ALLOCINFO_LIB \
	"$many" 3000) >"$T/out" 2>"$T/err" || status=$?
[ "$status" -eq 0 ] || fail "exit status $status under ulimit -f 8 (153: killed by SIGXFSZ)"
[ "$(cat "$T/out")" = "sites 3000" ] || fail "stdout changed under ulimit -f 8: $(cat "$T/out")"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^allocinfo: cannot write report $T/big.*: write: File too large" "$T/err" ||
	fail "a write past the file-size limit should be one line: $(cat "$T/err")"
[ ! -e "$T/big" ] || fail "a report cut short by the limit was put in place"

# A sandbox that forbids opening files.
sandboxed=$TEST_BIN/programs/sandboxed
run_native "$sandboxed"
status=0
ALLOCINFO_OUTPUT=$T/sandboxed ALLOCINFO_CACHE=$T/sandbox-cache LD_PRELOAD=$ALLOCINFO_LIB \
	"$sandboxed" >"$T/out" 2>"$T/err" || status=$?
[ "$status" -eq 0 ] && cmp -s "$T/out" "$T/native.stdout" ||
	fail "sandboxed: status $status, stdout $(cat "$T/out")"
[ "$(wc -l <"$T/err")" -eq 1 ] &&
	grep -q "^allocinfo: cannot write report $T/sandboxed.*(a seccomp sandbox forbids it)$" "$T/err" ||
	fail "sandboxed: expected one line naming the sandbox, got: $(cat "$T/err")"
# Only writes forbidden.  First, that the loader's word shows libdw
# when a report is made, in a cache folder of its own (no answers yet).
libdw_loaded() { grep -q 'file=libdw\.so.*dynamically loaded' "$1"; }
ALLOCINFO_OUTPUT=$T/writable ALLOCINFO_CACHE=$T/writable-cache LD_DEBUG=files \
	LD_PRELOAD=$ALLOCINFO_LIB "$prog" >/dev/null 2>"$T/err" ||
	fail "sites_c with LD_DEBUG=files: $(tail -n 3 "$T/err")"
libdw_loaded "$T/err" || fail "LD_DEBUG=files shows no libdw for a report that was written"
status=0
ALLOCINFO_OUTPUT=$T/sandboxed ALLOCINFO_CACHE=$T/sandbox-writes-cache LD_DEBUG=files \
	LD_PRELOAD=$ALLOCINFO_LIB "$sandboxed" writes >"$T/out" 2>"$T/err" || status=$?
[ "$status" -eq 0 ] && cmp -s "$T/out" "$T/native.stdout" ||
	fail "sandboxed writes: status $status, stdout $(cat "$T/out")"
[ "$(grep -c '^allocinfo:' "$T/err")" -eq 1 ] &&
	grep -q "^allocinfo: cannot write report $T/sandboxed.*(a seccomp sandbox forbids it)$" "$T/err" ||
	fail "sandboxed writes: expected one line naming the sandbox, got: $(grep -v '^ *[0-9]*:' "$T/err")"
libdw_loaded "$T/err" && fail "sandboxed writes: libdw was loaded for a report that cannot be written"

# A fork child in the sandbox, whose report goes to a descriptor: made
# with the symbolizer its parent made ready, it finds its own first site
# in no answer read before the fork, and cannot open the cache folder to
# read them again; the answers it has must still name the sites after
# it, late_alloc's among them, which the first run's parent cached.
for run in 1 2; do
	status=0
	ALLOCINFO_OUTPUT=/dev/stderr ALLOCINFO_CACHE=$T/fork-sandbox-cache LD_PRELOAD=$ALLOCINFO_LIB \
		"$sandboxed" fork >"$T/out" 2>"$T/err" || status=$?
	[ "$status" -eq 0 ] || fail "sandboxed fork, run $run: status $status: $(tail -n 3 "$T/err")"
done
awk -v pid="$(cat "$T/out")" '/^allocinfo - version/ { n++ } { text[n] = text[n] $0 "\n" }
	$0 == "# pid: " pid { keep = n } END { printf "%s", text[keep] }' "$T/err" >"$T/sandboxed-child"
check_report_wellformed "$T/sandboxed-child"
check_expect_markers "$TEST_SRC/programs/sandboxed.c" "$T/sandboxed-child"

# Relative, from the folder the process started in.
mkdir "$T/start%dir" "$T/elsewhere"
status=0
(cd "$T/start%dir" && ALLOCINFO_OUTPUT=relative.%p LD_PRELOAD=$ALLOCINFO_LIB \
	/usr/bin/python3 -c 'import os, sys; os.chdir(sys.argv[1]); print("moved")' "$T/elsewhere") \
	>"$T/out" 2>"$T/err" || status=$?
[ "$status" -eq 0 ] && [ "$(cat "$T/out")" = moved ] && [ ! -s "$T/err" ] ||
	fail "python3 that changes folder: status $status, $(cat "$T/out" "$T/err")"
set -- "$T/start%dir"/relative.*
[ -f "$1" ] || fail "no report in the folder the process started in: $(ls -A "$T/start%dir" "$T/elsewhere")"
check_report_wellformed "$1"
[ -z "$(ls -A "$T/elsewhere")" ] || fail "a report in the folder the process moved to: $(ls -A "$T/elsewhere")"

test_done

#!/bin/sh
# `allocinfo run`: the command's exit status and death by signal pass
# through, a missing command exits 127 with one line, the environment
# the child gets, and the report's path printed on stderr.
set -eu
LC_ALL=C
export LC_ALL

: "${ALLOCINFO_TOOL:?ALLOCINFO_TOOL must name the allocinfo binary}"
: "${TEST_SRC:?TEST_SRC must name the tests/ source directory}"
if [ ! -r "${ALLOCINFO_LIB:-}" ]; then
	# make check builds it: its absence is a failure, not a skip.
	echo "FAIL: ALLOCINFO_LIB='${ALLOCINFO_LIB:-}' is not a readable file" >&2
	exit 1
fi
# The tool takes the template from here when there is no -o.
unset ALLOCINFO_OUTPUT

# Physical path: the tool makes the template absolute with getcwd().
tmp=$(cd "$(mktemp -d)" && pwd -P)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

run() {
	name=$1 want=$2
	shift 2
	status=0
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || status=$?
	if [ "$status" != "$want" ]; then
		fail "$name: exit status $status, expected $want"
		sed 's/^/  stderr: /' "$tmp/$name.err" >&2
	fi
}

is() {
	printf '%s\n' "$3" >"$tmp/expected"
	if ! diff -u "$tmp/expected" "$tmp/$1.$2" >&2; then
		fail "$1: unexpected $2"
	fi
}

# The report paths a run printed, one a line.
reports() {
	sed -n 's/^allocinfo: report written to //p' "$tmp/$1.err"
}

run exit3 3 "$ALLOCINFO_TOOL" run -- sh -c 'exit 3'
run exit0 0 "$ALLOCINFO_TOOL" run -- sh -c 'exit 0'

# Killed by SIGTERM: the tool dies the same way, so its shell sees
# 128 + 15.
run sigterm 143 "$ALLOCINFO_TOOL" run -- sh -c 'kill -TERM $$'

run missing 127 "$ALLOCINFO_TOOL" run -- allocinfo-test-no-such-command
is missing err "allocinfo: run: cannot execute 'allocinfo-test-no-such-command': No such file or directory"
run not-executable 126 "$ALLOCINFO_TOOL" run -- "$TEST_SRC/fixtures/top-basic.txt"

run no-command 2 "$ALLOCINFO_TOOL" run
is no-command err "allocinfo: run: missing command (try 'allocinfo --help')"
run no-command2 2 "$ALLOCINFO_TOOL" run --
is no-command2 err "allocinfo: run: missing command (try 'allocinfo --help')"

# The child's options are its own; stdin and stdout pass through.
run cat 0 "$ALLOCINFO_TOOL" run -- cat -u "$TEST_SRC/fixtures/top-basic.txt"
if ! cmp -s "$TEST_SRC/fixtures/top-basic.txt" "$tmp/cat.out"; then
	fail "cat: stdout not passed through"
fi
n=$(reports cat | wc -l)
if [ "$n" -ne 1 ]; then
	fail "cat: $n report paths printed, expected 1"
	sed 's/^/  stderr: /' "$tmp/cat.err" >&2
fi
report=$(reports cat)
# Default template allocinfo.%e.%p, in the current directory.
case $report in
"$tmp"/allocinfo.*.[0-9]*) ;;
*) fail "cat: report path '$report' is not $tmp/allocinfo.%e.%p" ;;
esac
case ${report##*.} in
*[!0-9]*) fail "cat: report path '$report' does not end in a pid" ;;
esac
if [ -f "$report" ]; then
	# What the library writes, the reader reads strictly.
	run cat-top 0 "$ALLOCINFO_TOOL" top "$report"
else
	fail "cat: report '$report' does not exist"
fi

# -o: a template relative to the current directory, %p expanded.
mkdir sub
run template 0 "$ALLOCINFO_TOOL" run -o 'sub/rep-%p.txt' -- cat /dev/null
report=$(reports template)
case $report in
"$tmp"/sub/rep-[0-9]*.txt) [ -f "$report" ] ||
	fail "template: '$report' does not exist" ;;
*) fail "template: report path '$report' is not $tmp/sub/rep-PID.txt" ;;
esac

# The child gets the library first in LD_PRELOAD and the absolute
# template in ALLOCINFO_OUTPUT.
lib=$(cd "$(dirname "$ALLOCINFO_LIB")" && pwd -P)/$(basename "$ALLOCINFO_LIB")
run env 0 "$ALLOCINFO_TOOL" run -- sh -c 'printf "%s\n" "$LD_PRELOAD" "$ALLOCINFO_OUTPUT"'
printf '%s\n%s\n' "$lib" "$tmp/allocinfo.%e.%p" >"$tmp/env.expected"
cmp -s "$tmp/env.expected" "$tmp/env.out" || fail "env: child environment"
# A library that does not exist stands for the user's own preload: the
# loader only warns about it, and it does not load into the tool.
old=$tmp/users-preload.so
run env-prepend 0 env LD_PRELOAD="$old" "$ALLOCINFO_TOOL" run -- \
	sh -c 'printf "%s\n" "$LD_PRELOAD"'
is env-prepend out "$lib:$old"

# A library that is not there is an error before anything runs.
run no-lib 1 env ALLOCINFO_LIB="$tmp/nope.so" "$ALLOCINFO_TOOL" run -- true
is no-lib err "allocinfo: run: ALLOCINFO_LIB=$tmp/nope.so: No such file or directory"

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
exit 0

#!/bin/sh
# `allocinfo top`: exact output on the fixtures in tests/fixtures/, read
# from a file and from stdin, -n, repeated tags summed, numfmt sizes,
# exact error lines and exit codes, --lenient, and hostile input.
set -eu
LC_ALL=C
export LC_ALL

: "${ALLOCINFO_TOOL:?ALLOCINFO_TOOL must name the allocinfo binary}"
: "${TEST_SRC:?TEST_SRC must name the tests/ source directory}"

fixtures=$TEST_SRC/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run NAME EXPECTED_STATUS CMD...: runs CMD with stdout and stderr in
# $tmp/NAME.out and $tmp/NAME.err, and checks the exit status.
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

# same NAME FILE WHAT: $tmp/NAME.WHAT equals FILE.
same() {
	if ! diff -u "$2" "$tmp/$1.$3" >&2; then
		fail "$1: unexpected $3"
	fi
}

# is NAME WHAT TEXT: $tmp/NAME.WHAT holds exactly the line TEXT.
is() {
	printf '%s\n' "$3" >"$tmp/expected"
	same "$1" "$tmp/expected" "$2"
}

empty() {
	if [ -s "$tmp/$1.$2" ]; then
		fail "$1: $2 not empty"
		sed 's/^/  /' "$tmp/$1.$2" >&2
	fi
}

cd "$fixtures"

# Repeated tags are summed, ties are broken by calls, file, line (as a
# number: list.c:9 before list.c:40), function; no header is printed.
run basic 0 "$ALLOCINFO_TOOL" top top-basic.txt
same basic top-basic.expected out
empty basic err

run n3 0 "$ALLOCINFO_TOOL" top -n 3 top-basic.txt
same n3 top-basic-n3.expected out
run n3-glued 0 "$ALLOCINFO_TOOL" top -n3 top-basic.txt
same n3-glued top-basic-n3.expected out
run n3-after 0 "$ALLOCINFO_TOOL" top top-basic.txt -n 3
same n3-after top-basic-n3.expected out

run n0 0 "$ALLOCINFO_TOOL" top -n 0 top-basic.txt
is n0 out "# total: 76384 bytes in 40 calls, 10 tags"

run stdin 0 "$ALLOCINFO_TOOL" top <top-basic.txt
same stdin top-basic.expected out
run dash 0 "$ALLOCINFO_TOOL" top - <top-basic.txt
same dash top-basic.expected out
run pipe 0 sh -c 'cat top-basic.txt | "$1" top -n 3' sh "$ALLOCINFO_TOOL"
same pipe top-basic-n3.expected out

# numfmt --to=iec sizes become bytes, and the total says it is rounded.
run numfmt 0 "$ALLOCINFO_TOOL" top top-numfmt.txt
same numfmt top-numfmt.expected out

run empty 0 "$ALLOCINFO_TOOL" top </dev/null
is empty out "# total: 0 bytes in 0 calls, 0 tags"

# A bad line: one error line naming file:line and the text, nothing on
# stdout, exit 1.
run corrupt 1 "$ALLOCINFO_TOOL" top top-corrupt.txt
empty corrupt out
is corrupt err "allocinfo: top-corrupt.txt:4: bad size: '\$ sort -g /proc/allocinfo'"

run corrupt-stdin 1 "$ALLOCINFO_TOOL" top <top-corrupt.txt
is corrupt-stdin err "allocinfo: <stdin>:4: bad size: '\$ sort -g /proc/allocinfo'"

run lenient 0 "$ALLOCINFO_TOOL" top --lenient top-corrupt.txt
same lenient top-corrupt-lenient.expected out
is lenient err "allocinfo: skipped 2 lines that are not allocinfo text; first: top-corrupt.txt:4: bad size: '\$ sort -g /proc/allocinfo'"

run missing 1 "$ALLOCINFO_TOOL" top no-such-file.txt
is missing err "allocinfo: no-such-file.txt: No such file or directory"
empty missing out

# Usage errors: exit 2, one line.
run bad-count 2 "$ALLOCINFO_TOOL" top -n x top-basic.txt
is bad-count err "allocinfo: top: bad count 'x' (try 'allocinfo --help')"
run negative-count 2 "$ALLOCINFO_TOOL" top -n -1 top-basic.txt
is negative-count err "allocinfo: top: bad count '-1' (try 'allocinfo --help')"
run no-count 2 "$ALLOCINFO_TOOL" top -n
is no-count err "allocinfo: top: option needs a value: '-n' (try 'allocinfo --help')"
run two-files 2 "$ALLOCINFO_TOOL" top top-basic.txt top-basic.txt
is two-files err "allocinfo: top: too many files, from 'top-basic.txt' (try 'allocinfo --help')"
run bad-option 2 "$ALLOCINFO_TOOL" top --frobnicate
is bad-option err "allocinfo: top: unknown option: '--frobnicate' (try 'allocinfo --help')"
run no-command 2 "$ALLOCINFO_TOOL"
is no-command err "allocinfo: missing command (try 'allocinfo --help')"
run bad-command 2 "$ALLOCINFO_TOOL" frobnicate
is bad-command err "allocinfo: unknown command 'frobnicate' (try 'allocinfo --help')"

run help 0 "$ALLOCINFO_TOOL" --help
grep -q '^Usage: allocinfo ' "$tmp/help.out" || fail "help: no usage text"
empty help err
run version 0 "$ALLOCINFO_TOOL" --version
grep -q '^allocinfo [0-9a-z.]*$' "$tmp/version.out" || fail "version: bad output"

# Hostile input: an error (not a crash, which would exit >= 128), and
# nothing but skipped lines when lenient.
awk 'BEGIN { srand(7); for (i = 0; i < 200000; i++) printf "%c", int(rand() * 256) }' \
	</dev/null >"$tmp/garbage"
printf '1 1 a.c:1 func:f\0oops\n' >"$tmp/nul"
awk 'BEGIN { s = "x"; for (i = 0; i < 22; i++) s = s s; print "1 1 a.c:1 func:" s }' \
	</dev/null >"$tmp/long"
for f in garbage nul long; do
	run "$f" 1 "$ALLOCINFO_TOOL" top "$tmp/$f"
	[ "$(wc -l <"$tmp/$f.err")" = 1 ] || fail "$f: error is not one line"
	run "$f-lenient" 0 "$ALLOCINFO_TOOL" top --lenient "$tmp/$f"
done
is nul err "allocinfo: $tmp/nul:1: NUL byte in line: '1 1 a.c:1 func:f\\x00oops'"
is long-lenient out "# total: 0 bytes in 0 calls, 0 tags"

# The kernel's own file, where there is one: it must read strictly.
if [ -r /proc/allocinfo ] && head -c 1 /proc/allocinfo >/dev/null 2>&1; then
	run proc 0 "$ALLOCINFO_TOOL" top /proc/allocinfo
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
exit 0

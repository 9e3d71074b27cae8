#!/bin/sh
# `allocinfo top`: exact output on the fixtures in tests/fixtures/, read
# from a file and from stdin, -n, repeated tags summed, numfmt sizes,
# exact error lines and exit codes, --lenient, and hostile input.
set -eu
. "$TEST_SRC/lib.sh"
test_init
LC_ALL=C
export LC_ALL

cd "$TEST_SRC/fixtures"

# Repeated tags are summed, ties are broken by calls, file, line (as a
# number: list.c:9 before list.c:40), function; no header is printed.
run_capture basic 0 "$ALLOCINFO_TOOL" top top-basic.txt
check_output basic out top-basic.expected
check_output_empty basic err

run_capture n3 0 "$ALLOCINFO_TOOL" top -n 3 top-basic.txt
check_output n3 out top-basic-n3.expected
run_capture n3-glued 0 "$ALLOCINFO_TOOL" top -n3 top-basic.txt
check_output n3-glued out top-basic-n3.expected
run_capture n3-after 0 "$ALLOCINFO_TOOL" top top-basic.txt -n 3
check_output n3-after out top-basic-n3.expected

run_capture n0 0 "$ALLOCINFO_TOOL" top -n 0 top-basic.txt
check_output_is n0 out "# total: 76384 bytes in 40 calls, 10 tags"

run_capture stdin 0 "$ALLOCINFO_TOOL" top <top-basic.txt
check_output stdin out top-basic.expected
run_capture dash 0 "$ALLOCINFO_TOOL" top - <top-basic.txt
check_output dash out top-basic.expected
run_capture pipe 0 sh -c 'cat top-basic.txt | "$1" top -n 3' sh "$ALLOCINFO_TOOL"
check_output pipe out top-basic-n3.expected

# numfmt --to=iec sizes become bytes, and the total says it is rounded.
run_capture numfmt 0 "$ALLOCINFO_TOOL" top top-numfmt.txt
check_output numfmt out top-numfmt.expected

run_capture empty 0 "$ALLOCINFO_TOOL" top </dev/null
check_output_is empty out "# total: 0 bytes in 0 calls, 0 tags"

# A bad line: one error line naming file:line and the text, nothing on
# stdout, exit 1.
run_capture corrupt 1 "$ALLOCINFO_TOOL" top top-corrupt.txt
check_output_empty corrupt out
check_output_is corrupt err "allocinfo: top-corrupt.txt:4: bad size: '\$ sort -g /proc/allocinfo'"

run_capture corrupt-stdin 1 "$ALLOCINFO_TOOL" top <top-corrupt.txt
check_output_is corrupt-stdin err "allocinfo: <stdin>:4: bad size: '\$ sort -g /proc/allocinfo'"

run_capture lenient 0 "$ALLOCINFO_TOOL" top --lenient top-corrupt.txt
check_output lenient out top-corrupt-lenient.expected
check_output_is lenient err "allocinfo: skipped 2 lines that are not allocinfo text; first: top-corrupt.txt:4: bad size: '\$ sort -g /proc/allocinfo'"

run_capture missing 1 "$ALLOCINFO_TOOL" top no-such-file.txt
check_output_is missing err "allocinfo: no-such-file.txt: No such file or directory"
check_output_empty missing out

# Usage errors: exit 2, one line.
run_capture bad-count 2 "$ALLOCINFO_TOOL" top -n x top-basic.txt
check_output_is bad-count err "allocinfo: top: bad count 'x' (try 'allocinfo --help')"
run_capture negative-count 2 "$ALLOCINFO_TOOL" top -n -1 top-basic.txt
check_output_is negative-count err "allocinfo: top: bad count '-1' (try 'allocinfo --help')"
run_capture no-count 2 "$ALLOCINFO_TOOL" top -n
check_output_is no-count err "allocinfo: top: option needs a value: '-n' (try 'allocinfo --help')"
run_capture two-files 2 "$ALLOCINFO_TOOL" top top-basic.txt top-basic.txt
check_output_is two-files err "allocinfo: top: too many files, from 'top-basic.txt' (try 'allocinfo --help')"
run_capture bad-option 2 "$ALLOCINFO_TOOL" top --frobnicate
check_output_is bad-option err "allocinfo: top: unknown option: '--frobnicate' (try 'allocinfo --help')"
run_capture no-command 2 "$ALLOCINFO_TOOL"
check_output_is no-command err "allocinfo: missing command (try 'allocinfo --help')"
run_capture bad-command 2 "$ALLOCINFO_TOOL" frobnicate
check_output_is bad-command err "allocinfo: unknown command 'frobnicate' (try 'allocinfo --help')"

run_capture help 0 "$ALLOCINFO_TOOL" --help
grep -q '^Usage: allocinfo ' "$T/help.out" || fail_later "help: no usage text"
check_output_empty help err
run_capture version 0 "$ALLOCINFO_TOOL" --version
grep -q '^allocinfo [0-9a-z.]*$' "$T/version.out" || fail_later "version: bad output"

# Hostile input: an error (not a crash, which would exit >= 128), and
# nothing but skipped lines when lenient.
awk 'BEGIN { srand(7); for (i = 0; i < 200000; i++) printf "%c", int(rand() * 256) }' \
	</dev/null >"$T/garbage"
printf '1 1 a.c:1 func:f\0oops\n' >"$T/nul"
awk 'BEGIN { s = "x"; for (i = 0; i < 22; i++) s = s s; print "1 1 a.c:1 func:" s }' \
	</dev/null >"$T/long"
for f in garbage nul long; do
	run_capture "$f" 1 "$ALLOCINFO_TOOL" top "$T/$f"
	[ "$(wc -l <"$T/$f.err")" = 1 ] || fail_later "$f: error is not one line"
	run_capture "$f-lenient" 0 "$ALLOCINFO_TOOL" top --lenient "$T/$f"
done
check_output_is nul err "allocinfo: $T/nul:1: NUL byte in line: '1 1 a.c:1 func:f\\x00oops'"
check_output_is long-lenient out "# total: 0 bytes in 0 calls, 0 tags"

# The kernel's own file, where there is one: it must read strictly.
if [ -r /proc/allocinfo ] && head -c 1 /proc/allocinfo >/dev/null 2>&1; then
	run_capture proc 0 "$ALLOCINFO_TOOL" top /proc/allocinfo
fi

test_done

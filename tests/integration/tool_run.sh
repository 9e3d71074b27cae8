#!/bin/sh
# `allocinfo run`: the command's exit status and death by signal pass
# through, a missing command exits 127 with one line, the environment
# the child gets, and the report's path printed on stderr.
set -eu
. "$TEST_SRC/lib.sh"
test_init
LC_ALL=C
export LC_ALL
# The tool takes the template from here when there is no -o.
unset ALLOCINFO_OUTPUT
cd "$T"

# The report paths a run printed, one a line.
reports() {
	sed -n 's/^allocinfo: report written to //p' "$T/$1.err"
}

run_capture exit3 3 "$ALLOCINFO_TOOL" run -- sh -c 'exit 3'
run_capture exit0 0 "$ALLOCINFO_TOOL" run -- sh -c 'exit 0'

# Killed by SIGTERM: the tool dies the same way, so its shell sees
# 128 + 15.
run_capture sigterm 143 "$ALLOCINFO_TOOL" run -- sh -c 'kill -TERM $$'

run_capture missing 127 "$ALLOCINFO_TOOL" run -- allocinfo-test-no-such-command
check_output_is missing err "allocinfo: run: cannot execute 'allocinfo-test-no-such-command': No such file or directory"
run_capture not-executable 126 "$ALLOCINFO_TOOL" run -- "$TEST_SRC/fixtures/top-basic.txt"

run_capture no-command 2 "$ALLOCINFO_TOOL" run
check_output_is no-command err "allocinfo: run: missing command (try 'allocinfo --help')"
run_capture no-command2 2 "$ALLOCINFO_TOOL" run --
check_output_is no-command2 err "allocinfo: run: missing command (try 'allocinfo --help')"

# The child's options are its own; stdin and stdout pass through.
run_capture cat 0 "$ALLOCINFO_TOOL" run -- cat -u "$TEST_SRC/fixtures/top-basic.txt"
if ! cmp -s "$TEST_SRC/fixtures/top-basic.txt" "$T/cat.out"; then
	fail_later "cat: stdout not passed through"
fi
n=$(reports cat | wc -l)
if [ "$n" -ne 1 ]; then
	fail_later "cat: $n report paths printed, expected 1"
	sed 's/^/  stderr: /' "$T/cat.err" >&2
fi
report=$(reports cat)
# Default template allocinfo.%e.%p, in the current directory.
case $report in
"$T"/allocinfo.*.[0-9]*) ;;
*) fail_later "cat: report path '$report' is not $T/allocinfo.%e.%p" ;;
esac
case ${report##*.} in
*[!0-9]*) fail_later "cat: report path '$report' does not end in a pid" ;;
esac
if [ -f "$report" ]; then
	# What the library writes, the reader reads strictly.
	run_capture cat-top 0 "$ALLOCINFO_TOOL" top "$report"
else
	fail_later "cat: report '$report' does not exist"
fi

# -o: a template relative to the current directory, %p expanded.
mkdir sub
run_capture template 0 "$ALLOCINFO_TOOL" run -o 'sub/rep-%p.txt' -- cat /dev/null
report=$(reports template)
case $report in
"$T"/sub/rep-[0-9]*.txt) [ -f "$report" ] ||
	fail_later "template: '$report' does not exist" ;;
*) fail_later "template: report path '$report' is not $T/sub/rep-PID.txt" ;;
esac

# The child gets the library first in LD_PRELOAD and the absolute
# template in ALLOCINFO_OUTPUT.
lib=$(cd "$(dirname "$ALLOCINFO_LIB")" && pwd -P)/$(basename "$ALLOCINFO_LIB")
run_capture env 0 "$ALLOCINFO_TOOL" run -- sh -c 'printf "%s\n" "$LD_PRELOAD" "$ALLOCINFO_OUTPUT"'
printf '%s\n%s\n' "$lib" "$T/allocinfo.%e.%p" >"$T/env.expected"
cmp -s "$T/env.expected" "$T/env.out" || fail_later "env: child environment"
# A library that does not exist stands for the user's own preload: the
# loader only warns about it, and it does not load into the tool.
old=$T/users-preload.so
run_capture env-prepend 0 env LD_PRELOAD="$old" "$ALLOCINFO_TOOL" run -- \
	sh -c 'printf "%s\n" "$LD_PRELOAD"'
check_output_is env-prepend out "$lib:$old"

# A library that is not there is an error before anything runs.
run_capture no-lib 1 env ALLOCINFO_LIB="$T/nope.so" "$ALLOCINFO_TOOL" run -- true
check_output_is no-lib err "allocinfo: run: ALLOCINFO_LIB=$T/nope.so: No such file or directory"

test_done

#!/bin/sh
# `allocinfo run` on a program built with gcc's shared ASan runtime
# (tests/programs/asan_program.c): the runtime refuses to start unless it
# is the first library in the initial list, so the tool preloads it
# ahead of the library, and the program runs as it does alone.  The
# runtime's malloc is then the program's own: the report says it was
# not profiled.  Skipped (77) only when configure left the sanitizers
# out (--disable-sanitizers), as the program then has no runtime.
set -eu
. "$TEST_SRC/lib.sh"
test_init
LC_ALL=C
export LC_ALL
prog=$TEST_BIN/callsite/asan_program
[ -x "$prog" ] || fail "no $prog"
runtime=$(readelf -d "$prog" | sed -n 's/.*(NEEDED).*\[\(libasan\.so\.[0-9]*\)\]$/\1/p')
if [ -z "$runtime" ]; then
	echo "SKIP: $prog needs no libasan (configure --disable-sanitizers)"
	exit 77
fi
# The runtime's own checks are not what is tested here.
ASAN_OPTIONS=detect_leaks=0
export ASAN_OPTIONS

status=0
"$prog" >"$T/native.out" 2>"$T/native.err" || status=$?
[ "$status" -eq 3 ] || fail "alone, the program exits $status, not 3: $(cat "$T/native.err")"

# What the tool fixes: with the library first, the runtime refuses.
status=0
LD_PRELOAD=$ALLOCINFO_LIB ALLOCINFO_OUTPUT=$T/first.report "$prog" >"$T/first.out" 2>"$T/first.err" || status=$?
[ "$status" -ne 3 ] && grep -q 'does not come first' "$T/first.err" ||
	fail "with the library preloaded first the runtime did not refuse (exit $status): $(cat "$T/first.err")"

run_capture run 3 "$ALLOCINFO_TOOL" run -o "$T/run.%p" -- "$prog"
cmp -s "$T/native.out" "$T/run.out" || fail "under allocinfo run, stdout differs: $(cat "$T/run.out")"
grep -q 'does not come first' "$T/run.err" && fail "the runtime refused under allocinfo run: $(cat "$T/run.err")"
report=$(sed -n 's/^allocinfo: report written to //p' "$T/run.err")
[ -f "$report" ] || fail "no report: $(cat "$T/run.err")"
grep -qx '# malloc: not profiled, the program has an allocator of its own' "$report" ||
	fail "the report does not say the runtime's malloc was not profiled"

echo "ok: $runtime preloaded first; exit 3 and stdout as alone"
test_done

#!/bin/sh
# A short libFuzzer run of the reader (tests/fuzz/fuzz_reader.c),
# seeded with the kernel samples and the tool's fixtures.  Exit 77
# (SKIP) when configure found no clang with -fsanitize=fuzzer: the
# reader is then not fuzzed, and the summary must say so.
set -eu
. "$TEST_SRC/lib.sh"

if [ -z "${FUZZ_READER:-}" ]; then
	echo "SKIP: no libFuzzer build (configure found no clang with -fsanitize=fuzzer)"
	exit 77
fi
test_init
[ -x "$FUZZ_READER" ] || fail "no fuzz target at $FUZZ_READER"

mkdir "$T/corpus"
n=0
for f in "${SAMPLES_DIR:-}"/*.txt "$TEST_SRC"/fixtures/*.txt; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	cp "$f" "$T/corpus/seed$n"
done
[ "$n" -gt 0 ] || fail "no seeds found in \$SAMPLES_DIR or the fixtures"

# Fixed seed, a few seconds; a crash leaves its input in $T/crash-*.
status=0
"$FUZZ_READER" -seed=1 -max_total_time=${FUZZ_SECONDS:-5} -max_len=16384 \
	-rss_limit_mb=2048 -artifact_prefix="$T/" "$T/corpus" \
	>"$T/fuzz.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
	tail -n 40 "$T/fuzz.log" >&2
	for crash in "$T"/crash-* "$T"/leak-* "$T"/timeout-* "$T"/oom-*; do
		[ -f "$crash" ] || continue
		echo "input that broke the reader ($crash), as hex:" >&2
		od -A d -t x1 "$crash" | head -n 20 >&2
	done
	fail "the fuzz run failed (exit $status)"
fi
grep -E '^#[0-9]+ *DONE' "$T/fuzz.log" || tail -n 3 "$T/fuzz.log"
echo "ok: $n seeds, fuzzed for ${FUZZ_SECONDS:-5} seconds without a failure"
test_done

#!/bin/sh
# A frame without a tag is remembered too (preload/wrappers.c): the rule
# classifies main's call in tests/programs/frame_memory.c from the
# program's symbols only to decide about the anonymous frame below it,
# and the program's route memory must hold that frame after the first
# run, so that the next run need not read the symbols for it.  A warm
# run keeps it, and a run that learns nothing new leaves the file as it
# was.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/callsite/frame_memory
[ -x "$prog" ] || fail "no $prog"
readelf -S "$prog" | grep -q ' \.symtab ' && fail "$prog still has .symtab"
readelf --dyn-syms "$prog" | grep -q ' main$' || fail "$prog does not export main"
build_id=$(readelf -n "$prog" | awk '/Build ID:/ { print $3 }')
[ -n "$build_id" ] || fail "$prog has no build-id"
ALLOCINFO_CACHE=$T/cache
export ALLOCINFO_CACHE
file=$T/cache/$build_id.routes

run_native "$prog"
frame=$(cat "$T/native.stdout")
case $frame in
'' | *[!0-9a-f]*) fail "the program printed '$frame', not a hex offset" ;;
esac

run_preloaded "$T/cold" "$prog"
check_report_wellformed "$T/cold"
check_no_stderr "$T/cold"
[ -f "$file" ] || fail "no $file after the first run"
awk -F '\t' -v f="$frame" 'NR > 1 && $1 == f && $2 == "own"' "$file" | grep -q . ||
	fail "the route memory lacks main's call ($frame, own), a frame the rule classified:
$(cat "$file")"
# The anonymous site itself, charged as its own (main, the frame above,
# is not a wrapper): its tag's line.
awk -F '\t' 'NR > 1 && $2 == "anonymous"' "$file" | grep -q . ||
	fail "the route memory lacks dup_name's anonymous site: $(cat "$file")"

# The second run confirms the anonymous site's caller offset; the third
# learns nothing and leaves the file as it was.
run_preloaded "$T/warm" "$prog"
check_no_stderr "$T/warm"
awk -F '\t' -v f="$frame" 'NR > 1 && $1 == f && $2 == "own"' "$file" | grep -q . ||
	fail "a warm run dropped main's call ($frame) from the route memory"
cp "$file" "$T/warm.routes"
run_preloaded "$T/warmer" "$prog"
cmp -s "$T/warm.routes" "$file" || fail "a third run changed the route memory:
$(diff "$T/warm.routes" "$file")"
grep -v '^#' "$T/cold" >"$T/cold.records"
for run in warm warmer; do
	grep -v '^#' "$T/$run" | diff "$T/cold.records" - >&2 || fail "the $run run's records differ"
done

echo "ok: main's call at $frame remembered; a warm run keeps the file and the records"
test_done

#!/bin/sh
# Separate debug info with compressed sections (report/debug_inflate.h),
# as Debian's -dbg and dbgsym packages ship it: the first report that
# needs its lines leaves a plain copy, named by the build-id, in the
# cache folder, and reads its lines from it; the copy has the debug
# file's sections, none compressed, and the same DWARF; later runs use
# it; a copy of the wrong size is not used, and is made again; a debug
# file whose sections are not compressed is read as it is, with no copy.
set -eu
. "$TEST_SRC/lib.sh"
test_init

. "$TEST_SRC/lib_caches.sh"
cache=$ALLOCINFO_CACHE
copy=$cache/$build_id.debug

command -v objcopy >/dev/null || fail "objcopy not found (binutils)"
mkdir -p "$T/bin/.debug"
stripped=$T/bin/callsite_c
debug=$T/bin/.debug/callsite_c.debug
objcopy --only-keep-debug --compress-debug-sections=zlib "$prog" "$debug"
objcopy --strip-debug --add-gnu-debuglink="$debug" "$prog" "$stripped"
compressed=$(readelf -S -W "$debug" | grep -E '^ *\[ *[0-9]+\] \.debug_' | grep -c ' C ' || true)
[ "$compressed" -gt 0 ] || fail "objcopy left no compressed section in $debug"

# Sections by name, type and size, and which are compressed.
sections() { readelf -S -W "$1" | awk '$1 ~ /^\[/ && $2 != "]" { sub(/^\[ *[0-9]+\] */, ""); print $1, $2 }'; }
debug_info() { readelf --debug-dump=info "$1" 2>&1 | grep -v '^$' | sed 1,4d; }

# 1. Cold: the lines from the copy, which now exists.
run_preloaded "$T/cold" "$stripped" "$lib"
check_marked "$T/cold"
[ -f "$copy" ] || fail "no plain copy $copy after the first run: $(ls -la "$cache")"
[ "$(stat -c %a "$copy")" = 600 ] || fail "the copy's mode is $(stat -c %a "$copy"), not 600"
readelf -S -W "$copy" | grep -E '^ *\[ *[0-9]+\]' | grep -q ' C ' &&
	fail "the copy has compressed sections: $(readelf -S -W "$copy")"
sections "$debug" >"$T/debug.sections"
sections "$copy" | diff "$T/debug.sections" - >&2 ||
	fail "the copy's sections are not the debug file's"
debug_info "$debug" >"$T/debug.info"
debug_info "$copy" | diff "$T/debug.info" - >/dev/null ||
	fail "the copy's .debug_info reads otherwise than the debug file's"
[ "$(readelf -n "$copy" | awk '/Build ID:/ { print $3 }')" = "$build_id" ] ||
	fail "the copy has not the program's build-id"
ls -A "$cache" | grep -q '\.tmp$' && fail "a temporary file was left: $(ls -A "$cache")"

# 2. A first run again (the site cache gone), from the copy: the same
#    report, and the copy untouched.  The debug file's compressed
#    .debug_info is spoilt first (its headers kept, so the copy still
#    matches them): the lines can come only from the copy.
records "$T/cold" >"$T/cold.records"
before=$(stat -c %Y.%i "$copy")
cp "$debug" "$T/debug.good"
info_at=$(readelf -S -W "$debug" |
	awk '/^ *\[ *[0-9]+\]/ { sub(/^ *\[ *[0-9]+\] */, ""); if ($1 == ".debug_info") print $4 }')
[ -n "$info_at" ] || fail "no .debug_info in $debug"
head -c 256 /dev/zero | dd of="$debug" bs=1 seek=$((0x$info_at + 64)) conv=notrunc 2>/dev/null
debug_info "$debug" | diff -q "$T/debug.info" - >/dev/null &&
	fail "spoiling the debug file's .debug_info left it readable"
rm -f "$cache/$build_id"
run_preloaded "$T/again" "$stripped" "$lib"
check_marked "$T/again"
records "$T/again" | diff "$T/cold.records" - >&2 || fail "the run from the copy differs"
[ "$(stat -c %Y.%i "$copy")" = "$before" ] || fail "the copy was made again though it was whole"
cp "$T/debug.good" "$debug"

# 3. A copy cut short is not used: the lines are still right, and the
#    copy is made whole again.
size=$(stat -c %s "$copy")
head -c 4096 "$copy" >"$T/short" && cat "$T/short" >"$copy"
rm -f "$cache/$build_id"
run_preloaded "$T/short.report" "$stripped" "$lib"
check_marked "$T/short.report"
[ "$(stat -c %s "$copy")" = "$size" ] || fail "the short copy was not made again ($(stat -c %s "$copy") bytes, not $size)"
#    And one of the right size whose ELF header differs (e_flags).
cp "$copy" "$T/good.debug"
printf '\001' | dd of="$copy" bs=1 seek=48 conv=notrunc 2>/dev/null
cmp -s "$copy" "$T/good.debug" && fail "the copy was not changed for the test"
rm -f "$cache/$build_id"
run_preloaded "$T/flag.report" "$stripped" "$lib"
check_marked "$T/flag.report"
cmp "$copy" "$T/good.debug" >&2 || fail "a copy whose header differs was used, not made again"

# 4. A symlink planted in place of the copy is never followed: it is
#    replaced by the copy, and where it pointed nothing is made.
rm -f "$copy" "$cache/$build_id"
ln -s "$T/elsewhere.debug" "$copy"
run_preloaded "$T/link.report" "$stripped" "$lib"
check_marked "$T/link.report"
[ -e "$T/elsewhere.debug" ] && fail "the symlink was followed"
[ -f "$copy" ] && [ ! -L "$copy" ] || fail "the symlink was not replaced by the copy"

# 5. A compressed debug file of another build where the program's
#    should be: no copy is made of it, under either build-id.
other=$TEST_BIN/programs/sites_c
other_id=$(readelf -n "$other" | awk '/Build ID:/ { print $3 }')
[ -n "$other_id" ] && [ "$other_id" != "$build_id" ] || fail "no other build-id to test with"
objcopy --only-keep-debug --compress-debug-sections=zlib "$other" "$debug"
rm -rf "$cache"
run_preloaded "$T/other.report" "$stripped" "$lib"
check_report_wellformed "$T/other.report"
[ -e "$cache/$build_id.debug" ] || [ -e "$cache/$other_id.debug" ] &&
	fail "a copy was made of another build's debug file: $(ls "$cache")"

# 6. A debug file whose sections are not compressed: read as it is.
objcopy --only-keep-debug "$prog" "$debug"
rm -rf "$cache"
run_preloaded "$T/plain" "$stripped" "$lib"
check_marked "$T/plain"
[ -e "$copy" ] && fail "a copy was made of a debug file with no compressed section"

echo "compressed_debug: ok"

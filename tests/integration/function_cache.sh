#!/bin/sh
# Function tables on disk (preload/function_cache.h), for a program
# without a build-id (callsite_c linked with --build-id=none), which the
# router's memory cannot name: the first run keeps the program's table
# under the file's device and inode; the next run reads it (the same
# records, the file not rewritten); the table is really what routes the
# sites (a planted mark moves my_wrapper's allocation); a file changed
# since, a table cut short, or a symlink in its place is not used; off
# keeps none; a table under FUNCTION_CACHE_MIN_FUNCS functions is not
# kept (the program has 1,024 filler functions, so that its own is), nor
# the routes of such a module whose sites are all its own.
set -eu
. "$TEST_SRC/lib.sh"
test_init

[ -x "$TEST_BIN/callsite/callsite_c_no_build_id" ] || fail "no callsite_c_no_build_id"
# A copy of our own, whose times the test may change.
prog=$T/callsite_c_no_build_id
cp "$TEST_BIN/callsite/callsite_c_no_build_id" "$prog"
no_build_id=1
. "$TEST_SRC/lib_caches.sh"

# The program's table: file-DEV-INO.functions, in hex.
table_name() { printf 'file-%016x-%016x.functions' $(stat -c '%d %i' "$prog"); }
file=$T/cache/$(table_name)
# The entry of my_wrapper (its symbol's value) in the table, as
# OFFSET WRAPPER, from the binary part after the header line.
wrapper_entry()
{
	python3 - "$file" "$(nm "$prog" | awk '$3 == "my_wrapper" { print $1 }')" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
head = (data.index(b"\n") + 1 + 7) & ~7
count = struct.unpack_from("=6Q", data, head)[5]
at = head + 48
for i in range(count):
    offset, size, wrapper = struct.unpack_from("=QII", data, at + 16 * i)
    if offset == int(sys.argv[2], 16):
        print(at + 16 * i, wrapper)
        sys.exit(0)
sys.exit("my_wrapper is not in the table")
EOF
}

# 1. Cold: the table is kept, private, with a header line.
run_preloaded "$T/cold" "$prog" "$lib"
check_marked "$T/cold"
check_cache_file "$file" allocinfo-functions 5
set -- $(wrapper_entry)
[ "$2" = 1 ] || fail "my_wrapper is not marked a wrapper in the table: $*"

# 2. Warm: the same records, and the file read, not written again.
inode=$(stat -c %i "$file")
run_preloaded "$T/warm" "$prog" "$lib"
check_marked "$T/warm"
records "$T/cold" >"$T/cold.records"
records "$T/warm" | diff "$T/cold.records" - >&2 || fail "the warm run's records differ from the cold run's"
[ "$(stat -c %i "$file")" = "$inode" ] || fail "a warm run wrote the table again"

# 3. The table is what the run read: my_wrapper planted as no wrapper
#    keeps its allocation (50 bytes in 1 call) as its own.
set -- $(wrapper_entry)
printf '\000' | dd of="$file" bs=1 seek=$(($1 + 12)) conv=notrunc 2>/dev/null
run_preloaded "$T/planted" "$prog" "$lib"
grep -Eq '^ +50 +1 .* func:my_wrapper $' "$T/planted" ||
	fail "a planted mark did not route the site: the table was not read"

# 4. The program changed since (a new time, the same inode): the planted
#    table is not read, and is replaced.
touch -d '2001-01-01 00:00:00' "$prog"
run_preloaded "$T/touched" "$prog" "$lib"
check_marked "$T/touched"
set -- $(wrapper_entry)
[ "$2" = 1 ] || fail "the table of the changed program was not made again"

# 5. A table cut short is not used, and is replaced: whole again, in a
#    new file.
whole=$(stat -c %s "$file")
inode=$(stat -c %i "$file")
truncate -s -16 "$file"
run_preloaded "$T/cut" "$prog" "$lib"
check_marked "$T/cut"
[ "$(stat -c %s "$file")" = "$whole" ] && [ "$(stat -c %i "$file")" != "$inode" ] ||
	fail "a table cut short was not replaced: $(stat -c '%s bytes, inode %i' "$file"), $whole bytes before"

# 6. A symlink in its place is not followed, and is replaced by a file.
echo "someone else's" >"$T/target"
rm -f "$file"
ln -s "$T/target" "$file"
run_preloaded "$T/symlink" "$prog" "$lib"
check_marked "$T/symlink"
[ "$(cat "$T/target")" = "someone else's" ] || fail "the symlink's target was written"
[ -f "$file" ] && [ ! -L "$file" ] || fail "the symlink was not replaced by a table"

# 7. Off: no table.
rm -rf "$T/cache"
ALLOCINFO_CACHE=off run_preloaded "$T/off" "$prog" "$lib"
check_marked "$T/off"
[ ! -e "$T/cache" ] || fail "ALLOCINFO_CACHE=off made $T/cache"

# 8. A small table is not kept (FUNCTION_CACHE_MIN_FUNCS): callsite_c
#    itself, without the filler functions, is read again where needed.
#    Its sites are named all the same, and its site cache is kept.
small=$TEST_BIN/programs/callsite_c
small_id=$(readelf -n "$small" | awk '/Build ID:/ { print $3 }')
[ -n "$small_id" ] || fail "no build-id in $small"
rm -rf "$T/cache"
run_preloaded "$T/small" "$small" "$lib"
check_marked "$T/small"
[ -f "$T/cache/$small_id" ] || fail "no site cache for callsite_c: $(ls "$T/cache" 2>&1)"
[ ! -e "$T/cache/$small_id.functions" ] ||
	fail "callsite_c's table of $(nm "$small" | grep -ci ' t ') functions was kept"

# 9. Nor, for such a module, routes that only say "own" (the router's
#    memory, preload/route_memory.h): usable's sites are all in main.
#    Its second run names them as its first did, from the symbols again
#    (ALLOCINFO_SIZE=usable, as its markers count).
own=$TEST_BIN/programs/usable
own_id=$(readelf -n "$own" | awk '/Build ID:/ { print $3 }')
[ -n "$own_id" ] || fail "no build-id in $own"
rm -rf "$T/cache"
for run in 1 2; do
	ALLOCINFO_SIZE=usable run_preloaded "$T/own$run" "$own"
	check_expect_markers "$TEST_SRC/programs/usable.c" "$T/own$run" "$T/own$run.stdout"
	check_no_stderr "$T/own$run"
	[ -f "$T/cache/$own_id" ] || fail "run $run: no site cache for usable: $(ls "$T/cache" 2>&1)"
	for kept in functions routes; do
		[ ! -e "$T/cache/$own_id.$kept" ] ||
			fail "run $run: usable's $kept were kept: $(cat "$T/cache/$own_id.$kept")"
	done
done
records "$T/own1" >"$T/own1.records"
records "$T/own2" | diff "$T/own1.records" - >&2 || fail "usable's second run named its sites otherwise"

echo "ok: a program without a build-id keeps its function table by device and inode; warm = cold, planted, changed, cut, symlink, off; a small table, and a small module's own routes, are not kept"
test_done

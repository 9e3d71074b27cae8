#!/bin/sh
# The symbolizer's cache on disk (report/site_cache.h): a second run
# reads its sites from the cache and writes the same report; the cache is
# really read (a planted answer shows); a corrupt line or file, or one
# made with another wrapper list, is not used and is rewritten; symlinks
# and folders others may write are never used; ALLOCINFO_CACHE=off and
# bad values; answers without a line, with and without DWARF.
set -eu
. "$TEST_SRC/lib.sh"
test_init

. "$TEST_SRC/lib_caches.sh"
cache=$ALLOCINFO_CACHE
file=$cache/$build_id

# 1. Cold, then warm: the same records, and the file of the program's
#    build-id holds its sites.
run_preloaded "$T/cold" "$prog" "$lib"
check_marked "$T/cold"
check_cache_file "$file" allocinfo-site-cache '[0-9]+'
[ "$(stat -c %a "$cache")" = 700 ] || fail "cache folder mode $(stat -c %a "$cache"), not 700"
marked=$(grep -c 'EXPECT' "$src")
sites=$(($(wc -l <"$file") - 1))
[ "$sites" -ge "$marked" ] || fail "$sites sites cached for $marked marked lines"
run_preloaded "$T/warm" "$prog" "$lib"
check_marked "$T/warm"
records "$T/cold" >"$T/cold.records"
records "$T/warm" >"$T/warm.records"
diff "$T/cold.records" "$T/warm.records" >&2 ||
	fail "the warm run's records differ from the cold run's"

# 2. The cache is what the warm run read: an answer planted in it shows.
plant_in "$file" 'NR == 2 { $4 = "planted_from_cache" }'
run_preloaded "$T/planted.report" "$prog" "$lib"
grep -q ' func:planted_from_cache $' "$T/planted.report" ||
	fail "a planted cache answer did not show: the cache was not read"

# 3. Another wrapper list: that file is not read, and is replaced.
ALLOCINFO_WRAPPERS=my_wrapper,inline_wrapper,nothing_else \
	run_preloaded "$T/other_config" "$prog" "$lib"
! grep -q planted_from_cache "$T/other_config" ||
	fail "a file made with another ALLOCINFO_WRAPPERS was read"
grep -q planted_from_cache "$file" && fail "the other config's file was not replaced"

# 4. A corrupt line (bad fields, a control character or DEL in a name,
#    near a field's start or 16 bytes and more into it) in place of the
#    first site's is not used: the site is resolved again, and the file
#    written anew without it.  A bad offset, or offsets out of order,
#    and the file is not read at all, and rewritten.  A flawed line no
#    site looks up is never read: the report is the same.
run_preloaded "$T/again" "$prog" "$lib"
first=$(sed -n 2p "$file" | cut -f 1)
for corrupt in 'zz\t12\tf.c\tf' "$first"'\t00\tf.c\tf' "$first"'\t-1\tf.c\tf' "$first"'\t12\t\tf' \
	"$first"'\t12\tf.c' "$first"'\t12\tf.c\tf\t' "$first"'\t12\tf\001.c\tf' "$first"'\t12\tf.c\tf\177' \
	"$first"'\t12\tsrc/a/long/folder/file.c\tfunction_with_a_long_name\033_tail'; do
	{ head -n 1 "$file"; printf "$corrupt\n"; sed 1,2d "$file"; } >"$T/corrupt"
	cat "$T/corrupt" >"$file"
	run_preloaded "$T/corrupt.report" "$prog" "$lib"
	records "$T/corrupt.report" >"$T/corrupt.records"
	diff "$T/cold.records" "$T/corrupt.records" >&2 ||
		fail "with the corrupt line '$corrupt' the report changed"
	! grep -qF "$(printf "$corrupt")" "$file" || fail "corrupt line '$corrupt' was kept"
	[ "$(sed -n 2p "$file" | cut -f 1)" = "$first" ] || fail "the first site's line was not written again"
done
{ head -n 1 "$file"; sed -n 3p "$file"; sed -n 2p "$file"; sed 1,3d "$file"; } >"$T/swapped"
cat "$T/swapped" >"$file"
run_preloaded "$T/swapped.report" "$prog" "$lib"
records "$T/swapped.report" | diff "$T/cold.records" - >&2 || fail "with two lines out of order the report changed"
sorted=$(sed 1d "$file" | cut -f 1 | while read -r h; do printf '%d\n' "0x$h"; done)
[ "$sorted" = "$(printf '%s\n' "$sorted" | sort -n -u)" ] || fail "a file out of order was kept"
{ head -n 1 "$file"; printf '1\t00\tf.c\tf\n'; sed 1d "$file"; } >"$T/unread"
cat "$T/unread" >"$file"
run_preloaded "$T/unread.report" "$prog" "$lib"
records "$T/unread.report" | diff "$T/cold.records" - >&2 || fail "a flawed line no site looks up changed the report"
# 5. Cut short, or a symlink in its place.
check_cache_file_guards "$file" '10\t12\tf.c' "$T/cold.records" "$prog" "$lib"

# 6. Folders that are not private: a symlink, a group-writable folder.
#    One line on stderr, and the report unchanged.
mkdir "$T/real"
ln -s "$T/real" "$T/link"
ALLOCINFO_CACHE=$T/link run_preloaded "$T/link.report" "$prog" "$lib"
records "$T/link.report" | diff "$T/cold.records" - >&2 || fail "a symlinked folder changed the report"
[ -z "$(ls -A "$T/real")" ] || fail "the cache was written through a symlinked folder"
grep -q "^allocinfo: ALLOCINFO_CACHE='$T/link': " "$T/link.report.stderr" ||
	fail "no stderr line for a symlinked cache folder: $(cat "$T/link.report.stderr")"
[ "$(wc -l <"$T/link.report.stderr")" -eq 1 ] || fail "more than one line for a symlinked folder"
mkdir -m 775 "$T/shared"
chmod 775 "$T/shared"
ALLOCINFO_CACHE=$T/shared run_preloaded "$T/shared.report" "$prog" "$lib"
[ -z "$(ls -A "$T/shared")" ] || fail "the cache was written to a group-writable folder"
grep -q "not a folder of this user's that only this user may write" "$T/shared.report.stderr" ||
	fail "no stderr line for a group-writable cache folder: $(cat "$T/shared.report.stderr")"

# 7. off: nothing is created.  A relative path: one line, default folder.
ALLOCINFO_CACHE=off HOME=$T/home XDG_CACHE_HOME= run_preloaded "$T/off.report" "$prog" "$lib"
check_no_stderr "$T/off.report"
[ ! -e "$T/home" ] || fail "ALLOCINFO_CACHE=off created $(find "$T/home")"
mkdir "$T/home"
(cd "$T" && ALLOCINFO_CACHE=relative HOME=$T/home XDG_CACHE_HOME= run_preloaded "$T/rel.report" "$prog" "$lib")
[ "$(cat "$T/rel.report.stderr")" = "allocinfo: ALLOCINFO_CACHE='relative' is not 'off' or an absolute path shorter than PATH_MAX; using the default folder" ] ||
	fail "ALLOCINFO_CACHE=relative: stderr '$(cat "$T/rel.report.stderr")'"
[ -f "$T/home/.cache/allocinfo/$build_id" ] || fail "the default folder \$HOME/.cache/allocinfo was not used"
[ ! -e "$T/relative" ] || fail "a relative ALLOCINFO_CACHE was used"
[ "$(stat -c %a "$T/home/.cache")" = 700 ] && [ "$(stat -c %a "$T/home/.cache/allocinfo")" = 700 ] ||
	fail "default folders made with modes $(stat -c %a "$T/home/.cache" "$T/home/.cache/allocinfo")"
#    The folder made, the next run opens it as it is (no mkdir first)
#    and reads the file there: an answer planted in it shows.
plant_in "$T/home/.cache/allocinfo/$build_id" 'NR == 2 { $4 = "planted_in_default_folder" }'
(unset ALLOCINFO_CACHE; HOME=$T/home XDG_CACHE_HOME= run_preloaded "$T/default.report" "$prog" "$lib")
check_no_stderr "$T/default.report"
check_report_wellformed "$T/default.report"
grep -q ' func:planted_in_default_folder $' "$T/default.report" ||
	fail "a planted answer in the default folder did not show: the folder was not read"
# 8. Answers without line info are cached too, and hold only while the
#    module has no DWARF.  A copy of the program whose debug info lies
#    where libdwfl does not look names its sites MODULE+0xOFFSET:0, the
#    same from the cache (line 0 in the file; a planted function shows);
#    once its .gnu_debuglink file is in BIN/.debug/, the sites have their
#    lines again, and the file keeps them instead.
mkdir -p "$T/nodebug/bin/.debug" "$T/nodebug/elsewhere"
copy=$T/nodebug/bin/callsite_nodebug
debug=$T/nodebug/elsewhere/callsite_nodebug.debug
objcopy --only-keep-debug "$prog" "$debug"
objcopy --strip-debug --add-gnu-debuglink="$debug" "$prog" "$copy"
ALLOCINFO_CACHE=$T/cache2
run_preloaded "$T/nodebug.cold" "$copy" "$lib"
check_report_wellformed "$T/nodebug.cold"
check_no_stderr "$T/nodebug.cold"
grep -q ' callsite_nodebug+0x[0-9a-f]*:0 func:make_name $' "$T/nodebug.cold" ||
	fail "the copy without debug info has no MODULE+0xOFFSET:0 site in make_name"
no_line=$(awk -F '\t' 'NR > 1 && $2 == 0 && $3 ~ /^callsite_nodebug\+0x/' "$T/cache2/$build_id" | wc -l)
[ "$no_line" -gt 0 ] || fail "no answer without line info was cached: $(head -n 3 "$T/cache2/$build_id")"
run_preloaded "$T/nodebug.warm" "$copy" "$lib"
records "$T/nodebug.cold" >"$T/nodebug.cold.records"
records "$T/nodebug.warm" | diff "$T/nodebug.cold.records" - >&2 ||
	fail "the warm run without debug info differs from the cold one"
plant_in "$T/cache2/$build_id" 'NR > 1 && $2 == 0 && $4 == "make_name" { $4 = "planted_no_line" }'
run_preloaded "$T/nodebug.planted" "$copy" "$lib"
grep -q ' func:planted_no_line $' "$T/nodebug.planted" ||
	fail "a planted answer without line info did not show: it was not read"
mv "$debug" "$T/nodebug/bin/.debug/"
run_preloaded "$T/nodebug.found" "$copy" "$lib"
check_marked "$T/nodebug.found"
! grep -q planted_no_line "$T/nodebug.found" ||
	fail "an answer without line info was used though the module has DWARF now"
! grep -q planted_no_line "$T/cache2/$build_id" ||
	fail "the answer without line info was not replaced by the line"

# 9. A warm run answers from the cache by the loader's list of modules
#    and never loads libdw (LD_DEBUG=files lists every library the
#    loader maps); a cold one does.  The library, dlopened through a
#    symlink, keeps its file's name either way.
mkdir "$T/alias"
ln -s "$lib" "$T/alias/libalias.so"
ALLOCINFO_CACHE=$T/cache3
run_preloaded "$T/alias.cold" env LD_DEBUG=files "$prog" "$T/alias/libalias.so"
run_preloaded "$T/alias.warm" env LD_DEBUG=files "$prog" "$T/alias/libalias.so"
grep -q 'file=libdw\.so\.1' "$T/alias.cold.stderr" ||
	fail "the cold run did not load libdw: is LD_DEBUG=files working? $(grep -c file= "$T/alias.cold.stderr") lines"
grep -q 'file=libdw\.so\.1' "$T/alias.warm.stderr" &&
	fail "the warm run loaded libdw though the cache held every site"
grep -q ' \[libcallsite\.so\] ' "$T/alias.warm" ||
	fail "the symlinked library is not named libcallsite.so: $(grep -o '\[[^]]*\]' "$T/alias.warm" | sort -u | tr '\n' ' ')"
records "$T/alias.cold" >"$T/alias.cold.records"
records "$T/alias.warm" | diff "$T/alias.cold.records" - >&2 ||
	fail "the warm run without libdw differs from the cold one"

# 10. An answer made without a line while the module has DWARF holds for
#     good: the program's DWARF covers one unit of its own
#     (tests/programs/dwarf_unit.c) and none of its allocating code, as
#     node's covers a few of its objects.  Its sites are cached with
#     LINE '-', and the warm run answers from the cache, never loading
#     libdw (with LINE 0 it would: the module may have gained DWARF).
partial=$TEST_BIN/callsite/callsite_c_partial_dwarf
partial_id=$(readelf -n "$partial" | awk '/Build ID:/ { print $3 }')
readelf -S "$partial" | grep -q ' \.debug_info ' || fail "$partial has no .debug_info"
ALLOCINFO_CACHE=$T/cache4
run_preloaded "$T/partial.cold" env LD_DEBUG=files "$partial" "$lib"
grep -q ' callsite_c_partial_dwarf+0x[0-9a-f]*:0 func:make_name $' "$T/partial.cold" ||
	fail "the program with DWARF of one unit has no MODULE+0xOFFSET:0 site in make_name"
grep -q 'file=libdw\.so\.1' "$T/partial.cold.stderr" || fail "the cold run did not load libdw"
searched=$(awk -F '\t' 'NR > 1 && $2 == "-" && $3 ~ /^callsite_c_partial_dwarf\+0x/' \
	"$T/cache4/$partial_id" | wc -l)
[ "$searched" -gt 0 ] || fail "no site cached with LINE '-': $(sed -n 2,4p "$T/cache4/$partial_id")"
awk -F '\t' 'NR > 1 && $3 ~ /^callsite_c_partial_dwarf\+0x/ && $2 != "-"' "$T/cache4/$partial_id" |
	grep . >&2 && fail "a site of the program without a line is cached without '-'"
run_preloaded "$T/partial.warm" env LD_DEBUG=files "$partial" "$lib"
grep -q 'file=libdw\.so\.1' "$T/partial.warm.stderr" &&
	fail "the warm run loaded libdw though the cache held every site, with LINE '-'"
records "$T/partial.cold" >"$T/partial.cold.records"
records "$T/partial.warm" | diff "$T/partial.cold.records" - >&2 ||
	fail "the warm run of the program with DWARF of one unit differs from the cold one"
#     The sites the cache lacks are named by scanning the ELF symbols
#     (the first few of a module, symbol_scan), the others from the
#     sorted table: the cold run's last sites came from the table, and
#     with their lines gone from the cache they come from scans, with
#     the same names.
lines=$(wc -l <"$T/cache4/$partial_id")
{ head -n $((lines - 3)) "$T/cache4/$partial_id"; } >"$T/cut"
cat "$T/cut" >"$T/cache4/$partial_id"
run_preloaded "$T/partial.scanned" "$partial" "$lib"
records "$T/partial.scanned" | diff "$T/partial.cold.records" - >&2 ||
	fail "the sites named by scanning the symbols differ from the table's names"
[ "$(wc -l <"$T/cache4/$partial_id")" -eq "$lines" ] ||
	fail "the scanned sites were not cached again"
plant_in "$T/cache4/$partial_id" 'NR > 1 && $2 == "-" && $4 == "make_name" { $4 = "planted_searched" }'
run_preloaded "$T/partial.planted" "$partial" "$lib"
grep -q ' func:planted_searched $' "$T/partial.planted" ||
	fail "a planted answer with LINE '-' did not show: it was not read"

echo "ok: $sites sites cached; warm, planted, other config, corrupt, symlinks, shared folder, off; $no_line without line info; warm without libdw; $searched without a line in DWARF"
test_done

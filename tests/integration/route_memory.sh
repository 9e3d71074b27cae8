#!/bin/sh
# The router's memory on disk (preload/route_memory.h): a run keeps what
# it learned of its sites by build-id; the next run reads it and writes
# the same report, with stacks too; the memory is really read (a planted
# answer routes the site); a second run confirms an offset measured once;
# a corrupt file, or one made with another wrapper list, is not used and
# is replaced; a symlink in its place is not followed; off writes none.
set -eu
. "$TEST_SRC/lib.sh"
test_init

. "$TEST_SRC/lib_caches.sh"
file=$T/cache/$build_id.routes

# The file's line for my_wrapper's call to malloc: the one site of the
# program that the classifier calls a wrapper.
wrapper_line() { awk -F '\t' 'NR > 1 && $2 == "wrapper"' "$file"; }

# 1. Cold: the file exists, private, with a header and the wrapper site,
#    whose caller offset was measured once (my_wrapper is called once).
run_preloaded "$T/cold" "$prog" "$lib"
check_marked "$T/cold"
check_cache_file "$file" allocinfo-routes 5
sed 1d "$file" | grep -Evq '^[0-9a-f]+	(own|wrapper|anonymous)	(-|self|unwind)	(-|varies|(outermost|[1-9][0-9]*)\??)$' &&
	fail "a line out of format: $(sed 1d "$file" | grep -Ev '^[0-9a-f]+	(own|wrapper|anonymous)	(-|self|unwind)	(-|varies|(outermost|[1-9][0-9]*)\??)$' | head -n 1)"
[ "$(wrapper_line | wc -l)" -eq 1 ] || fail "not one wrapper site: $(cat "$file")"
wrapper_line | grep -Eq '	[1-9][0-9]*\?$' ||
	fail "the wrapper's caller offset, measured once, is not N?: $(wrapper_line)"
sorted=$(sed 1d "$file" | cut -f 1 | while read -r h; do printf '%d\n' "0x$h"; done)
[ "$sorted" = "$(printf '%s\n' "$sorted" | sort -n -u)" ] || fail "offsets not in order, or repeated"

# 2. Warm: the same records; the second measurement confirms the offset.
run_preloaded "$T/warm" "$prog" "$lib"
check_marked "$T/warm"
records "$T/cold" >"$T/cold.records"
records "$T/warm" | diff "$T/cold.records" - >&2 || fail "the warm run's records differ from the cold run's"
wrapper_line | grep -Eq '	[1-9][0-9]*$' || fail "a second run did not confirm the offset: $(wrapper_line)"
run_preloaded "$T/warmer" "$prog" "$lib"
records "$T/warmer" | diff "$T/cold.records" - >&2 || fail "a run with a confirmed offset differs"

# 3. The memory is what the run read: the wrapper site planted as code of
#    its own is charged to itself, though the symbols call it a wrapper.
plant_in "$file" 'NR > 1 && $2 == "wrapper" { $2 = "own"; $4 = "-" }'
run_preloaded "$T/planted.report" "$prog" "$lib"
grep -Eq '^ +50 +1 .* func:my_wrapper $' "$T/planted.report" ||
	fail "a planted answer did not route the site: the memory was not read"

# 4. Another wrapper list: that file is not read, and is replaced.
ALLOCINFO_WRAPPERS=my_wrapper,inline_wrapper,nothing_else \
	run_preloaded "$T/other_config" "$prog" "$lib"
grep -q 'func:my_wrapper $' "$T/other_config" && fail "a file made with another ALLOCINFO_WRAPPERS was read"
[ "$(wrapper_line | wc -l)" -eq 1 ] || fail "the other config's file was not replaced"

# 5. A corrupt line in place of the first site's is not used (the site
#    is learned again) and the file is written anew; a bad offset,
#    offsets out of order or repeated, and the file is not used at all.
#    A cut last line: below.
run_preloaded "$T/again" "$prog" "$lib"
first=$(sed -n 2p "$file" | cut -f 1)
for corrupt in "zz\town\t-\t-" "$first\tmine\t-\t-" "$first\town\tsideways\t-" "$first\town\t-\t08" \
	"$first\town\t-\t-1" "$first\town\t-\t2147483647" "$first\town\t-\toutermost!" \
	"$first\town\t-" "$first\town\t-\t-\t-"; do
	{ head -n 1 "$file"; printf "$corrupt\n"; sed 1,2d "$file"; } >"$T/corrupt"
	cat "$T/corrupt" >"$file"
	run_preloaded "$T/corrupt.report" "$prog" "$lib"
	records "$T/corrupt.report" | diff "$T/cold.records" - >&2 ||
		fail "with the corrupt line '$corrupt' the report changed"
	cmp -s "$T/corrupt" "$file" && fail "the file with '$corrupt' was kept"
done
second=$(sed -n 2p "$file")
third=$(sed -n 3p "$file")
for order in swapped repeated; do
	if [ $order = swapped ]; then
		{ head -n 1 "$file"; printf '%s\n%s\n' "$third" "$second"; sed 1,3d "$file"; } >"$T/corrupt"
	else
		{ head -n 1 "$file"; printf '%s\n' "$second"; sed 1d "$file"; } >"$T/corrupt"
	fi
	cat "$T/corrupt" >"$file"
	run_preloaded "$T/corrupt.report" "$prog" "$lib"
	records "$T/corrupt.report" | diff "$T/cold.records" - >&2 ||
		fail "with lines $order the report changed"
	cmp -s "$T/corrupt" "$file" && fail "the file with lines $order was kept"
	[ "$(sed -n 2p "$file")" = "$second" ] && [ "$(sed -n 3p "$file")" = "$third" ] ||
		fail "the file with lines $order was not written anew in order"
done
# 6. Cut short, or a symlink in its place.
check_cache_file_guards "$file" '10\town\t-' "$T/cold.records" "$prog" "$lib"

# 7. Stacks: a cold and a warm run give the same chains.
ALLOCINFO_CACHE=$T/cache3 ALLOCINFO_DEPTH=3 run_preloaded "$T/depth.cold" "$prog" "$lib"
ALLOCINFO_CACHE=$T/cache3 ALLOCINFO_DEPTH=3 run_preloaded "$T/depth.warm" "$prog" "$lib"
check_report_wellformed "$T/depth.warm"
records "$T/depth.cold" >"$T/depth.cold.records"
records "$T/depth.warm" | diff "$T/depth.cold.records" - >&2 ||
	fail "with ALLOCINFO_DEPTH=3 the warm run's records differ from the cold run's"
grep -q 'func:depth_c stack:' "$T/depth.warm" || fail "no chain of depth_c in the warm run"

# 8. off: no file.
ALLOCINFO_CACHE=off HOME=$T/home XDG_CACHE_HOME= run_preloaded "$T/off.report" "$prog" "$lib"
[ ! -e "$T/home" ] || fail "ALLOCINFO_CACHE=off created $(find "$T/home")"

echo "ok: $(($(wc -l <"$T/cache3/$build_id.routes") - 1)) sites remembered with stacks; cold = warm, confirmed, planted, other config, corrupt, symlink, off"
test_done

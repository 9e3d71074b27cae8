# The caches' tests (site_cache.sh, route_memory.sh, function_cache.sh),
# sourced after tests/lib.sh: each runs callsite_c with its wrapper list
# and a cache folder of its own, and checks its markers.  A test of a
# build of callsite_c without a build-id sets prog and no_build_id=1
# first.

prog=${prog:-$TEST_BIN/programs/callsite_c}
lib=$TEST_BIN/programs/.libs/libcallsite.so
src=$TEST_SRC/programs/callsite_c.c
ALLOCINFO_WRAPPERS=my_wrapper,inline_wrapper
export ALLOCINFO_WRAPPERS
ALLOCINFO_CACHE=$T/cache
export ALLOCINFO_CACHE

build_id=$(readelf -n "$prog" | awk '/Build ID:/ { print $3 }')
if [ -n "${no_build_id:-}" ]; then
	[ -z "$build_id" ] || fail "$prog has a build-id"
else
	[ -n "$build_id" ] || fail "$prog has no build-id"
fi

records() { grep -v '^#' "$1"; }

# check_cache_file FILE MAGIC FORMAT: FILE was left by the run, private
# to the user (mode 600), and its header line is "MAGIC FORMAT VERSION
# CONFIG" (report/cache_dir.h), FORMAT an extended regular expression.
check_cache_file()
{
	[ -f "$1" ] || fail "no $1 after the first run: $(ls -la "${1%/*}" 2>&1)"
	[ "$(stat -c %a "$1")" = 600 ] || fail "${1##*/}: mode $(stat -c %a "$1"), not 600"
	head -n 1 "$1" | grep -Eq "^$2 $3 [^ ]+ [0-9a-f]{16}\$" ||
		fail "${1##*/}: header '$(head -n 1 "$1")'"
}

# check_marked REPORT: the markers' exact sites, bytes and calls.
check_marked()
{
	check_report_wellformed "$1"
	check_expect_markers "$src" "$1"
	check_expect_markers "$TEST_SRC/programs/callsite_inline.h" "$1"
	check_no_stderr "$1"
}

# plant_in FILE AWK: rewrites the cache FILE in place (the same inode, as
# a process that had it open would see) with AWK's changes to its
# tab-separated fields.
plant_in()
{
	awk -F '\t' 'BEGIN { OFS = "\t" } '"$2"' { print }' "$1" >"$T/planted" &&
		cat "$T/planted" >"$1"
}

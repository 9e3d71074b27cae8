# More report checks for the integration tests, sourced after
# tests/lib.sh: markers that differ between variants of a run, the
# report's metadata, and tags that must never appear.
#
# A source line may carry, after its EXPECT marker, the expectation
# that replaces it in one variant of the run (a mode, a process):
#
#   p = mmap(...); /* EXPECT: 8192 1 */ /* EXPECT(none): none */
#
# EXPECT(NAME): has the syntax of EXPECT: and is invisible to
# check_expect_markers itself.  Lines without an EXPECT(NAME): keep their
# EXPECT: marker in variant NAME.

# expect_variant NAME SOURCE: prints the path of a copy of SOURCE (same
# file name, in $T/variant-NAME/) whose EXPECT markers are variant
# NAME's, for check_expect_markers.  Fails if SOURCE names no
# EXPECT(NAME): at all (a misspelled variant would check nothing new).
expect_variant()
{
	ev_dir=$T/variant-$1
	ev_copy=$ev_dir/${2##*/}
	grep -q "/\* EXPECT($1):" "$2" || fail "${2##*/} has no EXPECT($1): marker"
	mkdir -p "$ev_dir"
	sed -E "s#/\\* EXPECT:[^*]*\\*/(.*)/\\* EXPECT\\($1\\):([^*]*)\\*/#/* EXPECT:\\2*/\\1#" \
		"$2" >"$ev_copy"
	printf '%s\n' "$ev_copy"
}

# meta REPORT KEY: the value of the report's "# KEY: VALUE" line, or
# nothing if it has none.
meta()
{
	awk -v k="# $2:" 'index($0, k) == 1 { print $3; exit }' "$1"
}

# check_no_internal_tags REPORT: no record names the profiler's own
# code or jemalloc, whose memory is the profiler's.  Every source file
# of the profiler (core/, report/, preload/) is in liballocinfo.so, so
# its records name that module.
check_no_internal_tags()
{
	ci_bad=$(grep -v '^#' "$1" | sed 1d |
		grep -E 'liballocinfo|libjemalloc' |
		head -5) || :
	[ -z "$ci_bad" ] || fail_later "${1##*/} has records of the profiler's own code:
$ci_bad"
}

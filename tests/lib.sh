# Helpers for the integration tests; sourced by tests/integration/*.sh.
#
# The environment (set by tests/Makefile.inc) names the built pieces:
#   ALLOCINFO_LIB   the preload library (.libs/liballocinfo.so)
#   ALLOCINFO_TOOL  the allocinfo tool
#   TEST_BIN        the build's tests/ directory (programs in programs/)
#   TEST_SRC        the source tests/ directory (EXPECT markers)
#
# EXPECT markers.  A line of a test program's source that calls an
# allocation function says what its tag must show in the report at exit:
#
#   p = malloc(100); /* EXPECT: 100 1 */
#
# BYTES CALLS are exact (a site in a loop states the total of its live
# blocks; a site whose blocks were all freed states 0 0).  EXPECT: none
# means the line must have no record at all: the call allocated nothing
# (it failed, or was realloc(p, 0)).  After the two numbers, optional
# words tighten the match:
#   [MODULE]      the record must name this module; without it the
#                 record must name none (the site is in the executable)
#   accurate:no   the record must be marked accurate:no; without it, it
#                 must not be
#   func:NAME     the record's function must be NAME
# BYTES or CALLS may be @NAME, a value the program printed at run time
# (see check_expect_markers' third argument).
#
# check_expect_markers fails on a marker whose line has no record or a
# record with other values, on two records for one line, and on a
# record for the source file at a line without a marker: nothing in the
# report for the program's own source goes unchecked.

set -eu

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

# A failure that should not hide the checks after it: reported now,
# and test_done exits 1.
failed_later=
fail_later()
{
	echo "FAIL: $*" >&2
	failed_later=1
}

# The end of every test script.
test_done()
{
	[ -z "$failed_later" ] || exit 1
	exit 0
}

# Every variable the tests need, and a temporary directory $T removed on
# exit.  $T is a physical path (no symlinks in it), so it compares equal
# to paths the tool makes absolute with getcwd().
test_init()
{
	: "${ALLOCINFO_LIB:?not set: run the tests with make check}"
	: "${ALLOCINFO_TOOL:?not set: run the tests with make check}"
	: "${TEST_BIN:?not set: run the tests with make check}"
	: "${TEST_SRC:?not set: run the tests with make check}"
	[ -f "$ALLOCINFO_LIB" ] || fail "no preload library at $ALLOCINFO_LIB"
	T=$(mktemp -d "${TMPDIR:-/tmp}/allocinfo-test.XXXXXX")
	trap 'rm -rf "$T"' EXIT
	trap 'exit 1' HUP INT TERM
	T=$(cd "$T" && pwd -P)
	# Each test starts with an empty symbolizer cache of its own: what a
	# test shows about symbolization then comes from the binaries it runs,
	# not from another test's runs (report/site_cache.h).
	ALLOCINFO_CACHE=$T/site-cache
	export ALLOCINFO_CACHE
}

# run_native PROG ARGS...: runs a test program without the preload; it
# must pass its own checks, which shows they hold for glibc itself.
run_native()
{
	rn_status=0
	"$@" >"$T/native.stdout" 2>"$T/native.stderr" || rn_status=$?
	if [ "$rn_status" -ne 0 ]; then
		cat "$T/native.stderr" >&2
		fail "$1 failed its own checks without the preload (exit $rn_status)"
	fi
}

# run_preloaded REPORT PROG ARGS...: runs PROG with the library
# preloaded and its report written to REPORT; its stdout and stderr go
# to REPORT.stdout and REPORT.stderr.  Variables the caller exports
# (ALLOCINFO_SIZE, ...) pass through.  The program must exit 0 (its own
# checks passed) and leave a report.  If its checks failed but it left
# a report, the test goes on to check the report and fails at the end.
run_preloaded()
{
	rp_report=$1
	shift
	rm -f "$rp_report"
	rp_status=0
	ALLOCINFO_OUTPUT=$rp_report LD_PRELOAD=$ALLOCINFO_LIB "$@" \
		>"$rp_report.stdout" 2>"$rp_report.stderr" || rp_status=$?
	if [ "$rp_status" -ne 0 ]; then
		cat "$rp_report.stderr" >&2
		[ -s "$rp_report" ] || fail "$1 failed under the preload (exit $rp_status) and left no report"
		fail_later "$1 failed under the preload (exit $rp_status)"
	fi
	[ -s "$rp_report" ] || fail "$1 left no report at $rp_report"
}

# check_cache_file_guards FILE LINE RECORDS CMD...: a cache FILE cut
# short (LINE appended with no newline) changes no record of CMD's report
# (RECORDS: its records from a run with a good file) and is rewritten;
# a symlink in its place is neither followed nor written through.
check_cache_file_guards()
{
	cg_file=$1
	printf '%b' "$2" >>"$cg_file"
	cg_records=$3
	shift 3
	run_preloaded "$T/cut.report" "$@"
	grep -v '^#' "$T/cut.report" | diff "$cg_records" - >&2 ||
		fail "a cut ${cg_file##*/} changed the report"
	[ "$(tail -c 1 "$cg_file" | od -An -c | tr -d ' ')" = '\n' ] ||
		fail "a cut ${cg_file##*/} was kept"
	echo "not a cache" >"$T/victim"
	rm -f "$cg_file"
	ln -s "$T/victim" "$cg_file"
	run_preloaded "$T/symlink.report" "$@"
	grep -v '^#' "$T/symlink.report" | diff "$cg_records" - >&2 ||
		fail "a symlinked ${cg_file##*/} changed the report"
	[ "$(cat "$T/victim")" = "not a cache" ] || fail "the symlink's target was written"
	rm -f "$cg_file"
}

# check_no_stderr REPORT: the preloaded run printed nothing on stderr.
check_no_stderr()
{
	[ -s "$1.stderr" ] || return 0
	fail_later "the preloaded run that wrote ${1##*/} printed on stderr:
$(head -n 5 "$1.stderr")"
}

# check_runs_agree PROG SOURCE...: PROG preloaded three times, cold,
# warm and warmer (the route memory and the caches of the runs before),
# each report matching the EXPECT markers of every SOURCE, with nothing
# on stderr, and every record, libc's included, the same as the cold
# run's: a frame the rule looks at is never listed in one run and not in
# the next.  The reports are $T/cold, $T/warm and $T/warmer.
check_runs_agree()
{
	cr_prog=$1
	shift
	for cr_run in cold warm warmer; do
		run_preloaded "$T/$cr_run" "$cr_prog"
		for cr_src in "$@"; do
			check_expect_markers "$cr_src" "$T/$cr_run"
		done
		check_no_stderr "$T/$cr_run"
		grep -v '^#' "$T/$cr_run" >"$T/$cr_run.records"
		[ "$cr_run" = cold ] || diff "$T/cold.records" "$T/$cr_run.records" >&2 ||
			fail "the $cr_run run's records differ from the cold run's"
	done
}

# check_report_wellformed REPORT: the kernel's header, every record in
# the allocinfo 2.0 format, records in the report's order (largest size
# first, then more calls, then by FILE and LINE: report/writer.c's
# compare_entries, whose later keys are not checked here), and the
# # total_bytes and # total_calls lines equal to the sums of the records.
check_report_wellformed()
{
	cw_report=$1
	[ "$(sed -n 1p "$cw_report")" = "allocinfo - version: 2.0" ] ||
		fail "$cw_report: line 1 is '$(sed -n 1p "$cw_report")', not the allocinfo 2.0 header"
	[ "$(sed -n 2p "$cw_report")" = "#     <size>  <calls> <tag info>" ] ||
		fail "$cw_report: line 2 is '$(sed -n 2p "$cw_report")', not the column header"
	cw_bad=$(sed 1d "$cw_report" | grep -v '^#' |
		grep -Ev '^ *-?[0-9]+ +[0-9]+ [^ ]+:[0-9]+( \[[^]]+\])? func:.+ $' | head -3) || :
	[ -z "$cw_bad" ] || fail "$cw_report: records not in the allocinfo format:
$cw_bad"
	LC_ALL=C awk '
		NR <= 2 || /^#/ { if ($1 == "#" && $2 == "total_bytes:") tb = $3
				  if ($1 == "#" && $2 == "total_calls:") tc = $3
				  next }
		{ n++; bytes += $1; calls += $2
		  file = $3; line = 0
		  if (match(file, /:[0-9]+$/)) {
			line = substr(file, RSTART + 1) + 0
			file = substr(file, 1, RSTART - 1)
		  }
		  if (n > 1 && $1 + 0 > prev) {
			printf "record %d (%s) is larger than the one before (%s): not sorted\n", n, $0, prev
			bad = 1
		  } else if (n > 1 && $1 + 0 == prev && $2 + 0 > prevc) {
			printf "record %d (%s) has more calls than the one before, of its size: not sorted\n", n, $0
			bad = 1
		  } else if (n > 1 && $1 + 0 == prev && $2 + 0 == prevc &&
			     (file < pfile || (file == pfile && line < pline))) {
			printf "record %d (%s) comes before %s:%d by its file and line: not sorted\n", n, $0, pfile, pline
			bad = 1
		  }
		  prev = $1 + 0; prevc = $2 + 0; pfile = file; pline = line }
		END {
			if (tb == "" || tc == "") { print "no # total_bytes or # total_calls line"; exit 1 }
			if (tb + 0 != bytes) { printf "# total_bytes: %s, but the records sum to %.0f\n", tb, bytes; bad = 1 }
			if (tc + 0 != calls) { printf "# total_calls: %s, but the records sum to %.0f\n", tc, calls; bad = 1 }
			if (n == 0) { print "no records"; bad = 1 }
			exit bad
		}' "$cw_report" >"$T/wellformed.out" ||
		fail "$cw_report: $(cat "$T/wellformed.out")"
}

# check_expect_markers SOURCE REPORT [VARS]: the report's records for
# SOURCE (matched by file name) against SOURCE's EXPECT markers.  VARS
# is a file of "NAME VALUE" lines giving the @NAME values.
check_expect_markers()
{
	ce_src=$1
	ce_report=$2
	ce_vars=${3:-/dev/null}
	[ -f "$ce_src" ] || fail "no source file $ce_src"
	awk -v base="${ce_src##*/}" -v vars="$ce_vars" -v src="$ce_src" -v report="$ce_report" '
		function complain(msg) { print "FAIL: " msg; bad = 1 }
		# The value of a marker field: a number, or @NAME from VARS.
		function value(v, line) {
			if (v ~ /^@/) {
				if (!(substr(v, 2) in var)) {
					complain(base ":" line ": marker uses " v ", which the program did not print")
					return "?"
				}
				return var[substr(v, 2)]
			}
			return v
		}
		FILENAME == vars { var[$1] = $2; next }
		FILENAME == src {
			if (!match($0, /\/\* EXPECT:[^*]*\*\//))
				next
			spec = substr($0, RSTART + 10, RLENGTH - 12)
			n = split(spec, w, " ")
			line = FNR
			text[line] = $0
			sub(/^[ \t]+/, "", text[line])
			if (n == 1 && w[1] == "none") { none[line] = 1; next }
			if (n < 2) { complain(base ":" line ": bad marker: " $0); next }
			if (w[1] !~ /^(-?[0-9]+|@[A-Za-z0-9_]+)$/ || w[2] !~ /^([0-9]+|@[A-Za-z0-9_]+)$/) {
				complain(base ":" line ": bad marker: " $0)
				next
			}
			want_bytes[line] = value(w[1], line)
			want_calls[line] = value(w[2], line)
			want_module[line] = ""
			want_inacc[line] = 0
			want_func[line] = ""
			for (i = 3; i <= n; i++) {
				if (w[i] ~ /^\[.*\]$/) want_module[line] = w[i]
				else if (w[i] == "accurate:no") want_inacc[line] = 1
				else if (w[i] ~ /^func:/) want_func[line] = substr(w[i], 6)
				else complain(base ":" line ": unknown word " w[i] " in marker: " $0)
			}
			expected[line] = 1
			next
		}
		# A record: BYTES CALLS FILE:LINE [MODULE] func:NAME[ accurate:no]
		FILENAME == report && !/^#/ && FNR > 1 {
			loc = $3
			if (!match(loc, /:[0-9]+$/))
				next
			file = substr(loc, 1, RSTART - 1)
			line = substr(loc, RSTART + 1) + 0
			if (file != base && substr(file, length(file) - length(base)) != "/" base)
				next
			if (line in record) {
				complain("two records for " base ":" line ":\n  " record[line] "\n  " $0)
				next
			}
			record[line] = $0
			bytes[line] = $1
			calls[line] = $2
			module[line] = ($4 ~ /^\[/) ? $4 : ""
			inacc[line] = / accurate:no $/ ? 1 : 0
			f = $0
			sub(/^.* func:/, "", f)
			sub(/ accurate:no $/, "", f)
			sub(/ $/, "", f)
			# Extras (" stack:..."): KEY:VALUE with a single colon.
			while (match(f, / [a-z_][a-z0-9_]*:[^: ]+$/))
				f = substr(f, 1, RSTART - 1)
			fname[line] = f
		}
		END {
			for (line in expected) {
				want = want_bytes[line] " " want_calls[line]
				if (want_module[line] != "") want = want " " want_module[line]
				if (want_func[line] != "") want = want " func:" want_func[line]
				if (want_inacc[line]) want = want " accurate:no"
				if (!(line in record)) {
					complain(base ":" line ": expected " want ", but the report has no record for this line\n  source: " text[line])
					continue
				}
				if (bytes[line] != want_bytes[line] || calls[line] != want_calls[line] ||
				    module[line] != want_module[line] || inacc[line] != want_inacc[line] ||
				    (want_func[line] != "" && fname[line] != want_func[line]))
					complain(base ":" line ": expected " want "\n  source: " text[line] "\n  report: " record[line])
			}
			for (line in none)
				if (line in record)
					complain(base ":" line ": expected no record (EXPECT: none)\n  source: " text[line] "\n  report: " record[line])
			for (line in record)
				if (!(line in expected) && !(line in none))
					complain(base ":" line ": the report has a record for a line with no EXPECT marker\n  report: " record[line])
			exit bad
		}' "$ce_vars" "$ce_src" "$ce_report" >"$T/markers.out" || {
		cat "$T/markers.out" >&2
		fail "$ce_report does not match the EXPECT markers of $ce_src"
	}
	echo "ok: $ce_report matches the $(grep -c '/\* EXPECT:' "$ce_src") EXPECT markers of ${ce_src##*/}"
}

# The tool's tests: each step runs a command and keeps its output by
# NAME, then checks that output exactly.  A failed check is reported at
# once and the script goes on (fail_later), so one run shows them all.

# marker_line SRC MARKER: the number of the line of SRC that holds the
# comment /* MARKER */ (a chain's DEPTH: 1, say); fails if none does.
marker_line()
{
	ml_line=$(grep -n "/\* $2 \*/" "$1" | head -1 | cut -d: -f1)
	[ -n "$ml_line" ] || fail "no /* $2 */ marker in $1"
	echo "$ml_line"
}

# run_capture NAME STATUS CMD...: runs CMD with stdout in $T/NAME.out
# and stderr in $T/NAME.err; its exit status must be STATUS.
run_capture()
{
	rc_name=$1
	rc_want=$2
	shift 2
	rc_status=0
	"$@" >"$T/$rc_name.out" 2>"$T/$rc_name.err" || rc_status=$?
	if [ "$rc_status" != "$rc_want" ]; then
		fail_later "$rc_name: exit status $rc_status, expected $rc_want"
		sed 's/^/  stderr: /' "$T/$rc_name.err" >&2
	fi
}

# check_output NAME WHAT FILE: $T/NAME.WHAT (WHAT is out or err) has
# exactly FILE's content.
check_output()
{
	diff -u "$3" "$T/$1.$2" >&2 || fail_later "$1: unexpected std$2"
}

# check_output_is NAME WHAT TEXT: $T/NAME.WHAT is the one line TEXT.
check_output_is()
{
	printf '%s\n' "$3" >"$T/output.expected"
	check_output "$1" "$2" "$T/output.expected"
}

# check_output_empty NAME WHAT: $T/NAME.WHAT is empty.
check_output_empty()
{
	[ -s "$T/$1.$2" ] || return 0
	fail_later "$1: std$2 not empty"
	sed 's/^/  /' "$T/$1.$2" >&2
}

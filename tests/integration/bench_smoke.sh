#!/bin/sh
# bench/run at its smallest: --quick, one round, the sqlite3 workload
# under every configuration.  It must exit 0, print the report it
# writes, and the report must have the wall-time and peak-RSS tables
# with one column per configuration and one sqlite3 row of figures
# (n/a for a configuration this machine lacks, such as heaptrack).
# The figures themselves are not checked: `make bench` is the
# benchmark, this only keeps its harness working.  Then bench/alternate
# (the A/B script), for its output's shape.
set -eu
. "$TEST_SRC/lib.sh"
test_init

build=${ALLOCINFO_LIB%/.libs/liballocinfo.so}
status=0
"$TEST_SRC/../bench/run" --build "$build" --quick --rounds 1 --only sqlite3 \
	--output "$T/bench.md" >"$T/stdout" 2>"$T/stderr" || status=$?
[ "$status" -eq 0 ] || {
	cat "$T/stderr" >&2
	fail "bench/run exited $status"
}
[ -s "$T/bench.md" ] || fail "bench/run wrote no report to --output"
cmp -s "$T/bench.md" "$T/stdout" || fail "bench/run printed something else than it wrote"

grep -q '^## allocinfo benchmark, [0-9-]* [0-9:]* UTC$' "$T/bench.md" ||
	fail "no dated title"
grep -q '^- Machine: [0-9][0-9]* cores (`nproc`), .*, Linux ' "$T/bench.md" ||
	fail "no machine line (nproc, CPU, kernel)"

header='| workload | uninstrumented | jemalloc | allocinfo | allocinfo depth 4 | allocinfo, cold cache | heaptrack |'
for title in '### Wall time' '### Peak RSS'; do
	# The table under the title: its header, then one sqlite3 row whose
	# first cell is the uninstrumented figure and the others ratios.
	awk -v title="$title" -v header="$header" '
		index($0, title) == 1 { in_table = 1; next }
		in_table && /^### / { exit }
		in_table && $0 == header { saw_header = 1 }
		in_table && /^\| / && $0 != header { rows++; row = $0 }
		END {
			if (!saw_header) { print "no header " header; exit 1 }
			if (rows != 1) { print rows " rows, not 1"; exit 1 }
			n = split(row, cell, / \| /)
			if (n != 7) { print "row has " n " cells: " row; exit 1 }
			if (cell[1] != "| sqlite3") { print "row is not sqlite3: " row; exit 1 }
			if (cell[2] !~ /^[0-9.]+ (s|MiB)$/) { print "bad first figure: " row; exit 1 }
			for (i = 3; i <= 7; i++) {
				sub(/ \|$/, "", cell[i])
				if (cell[i] !~ /^([0-9]+\.[0-9][0-9]|n\/a)$/) { print "bad ratio " cell[i] ": " row; exit 1 }
			}
		}' "$T/bench.md" >"$T/check" || fail "$title table: $(cat "$T/check")"
done
# jemalloc and allocinfo are always installed here: they ran.
grep -q '^| sqlite3 | [0-9.]* s | [0-9]' "$T/bench.md" || fail "jemalloc did not run"
grep -q '^| sqlite3 | [0-9.]* s | [0-9.]* | [0-9]' "$T/bench.md" || fail "allocinfo did not run"
grep -q '^### allocinfo against plain jemalloc' "$T/bench.md" || fail "no paired jemalloc table"
grep -q '^### Issue 6 targets' "$T/bench.md" || fail "no targets table"

# bench/alternate, two rounds uninstrumented and under allocinfo: with
# --micro, of a command that prints a bench/micro cell's line (the cell,
# a median (min-max) per library, and the ratio to the first for the
# second), where the second configuration's own environment
# (LIB%VAR=VALUE) sets the cell's figure; without, of true(1) (wall and
# CPU seconds and peak RSS, the same shape, where the ratio may be n/a:
# true can take no CPU time that the kernel counts).
"$TEST_SRC/../bench/alternate" --rounds 2 --micro none "$ALLOCINFO_LIB%CELL_NS=15.00" -- \
	sh -c 'echo "threads=1 sites=shared size=16 ns=${CELL_NS:-7.50} pairs=64"' \
	>"$T/alternate" 2>&1 || fail "bench/alternate --micro failed: $(cat "$T/alternate")"
"$TEST_SRC/../bench/alternate" --rounds 2 none "$ALLOCINFO_LIB" -- true \
	>>"$T/alternate" 2>&1 || fail "bench/alternate failed: $(cat "$T/alternate")"
awk -v lib="$ALLOCINFO_LIB" '
	function figure(line, name) {
		return index(line, "  " name " ") == 1 && line ~ / [0-9.]+ \([0-9.]+-[0-9.]+\)/
	}
	NR % 3 == 1 && $0 != (NR == 1 ? "threads=1 sites=shared size=16" : NR == 4 ? "wall s" : NR == 7 ? "cpu s" : "peak RSS MiB") { print "title: " $0; exit 1 }
	NR % 3 == 2 && !figure($0, "none") { print "first: " $0; exit 1 }
	NR % 3 == 0 && (!figure($0, NR == 3 ? lib "%CELL_NS=15.00" : lib) || $0 !~ / ratio to the first ([0-9.]+ \([0-9.]+-[0-9.]+\)|n\/a)$/) { print "second: " $0; exit 1 }
	NR == 3 && $0 !~ / 15\.000 \(15\.000-15\.000\)  ratio to the first 2\.00 \(2\.00-2\.00\)$/ { print "the cell ratio: " $0; exit 1 }
	NR == 2 && $0 !~ / 7\.500 \(7\.500-7\.500\)$/ { print "the cell ns: " $0; exit 1 }
	END { if (NR != 12) { print NR " lines"; exit 1 } }' "$T/alternate" >"$T/check" ||
	fail "bench/alternate output: $(cat "$T/check")"
# A setting that is not VAR=VALUE is named.
"$TEST_SRC/../bench/alternate" --rounds 1 "none%CELL_NS" -- true >"$T/bad" 2>&1 &&
	fail "bench/alternate took none%CELL_NS"
grep -q "none%CELL_NS: 'CELL_NS' is not VAR=VALUE" "$T/bad" ||
	fail "bench/alternate, a bad setting: $(cat "$T/bad")"
test_done

#!/bin/sh
# Real programs under the preload: python3 (its own allocator and
# PYTHONMALLOC=malloc), perl and sqlite3 run workloads that allocate a
# lot (dicts, lists, json, regular expressions, sorting, hashes, a
# table filled by a recursive CTE, an index, GROUP BY).  With and
# without the preload, stdout, stderr and the exit status must be
# identical byte for byte (the workloads end with a message on stderr
# and a non-zero status on purpose), and the report must be well-formed
# and readable by `allocinfo top`.
set -eu
. "$TEST_SRC/lib.sh"
test_init

: "${ALLOCINFO_TOOL:?not set: run the tests with make check}"
[ -x "$ALLOCINFO_TOOL" ] || fail "no allocinfo tool at $ALLOCINFO_TOOL"

missing=

# compare NAME PROG ARGS... (stdin from $T/NAME.stdin if it exists)
compare()
{
	name=$1
	shift
	input=/dev/null
	[ -f "$T/$name.stdin" ] && input=$T/$name.stdin

	native=0
	"$@" <"$input" >"$T/$name.native.out" 2>"$T/$name.native.err" || native=$?
	preloaded=0
	ALLOCINFO_OUTPUT=$T/$name.report LD_PRELOAD=$ALLOCINFO_LIB "$@" <"$input" \
		>"$T/$name.preload.out" 2>"$T/$name.preload.err" || preloaded=$?

	[ "$native" -eq "$preloaded" ] ||
		fail "$name: exit status $preloaded under the preload, $native without"
	for stream in out err; do
		cmp -s "$T/$name.native.$stream" "$T/$name.preload.$stream" || {
			diff "$T/$name.native.$stream" "$T/$name.preload.$stream" | head -20 >&2
			fail "$name: std$stream differs under the preload (diff above: < without, > with)"
		}
	done
	[ -s "$T/$name.native.out" ] || fail "$name: the workload printed nothing; it did not run"
	check_report_wellformed "$T/$name.report"
	[ "$(grep -cv '^#' "$T/$name.report")" -gt 10 ] ||
		fail "$name: the report has 10 records or fewer"
	tool=0
	"$ALLOCINFO_TOOL" top -n 5 "$T/$name.report" >"$T/$name.top" 2>&1 || tool=$?
	[ "$tool" -eq 0 ] || {
		cat "$T/$name.top" >&2
		fail "$name: allocinfo top -n 5 exited $tool on the report"
	}
	echo "ok: $name (exit $native, $(grep -cv '^#' "$T/$name.report") records)"
}

cat >"$T/workload.py" <<'PY'
import collections, json, re, sys

data = {}
for i in range(30000):
    data["key%05d" % i] = {"n": i, "sq": i * i % 1009,
                           "tags": ["t%d" % (i % 7), "u%d" % (i % 11)],
                           "name": "item-" + str(i) * 2}
text = json.dumps(data, sort_keys=True)
back = json.loads(text)
assert back == data
words = re.findall(r"[a-z]+-?\d+", text)
counts = collections.Counter(re.sub(r"\d", "", w) for w in words)
ordered = sorted(data.values(), key=lambda v: (v["sq"], -v["n"]))
lists = [list(range(i % 50)) for i in range(20000)]
print(len(text), len(words), sorted(counts.items()))
print([v["n"] for v in ordered[:10]])
print(sum(map(len, lists)), list({"alpha", "beta", "gamma", "delta"}))
print("python done", file=sys.stderr)
sys.exit(3)
PY

cat >"$T/workload.pl" <<'PL'
use strict;
use warnings;
my %h;
for my $i (1 .. 50000) {
	$h{"key$i"} = [$i, $i * $i % 997, "v" x ($i % 20)];
}
my @keys = sort { $h{$a}[1] <=> $h{$b}[1] or $a cmp $b } keys %h;
my $text = join(",", map { "$_=$h{$_}[0]" } @keys[0 .. 4999]);
my $sevens = () = $text =~ /key(\d*7\d*)=/g;
(my $marked = $text) =~ s/(\d+)/<$1>/g;
my %words;
$words{$_}++ for split /[,=<>]+/, $marked;
print scalar(@keys), " $sevens ", length($marked), " ", scalar(keys %words), "\n";
print join(" ", @keys[0 .. 9]), "\n";
print STDERR "perl done\n";
exit 2;
PL

cat >"$T/sqlite.stdin" <<'SQL'
.bail on
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, x % 37, 'name' || x, x * 1.5 FROM c;
CREATE INDEX t_grp ON t(grp, val);
SELECT count(*), sum(val) FROM t;
SELECT grp, count(*), max(name), avg(val) FROM t GROUP BY grp ORDER BY grp;
SELECT name FROM t WHERE grp = 5 AND val > 1000 ORDER BY val DESC LIMIT 5;
SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY name LIMIT 20);
SELECT * FROM no_such_table;
SQL

if [ -x /usr/bin/python3 ]; then
	PYTHONHASHSEED=0 compare python /usr/bin/python3 "$T/workload.py"
	PYTHONHASHSEED=0 PYTHONMALLOC=malloc compare python-malloc /usr/bin/python3 "$T/workload.py"
else
	missing="$missing /usr/bin/python3"
fi
# Pinned to one CPU of several, as under a container's cpuset: jemalloc
# must not find its CPU count "not deterministic" and say so on the
# program's stderr (it did while the library asked for per-CPU arenas).
if [ -x /usr/bin/python3 ] && command -v taskset >/dev/null 2>&1; then
	[ "$(nproc --all)" -gt 1 ] ||
		echo "note: one CPU only; the pinned run cannot narrow the affinity"
	PYTHONHASHSEED=0 PYTHONMALLOC=malloc compare python-one-cpu \
		taskset -c 0 /usr/bin/python3 "$T/workload.py"
else
	missing="$missing taskset"
fi
if [ -x /usr/bin/perl ]; then
	compare perl /usr/bin/perl "$T/workload.pl"
else
	missing="$missing /usr/bin/perl"
fi
if [ -x /usr/bin/sqlite3 ]; then
	compare sqlite /usr/bin/sqlite3 :memory:
else
	missing="$missing /usr/bin/sqlite3"
fi

if [ -n "$missing" ]; then
	echo "SKIP: not installed:$missing"
	exit 77
fi

test_done

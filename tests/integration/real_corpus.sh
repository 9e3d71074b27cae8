#!/bin/sh
# A corpus of real Debian programs under the preload: python3 (pymalloc
# and PYTHONMALLOC=malloc), perl, sqlite3, gcc and g++ compiling and
# linking (the drivers run cc1/cc1plus, as, collect2 and ld), git on a
# fresh repository (init, add, commit, log, gc, fsck), make, bash,
# sort, tar with xz, node, cmake (configure and build a project), gdb in
# batch mode, mawk, sed, grep, diff, jq and openssl; and two Rust
# programs, ripgrep and fd, with threads of their own.
#
# Each workload runs twice in the same working directory, set up the
# same way: without the preload, then with it.  Their exit statuses,
# stdout and stderr must be identical byte for byte (some workloads end
# with a non-zero status on purpose), and so must the files they
# produce where those are deterministic (objects, executables,
# archives).  Every process of the preloaded run writes a report
# (ALLOCINFO_OUTPUT with %e.%p): each must be well-formed, readable by
# `allocinfo top -n 3`, and free of the profiler's own tags; the
# processes a workload must have run (cc1, as, ld, xz, ...) must each
# have left one.
#
# Every program here is installed by .ci/install-deps: a missing one
# fails the test.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init

[ -x "$ALLOCINFO_TOOL" ] || fail "no allocinfo tool at $ALLOCINFO_TOOL"
missing=
for p in python3 perl sqlite3 gcc g++ git make bash sort tar xz node cmake gdb \
	mawk sed grep diff jq openssl rg fdfind; do
	[ -x "/usr/bin/$p" ] || missing="$missing /usr/bin/$p"
done
[ -z "$missing" ] || fail "not installed (.ci/install-deps installs them):$missing"

# Deterministic settings, and nothing from the caller's make or home.
unset MAKEFLAGS MFLAGS MAKELEVEL GNUMAKEFLAGS DEBUGINFOD_URLS PYTHONPATH \
	PYTHONSTARTUP NODE_OPTIONS GIT_DIR CDPATH
mkdir "$T/home"
export HOME="$T/home" LC_ALL=C TZ=UTC PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
	SOURCE_DATE_EPOCH=1577836800 GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat PAGER=cat \
	GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=tester@example.org \
	GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_NAME=Tester \
	GIT_COMMITTER_EMAIL=tester@example.org GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'

work=$T/work
cases=0

# run_case NAME SETUP OUTPUTS NEEDED CMD...: runs CMD in $work, set up
# by the function SETUP, without and with the preload.  OUTPUTS are
# files (in $work) that must be the same after both runs, NEEDED are
# glob patterns of report names (%e.%p) that must each match one
# report at least; "-" for none.  stdin is $work/stdin if SETUP made it.
run_case()
{
	name=$1
	setup=$2
	outputs=$3
	needed=$4
	shift 4
	reports=$T/reports/$name
	mkdir -p "$reports"
	for how in native preload; do
		rm -rf "$work"
		mkdir "$work"
		(cd "$work" && "$setup")
		input=/dev/null
		[ -f "$work/stdin" ] && input=$work/stdin
		status=0
		if [ "$how" = native ]; then
			(cd "$work" && "$@") <"$input" >"$T/$name.$how.out" 2>"$T/$name.$how.err" ||
				status=$?
		else
			(cd "$work" && ALLOCINFO_OUTPUT="$reports/%e.%p" LD_PRELOAD="$ALLOCINFO_LIB" "$@") \
				<"$input" >"$T/$name.$how.out" 2>"$T/$name.$how.err" || status=$?
		fi
		echo "$status" >"$T/$name.$how.status"
		rm -rf "$T/$name.$how.dir"
		mv "$work" "$T/$name.$how.dir"
	done
	cases=$((cases + 1))

	native=$(cat "$T/$name.native.status")
	preload=$(cat "$T/$name.preload.status")
	[ "$native" -eq "$preload" ] ||
		fail_later "$name: exit status $preload under the preload, $native without"
	for stream in out err; do
		cmp -s "$T/$name.native.$stream" "$T/$name.preload.$stream" || {
			diff "$T/$name.native.$stream" "$T/$name.preload.$stream" | head -10 >&2
			fail_later "$name: std$stream differs under the preload (< without, > with)"
		}
	done
	[ -s "$T/$name.native.out" ] || fail_later "$name: the workload printed nothing; it did not run"
	if [ "$outputs" != - ]; then
		for f in $outputs; do
			[ -f "$T/$name.native.dir/$f" ] || { fail_later "$name: made no $f"; continue; }
			cmp -s "$T/$name.native.dir/$f" "$T/$name.preload.dir/$f" ||
				fail_later "$name: $f differs under the preload"
		done
	fi

	set -- "$reports"/*
	[ -f "$1" ] || { fail_later "$name: no report"; return 0; }
	for report in "$@"; do
		check_report_wellformed "$report"
		check_no_internal_tags "$report"
		top=0
		"$ALLOCINFO_TOOL" top -n 3 "$report" >"$T/top.out" 2>&1 || top=$?
		[ "$top" -eq 0 ] || fail_later "$name: allocinfo top -n 3 exited $top on ${report##*/}: $(head -3 "$T/top.out")"
	done
	if [ "$needed" != - ]; then
		# The patterns are for the report names, not for the files of
		# the current folder: no globbing while splitting them.
		set -f
		for pattern in $needed; do
			found=
			for report in "$@"; do
				case ${report##*/} in $pattern) found=1 ;; esac
			done
			[ -n "$found" ] || fail_later "$name: no report from a process matching $pattern (reports: $(ls "$reports" | tr '\n' ' '))"
		done
		set +f
	fi
	echo "ok: $name (exit $native, $# reports)"
}

# ---- python3, twice
setup_python()
{
	cat >workload.py <<'PY'
import collections, decimal, fractions, heapq, itertools, json, re, sys, textwrap
graph = collections.defaultdict(list)
for a in range(3000):
    for b in (a * 7 % 3001, a * 13 % 3001, (a + 1) % 3001):
        graph[a].append(b)
dist = {0: 0}
heap = [(0, 0)]
while heap:
    d, node = heapq.heappop(heap)
    if d > dist.get(node, 1 << 60):
        continue
    for nxt in graph[node]:
        if d + 1 < dist.get(nxt, 1 << 60):
            dist[nxt] = d + 1
            heapq.heappush(heap, (d + 1, nxt))
words = re.findall(r"\w+", textwrap.dedent(json.dumps(dist, sort_keys=True)))
decimal.getcontext().prec = 50
total = sum(decimal.Decimal(1) / decimal.Decimal(n) for n in range(1, 2000))
frac = sum(fractions.Fraction(1, n) for n in range(1, 60))
pairs = list(itertools.islice(itertools.combinations(range(200), 3), 100000))
print(len(dist), max(dist.values()), len(words), str(total)[:40])
print(frac.numerator % 1000003, len(pairs), sorted(set(dist.values()))[:10])
print({k: len(v) for k, v in list(graph.items())[:5]})
print("python done", file=sys.stderr)
sys.exit(5)
PY
}
run_case python setup_python - "python3.*" /usr/bin/python3 workload.py
PYTHONMALLOC=malloc run_case python-malloc setup_python - "python3.*" /usr/bin/python3 workload.py

# ---- perl
setup_perl()
{
	cat >workload.pl <<'PL'
use strict;
use warnings;
my (%index, @lines);
for my $i (1 .. 40000) {
	my $line = join(" ", map { chr(97 + ($i * $_) % 26) x (1 + $_ % 3) } 1 .. 8);
	push @lines, $line;
	$index{$_}{$i % 97}++ for split / /, $line;
}
my @top = (sort { scalar(keys %{$index{$b}}) <=> scalar(keys %{$index{$a}}) or $a cmp $b } keys %index)[0 .. 9];
my $joined = join("\n", @lines[0 .. 999]);
(my $swapped = $joined) =~ s/(\w)(\w*)/\U$1\E$2/g;
my @sorted = sort { length($a) <=> length($b) or $a cmp $b } split /\n/, $swapped;
printf "%d %d %s\n", scalar(@lines), scalar(keys %index), join(",", @top);
print "$sorted[0] | $sorted[-1]\n";
printf "%.6f\n", eval { my $s = 0; $s += 1 / $_ for 1 .. 100000; $s };
warn "perl done\n";
exit 3;
PL
}
run_case perl setup_perl - "perl.*" /usr/bin/perl workload.pl

# ---- sqlite3
setup_sqlite()
{
	cat >stdin <<'SQL'
.bail on
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT, amount REAL, day INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000)
INSERT INTO orders SELECT x, 'c' || (x * 7919 % 503), (x * 31 % 1000) / 10.0, x % 365 FROM c;
CREATE INDEX orders_customer ON orders(customer, day);
CREATE VIEW busy AS SELECT customer, count(*) AS n, sum(amount) AS total FROM orders GROUP BY customer;
SELECT count(*), round(sum(amount), 2) FROM orders;
SELECT customer, n, round(total, 2) FROM busy ORDER BY total DESC, customer LIMIT 5;
SELECT day, count(DISTINCT customer) FROM orders WHERE day < 5 GROUP BY day;
WITH ranked AS (SELECT customer, amount, row_number() OVER (PARTITION BY customer ORDER BY amount DESC, id) AS r FROM orders)
SELECT customer, amount FROM ranked WHERE r = 1 ORDER BY customer LIMIT 5;
SELECT json_group_array(id) FROM (SELECT id FROM orders WHERE amount > 99.5 ORDER BY id LIMIT 10);
DROP TABLE nothing_here;
SQL
}
run_case sqlite3 setup_sqlite - "sqlite3.*" /usr/bin/sqlite3 :memory:

# ---- gcc and g++: compile, assemble, link
setup_c()
{
	cat >prog.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char name[16]; int value; };

static int compare(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
	int values[100], unused;
	struct node *list = NULL;

	for (int i = 0; i < 100; i++)
		values[i] = (i * 7919) % 101;
	qsort(values, 100, sizeof(values[0]), compare);
	for (int i = 0; i < 10; i++) {
		struct node *n = calloc(1, sizeof(*n));
		snprintf(n->name, sizeof(n->name), "n%d", i);
		n->value = values[i * 10];
		n->next = list;
		list = n;
	}
	for (struct node *n = list; n; n = n->next)
		printf("%s=%d\n", n->name, n->value);
	return argc > 1 ? atoi(argv[1]) : (int)strlen(argv[0]) * 0;
}
C
}
run_case gcc setup_c "prog.o prog" "cc1.* *-as.* collect2.* *ld*" \
	sh -c '/usr/bin/gcc -O2 -Wall -Wextra -c prog.c -o prog.o && /usr/bin/gcc -o prog prog.o && ./prog'

setup_cxx()
{
	cat >prog.cc <<'CXX'
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

template <typename T> struct Stats {
	std::vector<T> values;
	void add(T v) { values.push_back(v); }
	T sum() const { return std::accumulate(values.begin(), values.end(), T{}); }
};

struct Shape { virtual ~Shape() = default; virtual double area() const = 0; };
struct Square : Shape { double s; explicit Square(double s) : s(s) {} double area() const override { return s * s; } };
struct Rect : Shape { double w, h; Rect(double w, double h) : w(w), h(h) {} double area() const override { return w * h; } };

int main()
{
	std::map<std::string, Stats<long>> groups;
	for (long i = 0; i < 1000; i++)
		groups["g" + std::to_string(i % 13)].add(i * i % 977);
	std::vector<std::unique_ptr<Shape>> shapes;
	for (int i = 1; i <= 5; i++) {
		shapes.push_back(std::make_unique<Square>(i));
		shapes.push_back(std::make_unique<Rect>(i, i + 1));
	}
	std::sort(shapes.begin(), shapes.end(), [](auto &a, auto &b) { return a->area() < b->area(); });
	std::ostringstream out;
	for (auto &[name, stats] : groups)
		out << name << ':' << stats.sum() << ' ';
	std::variant<int, std::string> v = std::string("variant");
	std::cout << out.str() << '\n' << shapes.back()->area() << ' ' << std::get<std::string>(v) << '\n';
	unused_warning:
	return 0;
}
CXX
}
run_case g++ setup_cxx "prog.o prog" "cc1plus.* *-as.* collect2.* *ld*" \
	sh -c '/usr/bin/g++ -std=c++17 -O1 -Wall -c prog.cc -o prog.o && /usr/bin/g++ -o prog prog.o && ./prog'

# ---- git on a fresh repository
setup_git()
{
	mkdir -p src doc
	for i in 1 2 3 4 5 6 7 8; do
		seq "$i" 3 600 >"src/file$i.txt"
		printf 'Document %s\n\nLine one.\nLine two.\n' "$i" >"doc/d$i.md"
	done
}
run_case git setup_git - "git.*" sh -c '
	set -e
	git init -q -b main .
	git add .
	git commit -q -m "first commit"
	seq 1000 1100 >>src/file1.txt
	git rm -q doc/d8.md
	git commit -q -a -m "second commit"
	git tag -a v1 -m "version one"
	git log --stat --format="%H %an %ad %s"
	git -c pack.threads=1 gc -q
	git count-objects -v | grep -v size
	git fsck --no-progress
	git describe
	git diff --stat HEAD~1 HEAD
	git show --format=%T -s v1'

# ---- make, running recipes through the shell
setup_make()
{
	cat >Makefile <<'MK'
NUMBERS := $(shell seq 1 40)
SQUARES := $(foreach n,$(NUMBERS),$(shell expr $(n) \* $(n)))
TARGETS := $(addprefix out/,$(addsuffix .txt,$(NUMBERS)))

all: out/summary
	@echo "squares: $(wordlist 1,10,$(SQUARES))"
	@echo "sorted: $(sort $(SQUARES))" | cut -c1-60

out/%.txt: | out
	@printf '%s %s\n' $* $$(( $* * 3 )) > $@

out:
	mkdir -p out

out/summary: $(TARGETS)
	cat $^ | sort -n -k2 | tail -3 > $@
	@cat $@
MK
}
run_case make setup_make "out/summary out/17.txt" "make.*" /usr/bin/make -j1

# ---- bash
setup_bash()
{
	cat >workload.bash <<'SH'
declare -A count
declare -a items
for ((i = 0; i < 5000; i++)); do
	key="k$(( i * 7 % 31 ))"
	count[$key]=$(( ${count[$key]:-0} + i ))
	items+=("item-${i}-${key^^}")
done
joined=$(IFS=,; echo "${items[*]:0:5}")
echo "$joined"
for key in $(printf '%s\n' "${!count[@]}" | sort); do
	printf '%s=%d ' "$key" "${count[$key]}"
done
echo
text="The quick brown fox jumps over the lazy dog"
echo "${text// /_} ${#text} ${text:4:5} ${text^^}"
while read -r a b; do echo "$b $a"; done <<EOF
one 1
two 2
EOF
( echo "subshell $(( ${#items[@]} / 100 ))" ) | tr a-z A-Z
echo "bash done" >&2
exit 4
SH
}
run_case bash setup_bash - "bash.*" /usr/bin/bash workload.bash

# ---- sort
setup_sort()
{
	awk 'BEGIN { for (i = 0; i < 100000; i++) printf "key%06d %d %s\n", (i * 7919) % 100003, (i * 31) % 977, substr("abcdefghij", i % 10 + 1) }' >input
}
run_case sort setup_sort - "sort.*" /usr/bin/sort -t ' ' -k2,2n -k3,3r -k1,1 input

# ---- tar with xz (tar runs xz)
setup_tar()
{
	mkdir -p tree/a/b tree/c
	seq 1 50000 >tree/a/numbers
	yes 'a line of text for xz to compress' | head -n 20000 >tree/a/b/text
	printf 'small\n' >tree/c/small
}
run_case tar-xz setup_tar "tree.tar.xz" "tar.* xz.*" \
	/usr/bin/tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-cvJf tree.tar.xz tree

# ---- node
setup_node()
{
	cat >workload.js <<'JS'
const counts = new Map();
const objects = [];
for (let i = 0; i < 200000; i++) {
	const key = 'k' + ((i * 7919) % 1009);
	counts.set(key, (counts.get(key) || 0) + 1);
	if (i % 10 === 0) objects.push({ id: i, tags: [key, String(i % 7)], nested: { v: i * 0.5 } });
}
const text = JSON.stringify(objects);
const back = JSON.parse(text);
const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
const words = text.match(/"k\d+"/g);
console.log(back.length, text.length, words.length, sorted.slice(0, 3));
console.error('node done');
process.exitCode = 6;
JS
}
run_case node setup_node - "node.*" /usr/bin/node workload.js

# ---- cmake: configure and build a project (cmake runs the compiler and make)
setup_cmake()
{
	cat >CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.13)
project(demo C)
add_library(util STATIC util.c)
add_executable(demo main.c)
target_link_libraries(demo util)
CM
	printf 'int twice(int x) { return 2 * x; }\n' >util.c
	printf '#include <stdio.h>\nint twice(int);\nint main(void) { printf("%%d\\n", twice(21)); return 0; }\n' >main.c
}
run_case cmake setup_cmake - "cmake.* cc1.* *ld*" sh -c '
	set -e
	/usr/bin/cmake -S . -B build
	/usr/bin/cmake --build build -- -j1
	./build/demo'

# ---- gdb in batch mode, on a program with debug information
setup_gdb()
{
	cat >point.c <<'C'
struct point { int x, y; const char *label; };
static int square(int v) { return v * v; }
int main(void)
{
	struct point p = { 3, 4, "p" };
	return square(p.x) + square(p.y) - 25;
}
C
	/usr/bin/gcc -g -O0 -o point point.c
}
run_case gdb setup_gdb - "gdb.*" /usr/bin/gdb -nx -batch \
	-ex 'info line main' -ex 'ptype struct point' -ex 'print sizeof(struct point)' \
	-ex 'list square' -ex 'info functions square' -ex 'print 6 * 7' -ex 'print nosuchsymbol' ./point

# ---- mawk, sed, grep, diff, jq, openssl
setup_text()
{
	awk 'BEGIN { for (i = 0; i < 30000; i++) printf "%d,%s,%d.%02d,%s\n", i, substr("redgreenblue", (i % 3) * 4 + 1, 4), i % 500, i % 100, (i % 11 == 0) ? "flag" : "none" }' >data.csv
	sed 's/none/NONE/; 7~13s/,/;/' data.csv >data2.csv
	printf '{"items": [' >data.json
	awk 'BEGIN { for (i = 0; i < 2000; i++) printf "%s{\"id\": %d, \"name\": \"n%d\", \"tags\": [\"t%d\", \"u%d\"], \"score\": %d}", (i ? "," : ""), i, i, i % 5, i % 7, (i * 37) % 101 }' >>data.json
	printf ']}\n' >>data.json
	touch -d @1577836800 data.csv data2.csv
}
run_case mawk setup_text - "mawk.*" /usr/bin/mawk -F, '
	{ sum[$2] += $3; n[$2]++; if ($4 == "flag") flags++ }
	END { for (k in sum) printf "%s %.2f %d\n", k, sum[k], n[k] | "sort"; close("sort"); print flags }' data.csv
run_case sed setup_text - "sed.*" /usr/bin/sed -E -n \
	-e 's/^([0-9]+)([0-9]),(red|blue)/\2\1:\3/' -e '/^[0-9]:/{s/,/|/g;p}' -e '$=' data.csv
run_case grep setup_text - "grep.*" /usr/bin/grep -E -n -e '^[0-9]*7[0-9]*,gree,4[0-9]{2}\.' -e 'blue,499' data.csv
run_case diff setup_text - "diff.*" /usr/bin/diff -u data.csv data2.csv
run_case jq setup_text - "jq.*" /usr/bin/jq -c \
	'[.items[] | select(.score > 90) | {id, t: .tags[0]}] | group_by(.t) | map({t: .[0].t, n: length, ids: [.[].id][0:3]})' data.json
run_case openssl setup_text "data.enc" "openssl.*" sh -c '
	/usr/bin/openssl dgst -sha256 data.csv
	/usr/bin/openssl enc -aes-256-cbc -K 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
		-iv 0f0e0d0c0b0a09080706050403020100 -in data.csv -out data.enc
	/usr/bin/openssl dgst -sha512 data.enc'

# ---- Rust: ripgrep and fd (Debian's, built with Debian's rustc and
# stripped), in a tree of text files; with threads, their output is
# sorted, as its order is theirs to choose
setup_tree()
{
	setup_text
	for d in a b c; do
		mkdir -p "tree/$d/deep"
		for i in 1 2 3 4 5 6; do
			sed -n "$i~7p" data.csv >"tree/$d/part$i.csv"
			sed -n "$i~5p" data2.csv >"tree/$d/deep/more$i.txt"
		done
	done
}
run_case rg setup_tree - "rg.*" /usr/bin/rg --sort path -n -e ',gree,4[0-9]{2}\.' -e 'blue,499' tree
run_case rg-threads setup_tree - "rg.*" sh -c '/usr/bin/rg -j2 -c -i flag tree | sort'
run_case fd setup_tree - "fd.[0-9]*" sh -c '/usr/bin/fdfind -j2 -e csv -e txt . tree | sort'

[ "$cases" -ge 15 ] || fail "only $cases programs ran"
test_done

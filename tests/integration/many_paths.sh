#!/bin/sh
# ALLOCINFO_DEPTH=3 with more stacks from one site and caller than the
# path cache keeps (tests/programs/many_paths.c, at -O0 and -O2): twelve
# chains through one wrapper site and one caller of it, taken in turn,
# so that most allocations are charged by the walk of the frame memo.
# Each chain helper > caller i > main must have exactly its own
# allocations: ROUNDS calls of 16 + i bytes, its lines found from the
# PATH markers; and the program's source has no other record.
set -eu
. "$TEST_SRC/lib.sh"
test_init

src=$TEST_SRC/programs/many_paths.c
helper=$(grep -n '/\* PATH: helper \*/' "$src" | cut -d: -f1)
main_line=$(grep -n '/\* PATH: main \*/' "$src" | cut -d: -f1)
callers=$(grep -n '/\* PATH: caller \*/' "$src" | cut -d: -f1)
[ -n "$helper" ] && [ -n "$main_line" ] && [ "$(printf '%s\n' "$callers" | grep -c .)" = 12 ] ||
	fail "PATH markers missing in $src"

ALLOCINFO_WRAPPERS=paths_alloc
export ALLOCINFO_WRAPPERS
for prog in "$TEST_BIN/programs/many_paths" "$TEST_BIN/callsite/many_paths_O2"; do
	name=${prog##*/}
	run_native "$prog"
	rounds=$(sed -n 's/^rounds \([0-9]*\)$/\1/p' "$T/native.stdout")
	[ -n "$rounds" ] || fail "$name printed no rounds"
	# The second run starts with what the first measured (the route
	# memory in the cache folder), as a program run again does.
	for run in 1 2; do
		report=$T/$name.$run
		ALLOCINFO_DEPTH=3 run_preloaded "$report" "$prog"
		check_report_wellformed "$report"
		check_no_stderr "$report"
		records=$(grep -E '[ /]many_paths\.c:[0-9]+ ' "$report" || :)
		[ "$(printf '%s\n' "$records" | grep -c .)" = 12 ] ||
			fail_later "$name, run $run: not 12 records for many_paths.c:
$records"
		i=0
		for line in $callers; do
			want_bytes=$((rounds * (16 + i)))
			got=$(printf '%s\n' "$records" |
				grep -E "many_paths\.c:$helper func:paths_helper stack:[^ >]*many_paths\.c@$helper>[^ >]*many_paths\.c@$line>[^ >]*many_paths\.c@$main_line \$" || :)
			printf '%s\n' "$got" | grep -Eq "^ +$want_bytes +$rounds " ||
				fail_later "$name, run $run: caller $i (line $line) should have $want_bytes bytes in $rounds calls:
${got:-no record}"
			i=$((i + 1))
		done
	done
	echo "ok: $name"
done

test_done

#!/bin/sh
# `allocinfo merge` and `allocinfo run --merge`: exact output of a
# merge of three fixtures (expected file written by hand), output that
# reads back, -o written atomically, JSON and CSV, errors; and a run
# whose process tree leaves one merged report and no temporary files.
set -eu
. "$TEST_SRC/lib.sh"
test_init
LC_ALL=C
export LC_ALL
unset ALLOCINFO_OUTPUT

cd "$TEST_SRC/fixtures"

run_capture merge 0 "$ALLOCINFO_TOOL" merge diff-old.txt diff-new.txt merge-host.txt
check_output merge out merge.expected
check_output_empty merge err

# What merge writes, the reader reads strictly; totals are the inputs'.
run_capture merge-top 0 "$ALLOCINFO_TOOL" top -n 0 "$T/merge.out"
check_output_is merge-top out "# total: 60616 bytes in 72 calls, 11 tags"

# -o: the same text in a file; stdin as one of the inputs.
run_capture merge-o 0 "$ALLOCINFO_TOOL" merge -o "$T/merged.txt" diff-old.txt - merge-host.txt <diff-new.txt
check_output_empty merge-o out
sed 's/^# merged_from: diff-new.txt$/# merged_from: -/' merge.expected >"$T/merge-o.expected"
cp "$T/merged.txt" "$T/merge-o.file"
check_output merge-o file "$T/merge-o.expected"
[ -z "$(ls "$T" | grep '\.tmp\.')" ] || fail_later "merge-o: temporary file left behind"

# One report merged with itself doubles every tag.
run_capture merge-twice 0 "$ALLOCINFO_TOOL" merge merge-host.txt merge-host.txt
grep -v '^#' "$T/merge-twice.out" | grep -v '^allocinfo' >"$T/merge-twice.records"
printf '%12s %8s %s \n' 20000 10 'app/cache.c:88 func:cache_grow' \
	200 2 'io/buf.c:10 [libio.so] func:buf_alloc accurate:no' \
	-8 2 'app/neg.c:2 func:negative' >"$T/twice.expected"
check_output merge-twice records "$T/twice.expected"

run_capture merge-json 0 "$ALLOCINFO_TOOL" merge --json merge-host.txt
check_output merge-json out merge-host.json.expected
run_capture merge-csv 0 "$ALLOCINFO_TOOL" merge --csv merge-host.txt
check_output merge-csv out merge-host.csv.expected

run_capture merge-none 2 "$ALLOCINFO_TOOL" merge
check_output_is merge-none err "allocinfo: merge: no files to merge (try 'allocinfo --help')"
run_capture merge-missing 1 "$ALLOCINFO_TOOL" merge diff-old.txt no-such-file.txt
check_output_is merge-missing err "allocinfo: no-such-file.txt: No such file or directory"
check_output_empty merge-missing out
run_capture merge-corrupt 1 "$ALLOCINFO_TOOL" merge top-corrupt.txt
check_output_is merge-corrupt err "allocinfo: top-corrupt.txt:4: bad size: '\$ sort -g /proc/allocinfo'"
run_capture merge-stdin-twice 2 "$ALLOCINFO_TOOL" merge - - </dev/null
check_output_is merge-stdin-twice err "allocinfo: merge: stdin ('-') given 2 times (try 'allocinfo --help')"

# ---- run --merge: a shell that starts cat and sort; each process
# writes its own report into a private directory under $TMPDIR, and
# the tool sums them into -o (%p: the shell's pid) and removes them.
mkdir "$T/tmp" "$T/out"
cd "$T/out"
run_capture run-merge 3 env TMPDIR="$T/tmp" "$ALLOCINFO_TOOL" run --merge -o 'tree.%p.txt' -- \
	sh -c 'cat /dev/null; sort /dev/null; exit 3'
merged=$(sed -n 's/^allocinfo: merged [0-9]* reports\{0,1\} into //p' "$T/run-merge.err")
case $merged in
"$T"/out/tree.[0-9]*.txt) ;;
*) fail_later "run-merge: no 'merged N reports into PATH' line naming $T/out/tree.PID.txt"
   sed 's/^/  stderr: /' "$T/run-merge.err" >&2 ;;
esac
[ -z "$(ls -A "$T/tmp")" ] || fail_later "run-merge: left files in TMPDIR: $(ls -A "$T/tmp")"
if [ -f "$merged" ]; then
	check_report_wellformed "$merged"
	n=$(sed -n 's/^# merged_reports: //p' "$merged")
	[ "$(grep -c '^# merged_from: ' "$merged")" = "$n" ] ||
		fail_later "run-merge: merged_reports: $n, but not as many merged_from lines"
	grep -q '^# merged_from: [0-9][0-9]* cat /dev/null$' "$merged" ||
		fail_later "run-merge: cat's report is not in the merge"
	grep -q '^# merged_from: [0-9][0-9]* sort /dev/null$' "$merged" ||
		fail_later "run-merge: sort's report is not in the merge"
	[ "$(ls "$T/out")" = "${merged##*/}" ] || fail_later "run-merge: other files in the current directory: $(ls "$T/out")"
	run_capture run-merge-top 0 "$ALLOCINFO_TOOL" top "$merged"
else
	fail_later "run-merge: '$merged' does not exist"
fi

# Without -o: $ALLOCINFO_OUTPUT's template, %e the command's base name.
rm -f "$T"/out/*
run_capture run-merge-env 0 env TMPDIR="$T/tmp" ALLOCINFO_OUTPUT='m-%e-%%.txt' \
	"$ALLOCINFO_TOOL" run --merge -- /bin/sh -c 'cat /dev/null'
[ -f "$T/out/m-sh-%.txt" ] || fail_later "run-merge-env: no $T/out/m-sh-%.txt: $(ls "$T/out")"

# A command that cannot start leaves nothing behind.
run_capture run-merge-missing 127 env TMPDIR="$T/tmp" "$ALLOCINFO_TOOL" run --merge -- allocinfo-test-no-such-command
check_output_is run-merge-missing err "allocinfo: run: cannot execute 'allocinfo-test-no-such-command': No such file or directory"
[ -z "$(ls -A "$T/tmp")" ] || fail_later "run-merge-missing: left files in TMPDIR"

test_done

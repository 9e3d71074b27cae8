#!/bin/sh
# `allocinfo top` options: -s, -h (checked against numfmt itself),
# --by file|func|module|dir, --min-size, the --file/--func/--module
# globs and their combinations, --json and --csv: exact output on
# tests/fixtures/top-groups.txt and top-basic.txt, whose expected
# files were written by hand.
set -eu
. "$TEST_SRC/lib.sh"
test_init
LC_ALL=C
export LC_ALL

cd "$TEST_SRC/fixtures"

# top_case NAME EXPECTED ARGS...: exit 0, exact stdout, empty stderr.
top_case()
{
	tc_name=$1
	tc_expected=$2
	shift 2
	run_capture "$tc_name" 0 "$ALLOCINFO_TOOL" top "$@"
	check_output "$tc_name" out "$tc_expected"
	check_output_empty "$tc_name" err
}

# Sort keys: calls first, ties by bytes, then by tag.
top_case calls top-basic-calls.expected -s calls top-basic.txt
top_case calls-long top-basic-calls.expected --sort=calls top-basic.txt
top_case groups-calls top-groups-calls.expected -n 100 -s calls top-groups.txt
top_case size top-basic.expected -s size top-basic.txt

# -h: sizes as numfmt --to=iec, in the size column and the totals.
top_case human top-basic-human.expected -h -n 3 top-basic.txt
top_case human-long top-basic-human.expected --human -n 3 top-basic.txt

# --by: groups summed, a header naming the group, totals over tags.
for by in file func module dir; do
	top_case "by-$by" "top-groups-by-$by.expected" --by "$by" top-groups.txt
done
top_case by-func-calls top-groups-by-func-calls.expected --by=func -s calls top-groups.txt
top_case by-dir-min top-groups-by-dir-min500.expected --by dir --min-size 500 top-groups.txt

# Globs: --file, --func, --module; one option repeated is an "or", two
# options are an "and"; --module '' selects the tags without a module.
top_case file top-groups-file-fs.expected --file 'fs/*' top-groups.txt
top_case func top-groups-func-alloc.expected --func 'alloc_*' top-groups.txt
top_case module top-groups-module-ext4.expected --module ext4 top-groups.txt
top_case module-none top-groups-module-none.expected --module '' top-groups.txt
top_case file-or top-groups-file-mm-or-init.expected --file 'mm/*' --file init.c top-groups.txt
top_case and top-groups-fs-ext4-func.expected --file 'fs/*' --module 'ext*' --func 'alloc_*' top-groups.txt
run_capture no-match 0 "$ALLOCINFO_TOOL" top --func nothing top-groups.txt
check_output_is no-match out "# total: 0 bytes in 0 calls, 0 tags"

# --min-size: IEC sizes as numfmt writes them (1K is 1024), and -n
# only limits what is printed, not the totals.
top_case min-1k top-groups-min1k.expected --min-size 1K top-groups.txt
top_case min-1000 top-groups-min1000-n2.expected --min-size 1000 -n 2 top-groups.txt

# Machine-readable output.
top_case json top-groups.json.expected --json -n 2 top-groups.txt
top_case json-by top-groups-by-module.json.expected --json --by module top-groups.txt
top_case csv top-groups.csv.expected --csv -n 3 top-groups.txt
top_case csv-by top-groups-by-dir.csv.expected --csv --by dir top-groups.txt
top_case csv-quoted top-basic.csv.expected --csv --func 'std::*' --func 'freed*' top-basic.txt
run_capture json-empty 0 "$ALLOCINFO_TOOL" top --json </dev/null
check_output_is json-empty out '{"by":"tag","rows":[],"total":{"bytes":0,"calls":0,"tags":0,"approximate":false}}'

# -h against numfmt: one tag per size, the sizes printed by top -h in
# its order (largest first) must be numfmt's for the same sizes.
if command -v numfmt >/dev/null 2>&1; then
	awk 'BEGIN {
		n = split("0 1 999 1023 1024 1025 1536 2047 2048 10239 10240 10241 " \
			"102399 102400 1047552 1048575 1048576 1048577 2936013 " \
			"13631488 1073741823 1073741824 5000000000 1099511627776 " \
			"1125899906842624 1152921504606846976 9223372036854775807 " \
			"-1 -1023 -1024 -1025 -1536 -10241 -1048577", v, " ")
		for (i = 1; i <= n; i++)
			printf "%s 1 f.c:%d func:f\n", v[i], i
	}' </dev/null >"$T/sizes.txt"
	run_capture human-numfmt 0 "$ALLOCINFO_TOOL" top -h -n 1000 "$T/sizes.txt"
	# The order top prints in, by exact bytes: the line number names them.
	sed -n 's/^ *[^ ]* *1 f\.c:\([0-9]*\) .*/\1/p' "$T/human-numfmt.out" >"$T/order"
	awk 'NR == FNR { size[FNR] = $1; next } { print size[$1] }' \
		"$T/sizes.txt" "$T/order" | numfmt --to=iec >"$T/numfmt.expected"
	awk '!/^#/ { print $1 }' "$T/human-numfmt.out" >"$T/human-numfmt.sizes"
	check_output human-numfmt sizes "$T/numfmt.expected"
fi

# -n of many rows keeps the best in a heap instead of sorting all: the
# rows must be those that sort(1) ranks first, ties (sizes repeat) by
# the other number, then file, then line.
awk 'BEGIN { for (i = 1; i <= 200; i++)
	printf "%d %d f%d.c:%d func:f\n", (i * 37) % 101, i % 7, i % 3, i }' \
	</dev/null >"$T/many.txt"
# expected_top FILE N SORT: the records as top prints them, then totals.
expected_top()
{
	awk '{ split($3, loc, ":"); print $1, $2, loc[1], loc[2] }' "$1" |
	if [ "$3" = size ]; then sort -k1,1nr -k2,2nr -k3,3 -k4,4n
	else sort -k2,2nr -k1,1nr -k3,3 -k4,4n; fi |
	awk -v n="$2" '{ b += $1; c += $2 }
		NR <= n { printf "%12d %8d %s:%d func:f \n", $1, $2, $3, $4 }
		END { printf "# total: %d bytes in %d calls, %d tags\n", b, c, NR }'
}
for sort in size calls; do
	for n in 1 5 25 200; do
		run_capture "heap-$sort-$n" 0 "$ALLOCINFO_TOOL" top -n "$n" -s "$sort" "$T/many.txt"
		expected_top "$T/many.txt" "$n" "$sort" >"$T/heap.expected"
		check_output "heap-$sort-$n" out "$T/heap.expected"
	done
done

# Usage errors: exit 2 and one line.
run_capture bad-sort 2 "$ALLOCINFO_TOOL" top -s bytes top-groups.txt
check_output_is bad-sort err "allocinfo: top: bad sort key 'bytes', not size or calls (try 'allocinfo --help')"
run_capture bad-by 2 "$ALLOCINFO_TOOL" top --by line top-groups.txt
check_output_is bad-by err "allocinfo: top: bad --by 'line', not file, func, module or dir (try 'allocinfo --help')"
run_capture bad-min 2 "$ALLOCINFO_TOOL" top --min-size 1X top-groups.txt
check_output_is bad-min err "allocinfo: top: bad size '1X' (try 'allocinfo --help')"
run_capture huge-min 2 "$ALLOCINFO_TOOL" top --min-size 99999999999999999999 top-groups.txt
check_output_is huge-min err "allocinfo: top: bad size '99999999999999999999' (out of range) (try 'allocinfo --help')"
run_capture no-glob 2 "$ALLOCINFO_TOOL" top top-groups.txt --file
check_output_is no-glob err "allocinfo: top: option needs a value: '--file' (try 'allocinfo --help')"
run_capture top-help 0 "$ALLOCINFO_TOOL" top --help
grep -q '^Usage: allocinfo ' "$T/top-help.out" || fail_later "top --help: no usage text"

test_done

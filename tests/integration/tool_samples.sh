#!/bin/sh
# The published kernel samples ($SAMPLES_DIR) through `allocinfo top
# --lenient` and `allocinfo merge --lenient`: the totals must equal
# figures computed here with awk, from a record pattern written apart
# from the reader (numfmt sizes converted and rounded by awk), and
# the number of distinct tags must equal awk's count of distinct tag
# texts.  Each record line on its own reads strictly.
set -eu
. "$TEST_SRC/lib.sh"
test_init
LC_ALL=C
export LC_ALL

[ -n "${SAMPLES_DIR:-}" ] && [ -d "$SAMPLES_DIR" ] ||
	fail "no samples directory (SAMPLES_DIR='${SAMPLES_DIR:-}')"

# awk's totals: "# total: B bytes in C calls, T tags[ (approximate)]".
awk_totals()
{
	awk '
	/^[ \t]*-?[0-9]+(\.[0-9]+)?([KMGTPEZY]i?)?[ \t]+[0-9]+[ \t]+[^ \t].*:[0-9]+( \[[^]]+\])? func:[^ \t]/ {
		size = $1
		mult = 1
		if (size ~ /i$/) size = substr(size, 1, length(size) - 1)
		if (size ~ /[KMGTPEZY]$/) {
			unit = index("KMGTPEZY", substr(size, length(size)))
			size = substr(size, 1, length(size) - 1)
			for (i = 0; i < unit; i++) mult *= 1024
			approx = 1
			bytes += int(size * mult + 0.5)
		} else {
			bytes += size
		}
		calls += $2
		tag = $0
		sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", tag)
		sub(/[ \t\r]+$/, "", tag)
		sub(/ accurate:no$/, "", tag)
		if (!(tag in seen)) { seen[tag] = 1; tags++ }
	}
	END {
		printf "# total: %.0f bytes in %.0f calls, %d tags%s\n", bytes, calls,
			tags, approx ? " (approximate)" : ""
	}' "$1"
}

n=0
for f in "$SAMPLES_DIR"/*.txt; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	name=${f##*/}
	name=${name%.txt}
	run_capture "$name" 0 "$ALLOCINFO_TOOL" top --lenient -n 0 "$f"
	awk_totals "$f" >"$T/$name.expected"
	check_output "$name" out "$T/$name.expected"

	# Merged with itself: every figure doubles, and it reads back.
	run_capture "$name-merge" 0 "$ALLOCINFO_TOOL" merge --lenient -o "$T/$name.merged" "$f" "$f"
	run_capture "$name-merged" 0 "$ALLOCINFO_TOOL" top -n 0 "$T/$name.merged"
	awk '{ printf "# total: %.0f bytes in %.0f calls, %d tags\n", 2 * $3, 2 * $6, $8 }' \
		"$T/$name.expected" >"$T/$name-merged.expected"
	check_output "$name-merged" out "$T/$name-merged.expected"

	# Against itself: nothing changed.
	run_capture "$name-diff" 0 "$ALLOCINFO_TOOL" diff --lenient --fail-on-growth 0 "$f" "$f"
done
[ "$n" -ge 10 ] || fail "only $n samples in $SAMPLES_DIR"
echo "ok: $n samples"
test_done

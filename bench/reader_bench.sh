#!/bin/sh
# Times the allocinfo reader on 1,000,000-record reports, side by side
# with `sort -g` on the same file (what the kernel's documentation
# reads /proc/allocinfo with):
#
#   top     allocinfo top -n 10 OLD        read, sum repeated tags, rank
#   diff    allocinfo diff OLD NEW         read both, match, rank deltas
#   sort    sort -g OLD                    the baseline
#
# Usage: bench/reader_bench.sh ALLOCINFO [RUNS]   (make bench-reader)
#
# The two reports are generated here with awk, deterministically: OLD
# has 1,000,000 distinct tags in the kernel's format (file:line
# [module] func:name, trailing space), NEW changes the size of every
# tenth tag, drops every hundredth and adds 10,000.  Each command runs
# RUNS times (default 5) pinned to one CPU when taskset exists; the
# median wall-clock time is printed.  Output goes to /dev/null.
set -eu

tool=${1:?usage: reader_bench.sh ALLOCINFO [RUNS]}
runs=${2:-5}
LC_ALL=C
export LC_ALL
dir=$(mktemp -d "${TMPDIR:-/tmp}/allocinfo-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' HUP INT TERM

pin=
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
	pin="taskset -c 0"
fi

awk -v old="$dir/old" -v new="$dir/new" 'BEGIN {
	print "allocinfo - version: 2.0" >old
	print "#     <size>  <calls> <tag info>" >old
	print "allocinfo - version: 2.0" >new
	print "#     <size>  <calls> <tag info>" >new
	for (i = 0; i < 1000000; i++) {
		size = (i * 7919) % 1000003 * 8
		calls = i % 977
		tag = sprintf("drivers/sub%d/file%d.c:%d%s func:function_%d", i % 97,
			i % 5003, i % 4001 + 1, i % 3 ? "" : " [mod" i % 41 "]", i)
		printf "%12d %8d %s \n", size, calls, tag >old
		if (i % 100 == 0)
			continue
		if (i % 10 == 0)
			size += 4096
		printf "%12d %8d %s \n", size, calls, tag >new
	}
	for (i = 0; i < 10000; i++)
		printf "%12d %8d lib/new%d.c:%d func:added_%d \n", i * 64, 1, i % 50,
			i + 1, i >new
}' </dev/null

# median_ms CMD...: runs CMD $runs times, prints the median in ms.
median_ms()
{
	i=0
	: >"$dir/times"
	while [ "$i" -lt "$runs" ]; do
		start=$(date +%s%N)
		$pin "$@" >/dev/null
		end=$(date +%s%N)
		echo $(((end - start) / 1000000)) >>"$dir/times"
		i=$((i + 1))
	done
	sort -n "$dir/times" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

# Other work on the machine slows every figure: say how much there was.
load=$(cut -d ' ' -f 1-3 /proc/loadavg)
lines=$(wc -l <"$dir/old")
top_ms=$(median_ms "$tool" top -n 10 "$dir/old")
diff_ms=$(median_ms "$tool" diff "$dir/old" "$dir/new")
sort_ms=$(median_ms sort -g "$dir/old")

echo "allocinfo reader benchmark, $(date -u +%Y-%m-%d), $(uname -m), $(nproc) CPUs," \
	"$(sed -n 's/^model name[ \t]*: //p' /proc/cpuinfo | head -n 1)"
echo "reports: $lines lines (old), $(wc -l <"$dir/new") lines (new);" \
	"median of $runs runs${pin:+, pinned to CPU 0};" \
	"load average before: $load"
printf '%-40s %8s\n' "command" "ms"
printf '%-40s %8s\n' "allocinfo top -n 10 OLD" "$top_ms"
printf '%-40s %8s\n' "allocinfo diff OLD NEW" "$diff_ms"
printf '%-40s %8s\n' "sort -g OLD" "$sort_ms"

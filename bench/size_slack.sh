#!/bin/sh
# What jemalloc's size classes cost on the bench's python3
# (PYTHONMALLOC=malloc), perl and sqlite3 workloads, two ways:
# - over all allocations (bench/size_slack.c): what per-block metadata
#   costs in the classes (a header of 16 bytes, a trailer kept in the
#   class's slack, the page slot arrays allocinfo uses; the figures
#   core/allocator_pages.h quotes), and the request sizes the classes
#   round up the most;
# - at the peak of live blocks (bench/live_peak.c): the live blocks in
#   glibc's chunks, in jemalloc's classes, and with a class halfway
#   between each two of jemalloc's from 1 KiB up.
#   sh bench/size_slack.sh [SCALE]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scale=${1:-0.3}
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -f "$jemalloc" ] || { echo "size_slack.sh: no $jemalloc (apt-get install libjemalloc2)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for tool in size_slack live_peak; do
	gcc -O2 -shared -fPIC -o "$tmp/$tool.so" "$here/$tool.c" -ldl -lpthread
done
python3 "$here/workloads/sqlite_sql.py" "$scale" >"$tmp/bench.sql"
for tool in size_slack live_peak; do
	printf 'python3, PYTHONMALLOC=malloc: '
	PYTHONMALLOC=malloc LD_PRELOAD="$tmp/$tool.so $jemalloc" \
		/usr/bin/python3 -s "$here/workloads/objects.py" "$scale" 2>&1 >/dev/null
	printf 'perl: '
	LD_PRELOAD="$tmp/$tool.so $jemalloc" \
		perl "$here/workloads/churn.pl" "$scale" 2>&1 >/dev/null
	if command -v sqlite3 >/dev/null 2>&1; then
		printf 'sqlite3: '
		LD_PRELOAD="$tmp/$tool.so $jemalloc" \
			sqlite3 :memory: <"$tmp/bench.sql" 2>&1 >/dev/null
	fi
done

#!/bin/sh
# How much memory per-block metadata costs in jemalloc's size classes on
# the bench's python3 (PYTHONMALLOC=malloc), perl and sqlite3 workloads,
# and which request sizes lose the most to the classes: a header
# of 16 bytes, a trailer kept in the class's slack, and the page slot
# arrays allocinfo uses (see bench/size_slack.c).  The figures
# core/allocator_pages.h quotes.
#   sh bench/size_slack.sh [SCALE]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scale=${1:-0.3}
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -f "$jemalloc" ] || { echo "size_slack.sh: no $jemalloc (apt-get install libjemalloc2)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -shared -fPIC -o "$tmp/size_slack.so" "$here/size_slack.c" -ldl
printf 'python3, PYTHONMALLOC=malloc: '
PYTHONMALLOC=malloc LD_PRELOAD="$tmp/size_slack.so $jemalloc" \
	/usr/bin/python3 -s "$here/workloads/objects.py" "$scale" 2>&1 >/dev/null
printf 'perl: '
LD_PRELOAD="$tmp/size_slack.so $jemalloc" \
	perl "$here/workloads/churn.pl" "$scale" 2>&1 >/dev/null
if command -v sqlite3 >/dev/null 2>&1; then
	python3 "$here/workloads/sqlite_sql.py" "$scale" >"$tmp/bench.sql"
	printf 'sqlite3: '
	LD_PRELOAD="$tmp/size_slack.so $jemalloc" \
		sqlite3 :memory: <"$tmp/bench.sql" 2>&1 >/dev/null
fi

#!/bin/sh
# Would a cache of freed blocks in front of jemalloc's take malloc and
# free off it?  Replays bench/run's python3 (PYTHONMALLOC=malloc), perl
# and sqlite3 workloads and one compile through such a cache of 16, 32,
# 64 and 200 blocks a size class (bench/front_cache.c) and prints, for
# each program, the share of operations it would serve and the blocks that would
# still pass to or from jemalloc, an operation.
#   sh bench/front_cache.sh [SCALE]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scale=${1:-0.3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -fno-builtin -shared -fPIC -o "$tmp/front_cache.so" "$here/front_cache.c" -ldl
PYTHONMALLOC=malloc LD_PRELOAD="$tmp/front_cache.so" \
	/usr/bin/python3 -s "$here/workloads/objects.py" "$scale" 2>&1 >/dev/null
LD_PRELOAD="$tmp/front_cache.so" perl "$here/workloads/churn.pl" "$scale" 2>&1 >/dev/null
if command -v sqlite3 >/dev/null 2>&1; then
	python3 "$here/workloads/sqlite_sql.py" "$scale" >"$tmp/bench.sql"
	LD_PRELOAD="$tmp/front_cache.so" sqlite3 :memory: <"$tmp/bench.sql" 2>&1 >/dev/null
fi
python3 "$here/workloads/gen_c.py" 160 >"$tmp/big.c"
# A compile prints three lines: the driver, cc1 and as.
LD_PRELOAD="$tmp/front_cache.so" gcc -O2 -c "$tmp/big.c" -o "$tmp/big.o"

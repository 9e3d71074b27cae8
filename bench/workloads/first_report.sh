#!/bin/sh
# A program's first report, as one new to the cache folder makes it:
# before each run the answers in the folder (site caches, routes,
# function tables) are removed, and the plain copies of compressed debug
# files (report/debug_inflate.h) are kept, as a machine where some
# program has met those debug files keeps them; then CMD runs under
# the library in FIRST_REPORT_LIB, with a folder under DIR of that
# library's own.  With FIRST_REPORT_FRESH=1 the copies go too: a first
# run on a machine where no program has been profiled.  For
# bench/alternate, which sets the variables and times the whole; not
# one of bench/run's workloads.
#
#   bench/alternate --rounds 7 'none%FIRST_REPORT_LIB=OLD' \
#       'none%FIRST_REPORT_LIB=NEW' -- sh bench/workloads/first_report.sh DIR CMD...
set -eu
[ $# -ge 2 ] && [ -n "${FIRST_REPORT_LIB:-}" ] ||
	{ echo "usage: FIRST_REPORT_LIB=LIB sh bench/workloads/first_report.sh DIR CMD..." >&2; exit 2; }
dir=$1
shift
folder=$dir/$(printf '%s' "$FIRST_REPORT_LIB" | tr '/' '_')
mkdir -p "$folder"
if [ "${FIRST_REPORT_FRESH:-0}" = 1 ]; then
	find "$folder" -type f -delete
else
	find "$folder" -type f ! -name '*.debug' -delete
fi
ALLOCINFO_CACHE=$folder ALLOCINFO_OUTPUT=/dev/null LD_PRELOAD=$FIRST_REPORT_LIB exec "$@"

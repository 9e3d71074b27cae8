#!/bin/sh
# A PostgreSQL server under a preload, for what profiling a server and
# its forked backends costs (not one of bench/run's workloads): a new
# cluster, the server started with LD_PRELOAD=LIB ("none": without),
# `pgbench -i -s 4` (COPY, indexes, vacuum) and then 2 clients of 1,000
# read-only transactions each; prints the milliseconds of the two client
# steps.  Run as the postgres user (the server refuses root), with
# Debian's postgresql-15:
#
#   runuser -l postgres -c 'sh bench/workloads/pgbench.sh LIB DIR'
set -eu
[ $# -eq 2 ] || { echo "usage: sh bench/workloads/pgbench.sh LIB|none DIR" >&2; exit 2; }
bin=/usr/lib/postgresql/15/bin
lib=$1
data=$2/cluster.$$
mkdir -p "$2"
rm -rf "$data"
"$bin/initdb" -D "$data" -A trust -N >/dev/null
if [ "$lib" != none ]; then
	LD_PRELOAD=$lib ALLOCINFO_OUTPUT=/dev/null
	export LD_PRELOAD ALLOCINFO_OUTPUT
fi
"$bin/pg_ctl" -D "$data" -w -l "$data.log" \
	-o "-k $2 -p 5499 -c fsync=off -c listen_addresses=''" start >/dev/null
unset LD_PRELOAD ALLOCINFO_OUTPUT
start=$(date +%s%N)
"$bin/pgbench" -h "$2" -p 5499 -i -s 4 postgres >/dev/null 2>&1
middle=$(date +%s%N)
"$bin/pgbench" -h "$2" -p 5499 -c 2 -t 1000 -S postgres >/dev/null 2>&1
end=$(date +%s%N)
"$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
rm -rf "$data" "$data.log"
echo "init $(( (middle - start) / 1000000 )) ms, select $(( (end - middle) / 1000000 )) ms"

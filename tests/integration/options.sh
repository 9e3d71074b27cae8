#!/bin/sh
# The library's options at the edges: a bad ALLOCINFO_SIZE value prints
# one line on stderr naming it and falls back to requested sizes; %p and
# %e in ALLOCINFO_OUTPUT become the pid and the executable's name;
# jemalloc's own messages (MALLOC_CONF) reach stderr unchanged; the
# jemalloc options the library sets are in force, and MALLOC_CONF
# overrides them one by one.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/sites_cxx

ALLOCINFO_SIZE=bogus run_preloaded "$T/bad" "$prog"
[ "$(wc -l <"$T/bad.stderr")" -eq 1 ] || {
	cat "$T/bad.stderr" >&2
	fail "ALLOCINFO_SIZE=bogus: expected one line on stderr, got the above"
}
grep -q 'ALLOCINFO_SIZE' "$T/bad.stderr" && grep -q 'bogus' "$T/bad.stderr" || {
	cat "$T/bad.stderr" >&2
	fail "ALLOCINFO_SIZE=bogus: the warning does not name the variable and its value"
}
check_expect_markers "$TEST_SRC/programs/sites_cxx.cc" "$T/bad"

# The library passes jemalloc's messages on (preload/malloc.c drops one
# line only, of its own option's making): a bad MALLOC_CONF pair is
# reported on stderr once, as jemalloc itself writes it.
MALLOC_CONF=no_such_option:1 run_preloaded "$T/conf" "$prog"
[ "$(cat "$T/conf.stderr")" = "<jemalloc>: Invalid conf pair: no_such_option:1" ] || {
	cat "$T/conf.stderr" >&2
	fail "MALLOC_CONF=no_such_option:1: expected jemalloc's one line on stderr, got the above"
}
check_expect_markers "$TEST_SRC/programs/sites_cxx.cc" "$T/conf"

# The library's malloc_conf (preload/malloc.c), as jemalloc runs with
# it; MALLOC_CONF overrides the option it names and no other.
opts=$TEST_BIN/programs/jemalloc_options
run_preloaded "$T/opts" "$opts"
[ "$(head -n 1 "$T/opts.stdout")" = "tcache_max=65536 tcache_nslots_large=4 tcache_nslots_small_min=8 tcache_gc_delay_bytes=65536 dirty_decay_ms=1000 dss=disabled" ] ||
	fail "the library's jemalloc options: expected tcache_max=65536 tcache_nslots_large=4 tcache_nslots_small_min=8 tcache_gc_delay_bytes=65536 dirty_decay_ms=1000 dss=disabled, got: $(cat "$T/opts.stdout")"
MALLOC_CONF=tcache_max:32768 run_preloaded "$T/opts2" "$opts"
[ "$(head -n 1 "$T/opts2.stdout")" = "tcache_max=32768 tcache_nslots_large=4 tcache_nslots_small_min=8 tcache_gc_delay_bytes=65536 dirty_decay_ms=1000 dss=disabled" ] ||
	fail "MALLOC_CONF=tcache_max:32768: expected only tcache_max to change, got: $(cat "$T/opts2.stdout")"

mkdir "$T/out"
status=0
ALLOCINFO_OUTPUT="$T/out/r.%p.%e" LD_PRELOAD=$ALLOCINFO_LIB "$prog" || status=$?
[ "$status" -eq 0 ] || fail "$prog failed under the preload (exit $status)"
set -- "$T"/out/*
[ $# -eq 1 ] && [ -f "$1" ] || fail "ALLOCINFO_OUTPUT=r.%p.%e: expected one report, found: $(ls "$T/out")"
name=${1##*/}
pid=$(sed -n 's/^# pid: //p' "$1")
[ "$name" = "r.$pid.sites_cxx" ] || fail "ALLOCINFO_OUTPUT=r.%p.%e wrote $name, expected r.$pid.sites_cxx"
check_expect_markers "$TEST_SRC/programs/sites_cxx.cc" "$1"

test_done

#!/bin/sh
# Makes the copy of Debian's jemalloc that liballocinfo.so links in:
#
#   embed_jemalloc.sh NM OBJCOPY OBJDUMP AR libjemalloc_pic.a OUT.a
#
# Why a copy and not libjemalloc.so.2: Debian's libjemalloc.so.2 needs
# libstdc++ (for its operator new), and loading libstdc++ into a C
# program costs about 0.9 ms a process, more than half of what
# allocinfo added to /bin/true (README.md, "Performance").  The copy
# leaves the C++ member out, so a C program loads neither.
#
# What changes in the copy, and why:
# - jemalloc's public names (malloc, mallocx, malloc_conf, ...) get the
#   prefix allocinfo_je_: the library defines malloc and the rest
#   itself, and links the copy with --exclude-libs, so that none of
#   jemalloc's names is seen outside it.
# - malloc_message is made weak, as malloc_conf is already: the library
#   defines both (preload/malloc.c).
# - Its calls to mmap, munmap and pthread_atfork go to
#   allocinfo_jemalloc_mmap, allocinfo_jemalloc_munmap and
#   allocinfo_jemalloc_atfork (core/mmap.c, core/alloc.c): the
#   core knows them as jemalloc's by the name they call, not by where
#   the caller's code lies.
# - Its code goes to one section, allocinfo_jemalloc_text, whose
#   bounds the linker gives as __start_ and __stop_ symbols: a signal
#   handler asks whether an address is jemalloc's (core/mmap.c).
set -eu

[ $# -eq 6 ] || { echo "usage: $0 NM OBJCOPY OBJDUMP AR libjemalloc_pic.a OUT.a" >&2; exit 2; }
nm=$1 objcopy=$2 objdump=$3 ar=$4 archive=$5 out=$6

[ -r "$archive" ] || { echo "$0: $archive: not readable (apt-get install libjemalloc-dev)" >&2; exit 1; }

tmp=$out.tmp
rm -rf "$tmp"
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT

# Every defined global name without jemalloc's private prefix je_ is a
# public one; __-names are not jemalloc's.
$nm -g --defined-only "$archive" | awk 'NF == 3 && $3 !~ /^(je_|__)/ { print $3 }' |
	sort -u >"$tmp/public"
for name in malloc free mallocx dallocx malloc_conf mallctl; do
	grep -qx "$name" "$tmp/public" ||
		{ echo "$0: $archive does not define $name: not the jemalloc this was written for" >&2; exit 1; }
done
{
	awk '{ print $1 " allocinfo_je_" $1 }' "$tmp/public"
	echo "mmap allocinfo_jemalloc_mmap"
	echo "munmap allocinfo_jemalloc_munmap"
	echo "pthread_atfork allocinfo_jemalloc_atfork"
	# libm's three, which jemalloc's heap profiler calls: the core's
	# own (core/jemalloc_math.c), so that the library needs no libm.
	echo "log allocinfo_jemalloc_log"
	echo "exp allocinfo_jemalloc_exp"
	echo "round allocinfo_jemalloc_round"
} >"$tmp/renames"

cp "$archive" "$tmp/copy.a"
# The C++ member defines operator new and needs libstdc++; the library
# has its own operator new (preload/new.c).
members=$($ar t "$tmp/copy.a")
for member in $members; do
	case $member in
	*cpp*) $ar d "$tmp/copy.a" "$member" ;;
	esac
done

text_sections()
{
	LC_ALL=C $objdump -h "$1" | awk '$2 ~ /^\.text($|\.)/ { print $2 }' | sort -u
}
# Without jemalloc's constructor (its one .init_array entry, which runs
# malloc_init): jemalloc starts at its first call, which the core makes
# (core/alloc.c: before_first_jemalloc_call), so that the core may find
# first that the address space has no room for it and never start it.
# The constructor ran after the library's own, which had started
# jemalloc already, but for that case: under `ulimit -v 28000` it
# crashed in its own start-up where the core had chosen glibc's malloc.
set -- --redefine-syms="$tmp/renames" \
	--remove-section=.init_array --remove-section=.rela.init_array \
	--weaken-symbol=malloc_message --weaken-symbol=allocinfo_je_malloc_message
for section in $(text_sections "$tmp/copy.a"); do
	set -- "$@" --rename-section "$section=allocinfo_jemalloc_text"
done
$objcopy "$@" "$tmp/copy.a" "$tmp/out.a"
left=$(text_sections "$tmp/out.a")
[ -z "$left" ] || { echo "$0: code left outside allocinfo_jemalloc_text: $left" >&2; exit 1; }
mv "$tmp/out.a" "$out"

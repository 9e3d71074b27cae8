/*
 * The C allocation entry points of glibc, interposed.
 *
 * Pure forwarding: each symbol takes its caller's return address and
 * calls the core (glibc's exact semantics live in core/malloc_api.c).
 * Nothing here may be inlined into another exported function, or the
 * return address would name the wrong caller.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/alloc_inline.h"
#include "core/jemalloc.h"
#include "core/malloc_api.h"
#include "preload/export.h"

HOT_EXPORT void *malloc(size_t size)
{
	return core_malloc(size, CALLER);
}

HOT_EXPORT void *calloc(size_t n, size_t size)
{
	return core_calloc(n, size, CALLER);
}

HOT_EXPORT void *realloc(void *ptr, size_t size)
{
	return core_realloc_inline(ptr, size, CALLER);
}

EXPORT void *reallocarray(void *ptr, size_t n, size_t size)
{
	return malloc_api_reallocarray(ptr, n, size, CALLER);
}

HOT_EXPORT void free(void *ptr)
{
	core_free_inline(ptr);
}

EXPORT void cfree(void *ptr)
{
	core_free(ptr);
}

/* The aligned forms take the fast path where the alignment allows it,
 * else glibc's rules for the others (core/malloc_api.c). */
EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (!core_align_takes_fast_path(align) || align < sizeof(void *))
		return malloc_api_posix_memalign(out, align, size, CALLER);
	p = core_memalign_inline(align, size, CALLER);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (core_align_takes_fast_path(align))
		return core_memalign_inline(align, size, CALLER);
	return malloc_api_memalign(align, size, CALLER);
}

EXPORT void *memalign(size_t align, size_t size)
{
	if (core_align_takes_fast_path(align))
		return core_memalign_inline(align, size, CALLER);
	return malloc_api_memalign(align, size, CALLER);
}

EXPORT void *valloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (core_align_takes_fast_path(page))
		return core_memalign_inline(page, size, CALLER);
	return malloc_api_valloc(size, CALLER);
}

EXPORT void *pvalloc(size_t size)
{
	return malloc_api_pvalloc(size, CALLER);
}

EXPORT size_t malloc_usable_size(void *ptr)
{
	return core_usable_size(ptr);
}

/*
 * glibc's exported names for its own allocator.  A library that calls
 * them directly, to reach the system's malloc past an interposer, had
 * glibc's __libc_free given a block of ours, and glibc aborted the
 * program ("free(): invalid pointer").  Taken over too, so that every
 * name of the malloc family means one allocator: aliases, the same
 * code, so that a call names its caller as the standard name's does.
 * The core reaches glibc's own, for blocks that glibc made, through
 * libc's symbol table (core/alloc.c).
 */
#define LIBC_NAME(name) \
	EXPORT __typeof__(name) __libc_##name __attribute__((alias(#name), copy(name)))
LIBC_NAME(malloc);
LIBC_NAME(calloc);
LIBC_NAME(realloc);
LIBC_NAME(free);
LIBC_NAME(memalign);
LIBC_NAME(valloc);
LIBC_NAME(pvalloc);

/*
 * The exports above under hidden names, which always mean these
 * definitions: the core compares them with the ones the process's
 * symbol lookup bound, to know whether the program has an allocator of
 * its own (core_program_has_other_malloc, core/alloc.h).
 */
#define OWN_ALIAS(name) \
	extern __typeof__(name) allocinfo_own_##name \
		__attribute__((alias(#name), copy(name), visibility("hidden")))
OWN_ALIAS(malloc);
OWN_ALIAS(calloc);
OWN_ALIAS(realloc);
OWN_ALIAS(free);
OWN_ALIAS(aligned_alloc);

/*
 * jemalloc's options, as the library sets them: the library's copy of
 * jemalloc has a weak malloc_conf of its own, renamed, which this one
 * takes the place of; MALLOC_CONF in the environment still overrides
 * it.
 *
 * dirty_decay_ms: jemalloc keeps the pages freed of each class for ten
 * seconds by default.  The profiler's slot arrays (allocator_pages.h)
 * add a few percent to a heap of small blocks, and returning freed pages
 * after one second keeps python3's object churn (PYTHONMALLOC=malloc)
 * within 1.15x of the uninstrumented peak RSS + 8 MiB, with ten seconds
 * it is at that bound (bench/run's peak RSS table); time does not
 * change measurably.  (When the tag was a trailer in each block, which
 * took the next class where the slack was short, it took 200 ms, at a
 * cost in time: a purged page faults again.)
 *
 * percpu_arena:percpu: an arena per CPU, chosen by the CPU a thread runs
 * on, where jemalloc's default gives each thread one of 4 x CPUs arenas.
 * A program with more threads than CPUs then keeps fewer partly used
 * slabs and dirty pages: bench/stress_threads (4 threads, 2 CPUs) peaks
 * at 60 MB where it took 68-71 MB (/usr/bin/time, 3 alternating runs),
 * and is no slower; single-threaded programs do not change.  (Not
 * narenas_ratio:1, as many arenas as CPUs shared by whichever threads
 * come: four threads' 64 KiB pairs, which jemalloc serves under an
 * arena's lock, then took 702 ns where they took 227, bench/micro.)
 * Where the process may not run on every CPU, jemalloc leaves the
 * option off (see jemalloc_message below).
 *
 * tcache_max:65536: the thread cache keeps blocks up to 64 KiB, where
 * jemalloc's default stops at 32 KiB.  A block between the two took
 * jemalloc's arena path, under the lock of an arena that percpu_arena
 * shares among the threads of a CPU: four threads' 64 KiB pairs cost
 * 1.39 to 1.70 of plain jemalloc's in the bench runs of 2026-11-27 at
 * 19:13, 19:42, 20:40 and 21:04 (bench/results), where the issue's
 * bound is 1.5.  From the cache they cost 0.32
 * (bench/alternate --rounds 5 --micro JEMALLOC ALLOCINFO
 * ALLOCINFO%MALLOC_CONF=tcache_max:65536 -- bench/micro --threads 1,4
 * --sites shared: 1.43 against 0.32 at four threads, 1.11 against 0.31
 * at one; 16 B and 1 MiB unchanged).  A thread may now hold blocks of
 * the four classes from 40 to 64 KiB too (below), which
 * jemalloc's incremental GC gives back when they go unused; peak RSS
 * moved by at most 1.4 MiB on the bench's workloads (node 101.4 to
 * 102.8 MiB, sqlite3 45.5 to 46.7, python3 with malloc 46.4 to 47.2,
 * the threads stress 55.9 either way; bench/alternate --rounds 5),
 * and python3's, sqlite3's and pymalloc's instruction counts by at
 * most 0.1%.  (131072 was measured too, and not kept: the threads
 * stress ran 1.09 of plain jemalloc's wall against 0.98.)
 *
 * tcache_nslots_large:4: a thread caches at most 4 blocks of each class
 * from 16 KiB up, where jemalloc's default is 20.  Those blocks are
 * large, and 20 of each of the nine classes to 64 KiB a thread is
 * megabytes: the threads stress (0.5% of its blocks 16 to 256 KiB)
 * peaked at 62.5 MiB, 1.32 of its uninstrumented 47.6, against 60.9
 * (1.27) with 4 and 60.7 with 2 (bench/alternate --rounds 9 none
 * ALLOCINFO ALLOCINFO%MALLOC_CONF=tcache_nslots_large:N --
 * bench/stress_threads --scale 1.0), where the bound is 1.32.
 * The instructions of python3 with malloc, sqlite3 and a compile did
 * not move (1.0000 to 1.0001 of before, bench/instructions), nor did
 * bench/micro's 64 KiB and 1 MiB pairs at one and four threads (0.99
 * to 1.02).  A pair of 64 KiB blocks, as bench/micro's, needs one
 * cached block of the class.
 *
 * tcache_nslots_small_min:8: a thread caches at least 8 blocks of a
 * small class, not 20.  jemalloc caches twice a class's blocks per
 * slab, but at least this many, and the fifteen classes from 512 bytes
 * to 14 KiB have one to eight blocks a slab (arenas.bin.<i>.nregs):
 * a thread could hold 1.56 MiB of them, and now holds at most 0.69
 * (the classes of 4 KiB and up 8 blocks each).  The threads stress
 * (7.5% of its blocks 1 to 16 KiB) peaked at 61.2 MiB, 1.30 of its
 * uninstrumented 47.2, against 59.4 (1.25) with 8, where the issue's
 * bound is 1.32 (bench/alternate --rounds 15 none JEMALLOC ALLOCINFO
 * ALLOCINFO%MALLOC_CONF=tcache_nslots_small_min:8 --
 * bench/stress_threads --scale 1.0; 61.1 against 58.9 in 11 rounds).
 * The instructions of sqlite3, gcc, perl, python3 with malloc and
 * pymalloc moved by at most 0.1%, rustc's fell 0.75%
 * (bench/instructions --warm 1), and their wall times and peaks did
 * not move past the host's noise (bench/alternate --rounds 7; perl
 * 1.00 of before in 21 rounds).  Classes with ten blocks a slab or
 * more keep their caches.
 *
 * tcache_gc_delay_bytes:65536: jemalloc's thread cache gives back a
 * class's blocks that went unused since its last look (the "GC", one
 * class every 64 KiB allocated) only once 64 KiB of them have been
 * asked back, where its default gives them back at once.  The
 * magazines (core/magazine.h) serve a class's short bursts, so jemalloc
 * sees the long ones: it gave back blocks that the next burst then
 * fetched again.  With PYTHONMALLOC=malloc, python3 took jemalloc's
 * refill path 101,951 times, against 43,310 under plain jemalloc
 * (callgrind, objects.py 0.2).  The delay cut python3's instructions
 * with malloc by 2.7% and the threads stress's by 3.3% to 4.0%, and left
 * sqlite3, perl, a compile and pymalloc within 0.1% (bench/instructions
 * --warm 1 ALLOCINFO ALLOCINFO%MALLOC_CONF=tcache_gc_delay_bytes:65536);
 * peak RSS moved by at most 1 MiB (bench/alternate --rounds 7 to 21:
 * the threads stress 56.5 to 57.0 MiB, node 119.4 to 120.4, sqlite3
 * and python3 unchanged).  (Also GC every 256 KiB instead of 64: 2.8%
 * fewer instructions on the threads stress, but 1 to 2.6 MiB more of
 * its peak, near its bound.)
 *
 * dss:disabled: jemalloc takes memory only with mmap, never with sbrk
 * (its default falls back to sbrk when mmap fails).  Its pages must come
 * through the core's mmap for jemalloc (allocinfo_jemalloc_mmap, core/
 * mmap.c), which marks them as jemalloc's and makes
 * their leaf of the page table before jemalloc can hand out a block in
 * them (core/allocator_pages.h): a block in pages from sbrk would be
 * taken for glibc's and freed to glibc.
 */
#define JEMALLOC_CONF_COMMON \
	"dirty_decay_ms:1000,tcache_max:65536,tcache_nslots_large:4,tcache_nslots_small_min:8," \
	"tcache_gc_delay_bytes:65536,dss:disabled"

const char *allocinfo_je_malloc_conf = JEMALLOC_CONF_COMMON ",percpu_arena:percpu";

/*
 * Under a limit on the address space or the data segment (ulimit -v,
 * ulimit -d), one arena: narenas:1, and no percpu_arena.
 *
 * jemalloc makes an arena when a thread first needs one (a thread's
 * first allocation, a move to another CPU with per-CPU arenas), and
 * does not survive failing to: it binds the thread's cache to the NULL
 * arena its creation returned.  Where mappings can fail, they do:
 * `ulimit -v 100000; sort -n` of a 15 MB file (threads of its own)
 * died of SIGSEGV in 8 of 12 runs, in jemalloc's arena_choose_hard,
 * where natively it sorts.  With its one arena made as it starts,
 * jemalloc never makes another, and an allocation it cannot serve
 * fails as glibc's would (0 of 12).  The cost is the threads' share of
 * one arena's locks, only in processes so limited.
 */
void allocinfo_jemalloc_choose_conf(bool address_space_limited)
{
	if (address_space_limited)
		allocinfo_je_malloc_conf = JEMALLOC_CONF_COMMON ",narenas:1";
}

/*
 * jemalloc's messages: the library's copy of jemalloc calls this
 * pointer, which it leaves to the library to define, as it does
 * malloc_conf (core/embed_jemalloc.sh).  Where the process's CPU affinity
 * is narrower than the machine (taskset, a container's cpuset), jemalloc
 * turns percpu_arena off and writes "<jemalloc>: Number of CPUs detected
 * is not deterministic. Per-CPU arena disabled." on stderr: a line of
 * the library's making in the program's output.  That line is dropped
 * unless MALLOC_CONF asked for per-CPU arenas itself; every other
 * message is written to stderr as jemalloc writes it, with one write
 * and errno kept.
 */
#define JEMALLOC_PERCPU_DROPPED \
	"<jemalloc>: Number of CPUs detected is not deterministic. Per-CPU arena disabled.\n"

static void jemalloc_message(void *opaque, const char *text)
{
	const char *conf = getenv("MALLOC_CONF");
	int saved_errno = errno;
	ssize_t written;

	(void)opaque;
	if (strcmp(text, JEMALLOC_PERCPU_DROPPED) == 0 &&
	    !(conf && strstr(conf, "percpu_arena")))
		return;
	written = write(STDERR_FILENO, text, strlen(text));
	(void)written;
	errno = saved_errno;
}

void (*allocinfo_je_malloc_message)(void *opaque, const char *text) = jemalloc_message;

/*
 * Allocation: jemalloc underneath, each block's tag in a slot outside
 * it (allocator_pages.h).  The inline fast path of malloc and free that
 * preload/ compiles in is in alloc_inline.h; this file has the general
 * functions (alignment, zeroing, realloc, large sizes, the early window,
 * the profiler's own memory, blocks of other allocators).
 *
 * A block is always allocated as the whole of its size class (@usable,
 * from nallocx or the class table), so its page's entry names the
 * class jemalloc serves it from, whatever alignment was asked.  A small
 * block is counted by its slot alone (alloc_inline.h); a large block's
 * count is kept in its first page's entry and added to its tag's
 * counters, so a free subtracts exactly that, whatever the options are
 * by then.
 *
 * No path takes a lock, and none makes a system call but to map a new
 * chunk of slot arrays or a leaf of the page table, or a grown block's
 * mapping (below): a table lookup, a store to the slot or a few plain
 * stores to this thread's counters, and jemalloc's thread cache.
 */
#include "core/alloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/alloc_inline.h"
#include "core/alloc_tag.h"
#include "core/allocator_pages.h"
#include "core/callsite.h"
#include "core/codetag.h"
#include "core/exit_arena.h"
#include "core/frame_memo.h"
#include "core/internal_scope.h"
#include "core/self_read.h"
#include "core/malloc_api.h"
#include "core/mmap.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

__thread struct core_thread core_thread = { .allocator_state = CORE_NOT_READY };

/* free is set from the start: the free fast path is open in the early
 * window too, for blocks mallocx made. */
struct core_jemalloc core_je = { .free = allocinfo_je_free };
bool core_count_usable_size;
static atomic_bool core_ready;

/*
 * A caller passed flags this function does not support.  Like the
 * kernel's WARN_ON_ONCE in __alloc_frozen_pages_noprof: say it once and
 * fail the call.  write(2) only: this may run inside malloc.
 */
static __attribute__((noinline, cold)) void
reject_flags(const char *func, unsigned int flags)
{
	static atomic_bool warned;
	char msg[128];
	int n;

	if (!atomic_exchange(&warned, true)) {
		n = snprintf(msg, sizeof(msg),
			     "allocinfo: %s: unsupported alloc flags 0x%x\n",
			     func, flags);
		if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
			(void)0;
	}
	errno = EINVAL;
}

/*
 * The library's malloc family under hidden names (preload/malloc.c
 * defines them as aliases of its exports).  A hidden name always means
 * our own definition, where the exported name, through the GOT, means
 * whichever definition the process's symbol lookup bound.  Weak: the
 * unit tests link the core without preload/, and there the program's
 * allocator is glibc's.
 */
extern void *allocinfo_own_malloc(size_t size) __attribute__((weak, visibility("hidden")));
extern void *allocinfo_own_calloc(size_t n, size_t size)
	__attribute__((weak, visibility("hidden")));
extern void *allocinfo_own_realloc(void *ptr, size_t size)
	__attribute__((weak, visibility("hidden")));
extern void allocinfo_own_free(void *ptr) __attribute__((weak, visibility("hidden")));
extern void *allocinfo_own_aligned_alloc(size_t align, size_t size)
	__attribute__((weak, visibility("hidden")));

/*
 * Whether the process binds @bound, a function of the malloc family
 * (its address as our GOT has it), to another definition than @own,
 * ours.  The address is the canonical one: a non-PIE executable that
 * calls the function has a PLT entry, and every object's GOT holds
 * that entry's address, which leads to ours (the executable's symbol
 * for it is undefined, with the entry's address as its value: python3
 * is such a program).  So an address other than ours counts only where
 * a symbol that is defined starts at it.  dladdr1 takes the loader's
 * lock and allocates nothing; it runs once a function, the first time
 * it is asked, by the constructor at the latest (preload/lifecycle.c),
 * before the program has threads that could hold that lock and wait for
 * the program's allocator.
 */
static bool bound_elsewhere(void *bound, void *own)
{
	const ElfW(Sym) *sym = NULL;
	Dl_info info;

	return own && bound != own &&
	       dladdr1(bound, &info, (void **)&sym, RTLD_DL_SYMENT) &&
	       info.dli_saddr == bound && sym && sym->st_shndx != SHN_UNDEF;
}

/*
 * What the process binds the malloc family to, found once and kept as
 * one word, so that every thread reads it whole: PROGRAM_KNOWN, and
 * PROGRAM_OTHER_MALLOC when malloc is another allocator's; then which
 * of calloc, realloc, free and aligned_alloc that allocator defines too
 * (one it lacks is glibc's, as it would be without us).
 */
enum {
	PROGRAM_KNOWN = 1u << 0,
	PROGRAM_OTHER_MALLOC = 1u << 1,
	PROGRAM_DEFINES_CALLOC = 1u << 2,
	PROGRAM_DEFINES_REALLOC = 1u << 3,
	PROGRAM_DEFINES_FREE = 1u << 4,
	PROGRAM_DEFINES_ALIGNED_ALLOC = 1u << 5,
};
static _Atomic unsigned int program_allocator;

static __attribute__((noinline, cold)) unsigned int find_program_allocator(void)
{
	unsigned int found = PROGRAM_KNOWN;

	if (bound_elsewhere((void *)&malloc, (void *)allocinfo_own_malloc)) {
		found |= PROGRAM_OTHER_MALLOC;
		if (bound_elsewhere((void *)&calloc, (void *)allocinfo_own_calloc))
			found |= PROGRAM_DEFINES_CALLOC;
		if (bound_elsewhere((void *)&realloc, (void *)allocinfo_own_realloc))
			found |= PROGRAM_DEFINES_REALLOC;
		if (bound_elsewhere((void *)&free, (void *)allocinfo_own_free))
			found |= PROGRAM_DEFINES_FREE;
		if (bound_elsewhere((void *)&aligned_alloc, (void *)allocinfo_own_aligned_alloc))
			found |= PROGRAM_DEFINES_ALIGNED_ALLOC;
	}
	/* Two threads that ask first find the same. */
	atomic_store_explicit(&program_allocator, found, memory_order_relaxed);
	return found;
}

static inline unsigned int program_allocator_word(void)
{
	unsigned int known = atomic_load_explicit(&program_allocator, memory_order_relaxed);

	return __builtin_expect(known != 0, 1) ? known : find_program_allocator();
}

bool core_program_has_other_malloc(void)
{
	return program_allocator_word() & PROGRAM_OTHER_MALLOC;
}

/* Whether the program's other allocator defines @what (a
 * PROGRAM_DEFINES_ bit); false while its malloc is ours. */
static bool program_defines(unsigned int what)
{
	unsigned int word = program_allocator_word();

	return (word & PROGRAM_OTHER_MALLOC) && (word & what);
}

/*
 * Blocks that are not ours (in no page jemalloc mapped) go back to the
 * allocator that made them, untracked: the program's other allocator
 * when it has one (core_program_has_other_malloc), else glibc, since a
 * library bound to glibc's malloc (RTLD_DEEPBIND, -Bsymbolic) may hand
 * its callers blocks they free with ours.
 *
 * glibc's allocator is reached by the names it exports for it, looked
 * up in libc's symbol table: the library exports those names too
 * (preload/malloc.c), and a call by name would come back here.  Found
 * once, at start (core_init) or by the first call that needs them
 * (before core_init: the early window, which has one thread).
 */
struct glibc_allocator {
	void *(*malloc)(size_t size);
	void *(*calloc)(size_t n, size_t size);
	void (*free)(void *ptr);
	void *(*realloc)(void *ptr, size_t size);
	void *(*memalign)(size_t align, size_t size);
	size_t (*usable_size)(void *ptr);
};
static struct glibc_allocator glibc;
static atomic_bool glibc_found;

static __attribute__((noinline, cold)) void find_glibc_allocator(void)
{
	void *libc;
	int saved_errno = errno;

	core_internal_enter();
	libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (libc) {
		*(void **)&glibc.malloc = dlsym(libc, "__libc_malloc");
		*(void **)&glibc.calloc = dlsym(libc, "__libc_calloc");
		*(void **)&glibc.free = dlsym(libc, "__libc_free");
		*(void **)&glibc.realloc = dlsym(libc, "__libc_realloc");
		*(void **)&glibc.memalign = dlsym(libc, "__libc_memalign");
		*(void **)&glibc.usable_size = dlsym(libc, "malloc_usable_size");
		dlclose(libc);
	}
	core_internal_leave();
	errno = saved_errno;
	atomic_store_explicit(&glibc_found, true, memory_order_release);
}

static inline const struct glibc_allocator *glibc_allocator(void)
{
	if (!atomic_load_explicit(&glibc_found, memory_order_acquire))
		find_glibc_allocator();
	return &glibc;
}

static __attribute__((noinline, cold)) void foreign_free(void *ptr)
{
	if (program_defines(PROGRAM_DEFINES_FREE))
		free(ptr);
	else if (glibc_allocator()->free)
		glibc_allocator()->free(ptr);
}

static __attribute__((noinline, cold)) void *foreign_realloc(void *ptr,
							      size_t size)
{
	if (program_defines(PROGRAM_DEFINES_REALLOC))
		return realloc(ptr, size);
	if (!glibc_allocator()->realloc) {
		errno = ENOMEM;
		return NULL;
	}
	return glibc_allocator()->realloc(ptr, size);
}

/*
 * An allocation for the program while it has another allocator: that
 * allocator's, as the program would have had it without us (operator
 * new, for one, is libstdc++'s malloc; reallocarray is glibc's
 * realloc).  An alignment past malloc's goes to its aligned_alloc if it
 * has one, else to glibc's memalign, where memalign and its kin would
 * have gone without us.
 */
static __attribute__((noinline, cold)) void *program_alloc(size_t size, size_t align,
							   bool zero)
{
	void *ptr;

	if (align > ALLOC_MIN_ALIGN) {
		if (program_defines(PROGRAM_DEFINES_ALIGNED_ALLOC))
			ptr = aligned_alloc(align, size);
		else if (glibc_allocator()->memalign)
			ptr = glibc_allocator()->memalign(align, size);
		else
			ptr = NULL;
		if (ptr && zero)
			memset(ptr, 0, size);
		return ptr;
	}
	if (zero)
		return program_defines(PROGRAM_DEFINES_CALLOC) ? calloc(1, size) :
		       glibc_allocator()->calloc ? glibc_allocator()->calloc(1, size) : NULL;
	return malloc(size);
}

static __attribute__((noinline, cold)) size_t foreign_usable_size(void *ptr)
{
	const struct glibc_allocator *g = glibc_allocator();

	return g->usable_size ? g->usable_size(ptr) : 0;
}

/*
 * jemalloc reads its options on its first call, which is one of the two
 * below (alloc_block's, in the early window or after it, and
 * fill_size_classes' in core_init): they are chosen just before.
 * Threads have none to race for: a thread is made with an allocation.
 */
static bool jemalloc_conf_chosen;

/*
 * jemalloc's log, exp and round (core/jemalloc_math.c), named here so
 * that a program linked with libcore.a takes their object too: only
 * jemalloc's copy, linked after libcore.a, calls them.
 */
double allocinfo_jemalloc_log(double x);
double allocinfo_jemalloc_exp(double x);
double allocinfo_jemalloc_round(double x);
static double (*const jemalloc_math[])(double) __attribute__((used)) = {
	allocinfo_jemalloc_log, allocinfo_jemalloc_exp, allocinfo_jemalloc_round,
};

/* preload/malloc.c's chooses; a core linked without it (the unit
 * tests) runs jemalloc with the copy's own options. */
__attribute__((weak)) void allocinfo_jemalloc_choose_conf(bool address_space_limited)
{
	(void)address_space_limited;
}

/*
 * jemalloc cannot start in a small address space: under `ulimit -v`
 * 40000 or 50000 (KiB), its thread cache failed to start and mallocx
 * read through the bins it did not make, and the program died of
 * SIGSEGV at its first allocation, where natively it runs.  So under a
 * finite RLIMIT_AS or RLIMIT_DATA, before jemalloc's first call, the
 * room it needs is tried with one mapping of JEMALLOC_START_ROOM,
 * unmapped at once; without that room the process runs on glibc's
 * allocator, unprofiled (core_jemalloc_unusable), as it would without
 * the library.  glibc's functions are found with dlsym(RTLD_NEXT):
 * the libc after this library, without the dlopen that
 * glibc_allocator() makes, which allocates.
 *
 * The room: with 16 MiB tried, /bin/echo still died in 1 or 2 runs of
 * 20 under limits of 43000 to 45000, where jemalloc's start needed
 * more (its mappings are aligned to 2 MiB, and come in several); with
 * 24 MiB, none in 50 runs at 48000 to 53000, the highest limits that
 * fall back (49000) and the lowest that profile (50000).
 */
#define JEMALLOC_START_ROOM (24u << 20)

static bool jemalloc_unusable;

static bool address_space_is_limited(void)
{
	struct rlimit limit;

	return (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) ||
	       (getrlimit(RLIMIT_DATA, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY);
}

/* Under a limit (address_space_is_limited): the room tried. */
static bool jemalloc_has_room(void)
{
	int saved_errno = errno;
	long mapped;

	/* Writable and private: RLIMIT_DATA counts it, as RLIMIT_AS does. */
	mapped = syscall(SYS_mmap, NULL, JEMALLOC_START_ROOM, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mapped != -1)
		syscall(SYS_munmap, mapped, JEMALLOC_START_ROOM);
	errno = saved_errno;
	return mapped != -1;
}

static inline void before_first_jemalloc_call(void)
{
	if (unlikely(!jemalloc_conf_chosen)) {
		bool limited = address_space_is_limited();

		allocinfo_jemalloc_choose_conf(limited);
		/* Set before the lookups: an allocation in them (there is
		 * none in a dlsym that finds its symbol) must not come back
		 * here, nor reach jemalloc. */
		jemalloc_conf_chosen = true;
		if (limited && !jemalloc_has_room()) {
			jemalloc_unusable = true;
			*(void **)&glibc.malloc = dlsym(RTLD_NEXT, "__libc_malloc");
			*(void **)&glibc.calloc = dlsym(RTLD_NEXT, "__libc_calloc");
			*(void **)&glibc.memalign = dlsym(RTLD_NEXT, "__libc_memalign");
		}
	}
}

bool core_jemalloc_unusable(void)
{
	return jemalloc_unusable;
}

/* An allocation of @size, aligned to @align and zeroed with @zero, from
 * glibc: the program's and the profiler's alike, where jemalloc has no
 * room (above).  Its blocks lie in no page of jemalloc's, so free,
 * realloc and malloc_usable_size take them to glibc as foreign ones. */
static __attribute__((noinline, cold)) void *glibc_alloc(size_t size, size_t align,
							 bool zero)
{
	void *ptr = NULL;

	if (align > ALLOC_MIN_ALIGN) {
		if (glibc.memalign && (ptr = glibc.memalign(align, size)) && zero)
			memset(ptr, 0, size);
	} else if (zero) {
		if (glibc.calloc)
			ptr = glibc.calloc(1, size);
	} else if (glibc.malloc) {
		ptr = glibc.malloc(size);
	}
	if (!ptr)
		errno = ENOMEM;
	return ptr;
}

/*
 * jemalloc's own malloc, calloc and free: their fast paths are ~4 ns
 * per pair quicker than mallocx/dallocx, which take the general path.
 * The fast path takes malloc and calloc (the copy's, under their
 * prefixed names) once core_init has the size classes; until then (the
 * early window) blocks come from mallocx, which the same jemalloc frees.
 */

struct core_size_tables core_size;

/* false if a class past the table's reach shows up (then the fast path
 * stays off).  One nallocx a class, not one an entry: every request up
 * to a class's size has that class or a smaller one, so the class of
 * the entry after it starts the next run (1,025 calls were 40,000
 * instructions of every process's start; there are 32 classes). */
static bool fill_size_classes(void)
{
	size_t i = 0;

	before_first_jemalloc_call();
	if (jemalloc_unusable)
		return false;
	while (i <= ALLOC_SMALL_USABLE_MAX / 8) {
		size_t usable = nallocx(i * 8 < 16 ? 16 : i * 8, 0);

		if (usable > ALLOC_SMALL_USABLE_MAX || usable < i * 8 || usable % 8)
			return false;
		for (; i <= usable / 8; i++)
			core_size.usable[i] = (uint16_t)usable;
	}
	return true;
}

/* The fast path's jemalloc entry points, once the size classes are
 * known. */
static void open_jemalloc_fast_path(void)
{
	/* The malloc fast path counts requested sizes: not with
	 * ALLOCINFO_SIZE=usable. */
	if (!core_count_usable_size && fill_size_classes()) {
		core_magazine_init_classes(core_size.usable, CORE_SIZE_ENTRIES);
		core_je.calloc = allocinfo_je_calloc;
		__atomic_store_n(&core_je.malloc, allocinfo_je_malloc, __ATOMIC_RELEASE);
	}
}

/*
 * jemalloc's fork handlers, registered by the core in jemalloc's place,
 * to do what glibc's malloc does.
 *
 * jemalloc registers handlers (pthread_atfork) that take every lock of
 * its own before a fork and release them after, in every process.
 * glibc's malloc takes its locks only in a process with threads: a
 * single-threaded process may fork in a signal handler that interrupted
 * malloc (fork is async-signal-safe), and never waits.  Under jemalloc
 * that fork waits for ever for a lock the interrupted call holds.  Under
 * the profiler it is far likelier, since a site's first sight runs
 * inside the program's malloc and allocates:
 * tests/programs/fork_unwind.c's "signal" hung in 1 run of 150 on
 * jemalloc's locks.
 *
 * So jemalloc's three handlers are kept here and wrapped: in a
 * single-threaded process (glibc's __libc_single_threaded, which stays
 * false once a thread was made) they do nothing.  No other thread can
 * hold a lock of jemalloc's there, and one that this thread holds is
 * released by the call the signal interrupted, in the parent and in the
 * child alike; the child's jemalloc is the parent's, as it is under
 * glibc's malloc.  With threads, jemalloc's handlers run as they would.
 *
 * jemalloc's call to pthread_atfork reaches allocinfo_jemalloc_atfork
 * by its name in the library's copy of jemalloc (core/embed_jemalloc.sh).
 * It registers from its initialisation, which may come before the
 * library's constructor.
 */
typedef void fork_handler(void);

static fork_handler *jemalloc_prepare, *jemalloc_parent, *jemalloc_child;
/* Set by the prepare handler for its parent and child handlers, in the
 * thread that forks. */
static __thread bool jemalloc_skipped;
/* From jemalloc's prepare handler to its parent or child handler: the
 * thread that forks holds all of jemalloc's locks. */
static __thread bool jemalloc_locked_for_fork;

static void prepare_as_glibc(void)
{
	jemalloc_skipped = __libc_single_threaded;
	if (!jemalloc_skipped) {
		jemalloc_prepare();
		jemalloc_locked_for_fork = true;
	}
}

static void parent_as_glibc(void)
{
	jemalloc_locked_for_fork = false;
	if (!jemalloc_skipped)
		jemalloc_parent();
}

static void child_as_glibc(void)
{
	jemalloc_locked_for_fork = false;
	if (!jemalloc_skipped)
		jemalloc_child();
}

bool core_fork_holds_jemalloc(void)
{
	return jemalloc_locked_for_fork;
}

int allocinfo_jemalloc_atfork(fork_handler *prepare, fork_handler *parent,
			      fork_handler *child)
{
	/* Once, with all three (jemalloc's own call always has). */
	if (jemalloc_prepare || !prepare || !parent || !child)
		return pthread_atfork(prepare, parent, child);
	jemalloc_prepare = prepare;
	jemalloc_parent = parent;
	jemalloc_child = child;
	return pthread_atfork(prepare_as_glibc, parent_as_glibc, child_as_glibc);
}

/*
 * Whether @ptr is a block of jemalloc's: in pages jemalloc mapped.
 * jemalloc's mappings always reach the core (allocator_pages.h), since
 * the library's copy calls allocinfo_jemalloc_mmap by name
 * (core/embed_jemalloc.sh): no library that interposes mmap ahead of
 * ours can map jemalloc's pages behind the core's back.
 */
static inline bool block_is_ours(const void *ptr)
{
	return allocator_pages_contain(ptr);
}

/*
 * The largest block served.  glibc's malloc takes a large block from
 * mmap, which the kernel's heuristic overcommit (vm.overcommit_memory
 * 0, its default) refuses when it needs more pages than RAM and swap
 * hold together: malloc(1 TiB) is NULL with ENOMEM, and python3's
 * bytes(2**40) raises MemoryError.  jemalloc maps with MAP_NORESERVE
 * where the kernel overcommits, which that check passes: the same
 * requests succeeded, up to 32 TiB, and a program's first writes to
 * such a block would wake the OOM killer.  So with the heuristic on,
 * a request (its class, for an alignment) of more pages than RAM and
 * swap fails as glibc's does; with overcommit always (1) or never (2)
 * jemalloc meets the kernel's own answer.  PTRDIFF_MAX until core_init,
 * and where the settings cannot be read.
 */
static size_t request_max = PTRDIFF_MAX;

static void bound_requests_as_glibc(void)
{
	char mode = 0;
	struct sysinfo info;
	int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
	unsigned long long bytes;

	if (fd < 0)
		return;
	if (read(fd, &mode, 1) != 1)
		mode = 0;
	close(fd);
	if (mode != '0' || sysinfo(&info) != 0)
		return;
	bytes = ((unsigned long long)info.totalram + info.totalswap) * info.mem_unit;
	if (bytes < PTRDIFF_MAX)
		request_max = (size_t)bytes;
}

static inline bool past_request_max(size_t usable)
{
	return usable > request_max;
}

/* The same for a block of class @usable aligned to @align: glibc maps
 * (and jemalloc reserves) up to @align - a page more, to cut the
 * aligned block from. */
static inline bool aligned_past_request_max(size_t usable, size_t align)
{
	size_t page = (size_t)1 << ALLOCATOR_PAGES_PAGE_SHIFT;

	if (align <= page)
		return past_request_max(usable);
	return usable > request_max || align - page > request_max - usable;
}

void core_init(const struct core_options *options)
{
	int saved_errno = errno;

	bound_requests_as_glibc();
	errno = saved_errno;
	/* At start, where the loader's lock is free: a first free of a
	 * block of glibc's may come at any time after. */
	(void)glibc_allocator();
	core_count_usable_size = options->count_usable_size;
	core_internal_enter();
	open_jemalloc_fast_path();
	alloc_tag_init_threads();
	core_internal_leave();
	codetag_mark_existing_inaccurate();
	atomic_store_explicit(&core_ready, true, memory_order_release);
}

bool core_is_ready(void)
{
	return atomic_load_explicit(&core_ready, memory_order_acquire);
}

/* Whether an allocation with @alloc_flags is the profiler's own: asked
 * for so, or made inside its scope. */
static inline bool profilers_own(unsigned int alloc_flags)
{
	return unlikely(alloc_flags & ALLOC_NO_CODETAG) || unlikely(core_in_internal_scope());
}

static inline uint32_t tag_for(unsigned int alloc_flags, uintptr_t site)
{
	if (profilers_own(alloc_flags))
		return CODETAG_INTERNAL;
	return codetag_index_for_site(site);
}

/*
 * The size class to ask for @size bytes with @mallocx_flags (alignment),
 * as jemalloc would serve it; 0 if past PTRDIFF_MAX.
 */
static size_t usable_for(size_t size, int mallocx_flags)
{
	size_t usable;

	if (unlikely(size > PTRDIFF_MAX))
		return 0;
	/* The class table has jemalloc's answer without a call (0 until
	 * core_init fills it): calloc's and realloc's common case. */
	if (mallocx_flags == 0 && size <= ALLOC_SMALL_USABLE_MAX) {
		usable = small_usable_for(size);
		if (likely(usable))
			return usable;
	}
	/* 16 at least: glibc's blocks are all 16-aligned. */
	usable = nallocx(size < 16 ? 16 : size, mallocx_flags);
	return usable > PTRDIFF_MAX ? 0 : usable;
}

/*
 * Records a fresh block of @usable bytes under @tag (for a large block,
 * @usable need only be past the small classes).  NULL, with the block
 * given back, if a small block's page has no slot array and none can be
 * mapped.  A large block whose page entry cannot be made (no leaf could
 * be mapped: the address space is exhausted) is left uncounted, and its
 * free then takes back nothing.
 */
static inline void *account_block(void *ptr, size_t usable, size_t size,
				  uint32_t tag)
{
	uint64_t counted = size;

	if (unlikely(core_count_usable_size))
		counted = usable;
	if (usable <= ALLOC_SMALL_USABLE_MAX) {
		uint32_t *slot = allocator_pages_small_slot(ptr, usable);

		if (unlikely(!slot))
			return core_malloc_failed(ptr, usable);
		slot_set(slot, slot_word(tag, counted));
		return ptr;
	}
	if (likely(allocator_pages_set_large(ptr, tag, counted, 0)))
		alloc_tag_add(tag, (int64_t)counted);
	return ptr;
}

/*
 * Grown blocks.  A block that realloc grows to CORE_GROWN_MIN bytes or
 * more moves into a mapping of its own, of whole pages, and a realloc
 * after that resizes the mapping with mremap (core/mmap.c), in place or
 * moving its pages: nothing is copied, and no old copy is left behind.
 * glibc does as much for a block past its mmap threshold; jemalloc
 * copies a large block into a new one, and the old block's pages stay
 * dirty until its decay returns them.  sqlite3 grows a buffer by
 * doubling realloc to 16 MiB on the bench's SQL (sqlite_sql.py 1): its
 * peak RSS went from 85.1 MiB to 77.0 (bench/alternate --rounds 5;
 * glibc's 62.9, plain jemalloc's 83.7), its time 1.09 of glibc's to
 * 1.07.  A grown block's first page entry keeps its mapping's pages;
 * it is freed by munmap, and a realloc below CORE_GROWN_MIN moves it
 * back into jemalloc.  Only realloc makes one: a malloc of that size
 * stays jemalloc's, whose cache serves a pair of them without a system
 * call.
 */
#define CORE_GROWN_MIN ((size_t)256 << 10)

/*
 * A grown block that grows past its mapping is given a quarter more
 * than it had, where it asked for less: address space, whose pages
 * fault in only as they are written.  Resized to the page it asked
 * for, a buffer grown a page at a time (perl's stack of temporaries,
 * 512 pointers a realloc) took three system calls a realloc: mremap in
 * place failed once a move had left its mapping in two pieces, then a
 * fresh mapping and the move.  From 256 KiB to 2 MiB, such a buffer
 * moved 448 times, and now 11 (tests/integration/grown_blocks.sh).
 * `bench/alternate --rounds 7 JEMALLOC OLD NEW -- realloc_grow 20
 * 2097152 4096` (bench/workloads/realloc_grow.c): 0.315 s against 0.006,
 * plain jemalloc 0.009; `perl bench/workloads/perl_list.pl`, 0.404 s
 * against 0.164, plain jemalloc 0.155.  Where the roomier mapping cannot
 * be had, the exact one is tried.
 */
#define GROWN_HEADROOM_SHIFT 2

/* The grown blocks that live, and their mappings' bytes: glibc's
 * figures of its mmapped blocks (mallinfo's hblks and hblkhd). */
static _Atomic int64_t grown_blocks, grown_bytes;

void core_grown_totals(size_t *blocks, size_t *bytes)
{
	int64_t n = atomic_load_explicit(&grown_blocks, memory_order_relaxed);
	int64_t b = atomic_load_explicit(&grown_bytes, memory_order_relaxed);

	*blocks = n > 0 ? (size_t)n : 0;
	*bytes = b > 0 ? (size_t)b : 0;
}

static inline size_t grown_length(const struct allocator_pages_large *large)
{
	return (size_t)large->mapped_pages << ALLOCATOR_PAGES_PAGE_SHIFT;
}

static inline size_t whole_pages(size_t size)
{
	return (size + ALLOC_PAGE_MASK) & ~(size_t)ALLOC_PAGE_MASK;
}

/* Counts the grown block @ptr, @len bytes mapped, of @size bytes asked,
 * under @tag, and among the grown blocks.  Its pages are marked, so its
 * leaf exists. */
static void *account_grown(void *ptr, size_t len, size_t size, uint32_t tag)
{
	uint64_t counted = core_count_usable_size ? len : size;

	allocator_pages_set_large(ptr, tag, counted,
				  (uint32_t)(len >> ALLOCATOR_PAGES_PAGE_SHIFT));
	alloc_tag_add(tag, (int64_t)counted);
	atomic_fetch_add_explicit(&grown_blocks, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&grown_bytes, (int64_t)len, memory_order_relaxed);
	return ptr;
}

/* The grown block of @len bytes, uncounted from its tag already, is no
 * longer among the grown blocks: freed, or resized to be counted again. */
static void uncount_grown(size_t len)
{
	atomic_fetch_sub_explicit(&grown_blocks, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&grown_bytes, (int64_t)len, memory_order_relaxed);
}

/* Unmaps the grown block @ptr of @len bytes, already uncounted from its
 * tag; its entry is cleared first, while its pages are still its own. */
static void free_grown(void *ptr, size_t len)
{
	uncount_grown(len);
	allocator_pages_set_large(ptr, 0, 0, 0);
	core_grown_unmap(ptr, len);
}

/* A block of ours: its usable size, and its slot if it is a small one
 * (else NULL), and its mapping's length if it is a grown one (else
 * 0). */
static inline size_t find_block(void *ptr, uint32_t **slot, size_t *mapped)
{
	uint64_t entry = allocator_pages_small_entry(ptr);
	size_t usable = allocator_pages_entry_usable(entry);
	struct allocator_pages_large large;

	*mapped = 0;
	if (usable) {
		*slot = allocator_pages_slot(ptr, entry);
		return usable;
	}
	*slot = NULL;
	large = allocator_pages_large_of(ptr);
	if (large.mapped_pages)
		return *mapped = grown_length(&large);
	return sallocx(ptr, 0);
}

/* The usable size of a block of ours: from its page's entry when it
 * is a small or a grown block, else from jemalloc. */
static inline size_t usable_of(void *ptr)
{
	size_t usable = allocator_pages_entry_usable(allocator_pages_small_entry(ptr));
	struct allocator_pages_large large;

	if (usable)
		return usable;
	large = allocator_pages_large_of(ptr);
	return large.mapped_pages ? grown_length(&large) : sallocx(ptr, 0);
}

static inline void *alloc_block(size_t size, size_t align,
				 unsigned int alloc_flags, uintptr_t site)
{
	int mallocx_flags = 0;
	size_t usable;
	void *ptr;

	if (unlikely(alloc_flags & ~ALLOC_FLAGS_ALLOC_SUPPORTED)) {
		reject_flags(__func__, alloc_flags);
		return NULL;
	}
	if (unlikely(align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	/* The last report's own memory (exit_arena.h): zero-filled. */
	if (unlikely(exit_arena_on) && profilers_own(alloc_flags) &&
	    (ptr = exit_arena_alloc(size, align)))
		return ptr;
	before_first_jemalloc_call();
	if (unlikely(jemalloc_unusable))
		return glibc_alloc(size, align, alloc_flags & ALLOC_ZERO);
	if (unlikely(!(alloc_flags & ALLOC_NO_CODETAG)) &&
	    unlikely(core_program_has_other_malloc()))
		return program_alloc(size, align, alloc_flags & ALLOC_ZERO);
	if (unlikely(align > ALLOC_MIN_ALIGN))
		mallocx_flags = MALLOCX_LG_ALIGN(__builtin_ctzl(align));
	/* glibc refuses anything past PTRDIFF_MAX.  A request past the
	 * small classes is a large block whatever its class: ask for it
	 * as it is. */
	if (size > ALLOC_SMALL_USABLE_MAX && size <= PTRDIFF_MAX &&
	    !core_count_usable_size)
		usable = size;
	else
		usable = usable_for(size, mallocx_flags);
	if (unlikely(!usable) || unlikely(aligned_past_request_max(usable, align))) {
		errno = ENOMEM;
		return NULL;
	}
	if (alloc_flags & ALLOC_ZERO)
		mallocx_flags |= MALLOCX_ZERO;

	if (likely(mallocx_flags == 0 && core_je.malloc))
		ptr = core_je.malloc(usable);
	else if (mallocx_flags == MALLOCX_ZERO && core_je.malloc)
		ptr = core_je.calloc(1, usable);
	else
		ptr = mallocx(usable, mallocx_flags);
	if (unlikely(!ptr)) {
		errno = ENOMEM;
		return NULL;
	}
	return account_block(ptr, usable, size, tag_for(alloc_flags, site));
}

/*
 * Stops counting @ptr, a block of ours, before it goes back: a small
 * block's slot is cleared (alloc_inline.h), a large block's count taken
 * from its tag.  Returns a small block's class, 0 for a large one, and
 * in *@mapped a grown block's mapping's length (else 0).  The entry is
 * read before the block goes back: the page may be another block's at
 * once.
 */
static inline size_t uncount_block(void *ptr, size_t *mapped)
{
	uint64_t entry = allocator_pages_small_entry(ptr);
	size_t usable = allocator_pages_entry_usable(entry);
	struct allocator_pages_large large;

	*mapped = 0;
	if (usable) {
		slot_set(allocator_pages_slot(ptr, entry), 0);
		return usable;
	}
	large = allocator_pages_large_of(ptr);
	alloc_tag_sub(large.tag, (int64_t)large.counted);
	*mapped = grown_length(&large);
	return 0;
}

static inline void free_block(void *ptr)
{
	size_t usable, mapped;

	/* The last report's blocks are never given back. */
	if (!ptr || unlikely(exit_arena_holds(ptr)))
		return;
	if (unlikely(!block_is_ours(ptr))) {
		foreign_free(ptr);
		return;
	}
	usable = uncount_block(ptr, &mapped);
	/* jemalloc finds a large block's size itself, one lookup where
	 * sallocx and a sized free took two. */
	if (usable)
		core_free_to_jemalloc(ptr, usable);
	else if (mapped)
		free_grown(ptr, mapped);
	else
		core_je.free(ptr);
}

void core_free_jemalloc(void *ptr, int jemalloc_flags)
{
	if (!ptr || unlikely(exit_arena_holds(ptr)))
		return;
	if (unlikely(jemalloc_unusable)) {
		core_free(ptr);
		return;
	}
	core_allocator_enter();
	if (likely(block_is_ours(ptr))) {
		size_t mapped;

		(void)uncount_block(ptr, &mapped);
		if (mapped) {
			free_grown(ptr, mapped);
			core_allocator_leave();
			return;
		}
	}
	dallocx(ptr, jemalloc_flags);
	core_allocator_leave();
}

/*
 * realloc_block's way for a grown block @ptr (@mapped bytes), or for a
 * block of jemalloc's (@old_usable bytes) grown to @size >=
 * CORE_GROWN_MIN: the block, or NULL with errno ENOMEM and @ptr as it
 * was; *@declined where a block of jemalloc's could not be mapped, for
 * jemalloc's realloc to go on with errno as it was.
 */
static void *realloc_grown(void *ptr, size_t old_usable, size_t mapped, size_t size,
			   unsigned int alloc_flags, uintptr_t site, bool *declined)
{
	int saved_errno = errno;
	size_t len = whole_pages(size);
	struct allocator_pages_large old;
	void *fresh;

	*declined = false;
	/* The entry keeps a mapping's pages in 32 bits: 16 TiB. */
	if (unlikely(len >> ALLOCATOR_PAGES_PAGE_SHIFT > UINT32_MAX)) {
		if (mapped)
			errno = ENOMEM;
		*declined = !mapped;
		return NULL;
	}
	if (mapped && size < CORE_GROWN_MIN) {
		fresh = alloc_block(size, 0, alloc_flags, site);
		if (unlikely(!fresh))
			return NULL;
		memcpy(fresh, ptr, size);
		free_block(ptr);
		return fresh;
	}
	if (!mapped) {
		fresh = core_grown_map(&len);
		errno = saved_errno;
		if (unlikely(!fresh)) {
			*declined = true;
			return NULL;
		}
		memcpy(fresh, ptr, old_usable);
		free_block(ptr);
		return account_grown(fresh, len, size, tag_for(alloc_flags, site));
	}
	/* The entry is cleared while the pages are the block's, and put
	 * back if they stay where they are. */
	old = allocator_pages_large_of(ptr);
	/* A block keeps pages it does not need yet while it grows (one
	 * given a kept mapping larger than itself), and while it shrinks
	 * by less than three quarters: given back, they would fault in
	 * again when it grows. */
	if (len <= mapped && (size >= old.counted || len >= mapped / 4))
		len = mapped;
	allocator_pages_set_large(ptr, 0, 0, 0);
	fresh = NULL;
	if (len > mapped) {
		size_t roomy = whole_pages(mapped + (mapped >> GROWN_HEADROOM_SHIFT));

		if (roomy > len && roomy >> ALLOCATOR_PAGES_PAGE_SHIFT <= UINT32_MAX &&
		    (fresh = core_grown_resize(ptr, mapped, roomy)))
			len = roomy;
	}
	if (!fresh)
		fresh = core_grown_resize(ptr, mapped, len);
	if (unlikely(!fresh)) {
		allocator_pages_set_large(ptr, old.tag, old.counted, old.mapped_pages);
		errno = ENOMEM;
		return NULL;
	}
	errno = saved_errno;
	alloc_tag_sub(old.tag, (int64_t)old.counted);
	uncount_grown(mapped);
	return account_grown(fresh, len, size, tag_for(alloc_flags, site));
}

/* realloc_block's way for a block of the last report's (exit_arena.h):
 * where it stands while the arena is on, else a copy. */
static void *realloc_from_exit_arena(void *ptr, size_t size, unsigned int alloc_flags,
				     uintptr_t site)
{
	size_t old = exit_arena_size(ptr);
	void *fresh = exit_arena_resize(ptr, size);

	if (fresh)
		return fresh;
	fresh = alloc_block(size, 0, alloc_flags & ~ALLOC_ZERO, site);
	if (likely(fresh))
		memcpy(fresh, ptr, old < size ? old : size);
	return fresh;
}

static void *realloc_block(void *ptr, size_t size, unsigned int alloc_flags,
			   uintptr_t site)
{
	size_t old_usable, usable, old_mapped;
	uint32_t *old_slot, old_word = 0;
	struct allocator_pages_large old_large = { .counted = 0 };
	bool declined;
	void *fresh;

	if (unlikely(alloc_flags & ~ALLOC_FLAGS_REALLOC_SUPPORTED)) {
		reject_flags(__func__, alloc_flags);
		return NULL;
	}
	if (!ptr)
		return alloc_block(size, 0, alloc_flags, site);
	if (size == 0) {
		free_block(ptr);
		return NULL;
	}
	if (unlikely(exit_arena_holds(ptr)))
		return realloc_from_exit_arena(ptr, size, alloc_flags, site);

	if (unlikely(!block_is_ours(ptr)))
		return foreign_realloc(ptr, size);
	old_usable = find_block(ptr, &old_slot, &old_mapped);
	if (old_slot && size <= ALLOC_SMALL_USABLE_MAX && core_je.malloc) {
		usable = small_usable_for(size);
		/* The same class: rallocx would leave the block where it
		 * is, so only the slot changes (a string growing by a few
		 * bytes at a time, as perl's do). */
		if (usable == old_usable)
			return account_block(ptr, usable, size,
					     tag_for(alloc_flags, site));
	}
	usable = usable_for(size, 0);
	if (unlikely(!usable) || unlikely(past_request_max(usable))) {
		errno = ENOMEM;
		return NULL;
	}
	if (old_mapped || (size >= CORE_GROWN_MIN && size > old_usable)) {
		fresh = realloc_grown(ptr, old_usable, old_mapped, size, alloc_flags, site,
				      &declined);
		if (fresh || !declined)
			return fresh;
	}
	/* A small result is a new block (jemalloc moves a block to
	 * another small class too), made and tagged before the old one
	 * goes: should no slot be had for it, the old block stays as it
	 * was, as realloc's failure must leave it. */
	if (usable <= ALLOC_SMALL_USABLE_MAX) {
		fresh = alloc_block(size, 0, alloc_flags & ~ALLOC_ZERO, site);
		if (unlikely(!fresh))
			return NULL;
		memcpy(fresh, ptr, old_usable < usable ? old_usable : usable);
		free_block(ptr);
		return fresh;
	}
	/* The old block is jemalloc's once rallocx moves it, and its
	 * slot or entry another block's: the old count is taken first, and
	 * put back if rallocx fails. */
	if (old_slot) {
		old_word = slot_get(old_slot);
		slot_set(old_slot, 0);
	} else {
		old_large = allocator_pages_large_of(ptr);
	}
	/* An over-aligned block loses its alignment, as with glibc. */
	fresh = rallocx(ptr, usable, 0);
	if (unlikely(!fresh)) {
		if (old_slot)
			slot_set(old_slot, old_word);
		errno = ENOMEM;
		return NULL;
	}
	if (!old_slot)
		alloc_tag_sub(old_large.tag, (int64_t)old_large.counted);
	return account_block(fresh, usable, size, tag_for(alloc_flags, site));
}

void core_free_small_block(void *ptr, size_t usable)
{
	struct core_thread *t = &core_thread;

	if (unlikely(!t->magazines_settled))
		core_magazine_open(t);
	core_free_to_jemalloc(ptr, usable);
}

/* Out of core_malloc's line. */
void *core_malloc_failed(void *ptr, size_t usable)
{
	if (ptr)
		sdallocx(ptr, usable, 0);
	errno = ENOMEM;
	return NULL;
}

/* The small allocation of @size charged to @tag, as core_malloc_small
 * ends. */
static inline __attribute__((always_inline)) void *
malloc_charged(size_t size, uint32_t tag, bool zero)
{
	size_t usable = small_usable_for(size);
	uint32_t word = slot_word(tag, size);

	return core_malloc_charged_block(&core_thread, usable, small_magazine_for(size), word,
					 zero ? CORE_CALLOC : CORE_MALLOC);
}

/* core_malloc_by_route's lookups: a site new to the small array, or a
 * route its memo does not answer. */
static __attribute__((noinline)) void *
malloc_by_lookup(size_t size, uintptr_t site, uint32_t site_word, bool zero,
		 uintptr_t caller_sp)
{
	struct core_thread *t = &core_thread;
	uint32_t tag;

	/* A new site's route may unwind and allocate: the profiler's
	 * own code, inside the allocator. */
	core_thread_enter_fast(t);
	if (!site_word)
		site_word = codetag_site_word(site);
	tag = codetag_index_for_word(site_word, site, caller_sp);
	core_thread_leave_fast(t);
	return malloc_charged(size, tag, zero);
}

/* A fatal signal came while a walk by the memo ran: its handler first,
 * then the allocation, charged to @tag if the walk found one. */
static __attribute__((noinline)) void *
malloc_after_signal(size_t size, uintptr_t site, uint32_t site_word, bool zero,
		    uintptr_t caller_sp, uint32_t tag)
{
	core_leave_slow();
	if (!tag)
		return malloc_by_lookup(size, site, site_word, zero, caller_sp);
	return malloc_charged(size, tag, zero);
}

/*
 * What the small slot array does not answer for a wrapper's caller or
 * a site that is not a wrapper's, where this thread has walked the way
 * before (callsite_route_by_memo): a chain through anonymous frames, as
 * sqlite3's are, then took 165 instructions in callsite_route and about
 * 100 on the way there (callgrind); then malloc_by_lookup.  Its last
 * lines are core_malloc_by_route's again: shared as one always_inline
 * helper, they moved core_malloc_by_route's prologue before its test
 * of the flags, and sqlite3 ran 1.9 M instructions more
 * (bench/instructions, 714.2 M against 712.3 M on the bench's SQL at
 * 26,000 rows).  @via is the site's tag's charge_via, as
 * core_malloc_by_route read it: a helper's site (not 0) goes straight
 * to its path cache, past callsite_route_by_memo's tests, which its
 * tag passed when the via was set (sqlite3 on the bench's SQL at scale
 * 0.3, 78,000 rows: 0.16% fewer instructions, 2,181.8 M against
 * 2,185.3 M).
 */
static __attribute__((noinline)) void *
malloc_by_memo(size_t size, uintptr_t site, uint32_t site_word, bool zero,
	       uintptr_t caller_sp, uint64_t via)
{
	struct core_thread *t = &core_thread;
	uint32_t index = site_word & CODETAG_SLOT_INDEX, tag;

	core_thread_enter_fast(t);
	tag = via ? callsite_charge_by_via(index, site, caller_sp, via) :
		    callsite_route_by_memo(index, site, caller_sp);
	if (__builtin_expect(core_thread_leave_flagged(t), 0))
		return malloc_after_signal(size, site, site_word, zero, caller_sp, tag);
	if (!tag)
		return malloc_by_lookup(size, site, site_word, zero, caller_sp);
	return malloc_charged(size, tag, zero);
}

/*
 * A wrapper's caller that the small slot array does not give as a
 * charged site (past the array, not decided yet, or a wrapper itself):
 * this thread's memo, inside the allocator, else malloc_by_memo, whose
 * walk sees through wrappers called by wrappers.  Asked of the memo alone,
 * cc1's callers of xmalloc missed in 1,935 of 41,940 allocations (1,100
 * sites through its 1,024 entries), each miss a thousand instructions
 * in callsite_route: the small array answers first (core_malloc_small).
 */
static __attribute__((noinline)) void *
malloc_by_caller_memo(size_t size, uintptr_t site, uint32_t site_word, bool zero,
		      uintptr_t caller_sp, uintptr_t caller)
{
	struct core_thread *t = &core_thread;
	uint32_t tag;

	core_thread_enter_fast(t);
	tag = caller_charged_by_memo(caller);
	if (__builtin_expect(core_thread_leave_flagged(t), 0))
		return malloc_after_signal(size, site, site_word, zero, caller_sp, tag);
	if (!tag)
		return malloc_by_memo(size, site, site_word, zero, caller_sp, 0);
	return malloc_charged(size, tag, zero);
}

/*
 * core_malloc_by_route for a site the small slot array does not hold:
 * one the medium or large array holds as charged itself takes its
 * block here, with no scope and no second probe of the small array
 * (codetag_site_word_known); one they hold as routed goes on as the
 * small array's would; a new one, or a full table's, to the lookup.
 * Out of line, so that core_malloc_by_route keeps no register for it:
 * inlined there, it cost every routed allocation 18 instructions
 * (bench/micro at ALLOCINFO_DEPTH=4, where every site is routed).
 */
static __attribute__((noinline)) void *
malloc_past_small(size_t size, uintptr_t site, bool zero, uintptr_t caller_sp)
{
	uint32_t site_word = codetag_site_word_known(site);

	if (site_word & CODETAG_SLOT_SELF)
		return malloc_charged(size, site_word - CODETAG_SLOT_SELF, zero);
	if (!site_word)
		return malloc_by_lookup(size, site, 0, zero, caller_sp);
	return core_malloc_by_route(size, site, site_word, zero, caller_sp);
}

/*
 * The tag an allocation at a wrapper's site is charged to, whose
 * caller's return address lies at @at: past wrappers called by
 * wrappers, by the tags (codetag_charged_past_wrappers), or 0.
 */
static inline uint32_t wrapper_caller_tag(uintptr_t at)
{
	return codetag_charged_past_wrappers(*(const uintptr_t *)at, at + sizeof(uintptr_t));
}


/* The small blocks that core_malloc_past_wrapper and
 * core_new_past_wrapper have charged: out of line, so that the walk
 * before keeps no register across jemalloc's call: inlined, each of
 * bench/workloads/cxx_churn.cc's routed news took 23 instructions
 * more. */
static __attribute__((noinline)) void *malloc_charged_out(size_t size, uint32_t tag, bool zero)
{
	return malloc_charged(size, tag, zero);
}

static __attribute__((noinline)) void *new_charged_out(size_t size, uint32_t tag, bool nothrow,
							uintptr_t site)
{
	void *ptr = malloc_charged(size, tag, false);

	if (likely(ptr))
		return ptr;
	return malloc_api_operator_new(size, 0, nothrow, site);
}

void *core_malloc_past_wrapper(size_t size, uintptr_t site, uint32_t site_word, bool zero,
			       uintptr_t caller_sp, uintptr_t caller_at)
{
	uint32_t tag;

	/* With stacks on, the memo's answers are for one frame: the
	 * lookup, as core_malloc_by_route takes it. */
	if (unlikely(!callsite_one_frame))
		return core_malloc_by_route(size, site, site_word, zero, caller_sp);
	tag = wrapper_caller_tag(caller_at);
	if (tag)
		return malloc_charged_out(size, tag, zero);
	return malloc_by_caller_memo(size, site, site_word, zero, caller_sp,
				     *(const uintptr_t *)caller_at);
}

/*
 * What core_malloc_small does not answer inline: a site the small
 * array does not hold (@site_word 0: malloc_past_small), a routed site
 * that is not a wrapper's
 * (sqlite3's anonymous chains), stacks (ALLOCINFO_DEPTH > 1), or a
 * wrapper's caller that the small array does not know as charged.
 * Every way out is a tail call.  @caller_sp is trusted only where the
 * word below it is @site.
 */
void *core_malloc_by_route(size_t size, uintptr_t site, uint32_t site_word,
			   bool zero, uintptr_t caller_sp)
{
	const struct codetag *ct;
	int32_t offset;

	if (__builtin_expect(!site_word, 0))
		return malloc_past_small(size, site, zero, caller_sp);
	/* With stacks on, every site is routed, and the memo's answers
	 * are for one frame: the lookup. */
	if (__builtin_expect(!callsite_one_frame || !caller_sp ||
			     ((const uintptr_t *)caller_sp)[-1] != site, 0))
		return malloc_by_lookup(size, site, site_word, zero, caller_sp);
	ct = &codetag_tag(site_word & CODETAG_SLOT_INDEX)->ct;
	offset = __atomic_load_n(&ct->charge_offset, __ATOMIC_RELAXED);
	/* A wrapper called by wrappers, from the tags, for a wrapper's
	 * site only: codetag_caller_charged, which realloc's and the
	 * large blocks' paths ask, also follows an anonymous helper's
	 * charge_via, and asked here first for every routed site it cost
	 * sqlite3's helpers, whose wrapper's caller no tag resolves, 0.97%
	 * of the instructions (bench/instructions, the bench's SQL at 0.3). */
	if (offset > 0)
		return core_malloc_past_wrapper(size, site, site_word, zero, caller_sp,
						caller_sp + (uintptr_t)offset);
	return malloc_by_memo(size, site, site_word, zero, caller_sp,
			      __atomic_load_n(&ct->charge_via, __ATOMIC_RELAXED));
}

/*
 * A large block for the malloc fast path: the site's tag as the fast
 * path finds it (its own, or a wrapper's caller by the small array),
 * else the lookup with the wrapper's @caller_sp, which core_alloc's
 * unwinder would have to find again; then core_alloc's large block
 * without the rest of its cases, which the fast path's state word has
 * ruled out (the early window, usable-size counting, the profiler's
 * scope, another malloc).  100,000 pairs of 20,000 bytes (bench/micro
 * --pairs, under bench/instructions) took 76.3 M instructions through
 * core_alloc, 72.7 M now, 39.9 M with plain jemalloc; and a block at a
 * wrapper's site (perl's, python3's) had its caller unwound.
 */
void *core_malloc_large(size_t size, uintptr_t site, bool zero, uintptr_t caller_sp)
{
	uint32_t site_word = codetag_site_word_small(site), tag = 0;
	void *ptr;

	if (unlikely(past_request_max(size))) {
		errno = ENOMEM;
		return NULL;
	}
	if (likely(site_word & CODETAG_SLOT_SELF))
		tag = site_word - CODETAG_SLOT_SELF;
	else if (site_word)
		tag = codetag_caller_charged(site_word, site, caller_sp);
	core_allocator_enter();
	ptr = zero ? core_je.calloc(1, size) : core_je.malloc(size);
	if (likely(ptr)) {
		/* A new site, a routed one, or one past the small array:
		 * the lookup routes it (as core_alloc's tag_for), inside
		 * the allocator, which its unwinder may enter again; after
		 * the block, so that a failed allocation makes no tag. */
		if (!tag)
			tag = codetag_index_for_word(codetag_site_word(site), site, caller_sp);
		ptr = account_block(ptr, size, size, tag);
	} else {
		errno = ENOMEM;
	}
	core_allocator_leave();
	return ptr;
}

__attribute__((noinline)) void *core_malloc_for_realloc(size_t size, uintptr_t site)
{
	return core_malloc(size, site);
}

void *core_new_general(size_t size, uintptr_t site, uint32_t site_word, bool nothrow,
		       uintptr_t caller_sp)
{
	void *ptr;

	if (core_thread.allocator_state)
		ptr = core_alloc(size, 0, ALLOC_DEFAULT, site);
	else if (size > ALLOC_SMALL_USABLE_MAX)
		ptr = core_malloc_large(size, site, false, caller_sp);
	else
		ptr = core_malloc_by_route(size, site, site_word, false, caller_sp);
	if (likely(ptr))
		return ptr;
	return malloc_api_operator_new(size, 0, nothrow, site);
}

void *core_new_past_wrapper(size_t size, uintptr_t site, uint32_t site_word, bool nothrow,
			    uintptr_t caller_sp, uintptr_t caller_at)
{
	uint32_t tag = callsite_one_frame ? wrapper_caller_tag(caller_at) : 0;

	if (tag)
		return new_charged_out(size, tag, nothrow, site);
	return core_new_general(size, site, site_word, nothrow, caller_sp);
}

void *core_new_from_jemalloc(void *ptr, size_t usable, uint32_t word, bool nothrow,
			     uintptr_t site)
{
	ptr = ptr ? core_malloc_new_slots(ptr, usable, word) : core_malloc_failed(NULL, usable);
	if (likely(ptr))
		return ptr;
	return malloc_api_operator_new(slot_counted(word), 0, nothrow, site);
}

void *core_realloc_routed(void *ptr, uint64_t entry, size_t size, uint32_t site_word,
			  uintptr_t site, uintptr_t caller_sp)
{
	struct core_thread *t = &core_thread;
	uint32_t tag = codetag_caller_charged(site_word, site, caller_sp);

	if (!tag) {
		core_thread_enter_fast(t);
		tag = codetag_index_for_word(site_word ? site_word : codetag_site_word(site),
					     site, caller_sp);
		core_thread_leave_fast(t);
	}
	slot_set(allocator_pages_slot(ptr, entry), slot_word(tag, size));
	return ptr;
}

void *core_realloc_small_move(void *ptr, size_t usable, size_t size,
			      uintptr_t site)
{
	size_t fresh_usable = small_usable_for(size);
	void *fresh = core_malloc(size, site);

	/* On failure the old block stays as it was, as realloc's must. */
	if (unlikely(!fresh))
		return NULL;
	memcpy(fresh, ptr, usable < fresh_usable ? usable : fresh_usable);
	core_free_inline(ptr);
	return fresh;
}

void *core_malloc_new_slots(void *ptr, size_t usable, uint32_t word)
{
	uint32_t *slot;

	/* A new array may be mapped, or one recycled from the free lists:
	 * inside the allocator, so a report from a signal waits for it. */
	core_allocator_enter();
	slot = allocator_pages_small_slot(ptr, usable);
	core_allocator_leave();
	if (unlikely(!slot))
		return core_malloc_failed(ptr, usable);
	slot_set(slot, word);
	return ptr;
}

/* Where a visit of the slot arrays adds up: @live[tag] for every tag
 * below @n, or, with @one_tag (core_read_tag), tag @only alone, into
 * @live[0]. */
struct small_live_sum {
	struct core_live *live;
	uint32_t n;
	bool one_tag;
	uint32_t only;
};

/* Adds @calls blocks of @bytes in all, charged to @tag, to @sum. */
static inline void add_small_run(struct small_live_sum *sum, uint32_t tag, int64_t bytes,
				 int64_t calls)
{
	struct core_live *live;

	if (sum->one_tag) {
		if (tag != sum->only)
			return;
		live = &sum->live[0];
	} else if (tag < sum->n) {
		live = &sum->live[tag];
	} else {
		return;	/* a tag made after the caller looked */
	}
	live->bytes += bytes;
	live->calls += calls;
}

/*
 * Adds the blocks of one page, of class @usable, to @arg's sums.  The
 * blocks of a page mostly come from one site, one after another: a run
 * of one tag is summed in registers and added once.  Added slot by slot,
 * each addition waited for the one before it to the same counters: the
 * report at exit of 5,000,000 live blocks took 12.7 ms, where it takes
 * 9.2 now (bench/exit_time LIB -- fork_heap 5000000 0), and each of
 * the 50 children fork_heap forks from that heap paid as much.
 */
static void add_small_page(size_t usable, const uint32_t *slots, unsigned int n,
			   void *arg)
{
	struct small_live_sum *sum = arg;
	uint32_t run_tag = 0;
	/* Of two types: as two int64_t, GCC kept the pair in one vector
	 * register, and shuffled it on every slot. */
	int64_t run_bytes = 0;
	unsigned int run_calls = 0;

	(void)usable;	/* the slot word has the count itself */
	for (unsigned int i = 0; i < n; i++) {
		uint32_t word = slots[i], tag = slot_tag(word);

		if (!word)
			continue;
		if (tag != run_tag) {
			if (run_calls)
				add_small_run(sum, run_tag, run_bytes, run_calls);
			run_tag = tag;
			run_bytes = 0;
			run_calls = 0;
		}
		run_bytes += (int64_t)slot_counted(word);
		run_calls++;
	}
	if (run_calls)
		add_small_run(sum, run_tag, run_bytes, run_calls);
}

void core_add_small_live(struct core_live *live, uint32_t n)
{
	struct small_live_sum sum = { .live = live, .n = n };

	allocator_pages_visit_small(add_small_page, &sum);
}

void core_read_tag(uint32_t index, int64_t *bytes, int64_t *calls)
{
	struct core_live live = { 0, 0 };
	struct small_live_sum sum = { .live = &live, .one_tag = true, .only = index };

	alloc_tag_read(index, bytes, calls);
	allocator_pages_visit_small(add_small_page, &sum);
	*bytes += live.bytes;
	*calls += live.calls;
}

/* Clears this thread's CORE_NOT_READY once the fast path may open:
 * never while the program has another allocator, whose blocks the fast
 * path must not make. */
static inline void look_whether_ready(void)
{
	if (unlikely(core_thread.allocator_state & CORE_NOT_READY) &&
	    __atomic_load_n(&core_je.malloc, __ATOMIC_ACQUIRE) &&
	    !core_program_has_other_malloc())
		core_state_and(&core_thread, ~CORE_NOT_READY);
}

/* The entry points: the bodies above, marked as inside the allocator. */

void *core_alloc(size_t size, size_t align, unsigned int alloc_flags,
		 uintptr_t site)
{
	void *p;

	look_whether_ready();
	core_allocator_enter();
	p = alloc_block(size, align, alloc_flags, site);
	core_allocator_leave();
	return p;
}

void core_free(void *ptr)
{
	core_allocator_enter();
	free_block(ptr);
	core_allocator_leave();
}

void *core_realloc(void *ptr, size_t size, unsigned int alloc_flags,
		   uintptr_t site)
{
	void *p;

	look_whether_ready();
	core_allocator_enter();
	p = realloc_block(ptr, size, alloc_flags, site);
	core_allocator_leave();
	return p;
}

/*
 * Frames looked at for one of jemalloc's.  Inside, jemalloc's frames
 * come first: its deepest calls out (a new slab's mapping, through
 * core_mmap to the system call) are a dozen frames of libc's and ours.
 */
#define INTERRUPTED_FRAMES_MAX 32

/* The instruction a signal interrupted, from its handler's @ucontext
 * (0 where this port does not know where to find it). */
static uintptr_t interrupted_pc(const void *ucontext)
{
#if defined(__x86_64__)
	return (uintptr_t)((const ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RIP];
#else
	(void)ucontext;
	return 0;
#endif
}

/*
 * Without the unwinder (it is loaded only once a stack is first needed,
 * never from a handler: a process at depth 1 whose sites the caches
 * answer may never load it), the frames past the interrupted
 * instruction are not known.  A signal that landed in a function of
 * libc's that jemalloc called with one of its locks held (a purge's
 * madvise, a memset) would be taken for outside, and the report's first
 * allocation could wait for that lock for ever.  The words at the top of
 * the interrupted stack, where a leaf function's return address is, are
 * looked at instead: one that returns into jemalloc's code counts as
 * inside.  A word that only looks like one (a stale slot) has the signal
 * sent again later all the same, and preload/signals.c bounds how often.
 * Read with core_self_read, which stops where a read would fault (a
 * stack near its end) instead of faulting.
 */
#define INTERRUPTED_STACK_WORDS 64

int core_stack_returns_to_allocator(const void *ucontext)
{
#if defined(__x86_64__)
	uintptr_t words[INTERRUPTED_STACK_WORDS];
	size_t got = core_self_read(words,
		(const void *)((const ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RSP],
		sizeof(words));

	for (size_t i = 0; i < got / sizeof(words[0]); i++)
		if (words[i] && core_allocator_code_contains(words[i] - 1))
			return 1;
#else
	(void)ucontext;
#endif
	return 0;
}

static int interrupted_in_jemalloc(void *ucontext);

enum core_landing core_interrupted_where(void *ucontext)
{
	unsigned int state = core_thread.allocator_state;

	if (state & CORE_UNDER_JEMALLOC)
		return CORE_LANDED_UNDER_JEMALLOC;
	/* Inside our code, whose locks (the unwinder's among them) the
	 * handler must not wait for: the instruction alone is looked at. */
	if (state & CORE_DEPTH_MASK)
		return core_allocator_code_contains(interrupted_pc(ucontext)) ?
		       CORE_LANDED_UNDER_JEMALLOC : CORE_LANDED_IN_CORE;
	return interrupted_in_jemalloc(ucontext) ? CORE_LANDED_UNDER_JEMALLOC
						  : CORE_LANDED_OUTSIDE;
}

/* Whether jemalloc's code is interrupted, or among the frames below;
 * it unwinds, so never from inside our own code. */
static int interrupted_in_jemalloc(void *ucontext)
{
	uintptr_t pcs[INTERRUPTED_FRAMES_MAX];
	int n, inside = 0;

	/* The interrupted instruction first: most often it is jemalloc's
	 * own, and a fault there (a corrupt heap) is answered without
	 * walking a stack that may be corrupt too. */
	if (core_allocator_code_contains(interrupted_pc(ucontext)))
		return 1;
	core_internal_enter();
	n = callsite_signal_frames(ucontext, pcs, INTERRUPTED_FRAMES_MAX);
	/* pcs[0] is the instruction, looked at above; the others are
	 * return addresses, whose call is just before.  Without the
	 * unwinder, n is 0. */
	for (int i = 1; i < n && !inside; i++)
		inside = core_allocator_code_contains(pcs[i] - 1);
	if (n == 0)
		inside = core_stack_returns_to_allocator(ucontext);
	core_internal_leave();
	return inside;
}

static __thread int deferred_signal;
static __thread void (*deferred_handler)(int);

void core_defer_signal(int sig, void (*handler)(int))
{
	deferred_signal = sig;
	deferred_handler = handler;
	core_state_or(&core_thread, CORE_DEFERRED_SIGNAL);
}

/* A way out of the allocator found the state not back to 0: a deferred
 * signal runs once the thread is out of the allocator altogether. */
void core_leave_slow(void)
{
	unsigned int state = core_state_now(&core_thread);

	/* Not while jemalloc is below (core/mmap.c): its locks may be held. */
	if ((state & CORE_DEFERRED_SIGNAL) && !(state & (CORE_DEPTH_MASK | CORE_UNDER_JEMALLOC)))
		core_run_deferred_signal();
}

void core_drop_deferred_signal(void)
{
	core_state_and(&core_thread, ~CORE_DEFERRED_SIGNAL);
}

void core_run_deferred_signal(void)
{
	core_drop_deferred_signal();
	deferred_handler(deferred_signal);
}

size_t core_usable_size(void *ptr)
{
	/* A small block's page has a small entry, which only pages of
	 * jemalloc's have: its class, with one lookup of the page. */
	size_t usable = allocator_pages_entry_usable(allocator_pages_small_entry(ptr));

	if (likely(usable))
		return usable;
	if (!ptr)
		return 0;
	if (unlikely(exit_arena_holds(ptr)))
		return exit_arena_size(ptr);
	if (unlikely(!block_is_ours(ptr)))
		return foreign_usable_size(ptr);
	return usable_of(ptr);
}

void *core_internal_alloc(size_t size)
{
	return core_alloc(size, 0, ALLOC_NO_CODETAG, 0);
}

void *core_internal_calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return core_alloc(total, 0, ALLOC_NO_CODETAG | ALLOC_ZERO, 0);
}

void *core_internal_calloc_touched(size_t n, size_t size)
{
	size_t total;
	void *ptr;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	ptr = core_alloc(total, 0, ALLOC_NO_CODETAG, 0);
	if (ptr)
		memset(ptr, 0, total);
	return ptr;
}

char *core_internal_strdup(const char *text)
{
	size_t n;
	char *copy;

	if (!text)
		return NULL;
	n = strlen(text) + 1;
	copy = core_alloc(n, 0, ALLOC_NO_CODETAG, 0);
	if (copy)
		memcpy(copy, text, n);
	return copy;
}

void *core_internal_realloc(void *ptr, size_t size)
{
	return core_realloc(ptr, size, ALLOC_NO_CODETAG, 0);
}

void core_internal_free(void *ptr)
{
	core_free(ptr);
}

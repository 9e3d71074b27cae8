/*
 * Mappings through the core.
 *
 * Every mmap, munmap and mremap of the process that goes through the
 * PLT reaches here and is passed to the kernel with a raw system call.
 * What is charged where:
 * - the program's anonymous mappings (and its file mappings with
 *   CORE_MMAP_ALL) go to the call site's tag: <size> is the mapped pages,
 *   <calls> the live mappings, kept exact by the page-range map through
 *   partial munmaps, mremap and MAP_FIXED overlays;
 * - mappings made in the profiler's internal scope (libdw reading debug
 *   info, ...) go to CODETAG_INTERNAL, the profiler's overhead;
 * - jemalloc's own mappings are only summed: never tagged, never the
 *   program's.  They do not come through the PLT: the library's copy of
 *   jemalloc calls allocinfo_jemalloc_mmap and allocinfo_jemalloc_munmap
 *   (core/embed_jemalloc.sh renames its calls).  They bypass the map and
 *   its lock on purpose: jemalloc maps while holding its own mutexes, and
 *   our fork handler takes the map lock before jemalloc's fork handler
 *   takes those, so jemalloc must never wait for the map lock.
 *
 * A program with an allocator of its own (core_program_has_other_malloc)
 * gets its mappings made and nothing more: that allocator maps while
 * holding its own mutexes, as jemalloc does, and may have registered
 * its fork handlers before ours, so it must never wait for the map lock
 * either; and with its blocks unseen, its mappings alone would be a
 * profile of its page allocator, not of the program.
 *
 * The map's lock is held across each system call and its bookkeeping,
 * so another thread cannot be handed an address the map still holds.
 * errno is the system call's, and untouched on success.
 */
#include "core/mmap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/alloc_tag.h"
#include "core/allocator_pages.h"
#include "core/codetag.h"
#include "core/internal_scope.h"
#include "core/jemalloc.h"
#include "core/page_map.h"

static _Atomic int mmap_mode = CORE_MMAP_ANON;
static _Atomic int64_t allocator_bytes, allocator_mappings;

/* The bounds of the copy's code (core/embed_jemalloc.sh puts it all in
 * this section), from the linker. */
extern const char __start_allocinfo_jemalloc_text[] __attribute__((visibility("hidden")));
extern const char __stop_allocinfo_jemalloc_text[] __attribute__((visibility("hidden")));

void core_mmap_set_mode(enum core_mmap_mode mode)
{
	atomic_store(&mmap_mode, mode);
}

void core_mmap_allocator_totals(int64_t *bytes, int64_t *mappings)
{
	*bytes = atomic_load(&allocator_bytes);
	*mappings = atomic_load(&allocator_mappings);
}

static size_t page_size(void)
{
	static size_t cached;

	if (!cached)
		cached = (size_t)sysconf(_SC_PAGESIZE);
	return cached;
}

static size_t round_to_pages(size_t len)
{
	size_t page = page_size();

	return (len + page - 1) & ~(page - 1);
}

bool core_allocator_code_contains(uintptr_t pc)
{
	return pc >= (uintptr_t)__start_allocinfo_jemalloc_text &&
	       pc < (uintptr_t)__stop_allocinfo_jemalloc_text;
}

/* The tag for a new mapping, or -1 when it is not tracked. */
static int64_t tag_for_mapping(int flags, uintptr_t site)
{
	int mode = atomic_load_explicit(&mmap_mode, memory_order_relaxed);

	if (core_in_internal_scope())
		return CODETAG_INTERNAL;
	if (mode == CORE_MMAP_NONE)
		return -1;
	if (mode == CORE_MMAP_ANON && !(flags & MAP_ANONYMOUS))
		return -1;
	return codetag_index_for_site(site);
}

static void *map(void *addr, size_t len, int prot, int flags, int fd,
		 off_t offset, uintptr_t site)
{
	bool locked;
	int64_t tag;
	long ret;

	if (__builtin_expect(core_program_has_other_malloc(), 0))
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
	locked = page_map_lock();
	ret = syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
	if (ret != -1 && locked) {
		len = round_to_pages(len);
		if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
			page_map_remove((uintptr_t)ret, len);
		/* Only a mapping that exists gets a tag.  Deciding it may
		 * allocate, or map through here again: that finds the lock
		 * held by this thread and leaves the map alone. */
		tag = tag_for_mapping(flags, site);
		if (tag >= 0)
			page_map_insert((uintptr_t)ret, len, (uint32_t)tag);
	}
	if (locked)
		page_map_unlock();
	return (void *)ret;
}

static int unmap(void *addr, size_t len)
{
	bool locked;
	long ret;

	if (__builtin_expect(core_program_has_other_malloc(), 0))
		return (int)syscall(SYS_munmap, addr, len);
	locked = page_map_lock();
	ret = syscall(SYS_munmap, addr, len);
	if (ret == 0 && locked)
		page_map_remove((uintptr_t)addr, round_to_pages(len));
	if (locked)
		page_map_unlock();
	return (int)ret;
}

static void *remap(void *old_addr, size_t old_len, size_t new_len, int flags,
		   void *new_addr)
{
	bool locked;
	long ret;

	if (__builtin_expect(core_program_has_other_malloc(), 0))
		return (void *)syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr);
	locked = page_map_lock();
	ret = syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr);
	if (ret != -1 && locked)
		page_map_move((uintptr_t)old_addr, round_to_pages(old_len),
			      (uintptr_t)ret, round_to_pages(new_len),
			      (flags & MREMAP_DONTUNMAP) || old_len == 0);
	if (locked)
		page_map_unlock();
	return (void *)ret;
}

/*
 * The entry points.  They count as inside the allocator: a fatal signal
 * that lands while the map's lock is held waits until it is released,
 * instead of writing a report that needs that lock.
 *
 * A call from jemalloc's code also says that jemalloc is below
 * (CORE_UNDER_JEMALLOC), from before it enters until after it leaves.
 * jemalloc called from malloc's fast path keeps no depth of its own
 * (internal_scope.h), so leaving here took the depth to 0 and ran a
 * signal deferred meanwhile with jemalloc's locks still held: the
 * report's first allocation waited for one of them for ever (python3
 * at SIGTERM, once in about 600 runs under load).  With the flag, the
 * handler sends the signal again later instead of deferring it to this
 * way out.
 */
static bool under_jemalloc_enter(void)
{
	if (core_thread.allocator_state & CORE_UNDER_JEMALLOC)
		return false;
	core_state_or(&core_thread, CORE_UNDER_JEMALLOC);
	return true;
}

static void under_jemalloc_leave(bool entered)
{
	if (entered)
		core_state_and(&core_thread, ~CORE_UNDER_JEMALLOC);
}

void *core_mmap(void *addr, size_t len, int prot, int flags, int fd,
		off_t offset, uintptr_t site)
{
	void *p;

	core_allocator_enter();
	p = map(addr, len, prot, flags, fd, offset, site);
	core_allocator_leave();
	return p;
}

int core_munmap(void *addr, size_t len)
{
	int ret;

	core_allocator_enter();
	ret = unmap(addr, len);
	core_allocator_leave();
	return ret;
}

void *core_mremap(void *old_addr, size_t old_len, size_t new_len, int flags,
		  void *new_addr)
{
	void *p;

	core_allocator_enter();
	p = remap(old_addr, old_len, new_len, flags, new_addr);
	core_allocator_leave();
	return p;
}

/*
 * The allocator's own mappings, jemalloc's and grown blocks': marked
 * as the allocator's (allocator_pages.h) and summed in allocator_bytes.
 *
 * A new one is marked before any block in it is handed out; where a
 * leaf cannot be mapped for its marks, its marks made so far are
 * cleared and it is unmapped (-1, ENOMEM), for a block in pages not
 * marked would be taken for glibc's.
 */
static long allocator_mapping_made(long ret, size_t len)
{
	if (ret == -1)
		return -1;
	if (!allocator_pages_add((uintptr_t)ret, len)) {
		allocator_pages_remove((uintptr_t)ret, len);
		syscall(SYS_munmap, ret, len);
		errno = ENOMEM;
		return -1;
	}
	atomic_fetch_add(&allocator_bytes, (int64_t)round_to_pages(len));
	atomic_fetch_add(&allocator_mappings, 1);
	return ret;
}

/*
 * One unmapped: its pages are unmarked before they go back to the
 * kernel, and marked again if they do not.  Unmarked after, they were
 * free for another thread's new mapping between the system call and
 * the unmarking, which would clear that mapping's marks.
 */
static long allocator_unmap(void *addr, size_t len)
{
	long ret;

	allocator_pages_remove((uintptr_t)addr, len);
	ret = syscall(SYS_munmap, addr, len);
	if (ret == 0)
		atomic_fetch_sub(&allocator_bytes, (int64_t)round_to_pages(len));
	else
		(void)allocator_pages_add((uintptr_t)addr, len);
	return ret;
}

/* jemalloc's own calls (it never calls mremap in 5.3). */
void *allocinfo_jemalloc_mmap(void *addr, size_t len, int prot, int flags,
			      int fd, off_t offset)
{
	bool under = under_jemalloc_enter();
	long ret;

	core_allocator_enter();
	ret = syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
	/* A fixed mapping over jemalloc's own pages (commit and decommit)
	 * does not change what it holds. */
	if (!(flags & MAP_FIXED))
		ret = allocator_mapping_made(ret, len);
	core_allocator_leave();
	under_jemalloc_leave(under);
	return (void *)ret;
}

int allocinfo_jemalloc_munmap(void *addr, size_t len)
{
	bool under = under_jemalloc_enter();
	long ret;

	core_allocator_enter();
	ret = allocator_unmap(addr, len);
	core_allocator_leave();
	under_jemalloc_leave(under);
	return (int)ret;
}

/*
 * Grown blocks' mappings (core/alloc.c, CORE_GROWN_MIN), made with raw
 * system calls as jemalloc's are: summed with them, and their pages
 * marked as the allocator's (allocator_pages.h) before the block is
 * handed out and unmarked before they go back to the kernel.  errno is
 * the system call's on failure.
 *
 * The last one freed is kept for the next, whole, its pages in memory,
 * as jemalloc keeps a freed block's dirty pages and glibc a freed
 * block's heap: a buffer grown to 1 MiB and freed, a hundred times
 * (bench/alternate --rounds 5 none JEMALLOC LIB -- realloc_grow 100
 * 1048576), mapped and faulted its pages in again each time, 9.4
 * times the uninstrumented run's time against plain jemalloc's 1.2;
 * kept, 1.29.  Only one, of at most GROWN_KEPT_MAX bytes; a free that
 * finds one kept unmaps the older.  With up to 64 MiB kept, sqlite3's
 * peak RSS on the bench's SQL was plain jemalloc's again (83.8 MiB,
 * against 76.9 with 4).  The word holds its address's page number above
 * its pages.
 */
#define GROWN_KEPT_MAX   ((size_t)4 << 20)
#define GROWN_PAGE_SHIFT 12
#define GROWN_PAGES_BITS 29

static _Atomic uint64_t grown_kept;

static inline void *kept_address(uint64_t kept)
{
	return (void *)(uintptr_t)((kept >> GROWN_PAGES_BITS) << GROWN_PAGE_SHIFT);
}

static inline size_t kept_length(uint64_t kept)
{
	return (size_t)(kept & ((1ull << GROWN_PAGES_BITS) - 1)) << GROWN_PAGE_SHIFT;
}

static void *map_grown(size_t len)
{
	long ret = allocator_mapping_made(syscall(SYS_mmap, NULL, len,
						  PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
					  len);

	return ret == -1 ? NULL : (void *)ret;
}

void *core_grown_map(size_t *len)
{
	uint64_t kept = atomic_exchange(&grown_kept, 0);

	if (kept) {
		void *addr = kept_address(kept), *grown;
		size_t kept_len = kept_length(kept);

		if (kept_len >= *len) {
			*len = kept_len;
			return addr;
		}
		if ((grown = core_grown_resize(addr, kept_len, *len)))
			return grown;
		(void)allocator_unmap(addr, kept_len);
	}
	return map_grown(*len);
}

void core_grown_unmap(void *addr, size_t len)
{
	uint64_t kept;

	if (len > GROWN_KEPT_MAX) {
		(void)allocator_unmap(addr, len);
		return;
	}
	kept = atomic_exchange(&grown_kept,
			       (uint64_t)((uintptr_t)addr >> GROWN_PAGE_SHIFT) << GROWN_PAGES_BITS |
			       len >> GROWN_PAGE_SHIFT);
	if (kept)
		(void)allocator_unmap(kept_address(kept), kept_length(kept));
}

bool core_grown_release_kept(void)
{
	uint64_t kept = atomic_exchange(&grown_kept, 0);

	if (kept)
		(void)allocator_unmap(kept_address(kept), kept_length(kept));
	return kept != 0;
}

void *core_grown_resize(void *addr, size_t old_len, size_t new_len)
{
	uintptr_t start = (uintptr_t)addr;
	void *fresh;

	if (new_len <= old_len) {
		allocator_pages_remove(start + new_len, old_len - new_len);
		if (new_len == old_len ||
		    syscall(SYS_mremap, addr, old_len, new_len, 0) == (long)start) {
			atomic_fetch_sub(&allocator_bytes, (int64_t)(old_len - new_len));
			return addr;
		}
		(void)allocator_pages_add(start + new_len, old_len - new_len);
		return NULL;
	}
	/* In place, where the pages after the mapping are free. */
	if (syscall(SYS_mremap, addr, old_len, new_len, 0) == (long)start) {
		if (allocator_pages_add(start + old_len, new_len - old_len)) {
			atomic_fetch_add(&allocator_bytes, (int64_t)(new_len - old_len));
			return addr;
		}
		allocator_pages_remove(start + old_len, new_len - old_len);
		syscall(SYS_mremap, addr, new_len, old_len, 0);
		errno = ENOMEM;
		return NULL;
	}
	/* Else a mapping of the new length, marked, then the old pages
	 * moved over its start: nothing is copied, and should the move
	 * fail, the block is where it was. */
	fresh = map_grown(new_len);
	if (!fresh)
		return NULL;
	allocator_pages_remove(start, old_len);
	if (syscall(SYS_mremap, addr, old_len, old_len, MREMAP_MAYMOVE | MREMAP_FIXED,
		    fresh) != (long)(uintptr_t)fresh) {
		(void)allocator_pages_add(start, old_len);
		(void)allocator_unmap(fresh, new_len);
		errno = ENOMEM;
		return NULL;
	}
	atomic_fetch_sub(&allocator_bytes, (int64_t)old_len);
	return fresh;
}

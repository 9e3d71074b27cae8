/*
 * Routing allocations past wrappers, and stacks (see callsite.h).
 *
 * The route of a site is decided at its first allocation once the core
 * is ready (before that the classifier does not exist yet; early sites
 * stay UNDECIDED and decide later):
 *
 *   depth > 1                          UNWIND (every allocation)
 *   the site is in a wrapper           UNWIND
 *   the site is in an anonymous        one unwind now; UNWIND if a
 *     function                         wrapper of its module follows
 *   otherwise                          SELF (the fast path from now on)
 *
 * What the classifier says of a site may come from an earlier run of the
 * same build (its route memory, preload/route_memory.h): then an
 * anonymous site's route is known without a backtrace, and caller
 * offsets measured there count as measured here (classify_site).
 *
 * An UNWIND allocation takes a backtrace, finds its own site in it, and
 * walks outward past wrapper frames.  A run of fewer than
 * CALLSITE_ANONYMOUS_MAX anonymous frames is seen through only when a
 * wrapper of the same module follows it: static helpers behind an
 * exported wrapper in a stripped module (PyMem_RawMalloc calls the
 * static _PyMem_RawMalloc, which calls malloc), never a callback of the
 * program's that a wrapper happens to call.  The first frame that is
 * not seen through is charged: with depth 1 its site tag, with depth N
 * the tag of the chain of N sites that starts there.
 *
 * The unwinder is the last resort.  Each frame's caller lies at a fixed
 * offset above its stack pointer, measured by the unwinder twice and
 * kept in the route memory for later runs; with those, the same rule is
 * applied by reading the stack (charge_by_offset through wrappers,
 * charge_by_rule where an anonymous frame is on the way,
 * stack_by_offset for stacks), and a warm run of a program need not
 * load libunwind at all.
 *
 * The unwinder is libunwind's unw_backtrace, loaded with dlopen and
 * RTLD_LOCAL: linked normally, libunwind.so.8's exported _Unwind_* and
 * backtrace() would come before libgcc_s's and glibc's in the program's
 * symbol lookup and take over its C++ exceptions.  Without libunwind
 * every site is its own tag.  It is loaded on first need (see
 * unwinder_for), not at start-up.
 *
 * Everything here runs in the profiler's internal scope: the classifier
 * and libunwind may allocate, and that memory is the profiler's.  No
 * thread waits for another: the route is a relaxed store of a value that
 * any racing thread would compute the same way.
 */
#include "core/callsite.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "core/alloc.h"
#include "core/alloc_tag.h"
#include "core/codetag.h"
#include "core/frame_memo.h"
#include "core/internal_scope.h"
#include "core/profiler_stack.h"
#include "core/unwinder_pipe.h"

/* Frames of ours between the unwinder and the site: callsite_route,
 * codetag_index_for_site, core_alloc, malloc_api_*, the exported
 * symbol, the switch onto the profiler stack (profiler_stack_switch),
 * with room to spare: one more of ours here is one fewer of the
 * program's (anonymous_chain.sh). */
#define CALLSITE_OWN_FRAMES 9
/* Wrapper frames seen through at most: std::vector's growth at -O0 is
 * five deep. */
#define CALLSITE_WRAPPER_FRAMES 16
#define CALLSITE_FRAMES_MAX \
	(CALLSITE_OWN_FRAMES + CALLSITE_WRAPPER_FRAMES + CALLSITE_DEPTH_MAX)
/* A run of anonymous frames this long is not seen through: at most
 * two are, before a wrapper of their module. */
#define CALLSITE_ANONYMOUS_MAX 3

#define UNWINDER_LIBRARY "libunwind.so.8"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static struct callsite_options callsite_options = { .depth = 1 };
bool callsite_one_frame = true;
static int (*unwind_backtrace)(void **frames, int size);
static int (*unwind_getcontext)(unw_context_t *context);
static int (*unwind_init_local)(unw_cursor_t *cursor, unw_context_t *context);
static int (*unwind_init_local2)(unw_cursor_t *cursor, unw_context_t *context,
				 int flags);
static int (*unwind_step)(unw_cursor_t *cursor);
static int (*unwind_get_reg)(unw_cursor_t *cursor, unw_regnum_t reg,
			     unw_word_t *value);

/* libunwind's mappings, from load_unwinder: [lo, hi). */
static uintptr_t unwinder_lo, unwinder_hi;

/* libunwind's symbols behind its macros (unw_backtrace is a plain
 * function; the others are _ULx86_64_... on x86-64). */
static void load_unwinder(void)
{
	struct dl_find_object obj;
	int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
	unw_addr_space_t *local_space;
	void *h = dlopen(UNWINDER_LIBRARY, RTLD_NOW | RTLD_LOCAL);

	/* Its memory checks use a pipe, which must not be the program's
	 * descriptors (core/unwinder_pipe.c): unguarded, it is not used,
	 * and every site is its own tag. */
	if (!h || !unwinder_pipe_guard(h))
		return;
	*(void **)&set_caching_policy =
		dlsym(h, STRINGIFY(unw_set_caching_policy));
	local_space = dlsym(h, STRINGIFY(unw_local_addr_space));
	/* A per-thread cache: the global one takes a lock and masks
	 * signals with a system call on every unwind. */
	if (set_caching_policy && local_space)
		set_caching_policy(*local_space, UNW_CACHE_PER_THREAD);
	*(void **)&unwind_backtrace = dlsym(h, "unw_backtrace");
	*(void **)&unwind_getcontext = dlsym(h, STRINGIFY(unw_tdep_getcontext));
	*(void **)&unwind_init_local = dlsym(h, STRINGIFY(unw_init_local));
	*(void **)&unwind_init_local2 = dlsym(h, STRINGIFY(unw_init_local2));
	*(void **)&unwind_step = dlsym(h, STRINGIFY(unw_step));
	*(void **)&unwind_get_reg = dlsym(h, STRINGIFY(unw_get_reg));
	if (unwind_backtrace && _dl_find_object((void *)unwind_backtrace, &obj) == 0) {
		unwinder_lo = (uintptr_t)obj.dlfo_map_start;
		unwinder_hi = (uintptr_t)obj.dlfo_map_end;
	}
}

/*
 * libunwind is loaded on first need.  A warm run of a short process
 * (cc1, as, the gcc driver: route memory answers every wrapper site)
 * never unwinds, and loading it, with the liblzma it needs, took a
 * quarter of a millisecond and 40 page faults of every such process.
 *
 * A dlopen from inside an allocation takes the loader's lock there, so
 * it is made only where that cannot deadlock or catch the loader half
 * way:
 *  - while the process has one thread (glibc's __libc_single_threaded):
 *    no other thread can hold the loader's lock and wait for a lock the
 *    allocating thread holds.  Before a second thread is made, the
 *    unwinder is loaded (callsite_load_unwinder, from pthread_create);
 *    a process that got threads another way loads it on first need all
 *    the same;
 *  - never for a site in the dynamic loader itself, which allocates in
 *    the middle of its work: such a site waits (UNWINDER_LATER) and its
 *    allocation is charged to it, its tag marked inaccurate.  A dlopen
 *    of the program's loads the unwinder before it starts, so that the
 *    loader's allocations there are seen through.
 * With ALLOCINFO_DEPTH > 1 every site unwinds: loaded at start-up.
 */
#if defined(__x86_64__)
#define CALLSITE_DLOPEN_LOADS_UNWINDER 1
#else
#define CALLSITE_DLOPEN_LOADS_UNWINDER 0
#endif

enum unwinder_state { UNWINDER_UNLOADED, UNWINDER_LOADING, UNWINDER_LOADED };
static _Atomic int unwinder_state;
/* The dynamic loader's mapping: [lo, hi). */
static uintptr_t loader_lo, loader_hi;

enum unwinder_answer { UNWINDER_NOW, UNWINDER_LATER, UNWINDER_NEVER };

/* Loads the unwinder unless it is, or another thread is loading it
 * (no thread waits: the loading one may need the other's lock). */
static void unwinder_load(void)
{
	int unloaded = UNWINDER_UNLOADED, saved_errno = errno;

	if (!atomic_compare_exchange_strong(&unwinder_state, &unloaded,
					    UNWINDER_LOADING))
		return;
	core_internal_enter();
	load_unwinder();
	core_internal_leave();
	/* As the program left it: the load runs before a dlopen or a
	 * pthread_create of the program's, whose success keeps errno
	 * (dlopen's search for libunwind left it 0). */
	errno = saved_errno;
	atomic_store_explicit(&unwinder_state, UNWINDER_LOADED, memory_order_release);
}

static int find_unwinder(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *slash = strrchr(info->dlpi_name, '/');

	(void)size;
	(void)arg;
	return !strcmp(slash ? slash + 1 : info->dlpi_name, UNWINDER_LIBRARY);
}

/* Whether the program has libunwind already (a dlopen with RTLD_NOLOAD
 * would ask the same, and read the loader's cache file to do it). */
static bool unwinder_already_mapped(void)
{
	return dl_iterate_phdr(find_unwinder, NULL) != 0;
}

void callsite_load_unwinder(void)
{
	if (atomic_load_explicit(&unwinder_state, memory_order_acquire) == UNWINDER_UNLOADED &&
	    loader_hi)
		unwinder_load();
}

/* Whether the unwinder, once loaded, will never walk from @site: it
 * could not be loaded, or @site is libunwind's own (a program that uses
 * it: see decide_route).  False before it is loaded. */
static bool unwinder_refuses(uintptr_t site)
{
	return atomic_load_explicit(&unwinder_state, memory_order_acquire) ==
	       UNWINDER_LOADED &&
	       (!unwind_backtrace || (site >= unwinder_lo && site < unwinder_hi));
}

/*
 * libunwind keeps locks of its own (its caches, its memory pool): a
 * child that fork made while another thread was inside it inherits them
 * held, and its first unwind waits for ever (a child allocating at a
 * wrapper's callers at ALLOCINFO_DEPTH=4, while three threads did the
 * same, hung within six runs).  So every use of the unwinder counts
 * itself in flight, and fork (callsite_prefork) first says a fork is
 * pending, then waits until none is in flight: a use that starts
 * meanwhile declines, as when the unwinder is not loaded yet
 * (UNWINDER_LATER), and no thread is inside libunwind when the process
 * is copied.  Sequentially consistent, so that of a use and a fork that
 * start together, one sees the other.
 */
static _Atomic unsigned int unwinds_in_flight;
static atomic_bool unwind_fork_pending;
/*
 * This thread's uses in flight: a signal handler that forks (a crash
 * handler's, say) may have interrupted one, and the fork must not wait
 * for the thread that makes it.  It goes up before the shared count and
 * down after it, so that wherever a handler interrupts, this thread's
 * part of the shared count is at most this.
 */
static __thread unsigned int unwinds_here;

/* Down by one, never below 0: a fork child starts its count again at 0
 * (callsite_postfork_child) while the use a handler interrupted may
 * still leave. */
static void unwinds_in_flight_down(void)
{
	unsigned int n = atomic_load(&unwinds_in_flight);

	while (n && !atomic_compare_exchange_weak(&unwinds_in_flight, &n, n - 1))
		;
}

static bool unwinder_enter(void)
{
	unwinds_here++;
	atomic_fetch_add(&unwinds_in_flight, 1);
	if (!atomic_load(&unwind_fork_pending))
		return true;
	unwinds_in_flight_down();
	unwinds_here--;
	return false;
}

static void unwinder_leave(void)
{
	unwinds_in_flight_down();
	unwinds_here--;
}

void callsite_prefork(void)
{
	atomic_store(&unwind_fork_pending, true);
	/* A use in flight on another thread runs libunwind's own code to
	 * its end: it waits for nothing the fork holds (this runs before
	 * fork's other handlers of ours take their locks).  One that this
	 * thread's signal handler interrupted goes on after the handler. */
	while (atomic_load(&unwinds_in_flight) > unwinds_here)
		sched_yield();
}

void callsite_postfork_parent(void)
{
	atomic_store(&unwind_fork_pending, false);
}

void callsite_postfork_child(void)
{
	/* The child has this thread alone, and no use of another's.  A
	 * use of this thread's that a handler interrupted leaves after it,
	 * and the count stops at 0. */
	atomic_store(&unwinds_in_flight, 0);
	atomic_store(&unwind_fork_pending, false);
}

/* Whether the unwinder may walk from @site now, loading it if it may. */
static enum unwinder_answer unwinder_for(uintptr_t site)
{
	int state = atomic_load_explicit(&unwinder_state, memory_order_acquire);

	if (atomic_load_explicit(&unwind_fork_pending, memory_order_relaxed))
		return UNWINDER_LATER;
	if (state != UNWINDER_LOADED) {
		/* callsite_init not run yet (loader_hi 0), or not now. */
		if (!loader_hi || state == UNWINDER_LOADING ||
		    (site >= loader_lo && site < loader_hi))
			return UNWINDER_LATER;
		unwinder_load();
		if (atomic_load_explicit(&unwinder_state, memory_order_acquire) !=
		    UNWINDER_LOADED)
			return UNWINDER_LATER;
	}
	return unwinder_refuses(site) ? UNWINDER_NEVER : UNWINDER_NOW;
}

/* An allocation charged to its own site, which the unwinder could not
 * look past yet (UNWINDER_LATER): the tag may hold its caller's bytes. */
static void mark_undecided_charge(struct codetag *ct)
{
	if (!(__atomic_load_n(&ct->flags, __ATOMIC_RELAXED) & CODETAG_FLAG_INACCURATE))
		__atomic_or_fetch(&ct->flags, CODETAG_FLAG_INACCURATE, __ATOMIC_RELAXED);
}

/* The per-thread frame memo's key (see frame_memo below). */
static pthread_key_t memo_key;
static bool memo_key_made;
static void free_frame_memo(void *memo);

void callsite_init(const struct callsite_options *options)
{
	struct dl_find_object loader;

	core_internal_enter();
	callsite_options = *options;
	if (callsite_options.depth < 1)
		callsite_options.depth = 1;
	if (callsite_options.depth > CALLSITE_DEPTH_MAX)
		callsite_options.depth = CALLSITE_DEPTH_MAX;
	callsite_one_frame = callsite_options.depth == 1;
	frame_memo_set_bits = callsite_one_frame ? FRAME_MEMO_SET_BITS_ONE_FRAME
						 : FRAME_MEMO_SET_BITS_STACKS;
	/* The loader's base from the kernel (0 when the loader was run as
	 * the program: then it is not told apart, and the unwinder is
	 * loaded now). */
	if (getauxval(AT_BASE) &&
	    _dl_find_object((void *)getauxval(AT_BASE), &loader) == 0) {
		loader_lo = (uintptr_t)loader.dlfo_map_start;
		loader_hi = (uintptr_t)loader.dlfo_map_end;
	}
	/* Loaded now: for stacks, which unwind from the start; where
	 * threads made before us (by an earlier library's constructor) may
	 * hold the loader's lock; where only the loader's own code would
	 * load it first (dlopen is ours on x86-64 only); and in a program
	 * that uses libunwind itself, whose sites must be known as
	 * libunwind's before they are routed (decide_route). */
	if (callsite_options.depth > 1 || !__libc_single_threaded || !loader_hi ||
	    !CALLSITE_DLOPEN_LOADS_UNWINDER || unwinder_already_mapped())
		unwinder_load();
	memo_key_made = pthread_key_create(&memo_key, free_frame_memo) == 0;
	core_internal_leave();
}

/* The classifier's facts about the code at @return_address. */
static void classify(uintptr_t return_address, struct callsite_facts *facts)
{
	*facts = (struct callsite_facts){ .code = CALLSITE_CODE_OWN };
	if (callsite_options.classify)
		callsite_options.classify(return_address - 1, facts);
}

/* The same for a frame without a tag (callsite_options.classify_frame). */
static void classify_untagged(uintptr_t return_address, struct callsite_facts *facts)
{
	*facts = (struct callsite_facts){ .code = CALLSITE_CODE_OWN };
	if (callsite_options.classify_frame)
		callsite_options.classify_frame(return_address - 1, facts);
	else if (callsite_options.classify)
		callsite_options.classify(return_address - 1, facts);
}

static void record_caller_offset(struct codetag *ct, uintptr_t offset);
static void refresh_charge_offset(struct codetag *ct);

/*
 * The classifier's facts about @site, whose tag is @ct; the first
 * thread to ask tells the tag what they say (only one does: the code is
 * set once).  The code is kept for the router's memory; a caller offset
 * an earlier run measured counts as measured here: a confirmed one
 * twice, one measured once once (a second measurement, in this run or
 * a later one, confirms it), and one that varied retires the shortcut
 * as a disagreement here would.
 */
static void classify_site(uintptr_t site, struct codetag *ct,
			  struct callsite_facts *facts)
{
	uint32_t code;

	classify(site, facts);
	if (__atomic_load_n(&ct->flags, __ATOMIC_RELAXED) & CODETAG_FLAG_CODE_MASK)
		return;
	code = ((uint32_t)facts->code + 1) << CODETAG_FLAG_CODE_SHIFT;
	if (__atomic_fetch_or(&ct->flags, code, __ATOMIC_RELAXED) & CODETAG_FLAG_CODE_MASK)
		return;
	if (facts->caller_offset == CALLSITE_CALLER_VARIES) {
		__atomic_store_n(&ct->caller_offset, CALLSITE_CALLER_VARIES,
				 __ATOMIC_RELAXED);
	} else if (facts->caller_offset > 0) {
		record_caller_offset(ct, (uintptr_t)facts->caller_offset);
		if (facts->caller_offset_confirmed)
			record_caller_offset(ct, (uintptr_t)facts->caller_offset);
	}
	refresh_charge_offset(ct);
}

/*
 * One frame's step of the rule above, for the frame @i from the site
 * (innermost 0), whose code and module are @code and @module: false
 * once the rule has decided, and the charged frame is *@keep.
 * *@run_module is the module of the run that starts at *@keep.
 */
static bool rule_sees_past(unsigned int i, enum callsite_code code, uintptr_t module,
			   unsigned int *keep, uintptr_t *run_module)
{
	if (code == CALLSITE_CODE_OWN)
		return false;
	if (i == *keep)
		*run_module = module;
	else if (module != *run_module)
		return false;
	if (code == CALLSITE_CODE_WRAPPER)
		*keep = i + 1;
	else if (i - *keep + 1 >= CALLSITE_ANONYMOUS_MAX)
		return false;
	return true;
}

static void mark_frame_on_the_way(struct codetag *ct);

/*
 * The classifier's facts about a frame the unwinder found.  With stacks
 * on they are told a tag of the frame's, as a frame on the way (every
 * route is UNWIND then), so that the route memory keeps its code: asked
 * of the classifier alone, a frame in setlocale that each process of a
 * compile walks was never remembered, and each run read libc's and
 * cc1's symbol tables for it, a thirtieth of cc1's instructions at
 * ALLOCINFO_DEPTH=4.  With stacks off, a tag for a frame the rule does
 * not charge would change its route if it allocated itself: the
 * classifier is told the frame has none, and keeps its facts itself.
 */
static void classify_frame(uintptr_t pc, struct callsite_facts *facts)
{
	uint32_t index;

	if (callsite_options.depth > 1 &&
	    (index = codetag_index_for_site_unrouted(pc)) >= CODETAG_FIRST_SITE) {
		struct codetag *ct = &codetag_tag(index)->ct;

		mark_frame_on_the_way(ct);
		classify_site(pc, ct, facts);
		return;
	}
	classify_untagged(pc, facts);
}

/*
 * Of @n return addresses, innermost first, the index of the first one
 * that is not seen through (see the rule above).  n - 1 if all are.
 * *@decided: the frame at which the rule decided (n if it did not).
 */
static unsigned int first_charged_frame(const uintptr_t *frames, unsigned int n,
					unsigned int *decided)
{
	uintptr_t run_module = 0;
	unsigned int keep = 0, i;

	for (i = 0; i < n; i++) {
		struct callsite_facts facts;

		classify_frame(frames[i], &facts);
		if (!rule_sees_past(i, facts.code, facts.module, &keep, &run_module))
			break;
	}
	*decided = i;
	return keep < n ? keep : n - 1;
}

/*
 * The stack from @site outward into @buf; returns a pointer to @site's
 * entry and sets *@n to the frames from there.  If the unwinder cannot
 * find @site (no libunwind, not now, no unwind info on the way), the
 * stack is @site alone.  NULL if a fork began since the caller asked
 * unwinder_for: then as UNWINDER_LATER.
 */
static const uintptr_t *stack_from_site(uintptr_t site, uintptr_t *buf,
					unsigned int size, unsigned int *n)
{
	static __thread uintptr_t only_site;
	int got = 0;

	if (unwinder_for(site) == UNWINDER_NOW) {
		if (!unwinder_enter())
			return NULL;
		got = unwind_backtrace((void **)buf, (int)size);
		unwinder_leave();
	}

	for (int k = 0; k < got; k++) {
		if (buf[k] == site) {
			*n = (unsigned int)(got - k);
			return buf + k;
		}
	}
	only_site = site;
	*n = 1;
	return &only_site;
}

/* With stacks off: the route of @site, whose tag is @ct, by what the
 * classifier knows of its code. */
static uint16_t route_by_code(struct codetag *ct, uintptr_t site)
{
	/* Whether an anonymous site is seen through is known within
	 * CALLSITE_ANONYMOUS_MAX frames of it (a wrapper there, or not): no
	 * deeper.  In a short process every frame is new to libunwind, and
	 * each costs it a search of the loaded objects between two system
	 * calls. */
	uintptr_t buf[CALLSITE_OWN_FRAMES + CALLSITE_ANONYMOUS_MAX];
	struct callsite_facts facts;
	const uintptr_t *frames;
	unsigned int n, decided;

	classify_site(site, ct, &facts);
	switch (facts.code) {
	case CALLSITE_CODE_WRAPPER:
		return CODETAG_ROUTE_UNWIND;
	case CALLSITE_CODE_ANONYMOUS:
		/* An earlier run of this build decided it. */
		if (facts.route == CODETAG_ROUTE_SELF ||
		    facts.route == CODETAG_ROUTE_UNWIND)
			return facts.route;
		/* Decided when the unwinder can look. */
		if (unwinder_for(site) == UNWINDER_LATER)
			return CODETAG_ROUTE_UNDECIDED;
		frames = stack_from_site(site, buf, sizeof(buf) / sizeof(buf[0]), &n);
		if (!frames)
			return CODETAG_ROUTE_UNDECIDED;
		return first_charged_frame(frames, n, &decided) > 0 ? CODETAG_ROUTE_UNWIND
								    : CODETAG_ROUTE_SELF;
	case CALLSITE_CODE_OWN:
	default:
		return CODETAG_ROUTE_SELF;
	}
}

static uint16_t decide_route(struct codetag *ct, uintptr_t site)
{
	uint16_t route;

	/* libunwind's sites keep their tag: a program that uses libunwind
	 * itself allocates from inside it (its first unw_backtrace maps
	 * its caches within a pthread_once), and unwinding from there
	 * entered that once again and waited for itself, forever. */
	if (unwinder_refuses(site))
		route = CODETAG_ROUTE_SELF;
	else if (callsite_options.depth > 1)
		route = CODETAG_ROUTE_UNWIND;
	else
		route = route_by_code(ct, site);
	/* Not decidable before the unwinder can look (unwinder_for). */
	if (route == CODETAG_ROUTE_UNDECIDED)
		return route;
	__atomic_store_n(&ct->route, route, __ATOMIC_RELAXED);
	refresh_charge_offset(ct);
	codetag_publish_route((uint32_t)((struct alloc_tag *)ct - codetag_tags));
	return route;
}

/*
 * The chains this thread charged last, by a hash of their frames: a
 * thread's stacks repeat, and the global table's probe (a slot, the tag,
 * its chain) was a tenth of an allocation's cost with ALLOCINFO_DEPTH=4
 * on python3.  An entry is checked against the tag's own chain before
 * it is used, so a collision costs a lookup, never a wrong tag.
 *
 * 4,096 entries (64 KiB a thread, with stacks on only): stack_by_memo
 * answers from it alone, and bench/scaling's 1,000 sites at depth 4
 * (1,000 chains in turn) took 224 ns a pair with 256 entries, 94 with
 * 4,096; sqlite3 ran the same instructions with either.
 */
#define STACK_MEMO_BITS 12
#define STACK_MEMO_SLOTS (1u << STACK_MEMO_BITS)

struct stack_memo {
	uint64_t hash;
	uint32_t index;
};

/* With stacks on, after the path cache in the frame memo's block
 * (thread_frame_memo); NULL before and without one. */
static __thread struct stack_memo *stack_memo;

static uint64_t chain_hash(const uintptr_t *frames, unsigned int depth)
{
	uint64_t h = depth;

	for (unsigned int i = 0; i < depth; i++)
		h = (h ^ frames[i]) * 0x9e3779b97f4a7c15ull;
	return h;
}

static bool is_chain_of(uint32_t index, const uintptr_t *frames,
			unsigned int depth)
{
	const struct codetag *ct = &codetag_tag(index)->ct;

	if (ct->stack_depth != depth || !ct->stack)
		return false;
	for (unsigned int i = 0; i < depth; i++)
		if (ct->stack[i] != frames[i])
			return false;
	return true;
}

/* The chain's tag if this thread's stack memo has it (@hash its
 * chain_hash), else 0. */
static inline uint32_t stack_memo_find(const uintptr_t *frames, unsigned int depth,
				       uint64_t hash)
{
	const struct stack_memo *m;

	if (!stack_memo)
		return 0;
	m = &stack_memo[hash >> (64 - STACK_MEMO_BITS)];
	return m->hash == hash && m->index && is_chain_of(m->index, frames, depth) ?
	       m->index : 0;
}

/* Keeps chain tag @index, whose chain hashes to @hash, in this thread's
 * stack memo; not the overflow tag: it stands for no chain. */
static inline void stack_memo_put(uint64_t hash, uint32_t index)
{
	if (stack_memo && index >= CODETAG_FIRST_SITE) {
		struct stack_memo *m = &stack_memo[hash >> (64 - STACK_MEMO_BITS)];

		m->hash = hash;
		m->index = index;
	}
}

/* The tag of a chain of call sites, created on first sight. */
static uint32_t stack_tag(const uintptr_t *frames, unsigned int depth,
			  uint32_t fallback)
{
	uint64_t hash = chain_hash(frames, depth);
	uint32_t index = stack_memo_find(frames, depth, hash);
	uintptr_t *copy;
	int kept;

	if (index)
		return index;
	index = codetag_find_stack(frames, depth);
	if (!index) {
		copy = core_internal_alloc(depth * sizeof(*copy));
		if (!copy)
			return fallback;
		memcpy(copy, frames, depth * sizeof(*copy));
		index = codetag_index_for_stack(copy, depth, &kept);
		if (!kept)
			core_internal_free(copy);
	}
	stack_memo_put(hash, index);
	return index;
}

/* The charged tag by the unwinder.  *@decided: the frame from @site at
 * which the rule decided, *@kept the one it charged (0, 0 if it was not
 * asked). */
static uint32_t charge_by_unwinding(uint32_t index, uintptr_t site,
				    unsigned int *decided, unsigned int *kept)
{
	uintptr_t buf[CALLSITE_FRAMES_MAX];
	unsigned int depth = callsite_options.depth, n, keep;
	const uintptr_t *frames;

	*decided = *kept = 0;
	if (unwinder_for(site) == UNWINDER_LATER) {
		mark_undecided_charge(&codetag_tag(index)->ct);
		return index;
	}
	frames = stack_from_site(site, buf, CALLSITE_OWN_FRAMES +
				 CALLSITE_WRAPPER_FRAMES + depth, &n);
	if (!frames) {
		mark_undecided_charge(&codetag_tag(index)->ct);
		return index;
	}
	keep = first_charged_frame(frames, n, decided);
	*kept = keep;
	if (depth == 1)
		return frames[keep] == site ? index :
		       codetag_index_for_site_unrouted(frames[keep]);
	n -= keep;
	return stack_tag(frames + keep, n < depth ? n : depth, index);
}

/*
 * The wrapper's caller without unwinding.
 *
 * Unwinding costs a hundred nanoseconds or more, and at a wrapper site
 * (xmalloc in cc1, Perl_safesysmalloc, sqlite3Malloc) every allocation
 * needs it.  But a wrapper's frame at one call site has one size: its
 * caller's return address lies at a fixed distance above the stack
 * pointer the wrapper had when it called us.  That distance is measured
 * by the unwinder on the first allocations at the site (twice, and kept
 * only if both agree); after that, one load finds the caller.  The
 * wrapper's stack pointer comes from our own frames, which all keep
 * frame pointers: the frame whose return address is @site sits just
 * below it.  A caller that is itself a wrapper (xcalloc calling xmalloc)
 * still takes the unwinder.
 */
static inline uintptr_t wrapper_stack_pointer(uintptr_t site, uintptr_t caller_sp)
{
	const uintptr_t *fp = __builtin_frame_address(0);

	/* Given by the exported function (its frame's top), and checked:
	 * the walk below cost a fifth of a routed allocation's
	 * instructions (perl, callgrind). */
	if (caller_sp && ((const uintptr_t *)caller_sp)[-1] == site)
		return caller_sp;

	for (int hops = 0; hops < 12 && fp; hops++) {
		const uintptr_t *next = (const uintptr_t *)fp[0];

		if (fp[1] == site)
			return (uintptr_t)(fp + 2);
		if (next <= fp || (uintptr_t)next - (uintptr_t)fp > (1u << 20))
			return 0;
		fp = next;
	}
	return 0;
}

/*
 * A tag that only holds the offset of a frame on the way gets the route
 * UNWIND, so that it is never listed as a 0 0 site: with stacks on
 * (ALLOCINFO_DEPTH > 1) every site's route is UNWIND (decide_route),
 * and with them off such a frame is a wrapper's or an anonymous
 * function's, whose own allocations the rule sees through where it
 * may (a return address is an allocation's site only if its call is
 * to the allocator, a frame's only if it is to another function).
 */
static void mark_frame_on_the_way(struct codetag *ct)
{
	uint16_t undecided = CODETAG_ROUTE_UNDECIDED;

	if (__atomic_compare_exchange_n(&ct->route, &undecided, CODETAG_ROUTE_UNWIND, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		refresh_charge_offset(ct);
}

static void mark_stack_frame(struct codetag *ct)
{
	if (callsite_options.depth > 1)
		mark_frame_on_the_way(ct);
}

/* This thread's stack top, once thread_stack_top() has found it. */
static __thread uintptr_t stack_top;

/* The stack pointer the process started with (glibc's, set by the
 * dynamic loader): every frame of the main thread lies below it. */
extern void *__libc_stack_end;

/*
 * The top of this thread's stack, found once per thread; 0 if unknown.
 * Offsets are only followed below it.
 *
 * No call to pthread_getattr_np: glibc holds the thread's own lock in
 * it while it reallocs a CPU set, so an allocation there whose walk
 * asked it again waited for that lock forever (every JVM thread calls
 * it first on itself: java under ALLOCINFO_DEPTH=4 hung at its second
 * thread; tests/integration/thread_attr.sh).
 */
static uintptr_t thread_stack_top(void)
{
	uintptr_t descriptor, frame;

	if (stack_top)
		return stack_top;
	/* The main thread's from the loader: its stack ends a little
	 * above, past argv and the environment, where no frame is. */
	if (getpid() == gettid() && __libc_stack_end)
		return stack_top = (uintptr_t)__libc_stack_end;
	/* Another thread's descriptor, which pthread_self() gives, is
	 * where glibc made it: at the top of the thread's stack, its own
	 * or the program's (pthread_attr_setstack), above its static TLS
	 * and every frame.  A thread that now runs on another stack
	 * above it (a coroutine's) gets none, and is unwound instead. */
	descriptor = (uintptr_t)pthread_self();
	/* The program's stack, not the profiler's (profiler_stack.h). */
	frame = profiler_stack_program_sp();
	if (frame >= descriptor)
		return 0;
	return stack_top = descriptor;
}

/* Records a measurement: the first is kept, a second that agrees
 * confirms it, one that disagrees retires the shortcut for the site. */
static void record_caller_offset(struct codetag *ct, uintptr_t offset)
{
	int32_t expected = 0, value;

	if (offset == 0 || offset > CALLSITE_CALLER_OUTERMOST)
		return;
	value = (int32_t)offset;
	if (__atomic_compare_exchange_n(&ct->caller_offset, &expected, value,
					false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	if (expected == value)
		__atomic_or_fetch(&ct->flags, CODETAG_FLAG_CALLER_OFFSET_CONFIRMED,
				  __ATOMIC_RELAXED);
	else if (expected > 0)
		__atomic_store_n(&ct->caller_offset, -1, __ATOMIC_RELAXED);
	else
		return;
	refresh_charge_offset(ct);
}

/*
 * The common case of callsite_route, answered in malloc's fast path
 * (core_malloc_small, codetag_caller_word) by one field of the tag:
 * perl's Perl_safesysmalloc and cc1's xmalloc route most allocations,
 * and through two calls a routed allocation cost twice the
 * instructions of a direct one.  An allocation at a
 * wrapper site is charged to the site that called the wrapper when
 * ALLOCINFO_DEPTH is 1, the site is a wrapper's (an anonymous one's
 * caller is charged only on the rule's terms: callsite_route's), its
 * route is UNWIND with a confirmed caller offset, and the return
 * address read there from the wrapper's stack pointer is a charged
 * site (route SELF).  The last condition is the allocation's to test;
 * the others are @ct's charge_offset, which this keeps.
 *
 * Called by whoever changed one of those fields, after the change.
 * Two threads may refresh at once, one from values the other has just
 * changed, and store last.  So each checks, after its store and a
 * fence, that the field still follows from the values: either it sees
 * the other's change then (and stores again), or the fences put its
 * store before the other's in the field's order.  It runs on a site's
 * first allocations, never on the allocation's path.
 */
static int32_t charge_offset_now(const struct codetag *ct)
{
	int32_t offset = __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED);
	uint32_t flags = __atomic_load_n(&ct->flags, __ATOMIC_RELAXED);

	if (callsite_options.depth == 1 && offset > 0 &&
	    offset != CALLSITE_CALLER_OUTERMOST &&
	    (flags & CODETAG_FLAG_CALLER_OFFSET_CONFIRMED) && codetag_flags_wrapper(flags) &&
	    __atomic_load_n(&ct->route, __ATOMIC_RELAXED) == CODETAG_ROUTE_UNWIND)
		return offset;
	return 0;
}

/*
 * Whether the fields of @ct still allow it a charge_via whose first
 * offset is @first: stacks off, the site anonymous, routed UNWIND, and
 * @first its confirmed caller offset.  The wrapper's part of the way
 * is fixed by the wrapper's return address, which the allocation
 * compares.
 */
static bool helper_charge_holds(const struct codetag *ct, uintptr_t first)
{
	uint32_t flags = __atomic_load_n(&ct->flags, __ATOMIC_RELAXED);

	return callsite_options.depth == 1 &&
	       (flags & CODETAG_FLAG_CODE_MASK) ==
		       ((uint32_t)(CALLSITE_CODE_ANONYMOUS + 1) << CODETAG_FLAG_CODE_SHIFT) &&
	       (flags & CODETAG_FLAG_CALLER_OFFSET_CONFIRMED) &&
	       __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED) == (int32_t)first &&
	       __atomic_load_n(&ct->route, __ATOMIC_RELAXED) == CODETAG_ROUTE_UNWIND;
}

static void refresh_charge_offset(struct codetag *ct)
{
	uint32_t index = (uint32_t)((struct alloc_tag *)ct - codetag_tags);
	uintptr_t site = __atomic_load_n(&ct->site, __ATOMIC_RELAXED);
	int32_t charge, now;
	uint64_t via;

	atomic_thread_fence(memory_order_seq_cst);
	now = charge_offset_now(ct);
	do {
		charge = now;
		/* The slot's copy, which malloc's fast path reads, in the
		 * same loop: it too ends with the value that follows from
		 * the fields. */
		__atomic_store_n(&ct->charge_offset, charge, __ATOMIC_RELAXED);
		codetag_publish_charge_offset(index, site, charge);
		atomic_thread_fence(memory_order_seq_cst);
		now = charge_offset_now(ct);
	} while (now != charge);
	/* A helper's way is never made again once its fields change. */
	via = __atomic_load_n(&ct->charge_via, __ATOMIC_RELAXED);
	if (via && !helper_charge_holds(ct, codetag_via_first_offset(via)))
		__atomic_store_n(&ct->charge_via, 0, __ATOMIC_RELAXED);
}

/*
 * A walk by offsets (charge_by_offset) from the anonymous site of @ct
 * went on to a wrapper of its module, whose return address
 * @wrapper_return lies at the site's caller offset, and whose caller's
 * return address lies @charged_offset bytes above the site's stack
 * pointer: kept as the tag's charge_via, which the allocation reads
 * (codetag_caller_word).  The first wrapper found keeps it: the
 * field is written once, not by every thread in turn.  As for
 * charge_offset, a change of the site's fields that races with this
 * either is seen by the check after the fence, or clears it after.
 */
static __attribute__((noinline)) void
remember_helper_charge(struct codetag *ct, uintptr_t wrapper_return, uintptr_t charged_offset)
{
	uintptr_t site = __atomic_load_n(&ct->site, __ATOMIC_RELAXED);
	int32_t first = __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED);
	const uintptr_t slot = sizeof(uintptr_t), slots_max = 0xffff;
	uint64_t via, expected = 0;

	if (first <= 0 || (uintptr_t)first % slot || charged_offset % slot ||
	    (uintptr_t)first / slot > slots_max || charged_offset / slot > slots_max ||
	    (intptr_t)(wrapper_return - site) != (int32_t)(wrapper_return - site) ||
	    !helper_charge_holds(ct, (uintptr_t)first))
		return;
	via = codetag_via_pack(site, wrapper_return, (uint32_t)first / slot,
			       (uint32_t)(charged_offset / slot));
	if (!__atomic_compare_exchange_n(&ct->charge_via, &expected, via, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	atomic_thread_fence(memory_order_seq_cst);
	if (!helper_charge_holds(ct, (uintptr_t)first))
		__atomic_compare_exchange_n(&ct->charge_via, &via, 0, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/*
 * Whether the unwinder's step from the frame at @frame_ip, to @ip with
 * the stack pointer @next_sp, is a guess: @frame_ip lies in no module,
 * so no unwind information describes its frame (a trampoline written at
 * run time, a JIT's code), and the return address a call leaves just
 * below the caller's stack pointer, which walks by offsets read, is not
 * @ip.  libunwind then guesses a frame from the registers, and its walk
 * goes on through whatever the guess read (bench/scaling's trampolines:
 * a stale stack word, then a stack address, each given a tag).  Such a
 * frame is where walks end: a walk that found no offset for it unwound
 * again at every allocation (a libunwind walk each, with two
 * sigprocmask calls per frame it looks up: 7 to 9 us an allocation at
 * ALLOCINFO_DEPTH=4, bench/scaling sites 10 tramp).
 */
static bool step_is_a_guess(uintptr_t frame_ip, uintptr_t ip, uintptr_t next_sp)
{
	struct dl_find_object obj;
	uintptr_t top = thread_stack_top();

	if (_dl_find_object((void *)(frame_ip - 1), &obj) == 0)
		return false;
	return !top || next_sp > top || *(const uintptr_t *)(next_sp - 8) != ip;
}

/*
 * Measures, with the unwinder's registers, the caller offsets of the
 * first @levels frames from @site outward (those the rule looked at
 * before it decided, or a stack's): the frame whose IP is @site must
 * have the stack pointer @wrapper_sp, and each next frame's return
 * address lies just below its stack pointer.  Each frame gets a tag,
 * as a frame on the way, but the one at @charged_level (UINT_MAX:
 * none), whose route is decided as a site's.  Bounded by what the
 * unwinder charged, not by routes: a route that says UNWIND because
 * the rule once saw a frame through on another path took the walk on
 * to frames beyond, and gave them tags that were listed at 0 0 in one
 * run and not in another.
 */
static void walk_caller_offsets(uintptr_t site, uintptr_t wrapper_sp,
				unsigned int levels, unsigned int charged_level)
{
	unw_context_t context;
	unw_cursor_t cursor;
	unw_word_t ip, sp, next_sp;
	struct codetag *ct = NULL;
	int frames;

	if (unwind_getcontext(&context) != 0 || unwind_init_local(&cursor, &context) != 0)
		return;
	for (frames = 0; frames < 24 && unwind_step(&cursor) > 0; frames++) {
		if (unwind_get_reg(&cursor, UNW_REG_IP, &ip) != 0)
			return;
		if (ip == site)
			break;
	}
	if (ip != site || unwind_get_reg(&cursor, UNW_REG_SP, &sp) != 0 ||
	    sp != wrapper_sp)
		return;
	for (unsigned int level = 0; frames < 24; frames++, level++) {
		uintptr_t frame_ip = ip;
		uint32_t index;

		/* The frames asked for, and the charged one: no tag
		 * beyond them. */
		if (level >= levels && level != charged_level)
			return;
		index = codetag_index_for_site_unrouted(ip);
		if (index < CODETAG_FIRST_SITE)
			return;
		ct = &codetag_tag(index)->ct;
		if (level == charged_level) {
			/* The charged frame is decided as a site of its own:
			 * it is listed, even at 0 0, as its allocations' line. */
			if (__atomic_load_n(&ct->route, __ATOMIC_RELAXED) ==
			    CODETAG_ROUTE_UNDECIDED)
				decide_route(ct, ip);
		} else {
			mark_frame_on_the_way(ct);
		}
		if (level >= levels)
			return;
		if (unwind_step(&cursor) <= 0) {
			/* The outermost frame: a walk ends here. */
			record_caller_offset(ct, CALLSITE_CALLER_OUTERMOST);
			return;
		}
		if (unwind_get_reg(&cursor, UNW_REG_SP, &next_sp) != 0 ||
		    unwind_get_reg(&cursor, UNW_REG_IP, &ip) != 0 ||
		    next_sp <= sp + 8)
			return;
		if (step_is_a_guess(frame_ip, ip, next_sp)) {
			/* Confirmed at once: no later walk finds another
			 * answer, and until confirmed every allocation at
			 * the site unwinds again. */
			record_caller_offset(ct, CALLSITE_CALLER_OUTERMOST);
			record_caller_offset(ct, CALLSITE_CALLER_OUTERMOST);
			return;
		}
		if (!(__atomic_load_n(&ct->flags, __ATOMIC_RELAXED) &
		      CODETAG_FLAG_CALLER_OFFSET_CONFIRMED))
			record_caller_offset(ct, next_sp - 8 - sp);
		sp = next_sp;
	}
}

static void measure_caller_offsets(uintptr_t site, uintptr_t wrapper_sp,
				   unsigned int levels, unsigned int charged_level)
{
	if (unwinder_for(site) != UNWINDER_NOW || !unwind_getcontext ||
	    !unwind_init_local || !unwind_step || !unwind_get_reg || !unwinder_enter())
		return;
	walk_caller_offsets(site, wrapper_sp, levels, charged_level);
	unwinder_leave();
}

/* The frame memo (core/frame_memo.h): this thread's table, made on its
 * first walk. */
__thread struct frame_memo *frame_memo;
unsigned int frame_memo_set_bits = FRAME_MEMO_SET_BITS_ONE_FRAME;

/*
 * With stacks on: this thread's last walks, four to a set of the
 * allocation site and caller (the return address in the site's frame).  A walk by
 * offsets looks every frame up in the frame memo and the chain up in
 * the chain memo, a dozen lookups an allocation (bench/micro: 40 ns a
 * pair at depth 4 against 10).  But stacks repeat: from the same site
 * and caller, the same offsets read the same return addresses, so the
 * walk before is checked by reading them again and comparing, and its
 * tag is the answer.  Any difference (another caller further out, a
 * frame of another size) falls back to the walk, which records the new
 * path.  Holds only while no library has been unloaded since
 * (codetag_retirements).
 *
 * The caller is part of the key because a wrapper's one site is most
 * allocations' site (xmalloc's call of malloc, which cc1 reaches from a
 * thousand callers): keyed by the site alone, 19% of cc1's allocations
 * at depth 4 found their path; so keyed, 49%, and 57% with two ways,
 * the callers further out alternating (59% with twice the entries).
 * Four ways, filled in turn (no entry moves): python3 with malloc at
 * depth 4 runs 10% fewer instructions than with two, where its paths
 * from one site and caller alternate among three or four, and a
 * compile 0.7% fewer; perl, whose paths vary more, 2.0% more and
 * sqlite3 1.3% more, a miss looking at four entries
 * (bench/instructions, 0e92286 against the commit after it).
 * The caller is read at the site's confirmed offset, where the walk
 * reads it; a site without one has its paths under caller 0.
 */
#define PATH_CACHE_SLOTS 512
#define PATH_WAYS 4
#define PATH_FRAMES_MAX 8
/*
 * A set whose lookups missed PATH_MISSES_TO_SKIP times in a row is not
 * looked at for its next PATH_LOOKUPS_SKIPPED lookups with stacks on,
 * where stack_by_memo answers a miss: sqlite3's one wrapper set, whose
 * ways share their first frames, cost 221 instructions a miss, and
 * missed 70% of the time.  At depth 4 (bench/instructions, against no
 * skipping): sqlite3 0.975 of the instructions, perl 1.001.  Not at
 * depth 1, where a miss costs the whole lookup.
 */
#define PATH_MISSES_TO_SKIP 8
#define PATH_LOOKUPS_SKIPPED 64

struct path_entry {
	uintptr_t frames[PATH_FRAMES_MAX];  /* frames[0]: the site; 0: empty */
	/* What the set was chosen by besides the site: a way of another
	 * key is passed by at one compare. */
	uintptr_t key;
	/* Where frame i + 1's return address lies, in bytes above the
	 * site's stack pointer: increasing, so the last one bounds the
	 * whole path's reads. */
	int32_t at[PATH_FRAMES_MAX - 1];
	uint32_t index;                     /* the chain's tag */
	uint8_t n;                          /* frames walked */
	/* In a set's first entry: the way to fill next; the lookups in a
	 * row that found no path; how many more to skip (stack_by_path). */
	uint8_t next, misses, skip;
	uint32_t retirements;
};

static __thread struct path_entry *path_cache;

/*
 * Memo blocks of exited threads, kept for the next threads' first
 * walks, as the profiler stacks are (profiler_stack.c): a slot each,
 * taken and given by compare-and-exchange, so no lock.  A block is
 * taken as its thread left it: every entry holds only what is true of
 * the program's code, not of a thread (a frame memo's entry checks
 * codetag_retirements, a path is checked against the stack it is read
 * from, a stack memo's entry against its chain's tag), so the next
 * thread starts with its walks known.  With stacks on, a block is about
 * 250 KiB to allocate and zero: a program that makes a thread per task
 * (bench/workloads/thread_churn.c at ALLOCINFO_DEPTH=4) paid that for
 * every thread.  At most KEPT_MEMOS blocks, profiler memory.
 */
#define KEPT_MEMOS 4
static _Atomic(struct frame_memo *) kept_memos[KEPT_MEMOS];

static struct frame_memo *take_kept_memo(void)
{
	for (unsigned int i = 0; i < KEPT_MEMOS; i++) {
		struct frame_memo *memo = atomic_load_explicit(&kept_memos[i],
							       memory_order_relaxed);

		if (memo && atomic_compare_exchange_strong_explicit(
				    &kept_memos[i], &memo, NULL,
				    memory_order_acquire, memory_order_relaxed))
			return memo;
	}
	return NULL;
}

/* Keeps @memo for a later thread, or frees it if every slot is taken. */
static void keep_or_free_memo(struct frame_memo *memo)
{
	for (unsigned int i = 0; i < KEPT_MEMOS; i++) {
		struct frame_memo *empty = NULL;

		if (atomic_compare_exchange_strong_explicit(&kept_memos[i], &empty, memo,
							    memory_order_release,
							    memory_order_relaxed))
			return;
	}
	core_internal_free(memo);
}

/* Thread exit (a key destructor, on the exiting thread). */
static void free_frame_memo(void *memo)
{
	frame_memo = NULL;	/* a later walk makes a new one */
	/* With stacks off, charge_by_rule's block of its own. */
	if (callsite_options.depth == 1)
		core_internal_free(path_cache);
	path_cache = NULL;
	stack_memo = NULL;
	keep_or_free_memo(memo);
}

/* This thread's table, made on first use; NULL if it cannot be. */
static struct frame_memo *thread_frame_memo(void)
{
	if (__builtin_expect(frame_memo != NULL, 1))
		return frame_memo;
	if (!memo_key_made)
		return NULL;
	/* With stacks on, the path cache and the stack memo live after
	 * it, in one block.  All are probed before they are filled:
	 * zeroed by writing. */
	frame_memo = take_kept_memo();
	if (!frame_memo)
		frame_memo = core_internal_calloc_touched(
			1, frame_memo_slots() * sizeof(*frame_memo) +
				   (callsite_options.depth > 1 ?
				    PATH_CACHE_SLOTS * sizeof(*path_cache) +
				    STACK_MEMO_SLOTS * sizeof(*stack_memo) : 0));
	if (frame_memo && pthread_setspecific(memo_key, frame_memo) != 0) {
		keep_or_free_memo(frame_memo);
		frame_memo = NULL;
	}
	if (frame_memo && callsite_options.depth > 1) {
		path_cache = (struct path_entry *)(frame_memo + frame_memo_slots());
		stack_memo = (struct stack_memo *)(path_cache + PATH_CACHE_SLOTS);
	}
	return frame_memo;
}

/* Fills in what @m does not know yet from @site's tag. */
static void frame_memo_classify(struct frame_memo *m,
				const struct dl_find_object *obj);

/* frame_memo_classify, with the module found here. */
static void frame_memo_classify_here(struct frame_memo *m)
{
	struct dl_find_object obj;

	frame_memo_classify(m, _dl_find_object((void *)(m->site - 1), &obj) == 0 ? &obj : NULL);
}

static void frame_memo_refresh(struct frame_memo *m)
{
	struct codetag *ct = &codetag_tag(m->index)->ct;
	int32_t offset;

	mark_stack_frame(ct);
	if (m->route == CODETAG_ROUTE_UNDECIDED) {
		m->route = __atomic_load_n(&ct->route, __ATOMIC_RELAXED);
		/* Stays undecided while the unwinder cannot look. */
		if (m->route == CODETAG_ROUTE_UNDECIDED)
			m->route = decide_route(ct, m->site);
	}
	offset = __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED);
	if (offset > 0 && (__atomic_load_n(&ct->flags, __ATOMIC_RELAXED) &
			   CODETAG_FLAG_CALLER_OFFSET_CONFIRMED))
		m->caller_offset = offset;
	/* With stacks off, what the tag was told of its code, once it was
	 * (frame_memo_classify asks at once with stacks on). */
	if (m->code == FRAME_MEMO_CODE_UNKNOWN &&
	    (__atomic_load_n(&ct->flags, __ATOMIC_RELAXED) & CODETAG_FLAG_CODE_MASK))
		frame_memo_classify_here(m);
}

/*
 * The code @m's site is in, and its module, for a stack walk.  The
 * classifier (a search of the module's remembered routes or symbols) is
 * asked once per tag: once classify_site has told the tag, the code is
 * the tag's and the module the loader's extent @obj (NULL: in none),
 * which is what the classifier reports (callsite.h).  Asked again on
 * every miss of the frame memo, it was a sixth of a walk's cost, cc1's
 * 4,400 frame sites passing through the memo's 1,024 entries at depth 4.
 */
static void frame_memo_classify(struct frame_memo *m,
				const struct dl_find_object *obj)
{
	struct codetag *ct = &codetag_tag(m->index)->ct;
	uint32_t known = __atomic_load_n(&ct->flags, __ATOMIC_RELAXED) &
			 CODETAG_FLAG_CODE_MASK;
	struct callsite_facts facts;

	if (known && callsite_options.classify) {
		m->code = (uint16_t)((known >> CODETAG_FLAG_CODE_SHIFT) - 1);
		m->module = obj ? (uintptr_t)obj->dlfo_map_start : 0;
		return;
	}
	classify_site(m->site, ct, &facts);
	m->code = (uint16_t)facts.code;
	m->module = facts.module;
}

/*
 * The answers for @site (route decided, caller offset if confirmed), or
 * NULL for a site without a tag of its own (the table is full), or not
 * a site at all.  @need_offset: refresh an entry that has no confirmed
 * offset yet.  @read: @site was read from the stack at a measured
 * offset, not the allocation's own return address.
 */
static const struct frame_memo *frame_memo_of(uintptr_t site, bool need_offset,
					      bool read, struct frame_memo *scratch)
{
	uint32_t retirements = atomic_load_explicit(&codetag_retirements,
						    memory_order_acquire);
	struct frame_memo *table = thread_frame_memo();
	struct frame_memo *m = scratch;
	uint32_t index;

	scratch->site = 0;
	if (table) {
		/* The entry used now goes first in its set. */
		m = &table[frame_memo_set(site)];
		if (m[0].site != site) {
			struct frame_memo other = m[1];

			m[1] = m[0];
			if (other.site == site)
				m[0] = other;
		}
	}
	if (m->site != site || m->retirements != retirements) {
		struct dl_find_object obj;
		bool in_module = false;

		/* A return address read at a measured offset lies in a
		 * module.  A value that does not is no site: the frame was
		 * not the size measured (alloca), and made up a tag and a
		 * frame of a chain (cc1: 9 of 4,400 chains at depth 4).  The
		 * unwinder finds the stack instead.  The allocation's own
		 * site is one, in a module or not (a JIT's code). */
		if (read || callsite_options.depth > 1) {
			in_module = _dl_find_object((void *)(site - 1), &obj) == 0;
			if (read && !in_module)
				return NULL;
		}
		index = codetag_index_for_site_unrouted(site);
		if (index < CODETAG_FIRST_SITE)
			return NULL;
		*m = (struct frame_memo){ .site = site, .index = index,
					  .code = FRAME_MEMO_CODE_UNKNOWN,
					  .retirements = retirements };
		/* Stack walks ask what code every frame is in. */
		if (callsite_options.depth > 1)
			frame_memo_classify(m, in_module ? &obj : NULL);
		frame_memo_refresh(m);
	} else if (m->route == CODETAG_ROUTE_UNDECIDED ||
		   (need_offset && !m->caller_offset) ||
		   m->code == FRAME_MEMO_CODE_UNKNOWN) {
		frame_memo_refresh(m);
	}
	return m;
}

/*
 * The frames a walk by offsets read from a site (frames[0]), and the
 * offsets it read them at, as a path_entry keeps them; n may pass
 * PATH_FRAMES_MAX, and then only the first frames are here.
 */
struct offset_walk {
	uintptr_t frames[PATH_FRAMES_MAX];
	int32_t offsets[PATH_FRAMES_MAX - 1];
	unsigned int n;
};

/* The set of PATH_WAYS entries for @site and @caller. */
static inline struct path_entry *path_set_of(uintptr_t site, uintptr_t caller)
{
	uint64_t key = ((uint64_t)caller * 0xc2b2ae3d27d4eb4full) ^ site;

	return &path_cache[((key * 0x9e3779b97f4a7c15ull) >> 57) * PATH_WAYS];
}

/*
 * Whether the stack at @sp goes the way of @e from its frame @first
 * (> 0) on: a load and a compare a frame, from the outermost in, where
 * the paths of a set, which share their first frames, part.
 */
static inline bool path_holds_from(const struct path_entry *e, uintptr_t sp,
				   unsigned int first)
{
	unsigned int i = e->n;

	if (i > first && sp + (uintptr_t)e->at[i - 2] + 8 > stack_top)
		return false;
	while (--i >= first)
		if (*(const uintptr_t *)(sp + (uintptr_t)e->at[i - 1]) != e->frames[i])
			return false;
	return true;
}

/* Whether the stack at @sp goes the way of @e, from its site on. */
static inline bool path_holds(const struct path_entry *e, uintptr_t sp)
{
	return path_holds_from(e, sp, 1);
}

/*
 * Keeps the @n frames walked from a site (@frames[0]), with their
 * caller @offsets, as the path to @index, in the way of the set of the
 * site and @caller that was filled longest ago.  Not without a path
 * cache, nor for the overflow tag (it stands for no chain).
 */
static void remember_path_under(uintptr_t caller, const uintptr_t *frames,
				const int32_t *offsets, unsigned int n, uint32_t index,
				uint32_t retirements)
{
	int32_t at[PATH_FRAMES_MAX - 1];
	struct path_entry *set, *e;
	int64_t reach = 0;

	if (!path_cache || n > PATH_FRAMES_MAX || index < CODETAG_FIRST_SITE)
		return;
	for (unsigned int i = 0; i + 1 < n; i++) {
		reach += offsets[i];
		if (offsets[i] <= 0 || reach > INT32_MAX - 8)
			return;
		at[i] = (int32_t)reach;
		reach += 8;
	}
	set = path_set_of(frames[0], caller);
	e = &set[set->next % PATH_WAYS];
	set->next = (uint8_t)((set->next + 1) % PATH_WAYS);
	e->key = caller;
	memcpy(e->frames, frames, n * sizeof(frames[0]));
	memcpy(e->at, at, (n - 1) * sizeof(at[0]));
	e->n = (uint8_t)n;
	e->index = index;
	e->retirements = retirements;
}

/* The same, in the set of the site and its caller (path_cache). */
static void remember_path(const uintptr_t *frames, const int32_t *offsets,
			  unsigned int n, uint32_t index, uint32_t retirements)
{
	remember_path_under(n > 1 ? frames[1] : 0, frames, offsets, n, index, retirements);
}

/* With stacks off, the path cache is made on its first path, with
 * calloc: a short process touches a page or two of it.  In the
 * profiler's internal scope. */
static void make_path_cache(void)
{
	if (!path_cache && frame_memo)
		path_cache = core_internal_calloc(PATH_CACHE_SLOTS, sizeof(*path_cache));
}

/*
 * A walk by offsets (charge_by_offset) met an anonymous site's wrapper
 * with all it needs to read the wrapper's caller: the site's tag keeps
 * the way, unless it has one (remember_helper_charge), and this
 * thread's allocations there will keep their paths (charge_helper),
 * which needs its path cache and its stack's top: every thread makes
 * its own on its first walk there, after the tag's way was made.  In
 * the profiler's internal scope.
 */
static __attribute__((noinline)) void
helper_found(struct codetag *ct, uintptr_t wrapper_return, uintptr_t charged_offset)
{
	thread_stack_top();
	make_path_cache();
	if (!__atomic_load_n(&ct->charge_via, __ATOMIC_RELAXED))
		remember_helper_charge(ct, wrapper_return, charged_offset);
}

/*
 * The charged tag by measured offsets alone, or 0 to unwind instead:
 * the rule above, from the site's frame outward, by the codes and
 * modules the memo keeps, except that a charged frame (route SELF)
 * right after a wrapper is taken as it is, as its own allocations are.
 * A frame the memo (or, with @memo_only false, the tag table) does not
 * have is charge_by_rule's.
 *
 * @memo_only: what this thread's memo already knows, with no lookup,
 * no refresh and nothing that may allocate or set errno, so that
 * callsite_route needs neither its internal scope nor errno's saving
 * for a wrapper called from sites it has seen (the common case); 0 as
 * soon as the memo lacks a frame.  Either way, an anonymous helper's
 * way through its wrapper is kept in its tag (remember_helper_charge).
 */
static inline __attribute__((always_inline)) uint32_t
charge_by_offset(struct codetag *ct, uintptr_t sp, bool memo_only, struct offset_walk *walk)
{
	int32_t offset = __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED);
	const int32_t first_offset = offset;
	uintptr_t first_caller = 0;
	uint32_t retirements = atomic_load_explicit(&codetag_retirements,
						    memory_order_acquire);
	uint32_t flags = __atomic_load_n(&ct->flags, __ATOMIC_RELAXED);
	/* The rule's state (rule_sees_past) past the frames seen so far:
	 * the run of anonymous frames since the last wrapper (0: the last
	 * frame was a wrapper), its module, and the tag of its first
	 * frame, which the rule charges if the run is not seen through. */
	uintptr_t run_module = 0;
	unsigned int run = 0;
	uint32_t run_index = 0;
	/* The site is anonymous; and its caller is a wrapper of its
	 * module (remember_helper_charge). */
	bool helper = false, helper_wrapped = false;

	if (!(flags & CODETAG_FLAG_CALLER_OFFSET_CONFIRMED) || (memo_only && !frame_memo))
		return 0;
	if (!codetag_flags_wrapper(flags)) {
		struct frame_memo scratch;
		const struct frame_memo *own;
		uintptr_t site = __atomic_load_n(&ct->site, __ATOMIC_RELAXED);

		own = memo_only ? frame_memo_find(frame_memo, site)
				: frame_memo_of(site, false, false, &scratch);
		if (!own || own->retirements != retirements ||
		    own->code != CALLSITE_CODE_ANONYMOUS || !own->module)
			return 0;
		run_module = own->module;
		run = 1;
		run_index = own->index;
		helper = true;
	}
	for (int level = 0; level < CALLSITE_WRAPPER_FRAMES; level++) {
		struct frame_memo scratch;
		const struct frame_memo *m;
		uintptr_t caller;

		if (offset <= 0 || offset == CALLSITE_CALLER_OUTERMOST)
			return 0;
		caller = *(const uintptr_t *)(sp + (uintptr_t)offset);
		if (walk) {
			if (level + 1 < PATH_FRAMES_MAX) {
				walk->frames[level + 1] = caller;
				walk->offsets[level] = offset;
			}
			walk->n = (unsigned int)level + 2;
		}
		if (level == 0)
			first_caller = caller;
		else if (level == 1 && helper_wrapped && !memo_only)
			helper_found(ct, first_caller, (uintptr_t)first_offset + 8 + (uintptr_t)offset);
		if (memo_only) {
			m = frame_memo_find(frame_memo, caller);
			if (!m || m->retirements != retirements)
				return 0;
		} else {
			/* No tag is made for a caller after anonymous frames:
			 * the rule may look at it and not charge it, and it
			 * would be listed, at 0 0 (charge_by_rule's). */
			if (run && codetag_site_find(caller) < CODETAG_FIRST_SITE)
				return 0;
			m = frame_memo_of(caller, false, true, &scratch);
			if (!m)
				return 0;
		}
		/* Right after a wrapper, a charged frame is the answer. */
		if (!run && m->route == CODETAG_ROUTE_SELF)
			return m->index;
		if (m->route == CODETAG_ROUTE_UNDECIDED)
			return 0;	/* not seen through before it is decided */
		/* Else the rule by the frame's code: a wrapper ends a run of
		 * anonymous frames of its module; a run that meets code of
		 * its own, another module or CALLSITE_ANONYMOUS_MAX frames
		 * is not seen through, and its first frame is charged. */
		if (m->code == CALLSITE_CODE_WRAPPER) {
			if (run && m->module != run_module)
				return run_index;
			run = 0;
			helper_wrapped = helper && level == 0;
		} else if (m->code == CALLSITE_CODE_ANONYMOUS && m->module) {
			if (!run) {
				run_module = m->module;
				run_index = m->index;
			} else if (m->module != run_module) {
				return run_index;
			}
			if (++run >= CALLSITE_ANONYMOUS_MAX)
				return run_index;
		} else if (m->code == CALLSITE_CODE_OWN) {
			return run ? run_index : m->index;
		} else {
			return 0;
		}
		sp += (uintptr_t)offset + 8;
		if (!m->caller_offset && !memo_only)
			m = frame_memo_of(m->site, true, true, &scratch);
		offset = m->caller_offset;
	}
	return 0;
}


/*
 * The chain's tag by the last paths from @site (whose tag is @ct) and
 * its caller (see path_cache), or 0: no path, or this stack differs
 * from them, or (@skipped given) the set is being skipped, which
 * *@skipped then says.  Reads the stack
 * and compares, and changes nothing but the set's counts: no lookup,
 * nothing that may allocate or set errno.  Inline: through a call,
 * perl at depth 4 ran 1.4% more instructions.
 */
static inline __attribute__((always_inline)) uint32_t
stack_by_path(const struct codetag *ct, uintptr_t site, uintptr_t sp, bool *skipped)
{
	bool may_skip = skipped != NULL;
	struct path_entry *set;
	int32_t first = __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED);
	uint32_t retirements;
	uintptr_t caller = 0;

	_Static_assert(PATH_CACHE_SLOTS == PATH_WAYS << (64 - 57), "7 bits of hash, 4 ways");
	if (!path_cache || !stack_top)
		return 0;
	if (first > 0 && first != CALLSITE_CALLER_OUTERMOST &&
	    (__atomic_load_n(&ct->flags, __ATOMIC_RELAXED) &
	     CODETAG_FLAG_CALLER_OFFSET_CONFIRMED) &&
	    sp + (uintptr_t)first + 8 <= stack_top)
		caller = *(const uintptr_t *)(sp + (uintptr_t)first);
	set = path_set_of(site, caller);
	if (may_skip && set->skip) {
		set->skip--;
		*skipped = true;
		return 0;
	}
	retirements = atomic_load_explicit(&codetag_retirements, memory_order_acquire);
	for (unsigned int way = 0; way < PATH_WAYS; way++) {
		const struct path_entry *e = &set[way];

		if (e->key == caller && e->frames[0] == site && e->retirements == retirements &&
		    path_holds(e, sp)) {
			if (set->misses)
				set->misses = 0;
			return e->index;
		}
	}
	if (may_skip && ++set->misses >= PATH_MISSES_TO_SKIP) {
		set->misses = 0;
		set->skip = PATH_LOOKUPS_SKIPPED;
	}
	return 0;
}

/* @pc's entry in this thread's frame memo if it has one that a walk
 * can use as it is (made since the last unload, its code known), else
 * NULL: no lookup, no change. */
static inline const struct frame_memo *frame_memo_known(uintptr_t pc, uint32_t retirements)
{
	const struct frame_memo *m = frame_memo_find(frame_memo, pc);

	if (!m || m->retirements != retirements || m->code == FRAME_MEMO_CODE_UNKNOWN)
		return NULL;
	return m;
}

/*
 * @pc's entry in this thread's frame memo, made from what the tag
 * table already holds where the memo has none: the frame's tag (a
 * probe that makes none), its code and route once decided, its
 * confirmed caller offset, and the module the loader gives; NULL where
 * any is still to be learnt, and the walk is left to the lookups.  It
 * writes the memo, as frame_memo_of does, and makes no tag: no
 * allocation, errno untouched.  @read as for frame_memo_of; @index is
 * @pc's tag where the caller has it (the allocation's own site, whose
 * tag malloc found: a second probe of the site arrays cost bench/scaling's
 * 10,000 sites at depth 4 about a tenth of their time), else 0.
 *
 * With more sites in turn than a thread's memo holds (bench/scaling's
 * 10,000 sites at ALLOCINFO_DEPTH=4), every allocation missed it for
 * its own site and took route_with_lookups, about 1,100 instructions,
 * where the table had every answer.
 */
static const struct frame_memo *frame_memo_from_tags(uintptr_t pc, uint32_t retirements,
						     bool read, uint32_t index)
{
	struct frame_memo *set = &frame_memo[frame_memo_set(pc)];
	const struct codetag *ct;
	struct dl_find_object obj;
	uint32_t flags, known;
	uint16_t route;
	int32_t offset;
	bool in_module;

	if (!callsite_options.classify)
		return NULL;
	if (!index)
		index = codetag_site_find(pc);
	if (index < CODETAG_FIRST_SITE)
		return NULL;
	ct = &codetag_tag(index)->ct;
	flags = __atomic_load_n(&ct->flags, __ATOMIC_RELAXED);
	known = flags & CODETAG_FLAG_CODE_MASK;
	route = __atomic_load_n(&ct->route, __ATOMIC_RELAXED);
	if (!known || route == CODETAG_ROUTE_UNDECIDED)
		return NULL;
	in_module = _dl_find_object((void *)(pc - 1), &obj) == 0;
	if (read && !in_module)
		return NULL;
	offset = __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED);
	/* First in its set, as frame_memo_of puts the entry used now. */
	if (set[0].site != pc)
		set[1] = set[0];
	set[0] = (struct frame_memo){
		.site = pc,
		.module = in_module ? (uintptr_t)obj.dlfo_map_start : 0,
		.index = index,
		.caller_offset = offset > 0 && (flags & CODETAG_FLAG_CALLER_OFFSET_CONFIRMED) ?
				 offset : 0,
		.route = route,
		.code = (uint16_t)((known >> CODETAG_FLAG_CODE_SHIFT) - 1),
		.retirements = retirements,
	};
	return &set[0];
}

/*
 * ALLOCINFO_DEPTH > 1: the chain by offsets, or 0 to unwind instead.
 * One pass from @site outward: first past the frames seen through (the
 * rule of first_charged_frame), then the chain of depth sites from the
 * first charged one.
 *
 * *@measure says whether the unwinder should measure the offsets after
 * it unwinds instead: not where this walk stopped at what no
 * measurement changes, a frame whose offset varies, or a caller read at
 * a confirmed offset that is no call site (the frame is larger on this
 * path: alloca).  Measuring there found nothing new in any warm run,
 * and took cc1 272 libunwind walks a compile at depth 4.
 *
 * @memo_only: by what is known already, every frame read from the
 * frame memo as it is (frame_memo_known), else from the tag table
 * (frame_memo_from_tags), and the chain from the stack memo, else the
 * chain table (codetag_find_stack), 0 at the first thing they all
 * lack; what the tables gave is kept in the memos, and the path of a
 * chain the table gave in the path cache, as the walk with lookups
 * keeps them; no tag is made, no allocation, errno untouched
 * (stack_by_memo).
 */
static inline __attribute__((always_inline)) uint32_t
walk_stack(uint32_t index, uintptr_t site, uintptr_t sp, bool *measure, bool memo_only,
	   bool keep_path)
{
	uintptr_t frames[CALLSITE_FRAMES_MAX], run_module = 0, top;
	int32_t offsets[CALLSITE_FRAMES_MAX];
	unsigned int depth = callsite_options.depth, n = 0, keep = 0, chain_depth;
	bool charged = false;    /* keep is the charged frame */
	bool from_tables = false; /* a frame or the chain not in the memos */
	uint32_t retirements = atomic_load_explicit(&codetag_retirements,
						    memory_order_acquire);
	uint32_t chain;

	*measure = true;
	top = memo_only ? stack_top : thread_stack_top();
	if (!top || (memo_only && (!frame_memo || !stack_memo)))
		return 0;
	for (uintptr_t pc = site;;) {
		struct frame_memo scratch;
		const struct frame_memo *m;

		if (!memo_only) {
			m = frame_memo_of(pc, true, n > 0, &scratch);
		} else if (!(m = frame_memo_known(pc, retirements))) {
			m = frame_memo_from_tags(pc, retirements, n > 0, n ? 0 : index);
			from_tables = true;
		}

		if (!m) {
			*measure = n == 0;
			return 0;
		}
		frames[n++] = pc;
		if (!charged)
			charged = !rule_sees_past(n - 1, (enum callsite_code)m->code,
						  m->module, &keep, &run_module);
		if ((charged && n - keep >= depth) || n == CALLSITE_FRAMES_MAX)
			break;
		if (m->caller_offset <= 0) {
			*measure = __atomic_load_n(&codetag_tag(m->index)->ct.caller_offset,
						   __ATOMIC_RELAXED) != CALLSITE_CALLER_VARIES;
			return 0;
		}
		if (m->caller_offset == CALLSITE_CALLER_OUTERMOST)
			break;	/* the stack ends here */
		if (sp + (uintptr_t)m->caller_offset + 8 > top)
			return 0;
		offsets[n - 1] = m->caller_offset;
		pc = *(const uintptr_t *)(sp + (uintptr_t)m->caller_offset);
		sp += (uintptr_t)m->caller_offset + 8;
	}
	if (keep >= n)
		keep = n - 1;
	chain_depth = n - keep < depth ? n - keep : depth;
	if (memo_only) {
		uint64_t hash = chain_hash(frames + keep, chain_depth);

		if (!(chain = stack_memo_find(frames + keep, chain_depth, hash))) {
			/* Kept in the memo, as stack_tag keeps a chain
			 * the table had. */
			chain = codetag_find_stack(frames + keep, chain_depth);
			stack_memo_put(hash, chain);
			from_tables = true;
		}
		/* And its path, as the walk below keeps it, unless its
		 * set is being skipped (stack_by_path): with more chains
		 * in turn than the path cache's ways, a path kept at every
		 * allocation was gone before it came back (bench/scaling's
		 * 10,000 sites at depth 4, 196 ns a pair where they take
		 * 123); never kept, a thread that found its chains in the
		 * tables walked for every allocation (bench/micro at depth
		 * 4, 24 ns a pair where it takes 14). */
		if (from_tables && keep_path)
			remember_path(frames, offsets, n, chain, retirements);
		return chain;
	}
	chain = stack_tag(frames + keep, chain_depth, index);
	/* The path for the next allocation here. */
	remember_path(frames, offsets, n, chain, retirements);
	return chain;
}

static uint32_t stack_by_offset(uint32_t index, uintptr_t site, uintptr_t sp,
				bool *measure)
{
	return walk_stack(index, site, sp, measure, false, true);
}

/*
 * ALLOCINFO_DEPTH > 1: the chain by what this thread already knows
 * (walk_stack's @memo_only), or 0, for a stack the path cache does not
 * hold.  Inside the allocator, as the frame memo's readers must be.
 *
 * Why beside the path cache: a path is keyed by the site and its
 * caller, and a wrapper's site and caller are most allocations' (every
 * allocation of sqlite3's goes through sqlite3Malloc and
 * sqlite3MemMalloc), so a few ways hold few of its paths; and a
 * program with more sites than the cache has paths misses at every
 * allocation.  Each miss took the whole walk in route_with_lookups,
 * about 950 instructions (callgrind, sqlite3 and bench/scaling at
 * depth 4), where this takes 250 to 360.
 */
static uint32_t stack_by_memo(uint32_t index, uintptr_t site, uintptr_t sp, bool keep_path)
{
	bool measure;

	return walk_stack(index, site, sp, &measure, true, keep_path);
}

/*
 * A frame charge_by_rule sees past, or that decides, that has no tag
 * yet: one now, marked as a frame on the way, and told what the
 * classifier (and the route memory, its caller offset) knows.  NULL if
 * the table is full.
 */
static const struct frame_memo *frame_on_the_way(uintptr_t pc, struct frame_memo *scratch)
{
	uint32_t index = codetag_index_for_site_unrouted(pc);
	struct callsite_facts facts;
	struct codetag *ct;

	if (index < CODETAG_FIRST_SITE)
		return NULL;
	ct = &codetag_tag(index)->ct;
	mark_frame_on_the_way(ct);
	classify_site(pc, ct, &facts);
	return frame_memo_of(pc, true, true, scratch);
}

/*
 * The path charge_by_rule walked, @n frames from the site, for the next
 * allocation there (stack_by_path): its answer holds wherever the same
 * return addresses lie at the same offsets, since the rule looks at
 * nothing else.  With stacks off the path cache is made on its first
 * path, with calloc: a short process touches a page or two of it.
 */
static void remember_rule_path(const uintptr_t *frames, const int32_t *offsets,
			       unsigned int n, uint32_t charged)
{
	make_path_cache();
	remember_path(frames, offsets, n, charged,
		      atomic_load_explicit(&codetag_retirements, memory_order_acquire));
}

/*
 * ALLOCINFO_DEPTH=1: the tag the unwinder would charge (the rule of
 * first_charged_frame), found by measured offsets, or 0 to unwind
 * instead.  For what charge_by_offset does not answer: a chain with an
 * anonymous frame, whose fate depends on the frames after it.
 *
 * libc's _nl_make_l10nflist is one: setlocale's path sees none of it
 * through, newlocale's does, so its sites' route is UNWIND, and every
 * GNU program that calls setlocale unwound two dozen times at start
 * (and loaded libunwind for it): 130 of as's 680 page faults.
 *
 * A frame with a tag is read through the thread's frame memo; the
 * frame that decides needs no offset, and is classified without a tag
 * unless it is the one charged, so that no tag is made for a frame
 * that holds nothing.
 */
static uint32_t charge_by_rule(uint32_t index, uintptr_t site, uintptr_t sp,
			       bool *measure)
{
	uintptr_t run_module = 0, pc = site, top = thread_stack_top();
	uintptr_t frames[CALLSITE_FRAMES_MAX];
	int32_t offsets[CALLSITE_FRAMES_MAX];
	uint32_t kept_index = index;	/* the tag of frame keep */
	unsigned int keep = 0;

	*measure = true;
	if (!top)
		return 0;
	for (unsigned int i = 0; i < CALLSITE_FRAMES_MAX; i++) {
		struct frame_memo scratch;
		const struct frame_memo *m = NULL;
		struct callsite_facts facts;
		bool at_keep = i == keep;

		if (i == 0 || codetag_site_find(pc) >= CODETAG_FIRST_SITE)
			m = frame_memo_of(pc, true, i > 0, &scratch);
		if (m && m->code == FRAME_MEMO_CODE_UNKNOWN)
			frame_memo_classify_here((struct frame_memo *)m);
		if (m) {
			facts.code = (enum callsite_code)m->code;
			facts.module = m->module;
		} else {
			struct dl_find_object obj;

			/* Read at a measured offset: no code, no frame. */
			if (_dl_find_object((void *)(pc - 1), &obj) != 0) {
				*measure = false;
				return 0;
			}
			classify_untagged(pc, &facts);
		}
		frames[i] = pc;
		if (!rule_sees_past(i, facts.code, facts.module, &keep, &run_module)) {
			uint32_t charged;

			/* The frame that decided, memoized for
			 * charge_by_offset, which then answers alone: the
			 * charged one as any charged frame, one that is not
			 * as a frame on the way, never listed at 0 0. */
			if (!m)
				m = keep == i ? frame_memo_of(pc, true, true, &scratch)
					      : frame_on_the_way(pc, &scratch);
			charged = keep == 0 ? index : keep < i ? kept_index :
				  m ? m->index : codetag_index_for_site_unrouted(pc);
			remember_rule_path(frames, offsets, i + 1, charged);
			return charged;
		}
		/* Past this frame: its caller at its confirmed offset. */
		if (!m && !(m = frame_on_the_way(pc, &scratch)))
			return 0;
		if (at_keep)
			kept_index = m->index;
		if (m->caller_offset <= 0 || m->caller_offset == CALLSITE_CALLER_OUTERMOST ||
		    sp + (uintptr_t)m->caller_offset + 8 > top)
			return 0;
		offsets[i] = m->caller_offset;
		pc = *(const uintptr_t *)(sp + (uintptr_t)m->caller_offset);
		sp += (uintptr_t)m->caller_offset + 8;
	}
	return 0;
}

/*
 * The rest of callsite_route (below): a site not decided yet, or one
 * whose caller or stack the memo and the last paths do not know.  On
 * the profiler stack (route_with_lookups).
 */
struct route_request {
	uint32_t index;
	uint16_t route;
	uintptr_t site, wrapper_sp;
	uint32_t charged;           /* the answer */
};

static void route_with_lookups_here(void *request)
{
	struct route_request *r = request;
	uint32_t index = r->index;
	uintptr_t site = r->site, wrapper_sp = r->wrapper_sp;
	uint16_t route = r->route;
	struct codetag *ct = &codetag_tag(index)->ct;
	unsigned int depth = callsite_options.depth;
	uint32_t charged = index;
	bool measure = true;
	int saved_errno;

	saved_errno = errno;
	core_internal_enter();
	if (route == CODETAG_ROUTE_UNDECIDED)
		route = decide_route(ct, site);
	/* Not decided yet: this allocation is the site's own, and its tag
	 * says it may not be. */
	if (route == CODETAG_ROUTE_UNDECIDED)
		mark_undecided_charge(ct);
	if (route == CODETAG_ROUTE_UNWIND) {
		if (!wrapper_sp)
			charged = 0;
		else if (depth > 1)
			charged = stack_by_offset(index, site, wrapper_sp, &measure);
		else if (!(charged = charge_by_offset(ct, wrapper_sp, false, NULL)))
			charged = charge_by_rule(index, site, wrapper_sp, &measure);
		if (!charged) {
			unsigned int decided, kept;

			charged = charge_by_unwinding(index, site, &decided, &kept);
			/* Measure until confirmed; never where it varies:
			 * the frames the rule looked at, which the walks by
			 * offsets read again. */
			if (wrapper_sp && measure &&
			    __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED) >= 0) {
				if (depth > 1)
					measure_caller_offsets(site, wrapper_sp, depth + 1,
							       UINT_MAX);
				else if (decided > 0)
					measure_caller_offsets(site, wrapper_sp, decided, kept);
			}
		}
	}
	core_internal_leave();
	errno = saved_errno;
	r->charged = charged;
}

/*
 * route_with_lookups_here on the profiler stack (core/profiler_stack.h):
 * a first sight of a site there took 4 to 8 KiB below the allocation.
 * The wrapper's stack pointer, if the caller has none, is found here
 * first, by our frames' chain on the program's stack: from the
 * profiler stack the chain may lead down to it, which the walk refuses.
 */
static __attribute__((noinline)) uint32_t
route_with_lookups(uint32_t index, uintptr_t site, uint16_t route, uintptr_t wrapper_sp)
{
	struct route_request r;

	if (route == CODETAG_ROUTE_UNDECIDED && !core_is_ready())
		return index;
	r = (struct route_request){
		.index = index,
		.route = route,
		.site = site,
		.wrapper_sp = wrapper_sp ? wrapper_sp : wrapper_stack_pointer(site, 0),
	};
	profiler_stack_run(route_with_lookups_here, &r);
	return r.charged;
}

/* ALLOCINFO_DEPTH > 1: the chain by the last paths, else the walk. */
static __attribute__((noinline)) uint32_t route_stack(uint32_t index, uintptr_t site,
							 uintptr_t caller_sp)
{
	uintptr_t wrapper_sp = wrapper_stack_pointer(site, caller_sp);
	uint32_t charged = 0;
	bool skipped = false;

	if (wrapper_sp &&
	    !(charged = stack_by_path(&codetag_tag(index)->ct, site, wrapper_sp, &skipped)))
		charged = stack_by_memo(index, site, wrapper_sp, !skipped);
	if (charged)
		return charged;
	return route_with_lookups(index, site, CODETAG_ROUTE_UNWIND, wrapper_sp);
}

/*
 * ALLOCINFO_DEPTH=1: the charged tag by what this thread already knows
 * (the frame memo, then the last paths), with @sp @site's frame's, or
 * 0.  Reads the stack and compares: no lookup, no allocation, errno
 * untouched.
 */
static inline __attribute__((always_inline)) uint32_t
charge_known(struct codetag *ct, uintptr_t site, uintptr_t sp)
{
	uint32_t charged = charge_by_offset(ct, sp, true, NULL);

	return charged ? charged : stack_by_path(ct, site, sp, NULL);
}

/*
 * Only the common case is here, and every other way out is a tail
 * call: a wrapper site at depth 1 whose caller, or callers through more
 * wrappers, the memo knows.  So it keeps no register across a call.
 * (The commonest case of all, one wrapper, is answered before this in
 * malloc's fast path, by the tag's charge_offset and the small slot
 * array: refresh_charge_offset.)
 */
uint32_t callsite_route(uint32_t index, uintptr_t site, uintptr_t caller_sp)
{
	struct codetag *ct = &codetag_tag(index)->ct;
	uint16_t route;
	uintptr_t wrapper_sp;
	uint32_t charged;

	/* The fixed tags (the overflow tag) are nobody's site. */
	if (index < CODETAG_FIRST_SITE)
		return index;
	route = __atomic_load_n(&ct->route, __ATOMIC_RELAXED);
	if (route != CODETAG_ROUTE_UNWIND)
		return route_with_lookups(index, site, route, 0);
	if (callsite_options.depth > 1)
		return route_stack(index, site, caller_sp);
	wrapper_sp = wrapper_stack_pointer(site, caller_sp);
	if (wrapper_sp && (charged = charge_known(ct, site, wrapper_sp)))
		return charged;
	return route_with_lookups(index, site, route, wrapper_sp);
}

/*
 * A helper's stack as charge_helper reads it before it looks: the
 * wrapper's caller's return address, at the offset the tag's
 * charge_via gives, and the next one out, at that caller's offset in
 * the frame memo (0 where the memo has none).
 */
struct helper_stack {
	uintptr_t caller, next;
	uintptr_t caller_at, next_at;   /* above the site's stack pointer */
};

/* The key of a helper's paths' set, besides the site: by the wrapper's
 * caller alone, a set took every path through sqlite3's one helper
 * that calls sqlite3Malloc (a dozen callers), and a lookup compared
 * three ways of four. */
static inline uintptr_t helper_key(const struct helper_stack *h)
{
	return h->caller ^ (h->next * 0x9e3779b97f4a7c15ull);
}

/*
 * Whether @e, a path of @h's set, is this stack's: its first four
 * frames by what was read already, the rest from the stack.  Where the
 * second and third lie needs no compare: the site's confirmed caller
 * offset and the wrapper's fix them, both in the tag's charge_via,
 * which is cleared if the first changes; where the fourth lies comes
 * from this thread's memo, and is compared.
 */
static inline bool helper_path_holds(const struct path_entry *e, const struct helper_stack *h,
				     uintptr_t wrapper_return, uintptr_t sp)
{
	if (e->n < 4 || !h->next_at)
		return path_holds(e, sp);
	return e->frames[1] == wrapper_return && e->frames[2] == h->caller &&
	       e->frames[3] == h->next && (uintptr_t)e->at[2] == h->next_at &&
	       path_holds_from(e, sp, 4);
}

/* The walk for an allocation at a helper's site whose path the cache
 * did not have: kept, under @key, if it charged. */
static __attribute__((noinline)) uint32_t
charge_helper_by_walk(struct codetag *ct, uintptr_t site, uintptr_t sp, uintptr_t key,
		      uint32_t retirements)
{
	struct offset_walk walk;
	uint32_t charged;

	walk.frames[0] = site;
	walk.n = 1;
	charged = charge_by_offset(ct, sp, true, &walk);
	if (charged)
		remember_path_under(key, walk.frames, walk.offsets, walk.n, charged, retirements);
	return charged ? charged : stack_by_path(ct, site, sp, NULL);
}

/*
 * ALLOCINFO_DEPTH=1: an allocation at the anonymous site of @ct, whose
 * tag's @via gives its wrapper and where the wrapper's caller lies
 * (codetag_caller_word read that caller, and it is no charged site),
 * charged by what this thread knows, or 0.  The rule then looks at the
 * frames further out, and the walk by the frame memo pays a lookup a
 * frame: sqlite3 charges most allocations so (sqlite3Malloc's callers
 * are anonymous too), at 155 instructions a walk.  So the paths walked
 * are kept in the path cache, in sets by the site, the wrapper's caller
 * and the frame after it (helper_key), and a path found there is
 * checked from its fifth frame out: 108 instructions a call.  On the
 * bench's SQL at 13,000 rows (callgrind), core_malloc_by_route ran
 * 17.0 M instructions where it ran 24.4 M (16,000 of its 98,000
 * allocations now charged inline, the rest here), and sqlite3 0.88%
 * fewer in all.
 */
static __attribute__((noinline)) uint32_t
charge_helper(struct codetag *ct, uintptr_t site, uintptr_t sp, uint64_t via)
{
	uintptr_t wrapper_return = codetag_via_wrapper_return(via, site), key;
	struct helper_stack h = { .caller_at = codetag_via_charged_offset(via) };
	const struct frame_memo *m;
	const struct path_entry *set;
	uint32_t retirements;

	if (!path_cache || !frame_memo || sp + h.caller_at + 8 > stack_top ||
	    *(const uintptr_t *)(sp + codetag_via_first_offset(via)) != wrapper_return)
		return charge_known(ct, site, sp);
	retirements = atomic_load_explicit(&codetag_retirements, memory_order_acquire);
	h.caller = *(const uintptr_t *)(sp + h.caller_at);
	m = frame_memo_find(frame_memo, h.caller);
	if (m && m->retirements == retirements && m->caller_offset > 0 &&
	    m->caller_offset != CALLSITE_CALLER_OUTERMOST &&
	    sp + h.caller_at + 8 + (uintptr_t)m->caller_offset + 8 <= stack_top) {
		h.next_at = h.caller_at + 8 + (uintptr_t)m->caller_offset;
		h.next = *(const uintptr_t *)(sp + h.next_at);
	}
	key = helper_key(&h);
	set = path_set_of(site, key);
	for (unsigned int way = 0; way < PATH_WAYS; way++) {
		const struct path_entry *e = &set[way];

		if (e->key == key && e->frames[0] == site && e->retirements == retirements &&
		    helper_path_holds(e, &h, wrapper_return, sp))
			return e->index;
	}
	return charge_helper_by_walk(ct, site, sp, key, retirements);
}

/* charge_known out of line, so that callsite_route_by_memo keeps no
 * register for it. */
static __attribute__((noinline)) uint32_t
charge_known_here(struct codetag *ct, uintptr_t site, uintptr_t sp)
{
	return charge_known(ct, site, sp);
}

uint32_t callsite_charge_by_via(uint32_t index, uintptr_t site, uintptr_t caller_sp,
				uint64_t via)
{
	return charge_helper(&codetag_tag(index)->ct, site, caller_sp, via);
}

uint32_t callsite_route_by_memo(uint32_t index, uintptr_t site, uintptr_t caller_sp)
{
	struct codetag *ct = &codetag_tag(index)->ct;
	uint64_t via;

	if (!callsite_one_frame || index < CODETAG_FIRST_SITE ||
	    __atomic_load_n(&ct->route, __ATOMIC_RELAXED) != CODETAG_ROUTE_UNWIND)
		return 0;
	via = __atomic_load_n(&ct->charge_via, __ATOMIC_RELAXED);
	if (via)
		return charge_helper(ct, site, caller_sp, via);
	return charge_known_here(ct, site, caller_sp);
}

int callsite_signal_frames(void *ucontext, uintptr_t *pcs, int max)
{
	unw_cursor_t cursor;
	unw_word_t ip;
	int n = 0;

	/* x86-64's unw_context_t is the ucontext_t a handler is given. */
#if defined(__x86_64__)
	/* Never loaded from a signal handler: without it, no frames. */
	if (atomic_load_explicit(&unwinder_state, memory_order_acquire) != UNWINDER_LOADED ||
	    !unwind_init_local2 || !unwind_step || !unwind_get_reg || !unwinder_enter())
		return 0;
	if (unwind_init_local2(&cursor, (unw_context_t *)ucontext, UNW_INIT_SIGNAL_FRAME) == 0) {
		while (n < max && unwind_get_reg(&cursor, UNW_REG_IP, &ip) == 0 && ip) {
			pcs[n++] = (uintptr_t)ip;
			if (unwind_step(&cursor) <= 0)
				break;
		}
	}
	unwinder_leave();
#else
	(void)ucontext;
	(void)pcs;
	(void)max;
#endif
	return n;
}

void callsite_visit_learned(void (*visit)(uintptr_t site,
					  const struct callsite_facts *facts,
					  void *arg),
			    void *arg)
{
	uint32_t n = codetag_count();

	for (uint32_t i = CODETAG_FIRST_SITE; i < n; i++) {
		const struct codetag *ct = &codetag_tag(i)->ct;
		uintptr_t site = __atomic_load_n(&ct->site, __ATOMIC_RELAXED);
		uint32_t flags = __atomic_load_n(&ct->flags, __ATOMIC_RELAXED);
		uint32_t code = (flags & CODETAG_FLAG_CODE_MASK) >> CODETAG_FLAG_CODE_SHIFT;
		struct callsite_facts facts = { 0 };

		/* Unused slots, retired sites, chains, and sites never
		 * classified (before the core was ready; the profiler's). */
		if (!site || (site & CODETAG_RETIRED_BIT) || ct->stack_depth || !code)
			continue;
		facts.code = (enum callsite_code)(code - 1);
		/* With stacks on, every route is UNWIND: no decision. */
		if (callsite_options.depth == 1 && facts.code == CALLSITE_CODE_ANONYMOUS)
			facts.route = __atomic_load_n(&ct->route, __ATOMIC_RELAXED);
		facts.caller_offset = __atomic_load_n(&ct->caller_offset, __ATOMIC_RELAXED);
		facts.caller_offset_confirmed = facts.caller_offset > 0 &&
			(flags & CODETAG_FLAG_CALLER_OFFSET_CONFIRMED);
		visit(site, &facts, arg);
	}
}

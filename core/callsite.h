/*
 * Call sites people can act on: wrappers seen through, stacks on request.
 *
 * A call site is the return address of a call into the allocator.  When
 * that address lies in a function that only allocates for its caller
 * (strdup, xmalloc, std::vector's growth, a project's safe_malloc), the
 * site a developer can act on is the wrapper's caller: like the kernel's
 * _noprof functions behind alloc_hooks(), the wrapper passes the tag
 * through.  User space has no macro to do that at compile time, so the
 * core finds the caller by unwinding the stack.
 *
 * Cost.  Whether a site needs unwinding is decided once per site, at
 * its first allocation after start-up, and cached in its codetag
 * (codetag.route).  The fast path pays one load from a cache line it
 * already reads; only allocations at wrapper sites unwind, a few frames
 * each.  With a stack depth above 1 every allocation unwinds: that is
 * what was asked for.
 *
 * The core knows no symbol names.  Which code is a wrapper is the
 * classifier's answer (preload/wrappers.c), handed down as a function.
 */
#ifndef ALLOCINFO_CORE_CALLSITE_H
#define ALLOCINFO_CORE_CALLSITE_H

#include <stdbool.h>
#include <stdint.h>

/* Longest chain of call sites a tag may hold (ALLOCINFO_DEPTH). */
#define CALLSITE_DEPTH_MAX 16

/* What the classifier says about the code at one address. */
enum callsite_code {
	/* Code that allocates for itself, or no code we know of: the
	 * allocation is charged here. */
	CALLSITE_CODE_OWN = 0,
	/* In a function that allocates for its caller. */
	CALLSITE_CODE_WRAPPER,
	/* In a module, but in no function that its symbol tables name:
	 * a static function of a stripped module.  Seen through only as a
	 * helper of a wrapper of the same module (see callsite.c). */
	CALLSITE_CODE_ANONYMOUS,
};

/* A caller offset (see struct callsite_facts) of a frame that has no
 * caller: the thread's outermost (clone's, _start's), or one whose
 * caller no walk can find, in code that no unwind information describes
 * (callsite.c, step_is_a_guess). */
#define CALLSITE_CALLER_OUTERMOST INT32_MAX
/* A caller offset measured twice and found to differ. */
#define CALLSITE_CALLER_VARIES (-1)

/*
 * What the classifier knows of the code at one call site.  The code and
 * module come from the module's symbols; the rest is what earlier runs
 * of the same build of the module measured there (the router's memory,
 * preload/route_memory.h), so that a new process need not unwind to
 * learn it again.
 */
struct callsite_facts {
	/* The module the site lies in, as the start of its extent
	 * (_dl_find_object's dlfo_map_start); 0 for none.  callsite.c
	 * finds it so itself once a site's code is known. */
	uintptr_t module;
	enum callsite_code code;
	/* With stacks off, an anonymous site's route (seen through or not,
	 * CODETAG_ROUTE_SELF or _UNWIND); 0 when not known. */
	uint16_t route;
	/* Where the caller's return address lies above the stack pointer
	 * of the function holding the site, in bytes; or
	 * CALLSITE_CALLER_OUTERMOST, CALLSITE_CALLER_VARIES; 0 when not
	 * known.  Confirmed: two measurements agreed. */
	bool caller_offset_confirmed;
	int32_t caller_offset;
};

struct callsite_options {
	/* Call sites per tag, 1 to CALLSITE_DEPTH_MAX; 1 is the kernel's
	 * model, one site per tag. */
	unsigned int depth;
	/*
	 * Fills in @facts for the code at @pc (an address inside a call
	 * instruction, the return address - 1).  Runs inside malloc, in the
	 * profiler's internal scope: it may allocate (ALLOC_NO_CODETAG) and
	 * read files, must leave errno alone, and must not wait for another
	 * thread.  NULL: nothing is a wrapper, and nothing is remembered.
	 */
	void (*classify)(uintptr_t pc, struct callsite_facts *facts);
	/*
	 * The same for a frame that has no tag of its own (one a walk only
	 * looks at), whose facts the router's memory cannot learn from a
	 * tag: the classifier keeps them itself (preload/wrappers.c).
	 * NULL: classify.
	 */
	void (*classify_frame)(uintptr_t pc, struct callsite_facts *facts);
};

/*
 * Sets the options and loads the unwinder (libunwind).  Called once by
 * the preload constructor before core_init(), outside malloc.  Until it
 * is called, and if it never is, every site is its own tag.
 */
void callsite_init(const struct callsite_options *options);

/* Whether a wrapper's allocation is charged to its caller's own tag
 * (ALLOCINFO_DEPTH=1), not to a chain of sites; set by callsite_init. */
extern bool callsite_one_frame;

/*
 * The tag index that an allocation at @site, whose own tag is @index,
 * is charged to.  Called by codetag_index_for_site() for a tag whose
 * route is not CODETAG_ROUTE_SELF: it decides the route on first use,
 * and unwinds at wrapper sites.  Lock-free; never allocates through the
 * tagged path.
 *
 * @caller_sp: the stack pointer the allocation's caller has once the
 * call returns (the word below it holds @site), as the exported
 * function's frame gives it; 0 if not known, and then it is found by
 * walking our own frames.
 */
uint32_t callsite_route(uint32_t index, uintptr_t site, uintptr_t caller_sp);

/*
 * callsite_route's answer for @site, whose tag is @index, when this
 * thread already knows it: its frame memo holds every frame the walk
 * by offsets reads from @caller_sp (given, and checked to be @site's,
 * as core_malloc_by_route has it), or its path cache holds this path.
 * Else 0.  With ALLOCINFO_DEPTH=1 only.  It reads the stack, the memo
 * and the path cache, and keeps in the path cache the path it walked
 * for an anonymous helper's site (charge_helper): no lookup, no
 * allocation, errno untouched.
 */
uint32_t callsite_route_by_memo(uint32_t index, uintptr_t site, uintptr_t caller_sp);

/*
 * callsite_route_by_memo for a site whose tag's charge_via is @via (not
 * 0), read by the caller: an anonymous helper's, whose way the tag
 * fixed when it was set (stacks off, routed UNWIND), so that none of
 * callsite_route_by_memo's tests is needed.
 */
uint32_t callsite_charge_by_via(uint32_t index, uintptr_t site, uintptr_t caller_sp,
				uint64_t via);

/*
 * Loads the unwinder now if it is not yet (callsite.c loads it on first
 * need, where that is safe): before the process makes a second thread
 * (the profiler's own too), and before a dlopen of the program's.  Not
 * from an allocation; a no-op before callsite_init.
 */
void callsite_load_unwinder(void);

/*
 * The frames a signal interrupted, from the @ucontext its SA_SIGINFO
 * handler was given: the interrupted instruction first, then each
 * caller's return address, up to @max.  The count, 0 without the
 * unwinder (or before it is loaded: never from a handler).  For a fatal signal's handler: with the per-thread cache
 * that callsite_init sets, libunwind's local unwinding takes no lock of
 * its own (finding unwind tables takes glibc's loader lock, which is
 * recursive); it may map memory, so the caller is in the profiler's
 * scope.
 */
int callsite_signal_frames(void *ucontext, uintptr_t *pcs, int max);

/*
 * fork's handlers for the unwinder: before fork, waits until no other
 * thread is inside libunwind (whose own locks a child would inherit
 * held) and keeps new uses out until after it; they then charge as when
 * the unwinder is not loaded yet.  A use of the forking thread's own,
 * which a signal handler that forks may have interrupted, is not waited
 * for.
 */
void callsite_prefork(void);
void callsite_postfork_parent(void);
void callsite_postfork_child(void);

/*
 * What this process learned of its call sites, for the router's memory:
 * calls @visit with the site (its return address) and its facts (module
 * 0) for every site the classifier was asked about, other than sites in
 * libraries unloaded since.  At exit; lock-free, like the rest.
 */
void callsite_visit_learned(void (*visit)(uintptr_t site,
					  const struct callsite_facts *facts,
					  void *arg),
			    void *arg);

#endif

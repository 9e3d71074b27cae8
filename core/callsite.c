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
 * An UNWIND allocation takes a backtrace, finds its own site in it, and
 * walks outward past wrapper frames.  A run of at most
 * CALLSITE_ANONYMOUS_MAX anonymous frames is seen through only when a
 * wrapper of the same module follows it: static helpers behind an
 * exported wrapper in a stripped module (PyMem_RawMalloc calls the
 * static _PyMem_RawMalloc, which calls malloc), never a callback of the
 * program's that a wrapper happens to call.  The first frame that is
 * not seen through is charged: with depth 1 its site tag, with depth N
 * the tag of the chain of N sites that starts there.
 *
 * The unwinder is libunwind's unw_backtrace, loaded with dlopen and
 * RTLD_LOCAL: linked normally, libunwind.so.8's exported _Unwind_* and
 * backtrace() would come before libgcc_s's and glibc's in the program's
 * symbol lookup and take over its C++ exceptions.  Without libunwind
 * every site is its own tag.
 *
 * Everything here runs in the profiler's internal scope: the classifier
 * and libunwind may allocate, and that memory is the profiler's.  No
 * thread waits for another: the route is a relaxed store of a value that
 * any racing thread would compute the same way.
 */
#include "core/callsite.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "core/alloc.h"
#include "core/alloc_tag.h"
#include "core/codetag.h"
#include "core/internal_scope.h"

/* Frames of ours between the unwinder and the site: callsite_route,
 * codetag_index_for_site, core_alloc, malloc_api_*, the exported
 * symbol, with room to spare. */
#define CALLSITE_OWN_FRAMES 8
/* Wrapper frames seen through at most: std::vector's growth at -O0 is
 * five deep. */
#define CALLSITE_WRAPPER_FRAMES 16
#define CALLSITE_FRAMES_MAX \
	(CALLSITE_OWN_FRAMES + CALLSITE_WRAPPER_FRAMES + CALLSITE_DEPTH_MAX)
/* Anonymous frames seen through before a wrapper of their module. */
#define CALLSITE_ANONYMOUS_MAX 3

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static struct callsite_options callsite_options = { .depth = 1 };
static int (*unwind_backtrace)(void **frames, int size);

/* libunwind's symbols behind its macros (unw_backtrace is a plain
 * function; the others are _ULx86_64_... on x86-64). */
static void load_unwinder(void)
{
	int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
	unw_addr_space_t *local_space;
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	*(void **)&set_caching_policy =
		dlsym(h, STRINGIFY(unw_set_caching_policy));
	local_space = dlsym(h, STRINGIFY(unw_local_addr_space));
	/* A per-thread cache: the global one takes a lock and masks
	 * signals with a system call on every unwind. */
	if (set_caching_policy && local_space)
		set_caching_policy(*local_space, UNW_CACHE_PER_THREAD);
	*(void **)&unwind_backtrace = dlsym(h, "unw_backtrace");
}

void callsite_init(const struct callsite_options *options)
{
	core_internal_enter();
	callsite_options = *options;
	if (callsite_options.depth < 1)
		callsite_options.depth = 1;
	if (callsite_options.depth > CALLSITE_DEPTH_MAX)
		callsite_options.depth = CALLSITE_DEPTH_MAX;
	load_unwinder();
	core_internal_leave();
}

static enum callsite_code classify(uintptr_t return_address, uintptr_t *module)
{
	*module = 0;
	if (!callsite_options.classify)
		return CALLSITE_CODE_OWN;
	return callsite_options.classify(return_address - 1, module);
}

/*
 * Of @n return addresses, innermost first, the index of the first one
 * that is not seen through (see the rule above).  n - 1 if all are.
 */
static unsigned int first_charged_frame(const uintptr_t *frames, unsigned int n)
{
	uintptr_t run_module = 0, module;
	unsigned int keep = 0;

	for (unsigned int i = 0; i < n; i++) {
		enum callsite_code code = classify(frames[i], &module);

		if (code == CALLSITE_CODE_OWN)
			break;
		if (i == keep)
			run_module = module;
		else if (module != run_module)
			break;
		if (code == CALLSITE_CODE_WRAPPER)
			keep = i + 1;
		else if (i - keep + 1 >= CALLSITE_ANONYMOUS_MAX)
			break;
	}
	return keep < n ? keep : n - 1;
}

/*
 * The stack from @site outward into @buf; returns a pointer to @site's
 * entry and sets *@n to the frames from there.  If the unwinder cannot
 * find @site (no libunwind, no unwind info on the way), the stack is
 * @site alone.
 */
static const uintptr_t *stack_from_site(uintptr_t site, uintptr_t *buf,
					unsigned int size, unsigned int *n)
{
	static __thread uintptr_t only_site;
	int got = unwind_backtrace ? unwind_backtrace((void **)buf, (int)size) : 0;

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

static uint16_t decide_route(struct codetag *ct, uintptr_t site)
{
	uint16_t route = CODETAG_ROUTE_SELF;
	uintptr_t module;

	/* The profiler's own sites (profiler_libs) keep their tag. */
	if (!unwind_backtrace || (ct->flags & CODETAG_FLAG_PROFILER))
		route = CODETAG_ROUTE_SELF;
	else if (callsite_options.depth > 1)
		route = CODETAG_ROUTE_UNWIND;
	else switch (classify(site, &module)) {
	case CALLSITE_CODE_WRAPPER:
		route = CODETAG_ROUTE_UNWIND;
		break;
	case CALLSITE_CODE_ANONYMOUS: {
		uintptr_t buf[CALLSITE_OWN_FRAMES + CALLSITE_WRAPPER_FRAMES];
		const uintptr_t *frames;
		unsigned int n;

		frames = stack_from_site(site, buf, sizeof(buf) / sizeof(buf[0]), &n);
		if (first_charged_frame(frames, n) > 0)
			route = CODETAG_ROUTE_UNWIND;
		break;
	}
	case CALLSITE_CODE_OWN:
		break;
	}
	__atomic_store_n(&ct->route, route, __ATOMIC_RELAXED);
	return route;
}

/* The tag of a chain of call sites, created on first sight. */
static uint32_t stack_tag(const uintptr_t *frames, unsigned int depth,
			  uint32_t fallback)
{
	uint32_t index = codetag_find_stack(frames, depth);
	uintptr_t *copy;
	int kept;

	if (index)
		return index;
	copy = core_internal_alloc(depth * sizeof(*copy));
	if (!copy)
		return fallback;
	memcpy(copy, frames, depth * sizeof(*copy));
	index = codetag_index_for_stack(copy, depth, &kept);
	if (!kept)
		core_internal_free(copy);
	return index;
}

static uint32_t charge_by_unwinding(uint32_t index, uintptr_t site)
{
	uintptr_t buf[CALLSITE_FRAMES_MAX];
	unsigned int depth = callsite_options.depth, n, keep;
	const uintptr_t *frames;

	frames = stack_from_site(site, buf, CALLSITE_OWN_FRAMES +
				 CALLSITE_WRAPPER_FRAMES + depth, &n);
	keep = first_charged_frame(frames, n);
	if (depth == 1)
		return frames[keep] == site ? index :
		       codetag_index_for_site_unrouted(frames[keep]);
	n -= keep;
	return stack_tag(frames + keep, n < depth ? n : depth, index);
}

uint32_t callsite_route(uint32_t index, uintptr_t site)
{
	struct codetag *ct = &codetag_tag(index)->ct;
	uint16_t route;
	uint32_t charged = index;
	int saved_errno;

	/* The fixed tags (the overflow tag) are nobody's site. */
	if (index < CODETAG_FIRST_SITE)
		return index;
	route = __atomic_load_n(&ct->route, __ATOMIC_RELAXED);
	if (route == CODETAG_ROUTE_UNDECIDED && !core_is_ready())
		return index;

	saved_errno = errno;
	core_internal_enter();
	if (route == CODETAG_ROUTE_UNDECIDED)
		route = decide_route(ct, site);
	if (route == CODETAG_ROUTE_UNWIND)
		charged = charge_by_unwinding(index, site);
	core_internal_leave();
	errno = saved_errno;
	return charged;
}

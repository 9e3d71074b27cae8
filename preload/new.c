/*
 * The C++ operators new and delete in all their standard forms,
 * interposed under their Itanium-ABI names, so that an allocation is
 * tagged at the code that said `new`, not inside libstdc++.
 *
 * Written in C to keep libstdc++ out of the preload library; compiled
 * with -fexceptions so std::bad_alloc can unwind through these frames.
 * operator new's new_handler loop is in core/malloc_api.c.
 */
#include <stddef.h>

#include "core/alloc.h"
#include "core/alloc_inline.h"
#include "core/malloc_api.h"
#include "preload/export.h"

/*
 * Plain and nothrow new take malloc's fast path (a request of 0 bytes
 * gets a block of its own, as new's must); only a failure goes to the
 * new_handler loop, which tries again.
 */
static inline __attribute__((always_inline)) void *
operator_new(size_t size, int nothrow, uintptr_t site)
{
	return core_operator_new(size, site, nothrow);
}

/* Aligned new, as operator_new on the aligned fast path where the
 * alignment allows it. */
static inline __attribute__((always_inline)) void *
operator_new_aligned(size_t size, size_t align, int nothrow, uintptr_t site)
{
	if (__builtin_expect(core_align_takes_fast_path(align), 1)) {
		void *p = core_memalign_inline(align, size, site);

		if (__builtin_expect(p != NULL, 1))
			return p;
	}
	return malloc_api_operator_new(size, align, nothrow, site);
}

/* new: plain, nothrow, aligned, aligned nothrow; scalar and array. */
HOT_EXPORT void *_Znwm(size_t size)
{ return operator_new(size, 0, CALLER); }
HOT_EXPORT void *_Znam(size_t size)
{ return operator_new(size, 0, CALLER); }
EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *nt)
{ (void)nt; return operator_new(size, 1, CALLER); }
EXPORT void *_ZnamRKSt9nothrow_t(size_t size, const void *nt)
{ (void)nt; return operator_new(size, 1, CALLER); }
EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t align)
{ return operator_new_aligned(size, align, 0, CALLER); }
EXPORT void *_ZnamSt11align_val_t(size_t size, size_t align)
{ return operator_new_aligned(size, align, 0, CALLER); }
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *nt)
{ (void)nt; return operator_new_aligned(size, align, 1, CALLER); }
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *nt)
{ (void)nt; return operator_new_aligned(size, align, 1, CALLER); }

/* delete: plain, sized, nothrow, aligned, sized aligned, aligned
 * nothrow; scalar and array.  The block's slot (or its page's entry)
 * knows the size and tag, so every form is core_free. */
HOT_EXPORT void _ZdlPv(void *p)
{ core_free_inline(p); }
HOT_EXPORT void _ZdaPv(void *p)
{ core_free_inline(p); }
HOT_EXPORT void _ZdlPvm(void *p, size_t size)
{ (void)size; core_free_inline(p); }
HOT_EXPORT void _ZdaPvm(void *p, size_t size)
{ (void)size; core_free_inline(p); }
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{ (void)nt; core_free_inline(p); }
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{ (void)nt; core_free_inline(p); }
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align)
{ (void)align; core_free_inline(p); }
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t align)
{ (void)align; core_free_inline(p); }
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t size, size_t align)
{ (void)size; (void)align; core_free_inline(p); }
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t size, size_t align)
{ (void)size; (void)align; core_free_inline(p); }
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt)
{ (void)align; (void)nt; core_free_inline(p); }
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt)
{ (void)align; (void)nt; core_free_inline(p); }

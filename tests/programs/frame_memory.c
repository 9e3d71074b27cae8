/*
 * A frame that the unwinder's rule only looks at (core/callsite.c): the
 * program is built with its functions in .dynsym (-rdynamic) and
 * without .symtab (-s), so dup_name, a static function, is anonymous
 * code of a module that has symbols.  strdup's allocation is charged
 * past strdup to dup_name's call, and to decide whether dup_name is
 * seen through, the rule classifies the frame above it, main's call, by
 * the module's symbols.  That frame has no tag; the route memory must
 * keep it all the same, or every run reads the symbols again for it.
 *
 * Prints the offset of main's call to dup_name (its return address less
 * the module's load address), in hex, as the memory's lines name it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static uintptr_t frame_offset;

static __attribute__((noinline)) char *dup_name(const char *s)
{
	void *ret = __builtin_return_address(0);
	Dl_info info;

	CHECK(dladdr(ret, &info) != 0, "dladdr of main's call");
	frame_offset = (uintptr_t)ret - (uintptr_t)info.dli_fbase;
	return strdup(s);
}

int main(void)
{
	char *name = dup_name("frame");

	CHECK(name != NULL, "strdup");
	printf("%lx\n", (unsigned long)frame_offset);
	free(name);
	return CHECK_STATUS();
}

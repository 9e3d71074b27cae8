/*
 * A call site in code that is gone by exit, as a JIT's would be: a
 * stub written into a 1 MiB anonymous executable mapping calls malloc
 * (its return address, the site, is in no module), and the mapping is
 * unmapped before main returns.  The report at exit loads libdw, which
 * the kernel may map into that very hole; the site must still be named
 * by its bare address, not as an offset in libdw or libelf.
 *
 * Prints "site 0xADDR", the return address of the stub's call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"

#define CODE_BYTES (1u << 20)

/* sub $8,%rsp; call *%rsi; add $8,%rsp; ret (as bench/scaling's
 * stubs): called as stub(size, malloc), the call is 6 bytes in. */
static const unsigned char stub[] = {
	0x48, 0x83, 0xec, 0x08, 0xff, 0xd6, 0x48, 0x83, 0xc4, 0x08, 0xc3,
};
#define STUB_RETURN_OFFSET 6

int main(void)
{
	unsigned char *code = mmap(NULL, CODE_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *(*call_through)(size_t, void *(*)(size_t));
	unsigned char *at;
	void *kept;

	CHECK(code != MAP_FAILED, "an executable mapping failed");
	if (code == MAP_FAILED)
		return CHECK_STATUS();
	at = code + CODE_BYTES / 2;
	memcpy(at, stub, sizeof(stub));
	call_through = (void *(*)(size_t, void *(*)(size_t)))(void *)at;
	kept = call_through(12288, malloc);
	CHECK(kept != NULL, "malloc through the stub failed");
	printf("site 0x%lx\n", (unsigned long)(at + STUB_RETURN_OFFSET));
	CHECK(munmap(code, CODE_BYTES) == 0, "munmap failed");
	return CHECK_STATUS();
}

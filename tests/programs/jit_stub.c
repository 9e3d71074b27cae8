/*
 * Allocations through code that no unwind information describes, as a
 * JIT's or a libffi closure's: a stub written into an anonymous
 * executable mapping calls malloc STUB_CALLS times, and the blocks stay
 * live.  libunwind cannot step out of the stub; it guesses a frame from
 * the registers instead.
 *
 * Prints "site 0xADDR", the return address of the stub's call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"

#define CODE_BYTES 4096
#define STUB_CALLS 200
#define BLOCK_BYTES 48

/* sub $8,%rsp; call *%rsi; add $8,%rsp; ret (as bench/scaling's
 * stubs): called as stub(size, malloc), the call is 6 bytes in. */
static const unsigned char stub[] = {
	0x48, 0x83, 0xec, 0x08, 0xff, 0xd6, 0x48, 0x83, 0xc4, 0x08, 0xc3,
};
#define STUB_RETURN_OFFSET 6

static void *kept[STUB_CALLS];

int main(void)
{
	unsigned char *code = mmap(NULL, CODE_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *(*call_through)(size_t, void *(*)(size_t));

	CHECK(code != MAP_FAILED, "an executable mapping failed");
	if (code == MAP_FAILED)
		return CHECK_STATUS();
	memcpy(code, stub, sizeof(stub));
	call_through = (void *(*)(size_t, void *(*)(size_t)))(void *)code;
	for (int i = 0; i < STUB_CALLS; i++) {
		kept[i] = call_through(BLOCK_BYTES, malloc);
		CHECK(kept[i] != NULL, "malloc through the stub failed");
	}
	printf("site 0x%lx calls %d bytes %d\n", (unsigned long)(code + STUB_RETURN_OFFSET),
	       STUB_CALLS, STUB_CALLS * BLOCK_BYTES);
	return CHECK_STATUS();
}

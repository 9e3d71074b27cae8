/*
 * N distinct call sites, each with one live 24-byte block: N copies of
 * unmapped_site.c's stub in an executable mapping, each called once
 * with malloc.  Their records make a report of N lines named by
 * address, longer than the report writer's 64 KiB buffer for N in the
 * thousands.
 *
 *   many_sites N      prints "sites N"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"

#define STUB_BYTES 16

/* sub $8,%rsp; call *%rsi; add $8,%rsp; ret; padding */
static const unsigned char stub[STUB_BYTES] = {
	0x48, 0x83, 0xec, 0x08, 0xff, 0xd6, 0x48, 0x83, 0xc4, 0x08, 0xc3,
	0x0f, 0x1f, 0x44, 0x00, 0x00,
};

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	unsigned char *code;

	CHECK(n > 0 && n <= 100000, "usage: many_sites N (1 to 100000), not '%s'",
	      argc > 1 ? argv[1] : "");
	if (n <= 0 || n > 100000)
		return CHECK_STATUS();
	code = mmap(NULL, (size_t)n * STUB_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED, "an executable mapping failed");
	if (code == MAP_FAILED)
		return CHECK_STATUS();
	for (long i = 0; i < n; i++)
		memcpy(code + i * STUB_BYTES, stub, STUB_BYTES);
	for (long i = 0; i < n; i++) {
		void *(*call_through)(size_t, void *(*)(size_t)) =
			(void *(*)(size_t, void *(*)(size_t)))(void *)(code + i * STUB_BYTES);

		CHECK(call_through(24, malloc) != NULL, "malloc through stub %ld failed", i);
	}
	printf("sites %ld\n", n);
	return CHECK_STATUS();
}

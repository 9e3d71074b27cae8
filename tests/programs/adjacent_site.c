/*
 * A call site in code that stays mapped but lies in no module, right
 * after a library's last segment, as a JIT's buffer may: libdwfl,
 * which reads its modules from /proc/self/maps, takes such a mapping
 * for the library's .bss and would name the site as an offset in the
 * library.  The stub (unmapped_site.c's) is written into a 64 KiB
 * mapping placed at the first page after a loaded library's end where
 * the address space is free, the dynamic loader's first.
 *
 * Prints "site 0xADDR after PATH at 0xOFFSET", OFFSET the site's offset
 * from the library's load bias (where its cache would key it); exits 77 (skipped) if no library
 * has a free page after it.
 */
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"

#define CODE_BYTES (1u << 16)

static const unsigned char stub[] = {
	0x48, 0x83, 0xec, 0x08, 0xff, 0xd6, 0x48, 0x83, 0xc4, 0x08, 0xc3,
};
#define STUB_RETURN_OFFSET 6

struct placement {
	bool loader_only;
	unsigned char *code;
	uintptr_t bias;          /* the library's load bias */
	char after[512];
};

/* Maps the code right after @info's module, if it is a library (the
 * loader alone, on the first pass) and the page after it is free. */
static int place_after(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct placement *p = arg;
	uintptr_t end = 0;
	void *at;

	(void)size;
	if (p->code || !info->dlpi_name || info->dlpi_name[0] != '/' ||
	    (p->loader_only && !strstr(info->dlpi_name, "/ld-linux")))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr + ph->p_memsz > end)
			end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	end = (end + 4095) & ~(uintptr_t)4095;
	at = mmap((void *)end, CODE_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (at == MAP_FAILED)
		return 0;
	if (at != (void *)end) {	/* a kernel without MAP_FIXED_NOREPLACE */
		munmap(at, CODE_BYTES);
		return 0;
	}
	p->code = at;
	p->bias = info->dlpi_addr;
	snprintf(p->after, sizeof(p->after), "%s", info->dlpi_name);
	return 0;
}

int main(void)
{
	struct placement p = { .loader_only = true };
	void *(*call_through)(size_t, void *(*)(size_t));
	unsigned char *at;
	void *kept;

	dl_iterate_phdr(place_after, &p);
	p.loader_only = false;
	dl_iterate_phdr(place_after, &p);
	if (!p.code) {
		puts("no library has a free page after it");
		return 77;
	}
	at = p.code + 4096;
	memcpy(at, stub, sizeof(stub));
	call_through = (void *(*)(size_t, void *(*)(size_t)))(void *)at;
	kept = call_through(12288, malloc);
	CHECK(kept != NULL, "malloc through the stub failed");
	printf("site 0x%lx after %s at 0x%lx\n", (unsigned long)(at + STUB_RETURN_OFFSET),
	       p.after, (unsigned long)(at + STUB_RETURN_OFFSET - p.bias));
	return CHECK_STATUS();
}

/*
 * A call site in code that stays mapped but lies in no module, right
 * after a library's last segment, as a JIT's buffer may: libdwfl,
 * which reads its modules from /proc/self/maps, takes such a mapping
 * for the library's .bss and would name the site as an offset in the
 * library.  The stub (unmapped_site.c's) is written into a 64 KiB
 * mapping at the first page after a loaded library's end where the
 * address space is free, the dynamic loader's tried first.
 *
 * Prints "site 0xADDR after PATH at 0xOFFSET", OFFSET the site's
 * offset from the library's load bias (where its cache would key it);
 * exits 77 (skipped) if no library has a free page after it.
 */
#include <link.h>
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

#define CANDIDATES 64

/* A library's end, page-aligned, where the code may go. */
struct candidate {
	uintptr_t end;
	uintptr_t bias;            /* the library's load bias */
	char name[256];
};

struct candidates {
	struct candidate c[CANDIDATES];
	int count;
};

/* Notes the end of each library, the dynamic loader's first.  Nothing
 * is mapped here: the loader's lock is held. */
static int note_end(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct candidates *list = arg;
	struct candidate *c;
	uintptr_t end = 0;

	(void)size;
	if (!info->dlpi_name || info->dlpi_name[0] != '/' || list->count == CANDIDATES)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr + ph->p_memsz > end)
			end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	c = &list->c[list->count++];
	c->end = (end + 4095) & ~(uintptr_t)4095;
	c->bias = info->dlpi_addr;
	snprintf(c->name, sizeof(c->name), "%s", info->dlpi_name);
	if (strstr(info->dlpi_name, "/ld-linux") && list->count > 1) {
		struct candidate loader = *c;

		memmove(&list->c[1], &list->c[0], (size_t)(list->count - 1) * sizeof(*c));
		list->c[0] = loader;
	}
	return 0;
}

int main(void)
{
	static struct candidates list;
	void *(*call_through)(size_t, void *(*)(size_t));
	const struct candidate *placed = NULL;
	unsigned char *code = NULL, *at;
	void *kept;

	dl_iterate_phdr(note_end, &list);
	for (int i = 0; i < list.count && !placed; i++) {
		void *p = mmap((void *)list.c[i].end, CODE_BYTES,
			       PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (p == MAP_FAILED)
			continue;
		if (p != (void *)list.c[i].end) {	/* no MAP_FIXED_NOREPLACE */
			munmap(p, CODE_BYTES);
			continue;
		}
		code = p;
		placed = &list.c[i];
	}
	if (!placed) {
		puts("no library has a free page after it");
		return 77;
	}
	at = code + 4096;
	memcpy(at, stub, sizeof(stub));
	call_through = (void *(*)(size_t, void *(*)(size_t)))(void *)at;
	kept = call_through(12288, malloc);
	CHECK(kept != NULL, "malloc through the stub failed");
	printf("site 0x%lx after %s at 0x%lx\n", (unsigned long)(at + STUB_RETURN_OFFSET),
	       placed->name, (unsigned long)(at + STUB_RETURN_OFFSET - placed->bias));
	return CHECK_STATUS();
}

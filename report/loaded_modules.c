/*
 * The modules mapped now, without libdw (see loaded_modules.h).
 */
#include "report/loaded_modules.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/address_sort.h"
#include "report/cache_dir.h"
#include "report/file_write.h"

size_t loaded_module_build_id(const struct dl_phdr_info *info,
			      unsigned char *out, size_t max)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		size_t align = ph->p_align == 8 ? 8 : 4, at = 0;
		const unsigned char *notes;

		if (ph->p_type != PT_NOTE)
			continue;
		notes = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		while (at + sizeof(ElfW(Nhdr)) <= ph->p_memsz) {
			const ElfW(Nhdr) *note = (const void *)(notes + at);
			size_t name_at = at + sizeof(*note);
			size_t desc_at = name_at + ((note->n_namesz + align - 1) & ~(align - 1));

			if (desc_at > ph->p_memsz || note->n_descsz > ph->p_memsz - desc_at)
				break;
			if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
			    !memcmp(notes + name_at, "GNU", 4)) {
				if (!note->n_descsz || note->n_descsz > max)
					return 0;
				memcpy(out, notes + desc_at, note->n_descsz);
				return note->n_descsz;
			}
			at = desc_at + ((note->n_descsz + align - 1) & ~(align - 1));
		}
	}
	return 0;
}

struct listing {
	struct loaded_modules *list;
	size_t capacity;
	bool failed;
};

static int list_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct listing *l = arg;
	struct loaded_module *m;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	bool main_program = !info->dlpi_name || !*info->dlpi_name;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (lo >= hi)
		return 0;        /* nothing mapped: the vDSO's phdrs aside */
	if (l->list->count == l->capacity) {
		size_t cap = l->capacity ? 2 * l->capacity : 32;
		struct loaded_module *grown = core_internal_realloc(l->list->modules,
							cap * sizeof(*grown));

		if (!grown) {
			l->failed = true;
			return 1;
		}
		l->list->modules = grown;
		l->capacity = cap;
	}
	m = &l->list->modules[l->list->count++];
	*m = (struct loaded_module){ .lo = lo, .hi = hi, .bias = info->dlpi_addr };
	m->build_id_len = loaded_module_build_id(info, m->build_id, sizeof(m->build_id));
	/* The main program by /proc/self/exe, unless the dynamic loader is
	 * the command (no AT_BASE): then that names the loader.  Its link
	 * is the real path already: realpath would read each of its parts
	 * again, eleven system calls for cc1 at every report. */
	if (main_program ? getauxval(AT_BASE) != 0 : info->dlpi_name[0] == '/')
		m->name = core_internal_strdup(main_program ? "/proc/self/exe"
							    : info->dlpi_name);
	if (main_program && m->name && *loaded_modules_exe_path()) {
		m->path = core_internal_strdup(loaded_modules_exe_path());
		m->path_tried = true;
	}
	return 0;
}

static int compare_modules(const void *pa, const void *pb)
{
	const struct loaded_module *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

struct loaded_modules *loaded_modules_list(void)
{
	struct listing l = { .list = core_internal_calloc(1, sizeof(*l.list)) };

	if (!l.list)
		return NULL;
	dl_iterate_phdr(list_one, &l);
	if (l.failed) {
		loaded_modules_free(l.list);
		return NULL;
	}
	if (l.list->count)
		qsort(l.list->modules, l.list->count, sizeof(l.list->modules[0]),
		      compare_modules);
	return l.list;
}

const char *loaded_modules_exe_path(void)
{
	static char path[PATH_MAX];
	static bool done;

	if (!done) {
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

		path[n > 0 ? n : 0] = '\0';
		done = true;
	}
	return path;
}

void loaded_modules_free(struct loaded_modules *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++) {
		core_internal_free(list->modules[i].name);
		core_internal_free(list->modules[i].path);
	}
	core_internal_free(list->modules);
	core_internal_free(list);
}

struct loaded_module *loaded_modules_find(struct loaded_modules *list, uintptr_t pc)
{
	size_t lo;

	if (!list)
		return NULL;
	lo = address_count_at_or_below(list->modules, list->count, sizeof(list->modules[0]),
				       offsetof(struct loaded_module, lo), pc);
	if (lo && pc < list->modules[lo - 1].hi)
		return &list->modules[lo - 1];
	return NULL;
}

const char *loaded_module_path(struct loaded_module *m)
{
	char real[PATH_MAX];

	if (!m->path_tried) {
		m->path_tried = true;
		if (m->name && realpath(m->name, real))
			m->path = core_internal_strdup(real);
	}
	return m->path;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int debuglink_candidate(unsigned int which, const char *file, const char *link,
			char *out, size_t size)
{
	static const char *const under[] = { "", "", "/usr/lib/debug" };
	static const char *const sub[] = { "", "/.debug", "" };
	const char *slash = strrchr(file, '/');
	int dir_len, n;

	if (which >= sizeof(under) / sizeof(under[0]))
		return -1;
	if (!slash || slash - file > INT_MAX)
		return 0;
	dir_len = (int)(slash - file);
	n = snprintf(out, size, "%s%.*s%s/%s", under[which], dir_len, file, sub[which], link);
	if (n < 0 || (size_t)n >= size || !strcmp(out, file))
		return 0;
	return 1;
}

/*
 * What @path's section headers say: whether it has debug sections, and
 * its .gnu_debuglink name into @link (empty: none).  False when the file
 * cannot be read as a 64-bit ELF file.
 */
static bool read_sections(const char *path, bool *has_debug, char *link, size_t link_size)
{
	ElfW(Ehdr) eh;
	ElfW(Shdr) *sh = NULL;
	char *names = NULL;
	bool ok = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*has_debug = false;
	link[0] = '\0';
	if (fd < 0)
		return false;
	if (!file_read_at(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh.e_shentsize != sizeof(*sh) || !eh.e_shnum || eh.e_shstrndx >= eh.e_shnum)
		goto out;
	sh = core_internal_alloc(eh.e_shnum * sizeof(*sh));
	if (!sh || !file_read_at(fd, sh, eh.e_shnum * sizeof(*sh), eh.e_shoff) ||
	    sh[eh.e_shstrndx].sh_size > (1u << 20))
		goto out;
	names = core_internal_alloc(sh[eh.e_shstrndx].sh_size + 1);
	if (!names || !file_read_at(fd, names, sh[eh.e_shstrndx].sh_size,
			       sh[eh.e_shstrndx].sh_offset))
		goto out;
	names[sh[eh.e_shstrndx].sh_size] = '\0';
	for (unsigned int i = 0; i < eh.e_shnum; i++) {
		const char *name;

		if (sh[i].sh_name >= sh[eh.e_shstrndx].sh_size)
			goto out;
		name = names + sh[i].sh_name;
		if (!strncmp(name, ".debug_", 7) || !strncmp(name, ".zdebug_", 8))
			*has_debug = true;
		if (!strcmp(name, ".gnu_debuglink") && sh[i].sh_type != SHT_NOBITS) {
			size_t n = sh[i].sh_size < link_size - 1 ? sh[i].sh_size : link_size - 1;

			if (!file_read_at(fd, link, n, sh[i].sh_offset))
				goto out;
			link[n] = '\0';
			/* A name with a slash is not one libdwfl looks for
			 * beside the file: treat as unknown. */
			if (strchr(link, '/'))
				goto out;
		}
	}
	ok = true;
out:
	core_internal_free(names);
	core_internal_free(sh);
	close(fd);
	return ok;
}

static bool find_dwarf(struct loaded_module *m)
{
	char path[PATH_MAX], link[NAME_MAX + 1];
	bool has_debug;
	size_t n = 0;
	int got;

	if (!loaded_module_path(m) ||
	    !read_sections(m->path, &has_debug, link, sizeof(link)) || has_debug)
		return true;
	if (m->build_id_len >= 2) {
		/* /usr/lib/debug/.build-id/XX/YYYY....debug */
		_Static_assert(sizeof("/usr/lib/debug/.build-id/") + 3 +
			       2 * LOADED_MODULE_BUILD_ID_MAX + sizeof(".debug") <= PATH_MAX,
			       "a build-id's debug path fits");
		n = sizeof("/usr/lib/debug/.build-id/") - 1;
		memcpy(path, "/usr/lib/debug/.build-id/", n);
		cache_dir_hex(path + n, m->build_id, 1);
		path[n + 2] = '/';
		cache_dir_hex(path + n + 3, m->build_id + 1, m->build_id_len - 1);
		n += 3 + 2 * (m->build_id_len - 1);
		memcpy(path + n, ".debug", sizeof(".debug"));
		if (exists(path))
			return true;
	}
	if (!link[0])
		return false;
	for (unsigned int which = 0; (got = debuglink_candidate(which, m->path, link,
								path, sizeof(path))) >= 0; which++)
		if (got > 0 && exists(path))
			return true;
	return false;
}

bool loaded_module_may_have_dwarf(struct loaded_module *m)
{
	if (!m->may_have_dwarf)
		m->may_have_dwarf = find_dwarf(m) ? 1 : -1;
	return m->may_have_dwarf > 0;
}

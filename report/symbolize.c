/*
 * Symbolization with elfutils' libdwfl (see symbolize.h).
 *
 * libdwfl reads the process's own mappings, finds each module's ELF file
 * and its separate debug info (.gnu_debuglink, /usr/lib/debug/.build-id),
 * and answers both questions we ask: the enclosing function (from DWARF
 * or .symtab/.dynsym) and the source line.  Lookups use site - 1, an
 * address inside the call instruction, since the return address may
 * already belong to the next line or even the next function.
 */
#include "report/symbolize.h"

#include <elfutils/libdwfl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"

/* Strings we format ourselves; freed together at close. */
struct string_block {
	struct string_block *next;
	char text[];
};

struct symbolizer {
	Dwfl *dwfl;
	char exe_path[PATH_MAX];
	struct string_block *strings;
};

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

struct symbolizer *symbolizer_open(void)
{
	struct symbolizer *sym = core_internal_calloc(1, sizeof(*sym));
	ssize_t n;

	if (!sym)
		return NULL;
	n = readlink("/proc/self/exe", sym->exe_path, sizeof(sym->exe_path) - 1);
	sym->exe_path[n > 0 ? n : 0] = '\0';
	sym->dwfl = dwfl_begin(&proc_callbacks);
	if (sym->dwfl) {
		dwfl_report_begin(sym->dwfl);
		if (dwfl_linux_proc_report(sym->dwfl, getpid()) != 0 ||
		    dwfl_report_end(sym->dwfl, NULL, NULL) != 0) {
			dwfl_end(sym->dwfl);
			sym->dwfl = NULL;
		}
	}
	return sym;
}

static const char *keep_string(struct symbolizer *sym, const char *fmt,
			       const char *a, unsigned long long b)
{
	int len = snprintf(NULL, 0, fmt, a, b);
	struct string_block *blk;

	if (len < 0)
		return "?";
	blk = core_internal_alloc(sizeof(*blk) + (size_t)len + 1);
	if (!blk)
		return "?";
	snprintf(blk->text, (size_t)len + 1, fmt, a, b);
	blk->next = sym->strings;
	sym->strings = blk;
	return blk->text;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* DWARF names are often absolute; print them relative to the compile
 * directory, the way the kernel prints paths relative to its tree. */
static const char *source_path(Dwfl_Line *line, const char *file)
{
	const char *comp_dir = dwfl_line_comp_dir(line);
	size_t n;

	if (!comp_dir || !*comp_dir)
		return file;
	n = strlen(comp_dir);
	if (!strncmp(file, comp_dir, n) && file[n] == '/')
		return file + n + 1;
	return file;
}

void symbolizer_resolve(struct symbolizer *sym, struct codetag *ct)
{
	Dwarf_Addr pc = ct->site - 1, bias = 0;
	const char *modpath = NULL, *name;
	Dwfl_Module *mod = NULL;
	Dwfl_Line *line;
	int lineno = 0;

	ct->file = "?";
	ct->line = 0;
	ct->function = "?";
	ct->module = NULL;
	if (ct->site == 0) {
		/* The overflow tag: sites past the table's capacity. */
		ct->file = "allocinfo";
		ct->function = "table_full";
		return;
	}
	if (!sym)
		return;
	if (sym->dwfl)
		mod = dwfl_addrmodule(sym->dwfl, pc);
	if (!mod) {
		ct->file = keep_string(sym, "%s0x%llx", "", (unsigned long long)ct->site);
		return;
	}

	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &modpath, NULL);
	if (!modpath)
		modpath = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (modpath && strcmp(modpath, sym->exe_path) != 0)
		ct->module = base_name(modpath);

	name = dwfl_module_addrname(mod, pc);
	if (name)
		ct->function = name;

	line = dwfl_module_getsrc(mod, pc);
	if (line) {
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		if (file && lineno > 0) {
			ct->file = source_path(line, file);
			ct->line = (unsigned int)lineno;
			return;
		}
	}
	/* No line info: name the module and the offset in its ELF file. */
	dwfl_module_getelf(mod, &bias);
	ct->file = keep_string(sym, "%s+0x%llx",
			       modpath ? base_name(modpath) : "?",
			       (unsigned long long)(ct->site - bias));
}

void symbolizer_close(struct symbolizer *sym)
{
	if (!sym)
		return;
	while (sym->strings) {
		struct string_block *next = sym->strings->next;

		core_internal_free(sym->strings);
		sym->strings = next;
	}
	if (sym->dwfl)
		dwfl_end(sym->dwfl);
	core_internal_free(sym);
}

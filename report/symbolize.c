/*
 * Symbolization with elfutils' libdwfl (see symbolize.h).
 *
 * libdwfl reads the process's own mappings, finds each module's ELF file
 * and its separate debug info (build-id under /usr/lib/debug, or
 * .gnu_debuglink), and answers both questions we ask: the enclosing
 * function (from DWARF or .symtab/.dynsym) and the source line.  Lookups
 * use site - 1, an address inside the call instruction, since the return
 * address may already belong to the next line or even the next function.
 *
 * libdw is loaded with dlopen when a report is written, not linked: a
 * profiled process that never writes a report never maps libdw, libelf
 * and their compression libraries, and nothing is loaded into the
 * program at start-up that it did not ask for.  debuginfod is never
 * used: its client starts libcurl inside the program (a network client
 * in someone else's process, and in node, whose exported OpenSSL it then
 * calls, a crash).  Without libdw, sites fall back to dladdr(): module,
 * offset and the exported symbol.
 */
#include "report/symbolize.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"

/* The libdwfl functions we call, looked up from libdw.so.1. */
#define DWFL_FUNCTIONS(X)						\
	X(dwfl_begin) X(dwfl_end) X(dwfl_report_begin) X(dwfl_report_end) \
	X(dwfl_linux_proc_report) X(dwfl_linux_proc_find_elf)		\
	X(dwfl_build_id_find_debuginfo) X(dwfl_addrmodule)		\
	X(dwfl_module_info) X(dwfl_module_addrname) X(dwfl_module_getsrc) \
	X(dwfl_lineinfo) X(dwfl_line_comp_dir) X(dwfl_module_getelf)

static struct {
#define DECLARE(fn) __typeof__(fn) *fn;
	DWFL_FUNCTIONS(DECLARE)
#undef DECLARE
} dw;

static bool load_libdw(void)
{
	static int loaded; /* 0 unknown, 1 yes, -1 no; report time only */
	void *h;

	if (loaded)
		return loaded > 0;
	loaded = -1;
	h = dlopen("libdw.so.1", RTLD_LAZY | RTLD_LOCAL);
	if (!h)
		return false;
#define LOOKUP(fn) if (!(*(void **)&dw.fn = dlsym(h, #fn))) return false;
	DWFL_FUNCTIONS(LOOKUP)
#undef LOOKUP
	loaded = 1;
	return true;
}

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

/* Opens @dir/@name read-only; on success *@path is a malloc'd copy of
 * the path, which libdwfl frees. */
static int open_candidate(const char *dir, const char *sub, const char *name,
			  char **path)
{
	char buf[PATH_MAX];
	int fd;

	if (snprintf(buf, sizeof(buf), "%s%s/%s", dir, sub, name) >= (int)sizeof(buf))
		return -1;
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !(*path = strdup(buf))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Separate debug info: by build-id under /usr/lib/debug/.build-id, then
 * by .gnu_debuglink beside the file, in its .debug folder, and under
 * /usr/lib/debug.  dwfl_standard_find_debuginfo would do the same and
 * then ask debuginfod, which we must not.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
			  const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	char dir[PATH_MAX];
	const char *slash;
	int fd;

	fd = dw.dwfl_build_id_find_debuginfo(mod, userdata, modname, base,
					     file_name, debuglink_file,
					     debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !debuglink_file || !file_name)
		return fd;
	slash = strrchr(file_name, '/');
	if (!slash || (size_t)(slash - file_name) >= sizeof(dir))
		return -1;
	memcpy(dir, file_name, (size_t)(slash - file_name));
	dir[slash - file_name] = '\0';
	if ((fd = open_candidate(dir, "", debuglink_file, debuginfo_file_name)) >= 0 &&
	    strcmp(*debuginfo_file_name, file_name) != 0)
		return fd;
	if (fd >= 0) {
		close(fd);
		free(*debuginfo_file_name);
		*debuginfo_file_name = NULL;
	}
	if ((fd = open_candidate(dir, "/.debug", debuglink_file, debuginfo_file_name)) >= 0)
		return fd;
	return open_candidate("/usr/lib/debug", dir, debuglink_file,
			      debuginfo_file_name);
}

static Dwfl_Callbacks proc_callbacks = {
	.find_debuginfo = find_debuginfo,
};

struct symbolizer *symbolizer_open(void)
{
	struct symbolizer *sym = core_internal_calloc(1, sizeof(*sym));
	ssize_t n;

	if (!sym)
		return NULL;
	n = readlink("/proc/self/exe", sym->exe_path, sizeof(sym->exe_path) - 1);
	sym->exe_path[n > 0 ? n : 0] = '\0';
	if (!load_libdw())
		return sym;
	proc_callbacks.find_elf = dw.dwfl_linux_proc_find_elf;
	sym->dwfl = dw.dwfl_begin(&proc_callbacks);
	if (sym->dwfl) {
		dw.dwfl_report_begin(sym->dwfl);
		if (dw.dwfl_linux_proc_report(sym->dwfl, getpid()) != 0 ||
		    dw.dwfl_report_end(sym->dwfl, NULL, NULL) != 0) {
			dw.dwfl_end(sym->dwfl);
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
	const char *comp_dir = dw.dwfl_line_comp_dir(line);
	size_t n;

	if (!comp_dir || !*comp_dir)
		return file;
	n = strlen(comp_dir);
	if (!strncmp(file, comp_dir, n) && file[n] == '/')
		return file + n + 1;
	return file;
}

/* Without libdw: the module and offset, and the symbol if exported. */
static void resolve_with_dladdr(struct symbolizer *sym, struct codetag *ct)
{
	Dl_info info;

	if (!dladdr((void *)(ct->site - 1), &info) || !info.dli_fname) {
		ct->file = keep_string(sym, "%s0x%llx", "", (unsigned long long)ct->site);
		return;
	}
	if (info.dli_sname)
		ct->function = info.dli_sname;
	if (strcmp(info.dli_fname, sym->exe_path) != 0 && *info.dli_fname)
		ct->module = base_name(info.dli_fname);
	ct->file = keep_string(sym, "%s+0x%llx", base_name(*info.dli_fname ?
					info.dli_fname : sym->exe_path),
			       (unsigned long long)(ct->site - (uintptr_t)info.dli_fbase));
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
		mod = dw.dwfl_addrmodule(sym->dwfl, pc);
	if (!mod) {
		resolve_with_dladdr(sym, ct);
		return;
	}

	dw.dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &modpath, NULL);
	if (!modpath)
		modpath = dw.dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (modpath && strcmp(modpath, sym->exe_path) != 0)
		ct->module = base_name(modpath);

	name = dw.dwfl_module_addrname(mod, pc);
	if (name)
		ct->function = name;

	line = dw.dwfl_module_getsrc(mod, pc);
	if (line) {
		const char *file = dw.dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		if (file && lineno > 0) {
			ct->file = source_path(line, file);
			ct->line = (unsigned int)lineno;
			return;
		}
	}
	/* No line info: name the module and the offset in its ELF file. */
	dw.dwfl_module_getelf(mod, &bias);
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
		dw.dwfl_end(sym->dwfl);
	core_internal_free(sym);
}

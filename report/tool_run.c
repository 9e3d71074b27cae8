/*
 * `allocinfo run`: starts a program with the preload library and says
 * where its report went.  With --merge, every process of the program's
 * tree writes its report into a private directory (the library names
 * each by its pid), and when the program ends those reports are summed
 * into the one report at -o.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* pipe2, getopt_long */
#endif

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report/mapped_file.h"
#include "report/output.h"
#include "report/tool.h"

#define LIB_NAME "liballocinfo.so"
#define DEFAULT_TEMPLATE "allocinfo.%e.%p"

/* The child's pid, for the forwarding handler; int-sized on Linux. */
static volatile sig_atomic_t run_child;
_Static_assert(sizeof(pid_t) <= sizeof(sig_atomic_t),
	       "a pid must fit in sig_atomic_t");

static void run_forward_signal(int sig)
{
	if (run_child > 0)
		kill((pid_t)run_child, sig);
}

static char *join_path(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *path = malloc(len);

	if (path)
		snprintf(path, len, "%s/%s", dir, name);
	return path;
}

/*
 * The directory this program runs from, or NULL.  /proc/self/exe is
 * the real binary even when started through a symlink or $PATH.
 */
static char *run_exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (len <= 0)
		return NULL;
	buf[len] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return strdup(buf[0] ? buf : "/");
}

/*
 * Where liballocinfo.so is: $ALLOCINFO_LIB, then beside an installed
 * tool, then the configured libdir, then the libtool build tree.
 * Returns an absolute path to free, or NULL after saying why.
 */
static char *run_find_library(void)
{
	const char *env = getenv("ALLOCINFO_LIB");
	char *candidates[3] = { NULL, NULL, NULL };
	char *exe_dir, *found = NULL;
	size_t i;

	if (env && *env) {
		found = realpath(env, NULL);
		if (!found)
			fprintf(stderr, "allocinfo: run: ALLOCINFO_LIB=%s: %s\n",
				env, strerror(errno));
		return found;
	}
	exe_dir = run_exe_dir();
	if (exe_dir)
		candidates[0] = join_path(exe_dir, "../lib/" LIB_NAME);
#ifdef ALLOCINFO_LIBDIR
	candidates[1] = join_path(ALLOCINFO_LIBDIR, LIB_NAME);
#endif
	if (exe_dir)
		candidates[2] = join_path(exe_dir, ".libs/" LIB_NAME);
	for (i = 0; i < 3 && !found; i++)
		if (candidates[i] && !access(candidates[i], R_OK))
			found = realpath(candidates[i], NULL);
	for (i = 0; i < 3; i++)
		free(candidates[i]);
	free(exe_dir);
	if (!found)
		fprintf(stderr, "allocinfo: run: cannot find " LIB_NAME
			" (set ALLOCINFO_LIB to its path)\n");
	return found;
}

/* @path made absolute against the current directory, to free. */
static char *run_absolute(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	abs = join_path(cwd, path);
	free(cwd);
	return abs;
}

/*
 * The glob pattern of the report for @pid: %p is the pid and %% a
 * percent sign.  %e is the basename of the program's /proc/self/exe,
 * which only the child knows (python3 may be python3.11), so it and any
 * other conversion match anything.
 */
static char *run_report_pattern(const char *template, pid_t pid)
{
	size_t cap = strlen(template) * 2 + 32, o = 0;
	char *pattern = malloc(cap);
	const char *t;

	if (!pattern)
		return NULL;
	for (t = template; *t; t++) {
		/* invariant: o + 24 < cap, enough for one expansion */
		if (o + 24 >= cap) {
			char *grown = realloc(pattern, cap * 2);

			if (!grown) {
				free(pattern);
				return NULL;
			}
			pattern = grown;
			cap *= 2;
		}
		if (*t == '%' && t[1]) {
			t++;
			if (*t == 'p')
				o += (size_t)snprintf(pattern + o, cap - o,
						      "%ld", (long)pid);
			else if (*t == '%')
				pattern[o++] = '%';
			else
				pattern[o++] = '*';
			continue;
		}
		if (strchr("*?[\\", *t))
			pattern[o++] = '\\';
		pattern[o++] = *t;
	}
	pattern[o] = '\0';
	return pattern;
}

/* Says where the report went; files older than the run are not it. */
static void run_print_reports(const char *template, pid_t pid,
			      time_t started)
{
	char *pattern = run_report_pattern(template, pid);
	glob_t found;
	size_t i, printed = 0;

	if (!pattern)
		return;
	if (!glob(pattern, 0, NULL, &found)) {
		for (i = 0; i < found.gl_pathc; i++) {
			struct stat st;

			if (stat(found.gl_pathv[i], &st) ||
			    !S_ISREG(st.st_mode) || st.st_mtime < started - 1)
				continue;
			fprintf(stderr, "allocinfo: report written to %s\n",
				found.gl_pathv[i]);
			printed++;
		}
		globfree(&found);
	}
	if (!printed)
		fprintf(stderr, "allocinfo: no report found for %s (pid %ld)\n",
			template, (long)pid);
	free(pattern);
}

/*
 * Ends this process the way the child ended: the same signal if it was
 * killed (without dumping our core), else 128 + signal.
 */
static int run_exit_like(int status)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t set;
	int sig;

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!WIFSIGNALED(status))
		return 1;
	sig = WTERMSIG(status);
	fflush(NULL);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	return 128 + sig;
}

/*
 * Sanitizer runtimes that must be the first library the loader maps: a
 * program linked with gcc's shared ASan runtime exits at once, "ASan
 * runtime does not come first in initial library list", when any
 * preload comes before it.  With the runtime preloaded ahead of the
 * library the program runs as it does alone; the runtime's malloc is
 * then the program's (core/alloc.h: a malloc of its own), so the report
 * says that it was not profiled.
 */
static const char *const first_runtimes[] = {
	"libasan.so.", "libhwasan.so.", "libtsan.so.", "liblsan.so.",
};

/* The file execvp would run for @cmd, searched in $PATH as it does;
 * NULL if none. */
static char *run_find_command(const char *cmd)
{
	const char *path = getenv("PATH");

	if (strchr(cmd, '/'))
		return strdup(cmd);
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		char *dir = strndup(len ? path : ".", len ? len : 1);
		char *file = dir ? join_path(dir, cmd) : NULL;
		struct stat st;

		free(dir);
		if (file && stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(file, X_OK) == 0)
			return file;
		free(file);
		path += len + (path[len] == ':');
	}
	return NULL;
}

/* The file offset of virtual address @vaddr in an ELF file with program
 * headers @ph[@n]; 0 if no PT_LOAD holds it. */
static size_t elf_file_offset(const ElfW(Phdr) *ph, size_t n, uint64_t vaddr)
{
	for (size_t i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
		    vaddr - ph[i].p_vaddr < ph[i].p_filesz)
			return (size_t)(vaddr - ph[i].p_vaddr + ph[i].p_offset);
	return 0;
}

/* Appends @name to the colon-separated list *@list (NULL: empty). */
static void append_runtime(char **list, const char *name)
{
	size_t had = *list ? strlen(*list) + 1 : 0;
	char *grown = realloc(*list, had + strlen(name) + 1);

	if (!grown)
		return;
	if (had)
		grown[had - 1] = ':';
	strcpy(grown + had, name);
	*list = grown;
}

/*
 * The sanitizer runtimes (first_runtimes) among the DT_NEEDED entries of
 * the program @cmd, colon-separated, or NULL: none, or not an ELF file
 * of this machine's class that can be read (a script's interpreter is
 * not looked at).
 */
static char *run_first_runtimes(const char *cmd)
{
	char *path = run_find_command(cmd), *found = NULL;
	const ElfW(Ehdr) *eh;
	const ElfW(Phdr) *ph;
	const ElfW(Dyn) *dyn = NULL;
	size_t ndyn = 0, strtab = 0, strsz = 0;
	struct mapped_file file;
	bool mapped = path && mapped_file_open(path, sizeof(*eh), &file);

	free(path);
	if (!mapped)
		return NULL;
	eh = (const ElfW(Ehdr) *)file.bytes;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh->e_phentsize != sizeof(*ph) || eh->e_phoff > file.size ||
	    eh->e_phnum > (file.size - eh->e_phoff) / sizeof(*ph))
		goto out;
	ph = (const ElfW(Phdr) *)(file.bytes + eh->e_phoff);
	for (size_t i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC && ph[i].p_offset <= file.size &&
		    ph[i].p_filesz <= file.size - ph[i].p_offset) {
			dyn = (const ElfW(Dyn) *)(file.bytes + ph[i].p_offset);
			ndyn = ph[i].p_filesz / sizeof(*dyn);
		}
	for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
		if (dyn[i].d_tag == DT_STRTAB)
			strtab = elf_file_offset(ph, eh->e_phnum, dyn[i].d_un.d_ptr);
		else if (dyn[i].d_tag == DT_STRSZ)
			strsz = dyn[i].d_un.d_val;
	}
	if (!strtab || strtab > file.size || strsz > file.size - strtab)
		goto out;
	for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
		const char *names = (const char *)file.bytes + strtab, *name;

		if (dyn[i].d_tag != DT_NEEDED || dyn[i].d_un.d_val >= strsz)
			continue;
		name = names + dyn[i].d_un.d_val;
		if (!memchr(name, '\0', strsz - dyn[i].d_un.d_val))
			continue;
		for (size_t k = 0; k < sizeof(first_runtimes) / sizeof(first_runtimes[0]); k++)
			if (strncmp(name, first_runtimes[k], strlen(first_runtimes[k])) == 0 &&
			    !strpbrk(name, ": "))
				append_runtime(&found, name);
	}
out:
	mapped_file_close(&file);
	return found;
}

/* LD_PRELOAD: @first (sanitizer runtimes, or NULL), the library, then
 * what the environment had. */
static int run_set_environment(const char *lib, const char *template, const char *first)
{
	const char *old = getenv("LD_PRELOAD");
	char *preload;
	size_t len;
	int rc;

	if (!old)
		old = "";
	len = (first ? strlen(first) + 1 : 0) + strlen(lib) + strlen(old) + 2;
	preload = malloc(len);
	if (!preload)
		return -1;
	snprintf(preload, len, "%s%s%s%s%s", first ? first : "", first ? ":" : "", lib,
		 *old ? ":" : "", old);
	rc = setenv("LD_PRELOAD", preload, 1) ||
	     setenv("ALLOCINFO_OUTPUT", template, 1);
	free(preload);
	return rc;
}

/* ------------------------------------------------------------ --merge */

/*
 * The reports of one --merge run.  The children's template is
 * DIR/report.%p in a directory only this run knows (mkdtemp, mode
 * 0700), so every file there named report.PID is a whole report of one
 * of its processes (the library writes report.PID.tmp.PID first and
 * renames it).  A pid used twice in one run keeps the last report.
 */
struct run_merge {
	char *dir;              /* NULL once removed */
	char *output;           /* the -o template, absolute */
	bool failed;            /* the merged report was not written */
};

#define MERGE_PREFIX "report."

/* @output: the -o template, absolute. */
static int run_merge_init(struct run_merge *merge, const char *output)
{
	const char *tmp = getenv("TMPDIR");
	size_t len;

	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	len = strlen(tmp) + sizeof("/allocinfo-run.XXXXXX");
	merge->failed = false;
	merge->output = strdup(output);
	merge->dir = malloc(len);
	if (!merge->output || !merge->dir) {
		fprintf(stderr, "allocinfo: run: %s\n", strerror(ENOMEM));
		free(merge->dir);
		merge->dir = NULL;
		return -1;
	}
	snprintf(merge->dir, len, "%s/allocinfo-run.XXXXXX", tmp);
	if (!mkdtemp(merge->dir)) {
		fprintf(stderr, "allocinfo: run: cannot create a directory"
			" in %s: %s\n", tmp, strerror(errno));
		free(merge->dir);
		merge->dir = NULL;
		return -1;
	}
	return 0;
}

/* Removes the directory and everything in it; nothing else is there. */
static void run_merge_remove_dir(struct run_merge *merge)
{
	struct dirent *de;
	DIR *d;

	if (!merge->dir)
		return;
	d = opendir(merge->dir);
	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	if (rmdir(merge->dir))
		fprintf(stderr, "allocinfo: run: cannot remove %s: %s\n",
			merge->dir, strerror(errno));
	free(merge->dir);
	merge->dir = NULL;
}

static void run_merge_free(struct run_merge *merge)
{
	run_merge_remove_dir(merge);
	free(merge->output);
	merge->output = NULL;
}

/* The pid in a report's name, or 0 if the name is not report.PID. */
static long run_report_pid(const char *name)
{
	const char *p = name + sizeof(MERGE_PREFIX) - 1;
	long pid = 0;

	if (strncmp(name, MERGE_PREFIX, sizeof(MERGE_PREFIX) - 1) || !*p)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || pid > (LONG_MAX - 9) / 10)
			return 0;
		pid = pid * 10 + (*p - '0');
	}
	return pid;
}

static int run_compare_pids(const void *pa, const void *pb)
{
	long a = *(const long *)pa, b = *(const long *)pb;

	return (a > b) - (a < b);
}

/*
 * The merged report's path: the -o template with %p the pid of CMD,
 * %e the base name of CMD as given, %% a percent sign; like the
 * library, other conversions stay as they are.
 */
static char *run_merge_path(const char *template, pid_t pid,
			    const char *cmd)
{
	const char *base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	size_t cap = strlen(template) + 1, len = 0;
	const char *t;
	char *path;

	for (t = template; *t; t++)
		if (t[0] == '%' && (t[1] == 'p' || t[1] == 'e'))
			cap += 24 + strlen(base);
	path = malloc(cap);
	if (!path)
		return NULL;
	for (t = template; *t; t++) {
		if (t[0] == '%' && t[1] == 'p') {
			len += (size_t)snprintf(path + len, cap - len, "%ld",
						(long)pid);
			t++;
		} else if (t[0] == '%' && t[1] == 'e') {
			len += (size_t)snprintf(path + len, cap - len, "%s",
						base);
			t++;
		} else if (t[0] == '%' && t[1] == '%') {
			path[len++] = '%';
			t++;
		} else {
			path[len++] = *t;
		}
	}
	path[len] = '\0';
	return path;
}

/*
 * Reads every report.PID in the directory, in pid order, sums them
 * into the -o path and removes the directory.  A report that does not
 * read is named on stderr and left out.
 */
static void run_merge_reports(struct run_merge *merge, pid_t pid,
			      const char *cmd)
{
	struct allocinfo_report *reports = NULL;
	char **labels = NULL, *path = NULL;
	size_t npids = 0, cap = 0, nread = 0, i;
	long *pids = NULL;
	struct dirent *de;
	DIR *d;

	merge->failed = true;
	d = opendir(merge->dir);
	if (!d) {
		fprintf(stderr, "allocinfo: run: %s: %s\n", merge->dir,
			strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		long p = run_report_pid(de->d_name);

		if (!p)
			continue;
		if (npids == cap) {
			long *grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(pids, cap * sizeof(*pids));
			if (!grown) {
				closedir(d);
				goto nomem;
			}
			pids = grown;
		}
		pids[npids++] = p;
	}
	closedir(d);
	if (!npids) {
		fprintf(stderr, "allocinfo: run: no process wrote a report;"
			" nothing merged\n");
		goto out;
	}
	qsort(pids, npids, sizeof(*pids), run_compare_pids);

	reports = calloc(npids, sizeof(*reports));
	labels = calloc(npids, sizeof(*labels));
	if (!reports || !labels)
		goto nomem;
	for (i = 0; i < npids; i++) {
		char name[64], *file;
		const char *command;
		size_t len;

		snprintf(name, sizeof(name), MERGE_PREFIX "%ld", pids[i]);
		file = join_path(merge->dir, name);
		if (!file)
			goto nomem;
		if (tool_read_report(file, false, false, &reports[nread])) {
			free(file);
			continue;
		}
		free(file);
		/* "PID COMMAND", as the process's report names itself. */
		command = allocinfo_report_meta(&reports[nread], "command");
		if (!command)
			command = "";
		len = strlen(command) + 24;
		labels[nread] = malloc(len);
		if (!labels[nread]) {
			allocinfo_report_free(&reports[nread]);
			goto nomem;
		}
		snprintf(labels[nread], len, "%ld%s%s", pids[i],
			 *command ? " " : "", command);
		nread++;
	}
	path = run_merge_path(merge->output, pid, cmd);
	if (!path)
		goto nomem;
	if (!tool_merge_write(path, reports, (const char *const *)labels,
			      nread, OUTPUT_TEXT)) {
		fprintf(stderr, "allocinfo: merged %zu report%s into %s\n",
			nread, nread == 1 ? "" : "s", path);
		merge->failed = false;
	}
	goto out;

nomem:
	fprintf(stderr, "allocinfo: run: %s\n", strerror(ENOMEM));
out:
	for (i = 0; i < nread; i++) {
		allocinfo_report_free(&reports[i]);
		free(labels[i]);
	}
	free(reports);
	free(labels);
	free(pids);
	free(path);
	run_merge_remove_dir(merge);
}

/* ------------------------------------------------------------- running */

/*
 * Runs argv[] with the library preloaded.  An exec failure travels back
 * over a close-on-exec pipe, so it is told apart from a command that
 * exits 127 itself.  While waiting, this process ignores the terminal's
 * SIGINT and SIGQUIT (the child gets them too and decides) and passes
 * SIGTERM and SIGHUP on to the child.
 */
static int run_command(char **argv, const char *lib, const char *template,
		       struct run_merge *merge)
{
	struct sigaction forward = { .sa_handler = run_forward_signal };
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	struct sigaction old_int, old_quit, old_term, old_hup;
	time_t started = time(NULL);
	int fds[2], status, exec_errno = 0, rc;
	ssize_t n;
	pid_t pid;
	char *first = run_first_runtimes(argv[0]);

	rc = run_set_environment(lib, template, first);
	free(first);
	if (rc) {
		fprintf(stderr, "allocinfo: run: %s\n", strerror(errno));
		return 1;
	}
	if (pipe2(fds, O_CLOEXEC)) {
		fprintf(stderr, "allocinfo: run: pipe: %s\n", strerror(errno));
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "allocinfo: run: fork: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 1;
	}
	if (pid == 0) {
		char root_pid[24];

		close(fds[0]);
		/* The command is the root of the profiled tree: its
		 * descendants name their reports apart from its own. */
		snprintf(root_pid, sizeof(root_pid), "%d", (int)getpid());
		setenv("ALLOCINFO_ROOT_PID", root_pid, 1);
		execvp(argv[0], argv);
		exec_errno = errno;
		/* If this write fails, the exit code still tells. */
		n = write(fds[1], &exec_errno, sizeof(exec_errno));
		_exit(exec_errno == ENOENT ? 127 : 126);
	}

	run_child = pid;
	sigemptyset(&forward.sa_mask);
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	sigaction(SIGTERM, &forward, &old_term);
	sigaction(SIGHUP, &forward, &old_hup);

	close(fds[1]);
	do
		n = read(fds[0], &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "allocinfo: run: waitpid: %s\n",
				strerror(errno));
			return 1;
		}
	}

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	run_child = 0;

	if (n == (ssize_t)sizeof(exec_errno)) {
		fprintf(stderr, "allocinfo: run: cannot execute '%s': %s\n",
			argv[0], strerror(exec_errno));
		return exec_errno == ENOENT ? 127 : 126;
	}
	if (merge) {
		run_merge_reports(merge, pid, argv[0]);
		/* A run whose merged report is missing did not succeed. */
		if (merge->failed && WIFEXITED(status) && !WEXITSTATUS(status))
			return 1;
	} else {
		run_print_reports(template, pid, started);
	}
	return run_exit_like(status);
}

int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "merge", no_argument, NULL, TOOL_OPT_MERGE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *template = getenv("ALLOCINFO_OUTPUT");
	struct run_merge merge = { NULL, NULL, false };
	char *lib, *abs_template;
	bool merging = false;
	int c, rc;

	if (!template || !*template)
		template = DEFAULT_TEMPLATE;
	opterr = 0;
	/* "+": options end at CMD, whose own options are not ours. */
	while ((c = getopt_long(argc, argv, "+:o:h", options, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg)
				return tool_usage_error("run: empty template");
			template = optarg;
			break;
		case TOOL_OPT_MERGE:
			merging = true;
			break;
		case 'h':
			return tool_help();
		default:
			return tool_bad_option("run", argv, c);
		}
	}
	if (optind == argc)
		return tool_usage_error("run: missing command");

	lib = run_find_library();
	if (!lib)
		return 1;
	/* LD_PRELOAD splits on both. */
	if (strpbrk(lib, ": ")) {
		fprintf(stderr, "allocinfo: run: library path has ':' or ' ',"
			" which LD_PRELOAD cannot hold: '%s'\n", lib);
		free(lib);
		return 1;
	}
	abs_template = run_absolute(template);
	if (!abs_template) {
		fprintf(stderr, "allocinfo: run: %s\n", strerror(errno));
		free(lib);
		return 1;
	}
	if (!merging) {
		rc = run_command(argv + optind, lib, abs_template, NULL);
	} else if (run_merge_init(&merge, abs_template)) {
		rc = 1;
	} else {
		char *child_template = join_path(merge.dir,
						 MERGE_PREFIX "%p");

		rc = child_template ?
			run_command(argv + optind, lib, child_template,
				    &merge) : 1;
		free(child_template);
	}
	/* Also when CMD never ran; run_command() removed it otherwise. */
	run_merge_free(&merge);
	free(abs_template);
	free(lib);
	return rc;
}


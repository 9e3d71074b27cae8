/*
 * The allocinfo command.  `run` starts a program with the preload
 * library and says where its report went; `top` reads a report (ours,
 * or the kernel's /proc/allocinfo) through the one reader and prints
 * the biggest call sites through the one record printer.
 *
 * Exit status: what the command says for `run`; otherwise 0 on success,
 * 1 on a bad input or a failed system call, 2 on a usage error.  Every
 * error is one line on stderr starting with "allocinfo: ".
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* pipe2, getopt_long */
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report/format.h"
#include "report/reader.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EXIT_USAGE 2
#define LIB_NAME "liballocinfo.so"
#define DEFAULT_TEMPLATE "allocinfo.%e.%p"
#define TOP_DEFAULT_COUNT 10

static const char usage_text[] =
	"Usage: allocinfo run [-o TEMPLATE] -- CMD [ARG...]\n"
	"       allocinfo top [-n N] [--lenient] [FILE]\n"
	"       allocinfo --help | --version\n"
	"\n"
	"run  Run CMD with " LIB_NAME " preloaded and exit as CMD did.  The\n"
	"     report goes to TEMPLATE (default $ALLOCINFO_OUTPUT, else\n"
	"     " DEFAULT_TEMPLATE " in the current directory), where %p is\n"
	"     the pid and %e the executable's name; its path is printed on\n"
	"     stderr.  The library is $ALLOCINFO_LIB, else ../lib/" LIB_NAME "\n"
	"     beside this program, else the installed one.\n"
	"top  Print the N (default 10) biggest call sites of an allocinfo\n"
	"     report (FILE absent or \"-\": stdin), repeated tags summed, in\n"
	"     the allocinfo record format, then one line\n"
	"       # total: BYTES bytes in CALLS calls, TAGS tags\n"
	"     over all tags (\" (approximate)\" is added when sizes were\n"
	"     read from numfmt output).  --lenient skips lines that are\n"
	"     not allocinfo text instead of failing.\n";

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("allocinfo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'allocinfo --help')\n", stderr);
	return EXIT_USAGE;
}

/* getopt's complaint, as one line: optopt names a short option. */
static int bad_option(const char *cmd, char **argv, int c)
{
	const char *what = c == ':' ? "option needs a value" :
				      "unknown option";

	if (optopt)
		return usage_error("%s: %s: '-%c'", cmd, what, optopt);
	return usage_error("%s: %s: '%s'", cmd, what, argv[optind - 1]);
}

static int finish_output(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "allocinfo: write error: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- top */

/* Biggest first; ties by calls, then by key so the order is total. */
static int top_compare(const void *pa, const void *pb)
{
	const struct allocinfo_record *a = pa, *b = pb;
	int c;

	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	if (a->calls != b->calls)
		return a->calls < b->calls ? 1 : -1;
	c = strcmp(a->file, b->file);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	c = strcmp(a->function, b->function);
	if (c)
		return c;
	return strcmp(a->module, b->module);
}

static int print_record(const struct allocinfo_record *rec)
{
	struct allocinfo_tag_text tag = allocinfo_record_tag(rec);
	char small[512], *buf = small;
	int len;

	len = allocinfo_format_record(small, sizeof(small), rec->bytes,
				      rec->calls, &tag);
	if (len < 0)
		return -1;
	if ((size_t)len >= sizeof(small)) {
		buf = malloc((size_t)len + 1);
		if (!buf)
			return -1;
		allocinfo_format_record(buf, (size_t)len + 1, rec->bytes,
					rec->calls, &tag);
	}
	fwrite(buf, 1, (size_t)len, stdout);
	if (buf != small)
		free(buf);
	return 0;
}

static int cmd_top(int argc, char **argv)
{
	static const struct option options[] = {
		{ "lenient", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct allocinfo_report report;
	char err[ALLOCINFO_ERR_MAX];
	unsigned long long count = TOP_DEFAULT_COUNT;
	const char *path = "-";
	bool lenient = false, approximate = false;
	int64_t total_bytes = 0;
	uint64_t total_calls = 0;
	size_t i;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:h", options, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'n':
			errno = 0;
			count = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno)
				return usage_error("top: bad count '%s'",
						   optarg);
			break;
		case 'l':
			lenient = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return finish_output();
		default:
			return bad_option("top", argv, c);
		}
	}
	if (argc - optind > 1)
		return usage_error("top: too many files, from '%s'",
				   argv[optind + 1]);
	if (optind < argc)
		path = argv[optind];

	if (allocinfo_read_file(path, lenient, &report, err, sizeof(err))) {
		fprintf(stderr, "allocinfo: %s\n", err);
		return 1;
	}
	if (report.skipped_lines)
		fprintf(stderr, "allocinfo: skipped %lu line%s that %s not"
			" allocinfo text; first: %s\n", report.skipped_lines,
			report.skipped_lines == 1 ? "" : "s",
			report.skipped_lines == 1 ? "is" : "are",
			report.first_skip_reason);
	if (allocinfo_report_aggregate(&report)) {
		fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
		allocinfo_report_free(&report);
		return 1;
	}
	if (report.count > 1)   /* qsort() wants a valid pointer */
		qsort(report.records, report.count, sizeof(*report.records),
		      top_compare);

	for (i = 0; i < report.count; i++) {
		const struct allocinfo_record *rec = &report.records[i];

		if (i < count && print_record(rec)) {
			fprintf(stderr, "allocinfo: %s\n", strerror(ENOMEM));
			allocinfo_report_free(&report);
			return 1;
		}
		/* Like the aggregate: bytes clamp, calls wrap as the kernel's. */
		if (__builtin_add_overflow(total_bytes, rec->bytes,
					   &total_bytes)) {
			total_bytes = rec->bytes > 0 ? INT64_MAX : INT64_MIN;
			approximate = true;
		}
		total_calls += (uint64_t)rec->calls;
		approximate |= rec->approximate;
	}
	printf("# total: %lld bytes in %llu calls, %zu tags%s\n",
	       (long long)total_bytes, (unsigned long long)total_calls,
	       report.count, approximate ? " (approximate)" : "");
	allocinfo_report_free(&report);
	return finish_output();
}

/* ---------------------------------------------------------------- run */

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

static int run_set_environment(const char *lib, const char *template)
{
	const char *old = getenv("LD_PRELOAD");
	char *preload;
	size_t len;
	int rc;

	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1) ||
		       setenv("ALLOCINFO_OUTPUT", template, 1);
	len = strlen(lib) + strlen(old) + 2;
	preload = malloc(len);
	if (!preload)
		return -1;
	snprintf(preload, len, "%s:%s", lib, old);
	rc = setenv("LD_PRELOAD", preload, 1) ||
	     setenv("ALLOCINFO_OUTPUT", template, 1);
	free(preload);
	return rc;
}

/*
 * Runs argv[] with the library preloaded.  An exec failure travels back
 * over a close-on-exec pipe, so it is told apart from a command that
 * exits 127 itself.  While waiting, this process ignores the terminal's
 * SIGINT and SIGQUIT (the child gets them too and decides) and passes
 * SIGTERM and SIGHUP on to the child.
 */
static int run_command(char **argv, const char *lib, const char *template)
{
	struct sigaction forward = { .sa_handler = run_forward_signal };
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	struct sigaction old_int, old_quit, old_term, old_hup;
	time_t started = time(NULL);
	int fds[2], status, exec_errno = 0;
	ssize_t n;
	pid_t pid;

	if (run_set_environment(lib, template)) {
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
		close(fds[0]);
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
	run_print_reports(template, pid, started);
	return run_exit_like(status);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *template = getenv("ALLOCINFO_OUTPUT");
	char *lib, *abs_template;
	int c, rc;

	if (!template || !*template)
		template = DEFAULT_TEMPLATE;
	opterr = 0;
	/* "+": options end at CMD, whose own options are not ours. */
	while ((c = getopt_long(argc, argv, "+:o:h", options, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg)
				return usage_error("run: empty template");
			template = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return finish_output();
		default:
			return bad_option("run", argv, c);
		}
	}
	if (optind == argc)
		return usage_error("run: missing command");

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
	rc = run_command(argv + optind, lib, abs_template);
	free(abs_template);
	free(lib);
	return rc;
}

/* --------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return usage_error("missing command");
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_text, stdout);
		return finish_output();
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("allocinfo %s\n", PACKAGE_VERSION);
		return finish_output();
	}
	/* getopt starts at argv[1] of what it is given: the command name. */
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "top"))
		return cmd_top(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", cmd);
}

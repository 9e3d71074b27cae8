/*
 * The report writer (see writer.h).
 *
 * Runs at exit in the profiler's internal scope: every allocation here
 * and in the libraries it calls is ALLOC_NO_CODETAG.  The text is made
 * in a buffer of the writer's own and written with write(2), so no
 * stdio stream of the program is touched.
 */
#include "report/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/address_sort.h"
#include "report/file_write.h"
#include "report/format.h"
#include "report/loaded_modules.h"
#include "report/symbolize.h"

/*
 * The report's text, made record by record.  With a file to go to (@fd
 * >= 0) the buffer is written out whenever it is full, so a report of
 * any size takes one buffer's pages: made whole in memory, the megabyte
 * of chains of a compile at ALLOCINFO_DEPTH=4 took a page fault for
 * every 4 KiB and a copy at every doubling.  Without (-1: an interval's
 * snapshot, which goes to two files) the buffer grows to hold it all.
 * On failure it stops, and keeps what failed and errno.
 */
struct text {
	char *buf;
	size_t len, cap;
	int fd;
	bool failed;
	const char *failed_at;     /* "format" (no memory) or "write" */
	int error;
};

/*
 * The buffer starts at TEXT_FIRST bytes and doubles as it fills, and
 * is written out each time it holds TEXT_CHUNK.  Most reports are a
 * few KiB (a shell's fork child's: 6), and a first buffer of
 * TEXT_CHUNK was a large block, whose pages and page-table entries each
 * such process faulted in: 90 of the 1,370 samples of the reports of
 * bash's command substitutions (perf record).
 */
#define TEXT_FIRST 8192
#define TEXT_CHUNK 65536

static int write_all(int fd, const char *buf, size_t len)
{
	return file_write_all(fd, buf, len);
}

static bool text_fail(struct text *t, const char *at, int error)
{
	t->failed = true;
	t->failed_at = at;
	t->error = error;
	return false;
}

/* Writes out what the buffer holds, if it has a file. */
static bool text_flush(struct text *t)
{
	if (t->failed)
		return false;
	if (t->fd < 0 || !t->len)
		return true;
	if (write_all(t->fd, t->buf, t->len) < 0)
		return text_fail(t, "write", errno);
	t->len = 0;
	return true;
}

/* Room for @more bytes and a NUL: grown up to TEXT_CHUNK, then
 * written out; grown past it only for an item that does not fit. */
static bool text_reserve(struct text *t, size_t more)
{
	size_t cap;
	char *grown;

	if (t->failed)
		return false;
	if (t->len + more + 1 <= t->cap)
		return true;
	if (t->cap >= TEXT_CHUNK && !text_flush(t))
		return false;
	if (t->len + more + 1 <= t->cap)
		return true;
	cap = t->cap ? 2 * t->cap : TEXT_FIRST;
	while (cap < t->len + more + 1)
		cap *= 2;
	grown = core_internal_realloc(t->buf, cap);
	if (!grown)
		return text_fail(t, "format", ENOMEM);
	t->buf = grown;
	t->cap = cap;
	return true;
}

static __attribute__((format(printf, 2, 3))) void
text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !text_reserve(t, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void text_record(struct text *t, const struct snapshot_entry *e,
			struct symbolizer *sym)
{
	struct allocinfo_tag_text tag = {
		.file = e->name.file,
		.line = e->name.line,
		.module = e->name.module,
		.function = e->name.function,
		.inaccurate = e->ct.flags & CODETAG_FLAG_INACCURATE,
	};

	/* ALLOCINFO_DEPTH: the chain beside the kernel-shaped tag. */
	if (e->ct.stack && e->ct.stack_depth > 1)
		tag.extras = symbolizer_format_stack(sym, e->ct.stack,
						     e->ct.stack_depth);
	if (!text_reserve(t, allocinfo_record_bound(&tag)))
		return;
	t->len += allocinfo_put_record(t->buf + t->len, e->bytes, e->calls, &tag);
}

static const char *exe_base_name(void)
{
	const char *path = loaded_modules_exe_path();
	const char *slash = strrchr(path, '/');

	if (!*path)
		return "unknown";
	return slash ? slash + 1 : path;
}

int report_expand_path(const char *template, pid_t pid, char *out, size_t size)
{
	const char *exe = NULL;
	size_t len = 0;

	for (const char *p = template; *p; p++) {
		char number[24];
		const char *piece = number;
		size_t n;

		if (p[0] == '%' && p[1] == 'p') {
			snprintf(number, sizeof(number), "%d", (int)pid);
			p++;
		} else if (p[0] == '%' && p[1] == 'e') {
			if (!exe)
				exe = exe_base_name();
			piece = exe;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			piece = "%";
			p++;
		} else {
			number[0] = *p;
			number[1] = '\0';
		}
		n = strlen(piece);
		if (len + n + 1 > size)
			return -1;
		memcpy(out + len, piece, n);
		len += n;
	}
	out[len] = '\0';
	return 0;
}

/* A record or metadata line is one line of printable text: a control
 * character from argv or a symbol would make the reader reject it. */
static void replace_control_chars(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Reads /proc/self/cmdline with the NULs shown as spaces. */
static void command_line(char *buf, size_t size)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(buf, size, "?");
		return;
	}
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	replace_control_chars(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
}

static int compare_tag_text(const struct snapshot_entry *a,
			    const struct snapshot_entry *b)
{
	int c;

	if ((c = strcmp(a->name.file, b->name.file)))
		return c;
	if (a->name.line != b->name.line)
		return a->name.line < b->name.line ? -1 : 1;
	if ((c = strcmp(a->name.function, b->name.function)))
		return c;
	if (!a->name.module != !b->name.module)
		return a->name.module ? 1 : -1;
	if (a->name.module && (c = strcmp(a->name.module, b->name.module)))
		return c;
	/* Stack tags stay apart: their chains are told apart later. */
	if (a->ct.stack || b->ct.stack)
		return a->ct.site < b->ct.site ? -1 : a->ct.site > b->ct.site;
	return 0;
}

static int compare_for_merge(const void *pa, const void *pb)
{
	const struct snapshot_entry *a = pa, *b = pb;
	int c = compare_tag_text(a, b);

	if (c)
		return c;
	return a->ct.site < b->ct.site ? -1 : a->ct.site > b->ct.site;
}

/* Largest size first, then more calls: the report's first keys. */
static int compare_size_calls(int64_t a_bytes, int64_t a_calls,
			      int64_t b_bytes, int64_t b_calls)
{
	if (a_bytes != b_bytes)
		return a_bytes > b_bytes ? -1 : 1;
	if (a_calls != b_calls)
		return a_calls > b_calls ? -1 : 1;
	return 0;
}

/* Then by text, so the order of a report does not depend on the order
 * call sites were first seen. */
static int compare_entries(const void *pa, const void *pb)
{
	const struct snapshot_entry *a = pa, *b = pb;
	int c = compare_size_calls(a->bytes, a->calls, b->bytes, b->calls);

	return c ? c : compare_for_merge(pa, pb);
}

/*
 * An entry's place in the report: its size, then its calls, largest
 * first, as keys that sort ascending (key_sort_stable), and its place
 * in compare_for_merge's order, which merge_same_tags left the entries
 * in.
 */
struct report_order {
	uintptr_t bytes_key, calls_key;
	size_t text_rank;
};

/* A key that sorts @value's int64 order, largest first. */
static uintptr_t descending_key(int64_t value)
{
	_Static_assert(sizeof(uintptr_t) == sizeof(uint64_t), "a count is a 64-bit key");

	return ~((uint64_t)value ^ (UINT64_C(1) << 63));
}

/*
 * compare_entries' order, after merge_same_tags: the text was compared
 * once there, and its rank stands for it here.  Sorting the entries by
 * compare_entries again compared the same strings a second time (cc1
 * at depth 4: 4,400 records, 0.75 ms for the two sorts); then glibc's
 * qsort by size, calls and rank took clang's 2,480 records 1.1 M
 * instructions, where two stable radix sorts (calls, then size) of the
 * ranked list take a fifth of that.  The entries stay where they are:
 * the report follows the order returned, where a copy in that order
 * took cc1's 1,100 entries 90 KB of fresh pages more.  NULL: sorted in
 * place by qsort, as the scratch memory could not be had.
 */
static struct report_order *sort_for_report(struct snapshot *snap)
{
	struct report_order *order = core_internal_alloc(snap->count * sizeof(*order));

	if (order) {
		for (size_t i = 0; i < snap->count; i++)
			order[i] = (struct report_order){
				.bytes_key = descending_key(snap->entries[i].bytes),
				.calls_key = descending_key(snap->entries[i].calls),
				.text_rank = i,
			};
		if (key_sort_stable(order, snap->count, sizeof(*order),
				    offsetof(struct report_order, calls_key)) &&
		    key_sort_stable(order, snap->count, sizeof(*order),
				    offsetof(struct report_order, bytes_key)))
			return order;
		core_internal_free(order);
	}
	qsort(snap->entries, snap->count, sizeof(*snap->entries), compare_entries);
	return NULL;
}

/*
 * Sites that symbolize to the same tag are one record, as one codetag
 * is in the kernel: two calls on one line, or the callers of an inlined
 * wrapper, which DWARF puts back on the line that called it.
 */
static void merge_same_tags(struct snapshot *snap)
{
	size_t used = 0;

	qsort(snap->entries, snap->count, sizeof(*snap->entries),
	      compare_for_merge);
	for (size_t i = 0; i < snap->count; i++) {
		struct snapshot_entry *e = &snap->entries[i];
		struct snapshot_entry *last = used ? &snap->entries[used - 1] : NULL;

		if (last && !last->ct.stack && !e->ct.stack &&
		    !compare_tag_text(last, e)) {
			last->bytes += e->bytes;
			last->calls += e->calls;
			last->ct.flags |= e->ct.flags;
			continue;
		}
		snap->entries[used++] = *e;
	}
	snap->count = used;
}

static void build_text(struct text *t, const struct report_meta *meta,
		       const struct snapshot *snap, const struct report_order *order,
		       struct symbolizer *sym)
{
	char cmd[4096], start[32], end[32];

	command_line(cmd, sizeof(cmd));
	allocinfo_format_utc(meta->start.tv_sec, start, sizeof(start));
	allocinfo_format_utc(meta->end.tv_sec, end, sizeof(end));

	text_printf(t, "%s%s", ALLOCINFO_VERSION_LINE, ALLOCINFO_COLUMNS_LINE);
	text_printf(t, "# command: %s\n", cmd);
	text_printf(t, "# pid: %d\n", (int)meta->pid);
	text_printf(t, "# start: %s\n", start);
	text_printf(t, "# end: %s\n", end);
	text_printf(t, "# total_bytes: %lld\n", (long long)snap->total_bytes);
	text_printf(t, "# total_calls: %lld\n", (long long)snap->total_calls);
	text_printf(t, "# profiler_bytes: %lld\n", (long long)snap->profiler_bytes);
	text_printf(t, "# profiler_calls: %lld\n", (long long)snap->profiler_calls);
	text_printf(t, "# block_tag_bytes: %lld\n", (long long)snap->block_tag_bytes);
	text_printf(t, "# allocator_mapped_bytes: %lld\n", (long long)snap->allocator_bytes);
	text_printf(t, "# allocator_mappings: %lld\n", (long long)snap->allocator_calls);
	if (meta->other_malloc)
		text_printf(t, "# malloc: not profiled, the program has an allocator of its own\n");
	for (size_t i = 0; i < snap->count; i++)
		text_record(t, &snap->entries[order ? order[i].text_rank : i], sym);
}

static void report_error(const char *path, const char *what)
{
	/* ENOSYS for a file's open or write is a seccomp filter's answer
	 * (man-db's sandbox of preconv and col): said as such. */
	fprintf(stderr, "allocinfo: cannot write report %s: %s: %s%s\n",
		path, what, strerror(errno),
		errno == ENOSYS ? " (a seccomp sandbox forbids it)" : "");
}

/* A target that exists and is not a regular file (a device such as
 * /dev/null or /dev/stderr, a FIFO with a reader waiting) is written in
 * place: renaming over it would replace it. */
static bool write_in_place(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	       !S_ISDIR(st.st_mode);
}

/* Someone else's file at our path (in a shared folder like /tmp) is
 * theirs: never replace it. */
static bool owned_by_other_user(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_uid != geteuid();
}

/* Writes all of @t, made in memory, to @path opened with @flags (mode
 * 0600 if created); one line on stderr on failure. */
static int write_whole(const char *path, int flags, const struct text *t)
{
	int fd = open(path, flags | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0) {
		report_error(path, "open");
		return -1;
	}
	if (write_all(fd, t->buf, t->len) < 0) {
		report_error(path, "write");
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		report_error(path, "close");
		return -1;
	}
	return 0;
}

/* Appends the snapshot to PATH.series, the time series of interval
 * snapshots: each one a whole report, so a reader splits it at the
 * version lines. */
static int append_series(const char *path, const struct text *t)
{
	char series[PATH_MAX + 8];

	if (snprintf(series, sizeof(series), "%s.series", path) >= (int)sizeof(series)) {
		errno = ENAMETOOLONG;
		report_error(path, "series name");
		return -1;
	}
	if (owned_by_other_user(series)) {
		errno = EPERM;
		report_error(series, "owned by another user");
		return -1;
	}
	return write_whole(series, O_APPEND | O_CREAT | O_NOFOLLOW, t);
}

/*
 * The descriptor a path names, or -1: /dev/stdin, /dev/stdout,
 * /dev/stderr, /dev/fd/N and /proc/self/fd/N.  The report goes to the
 * descriptor itself, at its offset, after what the program wrote there:
 * opened anew, a file behind it would be written from its start, over
 * the program's output.
 */
static int named_descriptor(const char *path)
{
	static const char *const std_names[] = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };
	static const char *const fd_folders[] = { "/dev/fd/", "/proc/self/fd/" };
	const char *digits = NULL;
	char *end;
	long n;

	for (int i = 0; i < 3; i++)
		if (!strcmp(path, std_names[i]))
			return i;
	for (size_t i = 0; i < sizeof(fd_folders) / sizeof(fd_folders[0]); i++)
		if (!strncmp(path, fd_folders[i], strlen(fd_folders[i])))
			digits = path + strlen(fd_folders[i]);
	if (!digits || *digits < '0' || *digits > '9')
		return -1;
	errno = 0;
	n = strtol(digits, &end, 10);
	return *end || errno || n > INT_MAX ? -1 : (int)n;
}

/* Whether the symlink @path (lstat'ed as @link) may be followed, as the
 * kernel's fs.protected_symlinks would let this user follow it: unless
 * it lies in a sticky folder that everyone may write (/tmp), or was made
 * there by this user or by the folder's owner.  Another user's link
 * planted in /tmp would send the report, which this user may write
 * anywhere, to a file of that user's choosing. */
static bool link_trusted(const char *path, const struct stat *link)
{
	char folder[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash) {
		strcpy(folder, ".");
	} else if (slash == path) {
		strcpy(folder, "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(folder))
			return false;
		memcpy(folder, path, (size_t)(slash - path));
		folder[slash - path] = '\0';
	}
	if (stat(folder, &st) != 0)
		return false;
	if (!((st.st_mode & S_IWOTH) && (st.st_mode & S_ISVTX)))
		return true;
	return link->st_uid == geteuid() || link->st_uid == st.st_uid;
}

/*
 * The report's path once symlinks are followed: a symlink is never
 * renamed over, which would leave a file in its place (/dev/stdout was
 * one: a report to it replaced /dev's link for every later program).
 * A trusted link (link_trusted) is resolved in @path, a link to a
 * descriptor (/dev/stdout's, /proc/self/fd/1) becomes that name; -1 (said
 * on stderr) for an untrusted or broken one.  Names of descriptors are
 * left as they are.
 */
static int resolve_report_path(char *path, size_t size)
{
	char target[PATH_MAX], resolved[PATH_MAX];
	struct stat st;
	ssize_t len;

	if (named_descriptor(path) >= 0 || lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return 0;
	len = readlink(path, target, sizeof(target) - 1);
	if (len > 0) {
		target[len] = '\0';
		if (named_descriptor(target) >= 0 && (size_t)len < size) {
			memcpy(path, target, (size_t)len + 1);
			return 0;
		}
	}
	if (!link_trusted(path, &st)) {
		errno = EPERM;
		report_error(path, "a symlink another user made in a shared folder");
		return -1;
	}
	if (!realpath(path, resolved) || strlen(resolved) >= size) {
		report_error(path, "follow symlink");
		return -1;
	}
	strcpy(path, resolved);
	return 0;
}

/*
 * A device, FIFO or socket at @path, opened where it is.  A FIFO's open
 * waits for a reader, and for one that never comes the program would
 * wait at its exit for ever: so it is opened without waiting, again
 * every 10 ms while no reader has it open, for FIFO_READER_WAIT_MS at
 * most (a reader started beside the program, `cat fifo &`, may open it
 * a moment after the program ends).
 */
#define FIFO_READER_WAIT_MS 5000

static int open_in_place(const char *path)
{
	static const struct timespec poll_interval = { .tv_nsec = 10 * 1000 * 1000 };
	int fd, flags;

	for (int waited_ms = 0;; waited_ms += 10) {
		fd = open(path, O_NOCTTY | O_WRONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0 || errno != ENXIO || waited_ms >= FIFO_READER_WAIT_MS)
			break;
		nanosleep(&poll_interval, NULL);
	}
	if (fd < 0) {
		report_error(path, errno == ENXIO ? "open (a FIFO with no reader)" : "open");
		return -1;
	}
	/* Written as the program would write it: waiting while it is full. */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

/*
 * Opens where the report for @path (resolved: resolve_report_path) is
 * written: the descriptor it names, or @path itself if it is a device,
 * FIFO or socket (then @tmp is ""), else a temporary beside it, named in
 * @tmp, that report_close renames over it.  -1 (said on stderr) if it
 * cannot be.
 */
static int report_open(const char *path, pid_t pid, char *tmp, size_t size)
{
	struct stat st;
	int fd, named = named_descriptor(path);

	tmp[0] = '\0';
	if (named >= 0) {
		fd = fcntl(named, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			report_error(path, "descriptor");
		return fd;
	}
	/* One lstat answers both questions for a path that is not there
	 * or is a regular file, as it is in a short process. */
	if (lstat(path, &st) == 0) {
		if (S_ISREG(st.st_mode) && st.st_uid != geteuid()) {
			errno = EPERM;
			report_error(path, "owned by another user");
			return -1;
		}
		if (!S_ISREG(st.st_mode) && write_in_place(path))
			return open_in_place(path);
	}

	if (snprintf(tmp, size, "%s.tmp.%d", path, (int)pid) >= (int)size) {
		errno = ENAMETOOLONG;
		report_error(path, "temporary name");
		return -1;
	}
	/* A stale temporary of a dead process with our pid may be left;
	 * it is ours to replace, but never through a symlink. */
	fd = open(tmp, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		report_error(tmp, "open");
	return fd;
}

/* Closes @fd of report_open once @t is written to it (or failed), and
 * puts the temporary @tmp in @path's place, or removes it. */
static int report_close(int fd, const char *path, const char *tmp,
			const struct text *t)
{
	const char *written = *tmp ? tmp : path;

	if (t->failed) {
		errno = t->error;
		report_error(written, t->failed_at);
		close(fd);
		if (*tmp)
			unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		report_error(written, "close");
		if (*tmp)
			unlink(tmp);
		return -1;
	}
	if (*tmp && rename(tmp, path) < 0) {
		report_error(path, "rename");
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The expanded template, with ".PID" for a descendant when the template
 * does not name the pid itself. */
static int report_path(const char *template, const struct report_meta *meta,
		       char *out, size_t size)
{
	size_t len;

	if (report_expand_path(template, meta->pid, out, size) < 0)
		return -1;
	/* A device or FIFO (/dev/null, /dev/stderr) is where every
	 * process's report goes: "/dev/null.PID" would be a new file in
	 * /dev. */
	if (!meta->descendant || strstr(template, "%p") || named_descriptor(out) >= 0 ||
	    write_in_place(out))
		return 0;
	len = strlen(out);
	if (snprintf(out + len, size - len, ".%d", (int)meta->pid) >= (int)(size - len))
		return -1;
	return 0;
}

int report_write(const char *template, const struct report_meta *meta,
		 struct snapshot *snap)
{
	struct symbolizer *sym;
	struct report_order *order;
	struct text t = { .fd = -1 };
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	int fd, ret;

	if (report_path(template, meta, path, sizeof(path)) < 0) {
		errno = ENAMETOOLONG;
		report_error(template, "expand");
		return -1;
	}
	if (resolve_report_path(path, sizeof(path)) < 0)
		return -1;
	/* Opened before any name is looked up: where no report can be
	 * written, none is made.  In man-db's seccomp sandbox, where col
	 * may open no file to write, col's report took libdw through
	 * libc6-dbg's DWARF at every exit, its site cache unwritable too:
	 * 220 M instructions, 1.8 times man's whole time under plain
	 * jemalloc. */
	fd = report_open(path, meta->pid, tmp, sizeof(tmp));
	if (fd < 0)
		return -1;
	sym = symbolizer_open();
	for (size_t i = 0; i < snap->count; i++)
		symbolizer_resolve(sym, &snap->entries[i].name);
	merge_same_tags(snap);
	order = sort_for_report(snap);
	/* An interval's snapshot is made whole: it goes to the series
	 * too. */
	t.fd = meta->series ? -1 : fd;
	build_text(&t, meta, snap, order, sym);
	if (meta->series && !t.failed && write_all(fd, t.buf, t.len) < 0)
		text_fail(&t, "write", errno);
	text_flush(&t);
	ret = report_close(fd, path, tmp, &t);
	/* A series is a file beside a file: not for a device. */
	if (ret == 0 && meta->series && *tmp && append_series(path, &t) < 0)
		ret = -1;
	if (meta->at_exit)
		symbolizer_close_at_exit(sym);
	else
		symbolizer_close(sym);
	core_internal_free(order);
	core_internal_free(t.buf);
	return ret;
}

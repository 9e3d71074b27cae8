/*
 * The option table: every ALLOCINFO_* variable, its default and its
 * meaning, read once at start-up (see options.h).
 */
#include "preload/options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/callsite.h"
#include "report/cache_dir.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static void warn_bad_value(const char *name, const char *value,
			   const char *expected, const char *fallback)
{
	fprintf(stderr, "allocinfo: %s='%s' is not %s; using %s\n",
		name, value, expected, fallback);
}

static void read_size_mode(struct allocinfo_options *options)
{
	const char *v = getenv("ALLOCINFO_SIZE");

	options->core.count_usable_size = false;
	if (!v || !strcmp(v, "requested"))
		return;
	if (!strcmp(v, "usable"))
		options->core.count_usable_size = true;
	else
		warn_bad_value("ALLOCINFO_SIZE", v, "'requested' or 'usable'",
			       "requested");
}

/*
 * A relative report path is taken from the folder the process starts
 * in, as heaptrack names its file: a daemon that changes to / (or a
 * program that changes to any folder) had its report written there at
 * exit, or lost it with one line on stderr where it could not write.
 * Left relative where the folder cannot be named.
 */
static void absolute_from_start(char *path, size_t size)
{
	char cwd[PATH_MAX], joined[PATH_MAX];
	size_t n = 0;

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)) || size > sizeof(joined))
		return;
	/* The folder's own % signs are not the template's. */
	for (const char *c = cwd; *c && n + 2 < size; c++) {
		joined[n++] = *c;
		if (*c == '%')
			joined[n++] = '%';
	}
	if (n + 1 + strlen(path) >= size)
		return;
	joined[n++] = '/';
	strcpy(joined + n, path);
	strcpy(path, joined);
}

static void read_output(struct allocinfo_options *options)
{
	const char *v = getenv("ALLOCINFO_OUTPUT");

	strcpy(options->output_template, ALLOCINFO_DEFAULT_OUTPUT);
	if (!v) {
		absolute_from_start(options->output_template, sizeof(options->output_template));
		return;
	}
	if (!*v)
		warn_bad_value("ALLOCINFO_OUTPUT", v, "a path",
			       ALLOCINFO_DEFAULT_OUTPUT);
	else if (strlen(v) >= sizeof(options->output_template))
		warn_bad_value("ALLOCINFO_OUTPUT", v, "a path shorter than PATH_MAX",
			       ALLOCINFO_DEFAULT_OUTPUT);
	else
		strcpy(options->output_template, v);
	absolute_from_start(options->output_template, sizeof(options->output_template));
}

static void read_mmap_mode(struct allocinfo_options *options)
{
	const char *v = getenv("ALLOCINFO_MMAP");

	options->mmap_mode = CORE_MMAP_ANON;
	if (!v || !strcmp(v, "anon"))
		return;
	if (!strcmp(v, "all"))
		options->mmap_mode = CORE_MMAP_ALL;
	else if (!strcmp(v, "none"))
		options->mmap_mode = CORE_MMAP_NONE;
	else
		warn_bad_value("ALLOCINFO_MMAP", v, "'anon', 'all' or 'none'",
			       "anon");
}

static void read_follow(struct allocinfo_options *options)
{
	const char *v = getenv("ALLOCINFO_FOLLOW");

	options->follow = true;
	if (!v || !strcmp(v, "1"))
		return;
	if (!strcmp(v, "0"))
		options->follow = false;
	else
		warn_bad_value("ALLOCINFO_FOLLOW", v, "0 or 1", "1");
}

/* A number of seconds, fractions allowed, from a millisecond to a year. */
static void read_interval(struct allocinfo_options *options)
{
	const char *v = getenv("ALLOCINFO_INTERVAL");
	char *end;
	double seconds;

	options->interval_seconds = 0;
	if (!v)
		return;
	errno = 0;
	seconds = strtod(v, &end);
	if (errno || end == v || *end || !(seconds >= 0.001 && seconds <= 31536000))
		warn_bad_value("ALLOCINFO_INTERVAL", v,
			       "a number of seconds from 0.001 to 31536000",
			       "no interval snapshots");
	else
		options->interval_seconds = seconds;
}

/* Call sites per tag: 1 (the kernel's model) to CALLSITE_DEPTH_MAX. */
static void read_stack_depth(struct allocinfo_options *options)
{
	const char *v = getenv("ALLOCINFO_DEPTH");
	char *end;
	unsigned long depth;

	options->stack_depth = 1;
	if (!v)
		return;
	errno = 0;
	depth = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] < '0' || v[0] > '9' ||
	    depth < 1 || depth > CALLSITE_DEPTH_MAX)
		warn_bad_value("ALLOCINFO_DEPTH", v, "a number from 1 to "
			       STRINGIFY(CALLSITE_DEPTH_MAX), "1");
	else
		options->stack_depth = (unsigned int)depth;
}

/* The program's own wrappers: comma-separated globs. */
static void read_wrappers(struct allocinfo_options *options)
{
	const char *v = getenv("ALLOCINFO_WRAPPERS");
	size_t len = v ? strlen(v) : 0;

	options->wrappers[0] = '\0';
	if (!v)
		return;
	if (!len || len >= sizeof(options->wrappers) || v[0] == ',' ||
	    v[len - 1] == ',' || strstr(v, ",,"))
		warn_bad_value("ALLOCINFO_WRAPPERS", v,
			       "a comma-separated list of function name globs",
			       "the built-in list alone");
	else
		memcpy(options->wrappers, v, len + 1);
}

/* The symbolizer's cache folder: an absolute path, or "off"; the
 * default's path is fixed here, from the environment at start
 * (cache_dir_fix_default). */
static void read_cache(struct allocinfo_options *options)
{
	const char *v = getenv("ALLOCINFO_CACHE");

	cache_dir_fix_default();
	options->cache[0] = '\0';
	if (!v)
		return;
	if (strcmp(v, "off") && (v[0] != '/' || strlen(v) >= sizeof(options->cache)))
		warn_bad_value("ALLOCINFO_CACHE", v,
			       "'off' or an absolute path shorter than PATH_MAX",
			       "the default folder");
	else
		strcpy(options->cache, v);
}

void options_read(struct allocinfo_options *options)
{
	read_cache(options);
	read_stack_depth(options);
	read_wrappers(options);
	read_follow(options);
	read_interval(options);
	read_mmap_mode(options);
	read_size_mode(options);
	read_output(options);
}

/*
 * Unit tests of the function tables on disk (preload/function_cache.h),
 * in a folder of their own: a table stored is loaded again, entry for
 * entry, under a build-id and under a file's identity; a file of
 * another identity, another wrapper list, another length, out of order,
 * with a bad mark, or a symlink in its place is not used; off stores and
 * loads nothing; a table under FUNCTION_CACHE_MIN_FUNCS functions is not
 * stored.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "preload/function_cache.h"
#include "tests/unit/harness.h"

static const unsigned char build_id[] = { 0xde, 0xad, 0xbe, 0xef };
static char folder[] = "/tmp/allocinfo-function-cache.XXXXXX";
static char module[sizeof(folder) + 32];

#define FUNCS 3000

/* A table of FUNCS functions, every seventh a wrapper, two of them at
 * one offset (an alias of another size). */
static struct func_table *make_table(void)
{
	struct func_table *t = malloc(sizeof(*t) + FUNCS * sizeof(struct func_range));
	struct func_range *f = (struct func_range *)(t + 1);

	for (size_t i = 0; i < FUNCS; i++)
		f[i] = (struct func_range){ .offset = 0x1000 + 0x30 * (i - (i == 5)),
					    .size = 0x20 + (uint32_t)(i % 5),
					    .wrapper = i % 7 == 0 };
	t->count = FUNCS;
	t->funcs = f;
	return t;
}

static bool same_table(const struct func_table *a, const struct func_table *b)
{
	return a && b && a->count == b->count &&
	       !memcmp(a->funcs, b->funcs, a->count * sizeof(a->funcs[0]));
}

/* The file of @key, by the name the cache gives it. */
static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", folder, name);
}

/* Rewrites @bytes bytes at @at of the file @path. */
static void patch(const char *path, off_t at, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	if (!CHECK(fd >= 0))
		return;
	CHECK(pwrite(fd, bytes, len, at) == (ssize_t)len);
	close(fd);
}

static off_t entries_at(const char *path)
{
	struct stat st;

	stat(path, &st);
	return st.st_size - (off_t)(FUNCS * sizeof(struct func_range));
}

static void test_build_id(void)
{
	struct func_table *table = make_table();
	const struct func_table *loaded;
	struct function_cache_key key;
	char path[256];
	struct func_range bad;

	CHECK(function_cache_key(module, build_id, sizeof(build_id), &key));
	CHECK(!function_cache_load(&key));
	function_cache_store(&key, table);
	loaded = function_cache_load(&key);
	CHECK(same_table(loaded, table));
	if (loaded)
		function_table_free(loaded);

	/* Out of order: not used. */
	path_of(path, sizeof(path), "deadbeef.functions");
	bad = table->funcs[10];
	bad.offset = 0;
	patch(path, entries_at(path) + 10 * (off_t)sizeof(bad), &bad, sizeof(bad));
	CHECK(!function_cache_load(&key));
	/* A mark other than 0 or 1: not used. */
	function_cache_store(&key, table);
	bad = table->funcs[10];
	bad.wrapper = 2;
	patch(path, entries_at(path) + 10 * (off_t)sizeof(bad), &bad, sizeof(bad));
	CHECK(!function_cache_load(&key));
	/* Cut short by one entry: not used. */
	function_cache_store(&key, table);
	CHECK(truncate(path, entries_at(path) + (FUNCS - 1) * (off_t)sizeof(bad)) == 0);
	CHECK(!function_cache_load(&key));
	/* A byte of the header changed (another version's): not used. */
	function_cache_store(&key, table);
	patch(path, 0, "A", 1);
	CHECK(!function_cache_load(&key));
	/* A symlink in its place is not followed, and not written
	 * through: the store replaces the link itself. */
	unlink(path);
	function_cache_store(&key, table);
	char target[256];

	path_of(target, sizeof(target), "target");
	rename(path, target);
	CHECK(symlink(target, path) == 0);
	CHECK(!function_cache_load(&key));
	function_cache_store(&key, table);
	struct stat st;

	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	unlink(target);
	unlink(path);
	free(table);
}

static void test_file_identity(void)
{
	struct func_table *table = make_table();
	const struct func_table *loaded;
	struct function_cache_key key, again;
	FILE *f = fopen(module, "w");

	fputs("a module", f);
	fclose(f);
	CHECK(function_cache_key(module, NULL, 0, &key));
	function_cache_store(&key, table);
	CHECK(function_cache_key(module, NULL, 0, &again));
	loaded = function_cache_load(&again);
	CHECK(same_table(loaded, table));
	if (loaded)
		function_table_free(loaded);

	/* The file changed in place (same inode, same size, new time):
	 * the old table is not read. */
	struct timespec times[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };

	CHECK(utimensat(AT_FDCWD, module, times, 0) == 0);
	CHECK(function_cache_key(module, NULL, 0, &again));
	CHECK_EQ_UINT(again.ino, key.ino);
	CHECK(!function_cache_load(&again));
	/* No such file: no key. */
	CHECK(!function_cache_key("/nonexistent/module.so", NULL, 0, &again));
	unlink(module);
	free(table);
}

static void test_off(void)
{
	struct function_cache_key key;

	function_cache_configure("off", "");
	CHECK(!function_cache_key(module, build_id, sizeof(build_id), &key));
	function_cache_configure(folder, "");
}

/* Another wrapper list: the file of the first is not read. */
static void test_other_config(void)
{
	struct func_table *table = make_table();
	struct function_cache_key key;

	function_cache_key(module, build_id, sizeof(build_id), &key);
	function_cache_store(&key, table);
	function_cache_configure(folder, "my_wrapper");
	function_cache_key(module, build_id, sizeof(build_id), &key);
	CHECK(!function_cache_load(&key));
	function_cache_configure(folder, "");
	free(table);
}

/* A table under FUNCTION_CACHE_MIN_FUNCS functions is not kept; one of
 * that many is. */
static void test_small_table(void)
{
	struct func_table *table = make_table();
	struct function_cache_key key;
	const struct func_table *loaded;
	char path[256];

	path_of(path, sizeof(path), "deadbeef.functions");
	unlink(path);
	function_cache_key(module, build_id, sizeof(build_id), &key);
	table->count = FUNCTION_CACHE_MIN_FUNCS - 1;
	function_cache_store(&key, table);
	CHECK(access(path, F_OK) != 0);
	CHECK(!function_cache_load(&key));
	table->count = FUNCTION_CACHE_MIN_FUNCS;
	function_cache_store(&key, table);
	loaded = function_cache_load(&key);
	CHECK(same_table(loaded, table));
	function_table_free(loaded);
	unlink(path);
	free(table);
}

int main(void)
{
	char path[256];

	if (!mkdtemp(folder))
		return 1;
	snprintf(module, sizeof(module), "%s/module.so", folder);
	function_cache_configure(folder, "");
	RUN_TEST(test_build_id);
	RUN_TEST(test_file_identity);
	RUN_TEST(test_off);
	RUN_TEST(test_other_config);
	RUN_TEST(test_small_table);
	path_of(path, sizeof(path), "deadbeef.functions");
	unlink(path);
	/* The file identity's table, whatever its name. */
	char cmd[sizeof(folder) + 64];

	snprintf(cmd, sizeof(cmd), "rm -f %s/file-*.functions", folder);
	if (system(cmd) != 0)
		CHECK(false);
	rmdir(folder);
	return harness_summary();
}

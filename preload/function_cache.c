/*
 * Function tables on disk (see function_cache.h).
 *
 * Everything here runs inside the allocator, in the profiler's internal
 * scope (the classifier's first look at a module): memory is
 * core_internal_*, no descriptor stays open, and errno is the caller's
 * to keep.
 */
#include "preload/function_cache.h"

#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "report/cache_dir.h"

#define FUNCTION_CACHE_MAGIC  "allocinfo-functions"
/* 2: Rust's standard library is a wrapper (report/rust_names.h); 3: but
 * for __rust_begin_short_backtrace; 4: nor is std::thread's _M_run; 5:
 * nor std::function's _M_invoke. */
#define FUNCTION_CACHE_FORMAT 5
/* More functions than any module has: 4 M entries, 64 MiB. */
#define FUNCTION_CACHE_MAX_FUNCS (1u << 22)

/* After the header line and its padding. */
struct function_cache_head {
	uint64_t size, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
	uint64_t count;
};

static const char *cache_setting;
static char header[128];
static size_t header_bytes;        /* the line, its newline and padding */

void function_cache_configure(const char *setting, const char *config)
{
	cache_setting = setting;
	cache_dir_header(header, sizeof(header), FUNCTION_CACHE_MAGIC,
			 FUNCTION_CACHE_FORMAT, config);
	header_bytes = (strlen(header) + 1 + 7) & ~(size_t)7;
}

bool function_cache_key(const char *path, const unsigned char *build_id, size_t len,
			struct function_cache_key *key)
{
	struct stat st;

	*key = (struct function_cache_key){ 0 };
	/* Off: not even the stat. */
	if (!header[0] || (cache_setting && !strcmp(cache_setting, "off")))
		return false;
	if (len && len <= sizeof(key->build_id)) {
		memcpy(key->build_id, build_id, len);
		key->build_id_len = len;
		return true;
	}
	if (!path || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	key->dev = (uint64_t)st.st_dev;
	key->ino = (uint64_t)st.st_ino;
	key->size = (uint64_t)st.st_size;
	key->mtime_sec = (uint64_t)st.st_mtim.tv_sec;
	key->mtime_nsec = (uint64_t)st.st_mtim.tv_nsec;
	key->ctime_sec = (uint64_t)st.st_ctim.tv_sec;
	key->ctime_nsec = (uint64_t)st.st_ctim.tv_nsec;
	return true;
}

/* "BUILD-ID.functions" or "file-DEV-INO.functions". */
static void file_name(char name[NAME_MAX + 1], const struct function_cache_key *key)
{
	static const char suffix[] = ".functions";
	size_t n;

	if (key->build_id_len) {
		cache_dir_hex(name, key->build_id, key->build_id_len);
		n = 2 * key->build_id_len;
	} else {
		unsigned char dev[8], ino[8];

		for (int i = 0; i < 8; i++) {
			dev[i] = (unsigned char)(key->dev >> (56 - 8 * i));
			ino[i] = (unsigned char)(key->ino >> (56 - 8 * i));
		}
		memcpy(name, "file-", 5);
		cache_dir_hex(name + 5, dev, 8);
		name[21] = '-';
		cache_dir_hex(name + 22, ino, 8);
		n = 38;
	}
	memcpy(name + n, suffix, sizeof(suffix));
}

/* The identity a file of @key's records: the file's, or all zeros
 * under a build-id. */
static struct function_cache_head head_of(const struct function_cache_key *key, size_t count)
{
	return (struct function_cache_head){
		.size = key->size,
		.mtime_sec = key->mtime_sec,
		.mtime_nsec = key->mtime_nsec,
		.ctime_sec = key->ctime_sec,
		.ctime_nsec = key->ctime_nsec,
		.count = count,
	};
}

/* Whether the file read, @bytes of @size, is a table for @key:
 * its header, identity and length, and entries in order. */
static bool usable(const unsigned char *bytes, size_t size,
		   const struct function_cache_key *key, size_t *count)
{
	struct function_cache_head head, want;
	size_t line = strlen(header);
	const struct func_range *funcs;

	if (size < header_bytes + sizeof(head) || memcmp(bytes, header, line) ||
	    bytes[line] != '\n')
		return false;
	for (size_t i = line + 1; i < header_bytes; i++)
		if (bytes[i])
			return false;
	memcpy(&head, bytes + header_bytes, sizeof(head));
	want = head_of(key, (size_t)head.count);
	if (memcmp(&head, &want, sizeof(head)) || !head.count ||
	    head.count > FUNCTION_CACHE_MAX_FUNCS ||
	    size != header_bytes + sizeof(head) + head.count * sizeof(struct func_range))
		return false;
	funcs = (const struct func_range *)(bytes + header_bytes + sizeof(head));
	for (size_t i = 0; i < head.count; i++)
		if (funcs[i].wrapper > 1 || (i && funcs[i].offset < funcs[i - 1].offset))
			return false;
	*count = (size_t)head.count;
	return true;
}

/*
 * Read, not mapped: a file another process of the user's truncated in
 * place (our writers rename, but a user's shell may not) would send
 * SIGBUS to a program that reads its mapping past the new end.  The
 * order check reads every entry anyway.
 */
const struct func_table *function_cache_load(const struct function_cache_key *key)
{
	char name[NAME_MAX + 1];
	struct func_table *table;
	const unsigned char *bytes;
	size_t count = 0, size;
	int dir;

	_Static_assert(sizeof(struct function_cache_head) % 8 == 0 &&
		       sizeof(struct func_range) == 16, "the file's layout");
	dir = cache_dir_open(cache_setting);
	if (dir < 0)
		return NULL;
	file_name(name, key);
	/* The table's struct first, the file after it: entries at a
	 * multiple of 8 (the header's padding keeps them so). */
	table = cache_dir_read_bytes(dir, name,
				     FUNCTION_CACHE_MAX_FUNCS * sizeof(struct func_range) +
					     header_bytes + sizeof(struct function_cache_head),
				     sizeof(*table), 0, &size);
	close(dir);
	if (!table)
		return NULL;
	bytes = (const unsigned char *)(table + 1);
	if (!usable(bytes, size, key, &count)) {
		core_internal_free(table);
		return NULL;
	}
	table->count = count;
	table->funcs = (const struct func_range *)(bytes + header_bytes +
						    sizeof(struct function_cache_head));
	return table;
}

void function_cache_store(const struct function_cache_key *key, const struct func_table *table)
{
	struct function_cache_head head = head_of(key, table->count);
	const char *entries = (const char *)table->funcs;
	size_t left = table->count * sizeof(table->funcs[0]);
	char name[NAME_MAX + 1], pad[8] = { 0 };
	struct cache_writer *w;
	int dir;

	if (table->count < FUNCTION_CACHE_MIN_FUNCS || table->count > FUNCTION_CACHE_MAX_FUNCS)
		return;
	dir = cache_dir_open(cache_setting);
	if (dir < 0)
		return;
	file_name(name, key);
	w = cache_writer_start(dir, name);
	if (w) {
		cache_writer_put(w, header, strlen(header));
		cache_writer_put(w, "\n", 1);
		cache_writer_put(w, pad, header_bytes - strlen(header) - 1);
		cache_writer_put(w, (const char *)&head, sizeof(head));
		/* In pieces the writer's buffer holds. */
		while (left) {
			size_t piece = left < 8192 ? left : 8192;

			cache_writer_put(w, entries, piece);
			entries += piece;
			left -= piece;
		}
		cache_writer_finish(w);
	}
	close(dir);
}

void function_table_free(const struct func_table *table)
{
	core_internal_free((void *)table);
}

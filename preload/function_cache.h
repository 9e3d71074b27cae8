/*
 * Function tables on disk: each module's function ranges, marked
 * wrapper or not (preload/wrappers.c), as the classifier first made them
 * from the module's symbol table.
 *
 * Why: the classifier reads a module's whole symbol table the first
 * time a site in it is new to the router's memory (route_memory.h).
 * For most programs that is once, and the memory answers later runs.
 * It is not for a module without a build-id, which the memory cannot
 * name, nor for a process that leaves with _exit, which writes no
 * memory: rust-lld is both, and its libLLVM holds 186,000 functions.
 * Matching their names against the wrapper list and sorting them was
 * 58 M of its 146 M instructions, in every link (callgrind).  The
 * table is written as soon as it is made, and the next process reads
 * it.
 *
 * Key: the module's build-id when it has one.  Else the file's identity
 * as stat gives it, device and inode in the name, size and the times
 * of its last change inside: a file rebuilt or replaced in place has
 * another inode or another time, and its old table is not read.  The
 * table depends also on the wrapper list, so the file's header line
 * records allocinfo's version and ALLOCINFO_WRAPPERS (report/cache_dir.h,
 * which also says where the folder is, whose, and how a file is
 * replaced).
 *
 * File: BUILD-ID.functions, or file-DEV-INO.functions (hex), in the
 * caches' folder: the header line, NUL bytes up to a multiple of 8,
 * then binary, in the host's byte order:
 *	struct function_cache_head
 *	struct func_range[count], by increasing offset
 * A file of another length, out of order, of another file's identity or
 * with a wrapper mark other than 0 or 1 is not used, and is replaced.
 */
#ifndef ALLOCINFO_PRELOAD_FUNCTION_CACHE_H
#define ALLOCINFO_PRELOAD_FUNCTION_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A function: its start as an offset from the module's load bias (the
 * symbol's value), its size, and whether it is a wrapper (1) or not. */
struct func_range {
	uint64_t offset;
	uint32_t size;
	uint32_t wrapper;
};

/* A module's functions, sorted by offset, in the same allocation as
 * the struct; immutable once published. */
struct func_table {
	size_t count;
	const struct func_range *funcs;
};

/* What names a module's file: its build-id, else its identity on disk. */
struct function_cache_key {
	unsigned char build_id[64];
	size_t build_id_len;          /* 0: the file's identity below */
	uint64_t dev, ino;
	uint64_t size, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

/* The caches' folder (an ALLOCINFO_CACHE value, NULL for the default)
 * and what else the tables depend on (the wrapper list).  Once, at
 * start-up, before any load. */
void function_cache_configure(const char *setting, const char *config);

/* The key of the module file at @path with the build-id @build_id
 * (@len bytes, 0: none, then the file is stat'ed): false if the caches
 * are off or the file cannot be named. */
bool function_cache_key(const char *path, const unsigned char *build_id, size_t len,
			struct function_cache_key *key);

/* The table kept under @key, read, or NULL: no usable file. */
const struct func_table *function_cache_load(const struct function_cache_key *key);

/*
 * The fewest functions a table must have to be kept.  A smaller module's
 * symbols are read again, where needed, in about the time one file's
 * creation takes: 312 instructions a function on libLLVM, so 0.3 M for
 * a thousand, where creating a cache file took about 150 us on the
 * bench's host (strace -T, the O_CREAT open).  A configure script's
 * test programs, each new, then write one file fewer each: their first
 * runs took 176, 292 and 341 us less, of 1.05 to 1.55 ms more than
 * under plain jemalloc (sh bench/first_runs.sh 150 DIR JEMALLOC OLD
 * NEW, three times).
 */
#define FUNCTION_CACHE_MIN_FUNCS 1000

/* Keeps @table under @key, for the next process, if it has at least
 * FUNCTION_CACHE_MIN_FUNCS functions. */
void function_cache_store(const struct function_cache_key *key, const struct func_table *table);

/* Frees a table that was not published. */
void function_table_free(const struct func_table *table);

#endif

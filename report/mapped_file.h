/*
 * A regular file mapped read-only, whole: how the library reads a
 * module's symbol table (preload/wrappers.c) and the tool a program's
 * dynamic section (report/tool_run.c).  It allocates nothing, so the
 * library may use it inside malloc, and keeps no descriptor open.
 */
#ifndef ALLOCINFO_REPORT_MAPPED_FILE_H
#define ALLOCINFO_REPORT_MAPPED_FILE_H

#include <stdbool.h>
#include <stddef.h>

struct mapped_file {
	const unsigned char *bytes;
	size_t size;
};

/* Maps @path if it is a regular file of at least @min_size bytes (and
 * not empty); false, with @file untouched, otherwise. */
bool mapped_file_open(const char *path, size_t min_size, struct mapped_file *file);

void mapped_file_close(struct mapped_file *file);

#endif

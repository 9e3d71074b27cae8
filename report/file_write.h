/*
 * The profiler's own file writes (reports, their series, the caches):
 * all of a buffer, or -1 with errno, and never a signal for the program.
 *
 * A write past the process's file-size limit (ulimit -f, RLIMIT_FSIZE)
 * raises SIGXFSZ, whose default action ends the process: a program that
 * never writes a big file itself would be killed by its profiler's
 * report.  So the signal is blocked in the writing thread while it
 * writes; the write then fails with EFBIG, which the caller says on
 * stderr, and a SIGXFSZ that the write left pending, and that was not
 * pending before, is taken off again before the thread's mask is put
 * back.  A program's own SIGXFSZ, pending before, is left as it was.
 */
#ifndef ALLOCINFO_REPORT_FILE_WRITE_H
#define ALLOCINFO_REPORT_FILE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int file_write_all(int fd, const void *buf, size_t len);

/* All @len bytes at @offset in @fd (a short read is read on); false if
 * the file ends first or a read fails. */
bool file_read_at(int fd, void *buf, size_t len, uint64_t offset);

#endif

/*
 * Separate debug info whose sections are compressed, as Debian's -dbg
 * and dbgsym packages ship it (SHF_COMPRESSED, zlib), inflated once
 * into a plain copy in the caches' folder (cache_dir.h), for libdw to
 * map.
 *
 * Why: libdw inflates every compressed section of a debug file into
 * memory when it opens it.  With libc6-dbg installed, a process whose
 * report met a libc site new to the site cache held libc's 10 MB of
 * DWARF and libdw's tables besides: perl's first run peaked at 34.9 MB
 * where its later runs peak at 17.4 (19.9 with that debug file hidden).
 * A plain copy is mapped, and only the pages a line lookup reads (the
 * address ranges, one unit's entries and line program) come into
 * memory.  The copy is made a piece at a time, so the first run does
 * not hold it whole either.
 *
 * The copy is named by the module's build-id, which names one build, so
 * it never goes stale; it is used only if its size, ELF header and
 * section table are the ones the debug file gives, else made again.
 * It takes the disk the inflated sections take (libc6-dbg's, 10 MB):
 * past DEBUG_INFLATE_MAX bytes, with another compression than zlib,
 * without zlib in the process (libdw loads it) or without a cache
 * folder, the debug file is used as it is.
 */
#ifndef ALLOCINFO_REPORT_DEBUG_INFLATE_H
#define ALLOCINFO_REPORT_DEBUG_INFLATE_H

#include <stddef.h>

#define DEBUG_INFLATE_MAX (128ull << 20)

/*
 * For the debug file open at @fd, of the module whose build-id is the
 * @len bytes at @build_id: @fd itself if none of its sections is
 * compressed, its build-id note is not that one (an alternate dwz
 * file's, say), or no copy can be had; else a descriptor of the plain
 * copy in the folder @dir_fd (made now if need be), and @fd closed.
 * libdwfl keeps the debug file's own name for it: an alternate file's
 * relative link resolves from where the debug file lies.
 */
int debug_inflate_open(int fd, int dir_fd, const unsigned char *build_id, size_t len);

#endif

#include "config.h"

#include "report/debug_inflate.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "report/cache_dir.h"
#include "report/file_write.h"
#include "report/loaded_modules.h"

/* zlib's functions, from the copy libdw loaded: none is linked, so that
 * a process whose report needs no DWARF maps no zlib. */
struct zlib_functions {
	int (*inflate_init)(z_streamp, const char *, int);
	int (*inflate)(z_streamp, int);
	int (*inflate_end)(z_streamp);
	const char *(*version)(void);
};

static bool zlib_functions(struct zlib_functions *z)
{
	void *h = dlopen("libz.so.1", RTLD_LAZY | RTLD_NOLOAD);

	if (!h)
		return false;
	*(void **)&z->inflate_init = dlsym(h, "inflateInit_");
	*(void **)&z->inflate = dlsym(h, "inflate");
	*(void **)&z->inflate_end = dlsym(h, "inflateEnd");
	*(void **)&z->version = dlsym(h, "zlibVersion");
	dlclose(h);
	return z->inflate_init && z->inflate && z->inflate_end && z->version;
}

/* The debug file's headers, and where each section goes in the copy:
 * in the order of the section table, each at its alignment. */
struct layout {
	Elf64_Ehdr ehdr;
	uint64_t phoff;          /* the program headers in the debug file */
	Elf64_Shdr *shdrs;       /* the copy's: offsets, sizes, flags */
	uint64_t *from;          /* each section's data in the debug file */
	uint64_t *from_size;     /* its bytes there (past the Chdr if compressed) */
	bool *inflate;           /* compressed there */
	uint64_t total;          /* the copy's size */
	bool compressed;         /* any section */
};

static uint64_t align_up(uint64_t x, uint64_t align)
{
	return align > 1 ? (x + align - 1) / align * align : x;
}

/* False where the file is not a 64-bit ELF file of this machine's byte
 * order with a section table we can read, a compressed section is not
 * zlib's, or the copy would pass DEBUG_INFLATE_MAX. */
static bool read_layout(int fd, uint64_t file_size, struct layout *l)
{
	Elf64_Ehdr *e = &l->ehdr;
	uint64_t at;

	if (!file_read_at(fd, e, sizeof(*e), 0) || memcmp(e->e_ident, ELFMAG, SELFMAG) != 0 ||
	    e->e_ident[EI_CLASS] != ELFCLASS64 || e->e_ident[EI_DATA] != ELFDATA2LSB ||
	    e->e_ehsize != sizeof(Elf64_Ehdr) ||
	    e->e_shentsize != sizeof(Elf64_Shdr) || e->e_shnum == 0 ||
	    e->e_shstrndx >= e->e_shnum || e->e_shoff > file_size ||
	    (uint64_t)e->e_shnum * sizeof(Elf64_Shdr) > file_size - e->e_shoff ||
	    (e->e_phnum && (e->e_phentsize != sizeof(Elf64_Phdr) || e->e_phoff > file_size ||
			    (uint64_t)e->e_phnum * sizeof(Elf64_Phdr) > file_size - e->e_phoff)))
		return false;
	l->phoff = e->e_phoff;
	l->shdrs = core_internal_calloc(e->e_shnum, sizeof(*l->shdrs));
	l->from = core_internal_calloc(e->e_shnum, sizeof(*l->from));
	l->from_size = core_internal_calloc(e->e_shnum, sizeof(*l->from_size));
	l->inflate = core_internal_calloc(e->e_shnum, sizeof(*l->inflate));
	if (!l->shdrs || !l->from || !l->from_size || !l->inflate ||
	    !file_read_at(fd, l->shdrs, e->e_shnum * sizeof(Elf64_Shdr), e->e_shoff))
		return false;
	at = sizeof(Elf64_Ehdr) + (uint64_t)e->e_phnum * sizeof(Elf64_Phdr);
	for (unsigned int i = 0; i < e->e_shnum; i++) {
		Elf64_Shdr *s = &l->shdrs[i];

		if (s->sh_type == SHT_NULL || s->sh_type == SHT_NOBITS) {
			s->sh_offset = s->sh_type == SHT_NULL ? 0 : at;
			continue;
		}
		if (s->sh_offset > file_size || s->sh_size > file_size - s->sh_offset)
			return false;
		l->from[i] = s->sh_offset;
		l->from_size[i] = s->sh_size;
		if (s->sh_flags & SHF_COMPRESSED) {
			Elf64_Chdr ch;

			if (s->sh_size < sizeof(ch) || !file_read_at(fd, &ch, sizeof(ch), s->sh_offset) ||
			    ch.ch_type != ELFCOMPRESS_ZLIB || ch.ch_size > DEBUG_INFLATE_MAX)
				return false;
			l->compressed = l->inflate[i] = true;
			l->from[i] += sizeof(ch);
			l->from_size[i] -= sizeof(ch);
			s->sh_flags &= ~(uint64_t)SHF_COMPRESSED;
			s->sh_size = ch.ch_size;
			s->sh_addralign = ch.ch_addralign;
		}
		if (s->sh_addralign > 4096)
			return false;
		at = align_up(at, s->sh_addralign);
		s->sh_offset = at;
		at += s->sh_size;
		if (at > DEBUG_INFLATE_MAX)
			return false;
	}
	e->e_phoff = e->e_phnum ? sizeof(Elf64_Ehdr) : 0;
	e->e_shoff = align_up(at, 8);
	l->total = e->e_shoff + (uint64_t)e->e_shnum * sizeof(Elf64_Shdr);
	return true;
}

static void free_layout(struct layout *l)
{
	core_internal_free(l->shdrs);
	core_internal_free(l->from);
	core_internal_free(l->from_size);
	core_internal_free(l->inflate);
}

/* cache_writer_put's pieces are at most its buffer's 16 KiB. */
#define CHUNK 16384

static void put_zeros(struct cache_writer *w, uint64_t n)
{
	static const char zeros[256];

	while (n) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);

		cache_writer_put(w, zeros, k);
		n -= k;
	}
}

/* @len bytes at @from in @fd, as they are. */
static bool copy_plain(struct cache_writer *w, int fd, char *in, uint64_t from, uint64_t len)
{
	while (len) {
		size_t k = len < CHUNK ? (size_t)len : CHUNK;

		if (!file_read_at(fd, in, k, from))
			return false;
		cache_writer_put(w, in, k);
		from += k;
		len -= k;
	}
	return true;
}

/* The zlib stream of @len bytes at @from in @fd, inflated: exactly
 * @size bytes, or false. */
static bool copy_inflated(struct cache_writer *w, const struct zlib_functions *zf, int fd,
			  char *in, char *out, uint64_t from, uint64_t len, uint64_t size)
{
	z_stream z;
	uint64_t produced = 0;
	int status = Z_OK;

	memset(&z, 0, sizeof(z));
	if (zf->inflate_init(&z, zf->version(), (int)sizeof(z)) != Z_OK)
		return false;
	while (status == Z_OK) {
		size_t got;

		if (!z.avail_in && len) {
			size_t k = len < CHUNK ? (size_t)len : CHUNK;

			if (!file_read_at(fd, in, k, from))
				break;
			z.next_in = (Bytef *)in;
			z.avail_in = (uInt)k;
			from += k;
			len -= k;
		}
		z.next_out = (Bytef *)out;
		z.avail_out = CHUNK;
		status = zf->inflate(&z, Z_NO_FLUSH);
		got = CHUNK - z.avail_out;
		produced += got;
		if (produced > size)
			break;
		cache_writer_put(w, out, got);
		/* No progress: the stream was cut short, or is not one. */
		if (status == Z_BUF_ERROR) {
			if (!got)
				break;
			status = Z_OK;
		}
	}
	zf->inflate_end(&z);
	return status == Z_STREAM_END && produced == size;
}

/* Whether @fd's build-id note (in a SHT_NOTE section of @l, as the
 * debug file has it) is the @len bytes at @build_id: a debug file found
 * by its path is not trusted to be the module's. */
static bool has_build_id(int fd, const struct layout *l, const unsigned char *build_id,
			 size_t len)
{
	for (unsigned int i = 0; i < l->ehdr.e_shnum; i++) {
		const Elf64_Shdr *s = &l->shdrs[i];
		unsigned char note[256];
		size_t at = 0, size = (size_t)l->from_size[i];

		if (s->sh_type != SHT_NOTE || l->inflate[i] || size > sizeof(note) ||
		    !file_read_at(fd, note, size, l->from[i]))
			continue;
		while (at + sizeof(Elf64_Nhdr) <= size) {
			Elf64_Nhdr n;
			size_t name_at = at + sizeof(n), desc_at;

			memcpy(&n, note + at, sizeof(n));
			desc_at = name_at + ((n.n_namesz + 3u) & ~3u);
			if (n.n_namesz > size || n.n_descsz > size || desc_at + n.n_descsz > size)
				break;
			if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 &&
			    memcmp(note + name_at, "GNU", 4) == 0)
				return n.n_descsz == len && memcmp(note + desc_at, build_id, len) == 0;
			at = desc_at + ((n.n_descsz + 3u) & ~3u);
		}
	}
	return false;
}

/* The copy of @fd by @l, written to @name in @dir_fd by the cache's
 * rules (a temporary file, then rename). */
static bool write_copy(int fd, const struct layout *l, const struct zlib_functions *zf,
		       int dir_fd, const char *name)
{
	struct cache_writer *w;
	char *in = core_internal_alloc(2 * CHUNK), *out;
	uint64_t at = sizeof(l->ehdr) + (uint64_t)l->ehdr.e_phnum * sizeof(Elf64_Phdr);
	bool ok = true;

	w = in ? cache_writer_start(dir_fd, name) : NULL;
	if (!w) {
		core_internal_free(in);
		return false;
	}
	out = in + CHUNK;
	cache_writer_put(w, (const char *)&l->ehdr, sizeof(l->ehdr));
	if (l->ehdr.e_phnum)
		ok = copy_plain(w, fd, in, l->phoff,
				(uint64_t)l->ehdr.e_phnum * sizeof(Elf64_Phdr));
	for (unsigned int i = 0; ok && i < l->ehdr.e_shnum; i++) {
		const Elf64_Shdr *s = &l->shdrs[i];

		if (s->sh_type == SHT_NULL || s->sh_type == SHT_NOBITS)
			continue;
		put_zeros(w, s->sh_offset - at);
		ok = l->inflate[i] ? copy_inflated(w, zf, fd, in, out, l->from[i],
						   l->from_size[i], s->sh_size)
				   : copy_plain(w, fd, in, l->from[i], l->from_size[i]);
		at = s->sh_offset + s->sh_size;
	}
	if (ok) {
		put_zeros(w, l->ehdr.e_shoff - at);
		for (unsigned int i = 0; i < l->ehdr.e_shnum; i++)
			cache_writer_put(w, (const char *)&l->shdrs[i], sizeof(l->shdrs[i]));
	} else {
		/* A failed writer removes its temporary file at finish. */
		cache_writer_abandon(w);
	}
	core_internal_free(in);
	return cache_writer_finish(w) && ok;
}

/* The copy @name in @dir_fd, if it is a regular file of the user's
 * whose size, ELF header and section table are the ones @l gives (a
 * copy cut short, or made from another file, is not); else -1. */
static int open_copy(int dir_fd, const char *name, const struct layout *l)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	size_t table = l->ehdr.e_shnum * sizeof(Elf64_Shdr);
	Elf64_Shdr *shdrs = NULL;
	Elf64_Ehdr ehdr;
	struct stat st;
	bool same;

	if (fd < 0)
		return -1;
	same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	       (uint64_t)st.st_size == l->total &&
	       file_read_at(fd, &ehdr, sizeof(ehdr), 0) && memcmp(&ehdr, &l->ehdr, sizeof(ehdr)) == 0 &&
	       (shdrs = core_internal_alloc(table)) &&
	       file_read_at(fd, shdrs, table, l->ehdr.e_shoff) && memcmp(shdrs, l->shdrs, table) == 0;
	core_internal_free(shdrs);
	if (!same) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int debug_inflate_open(int fd, int dir_fd, const unsigned char *build_id, size_t len)
{
	struct zlib_functions zf;
	struct layout l;
	struct stat st;
	char name[NAME_MAX + 1], hex[2 * LOADED_MODULE_BUILD_ID_MAX + 1];
	int copy = -1;

	memset(&l, 0, sizeof(l));
	if (dir_fd < 0 || !len || len > LOADED_MODULE_BUILD_ID_MAX || fstat(fd, &st) < 0 ||
	    !S_ISREG(st.st_mode) ||
	    !read_layout(fd, (uint64_t)st.st_size, &l) || !l.compressed ||
	    !has_build_id(fd, &l, build_id, len))
		goto out;
	cache_dir_hex(hex, build_id, len);
	snprintf(name, sizeof(name), "%s.debug", hex);
	copy = open_copy(dir_fd, name, &l);
	if (copy < 0 && zlib_functions(&zf) && write_copy(fd, &l, &zf, dir_fd, name))
		copy = open_copy(dir_fd, name, &l);
	if (copy >= 0)
		close(fd);
out:
	free_layout(&l);
	return copy >= 0 ? copy : fd;
}

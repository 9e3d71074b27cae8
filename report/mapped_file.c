#include "report/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

bool mapped_file_open(const char *path, size_t min_size, struct mapped_file *file)
{
	struct stat st;
	void *map;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size < min_size) {
		close(fd);
		return false;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return false;
	file->bytes = map;
	file->size = (size_t)st.st_size;
	return true;
}

void mapped_file_close(struct mapped_file *file)
{
	munmap((void *)file->bytes, file->size);
	file->bytes = NULL;
	file->size = 0;
}

// A program with a malloc of its own, as rustc has (it links jemalloc
// statically): the executable defines malloc, calloc, realloc, free and
// aligned_alloc, so the process's symbol lookup binds them to it before
// the preload library.  What the preload still sees is what the program
// does not define: operator new and delete (libstdc++'s call malloc, and
// aligned_alloc for an over-aligned type), glibc's reallocarray (which
// calls realloc), and mmap.
//
// Without the preload, all of the program's blocks come from this
// allocator; with it, they must still, or the program's free would get a
// block of another allocator's.  The allocator maps its chunks while it
// holds its lock, as jemalloc does, and checks that nothing calls it
// again from inside (the preload's mmap, allocating on its way): that
// would deadlock a real allocator.  Threads and a fork run meanwhile.
//
// It checks itself and exits 1 on a failure; it prints the same lines
// with and without the preload.
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "check.h"

namespace {

// A size-class free-list allocator over chunks from mmap.  Every block
// is given with a 16-byte header before it: its class, and how far the
// block given lies past the class's first byte after the header (0 but
// for aligned_alloc's).
constexpr size_t kHeader = 16;
constexpr size_t kClasses = 24;        // 16 B << 0 .. 16 B << 23
constexpr size_t kChunk = 1 << 20;

struct Free {
	Free *next;
};

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
Free *free_lists[kClasses];
char *chunk_next, *chunk_end;
__thread int inside;        // this thread holds the lock
unsigned long mallocs, frees, reentries, foreign_frees;
char *chunks[4096];
size_t nchunks;

size_t class_of(size_t size)
{
	size_t c = 0;

	if (size > kChunk)
		return kClasses;	// refused

	while ((size_t)16 << c < size + kHeader)
		c++;
	return c;
}

bool is_ours(const void *p)
{
	for (size_t i = 0; i < nchunks; i++)
		if ((const char *)p >= chunks[i] && (const char *)p < chunks[i] + kChunk)
			return true;
	return false;
}

// Under the lock.
void *carve(size_t c)
{
	size_t bytes = (size_t)16 << c;
	char *p;

	if (free_lists[c]) {
		Free *f = free_lists[c];

		free_lists[c] = f->next;
		return f;
	}
	if (bytes > kChunk || nchunks == sizeof(chunks) / sizeof(chunks[0]))
		return nullptr;
	if (!chunk_next || chunk_end - chunk_next < (ptrdiff_t)bytes) {
		// Mapped with the lock held: the preload's mmap must not
		// call this allocator back.
		void *m = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return nullptr;
		chunks[nchunks++] = (char *)m;
		chunk_next = (char *)m;
		chunk_end = chunk_next + kChunk;
	}
	p = chunk_next;
	chunk_next += bytes;
	return p;
}

void *allocate(size_t size)
{
	size_t c = class_of(size);
	char *p;

	if (c >= kClasses) {
		errno = ENOMEM;
		return nullptr;
	}
	if (inside) {
		// Called again from inside itself: count it and fail the
		// request instead of deadlocking on the lock.
		__atomic_add_fetch(&reentries, 1, __ATOMIC_RELAXED);
		errno = ENOMEM;
		return nullptr;
	}
	pthread_mutex_lock(&lock);
	inside = 1;
	p = (char *)carve(c);
	if (p) {
		((size_t *)p)[0] = c;
		((size_t *)p)[1] = 0;
		mallocs++;
	}
	inside = 0;
	pthread_mutex_unlock(&lock);
	if (!p) {
		errno = ENOMEM;
		return nullptr;
	}
	return p + kHeader;
}

// The class and the offset of the block given at @ptr.
const size_t *header(const void *ptr)
{
	return (const size_t *)((const char *)ptr - kHeader);
}

void release(void *ptr)
{
	pthread_mutex_lock(&lock);
	if (!is_ours(ptr)) {
		// Some other allocator's block: the preload handed one out.
		foreign_frees++;
	} else {
		size_t c = header(ptr)[0];
		Free *f = (Free *)((char *)ptr - header(ptr)[1] - kHeader);

		f->next = free_lists[c];
		free_lists[c] = f;
		frees++;
	}
	pthread_mutex_unlock(&lock);
}

size_t usable(const void *ptr)
{
	return ((size_t)16 << header(ptr)[0]) - kHeader - header(ptr)[1];
}

// Aligned to @align (a power of two): a block @align - 16 bytes larger,
// given from its first byte so aligned, with a header of its own there.
void *allocate_aligned(size_t align, size_t size)
{
	char *p, *aligned;

	if (align <= kHeader)
		return allocate(size);
	if (size > kChunk) {
		errno = ENOMEM;
		return nullptr;
	}
	if (!(p = (char *)allocate(size + align - kHeader)))
		return nullptr;
	aligned = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (aligned != p) {
		((size_t *)aligned)[-2] = header(p)[0];
		((size_t *)aligned)[-1] = (size_t)(aligned - p);
	}
	return aligned;
}

unsigned long count(unsigned long *counter)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = *counter;
	pthread_mutex_unlock(&lock);
	return n;
}

}  // namespace

extern "C" {

void *malloc(size_t size)
{
	return allocate(size);
}

void free(void *ptr)
{
	if (ptr)
		release(ptr);
}

void *calloc(size_t n, size_t size)
{
	size_t total;
	// allocate() refuses SIZE_MAX with ENOMEM: so does calloc an overflow.
	void *p = allocate(__builtin_mul_overflow(n, size, &total) ? SIZE_MAX : total);

	return p ? memset(p, 0, total) : nullptr;
}

void *aligned_alloc(size_t align, size_t size)
{
	return allocate_aligned(align, size);
}

void *realloc(void *ptr, size_t size)
{
	void *fresh;

	if (!ptr)
		return allocate(size);
	if (!size) {
		release(ptr);
		return nullptr;
	}
	if (size <= usable(ptr))
		return ptr;
	fresh = allocate(size);
	if (fresh) {
		memcpy(fresh, ptr, usable(ptr));
		release(ptr);
	}
	return fresh;
}

}  // extern "C"

namespace {

void lock_for_fork()
{
	pthread_mutex_lock(&lock);
}

void unlock_after_fork()
{
	pthread_mutex_unlock(&lock);
}

void *churn(void *arg)
{
	long id = (long)(intptr_t)arg;
	std::vector<std::string> kept;

	for (int i = 0; i < 20000; i++) {
		std::string *s = new std::string(100 + i % 300, (char)('a' + id));

		kept.push_back(*s);
		delete s;
		if (kept.size() > 64)
			kept.erase(kept.begin());
		free(malloc(24 + i % 1000));
	}
	return nullptr;
}

}  // namespace

int main(int argc, char **argv)
{
	unsigned long before = count(&mallocs), before_frees;
	pthread_t threads[4];
	int *p, status = -1;
	char *a;
	pid_t child;

	// operator new and delete: libstdc++'s (or the preload's) must
	// reach this malloc and free.
	p = new int[10];
	CHECK(count(&mallocs) == before + 1, "new int[10] made %lu blocks here, not 1",
	      count(&mallocs) - before);
	before_frees = count(&frees);
	delete[] p;
	CHECK(count(&frees) == before_frees + 1, "delete[] freed %lu blocks here, not 1",
	      count(&frees) - before_frees);

	// Over-aligned new and delete: libstdc++'s (or the preload's) must
	// reach this aligned_alloc and free.
	struct alignas(256) Page {
		char bytes[256];
	};
	before = count(&mallocs);
	Page *page = new Page;
	CHECK(count(&mallocs) == before + 1, "an aligned new made %lu blocks here, not 1",
	      count(&mallocs) - before);
	CHECK((uintptr_t)page % 256 == 0, "an aligned new gave %p, not 256-aligned",
	      (void *)page);
	before_frees = count(&frees);
	delete page;
	CHECK(count(&frees) == before_frees + 1, "an aligned delete freed %lu blocks here, not 1",
	      count(&frees) - before_frees);

	// reallocarray: glibc's calls realloc, this one's.
	before = count(&mallocs);
	a = (char *)reallocarray(nullptr, 10, 10);
	CHECK(a != nullptr, "reallocarray(NULL, 10, 10) failed");
	CHECK(count(&mallocs) == before + 1, "reallocarray made %lu blocks here, not 1",
	      count(&mallocs) - before);
	free(a);
	// Past SIZE_MAX: refused, as glibc's does, without a call here.
	volatile size_t huge = SIZE_MAX / 2;
	CHECK(reallocarray(nullptr, huge, 4) == nullptr && errno == ENOMEM,
	      "reallocarray did not refuse an overflow");

	// As a real allocator does: no lock held by another thread is
	// inherited by the child.
	pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
	for (long i = 0; i < 4; i++)
		pthread_create(&threads[i], nullptr, churn, (void *)(intptr_t)i);
	child = fork();
	if (child == 0) {
		std::string *s = new std::string(1000, 'c');
		int ok = s->size() == 1000 && count(&foreign_frees) == 0;

		delete s;
		_exit(ok ? 0 : 1);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], nullptr);
	CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the forked child failed (status %d)", status);

	CHECK(count(&foreign_frees) == 0, "%lu blocks freed here were not this allocator's",
	      count(&foreign_frees));
	CHECK(__atomic_load_n(&reentries, __ATOMIC_RELAXED) == 0,
	      "the allocator was called %lu times from inside itself", reentries);
	printf("own malloc: every block came from the program's allocator\n");
	fflush(stdout);
	// "term": the program then dies of SIGTERM, with threads that keep
	// allocating.
	if (argc > 1 && !strcmp(argv[1], "term") && !check_failures) {
		for (long i = 0; i < 4; i++)
			pthread_create(&threads[i], nullptr, churn, (void *)(intptr_t)i);
		kill(getpid(), SIGTERM);
		for (int i = 0; i < 4; i++)
			pthread_join(threads[i], nullptr);
	}
	return CHECK_STATUS();
}

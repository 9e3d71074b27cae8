/*
 * A library that tests/programs/dl_main.c dlopens, allocates through and
 * dlcloses long before it exits: the report, written at exit, must
 * still name these call sites with file:line and function, under this
 * library's module (see tests/lib.sh for the EXPECT markers).
 */
#include <stdlib.h>
#include <sys/mman.h>

static void *constructed;
static int *unloaded_flag;

/* Runs inside dlopen, after the profiler has started: accurate. */
__attribute__((constructor)) static void dl_lib_init(void)
{
	constructed = malloc(55); /* EXPECT: 55 1 [dl_lib.so] func:dl_lib_init */
}

/* Runs inside dlclose: the program sees that the library was unloaded. */
__attribute__((destructor)) static void dl_lib_fini(void)
{
	if (unloaded_flag)
		*unloaded_flag = 1;
}

void dl_lib_watch_unload(int *flag)
{
	unloaded_flag = flag;
}

/* A block the program never frees. */
void *dl_lib_leak(void)
{
	return malloc(321); /* EXPECT: 321 1 [dl_lib.so] func:dl_lib_leak */
}

/* Blocks the program frees after the library is gone. */
void *dl_lib_alloc(size_t n)
{
	return calloc(1, n); /* EXPECT: 0 0 [dl_lib.so] func:dl_lib_alloc */
}

/* A mapping the program keeps. */
void *dl_lib_map(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* EXPECT: 8192 1 [dl_lib.so] func:dl_lib_map */
}

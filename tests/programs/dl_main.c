/*
 * dlopen and dlclose (see tests/lib.sh for the EXPECT markers, and
 * tests/lib_reports.sh for EXPECT(nodeep), a run without argv[2]):
 *   argv[1], a library (dl_lib.c) opened, allocated through, and closed
 *     before exit; the program checks that it really was unloaded (its
 *     destructor ran, RTLD_NOLOAD finds nothing) and frees some of its
 *     blocks afterwards;
 *   argv[2], if given, a library (dl_deep.c) opened with RTLD_DEEPBIND
 *     after that, likely where the first one was, whose blocks cross to
 *     the program and back.
 * Neither library is linked to the program.  With --fork-first before
 * them, the program first forks two children in turn that allocate and
 * exit (their reports written), so that the profiler makes its
 * symbolizer ready, at the second fork, before the libraries are loaded
 * (report/symbolize.h: symbolizer_prepare; preload/lifecycle.c:
 * prepare_for_children).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void *symbol(void *handle, const char *name)
{
	void *sym = dlsym(handle, name);

	CHECK(sym != NULL, "dlsym(%s): %s", name, dlerror());
	if (!sym)
		exit(CHECK_STATUS());
	return sym;
}

static void test_closed_library(const char *path)
{
	void *handle, *blocks[3];
	char *map;
	int unloaded = 0;

	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CHECK(handle != NULL, "dlopen(%s): %s", path, dlerror());
	if (!handle)
		exit(CHECK_STATUS());
	((void (*)(int *))symbol(handle, "dl_lib_watch_unload"))(&unloaded);
	CHECK(((void *(*)(void))symbol(handle, "dl_lib_leak"))() != NULL, "dl_lib_leak failed");
	for (int i = 0; i < 3; i++) {
		blocks[i] = ((void *(*)(size_t))symbol(handle, "dl_lib_alloc"))(1000);
		CHECK(blocks[i] != NULL, "dl_lib_alloc failed");
	}
	map = ((void *(*)(size_t))symbol(handle, "dl_lib_map"))(8192);
	CHECK(map != MAP_FAILED, "dl_lib_map failed");
	if (map != MAP_FAILED)
		memset(map, 1, 8192);

	CHECK(dlclose(handle) == 0, "dlclose: %s", dlerror());
	CHECK(unloaded == 1, "dlclose did not run the library's destructor");
	handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	CHECK(handle == NULL, "the library is still loaded after dlclose");
	for (int i = 0; i < 3; i++)
		free(blocks[i]);
}

static void test_deepbind(const char *path)
{
	void *handle;
	char *s, *p;

	/* A probe that loads nothing: not worth the profiler's line. */
	CHECK(dlopen("libz.so.1", RTLD_NOW | RTLD_NOLOAD | RTLD_DEEPBIND) == NULL,
	      "libz.so.1 is loaded");
	handle = dlopen(path, RTLD_NOW | RTLD_DEEPBIND);
	CHECK(handle != NULL, "dlopen(%s, RTLD_DEEPBIND): %s", path, dlerror());
	if (!handle)
		exit(CHECK_STATUS());

	s = ((char *(*)(const char *))symbol(handle, "dl_deep_strdup"))("deep");
	CHECK(s != NULL && strcmp(s, "deep") == 0, "dl_deep_strdup returned %s", s ? s : "NULL");
	free(s);

	p = malloc(50); /* EXPECT: 0 0 func:test_deepbind */ /* EXPECT(nodeep): none */
	CHECK(p != NULL, "malloc(50) failed");
	if (p)
		memset(p, 'p', 50);
	((void (*)(void *))symbol(handle, "dl_deep_free"))(p);

	CHECK(((int (*)(void))symbol(handle, "dl_deep_roundtrip"))() == 0,
	      "a block allocated and grown inside the library lost its contents");
	CHECK(((void *(*)(void))symbol(handle, "dl_deep_leak"))() != NULL, "dl_deep_leak failed");
	CHECK(dlclose(handle) == 0, "dlclose: %s", dlerror());
}

static void fork_a_child(void)
{
	pid_t child = fork();
	int status;

	CHECK(child >= 0, "fork failed");
	if (child == 0) {
		char *volatile p = malloc(77);

		free(p);
		exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the child failed");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--fork-first")) {
		fork_a_child();
		fork_a_child();
		argv++;
		argc--;
	}
	CHECK(argc == 2 || argc == 3, "usage: dl_main [--fork-first] LIBRARY [DEEPBIND-LIBRARY]");
	if (argc != 2 && argc != 3)
		return CHECK_STATUS();
	test_closed_library(argv[1]);
	if (argc == 3)
		test_deepbind(argv[2]);
	return CHECK_STATUS();
}

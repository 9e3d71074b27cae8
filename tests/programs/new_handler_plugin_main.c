/*
 * A C program that loads C++ code with dlopen(RTLD_LOCAL) and runs its
 * operator new checks (tests/programs/new_handler.cc, built as a
 * library): argv[1] is the library's path.  libstdc++ comes with the
 * library, after the preload library was bound, in a scope of its own.  Exits with the library's status, or 2 when
 * it cannot be loaded.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	void *lib;
	int (*run)(void);

	if (argc != 2) {
		fprintf(stderr, "usage: new_handler_plugin_main LIBRARY\n");
		return 2;
	}
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "new_handler_plugin_main: %s\n", dlerror());
		return 2;
	}
	*(void **)&run = dlsym(lib, "new_handler_plugin_run");
	if (!run) {
		fprintf(stderr, "new_handler_plugin_main: %s\n", dlerror());
		return 2;
	}
	return run();
}

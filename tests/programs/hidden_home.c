/*
 * A program with a getenv of its own, as bash has, exported (-rdynamic)
 * so that the preloaded library's calls reach it as they reach bash's:
 * once main has started it finds neither HOME nor XDG_CACHE_HOME.
 * bash's getenv looks in its own variables, and while it imports them
 * finds no HOME; the profiler, asking for its cache folder then, used
 * none for the whole run (tests/integration/hidden_home.sh).
 *
 *   hidden_home            hides the two variables once main starts
 *   hidden_home DIR        hides nothing, and sets HOME=DIR in main, as
 *                          a program started without one may
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int main_started;

char *getenv(const char *name)
{
	size_t len = strlen(name);

	if (main_started && (!strcmp(name, "HOME") || !strcmp(name, "XDG_CACHE_HOME")))
		return NULL;
	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, name, len) && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

int main(int argc, char **argv)
{
	char *kept;

	if (argc > 1) {
		if (setenv("HOME", argv[1], 1) != 0)
			return 1;
	} else {
		main_started = 1;
		if (getenv("HOME")) {
			fprintf(stderr, "hidden_home: HOME is not hidden\n");
			return 1;
		}
	}
	kept = malloc(48); /* EXPECT: 48 1 func:main */
	if (!kept)
		return 1;
	/* Left allocated: the report at exit shows it. */
	return 0;
}

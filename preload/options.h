/*
 * Options, read once from the environment by the preload library's
 * constructor and handed down as plain values.  Nothing below preload/
 * reads the environment.
 */
#ifndef ALLOCINFO_PRELOAD_OPTIONS_H
#define ALLOCINFO_PRELOAD_OPTIONS_H

#include <limits.h>
#include <stdbool.h>

#include "core/alloc.h"
#include "core/mmap.h"
#include "report/wrapper_names.h"

#define ALLOCINFO_DEFAULT_OUTPUT "allocinfo.%e.%p"

struct allocinfo_options {
	struct core_options core;                /* ALLOCINFO_SIZE */
	char output_template[PATH_MAX];          /* ALLOCINFO_OUTPUT */
	enum core_mmap_mode mmap_mode;           /* ALLOCINFO_MMAP */
	bool follow;                             /* ALLOCINFO_FOLLOW */
	double interval_seconds;                 /* ALLOCINFO_INTERVAL; 0 = off */
	unsigned int stack_depth;                /* ALLOCINFO_DEPTH */
	char wrappers[WRAPPER_NAMES_USER_MAX];   /* ALLOCINFO_WRAPPERS; "" = none */
	char cache[PATH_MAX];                    /* ALLOCINFO_CACHE; "" = default */
};

/*
 * Fills @options from the environment.  A bad value gets one line on
 * stderr naming the variable and the value, and the default is used.
 */
void options_read(struct allocinfo_options *options);

#endif

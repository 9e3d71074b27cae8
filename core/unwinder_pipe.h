/*
 * libunwind's memory-check pipe, kept to itself (unwinder_pipe.c).
 */
#ifndef ALLOCINFO_CORE_UNWINDER_PIPE_H
#define ALLOCINFO_CORE_UNWINDER_PIPE_H

#include <stdbool.h>

/*
 * Points the calls of pipe2, read and close of the libunwind loaded as
 * @handle (by dlopen) at the guards in unwinder_pipe.c, before it makes
 * its pipe.  False if it imports one of them and its slot could not be
 * set, or its dynamic section is not as expected: then it must not be
 * used.
 */
bool unwinder_pipe_guard(void *handle);

#endif

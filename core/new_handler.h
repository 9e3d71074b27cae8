/* Calling the C++ new_handler from C (see new_handler.cc). */
#ifndef ALLOCINFO_CORE_NEW_HANDLER_H
#define ALLOCINFO_CORE_NEW_HANDLER_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Calls @handler; false if it threw. */
bool new_handler_call_nothrow(void (*handler)(void));

#ifdef __cplusplus
}
#endif

#endif

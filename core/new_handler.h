/* Calling the C++ new_handler from C (see new_handler.cc). */
#ifndef ALLOCINFO_CORE_NEW_HANDLER_H
#define ALLOCINFO_CORE_NEW_HANDLER_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether new_handler_call_nothrow can catch: libstdc++'s names it
 * needs were bound when the library was loaded. */
bool new_handler_can_catch(void);

/* Calls @handler; false if it threw.  Only where new_handler_can_catch. */
bool new_handler_call_nothrow(void (*handler)(void));

#ifdef __cplusplus
}
#endif

#endif

// The one piece of C++ in allocinfo.
//
// The nothrow forms of operator new must return nullptr when the
// new_handler throws ([new.delete.single]: they behave as if they called
// the throwing form inside try/catch).  C cannot catch an exception, so
// this is the catch.
//
// The library does not link libstdc++: a C program never loads it (it
// cost every process about 0.9 ms).  So the catch's names from libstdc++
// are weak: in a C++ program, which loaded libstdc++ before the library's
// symbols were bound, they are libstdc++'s; where they are not bound
// (libstdc++ came later, with dlopen) new_handler_can_catch says so, and
// malloc_api.c does without this.
#include "core/new_handler.h"

asm(".weak __gxx_personality_v0");

#pragma GCC visibility push(default)
extern "C" {
void *__cxa_begin_catch(void *exception) throw() __attribute__((weak));
void __cxa_end_catch() __attribute__((weak));
int __gxx_personality_v0(...) __attribute__((weak));
}
#pragma GCC visibility pop

extern "C" bool new_handler_can_catch(void)
{
	return __cxa_begin_catch && __cxa_end_catch && __gxx_personality_v0;
}

extern "C" bool new_handler_call_nothrow(void (*handler)(void))
{
	try {
		handler();
		return true;
	} catch (...) {
		return false;
	}
}

// The one piece of C++ in allocinfo.
//
// The nothrow forms of operator new must return nullptr when the
// new_handler throws ([new.delete.single]: they behave as if they called
// the throwing form inside try/catch).  C cannot catch an exception, so
// this is the catch.  libstdc++ is in every profiled process already:
// Debian's libjemalloc links it.
#include "core/new_handler.h"

extern "C" bool new_handler_call_nothrow(void (*handler)(void))
{
	try {
		handler();
		return true;
	} catch (...) {
		return false;
	}
}

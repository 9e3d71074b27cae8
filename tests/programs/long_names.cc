// A block made in a function whose mangled name is 39 KB long: a
// template instantiated with a list of 3,000 distinct types
// (tests/integration/long_names.sh).  The report at exit names it, and
// with a wrapper pattern that names a C++ scope the router matches it
// at the block's first sight, both on the profiler's own stacks
// (core/profiler_stack.h); libstdc++'s demangler refuses a name that
// long (its parse would need more than 2,048 components), so the report
// prints it mangled.  Prints "long name 200".
#include <cstdio>
#include <cstdlib>

#include "check.h"

#define ONE_TYPE(n) struct Type##n {};
#define TEN_TYPES(n) ONE_TYPE(n##0) ONE_TYPE(n##1) ONE_TYPE(n##2) ONE_TYPE(n##3) \
	ONE_TYPE(n##4) ONE_TYPE(n##5) ONE_TYPE(n##6) ONE_TYPE(n##7) ONE_TYPE(n##8) ONE_TYPE(n##9)
#define HUNDRED_TYPES(n) TEN_TYPES(n##0) TEN_TYPES(n##1) TEN_TYPES(n##2) TEN_TYPES(n##3) \
	TEN_TYPES(n##4) TEN_TYPES(n##5) TEN_TYPES(n##6) TEN_TYPES(n##7) TEN_TYPES(n##8) TEN_TYPES(n##9)
#define THOUSAND_TYPES(n) HUNDRED_TYPES(n##0) HUNDRED_TYPES(n##1) HUNDRED_TYPES(n##2) \
	HUNDRED_TYPES(n##3) HUNDRED_TYPES(n##4) HUNDRED_TYPES(n##5) HUNDRED_TYPES(n##6) \
	HUNDRED_TYPES(n##7) HUNDRED_TYPES(n##8) HUNDRED_TYPES(n##9)

#define ONE_NAME(n) Type##n
#define TEN_NAMES(n) ONE_NAME(n##0), ONE_NAME(n##1), ONE_NAME(n##2), ONE_NAME(n##3), \
	ONE_NAME(n##4), ONE_NAME(n##5), ONE_NAME(n##6), ONE_NAME(n##7), ONE_NAME(n##8), ONE_NAME(n##9)
#define HUNDRED_NAMES(n) TEN_NAMES(n##0), TEN_NAMES(n##1), TEN_NAMES(n##2), TEN_NAMES(n##3), \
	TEN_NAMES(n##4), TEN_NAMES(n##5), TEN_NAMES(n##6), TEN_NAMES(n##7), TEN_NAMES(n##8), \
	TEN_NAMES(n##9)
#define THOUSAND_NAMES(n) HUNDRED_NAMES(n##0), HUNDRED_NAMES(n##1), HUNDRED_NAMES(n##2), \
	HUNDRED_NAMES(n##3), HUNDRED_NAMES(n##4), HUNDRED_NAMES(n##5), HUNDRED_NAMES(n##6), \
	HUNDRED_NAMES(n##7), HUNDRED_NAMES(n##8), HUNDRED_NAMES(n##9)

namespace long_names {

THOUSAND_TYPES(1)
THOUSAND_TYPES(2)
THOUSAND_TYPES(3)

template <typename... Types> struct TypeList {};

template <typename List> __attribute__((noinline)) void *make_block(size_t n)
{
	return malloc(n); /* EXPECT: 200 1 */
}

} // namespace long_names

int main()
{
	using namespace long_names;
	using Long = TypeList<THOUSAND_NAMES(1), THOUSAND_NAMES(2), THOUSAND_NAMES(3)>;
	void *kept = make_block<Long>(200);

	CHECK(kept != NULL, "the block");
	std::printf("long name %d\n", kept ? 200 : 0);
	return CHECK_STATUS();
}

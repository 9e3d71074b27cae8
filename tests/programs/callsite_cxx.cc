/*
 * Call sites that a developer can act on, in C++ (see tests/lib.sh for
 * the EXPECT markers).  Built -g at -O0 and at -O2; every marker holds
 * for both.  Names are demangled without parameters, as `c++filt -p`
 * prints them; the standard library (std::vector, std::string,
 * std::make_unique) is seen through to the line that used it.
 */
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "thread_helper.h"

// Touched after calls, so -O2 keeps them calls and not jumps.
static volatile int touched;

namespace ns {
class Klass {
public:
	int *method(int n);
};

__attribute__((noinline)) int *Klass::method(int n)
{
	int *p = new int[n]; /* EXPECT: 20 1 func:ns::Klass::method */

	p[0] = n;
	return p;
}
} // namespace ns

template <typename T> __attribute__((noinline)) T *make(T value)
{
	T *p = new T(value); /* EXPECT: 8 1 func:make<long> */

	touched++;
	return p;
}

// Kept until exit: the containers' memory stays live.
static std::vector<int> *numbers;
static std::string *text;
static std::unique_ptr<double[]> *doubles;

__attribute__((noinline)) void fill_containers()
{
	numbers = new std::vector<int>; /* EXPECT: 24 1 func:fill_containers */
	for (int i = 0; i < 5; i++)
		numbers->push_back(i); /* EXPECT: 32 1 func:fill_containers */
	text = new std::string; /* EXPECT: 32 1 func:fill_containers */
	text->assign(40, 'x'); /* EXPECT: 41 1 func:fill_containers */
	doubles = new std::unique_ptr<double[]>; /* EXPECT: 8 1 func:fill_containers */
	*doubles = std::make_unique<double[]>(3); /* EXPECT: 24 1 func:fill_containers */
	touched++;
}

// Grown by libstdc++'s wrappers that call wrappers (append calls
// _M_replace_aux, which calls _M_mutate, which calls operator new), at
// one line 200 times: after the first few, each is charged through the
// wrappers' own tags (core/alloc_tag.h, codetag_charged_past_wrappers).
static std::string *grown;

__attribute__((noinline)) void grow_strings()
{
	grown = new std::string[200]; /* EXPECT: 6408 1 func:grow_strings */
	for (int i = 0; i < 200; i++)
		grown[i].append(40, 'y'); /* EXPECT: 8200 200 func:grow_strings */
	touched++;
}

__attribute__((noinline)) void test_lambda()
{
	static char *kept;
	// Not inlined: GCC's DWARF gives an inlined lambda no linkage name,
	// and the report would say func:operator() (README, "Call sites").
	auto grab = [](int n) __attribute__((noinline)) {
		char *p = new char[n]; /* EXPECT: 16 1 func:test_lambda()::{lambda(int)#1}::operator() */

		touched++;
		return p;
	};

	kept = grab(16);
	touched++;
	CHECK(kept != nullptr, "lambda allocation failed");
}

/*
 * A std::thread's lambda: libstdc++ calls it from
 * std::thread::_State_impl<...>::_M_run(), which -O2 inlines it into;
 * its block is charged to its own line, not to where libstdc++ starts
 * the thread.  (No func: the inlined lambda's DWARF has no linkage name,
 * so -O2 names it operator().)
 */
static int *from_thread;

__attribute__((noinline)) static void test_thread()
{
	run_on_thread([] {
		from_thread = new int[25]; /* EXPECT: 100 1 */
		touched = 1;
	});
}

/*
 * std::function keeps a callable larger than its own storage in a block
 * of its own, made by _M_init_functor, a member template to which GCC
 * gives no linkage name when it inlines it (-O2): the symbolizer knows
 * it is std::'s by the header that declares it.  The move keeps the
 * block where it is.
 */
static std::function<long()> *kept_function;
static long kept_function_value;

__attribute__((noinline)) static void test_function()
{
	long big[8] = { touched, 1, 2, 3, 4, 5, 6, 7 };
	std::function<long()> local([big] { return big[0] + big[7]; }); /* EXPECT: 64 1 */

	kept_function = new std::function<long()>(std::move(local)); /* EXPECT: 32 1 */
	kept_function_value = big[0] + big[7];
}

/*
 * A std::function's lambda called through it: libstdc++'s
 * _Function_handler<...>::_M_invoke() calls it, and -O2 inlines it
 * there; its block is charged to its own line, not to the line that
 * called the std::function.
 */
static char *from_function;

__attribute__((noinline)) static void call_function(const std::function<void()> &fn)
{
	fn();
	touched = 2;
}

__attribute__((noinline)) static void test_function_call()
{
	call_function([] {
		from_function = new char[24]; /* EXPECT: 24 1 */
	});
}

int main()
{
	ns::Klass k;
	int *a = k.method(5);
	long *b = make(7L);

	fill_containers();
	grow_strings();
	test_lambda();
	test_thread();
	test_function();
	test_function_call();
	CHECK(a[0] == 5 && *b == 7, "values");
	CHECK(numbers->size() == 5 && text->size() == 40, "containers");
	CHECK(grown[199].size() == 40, "grown strings");
	CHECK(from_thread != nullptr, "the thread ran");
	CHECK((*kept_function)() == kept_function_value, "the kept function");
	CHECK(from_function != nullptr, "the called function");
	return CHECK_STATUS();
}

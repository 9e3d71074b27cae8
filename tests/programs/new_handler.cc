/*
 * operator new's failure path: the new_handler loop, std::bad_alloc,
 * and nothrow new (see tests/lib.sh for the EXPECT markers).
 *
 * [new.delete.single]: a failed allocation calls the current
 * new_handler and tries again, for as long as there is a handler; with
 * none it throws std::bad_alloc (nothrow: returns nullptr).  The
 * nothrow forms behave as if they called the throwing form and returned
 * nullptr on an exception, so a handler that throws bad_alloc makes them
 * return nullptr.
 *
 * To see a retry succeed, an address-space limit makes a 1 GiB
 * allocation fail until the handler lifts the limit.
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <new>

#include <sys/resource.h>

#include "check.h"

static std::size_t volatile huge = SIZE_MAX / 2;

static int handler_calls;

// Gives up on the third call: the allocation then throws.
static void handler_gives_up(void)
{
	if (++handler_calls == 3)
		std::set_new_handler(nullptr);
}

static void handler_throws(void)
{
	handler_calls++;
	// __cxa_allocate_exception is a wrapper: the throw is the site.
	throw std::bad_alloc(); /* EXPECT: 0 0 */
}

static struct rlimit saved_as;

static void handler_lifts_limit(void)
{
	handler_calls++;
	setrlimit(RLIMIT_AS, &saved_as);
}

// The process's address space now, in bytes (/proc/self/statm, field 1).
static std::size_t address_space_size(void)
{
	unsigned long pages = 0;
	std::FILE *f = std::fopen("/proc/self/statm", "r");

	if (f) {
		if (std::fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		std::fclose(f);
	}
	return pages * 4096;
}

static void test_handler_retries_then_throws(void)
{
	bool caught = false;

	handler_calls = 0;
	std::set_new_handler(handler_gives_up);
	try {
		void *p = ::operator new(huge); /* EXPECT: none */
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		caught = true;
	}
	CHECK(caught, "operator new(huge) did not throw once the handler was removed");
	CHECK(handler_calls == 3, "new_handler called %d times, not 3", handler_calls);

	// The same for new[] and the aligned and nothrow forms.
	handler_calls = 0;
	std::set_new_handler(handler_gives_up);
	caught = false;
	try {
		void *p = ::operator new[](huge, std::align_val_t(64)); /* EXPECT: none */
		::operator delete[](p, std::align_val_t(64));
	} catch (const std::bad_alloc &) {
		caught = true;
	}
	CHECK(caught, "operator new[](huge, align 64) did not throw");
	CHECK(handler_calls == 3, "new_handler called %d times for new[] aligned, not 3",
	      handler_calls);

	handler_calls = 0;
	std::set_new_handler(handler_gives_up);
	void *p = ::operator new(huge, std::nothrow); /* EXPECT: none */
	CHECK(p == nullptr, "operator new(huge, nothrow) = %p", p);
	CHECK(handler_calls == 3, "new_handler called %d times for nothrow new, not 3",
	      handler_calls);
}

static void test_throwing_handler(void)
{
	bool caught = false;

	handler_calls = 0;
	std::set_new_handler(handler_throws);
	try {
		void *p = ::operator new(huge); /* EXPECT: none */
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		caught = true;
	}
	CHECK(caught, "the handler's bad_alloc did not reach the caller of operator new");
	CHECK(handler_calls == 1, "throwing handler called %d times, not 1", handler_calls);

	handler_calls = 0;
	void *p = ::operator new(huge, std::nothrow); /* EXPECT: none */
	CHECK(p == nullptr, "operator new(huge, nothrow) with a throwing handler = %p", p);
	CHECK(handler_calls == 1, "throwing handler called %d times for nothrow new, not 1",
	      handler_calls);

	handler_calls = 0;
	void *q = ::operator new[](huge, std::align_val_t(32), std::nothrow); /* EXPECT: none */
	CHECK(q == nullptr, "operator new[](huge, align 32, nothrow) with a throwing handler = %p", q);
	CHECK(handler_calls == 1, "throwing handler called %d times for aligned nothrow new[], not 1",
	      handler_calls);
	std::set_new_handler(nullptr);
}

// Leaves @room bytes of address space, and handler_lifts_limit as the
// new_handler, which gives the rest back.
static void limit_until_handler(std::size_t room)
{
	struct rlimit tight;

	CHECK(getrlimit(RLIMIT_AS, &saved_as) == 0, "getrlimit failed");
	tight = saved_as;
	tight.rlim_cur = address_space_size() + room;
	CHECK(setrlimit(RLIMIT_AS, &tight) == 0, "setrlimit failed");
	handler_calls = 0;
	std::set_new_handler(handler_lifts_limit);
}

static void test_retry_succeeds(void)
{
	const std::size_t gib = std::size_t(1) << 30;

	limit_until_handler(256 * 1024 * 1024);
	char *big = new char[gib]; /* EXPECT: 1073741824 1 */
	big[0] = 1;
	big[gib - 1] = 2;
	CHECK(handler_calls == 1, "new_handler called %d times before the retry succeeded, not 1",
	      handler_calls);
	std::set_new_handler(nullptr);
	// Kept until exit: the report shows it live.
	CHECK(big[0] + big[gib - 1] == 3, "the block lost its bytes");
}

/*
 * The same for a small block, whose failure comes from a small class:
 * 48-byte blocks until the address space runs out (the handler lifts
 * the limit, and the block is made on the retry).  All but that last
 * block are freed again, each linked to the one before.  Plain and
 * nothrow new.
 */
static void *small_blocks_until_handler(bool nothrow)
{
	const long max_blocks = 20L * 1000 * 1000;
	void *chain = nullptr, *p = nullptr;

	limit_until_handler(32 * 1024 * 1024);
	for (long n = 0; n < max_blocks && handler_calls == 0; n++) {
		if (nothrow)
			p = ::operator new(48, std::nothrow); /* EXPECT: 48 1 */
		else
			p = ::operator new(48); /* EXPECT: 48 1 */
		CHECK(p != nullptr, "a 48-byte new failed after %ld blocks", n);
		if (!p)
			break;
		*(void **)p = chain;
		chain = p;
	}
	std::set_new_handler(nullptr);
	setrlimit(RLIMIT_AS, &saved_as);
	CHECK(handler_calls == 1, "new_handler called %d times for %s 48-byte blocks, not 1",
	      handler_calls, nothrow ? "nothrow" : "plain");
	chain = p ? *(void **)p : nullptr;
	while (chain) {
		void *next = *(void **)chain;

		::operator delete(chain);
		chain = next;
	}
	return p;
}

// Kept until exit: the report shows the last block of each loop live.
static void *small_retried[2];

static void test_small_retry_succeeds(void)
{
	small_retried[0] = small_blocks_until_handler(false);
	small_retried[1] = small_blocks_until_handler(true);
}

// Built twice: as a program, and with NEW_HANDLER_PLUGIN as a library
// that a C program loads with dlopen (new_handler_plugin_main.c).
#ifdef NEW_HANDLER_PLUGIN
extern "C" int new_handler_plugin_run(void)
#else
int main()
#endif
{
	test_handler_retries_then_throws();
	test_retry_succeeds();
	test_small_retry_succeeds();
	test_throwing_handler();
	return CHECK_STATUS();
}

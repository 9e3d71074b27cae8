/*
 * C++ operators new and delete in their standard forms at known call
 * sites (see sites_c.c and tests/lib.sh for the EXPECT markers).
 *
 * The tag of `new T` is the line that says new, with the size that the
 * compiler asks operator new for: sizeof(T) times the count, plus an
 * 8-byte array cookie when T has a non-trivial destructor.  The
 * new_handler forms are in new_handler.cc.
 */
#include <cstddef>
#include <cstdint>
#include <new>

#include <malloc.h>

#include "check.h"

// Blocks deliberately kept until exit.
static void *leaked[64];
static int nleaked;

static void leak(void *p)
{
	CHECK(nleaked < (int)(sizeof(leaked) / sizeof(leaked[0])), "more than %d leaked blocks", nleaked);
	if (nleaked < (int)(sizeof(leaked) / sizeof(leaked[0])))
		leaked[nleaked++] = p;
}

static bool is_aligned(const void *p, std::size_t align)
{
	return (reinterpret_cast<std::uintptr_t>(p) & (align - 1)) == 0;
}

// 12 bytes with a destructor: new[] stores the count in a cookie.
struct WithDtor {
	char bytes[12];
	~WithDtor() { bytes[0] = 0; }
};
static_assert(sizeof(WithDtor) == 12, "the EXPECT markers assume 12 bytes");

// Trivially destructible: no cookie.
struct Plain {
	char bytes[12];
};

struct alignas(64) Aligned64 {
	char bytes[100];
};
static_assert(sizeof(Aligned64) == 128, "the EXPECT markers assume 128 bytes");

struct alignas(4096) AlignedPage {
	char bytes[10];
};

struct alignas(64) Aligned64Dtor {
	char bytes[64];
	~Aligned64Dtor() { bytes[0] = 0; }
};

static std::size_t volatile huge = SIZE_MAX / 2;

static void test_scalar(void)
{
	int *a = new int(7); /* EXPECT: 4 1 */
	CHECK(*a == 7, "new int(7) holds %d", *a);
	leak(a);

	int *b = new int; /* EXPECT: 0 0 */
	delete b;

	Plain *p = new Plain; /* EXPECT: 12 1 */
	CHECK(is_aligned(p, 16), "new Plain = %p is not 16-aligned", (void *)p);
	leak(p);

	WithDtor *w = new WithDtor; /* EXPECT: 0 0 */
	delete w;

	for (int i = 0; i < 10; i++) {
		double *d = new double; /* EXPECT: 48 6 */
		if (i % 3 == 0)
			delete d;
		else
			leak(d);
	}
}

static void test_arrays(void)
{
	int *ints = new int[10]; /* EXPECT: 40 1 */
	leak(ints);

	Plain *plain = new Plain[5]; /* EXPECT: 60 1 */
	leak(plain);

	// 5 * 12 + the 8-byte cookie.
	WithDtor *cookie = new WithDtor[5]; /* EXPECT: 68 1 */
	leak(cookie);

	WithDtor *gone = new WithDtor[3]; /* EXPECT: 0 0 */
	delete[] gone;

	char *empty = new char[0]; /* EXPECT: 0 1 */
	CHECK(empty != nullptr, "new char[0] returned nullptr");
	leak(empty);
}

static void test_nothrow(void)
{
	int *n = new (std::nothrow) int[3]; /* EXPECT: 12 1 */
	CHECK(n != nullptr, "new (nothrow) int[3] returned nullptr");
	leak(n);

	Plain *p = new (std::nothrow) Plain; /* EXPECT: 0 0 */
	CHECK(p != nullptr, "new (nothrow) Plain returned nullptr");
	delete p;

	// No new_handler is installed: nothrow new returns nullptr.
	void *fail = ::operator new(huge, std::nothrow); /* EXPECT: none */
	CHECK(fail == nullptr, "operator new(huge, nothrow) = %p", fail);
	void *fail_array = ::operator new[](huge, std::nothrow); /* EXPECT: none */
	CHECK(fail_array == nullptr, "operator new[](huge, nothrow) = %p", fail_array);
}

static void test_sized_delete(void)
{
	void *p = ::operator new(24); /* EXPECT: 0 0 */
	::operator delete(p, 24);

	void *q = ::operator new[](40); /* EXPECT: 0 0 */
	::operator delete[](q, 40);

	void *r = ::operator new(32, std::nothrow); /* EXPECT: 0 0 */
	::operator delete(r, std::nothrow);

	void *s = ::operator new[](16, std::nothrow); /* EXPECT: 0 0 */
	::operator delete[](s, std::nothrow);
}

static void test_aligned(void)
{
	Aligned64 *a = new Aligned64; /* EXPECT: 128 1 */
	CHECK(is_aligned(a, 64), "new Aligned64 = %p", (void *)a);
	leak(a);

	Aligned64 *arr = new Aligned64[3]; /* EXPECT: 384 1 */
	CHECK(is_aligned(arr, 64), "new Aligned64[3] = %p", (void *)arr);
	leak(arr);

	Aligned64 *gone = new Aligned64; /* EXPECT: 0 0 */
	delete gone;

	Aligned64 *gone_arr = new Aligned64[2]; /* EXPECT: 0 0 */
	delete[] gone_arr;

	AlignedPage *page = new AlignedPage; /* EXPECT: 4096 1 */
	CHECK(is_aligned(page, 4096), "new AlignedPage = %p", (void *)page);
	leak(page);

	// The cookie of an over-aligned type takes a whole alignment unit.
	Aligned64Dtor *dtor_arr = new Aligned64Dtor[2]; /* EXPECT: 192 1 */
	CHECK(is_aligned(dtor_arr, 64), "new Aligned64Dtor[2] = %p", (void *)dtor_arr);
	leak(dtor_arr);

	// One site again and again: the fast path from its second call.
	for (int i = 0; i < 4; i++) {
		Aligned64 *again = new Aligned64; /* EXPECT: 512 4 */
		CHECK(is_aligned(again, 64), "new Aligned64 #%d = %p", i, (void *)again);
		leak(again);
		void *raw_again = ::operator new(200, std::align_val_t(512)); /* EXPECT: 800 4 */
		CHECK(is_aligned(raw_again, 512), "operator new(200, align 512) #%d = %p", i, raw_again);
		leak(raw_again);
		void *gone_again = ::operator new[](40, std::align_val_t(32)); /* EXPECT: 0 0 */
		CHECK(is_aligned(gone_again, 32), "operator new[](40, align 32) #%d = %p", i, gone_again);
		::operator delete[](gone_again, std::align_val_t(32));
	}

	void *raw = ::operator new(100, std::align_val_t(256)); /* EXPECT: 100 1 */
	CHECK(is_aligned(raw, 256), "operator new(100, align 256) = %p", raw);
	leak(raw);

	void *sized = ::operator new(50, std::align_val_t(128)); /* EXPECT: 0 0 */
	CHECK(is_aligned(sized, 128), "operator new(50, align 128) = %p", sized);
	::operator delete(sized, 50, std::align_val_t(128));

	void *sized_arr = ::operator new[](70, std::align_val_t(32)); /* EXPECT: 0 0 */
	CHECK(is_aligned(sized_arr, 32), "operator new[](70, align 32) = %p", sized_arr);
	::operator delete[](sized_arr, 70, std::align_val_t(32));

	Aligned64 *nt = new (std::nothrow) Aligned64; /* EXPECT: 128 1 */
	CHECK(nt != nullptr && is_aligned(nt, 64), "new (nothrow) Aligned64 = %p", (void *)nt);
	leak(nt);

	void *nt_arr = ::operator new[](10, std::align_val_t(64), std::nothrow); /* EXPECT: 0 0 */
	CHECK(nt_arr != nullptr && is_aligned(nt_arr, 64), "operator new[](10, align 64, nothrow) = %p", nt_arr);
	::operator delete[](nt_arr, std::align_val_t(64), std::nothrow);

	void *nt_gone = ::operator new(10, std::align_val_t(64), std::nothrow); /* EXPECT: 0 0 */
	::operator delete(nt_gone, std::align_val_t(64), std::nothrow);

	// An alignment that is not a power of two is refused.
	bool caught = false;
	try {
		void *bad = ::operator new(10, std::align_val_t(48)); /* EXPECT: none */
		leak(bad);
	} catch (const std::bad_alloc &) {
		caught = true;
	}
	CHECK(caught, "operator new(10, align 48) did not throw std::bad_alloc");
	void *bad_nt = ::operator new(10, std::align_val_t(48), std::nothrow); /* EXPECT: none */
	CHECK(bad_nt == nullptr, "operator new(10, align 48, nothrow) = %p", bad_nt);
}

static void test_bad_alloc(void)
{
	bool caught = false;

	try {
		void *p = ::operator new(huge); /* EXPECT: none */
		leak(p);
	} catch (const std::bad_alloc &) {
		caught = true;
	}
	CHECK(caught, "operator new(huge) did not throw std::bad_alloc");

	caught = false;
	try {
		void *p = ::operator new[](huge); /* EXPECT: none */
		leak(p);
	} catch (const std::bad_alloc &) {
		caught = true;
	}
	CHECK(caught, "operator new[](huge) did not throw std::bad_alloc");

	caught = false;
	try {
		void *p = ::operator new(huge, std::align_val_t(64)); /* EXPECT: none */
		leak(p);
	} catch (const std::bad_alloc &) {
		caught = true;
	}
	CHECK(caught, "operator new(huge, align 64) did not throw std::bad_alloc");
}

int main()
{
	delete static_cast<int *>(nullptr);
	delete[] static_cast<int *>(nullptr);
	test_scalar();
	test_arrays();
	test_nothrow();
	test_sized_delete();
	test_aligned();
	test_bad_alloc();
	return CHECK_STATUS();
}

/*
 * Unit tests of the names behind call sites: the short form of demangled
 * C++ names (report/demangle.c), the wrapper globs and the built-in list
 * (report/wrapper_names.c), and stack tags (core/codetag.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_tag.h"
#include "core/codetag.h"
#include "report/demangle.h"
#include "report/wrapper_names.h"
#include "tests/unit/harness.h"

static bool shortened(const char *full, const char *want)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", full);
	demangle_shorten(buf);
	return CHECK_EQ_STR(buf, want);
}

/* The expected forms are what `c++filt -p` prints for the same symbols. */
static void test_shorten(void)
{
	shortened("ns::Klass::method(int)", "ns::Klass::method");
	shortened("long* make<long>(long)", "make<long>");
	shortened("void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
		  "(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)",
		  "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>");
	shortened("test_lambda()::{lambda(int)#1}::operator()(int) const",
		  "test_lambda()::{lambda(int)#1}::operator()");
	shortened("(anonymous namespace)::pool::allocate(unsigned long)",
		  "(anonymous namespace)::pool::allocate");
	shortened("operator new(unsigned long)", "operator new");
	shortened("Foo::operator int() const", "Foo::operator int");
	shortened("Foo::operator<<(int)", "Foo::operator<<");
	shortened("Foo::operator()(int) &&", "Foo::operator()");
	shortened("unsigned long ns::count<char>(char const*) [clone .cold]",
		  "ns::count<char>");
	shortened("plain_c_name", "plain_c_name");
}

static void test_demangle(void)
{
	char buf[256];

	/* No libstdc++ in this test: only the refusals are certain. */
	CHECK(!demangle_short("malloc", buf, sizeof(buf)));
	CHECK(!demangle_short("", buf, sizeof(buf)));
}

static void test_glob(void)
{
	CHECK(wrapper_names_glob("xmalloc", "xmalloc"));
	CHECK(!wrapper_names_glob("xmalloc", "xmalloc_failed"));
	CHECK(wrapper_names_glob("g_malloc*", "g_malloc0_n"));
	CHECK(wrapper_names_glob("*alloc", "pool_alloc"));
	CHECK(wrapper_names_glob("p?ol_*", "pool_alloc"));
	CHECK(wrapper_names_glob("*a*b*c", "xxaxxbxxc"));
	CHECK(!wrapper_names_glob("*a*b*c", "xxaxxcxxb"));
	CHECK(wrapper_names_glob("*", ""));
	CHECK(!wrapper_names_glob("?", ""));
}

static void test_builtin_list(void)
{
	CHECK(wrapper_names_match("strdup"));
	CHECK(wrapper_names_match("__strdup"));
	CHECK(wrapper_names_match("xcalloc"));
	CHECK(wrapper_names_match("Perl_safesysmalloc"));
	CHECK(wrapper_names_match("PyMem_RawMalloc"));
	CHECK(!wrapper_names_match("PyMember_GetOne"));
	CHECK(wrapper_names_match("sqlite3Malloc"));
	CHECK(wrapper_names_match("CRYPTO_zalloc"));
	CHECK(!wrapper_names_match("CRYPTO_free"));
	CHECK(wrapper_names_match("g_strdup_printf"));
	/* std::vector<int>::_M_realloc_insert, std::__cxx11::string::_M_create */
	CHECK(wrapper_names_match("_ZNSt6vectorIiSaIiEE17_M_realloc_insertIJRKiEEEvN9__gnu_cxx17__normal_iteratorIPiS1_EEDpOT_"));
	CHECK(wrapper_names_match("_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE9_M_createERmm"));
	/* A user function taking a std::vector is not in std::. */
	CHECK(!wrapper_names_match("_Z4fillRSt6vectorIiSaIiEE"));
	CHECK(!wrapper_names_match("main"));
	CHECK(!wrapper_names_match("my_wrapper"));
	CHECK(!wrapper_names_add_user("a,,b"));
	CHECK(!wrapper_names_add_user(",a"));
	CHECK(wrapper_names_add_user("my_wrapper,pool_*"));
	CHECK(wrapper_names_match("my_wrapper"));
	CHECK(wrapper_names_match("pool_alloc"));
	CHECK(!wrapper_names_match("my_wrapper2"));
}

static void test_stack_tags(void)
{
	static const uintptr_t chain_a[3] = { 0x1000, 0x2000, 0x3000 };
	static const uintptr_t chain_b[3] = { 0x1000, 0x2000, 0x3001 };
	uintptr_t *copy = malloc(sizeof(chain_a));
	uint32_t a, b, again;
	int kept;

	if (!CHECK(copy != NULL))
		return;
	CHECK_EQ_INT(codetag_find_stack(chain_a, 3), 0);
	memcpy(copy, chain_a, sizeof(chain_a));
	a = codetag_index_for_stack(copy, 3, &kept);
	CHECK(kept);
	CHECK(a >= CODETAG_FIRST_SITE);
	CHECK_EQ_INT(codetag_find_stack(chain_a, 3), a);
	/* Another chain with the same innermost site is another tag. */
	b = codetag_index_for_stack(chain_b, 3, &kept);
	CHECK(kept);
	CHECK(b != a);
	/* A shorter chain is another tag too. */
	again = codetag_find_stack(chain_a, 2);
	CHECK_EQ_INT(again, 0);
	CHECK_EQ_INT(codetag_tag(a)->ct.site, 0x1000);
	CHECK_EQ_INT(codetag_tag(a)->ct.stack_depth, 3);
	CHECK_EQ_INT(codetag_tag(a)->ct.route, CODETAG_ROUTE_SELF);
}

int main(void)
{
	RUN_TEST(test_shorten);
	RUN_TEST(test_demangle);
	RUN_TEST(test_glob);
	RUN_TEST(test_builtin_list);
	RUN_TEST(test_stack_tags);
	return harness_summary();
}

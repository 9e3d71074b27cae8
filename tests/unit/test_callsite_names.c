/*
 * Unit tests of the names behind call sites: the short form of demangled
 * C++ names (report/demangle.c), Rust's names (report/rust_names.c), the
 * wrapper globs and the built-in list (report/wrapper_names.c), and stack
 * tags (core/codetag.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_tag.h"
#include "core/codetag.h"
#include "core/address_sort.h"
#include "report/demangle.h"
#include "report/rust_names.h"
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

/* Symbols of programs built with rustc 1.95 (v0, and legacy for the
 * program's own code) and Debian's rustc 1.63 (legacy). */
static const char v0_alloc[] = "_RNvNtCslNYArtu3iFV_5alloc5alloc5alloc";
static const char v0_grow_one[] =
	"_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecyE8grow_oneCsjPdtwTXHDok_10rust_sites";
static const char v0_user_display[] =
	"_RNvXCsbVXqutUjNVO_1xNtB2_5LabelNtNtCsgEmfK2I1SDS_4core3fmt7Display3fmt";
static const char v0_trait_default[] =
	"_RNvYNtNtCslNYArtu3iFV_5alloc6string6StringNtNtCsgEmfK2I1SDS_4core3fmt5Write9write_fmtCsjPdtwTXHDok_10rust_sites";
static const char v0_closure[] = "_RNCINvNtCsjrHSEGnQ3l9_3std2rt10lang_startuE0CsbVXqutUjNVO_1x.llvm.1822091041906401208";
static const char v0_shim[] = "_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc";
static const char v0_hashbrown[] = "_RNvMNtCsgvbsrvnw3yD_9hashbrown3rawNtB2_11Fallibility9alloc_err";
static const char legacy_alloc[] = "_ZN5alloc5alloc5alloc17hb9213c8b740e8eb8E";
static const char legacy_user[] = "_ZN10rust_sites5boxed17h51623ea8cb5165eaE";
static const char legacy_user_display[] =
	"_ZN47_$LT$x..Label$u20$as$u20$core..fmt..Display$GT$3fmt17h395daac04151ae4dE";
static const char legacy_hasher[] =
	"_ZN71_$LT$core..hash..sip..Hasher$LT$S$GT$$u20$as$u20$core..hash..Hasher$GT$5write17h168234f45e102d50E";
static const char legacy_generic_self[] =
	"_ZN45_$LT$T$u20$as$u20$alloc..string..ToString$GT$9to_string17h0123456789abcdefE";
static const char legacy_closure[] =
	"_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17ha86af84d9cc65291E.llvm.42";

static bool crate_is(const char *name, const char *want)
{
	char crate[64];

	if (!rust_symbol_crate(name, crate, sizeof(crate)))
		return CHECK(!want);
	return CHECK(want) && CHECK_EQ_STR(crate, want);
}

static bool demangles_to(const char *name, const char *want)
{
	char buf[256];

	if (!demangle_short(name, buf, sizeof(buf)))
		return CHECK(!want);
	return CHECK(want) && CHECK_EQ_STR(buf, want);
}

static void test_rust_names(void)
{
	char buf[256];
	char name[512];

	crate_is(v0_alloc, "alloc");
	crate_is(v0_grow_one, "alloc");
	/* An impl's method is the crate's that wrote the impl; a trait's
	 * provided method, the trait's. */
	crate_is(v0_user_display, "x");
	crate_is(v0_trait_default, "core");
	crate_is(v0_closure, "std");
	crate_is(v0_shim, "__rustc");
	crate_is(v0_hashbrown, "hashbrown");
	crate_is(legacy_alloc, "alloc");
	crate_is(legacy_user, "rust_sites");
	/* Legacy names name no impl's crate: the type's, else the trait's. */
	crate_is(legacy_user_display, "x");
	crate_is(legacy_hasher, "core");
	crate_is(legacy_generic_self, "alloc");
	crate_is(legacy_closure, "std");
	/* C++ and C names are not Rust's. */
	crate_is("_ZN2ns5Klass6methodEi", NULL);
	crate_is("_ZN3foo3barE", NULL);
	crate_is("main", NULL);
	crate_is("_R", NULL);
	crate_is("_Rfoo", NULL);

	demangles_to(v0_alloc, "alloc::alloc::alloc");
	demangles_to(v0_grow_one, "<alloc::raw_vec::RawVec>::grow_one");
	demangles_to(v0_user_display, "<x::Label as core::fmt::Display>::fmt");
	demangles_to(v0_trait_default, "<alloc::string::String as core::fmt::Write>::write_fmt");
	demangles_to(v0_closure, "std::rt::lang_start::{closure}");
	demangles_to(v0_shim, "__rustc::__rust_alloc");
	demangles_to(legacy_alloc, "alloc::alloc::alloc");
	demangles_to(legacy_user, "rust_sites::boxed");
	demangles_to(legacy_hasher, "<core::hash::sip::Hasher<S> as core::hash::Hasher>::write");
	demangles_to(legacy_closure, "std::rt::lang_start::{{closure}}");
	/* Types in a v0 path: references, slices, arrays, tuples, pointers,
	 * functions and trait objects (hand-made from the grammar). */
	demangles_to("_RNvMCs1_1aRSh1f", "<&[u8]>::f");
	demangles_to("_RNvMCs1_1aQAmj3_1f", "<&mut [u32; 3]>::f");
	demangles_to("_RNvMCs1_1aTPbOcE1f", "<(*const bool, *mut char)>::f");
	demangles_to("_RNvMCs1_1aFEu1f", "<fn(..)>::f");
	demangles_to("_RNvMCs1_1aDNtB4_1TEL_E1f", NULL);
	demangles_to("_RNvMCs1_1aDNtB2_1TEL_1f", "<dyn a::T>::f");
	/* Too long for the buffer: refused, not cut. */
	CHECK(!rust_demangle_short(v0_grow_one, buf, 12));
	CHECK(!rust_demangle_short(legacy_hasher, buf, 12));

	/* The standard library's crates are wrappers, the program's not. */
	CHECK(wrapper_names_match(v0_alloc));
	CHECK(wrapper_names_match(v0_grow_one));
	CHECK(wrapper_names_match(v0_trait_default));
	CHECK(wrapper_names_match(v0_shim));
	CHECK(wrapper_names_match(v0_hashbrown));
	CHECK(wrapper_names_match(legacy_alloc));
	CHECK(wrapper_names_match(legacy_hasher));
	CHECK(wrapper_names_match(legacy_generic_self));
	CHECK(wrapper_names_match("__rust_alloc"));
	CHECK(wrapper_names_match("__rdl_realloc"));
	CHECK(!wrapper_names_match(v0_user_display));
	CHECK(!wrapper_names_match(legacy_user));
	CHECK(!wrapper_names_match(legacy_user_display));
	/* The runners of the program's code are not wrappers: Rust std's
	 * __rust_begin_short_backtrace, C++'s std::thread _M_run and
	 * std::function _M_invoke. */
	CHECK(!wrapper_names_match("_ZNSt6thread11_State_implINS_8_InvokerISt5tupleIJZ4mainEUlvE_EEEEE6_M_runEv"));
	CHECK(!wrapper_names_match("_ZNSt6thread11_State_implINS_8_InvokerISt5tupleIJZ4mainEUlvE_EEEEE6_M_runEv.cold"));
	CHECK(wrapper_names_match("_ZNSt6thread11_State_implINS_8_InvokerISt5tupleIJZ4mainEUlvE_EEEEED0Ev"));
	CHECK(!wrapper_names_match("_ZNSt17_Function_handlerIFvvEZ4mainEUlvE_E9_M_invokeERKSt9_Any_data"));
	CHECK(wrapper_names_match("_ZNSt17_Function_handlerIFvvEZ4mainEUlvE_E10_M_managerERSt9_Any_dataRKS3_St18_Manager_operation"));
	CHECK(!wrapper_names_match("_ZN3std3sys9backtrace28__rust_begin_short_backtrace17hdfeede13cf6da0c4E"));
	CHECK(!wrapper_names_match("_ZN3std10sys_common9backtrace28__rust_begin_short_backtrace17h99a2339b50319ca7E"));
	CHECK(!wrapper_names_match("_RINvNtNtCsjrHSEGnQ3l9_3std3sys9backtrace28___rust_begin_short_backtraceFEuuECsjPdtwTXHDok_10rust_sites"));
	/* A user's glob with "::" matches Rust's demangled names too. */
	CHECK(wrapper_names_add_user("rust_sites::b*,<x::Label as *>::fmt"));
	CHECK(wrapper_names_match(legacy_user));
	CHECK(wrapper_names_match(legacy_user_display));
	CHECK(wrapper_names_match(v0_user_display));
	CHECK(!wrapper_names_match("_ZN10rust_sites4main17h6ac54c3440f4ef3eE"));
	CHECK(wrapper_names_add_user("unrelated"));
	CHECK(!wrapper_names_match(legacy_user));

	/* Malformed names: every prefix of a real one, back-references
	 * forward or to themselves, nesting past the bound, a loop of
	 * back-references, lengths past the name: refused or read, and
	 * never past the string (ASan). */
	for (const char *const *whole = (const char *const[]){ v0_grow_one, legacy_hasher, NULL };
	     *whole; whole++) {
		for (size_t n = 0; n <= strlen(*whole); n++) {
			snprintf(name, sizeof(name), "%.*s", (int)n, *whole);
			rust_symbol_crate(name, buf, sizeof(buf));
			rust_demangle_short(name, buf, sizeof(buf));
		}
	}
	crate_is("_RNvB0_1f", NULL);
	crate_is("_RNvB1_1f", NULL);
	demangles_to("_RNvB_1f", NULL);
	memset(name, 'N', sizeof(name));
	memcpy(name, "_R", 2);
	name[sizeof(name) - 1] = '\0';
	crate_is(name, NULL);
	CHECK(!rust_demangle_short(name, buf, sizeof(buf)));
	/* Each back-reference reads the tuple again, and so on: bounded by
	 * the depth and the budget. */
	snprintf(name, sizeof(name), "_RMCs_1aT%sE", "B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_"
		 "B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_B5_");
	rust_demangle_short(name, buf, sizeof(buf));
	/* Mutated names (a byte changed, dropped or added, a few times
	 * over), fixed seed: read without a fault under ASan/UBSan, and the
	 * short name, when there is one, NUL-terminated within its size. */
	{
		static const char *const seeds[] = {
			v0_alloc, v0_grow_one, v0_user_display, v0_trait_default,
			v0_closure, v0_shim, v0_hashbrown, legacy_alloc, legacy_user,
			legacy_user_display, legacy_hasher, legacy_generic_self,
			legacy_closure,
		};
		static const char bytes[] = "_0123456789abcdefsuvBCDEGIKLMNQRSTXY$.";
		uint64_t state = 0x9e3779b97f4a7c15u;
		unsigned int bad = 0;

		for (int round = 0; round < 20000; round++) {
			size_t len;

			state ^= state << 13, state ^= state >> 7, state ^= state << 17;
			snprintf(name, sizeof(name), "%s", seeds[state % (sizeof(seeds) / sizeof(seeds[0]))]);
			for (int m = 0; m < 3; m++) {
				size_t at;

				len = strlen(name);
				state ^= state << 13, state ^= state >> 7, state ^= state << 17;
				at = (size_t)(state >> 8) % len;
				if (state % 3 == 0)
					name[at] = bytes[(state >> 40) % (sizeof(bytes) - 1)];
				else if (state % 3 == 1)
					memmove(name + at, name + at + 1, len - at);
				else if (len + 2 < sizeof(name)) {
					memmove(name + at + 1, name + at, len - at + 1);
					name[at] = bytes[(state >> 40) % (sizeof(bytes) - 1)];
				}
			}
			rust_symbol_crate(name, buf, sizeof(buf));
			len = 1 + (size_t)(state >> 20) % sizeof(buf);
			if (rust_demangle_short(name, buf, len) && strnlen(buf, len) == len)
				bad++;
		}
		CHECK_EQ_UINT(bad, 0);
	}
	crate_is("_RC999999999999999999999a", NULL);
	crate_is("_ZN99999999999alloc17h0123456789abcdefE", NULL);
	crate_is("_ZN5alloc17h0123456789abcdeE", NULL);
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
	/* The trie: every built-in is in it; a literal matches only
	 * itself, a prefix pattern also its bare prefix; names that leave
	 * the trie early, or end inside it, do not match. */
	CHECK(wrapper_names_builtin_in_trie());
	CHECK(wrapper_names_match("malloc"));
	CHECK(!wrapper_names_match("mallocx"));
	CHECK(!wrapper_names_match("mallo"));
	CHECK(wrapper_names_match("g_malloc"));
	CHECK(wrapper_names_match("Perl_safesys"));
	CHECK(!wrapper_names_match("Perl_safesy"));
	CHECK(wrapper_names_match("_ZNSt"));
	CHECK(!wrapper_names_match("_ZN4tree6createEv"));
	CHECK(!wrapper_names_match("_"));
	CHECK(!wrapper_names_match(""));
	CHECK(wrapper_names_match("sqlite3DbMallocRawNN"));
	CHECK(!wrapper_names_match("sqlite3DbFree"));
	CHECK(!wrapper_names_add_user("a,,b"));
	CHECK(!wrapper_names_add_user(",a"));
	CHECK(wrapper_names_add_user("my_wrapper,pool_*"));
	CHECK(wrapper_names_match("my_wrapper"));
	CHECK(wrapper_names_match("pool_alloc"));
	CHECK(!wrapper_names_match("my_wrapper2"));
}

struct sort_entry {
	uint32_t size;             /* the entry's first place */
	uintptr_t address;
	uint32_t tie;
};

static int compare_sort_entries(const void *pa, const void *pb)
{
	const struct sort_entry *a = pa, *b = pb;

	if (a->address != b->address)
		return a->address < b->address ? -1 : 1;
	return a->tie < b->tie ? -1 : a->tie > b->tie;
}

/* What a stable sort by address alone gives: by address, then by the
 * entry's first place. */
static int compare_address_then_place(const void *pa, const void *pb)
{
	const struct sort_entry *a = pa, *b = pb;

	if (a->address != b->address)
		return a->address < b->address ? -1 : 1;
	return a->size < b->size ? -1 : a->size > b->size;
}

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* @n entries made by @make (given the entry before and a random word)
 * sort as qsort with @compare sorts them when @sort_under_test sorts
 * them. */
static void check_sort(size_t n, uint64_t *state,
		       uintptr_t (*make)(size_t i, size_t n, uintptr_t before, uint64_t r),
		       int (*compare)(const void *, const void *),
		       void (*sort_under_test)(struct sort_entry *, size_t))
{
	struct sort_entry *got = malloc((n + 1) * sizeof(*got));
	struct sort_entry *want = malloc((n + 1) * sizeof(*want));

	if (CHECK(got && want)) {
		for (size_t i = 0; i < n; i++) {
			uint64_t r = next_random(state);

			got[i] = (struct sort_entry){
				.size = (uint32_t)i,
				.address = make(i, n, i ? got[i - 1].address : 0, r),
				.tie = (uint32_t)(r >> 20) & 3,
			};
		}
		memcpy(want, got, n * sizeof(*got));
		qsort(want, n, sizeof(*want), compare);
		sort_under_test(got, n);
		for (size_t i = 0; i < n; i++)
			/* The first place only where @compare orders by it:
			 * qsort need not be stable. */
			if (!CHECK(got[i].address == want[i].address &&
				   got[i].tie == want[i].tie &&
				   (compare != compare_address_then_place ||
				    got[i].size == want[i].size)))
				break;
	}
	free(got);
	free(want);
}

static void by_address_sort(struct sort_entry *entries, size_t n)
{
	address_sort(entries, n, sizeof(*entries), offsetof(struct sort_entry, address),
		     compare_sort_entries);
}

static void by_key_sort_stable(struct sort_entry *entries, size_t n)
{
	CHECK(key_sort_stable(entries, n, sizeof(*entries),
			      offsetof(struct sort_entry, address)));
}

/* A module's addresses; one in eight shares its address with the one
 * before (aliases). */
static uintptr_t module_address(size_t i, size_t n, uintptr_t before, uint64_t r)
{
	(void)n;
	return i && (r & 7) == 0 ? before : 0x7f0000000000ull + (r >> 40);
}

/* The same, with one entry 8 GiB away: a span over 4 GiB. */
static uintptr_t wide_address(size_t i, size_t n, uintptr_t before, uint64_t r)
{
	return module_address(i, n, before, r) + (i == n / 2 ? 1ull << 33 : 0);
}

/* Keys over spans from none to all 64 bits, many of them equal. */
static uint64_t key_span;

static uintptr_t spread_key(size_t i, size_t n, uintptr_t before, uint64_t r)
{
	(void)i;
	(void)n;
	(void)before;
	if (key_span == UINT64_MAX)
		return r & ~3ull;
	return key_span ? (r % (key_span + 1)) & ~3ull : 0;
}

/* address_sort gives qsort's order: radix passes over a module's span
 * or a wider one (over 4 GiB: more passes), runs of one address by the
 * compare function, and the fallback for few entries. */
static void test_address_sort(void)
{
	static const size_t counts[] = { 0, 1, 63, 64, 1000, 31000 };
	uint64_t state = 0x9e3779b97f4a7c15ull;

	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		check_sort(counts[c], &state, module_address, compare_sort_entries,
			   by_address_sort);
		check_sort(counts[c], &state, wide_address, compare_sort_entries,
			   by_address_sort);
	}
}

/* key_sort_stable sorts by its key alone and keeps the order of equal
 * keys, over a span of any width. */
static void test_key_sort_stable(void)
{
	static const size_t counts[] = { 0, 1, 2, 100, 5000 };
	static const uint64_t spans[] = { 0, 7, 1ull << 20, 1ull << 40, UINT64_MAX };
	uint64_t state = 0x2545f4914f6cdd1dull;

	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		for (size_t w = 0; w < sizeof(spans) / sizeof(spans[0]); w++) {
			key_span = spans[w];
			check_sort(counts[c], &state, spread_key, compare_address_then_place,
				   by_key_sort_stable);
		}
	}
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

/*
 * More chains than the small chain array takes (32,768, core/codetag.c):
 * the array fills, is populated for writing on the way, closes, and the
 * rest go to the large array, mapped then.  Every chain keeps one tag,
 * found again whichever array holds it, and a chain never made is not
 * found in either.
 */
#define MANY_CHAINS 40000

static void test_many_stack_tags(void)
{
	uintptr_t (*chains)[3] = calloc(MANY_CHAINS, sizeof(*chains));
	uint32_t *index = calloc(MANY_CHAINS, sizeof(*index));
	bool all_kept = true, all_found = true, increasing = true;
	int kept;

	if (!CHECK(chains && index))
		goto out;
	for (uint32_t i = 0; i < MANY_CHAINS; i++) {
		chains[i][0] = 0x500000 + 16 * (uintptr_t)(i % 100);
		chains[i][1] = 0x600000 + 16 * (uintptr_t)i;
		chains[i][2] = 0x700000;
		index[i] = codetag_index_for_stack(chains[i], 3, &kept);
		all_kept &= kept && index[i] >= CODETAG_FIRST_SITE;
		/* Indices are claimed in order: increasing, so all distinct. */
		increasing &= i == 0 || index[i] > index[i - 1];
	}
	for (uint32_t i = 0; i < MANY_CHAINS; i++)
		all_found &= codetag_find_stack(chains[i], 3) == index[i];
	CHECK(all_kept);
	CHECK(increasing);
	CHECK(all_found);
	CHECK(codetag_may_have_twins());	/* the small array closed */
	{
		const uintptr_t never[3] = { 0x500000, 0x600000 + 16 * MANY_CHAINS, 0x700000 };

		CHECK_EQ_INT(codetag_find_stack(never, 3), 0);
	}
out:
	/* The tags keep their chains for the life of the process. */
	free(index);
}

int main(void)
{
	RUN_TEST(test_shorten);
	RUN_TEST(test_demangle);
	RUN_TEST(test_rust_names);
	RUN_TEST(test_glob);
	RUN_TEST(test_builtin_list);
	RUN_TEST(test_address_sort);
	RUN_TEST(test_key_sort_stable);
	RUN_TEST(test_stack_tags);
	RUN_TEST(test_many_stack_tags);
	return harness_summary();
}

/*
 * The wrapper list (see wrapper_names.h).
 *
 * The built-in patterns name functions that return memory the caller
 * owns, or grow a container for it, in the libraries and programs that
 * people profile most.  For every one of them the allocation line a
 * developer can act on is the caller's.  C++ standard library code is
 * matched by the scope in its mangled name: everything in std:: and
 * __gnu_cxx:: (the allocators, containers, strings, streams,
 * make_shared) allocates on behalf of the code that used it; and so does
 * Rust's standard library (rust_wrapper below).
 */
#include "report/wrapper_names.h"

#include <pthread.h>
#include <string.h>

#include "report/demangle.h"
#include "report/rust_names.h"

static const char *const builtin_patterns[] = {
	/* A call site inside a function with an allocator's own name is
	 * another layer over ours (the dynamic loader's inline malloc and
	 * calloc in rtld-malloc.h, a second interposer): its caller is the
	 * site.  Our exports never hold a site, only their callers do. */
	"malloc", "calloc", "realloc", "reallocarray", "memalign",
	"aligned_alloc", "posix_memalign", "valloc", "pvalloc",
	/* glibc: strings, lines, paths, directories, streams, regexes. */
	"strdup", "__strdup", "strndup", "__strndup", "wcsdup",
	"asprintf", "__asprintf", "__asprintf_chk",
	"vasprintf", "__vasprintf", "__vasprintf_chk", "__vasprintf_internal",
	"getline", "getdelim", "__getdelim", "_IO_getdelim",
	"realpath", "__realpath", "canonicalize_file_name",
	"get_current_dir_name", "getcwd", "__getcwd",
	"scandir", "scandir64", "scandirat", "scandirat64",
	"open_memstream", "open_wmemstream", "fmemopen", "fopencookie",
	"fopen", "fopen64", "_IO_new_fopen", "__fopen_internal",
	"fdopen", "_IO_new_fdopen", "opendir", "__opendir", "fdopendir",
	"__alloc_dir", "tempnam", "backtrace_symbols", "regcomp",
	"glob", "glob64", "wordexp", "setenv", "putenv", "__add_to_environ",
	"tsearch", "__tsearch", "newlocale", "duplocale", "iconv_open",
	"getaddrinfo",
	/* libstdc++: std:: and __gnu_cxx:: scopes (mangled), exceptions. */
	"_ZNSt*", "_ZNKSt*", "_ZSt*", "_ZN9__gnu_cxx*", "_ZNK9__gnu_cxx*",
	"_ZNSa*", "_ZNKSa*", "_ZNSs*", "_ZNKSs*", "_ZNSb*", "_ZNKSb*",
	"_ZNSi*", "_ZNSo*", "_ZNSd*",
	"__cxa_allocate_exception", "__cxa_allocate_dependent_exception",
	/* libiberty (gcc, binutils) and gnulib's xalloc. */
	"xmalloc", "xcalloc", "xrealloc", "xstrdup", "xstrndup", "xmemdup",
	"xasprintf", "xvasprintf", "concat", "reconcat",
	"_obstack_begin", "_obstack_begin_1", "_obstack_newchunk",
	"xzalloc", "xnmalloc", "xnrealloc", "x2realloc", "x2nrealloc",
	"xcharalloc", "xreallocarray", "ximalloc", "xizalloc", "xicalloc",
	/* glib. */
	"g_malloc*", "g_try_malloc*", "g_realloc*", "g_try_realloc*",
	"g_strdup*", "g_strndup", "g_memdup*", "g_strconcat", "g_strjoin*",
	"g_slice_alloc*", "g_slice_copy",
	/* perl. */
	"Perl_safesys*", "Perl_savepv*", "Perl_savesharedpv*", "Perl_savesvpv",
	/* CPython. */
	"PyMem_*", "_PyMem_Raw*", "_PyMem_Strdup", "_PyMem_Debug*",
	"PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc",
	"_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc",
	/* SQLite. */
	"sqlite3Malloc", "sqlite3MallocZero", "sqlite3Realloc",
	"sqlite3_malloc*", "sqlite3_realloc*", "sqlite3DbMalloc*",
	"sqlite3DbRealloc*", "sqlite3DbStrDup", "sqlite3DbStrNDup",
	"sqlite3DbSpanDup", "sqlite3MPrintf", "sqlite3VMPrintf",
	"sqlite3_mprintf", "sqlite3_vmprintf", "sqlite3Mem*",
	"sqlite3PageMalloc",
	/* Rust's allocator shims, as rustc names them without v0 mangling
	 * (with it, they are the __rustc crate's: rust_names.h). */
	"__rust_alloc", "__rust_alloc_zeroed", "__rust_realloc",
	"__rdl_alloc", "__rdl_alloc_zeroed", "__rdl_realloc",
	"__rg_alloc", "__rg_alloc_zeroed", "__rg_realloc",
	/* OpenSSL (libcrypto, and node, which links it in). */
	"CRYPTO_malloc", "CRYPTO_zalloc", "CRYPTO_realloc",
	"CRYPTO_clear_realloc", "CRYPTO_strdup", "CRYPTO_strndup",
	"CRYPTO_memdup", "CRYPTO_secure_malloc", "CRYPTO_secure_zalloc",
};

#define BUILTIN_COUNT (sizeof(builtin_patterns) / sizeof(builtin_patterns[0]))

/*
 * The built-in patterns as a trie, made once.  Every symbol of a module
 * is matched when a site in it is first classified: 31,000 for cc1plus,
 * most of them C++ names that begin as a dozen of the patterns do, and
 * trying each candidate pattern in turn took cc1's start-up 10 ms.  In
 * the trie a name takes one step per byte, and leaves at the first byte
 * that no pattern has there (the third or fourth, mostly).
 *
 * Each built-in pattern is a literal name, or a literal prefix and one
 * final '*'.  A node is a byte on the way; where a literal ends the node
 * matches the name that ends there, where a prefix ends it matches
 * every name that reaches it.  Children are a list of siblings (left
 * child, right sibling): no node has more than a few, but the root,
 * whose children are also indexed by byte.
 */
#define TRIE_NODES_MAX 2048

struct trie_node {
	unsigned char byte;
	unsigned char ends;        /* TRIE_LITERAL | TRIE_PREFIX */
	unsigned short child;      /* 0: none (the root is no one's child) */
	unsigned short sibling;    /* 0: none */
};

#define TRIE_LITERAL 1
#define TRIE_PREFIX  2

static struct trie_node trie[TRIE_NODES_MAX];
static unsigned int trie_count;
static unsigned short trie_root[256];
/* Set if a built-in pattern did not fit the trie: then every built-in
 * is matched by glob (no pattern is such today; a test checks). */
static bool trie_failed;
static pthread_once_t trie_once = PTHREAD_ONCE_INIT;

static unsigned int trie_child(unsigned int node, unsigned char byte)
{
	for (unsigned int c = trie[node].child; c; c = trie[c].sibling)
		if (trie[c].byte == byte)
			return c;
	return 0;
}

static bool trie_add(const char *pattern)
{
	unsigned int node = 0;
	const char *p;

	for (p = pattern; *p && *p != '*'; p++) {
		unsigned int next = trie_child(node, (unsigned char)*p);

		if (*p == '?')
			return false;
		if (!next) {
			if (trie_count == TRIE_NODES_MAX)
				return false;
			next = trie_count++;
			trie[next] = (struct trie_node){ .byte = (unsigned char)*p,
							 .sibling = trie[node].child };
			trie[node].child = (unsigned short)next;
		}
		node = next;
	}
	if (*p == '*' && p[1])
		return false;
	trie[node].ends |= *p == '*' ? TRIE_PREFIX : TRIE_LITERAL;
	return true;
}

static void make_trie(void)
{
	trie_count = 1;	/* the root */
	for (size_t i = 0; i < BUILTIN_COUNT && !trie_failed; i++)
		trie_failed = !trie_add(builtin_patterns[i]);
	for (unsigned int c = trie[0].child; c; c = trie[c].sibling)
		trie_root[trie[c].byte] = (unsigned short)c;
}

static bool builtin_match(const char *name)
{
	unsigned int node = 0;

	pthread_once(&trie_once, make_trie);
	if (trie_failed) {
		for (size_t i = 0; i < BUILTIN_COUNT; i++)
			if (wrapper_names_glob(builtin_patterns[i], name))
				return true;
		return false;
	}
	if (trie[0].ends & TRIE_PREFIX)
		return true;
	if (!*name)
		return trie[0].ends != 0;
	node = trie_root[(unsigned char)name[0]];
	for (const char *s = name + 1; node && *s; s++) {
		if (trie[node].ends & TRIE_PREFIX)
			return true;
		node = trie_child(node, (unsigned char)*s);
	}
	return node && trie[node].ends != 0;
}

bool wrapper_names_builtin_in_trie(void)
{
	pthread_once(&trie_once, make_trie);
	return !trie_failed;
}

/* The user's patterns, cut at the commas; set once at start-up. */
static char user_buf[WRAPPER_NAMES_USER_MAX];
static const char *user_patterns[WRAPPER_NAMES_USER_MAX / 2];
static unsigned int user_count;
static bool user_demangled; /* some pattern names a C++ scope */

bool wrapper_names_glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

bool wrapper_names_add_user(const char *list)
{
	size_t len = strlen(list);
	char *p;

	if (len >= sizeof(user_buf))
		return false;
	if (!len || list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,"))
		return false;
	memcpy(user_buf, list, len + 1);
	user_count = 0;
	for (p = user_buf; p;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma++ = '\0';
		user_patterns[user_count++] = p;
		if (strstr(p, "::"))
			user_demangled = true;
		p = comma;
	}
	return true;
}

/*
 * Rust: the functions of the standard library's crates allocate for the
 * code that used them (Vec, String, Box, format!, collect, HashMap's
 * hashbrown), as std:: does in C++; __rustc holds the allocator shims
 * (__rust_alloc, __rdl_alloc) under v0 mangling.  A function is the
 * crate's that defines it (rust_names.h): a program's own impl of
 * Display or Clone is the program's.
 */
static const char *const rust_wrapper_crates[] = {
	"alloc", "core", "std", "hashbrown", "__rustc",
};

static bool rust_wrapper(const char *name)
{
	char crate[64];

	if (!rust_symbol_crate(name, crate, sizeof(crate)))
		return false;
	for (size_t i = 0; i < sizeof(rust_wrapper_crates) / sizeof(rust_wrapper_crates[0]); i++)
		if (!strcmp(crate, rust_wrapper_crates[i]))
			return true;
	return false;
}

/*
 * Functions in the standard libraries' scopes that run the program's
 * code rather than allocate for it: a thread's body is called through
 * them, and an optimized build inlines it into them.  As wrappers, a
 * thread's allocations went on past them, to where the thread starts
 * (libstdc++'s execute_native_thread_routine, libc's start_thread).
 * - C++: std::thread::_State_impl<...>::_M_run(), which calls the
 *   std::thread's callable, and std::_Function_handler<...>::_M_invoke(),
 *   which calls a std::function's (there the caller is the program's,
 *   but the line is the call's, not the lambda's);
 * - Rust: std's __rust_begin_short_backtrace, which calls a thread's
 *   closure and main (both manglings have the name as it is).
 */
#define STARTS_WITH(name, literal) (!strncmp((name), literal, sizeof(literal) - 1))

static bool runs_program_code(const char *name)
{
	if (STARTS_WITH(name, "_ZNSt6thread11_State_impl"))
		return strstr(name, "6_M_runEv") != NULL;
	if (STARTS_WITH(name, "_ZNSt17_Function_handler"))
		return strstr(name, "9_M_invokeERKSt9_Any_data") != NULL;
	return strstr(name, "rust_begin_short_backtrace") != NULL;
}

bool wrapper_names_match(const char *name)
{
	char demangled[1024];
	bool have_demangled = false;

	if (!name || !*name)
		return false;
	if ((builtin_match(name) || rust_wrapper(name)) && !runs_program_code(name))
		return true;
	if (user_demangled && name[0] == '_' && (name[1] == 'Z' || name[1] == 'R'))
		have_demangled = demangle_short(name, demangled, sizeof(demangled));
	for (unsigned int i = 0; i < user_count; i++) {
		const char *p = user_patterns[i];

		if (have_demangled && strstr(p, "::")) {
			if (wrapper_names_glob(p, demangled))
				return true;
		} else if (wrapper_names_glob(p, name)) {
			return true;
		}
	}
	return false;
}

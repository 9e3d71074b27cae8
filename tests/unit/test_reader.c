/*
 * Unit tests of the allocinfo reader (report/reader.c): exact values
 * for crafted inputs, one test per rule of the grammar in reader.h,
 * exact error messages, hostile input (NUL bytes, megabyte lines,
 * garbage), and every sample in $SAMPLES_DIR.
 */
#include "report/reader.h"

#include <dirent.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/harness.h"

static char err[ALLOCINFO_ERR_MAX];

/* Reads @len bytes of @text as the file "test". */
static int read_mem(const char *text, size_t len, bool lenient,
		    struct allocinfo_report *report)
{
	FILE *f = tmpfile();
	int rc;

	if (!f) {
		perror("tmpfile");
		exit(1);
	}
	if (len && fwrite(text, 1, len, f) != len) {
		perror("fwrite");
		exit(1);
	}
	rewind(f);
	rc = allocinfo_read_stream(f, "test", lenient, report, err,
				   sizeof(err));
	fclose(f);
	return rc;
}

static int read_str(const char *text, bool lenient,
		    struct allocinfo_report *report)
{
	return read_mem(text, strlen(text), lenient, report);
}

/* A strict read of @text fails with exactly @message, leaving nothing. */
#define CHECK_ERROR(text, message) \
	do { \
		struct allocinfo_report r_; \
		if (CHECK_EQ_INT(read_str((text), false, &r_), -1)) { \
			CHECK_EQ_STR(err, (message)); \
			CHECK(r_.records == NULL && r_.count == 0 && \
			      r_.arena == NULL); \
		} \
		allocinfo_report_free(&r_); \
	} while (0)

#define CHECK_RECORD(rec, b, c, f, l, m, fn, inacc, approx) \
	do { \
		const struct allocinfo_record *r_ = (rec); \
		CHECK_EQ_INT(r_->bytes, (b)); \
		CHECK_EQ_INT(r_->calls, (c)); \
		CHECK_EQ_STR(r_->file, (f)); \
		CHECK_EQ_UINT(r_->line, (l)); \
		CHECK_EQ_STR(r_->module, (m)); \
		CHECK_EQ_STR(r_->function, (fn)); \
		CHECK_EQ_INT(r_->inaccurate, (inacc)); \
		CHECK_EQ_INT(r_->approximate, (approx)); \
	} while (0)

/* ------------------------------------------------------ headers */

static void test_v2_full(void)
{
	static const char text[] =
		"allocinfo - version: 2.0\n"
		"#     <size>  <calls> <tag info>\n"
		"# pid: 123\n"
		"# command: ./prog --flag \"a b\"\n"
		"# total_bytes: 4096\n"
		"# profiler_bytes: 512\n"
		"        4096        2 src/main.c:12 func:main \n"
		"         128        1 lib/util.c:7 [libutil.so] func:util_alloc accurate:no \n"
		"         -64        3 kernel/fork.c:307 func:alloc_thread_stack_node \n";
	struct allocinfo_report r;

	if (!CHECK_EQ_INT(read_str(text, false, &r), 0))
		return;
	CHECK_EQ_INT(r.version_major, 2);
	CHECK_EQ_INT(r.version_minor, 0);
	CHECK(r.has_columns);
	CHECK_EQ_UINT(r.lines, 9);
	CHECK_EQ_UINT(r.skipped_lines, 0);
	if (CHECK_EQ_UINT(r.nmetadata, 4)) {
		CHECK_EQ_STR(r.metadata[0].key, "pid");
		CHECK_EQ_STR(r.metadata[0].value, "123");
		CHECK_EQ_STR(r.metadata[1].key, "command");
		CHECK_EQ_STR(r.metadata[1].value, "./prog --flag \"a b\"");
		CHECK_EQ_STR(r.metadata[3].key, "profiler_bytes");
	}
	CHECK_EQ_STR(allocinfo_report_meta(&r, "total_bytes"), "4096");
	CHECK_EQ_STR(allocinfo_report_meta(&r, "profiler_bytes"), "512");
	CHECK_EQ_STR(allocinfo_report_meta(&r, "nope"), NULL);
	if (CHECK_EQ_UINT(r.count, 3)) {
		CHECK_RECORD(&r.records[0], 4096, 2, "src/main.c", 12, "",
			     "main", false, false);
		CHECK_RECORD(&r.records[1], 128, 1, "lib/util.c", 7,
			     "libutil.so", "util_alloc", true, false);
		CHECK_RECORD(&r.records[2], -64, 3, "kernel/fork.c", 307, "",
			     "alloc_thread_stack_node", false, false);
		CHECK_EQ_UINT(r.records[0].nextras, 0);
		CHECK_EQ_UINT(r.records[1].nextras, 0);
		CHECK_EQ_UINT(r.records[0].lineno, 7);
		CHECK_EQ_UINT(r.records[2].lineno, 9);
	}
	allocinfo_report_free(&r);
	/* Freeing twice is harmless: free leaves the report empty. */
	allocinfo_report_free(&r);
}

static void test_v1_no_columns_no_final_newline(void)
{
	static const char text[] =
		"allocinfo - version: 1.0\n"
		"           0        0 init/main.c:1314 func:do_initcalls\n"
		"         512        1 arch/x86/events/rapl.c:681 func:init_rapl_pmus";
	struct allocinfo_report r;

	if (!CHECK_EQ_INT(read_str(text, false, &r), 0))
		return;
	CHECK_EQ_INT(r.version_major, 1);
	CHECK_EQ_INT(r.version_minor, 0);
	CHECK(!r.has_columns);
	CHECK_EQ_UINT(r.lines, 3);
	if (CHECK_EQ_UINT(r.count, 2)) {
		CHECK_RECORD(&r.records[0], 0, 0, "init/main.c", 1314, "",
			     "do_initcalls", false, false);
		CHECK_RECORD(&r.records[1], 512, 1, "arch/x86/events/rapl.c",
			     681, "", "init_rapl_pmus", false, false);
	}
	allocinfo_report_free(&r);
}

static void test_no_header(void)
{
	struct allocinfo_report r;

	if (!CHECK_EQ_INT(read_str("  2.8M    22648 fs/kernfs/dir.c:615 func:__kernfs_new_node\n",
				   false, &r), 0))
		return;
	CHECK_EQ_INT(r.version_major, 0);
	CHECK(!r.has_columns);
	if (CHECK_EQ_UINT(r.count, 1))
		CHECK_RECORD(&r.records[0], 2936013, 22648, "fs/kernfs/dir.c",
			     615, "", "__kernfs_new_node", false, true);
	allocinfo_report_free(&r);
}

static void test_header_spacing(void)
{
	struct allocinfo_report r;

	/* Trailing blanks, a CR, and other runs of blanks in the columns. */
	if (!CHECK_EQ_INT(read_str("allocinfo - version: 2.1   \r\n"
				   "#  <size> <calls>\t<tag  info>  \r\n"
				   "\n"
				   "   \t\n"
				   "1 2 a.c:3 func:f \r\n", false, &r), 0))
		return;
	CHECK_EQ_INT(r.version_major, 2);
	CHECK_EQ_INT(r.version_minor, 1);
	CHECK(r.has_columns);
	if (CHECK_EQ_UINT(r.count, 1))
		CHECK_RECORD(&r.records[0], 1, 2, "a.c", 3, "", "f", false,
			     false);
	allocinfo_report_free(&r);

	/* Empty input is an empty report. */
	if (CHECK_EQ_INT(read_str("", false, &r), 0)) {
		CHECK_EQ_UINT(r.count, 0);
		CHECK_EQ_UINT(r.lines, 0);
	}
	allocinfo_report_free(&r);
}

static void test_header_errors(void)
{
	CHECK_ERROR("allocinfo - version: 3.0\n",
		    "test:1: unsupported version: 'allocinfo - version: 3.0'");
	CHECK_ERROR("allocinfo - version: 2\n",
		    "test:1: malformed version line: 'allocinfo - version: 2'");
	CHECK_ERROR("allocinfo - version: 2.0x\n",
		    "test:1: malformed version line: 'allocinfo - version: 2.0x'");
	CHECK_ERROR("allocinfo version 2.0\n",
		    "test:1: malformed version line: 'allocinfo version 2.0'");
	CHECK_ERROR("allocinfo - version: 2.0\nallocinfo - version: 2.0\n",
		    "test:2: duplicate version line: 'allocinfo - version: 2.0'");
	CHECK_ERROR("1 1 a.c:1 func:f\nallocinfo - version: 2.0\n",
		    "test:2: misplaced version line: 'allocinfo - version: 2.0'");
	CHECK_ERROR("# pid: 1\nallocinfo - version: 2.0\n",
		    "test:2: misplaced version line: 'allocinfo - version: 2.0'");
	CHECK_ERROR("#     <size>  <calls> <tag info>\n"
		    "allocinfo - version: 2.0\n",
		    "test:2: misplaced version line: 'allocinfo - version: 2.0'");
	CHECK_ERROR("# <size> <calls> <tag info>\n# <size> <calls> <tag info>\n",
		    "test:2: duplicate column header: '# <size> <calls> <tag info>'");
	CHECK_ERROR("1 1 a.c:1 func:f\n# <size> <calls> <tag info>\n",
		    "test:2: misplaced column header: '# <size> <calls> <tag info>'");
	CHECK_ERROR("<size> <calls> <tag info>\n",
		    "test:1: bad size: '<size> <calls> <tag info>'");
}

/* -------------------------------------------------------- metadata */

static void test_metadata(void)
{
	struct allocinfo_report r;

	if (!CHECK_EQ_INT(read_str("allocinfo - version: 2.0\n"
				   "# pid: 42\n"
				   "# command: sh -c 'a: b'  \n"
				   "#empty:\n"
				   "# pid: 43\n"
				   "1 1 a.c:1 func:f\n"
				   "# truncated: yes\n", false, &r), 0))
		return;
	if (CHECK_EQ_UINT(r.nmetadata, 5)) {
		CHECK_EQ_STR(r.metadata[1].value, "sh -c 'a: b'");
		CHECK_EQ_STR(r.metadata[2].key, "empty");
		CHECK_EQ_STR(r.metadata[2].value, "");
		CHECK_EQ_STR(r.metadata[4].key, "truncated");
	}
	/* The first of repeated keys wins. */
	CHECK_EQ_STR(allocinfo_report_meta(&r, "pid"), "42");
	CHECK_EQ_UINT(r.count, 1);
	allocinfo_report_free(&r);

	CHECK_ERROR("# key:nospace\n",
		    "test:1: comment is not '# key: value': '# key:nospace'");
	CHECK_ERROR("# Pid: 1\n",
		    "test:1: comment is not '# key: value': '# Pid: 1'");
	CHECK_ERROR("# sort -g /proc/allocinfo| tail -n 15\n",
		    "test:1: comment is not '# key: value': '# sort -g /proc/allocinfo| tail -n 15'");
	CHECK_ERROR("#\n", "test:1: comment is not '# key: value': '#'");
}

/* ----------------------------------------------------------- sizes */

struct size_case {
	const char *text;
	int64_t bytes;
	bool approximate;
	const char *error;      /* NULL: parses */
};

static void test_sizes(void)
{
	static const struct size_case cases[] = {
		{ "0", 0, false, NULL },
		{ "-1", -1, false, NULL },
		{ "-0", 0, false, NULL },
		{ "007", 7, false, NULL },
		{ "9223372036854775807", INT64_MAX, false, NULL },
		{ "-9223372036854775808", INT64_MIN, false, NULL },
		{ "9223372036854775808", 0, false, "size out of range" },
		{ "-9223372036854775809", 0, false, "size out of range" },
		{ "123456789012345678901234567890", 0, false,
		  "size out of range" },
		{ "512", 512, false, NULL },
		{ "1.5K", 1536, true, NULL },
		{ "2.8M", 2936013, true, NULL },        /* 2936012.8 */
		{ "12G", 12884901888LL, true, NULL },
		{ "26K", 26624, true, NULL },
		{ "1.5Ki", 1536, true, NULL },          /* --to=iec-i */
		{ "-1.5K", -1536, true, NULL },
		{ "0.1K", 102, true, NULL },            /* 102.4 */
		{ "0.5K", 512, true, NULL },
		{ "1.0005K", 1025, true, NULL },        /* 1024.512 */
		{ "7.9E", 9108079886394091110LL, true, NULL },
		{ "-8E", INT64_MIN, true, NULL },
		{ "8E", 0, false, "size out of range" },
		{ "1Z", 0, false, "size out of range" },
		{ "0.001Y", 0, false, "size out of range" },
		{ "0Y", 0, true, NULL },
		{ "99999999999999999999K", 0, false, "size out of range" },
		{ "1.5", 0, false, "bad size" },
		{ "1.", 0, false, "bad size" },
		{ "1.K", 0, false, "bad size" },
		{ ".5K", 0, false, "bad size" },
		{ "K", 0, false, "bad size" },
		{ "-", 0, false, "bad size" },
		{ "1.5MiB", 0, false, "bad size" },
		{ "1k", 0, false, "bad size" },
		{ "+5", 0, false, "bad size" },
		{ "0x10", 0, false, "bad size" },
		{ "0*", 0, false, "bad size" },
		{ "1.0000000000000000001K", 0, false, "bad size" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct size_case *c = &cases[i];
		struct allocinfo_report r;
		char line[128], message[256];
		int rc;

		snprintf(line, sizeof(line), "%s 1 a.c:1 func:f", c->text);
		rc = read_str(line, false, &r);
		if (c->error) {
			snprintf(message, sizeof(message), "test:1: %s: '%s'",
				 c->error, line);
			if (!CHECK_EQ_INT(rc, -1) || !CHECK_EQ_STR(err, message))
				fprintf(stderr, "  size '%s'\n", c->text);
		} else if (CHECK_EQ_INT(rc, 0) && CHECK_EQ_UINT(r.count, 1)) {
			if (!CHECK_EQ_INT(r.records[0].bytes, c->bytes) ||
			    !CHECK_EQ_INT(r.records[0].approximate,
					  c->approximate))
				fprintf(stderr, "  size '%s'\n", c->text);
		}
		allocinfo_report_free(&r);
	}
}

static void test_calls(void)
{
	struct allocinfo_report r;
	struct allocinfo_tag_text tag;
	char out[128];

	/* A counter that went below zero reads as negative, prints back. */
	if (CHECK_EQ_INT(read_str("0 18446744073709551615 a.c:1 func:f \n"
				  "0 9223372036854775808 a.c:1 func:f \n",
				  false, &r), 0) &&
	    CHECK_EQ_UINT(r.count, 2)) {
		CHECK_EQ_INT(r.records[0].calls, -1);
		CHECK_EQ_INT(r.records[1].calls, INT64_MIN);
		tag = allocinfo_record_tag(&r.records[0]);
		allocinfo_format_record(out, sizeof(out), r.records[0].bytes,
					r.records[0].calls, &tag);
		CHECK_EQ_STR(out, "           0 18446744073709551615 a.c:1 func:f \n");
	}
	allocinfo_report_free(&r);

	CHECK_ERROR("0 18446744073709551616 a.c:1 func:f",
		    "test:1: call count out of range: '0 18446744073709551616 a.c:1 func:f'");
	CHECK_ERROR("0 -1 a.c:1 func:f",
		    "test:1: bad call count: '0 -1 a.c:1 func:f'");
	CHECK_ERROR("0 1K a.c:1 func:f",
		    "test:1: bad call count: '0 1K a.c:1 func:f'");
}

/* ------------------------------------------------------------ tags */

/*
 * The record printer (report/format.c formats without printf) prints
 * what printf's "%12lli %8llu %s:%lu..." does, for every edge of its
 * numbers and tags, and truncates like snprintf into a short buffer.
 */
static void test_format_like_printf(void)
{
	static const int64_t numbers[] = {
		0, 1, 9, 10, 99999999, 100000000, 999999999999, 1000000000000,
		-1, -9, -10, -99999999999, -100000000000, INT64_MAX, INT64_MIN,
	};
	static const char *const modules[] = { NULL, "", "libc.so.6" };
	static const char *const extras[] = { NULL, "", " stack:a.c:1,b.c:2" };
	char want[256], got[256];

	for (size_t b = 0; b < sizeof(numbers) / sizeof(numbers[0]); b++)
	for (size_t c = 0; c < sizeof(numbers) / sizeof(numbers[0]); c++)
	for (size_t m = 0; m < 3; m++)
	for (size_t x = 0; x < 3; x++) {
		struct allocinfo_tag_text tag = {
			.file = "dir/file.c", .line = (unsigned long)(b * 977 + c),
			.module = modules[m], .function = "fn", .extras = extras[x],
			.inaccurate = (b + c) % 2,
		};
		bool has_module = tag.module && tag.module[0];
		int want_len = snprintf(want, sizeof(want),
					"%12lli %8llu %s:%lu%s%s%s func:%s%s%s \n",
					(long long)numbers[b], (unsigned long long)numbers[c],
					tag.file, tag.line, has_module ? " [" : "",
					has_module ? tag.module : "", has_module ? "]" : "",
					tag.function, tag.extras ? tag.extras : "",
					tag.inaccurate ? " accurate:no" : "");
		int got_len = allocinfo_format_record(got, sizeof(got), numbers[b],
						      numbers[c], &tag);

		if (!CHECK_EQ_INT(got_len, want_len) || !CHECK_EQ_STR(got, want))
			return;
		CHECK_EQ_INT(allocinfo_format_record(NULL, 0, numbers[b], numbers[c], &tag),
			     want_len);
		/* The writer's one pass: room for the bound is room enough,
		 * for the line's widest value too. */
		CHECK(allocinfo_record_bound(&tag) >= (size_t)want_len);
		tag.line = ULONG_MAX;
		CHECK(allocinfo_record_bound(&tag) >=
		      (size_t)allocinfo_format_record(NULL, 0, numbers[b], numbers[c], &tag));
		tag.line = (unsigned long)(b * 977 + c);
		memset(got, 'x', sizeof(got));
		CHECK_EQ_UINT(allocinfo_put_record(got, numbers[b], numbers[c], &tag),
			      (size_t)want_len);
		CHECK_EQ_STR(got, want);
		/* Cut short: snprintf's prefix and length. */
		for (size_t size = 1; size < (size_t)want_len + 2; size += 7) {
			memset(got, 'x', sizeof(got));
			got_len = allocinfo_format_record(got, size, numbers[b],
							  numbers[c], &tag);
			if (!CHECK_EQ_INT(got_len, want_len) ||
			    !CHECK(!strncmp(got, want, size - 1) && got[size - 1] == '\0'))
				return;
		}
	}
}

/* The report's times read as strftime prints gmtime's, over 1900-2200
 * (every leap rule) and at the edges of days and months. */
static void test_format_utc(void)
{
	char want[32], got[32];

	for (long long t = -2208988800LL; t < 7258118400LL; t += 86400 * 7 + 3599) {
		for (int edge = 0; edge < 3; edge++) {
			long long s = edge == 0 ? t : edge == 1 ? t - t % 86400 : t - t % 86400 - 1;
			time_t tt = (time_t)s;
			struct tm tm;

			gmtime_r(&tt, &tm);
			strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
			allocinfo_format_utc(s, got, sizeof(got));
			if (!CHECK_EQ_STR(got, want))
				return;
		}
	}
}

static void test_tags(void)
{
	struct allocinfo_report r;

	if (!CHECK_EQ_INT(read_str(
		"1 1 python3.11+0x1a2b3c:0 func:PyMem_RawMalloc\n"
		"1 1 /opt/My Dir/a.c:5 func:f\n"
		"1 1 a:b.c:7 func:f\n"
		"1 1 a.c:1 [lib foo.so] func:f\n"
		"1 1 [x] a.c:2 func:f\n"
		"1 1 a.c:4294967295 [ice] func:f\n"
		"1\t1\ta.c:9 [m] func:f\n"
		"3341238272   412215 drivers/net/ethernet/intel/ice/ice_txrx.c:681 [ice] func:ice_alloc_mapped_page\n",
		false, &r), 0))
		return;
	if (CHECK_EQ_UINT(r.count, 8)) {
		CHECK_RECORD(&r.records[0], 1, 1, "python3.11+0x1a2b3c", 0, "",
			     "PyMem_RawMalloc", false, false);
		CHECK_RECORD(&r.records[1], 1, 1, "/opt/My Dir/a.c", 5, "",
			     "f", false, false);
		CHECK_RECORD(&r.records[2], 1, 1, "a:b.c", 7, "", "f", false,
			     false);
		CHECK_RECORD(&r.records[3], 1, 1, "a.c", 1, "lib foo.so", "f",
			     false, false);
		CHECK_RECORD(&r.records[4], 1, 1, "[x] a.c", 2, "", "f", false,
			     false);
		CHECK_RECORD(&r.records[5], 1, 1, "a.c", 4294967295UL, "ice",
			     "f", false, false);
		CHECK_RECORD(&r.records[6], 1, 1, "a.c", 9, "m", "f", false,
			     false);
		CHECK_EQ_STR(r.records[7].module, "ice");
		CHECK_EQ_INT(r.records[7].bytes, 3341238272LL);
	}
	allocinfo_report_free(&r);

	CHECK_ERROR("1 1 a.c:99999999999999999999999 func:f",
		    "test:1: line number out of range: '1 1 a.c:99999999999999999999999 func:f'");
	/* The kernel's single spaces are part of the grammar here. */
	CHECK_ERROR("1 1 a.c:9 [m]  func:f",
		    "test:1: bad line number: '1 1 a.c:9 [m]  func:f'");
	CHECK_ERROR("1 1 a.c:9  func:f",
		    "test:1: bad line number: '1 1 a.c:9  func:f'");
	CHECK_ERROR("1 1 x.c func:f",
		    "test:1: missing ':LINE' after the file name: '1 1 x.c func:f'");
	CHECK_ERROR("1 1 x.c:12a func:f",
		    "test:1: bad line number: '1 1 x.c:12a func:f'");
	CHECK_ERROR("1 1 x.c: func:f",
		    "test:1: bad line number: '1 1 x.c: func:f'");
	CHECK_ERROR("1 1 :5 func:f",
		    "test:1: empty file name: '1 1 :5 func:f'");
	CHECK_ERROR("1 1 x.c:5 [] func:f",
		    "test:1: empty module name: '1 1 x.c:5 [] func:f'");
	CHECK_ERROR("1 1 x.c:5 mod] func:f",
		    "test:1: ']' without ' [': '1 1 x.c:5 mod] func:f'");
	CHECK_ERROR("1 1 x.c:5 func:",
		    "test:1: missing function name: '1 1 x.c:5 func:'");
	CHECK_ERROR("1 1 x.c:5 func: f",
		    "test:1: missing function name: '1 1 x.c:5 func: f'");
	CHECK_ERROR("1 1 func:f", "test:1: missing FILE:LINE: '1 1 func:f'");
	CHECK_ERROR("1 1 x.c:5 f", "test:1: missing ' func:': '1 1 x.c:5 f'");
	CHECK_ERROR("1 1 x.c:5 [ice]", "test:1: missing ' func:': '1 1 x.c:5 [ice]'");
	CHECK_ERROR("12", "test:1: missing call count: '12'");
	CHECK_ERROR("12  3 ", "test:1: missing tag: '12  3'");
}

/* ------------------------------------------------------- functions */

struct function_case {
	const char *tail;       /* after "func:" */
	const char *function;
	bool inaccurate;
	const char *extras;     /* "k=v;k=v;" */
};

static void test_function_names(void)
{
	static const struct function_case cases[] = {
		{ "std::vector<int, std::allocator<int> >::_M_realloc_insert",
		  "std::vector<int, std::allocator<int> >::_M_realloc_insert",
		  false, "" },
		{ "std::vector<int, std::allocator<int> >::_M_realloc_insert accurate:no ",
		  "std::vector<int, std::allocator<int> >::_M_realloc_insert",
		  true, "" },
		{ "std::map<int, std::string>", "std::map<int, std::string>",
		  false, "" },
		{ "(anonymous namespace)::g(int) const",
		  "(anonymous namespace)::g(int) const", false, "" },
		{ "foo[abi:cxx11](int)", "foo[abi:cxx11](int)", false, "" },
		{ "operator new(unsigned long) accurate:no node:1 cpu:x",
		  "operator new(unsigned long)", true, "node=1;cpu=x;" },
		{ "f node:1 accurate:no", "f", true, "node=1;" },
		{ "f accurate:yes", "f", false, "accurate=yes;" },
		{ "a:b", "a:b", false, "" },
		{ "accurate:no", "accurate:no", false, "" },
		{ "f  x_1:1", "f", false, "x_1=1;" },
		{ "f X:1", "f X:1", false, "" },
		{ "f x:", "f x:", false, "" },
		{ "f x:a:b", "f x:a:b", false, "" },
		{ "f 1x:a", "f 1x:a", false, "" },
		{ "iommu_alloc_pages_node 20", "iommu_alloc_pages_node 20",
		  false, "" },
		{ "f \t ", "f", false, "" },
		{ "f\tx:1", "f\tx:1", false, "" },
		/* Found by fuzzing: a tab before an extra is not the name's. */
		{ "k\t c:.", "k", false, "c=.;" },
		{ "k \t accurate:no", "k", true, "" },
	};
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct function_case *c = &cases[i];
		struct allocinfo_report r;
		char line[256], extras[128] = "";
		size_t o = 0;

		snprintf(line, sizeof(line), "1 1 a.c:1 func:%s\n", c->tail);
		if (!CHECK_EQ_INT(read_str(line, false, &r), 0) ||
		    !CHECK_EQ_UINT(r.count, 1)) {
			fprintf(stderr, "  func:'%s': %s\n", c->tail, err);
			allocinfo_report_free(&r);
			continue;
		}
		for (j = 0; j < r.records[0].nextras; j++)
			o += (size_t)snprintf(extras + o, sizeof(extras) - o,
					      "%s=%s;",
					      r.records[0].extras[j].key,
					      r.records[0].extras[j].value);
		if (!CHECK_EQ_STR(r.records[0].function, c->function) ||
		    !CHECK_EQ_INT(r.records[0].inaccurate, c->inaccurate) ||
		    !CHECK_EQ_STR(extras, c->extras))
			fprintf(stderr, "  func:'%s'\n", c->tail);
		allocinfo_report_free(&r);
	}
}

/* What the reader reads, the printer prints back byte for byte. */
static void test_round_trip(void)
{
	static const char *const lines[] = {
		"        4096        2 src/main.c:12 [mod] func:main accurate:no \n",
		"         -64 18446744073709551615 a b.c:0 func:std::vector<int, std::allocator<int> >::push_back \n",
		"-9223372036854775808        0 python3.11+0x1a2b3c:0 func:PyMem_RawMalloc \n",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct allocinfo_report r;
		struct allocinfo_tag_text tag;
		char out[256];

		if (CHECK_EQ_INT(read_str(lines[i], false, &r), 0) &&
		    CHECK_EQ_UINT(r.count, 1)) {
			tag = allocinfo_record_tag(&r.records[0]);
			allocinfo_format_record(out, sizeof(out),
						r.records[0].bytes,
						r.records[0].calls, &tag);
			CHECK_EQ_STR(out, lines[i]);
		}
		allocinfo_report_free(&r);
	}
}

/* ---------------------------------------------------- hostile input */

static void test_error_messages(void)
{
	static const char nul_line[] = "1 1 a.c:1 func:f\0x\n";
	struct allocinfo_report r;
	char line[256];

	/* Line numbers count blank lines; the message names the line. */
	CHECK_ERROR("allocinfo - version: 2.0\n\ngarbage here\n",
		    "test:3: bad size: 'garbage here'");
	/* Shown text is cut at 60 bytes. */
	memset(line, 'x', 100);
	line[100] = '\0';
	CHECK_ERROR(line, "test:1: bad size: "
		    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
	/* Bytes that could upset a terminal are escaped. */
	CHECK_ERROR("1 1 a.c:1 func:\x1b[31mf",
		    "test:1: control character in line: '1 1 a.c:1 func:\\x1b[31mf'");
	CHECK_ERROR("1 1 a.c:1 func:f\x7f",
		    "test:1: control character in line: '1 1 a.c:1 func:f\\x7f'");
	CHECK_ERROR("\xe6\x8c\x82 \\",
		    "test:1: bad size: '\\xe6\\x8c\\x82 \\x5c'");

	CHECK_EQ_INT(read_mem(nul_line, sizeof(nul_line) - 1, false, &r), -1);
	CHECK_EQ_STR(err, "test:1: NUL byte in line: '1 1 a.c:1 func:f\\x00x'");
	allocinfo_report_free(&r);

	/* No error buffer is fine. */
	{
		FILE *f = tmpfile();

		if (CHECK(f != NULL)) {
			fputs("bad\n", f);
			rewind(f);
			CHECK_EQ_INT(allocinfo_read_stream(f, "x", false, &r,
							   NULL, 0), -1);
			fclose(f);
		}
	}
}

static void test_read_file(void)
{
	struct allocinfo_report r;

	CHECK_EQ_INT(allocinfo_read_file("/nonexistent/allocinfo", false, &r,
					 err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "/nonexistent/allocinfo: No such file or directory");
	CHECK(r.records == NULL && r.count == 0);
	allocinfo_report_free(&r);

	CHECK_EQ_INT(allocinfo_read_file("/", false, &r, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "/: Is a directory");
	allocinfo_report_free(&r);
}

/* A record line of exactly @len bytes (newline excluded). */
static char *long_record(size_t len)
{
	static const char head[] = "1 1 a.c:1 func:";
	char *text = malloc(len + 2);

	if (!text)
		exit(1);
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, 'f', len - (sizeof(head) - 1));
	text[len] = '\n';
	text[len + 1] = '\0';
	return text;
}

static void test_long_lines(void)
{
	struct allocinfo_report r;
	char *text, *big, expect[256];
	size_t n;

	/* A 100 kB C++ name is fine. */
	text = long_record(100000);
	if (CHECK_EQ_INT(read_str(text, false, &r), 0) &&
	    CHECK_EQ_UINT(r.count, 1))
		CHECK_EQ_UINT(strlen(r.records[0].function), 100000 - 15);
	allocinfo_report_free(&r);
	free(text);

	/* The limit is inclusive. */
	text = long_record(ALLOCINFO_LINE_MAX);
	if (CHECK_EQ_INT(read_str(text, false, &r), 0))
		CHECK_EQ_UINT(r.count, 1);
	allocinfo_report_free(&r);
	free(text);

	text = long_record(ALLOCINFO_LINE_MAX + 1);
	CHECK_EQ_INT(read_str(text, false, &r), -1);
	CHECK_EQ_STR(err, "test:1: line too long: "
		     "'1 1 a.c:1 func:fffffffffffffffffffffffffffffffffffffffffffff...'");
	allocinfo_report_free(&r);
	free(text);

	/* Lenient: a 3 MiB line between two records, one without newline. */
	n = 3 * 1024 * 1024;
	big = malloc(n + 64);
	if (!big)
		exit(1);
	strcpy(big, "1 1 a.c:1 func:f\n");
	memset(big + 17, 'z', n);
	strcpy(big + 17 + n, "\n2 2 b.c:2 func:g");
	if (CHECK_EQ_INT(read_str(big, true, &r), 0)) {
		CHECK_EQ_UINT(r.count, 2);
		CHECK_EQ_UINT(r.lines, 3);
		CHECK_EQ_UINT(r.skipped_lines, 1);
		CHECK_EQ_UINT(r.first_skipped, 2);
		if (r.count == 2)
			CHECK_EQ_UINT(r.records[1].lineno, 3);
	}
	allocinfo_report_free(&r);

	/* A 3 MiB last line without newline, strict. */
	strcpy(big + 17 + n, "");
	CHECK_EQ_INT(read_str(big, false, &r), -1);
	snprintf(expect, sizeof(expect), "test:2: line too long: '%.60s...'",
		 big + 17);
	CHECK_EQ_STR(err, expect);
	allocinfo_report_free(&r);
	free(big);
}

/* Deterministic pseudo-random bytes (no libc state shared with others). */
static uint32_t lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

static void test_garbage(void)
{
	static const char base[] =
		"allocinfo - version: 2.0\n"
		"#     <size>  <calls> <tag info>\n"
		"# pid: 7\n"
		"     1.5K        2 a b.c:12 [m] func:std::f<int, x> accurate:no k:v \n";
	uint32_t seed = 12345;
	struct allocinfo_report r;
	char *buf;
	size_t n = 1 << 20, i, round;

	/* Random bytes, NULs and newlines included. */
	buf = malloc(n);
	if (!buf)
		exit(1);
	for (i = 0; i < n; i++)
		buf[i] = (char)lcg(&seed);
	if (CHECK_EQ_INT(read_mem(buf, n, true, &r), 0))
		CHECK_EQ_UINT(r.skipped_lines + r.count +
			      (r.version_major != 0) + r.has_columns +
			      r.nmetadata <= r.lines, 1);
	allocinfo_report_free(&r);
	CHECK_EQ_INT(read_mem(buf, n, false, &r), -1);
	CHECK(!strncmp(err, "test:", 5));
	allocinfo_report_free(&r);
	free(buf);

	/* A valid report with a few bytes changed: never a crash, and a
	 * strict read either fails or yields at most one record. */
	buf = malloc(sizeof(base));
	if (!buf)
		exit(1);
	for (round = 0; round < 20000; round++) {
		unsigned k, changes = 1 + lcg(&seed) % 4;
		int rc;

		memcpy(buf, base, sizeof(base));
		for (k = 0; k < changes; k++) {
			static const char pick[] = " :[]#.-\n\t\0KMEZafunc0129";

			buf[lcg(&seed) % (sizeof(base) - 1)] =
				lcg(&seed) % 2 ? pick[lcg(&seed) % (sizeof(pick) - 1)] :
						 (char)lcg(&seed);
		}
		rc = read_mem(buf, sizeof(base) - 1, false, &r);
		if (!CHECK(rc == -1 || r.count <= 1))
			break;
		allocinfo_report_free(&r);
		rc = read_mem(buf, sizeof(base) - 1, true, &r);
		if (!CHECK(rc == 0))
			break;
		allocinfo_report_free(&r);
	}
	allocinfo_report_free(&r);
	free(buf);
}

static void test_lenient(void)
{
	struct allocinfo_report r;

	if (!CHECK_EQ_INT(read_str("$ sort -g /proc/allocinfo\n"
				   "1 1 a.c:1 func:f\n"
				   ">  2 2 b.c:2 func:g\n"
				   "     26K      230 drivers/net/ice_irq.c:84 [ice]\n"
				   "func:ice_get_irq_res\n"
				   "3 3 c.c:3 func:h\n", true, &r), 0))
		return;
	CHECK_EQ_UINT(r.count, 2);
	CHECK_EQ_UINT(r.lines, 6);
	CHECK_EQ_UINT(r.skipped_lines, 4);
	CHECK_EQ_UINT(r.first_skipped, 1);
	CHECK_EQ_STR(r.first_skip_reason,
		     "test:1: bad size: '$ sort -g /proc/allocinfo'");
	if (r.count == 2) {
		CHECK_EQ_STR(r.records[0].function, "f");
		CHECK_EQ_STR(r.records[1].function, "h");
	}
	allocinfo_report_free(&r);

	/* The same input read strictly stops at the first bad line. */
	CHECK_ERROR("1 1 a.c:1 func:f\n>  2 2 b.c:2 func:g\n",
		    "test:2: bad size: '>  2 2 b.c:2 func:g'");
}

/* ------------------------------------------------------- aggregate */

static void test_aggregate(void)
{
	struct allocinfo_report r;
	size_t i;

	if (!CHECK_EQ_INT(read_str(
		"10 1 a.c:1 func:f\n"
		"5 1 b.c:2 func:g\n"
		"20 2 a.c:1 func:f accurate:no\n"
		"7 1 a.c:1 [m] func:f\n"
		"1 1 a.c:2 func:f\n"
		"-5 1 a.c:1 func:f\n"
		"1 1 a.c:1 func:f2\n"
		"1.5K 1 b.c:2 func:g\n"
		"9223372036854775807 18446744073709551615 z.c:1 func:z\n"
		"1 2 z.c:1 func:z\n", false, &r), 0))
		return;
	if (!CHECK_EQ_INT(allocinfo_report_aggregate(&r), 0))
		goto out;
	if (!CHECK_EQ_UINT(r.count, 6))
		goto out;
	/* First-occurrence order, sums in the first record. */
	CHECK_RECORD(&r.records[0], 25, 4, "a.c", 1, "", "f", true, false);
	CHECK_RECORD(&r.records[1], 1541, 2, "b.c", 2, "", "g", false, true);
	CHECK_RECORD(&r.records[2], 7, 1, "a.c", 1, "m", "f", false, false);
	CHECK_RECORD(&r.records[3], 1, 1, "a.c", 2, "", "f", false, false);
	CHECK_RECORD(&r.records[4], 1, 1, "a.c", 1, "", "f2", false, false);
	/* Bytes clamp (and say so), calls wrap like the kernel's. */
	CHECK_RECORD(&r.records[5], INT64_MAX, 1, "z.c", 1, "", "z", false,
		     true);
	CHECK_EQ_UINT(r.records[0].lineno, 1);
	allocinfo_report_free(&r);

	/* Many records, few keys: sums are exact. */
	{
		size_t n = 100000, o = 0, cap = n * 40;
		char *text = malloc(cap);

		if (!text)
			exit(1);
		for (i = 0; i < n; i++)
			o += (size_t)snprintf(text + o, cap - o,
					      "%zu 1 f%zu.c:%zu func:x\n",
					      i, i % 1000, i % 7);
		if (CHECK_EQ_INT(read_mem(text, o, false, &r), 0) &&
		    CHECK_EQ_INT(allocinfo_report_aggregate(&r), 0) &&
		    CHECK_EQ_UINT(r.count, 7000)) {
			int64_t total = 0, calls = 0;

			for (i = 0; i < r.count; i++) {
				total += r.records[i].bytes;
				calls += r.records[i].calls;
			}
			CHECK_EQ_INT(total, (int64_t)n * (n - 1) / 2);
			CHECK_EQ_INT(calls, n);
			/* f0.c:0 holds i = 0, 7000, 14000, ... */
			CHECK_EQ_STR(r.records[0].file, "f0.c");
			CHECK_EQ_INT(r.records[0].calls, (n + 6999) / 7000);
		}
		allocinfo_report_free(&r);
		free(text);
	}

	/* Empty report. */
	if (CHECK_EQ_INT(read_str("", false, &r), 0)) {
		CHECK_EQ_INT(allocinfo_report_aggregate(&r), 0);
		CHECK_EQ_UINT(r.count, 0);
	}
out:
	allocinfo_report_free(&r);
}

/* The size parser the tool's --min-size and --fail-on-growth use. */
static void test_parse_size(void)
{
	int64_t v = 0;

	CHECK_EQ_INT(allocinfo_parse_size("0", &v), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(allocinfo_parse_size("4096", &v), 0);
	CHECK_EQ_INT(v, 4096);
	CHECK_EQ_INT(allocinfo_parse_size("1K", &v), 0);
	CHECK_EQ_INT(v, 1024);
	CHECK_EQ_INT(allocinfo_parse_size("4Ki", &v), 0);
	CHECK_EQ_INT(v, 4096);
	CHECK_EQ_INT(allocinfo_parse_size("2.8M", &v), 0);
	CHECK_EQ_INT(v, 2936013);               /* 2936012.8, to nearest */
	CHECK_EQ_INT(allocinfo_parse_size("-1.5K", &v), 0);
	CHECK_EQ_INT(v, -1536);
	CHECK_EQ_INT(allocinfo_parse_size("9223372036854775807", &v), 0);
	CHECK_EQ_INT(v, INT64_MAX);
	CHECK_EQ_INT(allocinfo_parse_size("-9223372036854775808", &v), 0);
	CHECK_EQ_INT(v, INT64_MIN);
	CHECK_EQ_INT(allocinfo_parse_size("8E", &v), -2);
	CHECK_EQ_INT(allocinfo_parse_size("9223372036854775808", &v), -2);
	CHECK_EQ_INT(allocinfo_parse_size("99999999999999999999", &v), -2);
	CHECK_EQ_INT(allocinfo_parse_size("", &v), -1);
	CHECK_EQ_INT(allocinfo_parse_size("1X", &v), -1);
	CHECK_EQ_INT(allocinfo_parse_size("1.5", &v), -1);
	CHECK_EQ_INT(allocinfo_parse_size("+1", &v), -1);
	CHECK_EQ_INT(allocinfo_parse_size(" 1", &v), -1);
	CHECK_EQ_INT(allocinfo_parse_size("1K ", &v), -1);
}

/* --------------------------------------------------------- samples */

/*
 * A record line, by a rule written independently of the reader: the
 * two number columns (numfmt suffixes allowed), FILE:LINE, optional
 * [MODULE], then " func:" and a name.
 */
static const char record_pattern[] =
	"^[ \t]*-?[0-9]+(\\.[0-9]+)?([KMGTPEZY]i?)?[ \t]+[0-9]+[ \t]+"
	"[^ \t].*:[0-9]+( \\[[^]]+\\])? func:[^ \t]";

/* Records per sample as counted by hand, to keep the regex honest. */
static const struct {
	const char *file;
	size_t records;
} sample_counts[] = {
	{ "blog-zh-xfs-module-trailing-spaces.txt", 10 },
	{ "kernel-docs-example.txt", 11 },
	{ "lkml-accurate-no-v2-patch-example.txt", 10 },
	{ "lkml-accurate-v1-asterisk-proposal.txt", 8 },
	{ "lkml-duplicate-keys-multiset.txt", 14 },
	{ "lkml-ice-grep-module-numfmt.txt", 0 },
	{ "lkml-ice-leak-6days-sort-g.txt", 14 },
	{ "lkml-ice-leak-fresh-boot-sort-g.txt", 14 },
	{ "lkml-per-numa-proposal-unmerged.txt", 4 },
	{ "lkml-showmem-dmesg-xen-v4l2.txt", 0 },
	{ "lkml-showmem-interleaved-meta.txt", 0 },
	{ "lkml-v2-cover-letter-2023-premerge-format.txt", 0 },
	{ "lkml-v3-cover-letter-2024-premerge-format.txt", 0 },
	{ "lkml-v4-cover-letter-sort-rn.txt", 11 },
	{ "lkml-version-header-v1-patch-head-no-column-header.txt", 9 },
	{ "lkml-version-header-v2-patch-head.txt", 9 },
};

static void check_sample(const char *dir, const char *name,
			 const regex_t *record_re)
{
	struct allocinfo_report r, one;
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0, matching = 0, i;
	ssize_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!CHECK_EQ_INT(allocinfo_read_file(path, true, &r, err,
					      sizeof(err)), 0)) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	f = fopen(path, "r");
	if (!CHECK(f != NULL))
		goto out;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (regexec(record_re, line, 0, NULL, 0))
			continue;
		matching++;
		/* Each record line parses strictly on its own. */
		if (!CHECK_EQ_INT(read_str(line, false, &one), 0) ||
		    !CHECK_EQ_UINT(one.count, 1))
			fprintf(stderr, "  %s: %s", name, line);
		allocinfo_report_free(&one);
	}
	free(line);
	fclose(f);
	if (!CHECK_EQ_UINT(r.count, matching))
		fprintf(stderr, "  sample %s\n", name);
	for (i = 0; i < sizeof(sample_counts) / sizeof(sample_counts[0]); i++)
		if (!strcmp(sample_counts[i].file, name) &&
		    !CHECK_EQ_UINT(r.count, sample_counts[i].records))
			fprintf(stderr, "  sample %s\n", name);
out:
	allocinfo_report_free(&r);
}

static void test_samples(void)
{
	const char *dir = getenv("SAMPLES_DIR");
	struct dirent *de;
	regex_t record_re;
	size_t checked = 0;
	DIR *d;

	if (!dir || !*dir) {
		fprintf(stderr, "SAMPLES_DIR not set: samples not checked\n");
		return;
	}
	if (!CHECK_EQ_INT(regcomp(&record_re, record_pattern,
				  REG_EXTENDED | REG_NOSUB), 0))
		return;
	d = opendir(dir);
	if (CHECK(d != NULL)) {
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);

			if (n < 4 || strcmp(de->d_name + n - 4, ".txt"))
				continue;
			check_sample(dir, de->d_name, &record_re);
			checked++;
		}
		closedir(d);
	}
	CHECK(checked >= sizeof(sample_counts) / sizeof(sample_counts[0]));
	regfree(&record_re);
}

int main(void)
{
	RUN_TEST(test_v2_full);
	RUN_TEST(test_v1_no_columns_no_final_newline);
	RUN_TEST(test_no_header);
	RUN_TEST(test_header_spacing);
	RUN_TEST(test_header_errors);
	RUN_TEST(test_metadata);
	RUN_TEST(test_sizes);
	RUN_TEST(test_calls);
	RUN_TEST(test_format_like_printf);
	RUN_TEST(test_format_utc);
	RUN_TEST(test_tags);
	RUN_TEST(test_function_names);
	RUN_TEST(test_round_trip);
	RUN_TEST(test_error_messages);
	RUN_TEST(test_read_file);
	RUN_TEST(test_long_lines);
	RUN_TEST(test_garbage);
	RUN_TEST(test_lenient);
	RUN_TEST(test_aggregate);
	RUN_TEST(test_parse_size);
	RUN_TEST(test_samples);
	return harness_summary();
}

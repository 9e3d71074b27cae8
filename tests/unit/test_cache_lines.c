/*
 * Unit tests of the caches' line index (report/cache_dir.h, struct
 * cache_lines): every key is found at its own line, every other key is
 * not, and a file out of order, cut short or with a bad key is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "report/cache_dir.h"
#include "tests/unit/harness.h"

#define HEADER "allocinfo-test 1 x 0000000000000000"

/* @text in memory as cache_dir_read leaves it: NUL, then the pad. */
static char *as_read(const char *text)
{
	size_t len = strlen(text);
	char *copy = core_internal_alloc(len + 1 + CACHE_DIR_READ_PAD);

	memcpy(copy, text, len);
	memset(copy + len, 0, 1 + CACHE_DIR_READ_PAD);
	return copy;
}

static bool indexes(const char *text, size_t max_lines, struct cache_lines *lines)
{
	return cache_lines_index(lines, as_read(text), HEADER, max_lines);
}

/* Files the index must refuse, each with the reason. */
static void test_refused(void)
{
	static const char *const bad[] = {
		"allocinfo-test 2 x 0000000000000000\n10\ta\n",  /* header */
		HEADER,                                          /* no newline */
		HEADER "\n",                                     /* no line */
		HEADER "\n10\ta\n20\tb",                         /* cut short */
		HEADER "\n20\ta\n10\tb\n",                       /* out of order */
		HEADER "\n10\ta\n10\tb\n",                       /* repeated */
		HEADER "\nzz\ta\n",                              /* not hex */
		HEADER "\n1A\ta\n",                              /* upper case */
		HEADER "\n\ta\n",                                /* no key */
		HEADER "\n10 a\n",                               /* no tab */
		HEADER "\n10\n",                                 /* no tab */
		HEADER "\n10000000000000000\ta\n",               /* 17 digits */
		HEADER "\nffffffffffffffff a\n",                 /* 16, no tab */
		HEADER "\n1/\ta\n", HEADER "\n1:\ta\n",          /* around 0-9 */
		HEADER "\n1`\ta\n", HEADER "\n1g\ta\n",          /* around a-f */
		HEADER "\n1\xb0\ta\n", HEADER "\n\xe1\ta\n",      /* 0x80 and up */
		HEADER "\n12345678\xe1" "9\ta\n",              /* in the middle */
	};
	struct cache_lines lines;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!CHECK(!indexes(bad[i], 100, &lines)))
			fprintf(stderr, "  refused: %s\n", bad[i]);
		CHECK(!lines.count && !lines.text && !lines.keys);
	}
	CHECK(!indexes(HEADER "\n1\ta\n2\tb\n3\tc\n", 2, &lines));
	CHECK(indexes(HEADER "\n1\ta\n2\tb\n3\tc\n", 3, &lines));
	cache_lines_free(&lines);
}

/* Each line found by its key, whole; no other key found. */
static void check_finds(const uint64_t *keys, size_t n, uint64_t *state)
{
	size_t size = 128 + n * 96, len;
	char *text = malloc(size), *at = text;
	struct cache_lines lines;

	at += sprintf(at, "%s\n", HEADER);
	for (size_t i = 0; i < n; i++)
		at += sprintf(at, "%llx\tline %zu\t%s\n", (unsigned long long)keys[i], i,
			      i % 3 ? "x" : "a longer field, past sixteen bytes");
	if (!CHECK(indexes(text, n, &lines)) || !CHECK_EQ_UINT(lines.count, n)) {
		free(text);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char want[128];
		const char *line;
		size_t place = cache_lines_find(&lines, keys[i]);

		if (!CHECK_EQ_UINT(place, i))
			break;
		snprintf(want, sizeof(want), "%llx\tline %zu\t%s\n", (unsigned long long)keys[i],
			 i, i % 3 ? "x" : "a longer field, past sixteen bytes");
		line = cache_lines_line(&lines, i, &len);
		CHECK(len == strlen(want) && !memcmp(line, want, len));
	}
	/* Keys between, below and above the file's, and at random. */
	for (size_t i = 0; i <= n; i++) {
		uint64_t below = i < n ? keys[i] - 1 : UINT64_MAX;

		if (i < n && (keys[i] == 0 || (i && below == keys[i - 1])))
			continue;
		if (i == n && n && keys[n - 1] == UINT64_MAX)
			continue;
		CHECK_EQ_UINT(cache_lines_find(&lines, below), SIZE_MAX);
	}
	for (int k = 0; k < 1000; k++) {
		uint64_t key = (*state = *state * 6364136223846793005ull + 1442695040888963407ull);
		size_t linear = SIZE_MAX;

		for (size_t i = 0; i < n; i++)
			if (keys[i] == key)
				linear = i;
		CHECK_EQ_UINT(cache_lines_find(&lines, key), linear);
	}
	cache_lines_free(&lines);
	free(text);
}

static void test_finds(void)
{
	static const size_t counts[] = { 1, 2, 3, 16, 17, 1000, 4427 };
	uint64_t state = 0x9e3779b97f4a7c15ull;

	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		size_t n = counts[c];
		uint64_t *keys = malloc(n * sizeof(*keys)), key = 0;

		/* Increasing, by steps of 1 to 4096; the last one, the
		 * largest key there is, in the biggest file. */
		for (size_t i = 0; i < n; i++) {
			state = state * 6364136223846793005ull + 1442695040888963407ull;
			key += 1 + (state >> 52);
			keys[i] = key;
		}
		if (n == 4427)
			keys[n - 1] = UINT64_MAX;
		check_finds(keys, n, &state);
		free(keys);
	}
}

/* Keys of every length, 1 to 16 digits, each digit and letter in every
 * place: the value read is the value written. */
static void test_key_digits(void)
{
	static const char digits[] = "0123456789abcdef";
	char text[16384], *at = text;
	uint64_t keys[16 * 16];
	struct cache_lines lines;
	size_t n = 0;

	at += sprintf(at, "%s\n", HEADER);
	for (unsigned int len = 1; len <= 16; len++) {
		for (unsigned int first = 1; first < 16; first++) {
			char key[17];
			uint64_t value = 0;

			/* Increasing: the length first, then the leading
			 * digit; the others cycle through all sixteen. */
			for (unsigned int i = 0; i < len; i++) {
				unsigned int d = i ? (first + 7 * i) % 16 : first;

				key[i] = digits[d];
				value = value << 4 | d;
			}
			key[len] = '\0';
			keys[n++] = value;
			at += sprintf(at, "%s\tline %zu\n", key, n);
		}
	}
	if (!CHECK(indexes(text, n, &lines)) || !CHECK_EQ_UINT(lines.count, n))
		return;
	for (size_t i = 0; i < n; i++)
		if (!CHECK_EQ_UINT(cache_lines_find(&lines, keys[i]), i))
			fprintf(stderr, "  key %llx\n", (unsigned long long)keys[i]);
	cache_lines_free(&lines);
}

int main(void)
{
	RUN_TEST(test_refused);
	RUN_TEST(test_key_digits);
	RUN_TEST(test_finds);
	return harness_summary();
}

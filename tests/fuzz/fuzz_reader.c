/*
 * libFuzzer target of the allocinfo reader (report/reader.c), built
 * with clang -fsanitize=fuzzer,address,undefined.  Each input is read
 * strictly and leniently; then, beyond "no crash, no leak, no bad
 * access", it checks what the reader promises:
 *
 *   - a strict read fails with a one-line message naming the input,
 *     or succeeds and a lenient read finds the same records;
 *   - every record read prints (format.c) as a line that reads back
 *     strictly as one record with the same key, bytes and calls, so
 *     the printer and the parser agree on the grammar;
 *   - aggregating leaves no two records with the same key and keeps
 *     the sum of the calls (modulo 2^64, as the kernel counts).
 *
 * A broken promise aborts, which libFuzzer reports with the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_reader.c:%d: broken: %s\n", \
				__LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static int read_buffer(const uint8_t *data, size_t size, bool lenient,
		       struct allocinfo_report *report, char *err,
		       size_t errlen)
{
	/* fmemopen() refuses a zero-sized buffer: read "" from /dev/null. */
	FILE *f = size ? fmemopen((void *)data, size, "r") :
			 fopen("/dev/null", "r");
	int rc;

	FUZZ_ASSERT(f);
	rc = allocinfo_read_stream(f, "fuzz", lenient, report, err, errlen);
	fclose(f);
	return rc;
}

static void check_round_trip(const struct allocinfo_record *rec)
{
	struct allocinfo_tag_text tag = allocinfo_record_tag(rec);
	struct allocinfo_report back;
	char err[ALLOCINFO_ERR_MAX];
	int len;
	char *line;

	len = allocinfo_format_record(NULL, 0, rec->bytes, rec->calls, &tag);
	FUZZ_ASSERT(len > 0);
	line = malloc((size_t)len + 1);
	FUZZ_ASSERT(line);
	allocinfo_format_record(line, (size_t)len + 1, rec->bytes, rec->calls,
				&tag);
	if (read_buffer((const uint8_t *)line, (size_t)len, false, &back, err,
			sizeof(err))) {
		fprintf(stderr, "printed record does not read back: %s\n", err);
		abort();
	}
	FUZZ_ASSERT(back.count == 1);
	FUZZ_ASSERT(allocinfo_record_key_equal(&back.records[0], rec));
	FUZZ_ASSERT(back.records[0].bytes == rec->bytes);
	FUZZ_ASSERT(back.records[0].calls == rec->calls);
	FUZZ_ASSERT(back.records[0].inaccurate == rec->inaccurate);
	allocinfo_report_free(&back);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct allocinfo_report strict, lenient;
	char err[ALLOCINFO_ERR_MAX];
	uint64_t calls = 0, summed = 0;
	size_t i, j;
	int rc;

	rc = read_buffer(data, size, false, &strict, err, sizeof(err));
	if (rc) {
		FUZZ_ASSERT(!strncmp(err, "fuzz", 4));
		FUZZ_ASSERT(!strchr(err, '\n'));
		FUZZ_ASSERT(strict.count == 0 && !strict.records);
	}
	FUZZ_ASSERT(!read_buffer(data, size, true, &lenient, err,
				 sizeof(err)));
	if (!rc) {
		FUZZ_ASSERT(lenient.count == strict.count);
		FUZZ_ASSERT(lenient.skipped_lines == 0);
	}

	for (i = 0; i < lenient.count; i++) {
		check_round_trip(&lenient.records[i]);
		calls += (uint64_t)lenient.records[i].calls;
	}
	FUZZ_ASSERT(!allocinfo_report_aggregate(&lenient));
	for (i = 0; i < lenient.count; i++) {
		summed += (uint64_t)lenient.records[i].calls;
		/* Quadratic, but fuzz inputs hold few records. */
		for (j = i + 1; j < lenient.count && j < i + 64; j++)
			FUZZ_ASSERT(!allocinfo_record_key_equal(
					    &lenient.records[i],
					    &lenient.records[j]));
	}
	FUZZ_ASSERT(calls == summed);

	allocinfo_report_free(&strict);
	allocinfo_report_free(&lenient);
	return 0;
}

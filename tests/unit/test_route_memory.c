/*
 * Unit tests of the router's memory on disk (preload/route_memory.h),
 * in a folder of their own: what is stored is found again, fact for
 * fact; a file that another process left with a flaw at exit does not
 * lose what this process read at start; route_memory_knows tells a
 * learned site the memory has from one it lacks or knows less of.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/codetag.h"
#include "preload/route_memory.h"
#include "tests/unit/harness.h"

static const unsigned char build_id[] = { 0xde, 0xad, 0xbe, 0xef };
static char folder[] = "/tmp/allocinfo-route-memory.XXXXXX";
static char path[sizeof(folder) + 32];

#define SITES 40

static struct learned_site site_at(size_t i)
{
	struct learned_site s = { .offset = 0x1000 + 0x40 * i };

	s.facts.code = (enum callsite_code)(i % 3);
	s.facts.route = (uint16_t)(i % 3 == CALLSITE_CODE_ANONYMOUS ? CODETAG_ROUTE_SELF : 0);
	s.facts.caller_offset = i % 2 ? (int32_t)(8 + 8 * i) : 0;
	s.facts.caller_offset_confirmed = i % 4 == 1;
	return s;
}

/* Every one of @sites is in @memory with its facts. */
static void check_found(const struct route_memory *memory, const struct learned_site *sites,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct callsite_facts got = { 0 };

		if (!CHECK(route_memory_find(memory, sites[i].offset, &got)))
			continue;
		CHECK_EQ_INT(got.code, sites[i].facts.code);
		CHECK_EQ_INT(got.route, sites[i].facts.route);
		CHECK_EQ_INT(got.caller_offset, sites[i].facts.caller_offset);
		CHECK_EQ_INT(got.caller_offset_confirmed, sites[i].facts.caller_offset_confirmed);
		CHECK(route_memory_knows(memory, &sites[i]));
	}
}

/* Rewrites the file as its header and then @body. */
static void plant(const char *body)
{
	char header[256] = "";
	FILE *f = fopen(path, "r");

	if (!CHECK(f && fgets(header, sizeof(header), f)))
		return;
	fclose(f);
	f = fopen(path, "w");
	fprintf(f, "%s%s", header, body);
	fclose(f);
}

static void test_store_and_fallback(void)
{
	struct learned_site sites[SITES + 1];
	const struct route_memory *memory;
	struct callsite_facts got;

	for (size_t i = 0; i < SITES; i++)
		sites[i] = site_at(i);
	memory = route_memory_load(build_id, sizeof(build_id));
	CHECK(!route_memory_find(memory, sites[0].offset, &got));
	CHECK(!route_memory_knows(memory, &sites[0]));
	route_memory_store(build_id, sizeof(build_id), memory, sites, SITES);
	route_memory_free(memory);

	memory = route_memory_load(build_id, sizeof(build_id));
	check_found(memory, sites, SITES);
	CHECK(!route_memory_find(memory, 0x1000 + 0x40 * SITES, &got));
	/* Knowing less than the memory is knowing nothing new; knowing
	 * more, or otherwise, is. */
	struct learned_site less = sites[1], more = sites[0], other = sites[2];

	less.facts.caller_offset = 0;
	more.facts.caller_offset = 16;
	other.facts.code = CALLSITE_CODE_OWN;
	CHECK(route_memory_knows(memory, &less));
	CHECK(!route_memory_knows(memory, &more));
	CHECK(!route_memory_knows(memory, &other));

	/* At exit the file is another process's, one line long and with a
	 * flaw: what this process read at start is kept, with the site it
	 * learned since (the list read at start is longer than the file
	 * read again). */
	plant("1000\tmine\t-\t-\n");
	sites[SITES] = site_at(SITES);
	route_memory_store(build_id, sizeof(build_id), memory, &sites[SITES], 1);
	route_memory_free(memory);
	memory = route_memory_load(build_id, sizeof(build_id));
	check_found(memory, sites, SITES + 1);
	route_memory_free(memory);

	/* A flaw in a line read at start: that site is not found, the
	 * others are. */
	plant("1000\town\tsideways\t-\n1040\twrapper\t-\t16?\n");
	memory = route_memory_load(build_id, sizeof(build_id));
	CHECK(!route_memory_find(memory, 0x1000, &got));
	CHECK(route_memory_find(memory, 0x1040, &got) && got.caller_offset == 16 &&
	      !got.caller_offset_confirmed && got.code == CALLSITE_CODE_WRAPPER);
	route_memory_free(memory);
}

int main(void)
{
	if (!mkdtemp(folder))
		return 1;
	route_memory_configure(folder, "");
	snprintf(path, sizeof(path), "%s/deadbeef.routes", folder);
	RUN_TEST(test_store_and_fallback);
	unlink(path);
	rmdir(folder);
	return harness_summary();
}

/* One printer of allocinfo records and tags (see format.h). */
#include "report/format.h"

#include <stdio.h>

int allocinfo_format_record(char *buf, size_t size, int64_t bytes,
			    int64_t calls, const struct allocinfo_tag_text *tag)
{
	bool has_module = tag->module && tag->module[0];

	return snprintf(buf, size, "%12lli %8llu %s:%lu%s%s%s func:%s%s%s \n",
			(long long)bytes, (unsigned long long)calls,
			tag->file, tag->line,
			has_module ? " [" : "", has_module ? tag->module : "",
			has_module ? "]" : "",
			tag->function, tag->extras ? tag->extras : "",
			tag->inaccurate ? " accurate:no" : "");
}

int allocinfo_format_tag(char *buf, size_t size,
			 const struct allocinfo_tag_text *tag, bool with_line)
{
	bool has_module = tag->module && tag->module[0];
	char line[24] = "*";

	if (with_line)
		snprintf(line, sizeof(line), "%lu", tag->line);
	/* The same tag as in allocinfo_format_record(), line aside. */
	return snprintf(buf, size, "%s:%s%s%s%s func:%s%s", tag->file, line,
			has_module ? " [" : "", has_module ? tag->module : "",
			has_module ? "]" : "",
			tag->function,
			tag->inaccurate ? " accurate:no" : "");
}

/* Writing the report at exit, at intervals and on fatal signals. */
#ifndef ALLOCINFO_PRELOAD_LIFECYCLE_H
#define ALLOCINFO_PRELOAD_LIFECYCLE_H

#include <stdbool.h>

enum report_reason {
	REPORT_AT_EXIT,
	REPORT_AT_INTERVAL,
	REPORT_AT_SIGNAL,   /* never waits for its own thread's report */
};

/* Writes the report now; false if reports are off or it was skipped. */
bool lifecycle_write_report(enum report_reason reason);

#endif

/* Writing the report at exit, at intervals and on fatal signals. */
#ifndef ALLOCINFO_PRELOAD_LIFECYCLE_H
#define ALLOCINFO_PRELOAD_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

enum report_reason {
	REPORT_AT_EXIT,
	REPORT_AT_INTERVAL,
	REPORT_AT_SIGNAL,   /* never waits for its own thread's report */
};

/* Writes the report now; false if reports are off or it was skipped. */
bool lifecycle_write_report(enum report_reason reason);

/*
 * A library at [@lo, @hi) is about to be unloaded: keep the text of its
 * call sites for the report (see symbolizer_remember_sites).
 */
void lifecycle_remember_sites(uintptr_t lo, uintptr_t hi, uint32_t generation);

#endif

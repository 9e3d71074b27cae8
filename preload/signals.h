/* Reports on fatal signals, invisibly to the program (signals.c). */
#ifndef ALLOCINFO_PRELOAD_SIGNALS_H
#define ALLOCINFO_PRELOAD_SIGNALS_H

/* Installs the report handler where the program's disposition is the
 * default.  Called once by the constructor. */
void signals_init(void);

#endif

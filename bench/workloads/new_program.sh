#!/bin/sh
# A small C program no earlier run has seen, as a configure script's
# checks make them: NAME.c with one malloc of SIZE bytes in main, built
# with gcc -g -O2 as NAME in the current folder (a build-id of its own,
# since SIZE differs).  For bench/workloads/conftests.sh and
# bench/first_runs.sh.
#
#   sh new_program.sh SIZE NAME
set -eu
[ $# -eq 2 ] || { echo "usage: sh bench/workloads/new_program.sh SIZE NAME" >&2; exit 2; }
printf '#include <stdio.h>\n#include <stdlib.h>\nint main(void) { char *p = malloc(%d); printf("%%p\\n", (void *)p); return 0; }\n' \
	"$1" >"$2.c"
gcc -g -O2 -o "$2" "$2.c"

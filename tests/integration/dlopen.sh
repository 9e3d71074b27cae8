#!/bin/sh
# dlopen and dlclose (tests/programs/dl_main.c, dl_lib.c, dl_deep.c):
# - a library opened, allocated through (its constructor, malloc,
#   calloc, mmap) and dlclose'd before exit, really unloaded (the
#   program checks): its call sites keep their file:line, function and
#   module in the report written at exit, blocks it made and the
#   program freed after the dlclose show 0 0, its mapping stays;
# - a library opened with RTLD_DEEPBIND after it (likely at the same
#   address), whose blocks cross to the program and back: nothing
#   breaks; its malloc is glibc's, whose blocks are untracked (README),
#   so its lines have no record;
# - the first again in a program that forked before it loaded it, so
#   that the profiler made its symbolizer ready before the library
#   was there (report/symbolize.h: symbolizer_prepare).
# Neither library is linked to the program.
set -eu
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/lib_reports.sh"
test_init

prog=$TEST_BIN/programs/dl_main
lib=$TEST_BIN/programs/.libs/dl_lib.so
deep=$TEST_BIN/programs/.libs/dl_deep.so
for f in "$prog" "$lib" "$deep"; do
	[ -f "$f" ] || fail "$f not built"
done
head -c 4 "$prog" | grep -q ELF || fail "$prog is not an ELF file (a libtool wrapper?)"

# Each part in a subshell, so that a failure of one does not hide the
# other's.

# check_closed NAME [--fork-first]: the closed library alone.
check_closed()
{
	cc_report=$T/$1
	shift
	run_native "$prog" "$@" "$lib"
	run_preloaded "$cc_report" "$prog" "$@" "$lib"
	check_report_wellformed "$cc_report"
	check_expect_markers "$TEST_SRC/programs/dl_lib.c" "$cc_report"
	check_expect_markers "$(expect_variant nodeep "$TEST_SRC/programs/dl_main.c")" "$cc_report"
	check_no_internal_tags "$cc_report"
	check_no_stderr "$cc_report"
	test_done
}

(check_closed closed) || failed_later=1

# The same after a fork: the profiler made its symbolizer ready for the
# child before the library was loaded, and the report's list of modules
# must be the loader's of then, not of the fork.
(check_closed forked --fork-first) || failed_later=1

# Then the RTLD_DEEPBIND library too.
(
	run_native "$prog" "$lib" "$deep"
	run_preloaded "$T/deep" "$prog" "$lib" "$deep"
	check_report_wellformed "$T/deep"
	check_expect_markers "$TEST_SRC/programs/dl_lib.c" "$T/deep"
	check_expect_markers "$TEST_SRC/programs/dl_deep.c" "$T/deep"
	check_expect_markers "$TEST_SRC/programs/dl_main.c" "$T/deep"
	check_no_internal_tags "$T/deep"
	# RTLD_DEEPBIND is dropped, and said so once (not for dl_main's
	# RTLD_NOLOAD probe of libz before it, which loads nothing).
	[ "$(grep -c . "$T/deep.stderr")" = 1 ] &&
		grep -q "^allocinfo: dlopen(\".*dl_deep.so\", RTLD_DEEPBIND): loaded without RTLD_DEEPBIND" "$T/deep.stderr" ||
		fail_later "RTLD_DEEPBIND: expected one line on stderr, got: $(cat "$T/deep.stderr")"
	test_done
) || failed_later=1

test_done

#!/bin/sh
# The default cache folder is the one the environment named at start
# (report/cache_dir.h): a program whose getenv stops finding HOME once
# main has started, as bash's does while it imports its variables, still
# has its site cache written there at exit; one started without HOME
# that sets it has its cache under that.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/hidden_home
build_id=$(readelf -n "$prog" | awk '/Build ID:/ { print $3 }')
[ -n "$build_id" ] || fail "$prog has no build-id"

mkdir "$T/home"
(unset ALLOCINFO_CACHE; HOME=$T/home XDG_CACHE_HOME= run_preloaded "$T/run" "$prog")
check_no_stderr "$T/run"
check_report_wellformed "$T/run"
check_expect_markers "$TEST_SRC/programs/hidden_home.c" "$T/run"
[ -f "$T/home/.cache/allocinfo/$build_id" ] ||
	fail "no site cache in \$HOME/.cache/allocinfo after a run whose getenv hid HOME: $(ls -laR "$T/home" 2>&1 | head -n 8)"

# Started without HOME, a program that sets it itself still gets the
# default folder under it: with nothing to fix at start, the environment
# is asked when the folder is opened.
mkdir "$T/later"
(unset ALLOCINFO_CACHE HOME XDG_CACHE_HOME; run_preloaded "$T/later.report" "$prog" "$T/later")
check_no_stderr "$T/later.report"
check_expect_markers "$TEST_SRC/programs/hidden_home.c" "$T/later.report"
[ -f "$T/later/.cache/allocinfo/$build_id" ] ||
	fail "no site cache under the HOME the program set: $(ls -laR "$T/later" 2>&1 | head -n 8)"
test_done

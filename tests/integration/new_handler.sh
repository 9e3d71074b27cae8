#!/bin/sh
# operator new's failure path (tests/programs/new_handler.cc): the
# new_handler is called and the allocation retried until the handler
# is removed (then std::bad_alloc, or nullptr for nothrow) or the retry
# succeeds, for a 1 GiB block and for 48-byte ones (whose failure comes
# after jemalloc's call on new's fast path); a handler's bad_alloc makes
# nothrow new return nullptr; also in C++ code that a C program loads
# with dlopen.  The program must pass its own checks with and without
# the preload, and each block made on a retry is counted at its site.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/new_handler
run_native "$prog"
run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_expect_markers "$TEST_SRC/programs/new_handler.cc" "$T/report"
check_no_stderr "$T/report"

# The same rules in C++ code that a C program loads with dlopen: the
# library was bound before libstdc++ came (core/new_handler.cc), and
# libstdc++ is in the plugin's scope alone.
main=$TEST_BIN/programs/new_handler_plugin_main
plugin=$TEST_BIN/programs/.libs/new_handler_plugin.so
run_native "$main" "$plugin"
run_preloaded "$T/plugin" "$main" "$plugin"
check_report_wellformed "$T/plugin"
check_no_stderr "$T/plugin"

test_done

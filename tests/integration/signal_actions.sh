#!/bin/sh
# sigaction() reports, for the signals the profiler keeps a handler on,
# what it reports natively (tests/programs/signal_actions.c): the kind of
# handler, its flags and its restorer at start, after one-shot handlers
# (sysv_signal, SA_RESETHAND) have run and the kernel has reset them, and
# after the program put back a saved reset action or set SIG_DFL itself;
# at depths 1 and 4.  A copy of the program's last action, reported as
# it was, once re-armed a one-shot handler the kernel had reset.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/signal_actions
run_native "$prog"
for depth in 1 4; do
	ALLOCINFO_DEPTH=$depth run_preloaded "$T/depth$depth" "$prog"
	check_report_wellformed "$T/depth$depth"
	check_no_stderr "$T/depth$depth"
	cmp -s "$T/native.stdout" "$T/depth$depth.stdout" ||
		fail_later "depth $depth: sigaction reports differ from glibc's:
$(diff "$T/native.stdout" "$T/depth$depth.stdout" | head -8)"
done

test_done

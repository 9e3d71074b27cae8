#!/bin/sh
# A site in code that stays mapped, in no module, right after a
# library's last segment (a JIT's buffer; tests/programs/adjacent_site.c)
# is named by its bare address.  libdwfl takes such a mapping for the
# library's .bss: the site was named ld-linux-x86-64.so.2+0x36006
# [ld-linux-x86-64.so.2], and the answer kept in the loader's cache,
# where every later process with a site in the loader read it again.
# Two runs: the second with the first one's cache.
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/programs/adjacent_site
status=0
"$prog" >"$T/native.stdout" 2>"$T/native.stderr" || status=$?
if [ "$status" -eq 77 ]; then
	echo "SKIP: $(cat "$T/native.stdout")"
	exit 77
fi
[ "$status" -eq 0 ] || fail "$prog failed without the preload (exit $status): $(cat "$T/native.stderr")"

for run in 1 2; do
	run_preloaded "$T/report.$run" "$prog"
	check_report_wellformed "$T/report.$run"
	check_no_stderr "$T/report.$run"
	read -r _ site _ library _ offset <"$T/report.$run.stdout" ||
		fail "run $run: the program printed no site"
	record=$(awk '$1 == 12288 && $2 == 1' "$T/report.$run")
	[ "$(echo "$record" | awk '{ print $3, $4 }')" = "$site:0 func:?" ] ||
		fail "run $run: the site $site, after $library, is named '$record', not by its address"
	# No cache file keeps an answer at the site's offset in the library.
	key=${offset#0x}
	! grep -rl "^$key	" "$ALLOCINFO_CACHE" 2>/dev/null ||
		fail "run $run: the site cache keeps an answer at $offset: $(grep -rh "^$key	" "$ALLOCINFO_CACHE" | head -1)"
done

test_done

#!/bin/sh
# shellcheck disable=SC2016 # the single-quoted $ below are sed addresses
# The checkers of tests/lib.sh must fail when they should: on a report
# that differs from a source's EXPECT markers in any way, and on a
# report that is not well-formed.  Without this, a checker that always
# passed would make every other integration test pass with it.
set -eu
. "$TEST_SRC/lib.sh"
test_init

cat >"$T/prog.c" <<'SRC'
p = malloc(100); /* EXPECT: 100 1 */
q = malloc(7); /* EXPECT: 0 0 */
r = malloc(huge); /* EXPECT: none */
s = malloc(n); /* EXPECT: @n 2 func:helper */
t = malloc(1); /* EXPECT: 1 1 [libx.so] accurate:no */
free(p);
SRC
echo "n 48" >"$T/vars"
cat >"$T/good" <<'REPORT'
allocinfo - version: 2.0
#     <size>  <calls> <tag info>
# total_bytes: 1149
# total_calls: 5
        1000        1 other.c:6 func:main 
         100        1 ../src/prog.c:1 func:main 
          48        2 prog.c:4 func:helper 
           1        1 /abs/prog.c:5 [libx.so] func:ctor accurate:no 
           0        0 prog.c:2 func:main 
REPORT

expect_fail()
{
	what=$1
	shift
	if ("$@") >"$T/out" 2>&1; then
		cat "$T/out"
		fail "the checker passed a report with $what"
	fi
	echo "ok: rejects $what"
}

mutate()
{
	sed "$1" "$T/good" >"$T/bad"
}

(check_report_wellformed "$T/good") || fail "check_report_wellformed rejects a good report"
(check_expect_markers "$T/prog.c" "$T/good" "$T/vars") ||
	fail "check_expect_markers rejects a good report"

mutate 's/ 100        1 / 101        1 /'
expect_fail "other bytes" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate 's/  48        2 /  48        3 /'
expect_fail "other calls" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
expect_fail "an @NAME value missing" check_expect_markers "$T/prog.c" "$T/good" /dev/null
mutate '/prog.c:2 /d'
expect_fail "a marker's record missing" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate '$a\           0        0 prog.c:3 func:main '
expect_fail "a record on an EXPECT: none line" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate '$a\           0        0 prog.c:6 func:main '
expect_fail "a record on a line without a marker" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate '$a\           0        0 x/prog.c:2 func:main '
expect_fail "two records for one line" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate 's/prog.c:1 func:main /prog.c:1 [liby.so] func:main /'
expect_fail "an unexpected module" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate 's/ \[libx.so\] / [liby.so] /'
expect_fail "another module" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate 's/ accurate:no $/ /'
expect_fail "accurate:no missing" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate 's/prog.c:1 func:main /prog.c:1 func:main accurate:no /'
expect_fail "an unexpected accurate:no" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"
mutate 's/func:helper /func:other /'
expect_fail "another function" check_expect_markers "$T/prog.c" "$T/bad" "$T/vars"

mutate '1s/2.0/1.0/'
expect_fail "another version header" check_report_wellformed "$T/bad"
mutate 's/^# total_bytes: 1149/# total_bytes: 1150/'
expect_fail "a wrong total_bytes" check_report_wellformed "$T/bad"
mutate 's/^# total_calls: 5/# total_calls: 4/'
expect_fail "a wrong total_calls" check_report_wellformed "$T/bad"
mutate 's/prog.c:2 func:main $/prog.c:2 func:main/'
expect_fail "a record without its trailing space" check_report_wellformed "$T/bad"
mutate 's/prog.c:2 func:main/prog.c func:main/'
expect_fail "a record without a line number" check_report_wellformed "$T/bad"
mutate '/other.c:6/{h;d}; /prog.c:4/{G}'
expect_fail "records out of order" check_report_wellformed "$T/bad"

test_done

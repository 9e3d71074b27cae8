#!/bin/sh
# A binary without debug info (callsite_c with its DWARF removed by
# objcopy --strip-debug): no file:line, so every record of the program
# names MODULE+0xOFFSET:0, and the function comes from .symtab.  Each
# function's bytes and calls are the sum of the EXPECT markers that name
# it (functions that were inlined into another have no symbol of their
# own and are left out; their memory is their caller's here).
set -eu
. "$TEST_SRC/lib.sh"
test_init

prog=$TEST_BIN/callsite/callsite_c_stripped
src=$TEST_SRC/programs/callsite_c.c
[ -x "$prog" ] || fail "no $prog"
ALLOCINFO_WRAPPERS=my_wrapper,inline_wrapper run_preloaded "$T/report" "$prog"
check_report_wellformed "$T/report"
check_no_stderr "$T/report"

# Every record of the program itself: callsite_c_stripped+0xHEX:0.
bad=$(grep -v '^#' "$T/report" | grep -v '\[' | awk 'NR > 1' |
	grep -v ' callsite_c_stripped+0x[0-9a-f]*:0 func:' || :)
[ -z "$bad" ] || fail "records of the stripped program without MODULE+0xOFFSET:0:
$bad"

for func in make_name header_dup depth_c test_glibc_wrappers; do
	want=$(grep -h "/\* EXPECT: .* func:$func \*/" "$src" "$TEST_SRC/programs/callsite_inline.h" |
		sed 's|.*/\* EXPECT: \([0-9]*\) \([0-9]*\) .*|\1 \2|' |
		awk '{ b += $1; c += $2 } END { print b + 0, c + 0 }')
	got=$(awk -v f="func:$func" '$3 ~ /^callsite_c_stripped\+0x[0-9a-f]+:0$/ && $4 == f { b += $1; c += $2 }
		END { print b + 0, c + 0 }' "$T/report")
	[ "$want" != "0 0" ] || fail "no EXPECT markers name $func"
	[ "$got" = "$want" ] || fail "func:$func: the stripped report has '$got' (bytes calls), the markers say '$want':
$(grep " func:$func " "$T/report")"
	echo "ok: func:$func $got"
done

test_done

#!/bin/sh
# Real programs with the built-in wrapper list: gcc's cc1 (libiberty's
# xmalloc family) and perl (Perl_safesys*) charge no live bytes to a
# wrapper that the binary exports: the wrappers are seen through to
# their callers.  The program's output and exit status are unchanged.
set -eu
. "$TEST_SRC/lib.sh"
test_init

missing=

# no_wrapper_bytes REPORT NAME...: no record of a listed function holds
# live bytes.
no_wrapper_bytes()
{
	nw_report=$1
	shift
	for nw_func in "$@"; do
		nw_bad=$(awk -v f="func:$nw_func" '!/^#/ && NR > 2 && $1 != 0 && index($0, " " f " ")' "$nw_report")
		[ -z "$nw_bad" ] || fail "${nw_report##*/}: live bytes charged to the wrapper $nw_func:
$nw_bad"
	done
}

if command -v gcc >/dev/null 2>&1; then
	cat >"$T/unit.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char name[32]; int value; };
static struct node *push(struct node *head, const char *name, int value)
{
	struct node *n = malloc(sizeof(*n));
	if (!n) abort();
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->value = value;
	n->next = head;
	return n;
}
int main(int argc, char **argv)
{
	struct node *head = NULL;
	for (int i = 0; i < argc * 100; i++)
		head = push(head, argv[0], i);
	for (struct node *n = head; n; n = n->next)
		if (strlen(n->name) > 100) return 1;
	printf("%d\n", head ? head->value : -1);
	return 0;
}
C
	# The driver execs cc1, which inherits the preload and writes its
	# own report (%e is the executable's name).
	status=0
	ALLOCINFO_OUTPUT="$T/gcc.%e.%p" LD_PRELOAD=$ALLOCINFO_LIB \
		gcc -O2 -c -o "$T/unit.o" "$T/unit.c" 2>"$T/gcc.err" || status=$?
	[ "$status" -eq 0 ] || { cat "$T/gcc.err" >&2; fail "gcc -c failed under the preload ($status)"; }
	[ -s "$T/unit.o" ] || fail "gcc wrote no object file"
	cc1=$(ls "$T"/gcc.cc1.* 2>/dev/null | head -1)
	[ -n "$cc1" ] || fail "cc1 wrote no report (ls: $(ls "$T"))"
	check_report_wellformed "$cc1"
	no_wrapper_bytes "$cc1" xmalloc xcalloc xrealloc xstrdup xstrndup xmemdup \
		xasprintf xvasprintf concat _obstack_newchunk _obstack_begin
	echo "ok: cc1: $(grep -cv '^#' "$cc1") records, no live bytes in a wrapper"
else
	missing="$missing gcc"
fi

if [ -x /usr/bin/perl ]; then
	cat >"$T/work.pl" <<'PL'
my %h;
$h{"k$_"} = [$_, "v" x ($_ % 30)] for 1 .. 20000;
my @s = sort { $h{$a}[0] <=> $h{$b}[0] } keys %h;
print scalar(@s), "\n";
PL
	/usr/bin/perl "$T/work.pl" >"$T/perl.native" 2>&1
	ALLOCINFO_OUTPUT=$T/perl.report LD_PRELOAD=$ALLOCINFO_LIB \
		/usr/bin/perl "$T/work.pl" >"$T/perl.out" 2>&1
	cmp -s "$T/perl.native" "$T/perl.out" || fail "perl's output differs under the preload"
	check_report_wellformed "$T/perl.report"
	no_wrapper_bytes "$T/perl.report" Perl_safesysmalloc Perl_safesyscalloc \
		Perl_safesysrealloc Perl_savepv Perl_savepvn Perl_savesharedpv
	live=$(awk '!/^#/ && NR > 2 { b += $1 } END { print b + 0 }' "$T/perl.report")
	[ "$live" -gt 1000000 ] || fail "perl's report holds only $live live bytes: did it run?"
	echo "ok: perl: $(grep -cv '^#' "$T/perl.report") records, no live bytes in a wrapper"
else
	missing="$missing /usr/bin/perl"
fi

if [ -n "$missing" ]; then
	echo "SKIP: not installed:$missing"
	exit 77
fi
test_done

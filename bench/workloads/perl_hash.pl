# Not one of bench/run's workloads: a perl script whose every string
# goes through Perl_safesysmalloc, a wrapper, so that each malloc's
# site is found by two probes (the wrapper's, then its caller's), and
# whose hash of N keys is freed at exit in bucket order, unrelated to
# the order its blocks were made in.  For bench/alternate and
# bench/instructions; run with PERL_HASH_SEED=0 for counts that repeat.
#
#   perl perl_hash.pl [N]      (N keys, 200,000 by default)
use strict;
use warnings;

my $n = @ARGV ? $ARGV[0] : 200000;
my %h;
for my $i (1 .. $n) {
	my $k = "key$i-" . ($i * 7919 % 100003);
	$k =~ s/(\d)/<$1>/g;
	$h{$k} = [$i, "v$i"];
}
my $s = 0;
for my $k (sort keys %h) {
	$s += length($k) + $h{$k}[0];
}
print "$s\n";

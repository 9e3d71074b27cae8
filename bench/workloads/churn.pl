# The perl workload of bench/run: hashes of arrays, string building,
# regular expressions, split and join, sort, sprintf - scalars and
# containers made and dropped as a text-processing script does.
#
#   perl churn.pl [SCALE]
use strict;
use warnings;

my $scale = @ARGV ? $ARGV[0] : 1.0;
my $rounds = int(10 * $scale) || 1;
my $check = 0;

for my $r (1 .. $rounds) {
	my %index;
	my @lines;
	for my $i (1 .. 30000) {
		my $line = sprintf("%06d,user%d,%s,%d.%02d", $i, $i % 977,
			join("", map { chr(97 + ($i * $_ + $r) % 26) } 1 .. 12),
			$i % 1000, $i % 100);
		push @lines, $line;
	}
	for my $line (@lines) {
		my @f = split /,/, $line;
		next unless $f[2] =~ /^([a-m]+)([n-z]*)/;
		push @{ $index{$f[1]} }, { id => $f[0], word => $1 . uc($2), amount => $f[3] };
	}
	my @keys = sort { scalar(@{ $index{$b} }) <=> scalar(@{ $index{$a} }) || $a cmp $b } keys %index;
	for my $k (@keys[0 .. 99]) {
		my @sorted = sort { $a->{amount} <=> $b->{amount} } @{ $index{$k} };
		my $text = join(";", map { "$_->{id}=$_->{word}" } @sorted);
		(my $copy = $text) =~ s/([a-z])\1/$1/g;
		$check += length($copy);
	}
	$check += scalar(@keys);
}
print "$check\n";

# Not one of bench/run's workloads: a hash of N arrays built from one
# list that map makes.  perl keeps every element of the list on its
# stack of temporaries, which it grows by 512 pointers (4 KiB) a
# realloc: a block that grows a page at a time to megabytes.  For
# bench/alternate and bench/instructions.
#
#   perl perl_list.pl [N]      (N keys, 100,000 by default)
use strict;
use warnings;

my $n = @ARGV ? $ARGV[0] : 100000;
my $h = { map { $_ => [1 .. 5] } 1 .. $n };
print scalar(keys %$h), "\n";

/*
 * The one unit compiled with -g in tests/callsite/callsite_c_partial_dwarf,
 * whose allocating code (callsite_c.c) is compiled without: the program
 * has DWARF, and none of it covers its call sites, as node's covers a
 * few of its objects and none of V8's or OpenSSL's (site_cache.sh).
 */
int dwarf_unit_covered(int x);

int dwarf_unit_covered(int x)
{
	return x + 1;
}

/*
 * A program built with gcc's shared AddressSanitizer runtime, whose
 * runtime must be the first library the loader maps
 * (tests/integration/tool_run_asan.sh).  Exits 3 after one allocation,
 * so that the test sees its status pass through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(16);

	if (!p)
		return 1;
	strcpy(p, "asan program");
	puts(p);
	free(p);
	return 3;
}

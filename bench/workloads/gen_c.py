# The C file that bench/run's gcc workload compiles with gcc -O2:
# generated, so every machine compiles the same source, and the size is
# a knob.  Each function is one of a few templates that give -O2 real
# work (inlining, loop and vector optimisation, switch lowering,
# struct and pointer code), with its own constants.
#
#   python3 gen_c.py FUNCTIONS > file.c
import random
import sys

HEADER = """\
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct item { struct item *next; int key; double weight; char name[24]; };
struct grid { int w, h; float cell[64][64]; };

static inline uint32_t mix(uint32_t x) { x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; return x ^ (x >> 16); }
static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
"""

TEMPLATES = [
    # arithmetic loop over an array, vectorisable
    """\
uint64_t sum_{n}(const int32_t *a, size_t len)
{{
	uint64_t s = {c0};
	for (size_t i = 0; i < len; i++) {{
		int32_t v = a[i] * {c1} + {c2};
		if (v > {c3}) s += (uint64_t)v ^ (s >> {c4});
		else s -= (uint64_t)clampi(v, -{c5}, {c5});
	}}
	return s;
}}
""",
    # a small parser: state machine over a string
    """\
int parse_{n}(const char *s, int *out, int max)
{{
	int state = 0, count = 0, acc = 0;
	for (; *s && count < max; s++) {{
		switch (state) {{
		case 0: if (*s >= '0' && *s <= '9') {{ acc = *s - '0'; state = 1; }} else if (*s == '{ch}') state = 2; break;
		case 1: if (*s >= '0' && *s <= '9') acc = acc * 10 + (*s - '0'); else {{ out[count++] = acc * {c1}; state = *s == ',' ? 0 : 3; }} break;
		case 2: if (*s == '\\n') state = 0; break;
		case 3: if (*s == ';') {{ state = 0; acc = {c2}; }} else if (*s == '{ch}') state = 2; break;
		default: return -1;
		}}
	}}
	return state == 1 && count < max ? (out[count++] = acc, count) : count;
}}
""",
    # linked list: build, insertion sort, fold
    """\
double list_{n}(int len)
{{
	struct item *head = NULL, *sorted = NULL;
	double total = 0;
	for (int i = 0; i < len; i++) {{
		struct item *it = malloc(sizeof(*it));
		if (!it) break;
		it->key = (int)(mix((uint32_t)i + {c0}U) % {c1});
		it->weight = it->key * {f0};
		memcpy(it->name, "item-{n}", sizeof("item-{n}") < 24 ? sizeof("item-{n}") : 24);
		it->next = head;
		head = it;
	}}
	while (head) {{
		struct item *it = head, **p = &sorted;
		head = head->next;
		while (*p && (*p)->key < it->key) p = &(*p)->next;
		it->next = *p;
		*p = it;
	}}
	while (sorted) {{
		struct item *it = sorted;
		total += it->weight / (1 + it->key % {c2});
		sorted = it->next;
		free(it);
	}}
	return total;
}}
""",
    # a stencil over a grid, with a nested loop nest to optimise
    """\
void blur_{n}(struct grid *g, int passes)
{{
	for (int p = 0; p < passes; p++)
		for (int y = 1; y < g->h - 1 && y < 63; y++)
			for (int x = 1; x < g->w - 1 && x < 63; x++)
				g->cell[y][x] = (g->cell[y - 1][x] + g->cell[y + 1][x] +
						 g->cell[y][x - 1] + g->cell[y][x + 1]) * {f0}f +
						g->cell[y][x] * {f1}f;
}}
""",
    # table-driven dispatch with many cases
    """\
int dispatch_{n}(int op, int a, int b)
{{
	switch (op & 15) {{
	case 0: return a + b * {c0};
	case 1: return a - b + {c1};
	case 2: return (a * {c2}) ^ b;
	case 3: return b ? a / b : {c3};
	case 4: return (a << (b & 7)) | {c4};
	case 5: return clampi(a, -b, b);
	case 6: return (int)mix((uint32_t)(a + b));
	case 7: return a > b ? a - {c5} : b + {c5};
	case 8: return (a & b) * {c1};
	case 9: return (a | b) - {c2};
	case 10: return a % ({c3} + (b & 3));
	case 11: return -a + b * b;
	default: return a * a - {c0};
	}}
}}
""",
]


def main():
    functions = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    rnd = random.Random(6)
    out = [HEADER]
    for n in range(functions):
        out.append(TEMPLATES[n % len(TEMPLATES)].format(
            n=n,
            c0=rnd.randint(1, 1 << 20), c1=rnd.randint(2, 999),
            c2=rnd.randint(1, 99), c3=rnd.randint(1, 5000),
            c4=rnd.randint(1, 31), c5=rnd.randint(10, 999),
            f0=round(rnd.uniform(0.1, 0.3), 4), f1=round(rnd.uniform(0.1, 0.5), 4),
            ch=rnd.choice("#%!@")))
    sys.stdout.write("\n".join(out))


main()

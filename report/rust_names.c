/*
 * Rust's symbol names (see rust_names.h).
 *
 * v0 is read by recursive descent over RFC 2603's grammar, printing as
 * it goes or only stepping over what it reads (a NULL output): the
 * crate of a trait's method needs the type before the trait stepped
 * over, and the short form steps over generic arguments.  A
 * back-reference "B<n>_" names an earlier position of the name, read
 * again from there; it must point backwards, and every production
 * counts against a budget, so that a name made to loop or to branch
 * through its back-references ends within V0_STEPS_MAX steps.
 */
#include "report/rust_names.h"

#include <stdint.h>
#include <string.h>

#define V0_DEPTH_MAX 64
#define V0_STEPS_MAX 4096

/* The legacy hash component: "h" and 16 hex digits. */
#define LEGACY_HASH_LEN 17

struct v0 {
	const char *sym;	/* the name after "_R" */
	size_t len;
	size_t pos;		/* <= len: nothing reads or steps past the end */
	unsigned int depth;
	unsigned int steps;
	char *out;		/* NULL: read without printing */
	size_t size;
	size_t used;
	bool overflow;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_ident_byte(char c)
{
	return is_digit(c) || is_lower(c) || is_upper(c) || c == '_';
}

static char v0_peek(const struct v0 *p)
{
	return p->pos < p->len ? p->sym[p->pos] : '\0';
}

static bool v0_eat(struct v0 *p, char c)
{
	if (v0_peek(p) != c)
		return false;
	p->pos++;
	return true;
}

static void v0_print(struct v0 *p, const char *s, size_t n)
{
	if (!p->out)
		return;
	if (p->used + n >= p->size) {
		p->overflow = true;
		return;
	}
	memcpy(p->out + p->used, s, n);
	p->used += n;
}

static void v0_puts(struct v0 *p, const char *s)
{
	v0_print(p, s, strlen(s));
}

/* One more production, one level deeper; false past the bounds. */
static bool v0_enter(struct v0 *p)
{
	if (++p->steps > V0_STEPS_MAX || p->depth >= V0_DEPTH_MAX)
		return false;
	p->depth++;
	return true;
}

static bool v0_leave(struct v0 *p, bool ok)
{
	p->depth--;
	return ok;
}

/* <base-62-number>: "_" is 0, digits then "_" are their value + 1. */
static bool v0_base62(struct v0 *p, uint64_t *value)
{
	uint64_t v = 0;
	char c;

	if (v0_eat(p, '_')) {
		*value = 0;
		return true;
	}
	while ((c = v0_peek(p)) != '_') {
		unsigned int d;

		if (is_digit(c))
			d = (unsigned int)(c - '0');
		else if (is_lower(c))
			d = 10u + (unsigned int)(c - 'a');
		else if (is_upper(c))
			d = 36u + (unsigned int)(c - 'A');
		else
			return false;
		if (v > (UINT64_MAX - d) / 62)
			return false;
		v = v * 62 + d;
		p->pos++;
	}
	p->pos++;
	if (v == UINT64_MAX)
		return false;
	*value = v + 1;
	return true;
}

static bool v0_decimal(struct v0 *p, uint64_t *value)
{
	uint64_t v = 0;

	if (!is_digit(v0_peek(p)))
		return false;
	if (v0_eat(p, '0')) {
		*value = 0;
		return true;
	}
	while (is_digit(v0_peek(p))) {
		unsigned int d = (unsigned int)(p->sym[p->pos++] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*value = v;
	return true;
}

/* [<disambiguator>]: "s" <base-62-number>. */
static bool v0_disambiguator(struct v0 *p)
{
	uint64_t ignored;

	return !v0_eat(p, 's') || v0_base62(p, &ignored);
}

/* <undisambiguated-identifier>: ["u"] <decimal> ["_"] <bytes>.  A
 * Punycode one ("u") is given as its raw bytes. */
static bool v0_ident_bytes(struct v0 *p, const char **s, size_t *n)
{
	uint64_t len;

	v0_eat(p, 'u');
	if (!v0_decimal(p, &len))
		return false;
	v0_eat(p, '_');
	if (len > p->len - p->pos)
		return false;
	*s = p->sym + p->pos;
	*n = (size_t)len;
	p->pos += (size_t)len;
	return true;
}

/* <identifier>: [<disambiguator>] <undisambiguated-identifier>. */
static bool v0_ident(struct v0 *p, const char **s, size_t *n)
{
	return v0_disambiguator(p) && v0_ident_bytes(p, s, n);
}

static bool v0_path(struct v0 *p);
static bool v0_type(struct v0 *p);

/*
 * "B" <base-62-number>: reads what lies at that earlier position with
 * @read, then goes on after the back-reference.
 */
static bool v0_backref(struct v0 *p, bool (*read)(struct v0 *))
{
	size_t at = p->pos - 1, resume;
	uint64_t target;
	bool ok;

	if (!v0_base62(p, &target) || target >= at)
		return false;
	resume = p->pos;
	p->pos = (size_t)target;
	ok = read(p);
	p->pos = resume;
	return ok;
}

/* <lifetime> after its "L": printed as nothing. */
static bool v0_lifetime_rest(struct v0 *p)
{
	uint64_t ignored;

	return v0_base62(p, &ignored);
}

/* <const>: "p" (a placeholder), a back-reference, or a basic type and
 * its hex digits; printed as the number for the integer types. */
static bool v0_const(struct v0 *p)
{
	char type, digits[17];
	size_t n = 0;
	bool negative;

	if (!v0_enter(p))
		return false;
	if (v0_eat(p, 'p')) {
		v0_puts(p, "_");
		return v0_leave(p, true);
	}
	if (v0_eat(p, 'B'))
		return v0_leave(p, v0_backref(p, v0_const));
	type = v0_peek(p);
	if (!is_lower(type))
		return v0_leave(p, false);
	p->pos++;
	negative = v0_eat(p, 'n');
	while (v0_peek(p) != '_') {
		char c = v0_peek(p);

		if (!is_digit(c) && !(c >= 'a' && c <= 'f'))
			return v0_leave(p, false);
		if (n < sizeof(digits) - 1)
			digits[n] = c;
		n++;
		p->pos++;
	}
	p->pos++;
	if (strchr("hmtyjlsiaxbc", type) && n <= 16) {
		uint64_t v = 0;
		char text[24];
		size_t t = sizeof(text);

		for (size_t i = 0; i < n; i++)
			v = v * 16 + (uint64_t)(is_digit(digits[i]) ? digits[i] - '0' :
						digits[i] - 'a' + 10);
		do
			text[--t] = (char)('0' + v % 10);
		while ((v /= 10) && t > 1);
		if (negative)
			text[--t] = '-';
		v0_print(p, text + t, sizeof(text) - t);
	} else {
		v0_puts(p, "_");
	}
	return v0_leave(p, true);
}

/* <generic-arg>: a lifetime, "K" and a const, or a type. */
static bool v0_generic_arg(struct v0 *p)
{
	if (v0_eat(p, 'L'))
		return v0_lifetime_rest(p);
	if (v0_eat(p, 'K'))
		return v0_const(p);
	return v0_type(p);
}

/* Reads, without printing, until the "E" that ends a list of @item. */
static bool v0_skip_list(struct v0 *p, bool (*item)(struct v0 *))
{
	char *out = p->out;
	bool ok = true;

	p->out = NULL;
	while (ok && !v0_eat(p, 'E'))
		ok = v0_peek(p) && item(p);
	p->out = out;
	return ok;
}

/* Reads @read's production without printing it. */
static bool v0_skip(struct v0 *p, bool (*read)(struct v0 *))
{
	char *out = p->out;
	bool ok;

	p->out = NULL;
	ok = read(p);
	p->out = out;
	return ok;
}

/* [<binder>]: "G" <base-62-number>, a for<'a> list; printed as nothing. */
static bool v0_binder(struct v0 *p)
{
	uint64_t ignored;

	return !v0_eat(p, 'G') || v0_base62(p, &ignored);
}

/* <fn-sig> after its "F": printed as "fn(..)". */
static bool v0_fn_sig_rest(struct v0 *p)
{
	const char *abi;
	size_t n;

	if (!v0_binder(p))
		return false;
	v0_eat(p, 'U');
	if (v0_eat(p, 'K') && !v0_eat(p, 'C') && !v0_ident_bytes(p, &abi, &n))
		return false;
	if (!v0_skip_list(p, v0_type) || !v0_skip(p, v0_type))
		return false;
	v0_puts(p, "fn(..)");
	return true;
}

/* <dyn-trait>: a path, then associated-type bindings "p" NAME TYPE. */
static bool v0_dyn_trait(struct v0 *p)
{
	if (!v0_path(p))
		return false;
	while (v0_eat(p, 'p')) {
		const char *s;
		size_t n;
		char *out = p->out;
		bool ok;

		if (!v0_ident_bytes(p, &s, &n))
			return false;
		p->out = NULL;
		ok = v0_type(p);
		p->out = out;
		if (!ok)
			return false;
	}
	return true;
}

/* <dyn-bounds> <lifetime> after "D": "dyn A + B". */
static bool v0_dyn_rest(struct v0 *p)
{
	bool first = true;

	if (!v0_binder(p))
		return false;
	v0_puts(p, "dyn ");
	while (!v0_eat(p, 'E')) {
		if (!v0_peek(p))
			return false;
		if (!first)
			v0_puts(p, " + ");
		first = false;
		if (!v0_dyn_trait(p))
			return false;
	}
	return v0_eat(p, 'L') && v0_lifetime_rest(p);
}

static const char *v0_basic_type(char c)
{
	static const char *const names[26] = {
		['a' - 'a'] = "i8", ['b' - 'a'] = "bool", ['c' - 'a'] = "char",
		['d' - 'a'] = "f64", ['e' - 'a'] = "str", ['f' - 'a'] = "f32",
		['h' - 'a'] = "u8", ['i' - 'a'] = "isize", ['j' - 'a'] = "usize",
		['l' - 'a'] = "i32", ['m' - 'a'] = "u32", ['n' - 'a'] = "i128",
		['o' - 'a'] = "u128", ['p' - 'a'] = "_", ['s' - 'a'] = "i16",
		['t' - 'a'] = "u16", ['u' - 'a'] = "()", ['v' - 'a'] = "...",
		['x' - 'a'] = "i64", ['y' - 'a'] = "u64", ['z' - 'a'] = "!",
	};

	return is_lower(c) ? names[c - 'a'] : NULL;
}

static bool v0_type(struct v0 *p)
{
	char c = v0_peek(p);
	const char *basic = v0_basic_type(c);
	bool ok = false, first = true;

	if (basic) {
		p->pos++;
		v0_puts(p, basic);
		return true;
	}
	if (!v0_enter(p))
		return false;
	switch (c) {
	case 'A':	/* [T; N] */
	case 'S':	/* [T] */
		p->pos++;
		v0_puts(p, "[");
		ok = v0_type(p);
		if (ok && c == 'A') {
			v0_puts(p, "; ");
			ok = v0_const(p);
		}
		v0_puts(p, "]");
		break;
	case 'T':	/* (A, B) */
		p->pos++;
		v0_puts(p, "(");
		ok = true;
		while (ok && !v0_eat(p, 'E')) {
			if (!first)
				v0_puts(p, ", ");
			first = false;
			ok = v0_peek(p) && v0_type(p);
		}
		v0_puts(p, ")");
		break;
	case 'R':	/* &T, &'a T */
	case 'Q':	/* &mut T */
		p->pos++;
		ok = !v0_eat(p, 'L') || v0_lifetime_rest(p);
		v0_puts(p, c == 'R' ? "&" : "&mut ");
		ok = ok && v0_type(p);
		break;
	case 'P':
	case 'O':
		p->pos++;
		v0_puts(p, c == 'P' ? "*const " : "*mut ");
		ok = v0_type(p);
		break;
	case 'F':
		p->pos++;
		ok = v0_fn_sig_rest(p);
		break;
	case 'D':
		p->pos++;
		ok = v0_dyn_rest(p);
		break;
	case 'B':
		p->pos++;
		ok = v0_backref(p, v0_type);
		break;
	default:
		ok = v0_path(p);
		break;
	}
	return v0_leave(p, ok);
}

/* The start of a path: one production more, and its letter read. */
static bool v0_enter_path(struct v0 *p, char *letter)
{
	*letter = v0_peek(p);
	if (!*letter || !v0_enter(p))
		return false;
	p->pos++;
	return true;
}

/* The crate of an impl's path, a trait's or a nested one's: the first
 * identifier of its crate root ("C"). */
static bool v0_path_crate(struct v0 *p, const char **crate, size_t *n)
{
	bool ok = false;
	char c;

	if (!v0_enter_path(p, &c))
		return false;
	switch (c) {
	case 'C':
		ok = v0_ident(p, crate, n);
		break;
	case 'N':	/* namespace, then the parent path */
		ok = v0_peek(p) && (p->pos++, v0_path_crate(p, crate, n));
		break;
	case 'I':	/* the generic path, its arguments after it */
		ok = v0_path_crate(p, crate, n);
		break;
	case 'M':
	case 'X':	/* the impl's own path: where it is written */
		ok = v0_disambiguator(p) && v0_path_crate(p, crate, n);
		break;
	case 'Y':	/* <T as Trait>: the trait's */
		ok = v0_skip(p, v0_type) && v0_path_crate(p, crate, n);
		break;
	case 'B': {
		size_t at = p->pos - 1;
		uint64_t target;

		ok = v0_base62(p, &target) && target < at;
		if (ok) {
			p->pos = (size_t)target;
			ok = v0_path_crate(p, crate, n);
		}
		break;
	}
	default:
		break;
	}
	return v0_leave(p, ok);
}

/* A path, printed without its generic arguments. */
static bool v0_path(struct v0 *p)
{
	const char *s;
	size_t n;
	bool ok = false;
	char c, ns;

	if (!v0_enter_path(p, &c))
		return false;
	switch (c) {
	case 'C':
		ok = v0_ident(p, &s, &n);
		if (ok)
			v0_print(p, s, n);
		break;
	case 'N':
		ns = v0_peek(p);
		if (!is_lower(ns) && !is_upper(ns))
			break;
		p->pos++;
		ok = v0_path(p) && v0_ident(p, &s, &n);
		if (!ok)
			break;
		/* Upper case: a namespace of the compiler's (C closures,
		 * S shims); lower case: one of the source's names. */
		if (ns == 'C') {
			v0_puts(p, "::{closure}");
		} else if (is_upper(ns)) {
			v0_puts(p, "::{shim}");
		} else if (n) {
			v0_puts(p, "::");
			v0_print(p, s, n);
		}
		break;
	case 'I':
		ok = v0_path(p) && v0_skip_list(p, v0_generic_arg);
		break;
	case 'M':
		ok = v0_disambiguator(p) && v0_skip(p, v0_path);
		v0_puts(p, "<");
		ok = ok && v0_type(p);
		v0_puts(p, ">");
		break;
	case 'X':	/* <T as Trait>, after the impl's own path */
	case 'Y':
		ok = c == 'Y' || (v0_disambiguator(p) && v0_skip(p, v0_path));
		v0_puts(p, "<");
		ok = ok && v0_type(p);
		v0_puts(p, " as ");
		ok = ok && v0_path(p);
		v0_puts(p, ">");
		break;
	case 'B':
		ok = v0_backref(p, v0_path);
		break;
	default:
		break;
	}
	return v0_leave(p, ok);
}

/* "_R" [<decimal-number>]: the start of a v0 name's path, or false. */
static bool v0_start(struct v0 *p, const char *name)
{
	uint64_t version;

	if (strncmp(name, "_R", 2) || (!is_upper(name[2]) && !is_digit(name[2])))
		return false;
	*p = (struct v0){ .sym = name + 2, .len = strlen(name + 2) };
	/* A version: only 0 is defined, and rustc leaves it out. */
	if (is_digit(v0_peek(p)) && (!v0_decimal(p, &version) || version != 0))
		return false;
	return true;
}

/*
 * Legacy names: "_ZN" then components <decimal><bytes>, then "E", the
 * last component the hash; anything after the "E" (".llvm.123") is the
 * compiler's.  Calls @component for each component before the hash,
 * with @arg; false if @name is not such a name or @component says so.
 */
static bool legacy_components(const char *name,
			      bool (*component)(const char *s, size_t n, void *arg),
			      void *arg)
{
	const char *s = name + 3, *last = NULL;
	size_t last_len = 0, count = 0;

	if (strncmp(name, "_ZN", 3))
		return false;
	/* First the shape, so that no component is given for a C++ name. */
	while (*s != 'E') {
		size_t len = 0;

		if (!is_digit(*s))
			return false;
		while (is_digit(*s)) {
			len = len * 10 + (size_t)(*s++ - '0');
			if (len > 4096)
				return false;
		}
		if (strnlen(s, len) < len)
			return false;
		last = s;
		last_len = len;
		s += len;
		count++;
	}
	if (count < 2 || last_len != LEGACY_HASH_LEN || last[0] != 'h')
		return false;
	for (size_t i = 1; i < LEGACY_HASH_LEN; i++)
		if (!is_digit(last[i]) && !(last[i] >= 'a' && last[i] <= 'f'))
			return false;
	if (s[1] && s[1] != '.')
		return false;
	for (s = name + 3;;) {
		size_t len = 0;

		while (is_digit(*s))
			len = len * 10 + (size_t)(*s++ - '0');
		if (s == last)
			break;
		if (!component(s, len, arg))
			return false;
		s += len;
	}
	return true;
}

/* A legacy escape "$..$" at @s (@n bytes left): its text, and its length
 * in *@skip; NULL if unknown. */
static const char *legacy_escape(const char *s, size_t n, size_t *skip)
{
	static const struct { const char *code, *text; } escapes[] = {
		{ "$SP$", "@" }, { "$BP$", "*" }, { "$RF$", "&" }, { "$LT$", "<" },
		{ "$GT$", ">" }, { "$LP$", "(" }, { "$RP$", ")" }, { "$C$", "," },
		{ "$u20$", " " }, { "$u21$", "!" }, { "$u22$", "\"" }, { "$u27$", "'" },
		{ "$u2b$", "+" }, { "$u3b$", ";" }, { "$u5b$", "[" }, { "$u5d$", "]" },
		{ "$u7b$", "{" }, { "$u7d$", "}" }, { "$u7e$", "~" },
	};

	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		size_t len = strlen(escapes[i].code);

		if (len <= n && !memcmp(s, escapes[i].code, len)) {
			*skip = len;
			return escapes[i].text;
		}
	}
	return NULL;
}

struct legacy_out {
	char *buf;
	size_t size;
	size_t used;
	bool ok;
};

static void legacy_put(struct legacy_out *o, const char *s, size_t n)
{
	if (o->used + n >= o->size) {
		o->ok = false;
		return;
	}
	memcpy(o->buf + o->used, s, n);
	o->used += n;
}

/* Appends a component, unescaped, after "::" for all but the first. */
static bool legacy_print_component(const char *s, size_t n, void *arg)
{
	struct legacy_out *o = arg;
	size_t i = 0;

	if (o->used)
		legacy_put(o, "::", 2);
	/* "_$LT$...": the "_" keeps the component from starting with "$". */
	if (n > 1 && s[0] == '_' && s[1] == '$')
		i = 1;
	while (i < n && o->ok) {
		size_t skip;
		const char *text;

		if (s[i] == '$') {
			text = legacy_escape(s + i, n - i, &skip);
			if (!text)
				return false;
			legacy_put(o, text, strlen(text));
			i += skip;
		} else if (s[i] == '.' && i + 1 < n && s[i + 1] == '.') {
			legacy_put(o, "::", 2);
			i += 2;
		} else {
			legacy_put(o, s + i, 1);
			i++;
		}
	}
	return o->ok;
}

struct legacy_crate {
	char *crate;
	size_t size;
	bool found;
};

/* The crate of a type named in an impl's component: the identifier
 * before its first "..", past the escapes of references, pointers and
 * slices ("$RF$mut$u20$alloc..vec..Vec" is alloc's). */
static bool legacy_type_crate(const char *s, size_t n, char *crate, size_t size)
{
	static const char *const prefixes[] = {
		"$RF$", "$BP$", "$u5b$", "mut$u20$", "const$u20$", "dyn$u20$",
	};
	size_t i = 0, start;

	for (bool again = true; again;) {
		again = false;
		for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
			size_t len = strlen(prefixes[k]);

			if (n - i >= len && !memcmp(s + i, prefixes[k], len)) {
				i += len;
				again = true;
			}
		}
	}
	start = i;
	while (i < n && is_ident_byte(s[i]))
		i++;
	if (i == start || i + 1 >= n || s[i] != '.' || s[i + 1] != '.' || i - start >= size)
		return false;
	memcpy(crate, s + start, i - start);
	crate[i - start] = '\0';
	return true;
}

static bool legacy_first_crate(const char *s, size_t n, void *arg)
{
	struct legacy_crate *c = arg;
	static const char as[] = "$u20$as$u20$";
	size_t i;

	if (c->found)
		return true;
	c->found = true;
	if (!(n > 5 && !memcmp(s, "_$LT$", 5))) {
		if (n >= c->size || !n)
			return false;
		memcpy(c->crate, s, n);
		c->crate[n] = '\0';
		return true;
	}
	/* <Type as Trait>: the type's crate, else (a primitive, a generic
	 * parameter) the trait's. */
	if (legacy_type_crate(s + 5, n - 5, c->crate, c->size))
		return true;
	for (i = 5; i + sizeof(as) - 1 <= n; i++)
		if (!memcmp(s + i, as, sizeof(as) - 1))
			return legacy_type_crate(s + i + sizeof(as) - 1,
						 n - i - (sizeof(as) - 1), c->crate, c->size);
	return false;
}

bool rust_symbol_crate(const char *name, char *crate, size_t size)
{
	struct legacy_crate c = { .crate = crate, .size = size };
	struct v0 p;
	const char *s;
	size_t n;

	if (!name || !size)
		return false;
	if (!v0_start(&p, name))
		return legacy_components(name, legacy_first_crate, &c) && c.found;
	if (!v0_path_crate(&p, &s, &n) || n >= size)
		return false;
	memcpy(crate, s, n);
	crate[n] = '\0';
	return true;
}

bool rust_demangle_short(const char *name, char *buf, size_t size)
{
	struct legacy_out o = { .buf = buf, .size = size, .ok = true };
	struct v0 p;

	if (!name || !size)
		return false;
	if (v0_start(&p, name)) {
		p.out = buf;
		p.size = size;
		if (!v0_path(&p) || p.overflow)
			return false;
		buf[p.used] = '\0';
		return true;
	}
	if (!legacy_components(name, legacy_print_component, &o) || !o.ok)
		return false;
	buf[o.used] = '\0';
	return true;
}

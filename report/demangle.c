/*
 * Short demangled C++ names (see demangle.h).
 *
 * __cxa_demangle gives "RET SCOPE::NAME<TARGS>(PARAMS) QUALS [clone X]".
 * The parameter list is the parenthesised group that ends the name once
 * clone suffixes and qualifiers are gone; the return type is what comes
 * before the last blank at nesting depth 0, except for the blanks of an
 * operator's own name ("operator new", "operator int").  Nesting counts
 * (), <> and [] but skips the characters of operator names, whose < > (
 * ) are not brackets ("operator<<", "operator()").
 */
#include "report/demangle.h"
#include "report/rust_names.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef char *cxa_demangle_fn(const char *, char *, size_t *, int *);

static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* If an operator name starts at @s + @i, the index just past it. */
static size_t skip_operator(const char *s, size_t i)
{
	size_t j;

	if (strncmp(s + i, "operator", 8) || (i > 0 && is_ident(s[i - 1])) ||
	    is_ident(s[i + 8]))
		return i;
	j = i + 8;
	if (s[j] == ' ') {
		/* "operator new", "operator delete[]", "operator int". */
		j++;
		while (is_ident(s[j]))
			j++;
		if (s[j] == '[' && s[j + 1] == ']')
			j += 2;
		return j;
	}
	if (s[j] == '(' && s[j + 1] == ')')
		return j + 2;
	if (s[j] == '[' && s[j + 1] == ']')
		return j + 2;
	/* Symbolic operators: <<=, >>=, ->*, <=>, ... at most 3 chars. */
	while (j < i + 11 && s[j] && strchr("+-*/%^&|~!=<>,", s[j]))
		j++;
	return j;
}

/* Index of the '(' of the top-level parameter list, or -1. */
static long params_start(const char *s, size_t len)
{
	long open = -1;
	int depth = 0;

	for (size_t i = 0; i < len;) {
		size_t j = skip_operator(s, i);

		if (j != i) {
			i = j;
			continue;
		}
		if (s[i] == '(' || s[i] == '<' || s[i] == '[') {
			if (depth == 0 && s[i] == '(')
				open = (long)i;
			depth++;
		} else if (s[i] == ')' || s[i] == '>' || s[i] == ']') {
			depth--;
		}
		i++;
	}
	return open;
}

void demangle_shorten(char *name)
{
	size_t len = strlen(name), start = 0;
	char *clone;
	long open;
	int depth = 0;

	while ((clone = strstr(name, " [clone ")))
		*clone = '\0';
	len = strlen(name);
	/* "(anonymous namespace)::f(int)" and "{lambda()#1}" open groups
	 * that are not parameter lists: only one that closes the name is. */
	open = params_start(name, len);
	if (open > 0)
		name[open] = '\0';
	len = strlen(name);
	/* The return type: up to the last blank at depth 0. */
	for (size_t i = 0; i < len;) {
		size_t j = skip_operator(name, i);

		if (j != i) {
			i = j;
			continue;
		}
		if (name[i] == '(' || name[i] == '<' || name[i] == '[' ||
		    name[i] == '{')
			depth++;
		else if (name[i] == ')' || name[i] == '>' || name[i] == ']' ||
			 name[i] == '}')
			depth--;
		else if (name[i] == ' ' && depth == 0)
			start = i + 1;
		i++;
	}
	if (start)
		memmove(name, name + start, len - start + 1);
}

bool demangle_short(const char *name, char *buf, size_t size)
{
	static cxa_demangle_fn *cxa_demangle;
	static bool looked_up;
	char *full;
	int status = -1;
	size_t len;

	if (!size)
		return false;
	/* Rust's names first: a legacy one is also a valid C++ name, which
	 * __cxa_demangle would end with the hash. */
	if (rust_demangle_short(name, buf, size))
		return true;
	if (strncmp(name, "_Z", 2))
		return false;
	if (!looked_up) {
		*(void **)&cxa_demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
		looked_up = true;
	}
	if (!cxa_demangle)
		return false;
	full = cxa_demangle(name, NULL, NULL, &status);
	if (!full || status != 0) {
		free(full);
		return false;
	}
	demangle_shorten(full);
	len = strlen(full);
	if (len >= size || !len) {
		free(full);
		return false;
	}
	memcpy(buf, full, len + 1);
	free(full);
	return true;
}

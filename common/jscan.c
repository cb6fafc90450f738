/* A strict JSON checker that finds where values end (see jscan.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "xmalloc.h"

/* As deep as jansson goes; requests are held far shallower before. */
#define JSCAN_MAX_DEPTH	2048

const char *
jscan_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

static int
is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* Four hex digits at p into *v; returns 0 or -1. */
static int
hex4(const unsigned char *p, const unsigned char *end, unsigned *v)
{
	int	i;

	if (end - p < 4)
		return -1;
	*v = 0;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			*v |= p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			*v |= p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			*v |= p[i] - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

/*
 * The length of the UTF-8 sequence at s (its first byte at least 0x80),
 * or 0 when it is not well formed: no overlong forms, no surrogates,
 * nothing past U+10FFFF.
 */
static int
utf8_len(const unsigned char *s, const unsigned char *end)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	int		n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (end - s < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

/* A string from its opening quote: where it ends, or NULL. */
static const char *
scan_string(const char *p, const char *end)
{
	const unsigned char	*s = (const unsigned char *)p + 1;
	const unsigned char	*e = (const unsigned char *)end;
	unsigned		 v, low;
	int			 n;

	while (s < e) {
		if (*s == '"')
			return (const char *)s + 1;
		if (*s < 0x20)
			return NULL;
		if (*s >= 0x80) {
			if ((n = utf8_len(s, e)) == 0)
				return NULL;
			s += n;
			continue;
		}
		if (*s != '\\') {
			s++;
			continue;
		}
		if (e - s < 2)
			return NULL;
		if (s[1] != 'u') {
			if (s[1] == '\0' || strchr("\"\\/bfnrt", s[1]) == NULL)
				return NULL;
			s += 2;
			continue;
		}
		/* \uXXXX: not NUL; a surrogate only as a whole pair. */
		if (hex4(s + 2, e, &v) == -1 || v == 0 ||
		    (v >= 0xdc00 && v <= 0xdfff))
			return NULL;
		s += 6;
		if (v >= 0xd800 && v <= 0xdbff) {
			if (e - s < 6 || s[0] != '\\' || s[1] != 'u' ||
			    hex4(s + 2, e, &low) == -1 || low < 0xdc00 ||
			    low > 0xdfff)
				return NULL;
			s += 6;
		}
	}
	return NULL;
}

/* A real's text must not overflow a double (underflow is allowed). */
static int
real_fits(const char *p, size_t len)
{
	char	 buf[64], *text = len < sizeof buf ? buf : xmalloc(len + 1);
	double	 v;
	int	 ok;

	memcpy(text, p, len);
	text[len] = '\0';
	errno = 0;
	v = strtod(text, NULL);
	ok = !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL));
	if (text != buf)
		free(text);
	return ok;
}

/* A number: where it ends, or NULL. Integers must fit in int64. */
static const char *
scan_number(const char *p, const char *end)
{
	const char	*s = p, *digits;
	size_t		 n;
	int		 real = 0;

	if (s < end && *s == '-')
		s++;
	if (!is_digit(s, end))
		return NULL;
	digits = s;
	if (*s == '0')
		s++;
	else
		while (is_digit(s, end))
			s++;
	if (s < end && *s == '.') {
		real = 1;
		if (!is_digit(++s, end))
			return NULL;
		while (is_digit(s, end))
			s++;
	}
	if (s < end && (*s == 'e' || *s == 'E')) {
		real = 1;
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			s++;
		if (!is_digit(s, end))
			return NULL;
		while (is_digit(s, end))
			s++;
	}
	if (real)
		return real_fits(p, (size_t)(s - p)) ? s : NULL;
	n = (size_t)(s - digits);
	if (n > 19 || (n == 19 && memcmp(digits, *p == '-' ?
	    "9223372036854775808" : "9223372036854775807", 19) > 0))
		return NULL;
	return s;
}

static const char *
scan_literal(const char *p, const char *end, const char *word)
{
	size_t	n = strlen(word);

	if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
		return NULL;
	return p + n;
}

static const char *
scan(const char *p, const char *end, int depth)
{
	p = jscan_ws(p, end);
	if (p == end)
		return NULL;
	switch (*p) {
	case '"':
		return scan_string(p, end);
	case '[':
		if (depth >= JSCAN_MAX_DEPTH)
			return NULL;
		p = jscan_ws(p + 1, end);
		if (p < end && *p == ']')
			return p + 1;
		for (;;) {
			if ((p = scan(p, end, depth + 1)) == NULL)
				return NULL;
			p = jscan_ws(p, end);
			if (p == end || (*p != ']' && *p != ','))
				return NULL;
			if (*p++ == ']')
				return p;
		}
	case 't':
		return scan_literal(p, end, "true");
	case 'f':
		return scan_literal(p, end, "false");
	case 'n':
		return scan_literal(p, end, "null");
	default:
		/* Objects too: see jscan.h. */
		return *p == '-' || is_digit(p, end) ? scan_number(p, end) :
		    NULL;
	}
}

const char *
jscan_value(const char *p, const char *end)
{
	return scan(p, end, 0);
}

/*
 * Skips any value of another member, checking its strings (so a quote is
 * never taken for one that ends a string) but nothing else: the caller's
 * parse of the rest of the line judges it.
 */
static const char *
skip_value(const char *p, const char *end)
{
	int	depth = 0;

	while (p < end) {
		switch (*p) {
		case '"':
			if ((p = scan_string(p, end)) == NULL)
				return NULL;
			continue;
		case '[':
		case '{':
			depth++;
			break;
		case ']':
		case '}':
			if (depth-- == 0)
				return p;
			break;
		case ',':
			if (depth == 0)
				return p;
			break;
		}
		p++;
	}
	return NULL;
}

int
jscan_items(const char *line, size_t len, struct jscan_items *it)
{
	return jscan_member(line, len, "items", it);
}

int
jscan_member(const char *line, size_t len, const char *name,
    struct jscan_items *it)
{
	const char	*end = line + len, *p, *key, *q;
	size_t		 nlen = strlen(name);
	int		 found = 0;

	p = jscan_ws(line, end);
	if (p == end || *p++ != '{')
		return 0;
	for (;;) {
		p = jscan_ws(p, end);
		if (p == end || *p != '"' || (q = scan_string(p, end)) == NULL)
			return 0;
		key = p;
		p = jscan_ws(q, end);
		if (p == end || *p++ != ':')
			return 0;
		p = jscan_ws(p, end);
		if ((size_t)(q - key) == nlen + 2 &&
		    memcmp(key + 1, name, nlen) == 0) {
			/* A second one: the full parse says what is wrong. */
			if (found || p == end || *p != '[')
				return 0;
			it->name = name;
			it->off = (size_t)(p - line);
			it->n = 0;
			q = jscan_ws(p + 1, end);
			if (q < end && *q == ']')
				q++;
			else {
				for (;;) {
					if ((q = scan(q, end, 2)) == NULL)
						return 0;
					it->n++;
					q = jscan_ws(q, end);
					if (q == end || (*q != ']' &&
					    *q != ','))
						return 0;
					if (*q++ == ']')
						break;
				}
			}
			it->len = (size_t)(q - p);
			found = 1;
			p = q;
		} else if ((p = skip_value(p, end)) == NULL)
			return 0;
		p = jscan_ws(p, end);
		if (p == end)
			return 0;
		if (*p == '}')
			return found && jscan_ws(p + 1, end) == end;
		if (*p++ != ',')
			return 0;
	}
}

const char *
jscan_next(const char *p, const char *end, const char **start,
    const char **next)
{
	const char	*q;

	*start = jscan_ws(p, end);
	if ((q = scan(*start, end, 2)) == NULL)
		return NULL;
	*next = jscan_ws(q, end);
	if (*next < end && **next == ',')
		(*next)++;
	return q;
}

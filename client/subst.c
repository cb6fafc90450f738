/* GNU parallel's replacement strings in map exec's arguments. */
#include <stdio.h>
#include <string.h>

#include "mpctl.h"
#include "xmalloc.h"

enum subst_kind {
	SUBST_ITEM,		/* {}   the item */
	SUBST_NOEXT,		/* {.}  without its extension */
	SUBST_BASE,		/* {/}  its basename */
	SUBST_DIR,		/* {//} its dirname */
	SUBST_BASE_NOEXT,	/* {/.} the basename without extension */
	SUBST_NUMBER		/* {#}  the item's number, from 1 */
};

static const char *subst_tokens[] = {
	[SUBST_ITEM] = "{}", [SUBST_NOEXT] = "{.}", [SUBST_BASE] = "{/}",
	[SUBST_DIR] = "{//}", [SUBST_BASE_NOEXT] = "{/.}",
	[SUBST_NUMBER] = "{#}"
};

/* A growing string. */
struct subst_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

/* The length of the replacement string at s, setting *kind; or 0. */
static size_t
subst_match(const char *s, enum subst_kind *kind)
{
	size_t	i, len;

	for (i = 0; i < sizeof subst_tokens / sizeof subst_tokens[0]; i++) {
		len = strlen(subst_tokens[i]);
		if (strncmp(s, subst_tokens[i], len) == 0) {
			*kind = (enum subst_kind)i;
			return len;
		}
	}
	return 0;
}

static void
subst_put(struct subst_buf *b, const char *s, size_t len)
{
	while (b->len + len + 1 > b->cap) {
		b->cap = b->cap == 0 ? 64 : b->cap * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

int
subst_has(const char *arg)
{
	enum subst_kind	kind;

	for (; (arg = strchr(arg, '{')) != NULL; arg++) {
		if (subst_match(arg, &kind) != 0)
			return 1;
	}
	return 0;
}

char *
subst_expand(const char *arg, const char *item, size_t n)
{
	struct subst_buf	 b = { NULL, 0, 0 };
	enum subst_kind		 kind;
	const char		*slash = strrchr(item, '/'), *base, *dot;
	char			 num[32];
	size_t			 len;

	base = slash != NULL ? slash + 1 : item;
	/* An extension is a dot after the last slash. */
	if ((dot = strrchr(base, '.')) == NULL)
		dot = base + strlen(base);
	subst_put(&b, "", 0);
	while (*arg != '\0') {
		if (*arg != '{' || (len = subst_match(arg, &kind)) == 0) {
			subst_put(&b, arg++, 1);
			continue;
		}
		arg += len;
		switch (kind) {
		case SUBST_ITEM:
			subst_put(&b, item, strlen(item));
			break;
		case SUBST_NOEXT:
			subst_put(&b, item, (size_t)(dot - item));
			break;
		case SUBST_BASE:
			subst_put(&b, base, strlen(base));
			break;
		case SUBST_DIR:
			if (slash == NULL)
				subst_put(&b, ".", 1);
			else if (slash == item)
				subst_put(&b, "/", 1);
			else
				subst_put(&b, item, (size_t)(slash - item));
			break;
		case SUBST_BASE_NOEXT:
			subst_put(&b, base, (size_t)(dot - base));
			break;
		case SUBST_NUMBER:
			len = (size_t)snprintf(num, sizeof num, "%zu", n);
			subst_put(&b, num, len);
			break;
		}
	}
	return b.s;
}

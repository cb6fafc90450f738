/*
 * Text from the daemon made safe for a terminal. Job names, error messages
 * and commands are chosen by whoever submitted the job, who may be another
 * user: an escape sequence in them must not reach the terminal of the
 * person who lists them (retitle it, recolour it, or worse). Control
 * characters are shown escaped, as ls -b and git do; --json output is
 * left exact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpctl.h"
#include "xmalloc.h"

/* Escaped strings are kept in a ring, so several fit in one printf. */
#define SAFE_RING	8

static char	*ring[SAFE_RING];
static int	 ring_next;

char *
ctl_escape(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			*out, *o;

	/* At most 6 bytes out ("\u009b") for each byte in. */
	out = o = xmalloc(strlen(s) * 6 + 1);
	for (; *p != '\0'; p++) {
		if (*p == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			*o++ = '\\';
			*o++ = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080..U+009F, the C1 controls (CSI is U+009B). */
			o += sprintf(o, "\\u%04x", p[1]);
			p++;
		} else
			*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

const char *
ctl_safe(const char *s)
{
	if (s == NULL)
		return NULL;
	free(ring[ring_next]);
	ring[ring_next] = ctl_escape(s);
	s = ring[ring_next];
	ring_next = (ring_next + 1) % SAFE_RING;
	return s;
}

void
fputs_json(const char *s, FILE *f)
{
	const unsigned char	*p = (const unsigned char *)s;

	/*
	 * jansson escapes C0 controls only; DEL and the C1 controls (CSI is
	 * U+009B) are written as \u escapes too, which is the same JSON.
	 * They can only be inside strings, where the escape is valid.
	 */
	for (; *p != '\0'; p++) {
		if (*p == 0x7f)
			fputs("\\u007f", f);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fprintf(f, "\\u%04x", p[1]);
			p++;
		} else
			putc(*p, f);
	}
}

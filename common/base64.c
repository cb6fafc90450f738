/* Base64 encoding and decoding, standard alphabet with padding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "xmalloc.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
base64_encode(const void *data, size_t len)
{
	const unsigned char	*p = data;
	char			*out, *o;
	uint32_t		 v;
	size_t			 i;

	o = out = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = alphabet[v >> 6 & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* The value of one base64 digit, or -1. */
static int
digit(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(alphabet, c)) == NULL)
		return -1;
	return (int)(p - alphabet);
}

void *
base64_decode(const char *text, size_t *len)
{
	unsigned char	*out;
	size_t		 n = strlen(text), i, o = 0;
	int		 d[4], k, pad;

	if (n % 4 != 0)
		return NULL;
	out = xmalloc(n / 4 * 3 + 1);
	for (i = 0; i < n; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (text[i + k] == '=' && i + 4 == n && k >= 2) {
				d[k] = 0;
				pad++;
			} else if (pad > 0 || (d[k] = digit(text[i + k])) == -1) {
				free(out);
				return NULL;
			}
		}
		out[o++] = (unsigned char)(d[0] << 2 | d[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((d[1] & 15) << 4 | d[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((d[2] & 3) << 6 | d[3]);
	}
	*len = o;
	return out;
}

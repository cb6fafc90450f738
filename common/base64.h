/* Base64 (RFC 4648, standard alphabet, padded): how log bytes cross JSON. */
#ifndef MPD_BASE64_H
#define MPD_BASE64_H

#include <stddef.h>

/* Encodes len bytes; returns a NUL-terminated string (newly allocated). */
char	*base64_encode(const void *, size_t);
/*
 * Decodes a NUL-terminated base64 string into a new buffer, setting *len.
 * Returns NULL when the text is not valid base64.
 */
void	*base64_decode(const char *, size_t *);

#endif

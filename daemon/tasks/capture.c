/*
 * A command's output as it comes: copied whole to the job's log file, and
 * its first bytes (the output cap) kept for the result.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "frame.h"
#include "log.h"
#include "xmalloc.h"

void
capture_read(struct capture *c)
{
	char	buf[65536];
	ssize_t	n;
	size_t	keep;

	n = read(c->fd, buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	if (c->log != -1 && write_all(c->log, buf, (size_t)n) == -1) {
		log_warn("writing a log file");
		close(c->log);
		c->log = -1;
	}
	if (c->len < c->max) {
		keep = c->max - c->len;
		if (keep > (size_t)n)
			keep = (size_t)n;
		c->buf = xreallocarray(c->buf, c->len + keep, 1);
		memcpy(c->buf + c->len, buf, keep);
		c->len += keep;
	}
	c->total += (size_t)n;
}

/* Bytes as a JSON string, invalid UTF-8 and NUL bytes as U+FFFD. */
static json_t *
utf8_lossy(const char *s, size_t len)
{
	json_t	*v;
	char	*out;
	size_t	 i = 0, o = 0, n, k;
	unsigned char c;

	if ((len == 0 || memchr(s, '\0', len) == NULL) &&
	    (v = json_stringn(s, len)) != NULL)
		return v;
	out = xmalloc(len * 3 + 1);
	while (i < len) {
		c = (unsigned char)s[i];
		n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ?
		    3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n > 1 && i + n <= len) {
			for (k = 1; k < n; k++) {
				if (((unsigned char)s[i + k] & 0xc0) != 0x80)
					break;
			}
			if (k == n && (v = json_stringn(s + i, n)) != NULL) {
				json_decref(v);
				memcpy(out + o, s + i, n);
				o += n;
				i += n;
				continue;
			}
		} else if (n == 1 && c != '\0') {
			out[o++] = s[i++];
			continue;
		}
		memcpy(out + o, "\xef\xbf\xbd", 3);
		o += 3;
		i++;
	}
	v = json_stringn(out, o);
	free(out);
	return v;
}

json_t *
capture_text(const struct capture *c)
{
	return utf8_lossy(c->buf != NULL ? c->buf : "", c->len);
}

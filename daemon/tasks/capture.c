/*
 * A command's output as it comes: copied to the job's log file, and its
 * first bytes (the output cap) kept for the result. A log holds at most
 * the log cap: the stream's first half of it as it comes, and its last
 * half, held here in a ring until the stream ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "frame.h"
#include "log.h"
#include "xmalloc.h"

/* A write to the log failed (a full disk, say): the log stops there. */
static void
capture_log_failed(struct capture *c)
{
	log_warn("writing a log file");
	close(c->log);
	c->log = -1;
	c->log_failed = 1;
}

/* Copies bytes to the log: the head to the file, the rest to the ring. */
static void
capture_log(struct capture *c, const char *p, size_t n)
{
	size_t	head, ring, k;

	head = c->log_cap - c->log_cap / 2;
	if (c->log_cap == 0 || c->logged < head) {
		k = c->log_cap == 0 || n < head - c->logged ? n :
		    head - c->logged;
		if (write_all(c->log, p, k) == -1) {
			capture_log_failed(c);
			return;
		}
		c->logged += k;
		p += k;
		n -= k;
	}
	if (n == 0 || (ring = c->log_cap / 2) == 0)
		return;
	if (c->tail == NULL)
		c->tail = xmalloc(ring);
	if (n > ring) {
		p += n - ring;
		n = ring;
	}
	while (n > 0) {
		k = ring - c->tail_at < n ? ring - c->tail_at : n;
		memcpy(c->tail + c->tail_at, p, k);
		c->tail_at = (c->tail_at + k) % ring;
		if (c->tail_len < ring)
			c->tail_len = c->tail_len + k < ring ?
			    c->tail_len + k : ring;
		p += k;
		n -= k;
	}
}

void
capture_close_log(struct capture *c)
{
	char	line[160];
	size_t	ring = c->log_cap / 2, start, gap;
	int	len;

	if (c->log == -1)
		goto done;
	gap = c->total - c->logged - c->tail_len;
	if (gap > 0) {
		len = snprintf(line, sizeof line, "\n[mpd: %zu bytes left out "
		    "here: the log keeps the first %zu and the last %zu]\n",
		    gap, c->logged, c->tail_len);
		if (write_all(c->log, line, (size_t)len) == -1) {
			capture_log_failed(c);
			goto done;
		}
	}
	/* The ring's oldest byte is at tail_at once it has wrapped. */
	start = c->tail_len < ring ? 0 : c->tail_at;
	if (c->tail_len > 0 && (write_all(c->log, c->tail + start, c->tail_len - start) == -1 ||
	    write_all(c->log, c->tail, start) == -1)) {
		capture_log_failed(c);
		goto done;
	}
	close(c->log);
	c->log = -1;
done:
	free(c->tail);
	c->tail = NULL;
}

int
capture_log_cut(const struct capture *c)
{
	return c->log_failed || c->logged + c->tail_len < c->total;
}

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
	if (c->log != -1)
		capture_log(c, buf, (size_t)n);
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

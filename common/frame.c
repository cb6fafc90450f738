/* Newline framing for blocking descriptors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "xmalloc.h"

void
frame_init(struct frame *f, size_t max)
{
	memset(f, 0, sizeof *f);
	f->max = max;
}

void
frame_free(struct frame *f)
{
	free(f->buf);
	memset(f, 0, sizeof *f);
}

/* Makes room for n more bytes, moving held bytes to the front first. */
static void
frame_reserve(struct frame *f, size_t n)
{
	if (f->off > 0) {
		memmove(f->buf, f->buf + f->off, f->len - f->off);
		f->len -= f->off;
		f->off = 0;
	}
	if (f->cap - f->len >= n)
		return;
	while (f->cap - f->len < n)
		f->cap = f->cap == 0 ? 4096 : f->cap * 2;
	f->buf = xreallocarray(f->buf, f->cap, 1);
}

void
frame_push(struct frame *f, const void *p, size_t n)
{
	frame_reserve(f, n);
	memcpy(f->buf + f->len, p, n);
	f->len += n;
}

ssize_t
frame_fill(struct frame *f, int fd)
{
	ssize_t	n;

	frame_reserve(f, 65536);
	do {
		n = read(fd, f->buf + f->len, f->cap - f->len);
	} while (n == -1 && errno == EINTR);
	if (n > 0)
		f->len += (size_t)n;
	return n;
}

int
frame_next(struct frame *f, char **line, size_t *len)
{
	char	*start, *nl;
	size_t	 held;

	start = f->buf + f->off;
	held = f->len - f->off;
	nl = held > f->scan ? memchr(start + f->scan, '\n', held - f->scan) :
	    NULL;
	if (nl == NULL) {
		f->scan = held;
		return held > f->max ? -1 : 0;
	}
	*len = (size_t)(nl - start);
	if (*len > f->max)
		return -1;
	*nl = '\0';
	*line = start;
	f->off += *len + 1;
	f->scan = 0;
	return 1;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
writev_all(int fd, struct iovec *iov, int n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = writev(fd, iov, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

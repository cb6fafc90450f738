/*
 * Newline framing over a blocking descriptor, with a cap on line length.
 * Used by workers and by the client library; the daemon frames with
 * libevent's buffers and the same cap.
 */
#ifndef MPD_FRAME_H
#define MPD_FRAME_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>

struct frame {
	char	*buf;
	size_t	 off;		/* start of the bytes not yet taken */
	size_t	 len;		/* end of the bytes held */
	size_t	 cap;		/* size of buf */
	size_t	 scan;		/* bytes from off already known to hold no newline */
	size_t	 max;		/* longest line accepted, newline excluded */
};

void	frame_init(struct frame *, size_t);
void	frame_free(struct frame *);
/* Appends bytes to the buffer. */
void	frame_push(struct frame *, const void *, size_t);
/* Reads once from fd; returns bytes read, 0 at end of file, -1 on error. */
ssize_t	frame_fill(struct frame *, int);
/*
 * Takes the next line: returns 1 and sets *line (NUL-terminated, newline
 * removed, borrowed until the next call) and *len; 0 when no whole line is
 * held yet; -1 when the pending line is longer than the cap.
 */
int	frame_next(struct frame *, char **, size_t *);
/* Writes all of buf to a blocking descriptor; returns 0 or -1. */
int	write_all(int, const void *, size_t);
/* The same for n pieces, in as few system calls as the kernel allows. */
int	writev_all(int, struct iovec *, int);

#endif

/*
 * What the daemon's sockets share, clients' and workers' alike: one capped
 * line framer (a line is taken whole, or refused once it is past its cap,
 * and a long line arriving in many reads is searched only in its new
 * bytes), and one way to send a buffer.
 */
#include <stdlib.h>

#include "log.h"
#include "mpd.h"
#include "xmalloc.h"

int
peer_line(struct evbuffer *in, size_t *scanned, size_t max, char **line,
    size_t *len)
{
	struct evbuffer_ptr	p;
	size_t			eol;

	*line = NULL;
	*len = 0;
	if (evbuffer_ptr_set(in, &p, *scanned, EVBUFFER_PTR_SET) == -1)
		fatalx("evbuffer_ptr_set");
	p = evbuffer_search_eol(in, &p, &eol, EVBUFFER_EOL_LF);
	if (p.pos == -1) {
		*scanned = evbuffer_get_length(in);
		return *scanned > max ? -1 : 0;
	}
	if ((size_t)p.pos > max)
		return -1;
	*scanned = 0;
	*line = xmalloc((size_t)p.pos + 1);
	evbuffer_remove(in, *line, (size_t)p.pos);
	evbuffer_drain(in, 1);
	(*line)[p.pos] = '\0';
	*len = (size_t)p.pos;
	return 1;
}

struct evbuffer *
peer_prefix(struct evbuffer *buf, size_t n)
{
	struct evbuffer	*out;

	if (n >= evbuffer_get_length(buf))
		return buf;
	if ((out = evbuffer_new()) == NULL ||
	    evbuffer_remove_buffer(buf, out, n) != (int)n)
		fatalx("evbuffer_remove_buffer");
	return out;
}

int
peer_send(struct bufferevent *bev, struct evbuffer *buf)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		evbuffer_write(buf, bufferevent_getfd(bev));
	if (evbuffer_get_length(buf) > 0)
		return bufferevent_write_buffer(bev, buf);
	return 0;
}

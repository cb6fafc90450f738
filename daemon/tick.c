/*
 * The tick: one run of the loop's end-of-iteration work (dispatch, admit,
 * commit, then release worker frames and replies), asked for by anything
 * that changed what it would do. Many asks in one iteration make one tick.
 * Whoever owns the work (loop.c) registers it; the modules that ask know
 * nothing of it.
 */
#include "log.h"
#include "mpd.h"

static struct event	*tick_ev;
static void		(*tick_fn)(void);

/* libevent's side: runs the registered work. */
static void
tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	tick_fn();
}

void
tick_init(struct event_base *base, void (*fn)(void))
{
	tick_fn = fn;
	if ((tick_ev = event_new(base, -1, 0, tick_cb, NULL)) == NULL)
		fatalx("event_new");
}

void
tick_kick(void)
{
	if (tick_ev != NULL && !event_pending(tick_ev, EV_TIMEOUT, NULL))
		event_active(tick_ev, EV_TIMEOUT, 0);
}

void
tick_free(void)
{
	if (tick_ev != NULL)
		event_free(tick_ev);
	tick_ev = NULL;
}

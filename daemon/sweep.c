/*
 * Writes to many rows, a slice per turn of the loop: the queued chunks of
 * a map that was cancelled or failed, and the rows of a map that was
 * forgotten. A map has up to 10,000 chunks, and changing them all at once
 * would hold every other client back; so each turn changes rows for at
 * most SWEEP_SLICE seconds, SWEEP_ROWS at a time, and lets the others in.
 *
 * What is not done yet is safe to leave to a restart: recovery cancels the
 * queued chunks of maps that have ended, and deletes a map being forgotten
 * (it is marked loading, so nobody sees it meanwhile).
 */
#include <stdlib.h>

#include "log.h"
#include "mpd.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define SWEEP_SLICE	0.001
#define SWEEP_ROWS	256

struct sweep {
	int64_t			 map;
	char			*error;	/* the chunks' error; NULL: forget */
	double			 t;	/* and when they ended */
	TAILQ_ENTRY(sweep)	 entry;
};

static TAILQ_HEAD(, sweep)	 sweeps = TAILQ_HEAD_INITIALIZER(sweeps);
static struct store		*store;
static struct event		*turn;

/* Changes rows until the sweep is over (1) or the time is up (0). */
static int
sweep_step(const struct sweep *s, double until)
{
	int	n;

	for (;;) {
		if (s->error == NULL) {
			if ((n = store_forget(store, s->map, SWEEP_ROWS)) == -1)
				fatalx("cannot forget map %lld: %s",
				    (long long)s->map, store_errmsg(store));
			if (n == 1)
				return 1;
		} else {
			if ((n = store_cancel_chunks(store, s->map, s->error,
			    s->t, SWEEP_ROWS)) == -1)
				fatalx("cannot cancel the chunks of map %lld: "
				    "%s", (long long)s->map,
				    store_errmsg(store));
			if (n < SWEEP_ROWS)
				return 1;
		}
		if (time_mono() >= until)
			return 0;
	}
}

static void
sweep_free_one(struct sweep *s)
{
	TAILQ_REMOVE(&sweeps, s, entry);
	free(s->error);
	free(s);
}

static void
sweep_turn(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	 now = { 0, 0 };
	struct sweep	*s;
	double		 until = time_mono() + SWEEP_SLICE;

	(void)fd;
	(void)events;
	(void)arg;
	while ((s = TAILQ_FIRST(&sweeps)) != NULL && sweep_step(s, until))
		sweep_free_one(s);
	tick_kick();	/* commit what changed */
	if (!TAILQ_EMPTY(&sweeps))
		evtimer_add(turn, &now);
}

/* Starts a sweep in the caller's time; what is left goes on next turn. */
static void
sweep_start(int64_t map, const char *error, double t)
{
	struct timeval	 now = { 0, 0 };
	struct sweep	 first, *s;

	first.map = map;
	first.error = (char *)error;
	first.t = t;
	if (TAILQ_EMPTY(&sweeps) && sweep_step(&first, time_mono() +
	    SWEEP_SLICE))
		return;
	s = xmalloc(sizeof *s);
	*s = first;
	s->error = error != NULL ? xstrdup(error) : NULL;
	TAILQ_INSERT_TAIL(&sweeps, s, entry);
	evtimer_add(turn, &now);
}

void
sweep_cancel(int64_t map, const char *error, double t)
{
	sweep_start(map, error, t);
}

void
sweep_forget(int64_t id)
{
	sweep_start(id, NULL, 0);
}

int
forget_job(struct store *s, int64_t id, int kind)
{
	if (kind == KIND_MAP) {
		/* Unseen from now on; its rows go a slice per turn. */
		if (store_map_loading(s, id, 1) == -1)
			return -1;
		sweep_forget(id);
	} else if (store_forget(s, id, 1) == -1)
		return -1;
	logs_remove(id);
	return 0;
}

const char *
sweep_cancelling(int64_t map)
{
	struct sweep	*s;

	TAILQ_FOREACH(s, &sweeps, entry) {
		if (s->map == map && s->error != NULL)
			return s->error;
	}
	return NULL;
}

void
sweep_init(struct event_base *base, struct store *s)
{
	store = s;
	if ((turn = evtimer_new(base, sweep_turn, NULL)) == NULL)
		fatalx("evtimer_new");
}

void
sweep_free(void)
{
	struct sweep	*s;

	/* Left to recovery at the next start. */
	while ((s = TAILQ_FIRST(&sweeps)) != NULL)
		sweep_free_one(s);
	if (turn != NULL)
		event_free(turn);
	turn = NULL;
}

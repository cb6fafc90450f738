/*
 * Retention: ended jobs and maps are forgotten, with their logs, once they
 * ended longer ago than --keep-ended, and past --keep-max the oldest ended
 * ones go first. Once a second it looks; what is due goes RETAIN_BATCH at
 * a time (and for at most RETAIN_SLICE seconds), a turn every RETAIN_GAP
 * seconds while more is due, so that a backlog of many thousand never
 * holds the others back: it is not urgent. A map's chunks go through
 * sweep.c.
 */
#include <math.h>
#include <stdint.h>

#include "log.h"
#include "mpd.h"
#include "store.h"
#include "util.h"

#define RETAIN_EVERY	1.0	/* seconds between looks */
#define RETAIN_SLICE	0.001	/* the most a turn takes */
#define RETAIN_BATCH	64	/* jobs a turn forgets at most */
#define RETAIN_GAP	0.005	/* between turns, while a backlog lasts */

static struct store		*store;
static const struct config	*conf;
static struct event		*timer;
static int64_t			 forgotten;	/* since the last log line */

/* Forgets one ended job or map. */
static void
retain_forget(int64_t id, int kind)
{
	if (forget_job(store, id, kind) == -1)
		fatalx("retention: cannot forget job %lld: %s", (long long)id,
		    store_errmsg(store));
	forgotten++;
}

/*
 * Forgets up to max of the jobs that ended before this time, until the
 * time is up. Returns how many it forgot, or -1 when the time ran out
 * first.
 */
static int64_t
retain_batch(double before, int64_t max, double until)
{
	int64_t	ids[RETAIN_BATCH], done = 0;
	int	kinds[RETAIN_BATCH], n, i;

	while (done < max) {
		if (done >= RETAIN_BATCH || time_mono() >= until)
			return -1;
		n = store_ended(store, before, ids, kinds, max - done <
		    RETAIN_BATCH ? (int)(max - done) : RETAIN_BATCH);
		if (n == -1)
			fatalx("retention: %s", store_errmsg(store));
		for (i = 0; i < n; i++)
			retain_forget(ids[i], kinds[i]);
		done += n;
		if (n < RETAIN_BATCH)
			break;
	}
	return done;
}

static void
retain_cb(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	 tv;
	double		 until = time_mono() + RETAIN_SLICE;
	int64_t		 n, over = 0;
	int		 more = 0;

	(void)fd;
	(void)events;
	(void)arg;
	if (conf->keep_max > 0) {
		if ((n = store_ended_count(store)) == -1)
			fatalx("retention: %s", store_errmsg(store));
		if (n > conf->keep_max)
			over = n - conf->keep_max;
		if (over > 0 && retain_batch(INFINITY, over, until) == -1)
			more = 1;
	}
	if (!more && conf->keep_ended > 0 && retain_batch(time_now() -
	    conf->keep_ended, INT64_MAX, until) == -1)
		more = 1;
	if (forgotten > 0) {
		tick_kick();	/* commit */
		if (!more) {
			log_debug("retention: %lld ended job(s) forgotten",
			    (long long)forgotten);
			forgotten = 0;
		}
	}
	tv = tv_from(more ? RETAIN_GAP : RETAIN_EVERY);
	evtimer_add(timer, &tv);
}

void
retain_init(struct event_base *base, struct store *s,
    const struct config *c)
{
	struct timeval	tv = tv_from(RETAIN_EVERY);

	store = s;
	conf = c;
	if (conf->keep_ended <= 0 && conf->keep_max <= 0)
		return;
	if ((timer = evtimer_new(base, retain_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(timer, &tv);
}

void
retain_free(void)
{
	if (timer != NULL)
		event_free(timer);
	timer = NULL;
}

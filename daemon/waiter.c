/*
 * Waiters: clients blocked in "get" (or a cancel of a running job). Each
 * waits on one job, indexed by job id in a hash table, and on an optional
 * timer. Completion of the job or the timer answers it; nothing polls.
 *
 * Followers (a "logs" request with wait) also wait for new output, which
 * workers write straight to files: while any follower waits, one timer
 * looks at the files' sizes every FOLLOW_INTERVAL seconds, once per job
 * however many follow it, and answers only followers behind the end.
 */
#include <stdlib.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define WAITER_BUCKETS	4096
#define FOLLOW_INTERVAL	0.1

struct waiter {
	struct client		*client;
	json_t			*tag;
	int64_t			 job;
	struct event		*timer;
	int			 follow;	/* a logs request */
	int64_t			 off[2];	/* its stdout, stderr offsets */
	LIST_ENTRY(waiter)	 by_job;
	LIST_ENTRY(waiter)	 by_client;
	LIST_ENTRY(waiter)	 by_follow;
};

LIST_HEAD(waiter_list, waiter);
static struct waiter_list	 buckets[WAITER_BUCKETS];
static struct waiter_list	 followers;
static struct event		*follow_ev;
static size_t			 nwaiters;
static struct event_base	*base;
static struct store		*store;

void
waiter_init(struct event_base *b, struct store *s)
{
	base = b;
	store = s;
}

/* The bucket of a job id. */
static struct waiter_list *
waiter_bucket(int64_t job)
{
	return &buckets[(uint64_t)job % WAITER_BUCKETS];
}

/* Unlinks and frees a waiter. */
static void
waiter_free(struct waiter *wt)
{
	LIST_REMOVE(wt, by_job);
	LIST_REMOVE(wt, by_client);
	if (wt->follow) {
		LIST_REMOVE(wt, by_follow);
		wt->client->nfollowing--;
	}
	if (wt->timer != NULL)
		event_free(wt->timer);
	json_decref(wt->tag);
	wt->client->nwaiting--;
	free(wt);
	nwaiters--;
}

/* The wait ran out: answer with the job's current state. */
static void
waiter_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct waiter	*wt = arg;
	struct client	*c;
	struct job	 j;
	json_t		*reply;

	(void)fd;
	(void)events;
	reply = reply_new(wt->tag, 0);
	json_object_set_new(reply, "job", json_integer(wt->job));
	if (store_get(store, wt->job, &j) == 1) {
		json_object_set_new(reply, "state",
		    json_string(job_state_name(j.state)));
		job_clear(&j);
	}
	json_object_set_new(reply, "error", json_pack("{s:s, s:s}", "code",
	    ERR_TIMEOUT, "message", "the job did not end within the timeout"));
	c = wt->client;
	client_reply(c, reply);
	waiter_free(wt);
	client_waiters_done(c);
}

/* The sizes of jobs' log files, looked at once per round of followers. */
#define SIZE_SLOTS	256
static struct {
	int64_t		 job;
	uint64_t	 round;
	int64_t		 sizes[2];
} size_cache[SIZE_SLOTS];
static uint64_t	 follow_round;

static const int64_t *
waiter_sizes(int64_t job)
{
	size_t	k = (uint64_t)job % SIZE_SLOTS;

	if (size_cache[k].job != job || size_cache[k].round != follow_round) {
		size_cache[k].job = job;
		size_cache[k].round = follow_round;
		logs_sizes(job, size_cache[k].sizes);
	}
	return size_cache[k].sizes;
}

/* Answers the followers that have new output. */
static void
waiter_follow_cb(evutil_socket_t fd, short events, void *arg)
{
	struct waiter	*wt, *next;
	struct client	*c;
	struct timeval	 tv = { 0, (suseconds_t)(FOLLOW_INTERVAL * 1e6) };
	const int64_t	*sizes;

	(void)fd;
	(void)events;
	(void)arg;
	follow_round++;
	for (wt = LIST_FIRST(&followers); wt != NULL; wt = next) {
		next = LIST_NEXT(wt, by_follow);
		c = wt->client;
		/* Nothing new for it: nothing to do (its job's end wakes it). */
		sizes = waiter_sizes(wt->job);
		if (sizes[0] <= wt->off[0] && sizes[1] <= wt->off[1])
			continue;
		if (logs_answer(c, wt->tag, wt->job, wt->off, 1)) {
			waiter_free(wt);
			client_waiters_done(c);
		}
	}
	if (!LIST_EMPTY(&followers))
		evtimer_add(follow_ev, &tv);
	tick_kick();	/* replies go out after the tick */
}

void
waiter_add_logs(struct client *c, json_t *tag, int64_t job, int64_t *off)
{
	struct waiter	*wt;
	struct timeval	 tv = { 0, (suseconds_t)(FOLLOW_INTERVAL * 1e6) };

	waiter_add(c, tag, job, -1);
	wt = LIST_FIRST(&c->waiters);
	wt->follow = 1;
	wt->off[0] = off[0];
	wt->off[1] = off[1];
	c->nfollowing++;
	LIST_INSERT_HEAD(&followers, wt, by_follow);
	if (follow_ev == NULL &&
	    (follow_ev = evtimer_new(base, waiter_follow_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	if (!evtimer_pending(follow_ev, NULL))
		evtimer_add(follow_ev, &tv);
}

void
waiter_add(struct client *c, json_t *tag, int64_t job, double timeout)
{
	struct waiter	*wt;
	struct timeval	 tv;

	wt = xcalloc(1, sizeof *wt);
	wt->client = c;
	wt->tag = tag != NULL ? json_incref(tag) : NULL;
	wt->job = job;
	if (timeout >= 0) {
		wt->timer = evtimer_new(base, waiter_timeout, wt);
		if (wt->timer == NULL)
			fatalx("evtimer_new");
		tv = tv_from(timeout);
		evtimer_add(wt->timer, &tv);
	}
	LIST_INSERT_HEAD(waiter_bucket(job), wt, by_job);
	LIST_INSERT_HEAD(&c->waiters, wt, by_client);
	c->nwaiting++;
	nwaiters++;
}

void
waiter_wake(int64_t job)
{
	struct waiter_list	*b = waiter_bucket(job);
	struct waiter		*wt, *next;
	struct client		*c, **cs = NULL;
	json_t			**tags = NULL;
	size_t			 n = 0;

	/* The gets are answered together: one copy of the result for all. */
	LIST_FOREACH(wt, b, by_job) {
		if (wt->job == job && !wt->follow)
			n++;
	}
	if (n > 0) {
		cs = xcalloc(n, sizeof *cs);
		tags = xcalloc(n, sizeof *tags);
		n = 0;
		LIST_FOREACH(wt, b, by_job) {
			if (wt->job == job && !wt->follow) {
				cs[n] = wt->client;
				tags[n++] = wt->tag;
			}
		}
		reply_job_all(job, cs, tags, n);
	}
	for (wt = LIST_FIRST(b); wt != NULL; wt = next) {
		next = LIST_NEXT(wt, by_job);
		if (wt->job != job)
			continue;
		c = wt->client;
		if (wt->follow)
			logs_answer(c, wt->tag, job, wt->off, 0);
		waiter_free(wt);
		client_waiters_done(c);
	}
	free(cs);
	free(tags);
}

void
waiter_drop_client(struct client *c)
{
	while (!LIST_EMPTY(&c->waiters))
		waiter_free(LIST_FIRST(&c->waiters));
}

size_t
waiter_count(void)
{
	return nwaiters;
}

void
waiter_free_all(void)
{
	if (follow_ev != NULL)
		event_free(follow_ev);
	follow_ev = NULL;
}

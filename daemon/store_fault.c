/*
 * The fault backend: a wrapper around any store that fails on request, so
 * tests can show what mpd does when its database fails (MPD_STORE_FAULTS;
 * the spec is in store.h). A failed write loses the open transaction, as
 * SQLite's rollback on a full disk does; a failed commit keeps nothing of
 * it; a deferred commit reports back later from the loop, as a network
 * database's would, and no other commit may begin meanwhile.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "store_backend.h"
#include "util.h"
#include "xmalloc.h"

struct fault {
	struct store	 base;		/* first: table, inner store */
	long		 write_at;	/* the write that fails; 0: none */
	long		 commit_at;	/* the commit that fails; 0: none */
	long		 writes, commits;
	char		*why;		/* the injected failure, once one was */
	struct event	*ev;		/* a deferred commit's report */
	long		 defer_ms;	/* -1: commits report at once */
	store_done_fn	 done;		/* the commit waiting to report */
	void		*done_arg;
	int		 rc;
};

#define FAULT(s)	((struct fault *)(s))
#define IN(s)		((s)->inner)	/* the wrapped store */

static const struct store_ops fault_ops;

/* Parses "name=N" of the spec; returns 0 or -1. */
static int
fault_count(const char *v, long *n)
{
	char	*end;

	errno = 0;
	*n = strtol(v, &end, 10);
	return (errno != 0 || end == v || *end != '\0' || *n < 1) ? -1 : 0;
}

/* Reads the spec into f; returns 0, or -1 with *cause set. */
static int
fault_parse(struct fault *f, const char *spec, char **cause)
{
	char	*copy, *item, *next, *v;
	int	 rc = 0;

	copy = xstrdup(spec);
	for (item = copy; item != NULL && rc == 0; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		if ((v = strchr(item, '=')) != NULL)
			*v++ = '\0';
		if (strcmp(item, "none") == 0 && v == NULL && next == NULL &&
		    item == copy)
			continue;
		if (strcmp(item, "write") == 0 && v != NULL)
			rc = fault_count(v, &f->write_at);
		else if (strcmp(item, "commit") == 0 && v != NULL)
			rc = fault_count(v, &f->commit_at);
		else if (strcmp(item, "defer") == 0 && v == NULL)
			f->defer_ms = 1;
		else if (strcmp(item, "defer") == 0)
			rc = fault_count(v, &f->defer_ms);
		else
			rc = -1;
	}
	free(copy);
	if (rc == -1)
		*cause = xasprintf("store faults \"%s\": expected a comma-"
		    "separated list of write=N, commit=N and defer[=MS], each "
		    "N at least 1", spec);
	return rc;
}

/* Reports a deferred commit. */
static void
fault_report(evutil_socket_t fd, short events, void *arg)
{
	struct fault	*f = arg;
	store_done_fn	 done = f->done;

	(void)fd;
	(void)events;
	f->done = NULL;
	if (done != NULL)
		done(f->rc, f->done_arg);
}

struct store *
store_fault_open(struct store *inner, const char *spec,
    struct event_base *base, char **cause)
{
	struct fault	*f;

	f = xcalloc(1, sizeof *f);
	f->base.ops = &fault_ops;
	f->base.inner = inner;
	f->defer_ms = -1;
	if (fault_parse(f, spec, cause) == -1)
		goto fail;
	if (f->defer_ms >= 0) {
		if (base == NULL) {
			*cause = xstrdup("store faults: defer needs an event "
			    "loop");
			goto fail;
		}
		if ((f->ev = evtimer_new(base, fault_report, f)) == NULL)
			fatalx("evtimer_new");
	}
	log_warnx("store: faults injected on request: %s", spec);
	return &f->base;
fail:
	inner->ops->close(inner);
	free(f);
	return NULL;
}

/* Counts a write; at the one asked for, loses the transaction. */
static void
fault_write(struct fault *f)
{
	if (++f->writes != f->write_at)
		return;
	free(f->why);
	f->why = xasprintf("injected fault: write %ld failed", f->writes);
	IN(&f->base)->ops->rollback(IN(&f->base));
	store_lost(&f->base, f->why);
}

static void
fault_close(struct store *s)
{
	struct fault	*f = FAULT(s);

	/* A commit still waiting to report does so now: it is done. */
	if (f->ev != NULL) {
		event_free(f->ev);
		fault_report(-1, 0, f);
	}
	IN(s)->ops->close(IN(s));
	free(f->why);
	free(f);
}

static const char *
fault_errmsg(struct store *s)
{
	struct fault	*f = FAULT(s);

	if (f->why != NULL)
		return f->why;
	return IN(s)->ops->errmsg(IN(s));
}

/* The inner store finished a commit: report it, now or after the delay. */
static void
fault_inner_done(int rc, void *arg)
{
	struct fault	*f = arg;
	struct timeval	 tv;

	f->rc = rc;
	if (f->ev == NULL) {
		fault_report(-1, 0, f);
		return;
	}
	tv = tv_from((double)f->defer_ms / 1000);
	if (evtimer_add(f->ev, &tv) == -1)
		fatalx("evtimer_add");
}

static void
fault_commit(struct store *s, store_done_fn done, void *arg)
{
	struct fault	*f = FAULT(s);

	if (f->done != NULL)
		fatalx("store: a commit began before the last one reported");
	/* Nothing to commit: nothing to wait for, and no commit counted. */
	if (!IN(s)->ops->dirty(IN(s))) {
		done(0, arg);
		return;
	}
	f->done = done;
	f->done_arg = arg;
	if (++f->commits == f->commit_at) {
		free(f->why);
		f->why = xasprintf("injected fault: commit %ld failed",
		    f->commits);
		IN(s)->ops->rollback(IN(s));
		fault_inner_done(-1, f);
		return;
	}
	IN(s)->ops->commit(IN(s), fault_inner_done, f);
}

static void
fault_rollback(struct store *s)
{
	IN(s)->ops->rollback(IN(s));
}

static int
fault_recover(struct store *s, int64_t *requeued, int64_t *failed)
{
	return IN(s)->ops->recover(IN(s), requeued, failed);
}

static int64_t
fault_insert(struct store *s, const struct job *j)
{
	fault_write(FAULT(s));
	return IN(s)->ops->insert(IN(s), j);
}

static int
fault_get(struct store *s, int64_t id, struct job *j)
{
	return IN(s)->ops->get(IN(s), id, j);
}

static int
fault_next(struct store *s, int64_t *ids, int max)
{
	return IN(s)->ops->next(IN(s), ids, max);
}

static int
fault_runnable_in(struct store *s, const char *pool)
{
	return IN(s)->ops->runnable_in(IN(s), pool);
}

static int
fault_next_of(struct store *s, const char *pool, uid_t owner, int64_t *ids,
    int *prio, int max)
{
	return IN(s)->ops->next_of(IN(s), pool, owner, ids, prio, max);
}

static int
fault_ended(struct store *s, double before, int64_t *ids, int *kinds,
    int max)
{
	return IN(s)->ops->ended(IN(s), before, ids, kinds, max);
}

static int64_t
fault_ended_count(struct store *s)
{
	return IN(s)->ops->ended_count(IN(s));
}

static int
fault_map_loading(struct store *s, int64_t id, int on)
{
	fault_write(FAULT(s));
	return IN(s)->ops->map_loading(IN(s), id, on);
}

static int64_t
fault_owner_items(struct store *s, const char *pool, uid_t owner)
{
	return IN(s)->ops->owner_items(IN(s), pool, owner);
}

static int
fault_queued_owners(struct store *s, const char *pool, uid_t *owners,
    int max)
{
	return IN(s)->ops->queued_owners(IN(s), pool, owners, max);
}

static int64_t
fault_pool_queued(struct store *s, const char *pool, uid_t owner)
{
	return IN(s)->ops->pool_queued(IN(s), pool, owner);
}

static int
fault_pool_record(struct store *s, const char *name, int size, int paused,
    int added, const char *runtime)
{
	fault_write(FAULT(s));
	return IN(s)->ops->pool_record(IN(s), name, size, paused, added,
	    runtime);
}

static int
fault_pool_records(struct store *s, store_pool_fn fn, void *arg)
{
	return IN(s)->ops->pool_records(IN(s), fn, arg);
}

static int
fault_set_running(struct store *s, int64_t id, pid_t pid, double t)
{
	fault_write(FAULT(s));
	return IN(s)->ops->set_running(IN(s), id, pid, t);
}

static int
fault_map_started(struct store *s, int64_t id, double t)
{
	fault_write(FAULT(s));
	return IN(s)->ops->map_started(IN(s), id, t);
}

static int
fault_set_final(struct store *s, int64_t id, int state, const char *result,
    const char *error, double started, double t)
{
	fault_write(FAULT(s));
	return IN(s)->ops->set_final(IN(s), id, state, result, error,
	    started, t);
}

static int
fault_requeue(struct store *s, int64_t id, int refund, double not_before)
{
	fault_write(FAULT(s));
	return IN(s)->ops->requeue(IN(s), id, refund, not_before);
}

static int
fault_attempt(struct store *s, const struct job *j, double finished,
    int state, const char *error)
{
	fault_write(FAULT(s));
	return IN(s)->ops->attempt(IN(s), j, finished, state, error);
}

static int
fault_attempts(struct store *s, int64_t id, store_attempt_fn fn, void *arg)
{
	return IN(s)->ops->attempts(IN(s), id, fn, arg);
}

static int
fault_limit_size(struct store *s, int64_t bytes)
{
	return IN(s)->ops->limit_size(IN(s), bytes);
}

static int64_t
fault_headroom(struct store *s)
{
	return IN(s)->ops->headroom(IN(s));
}

static int64_t
fault_queued_items(struct store *s)
{
	return IN(s)->ops->queued_items(IN(s));
}

static double
fault_next_delayed(struct store *s)
{
	return IN(s)->ops->next_delayed(IN(s));
}

static int
fault_map_progress(struct store *s, int64_t id, int64_t n)
{
	fault_write(FAULT(s));
	return IN(s)->ops->map_progress(IN(s), id, n);
}

static int
fault_job_progress(struct store *s, int64_t id, int64_t done, int64_t total)
{
	fault_write(FAULT(s));
	return IN(s)->ops->job_progress(IN(s), id, done, total);
}

static char *
fault_map_result(struct store *s, int64_t id)
{
	return IN(s)->ops->map_result(IN(s), id);
}

static int
fault_cancel_chunks(struct store *s, int64_t id, const char *error, double t,
    int max)
{
	fault_write(FAULT(s));
	return IN(s)->ops->cancel_chunks(IN(s), id, error, t, max);
}

static int
fault_forget(struct store *s, int64_t id, int max)
{
	fault_write(FAULT(s));
	return IN(s)->ops->forget(IN(s), id, max);
}

static int
fault_owners(struct store *s, uid_t owner, store_owner_fn fn, void *arg)
{
	return IN(s)->ops->owners(IN(s), owner, fn, arg);
}

static int
fault_counts(struct store *s, uid_t owner, int64_t *counts)
{
	return IN(s)->ops->counts(IN(s), owner, counts);
}

static int
fault_list(struct store *s, int state, uid_t owner, int limit,
    store_job_fn fn, void *arg)
{
	return IN(s)->ops->list(IN(s), state, owner, limit, fn, arg);
}

static int
fault_dirty(struct store *s)
{
	return IN(s)->ops->dirty(IN(s));
}

static const struct store_ops fault_ops = {
	.name = "fault",
	.close = fault_close,
	.errmsg = fault_errmsg,
	.recover = fault_recover,
	.insert = fault_insert,
	.get = fault_get,
	.next = fault_next,
	.runnable_in = fault_runnable_in,
	.next_of = fault_next_of,
	.queued_owners = fault_queued_owners,
	.owner_items = fault_owner_items,
	.map_loading = fault_map_loading,
	.ended = fault_ended,
	.ended_count = fault_ended_count,
	.pool_queued = fault_pool_queued,
	.pool_record = fault_pool_record,
	.pool_records = fault_pool_records,
	.set_running = fault_set_running,
	.map_started = fault_map_started,
	.set_final = fault_set_final,
	.requeue = fault_requeue,
	.attempt = fault_attempt,
	.attempts = fault_attempts,
	.limit_size = fault_limit_size,
	.headroom = fault_headroom,
	.queued_items = fault_queued_items,
	.next_delayed = fault_next_delayed,
	.map_progress = fault_map_progress,
	.job_progress = fault_job_progress,
	.map_result = fault_map_result,
	.cancel_chunks = fault_cancel_chunks,
	.forget = fault_forget,
	.counts = fault_counts,
	.owners = fault_owners,
	.list = fault_list,
	.dirty = fault_dirty,
	.commit = fault_commit,
	.rollback = fault_rollback,
};

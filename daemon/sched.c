/*
 * The scheduler: hands queued jobs to idle workers, records what workers
 * report, and runs the tick. The tick is one event activated at most once
 * per loop iteration, after the iteration's other callbacks: it dispatches,
 * commits the iteration's transaction (group commit), and only then lets
 * the held replies go out, so nothing is acknowledged before it is durable.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "store.h"
#include "tasks/task.h"
#include "util.h"
#include "wframe.h"
#include "xmalloc.h"

#define DISPATCH_BATCH	64
/* Owners a dispatch takes turns between (the lowest uids, past that). */
#define TURN_OWNERS	64
/*
 * A runtime's functions are handed to a busy worker behind its job, at
 * most AHEAD_FUNCTIONS of them, while the pool's recent functions ended
 * within FAST_FUNCTION seconds on average: a pool of short calls then goes
 * from one to the next without a commit and a round trip each. Until a
 * pool has shown that, and once its calls grow longer, none wait.
 */
#define AHEAD_FUNCTIONS	8
#define FAST_FUNCTION	0.002

static struct event	*delay_ev;	/* the next retried job is due */
static void		(*ended)(int64_t); /* a job reached a final state */
static struct store	*store;
static const struct config *conf;
/* Each pool's recent function durations, seconds (a moving average). */
static double		 function_time[POOLS_MAX];

static char	*dump(json_t *);
static void	 sched_arm_delay(void);
static void	 sched_delay_cb(evutil_socket_t, short, void *);
static void	 sched_final(int64_t, int, const char *, const char *, double);
static void	 sched_next_handed(struct worker *);

/* Loads a job that store_next just named. */
static void
sched_load(int64_t id, struct job *j)
{
	if (store_get(store, id, j) != 1)
		fatalx("queued job %lld vanished from the store",
		    (long long)id);
}

/* Whether job j may wait behind another's in a worker of pool k. */
static int
sched_may_wait(const struct job *j, const struct task *t, int k)
{
	if (j->kind != KIND_JOB)
		return 0;
	if (t != NULL)
		return t->quick;
	return pool_external(k) && function_time[k] < FAST_FUNCTION;
}

/*
 * Hands job j to worker w: marks it running and sends its frame. The
 * worker runs it at once, or (behind) after the jobs it already has.
 */
static void
sched_hand(struct worker *w, struct job *j, int behind)
{
	const struct task	*t;
	struct handed		*h;
	char			*frame;
	double			 now = time_now(), limit;

	if (store_set_running(store, j->id, w->pid, behind ? 0 : now) == -1 ||
	    (j->kind == KIND_CHUNK && store_map_started(store, j->parent,
	    now) == -1))
		fatalx("cannot mark job %lld running: %s", (long long)j->id,
		    store_errmsg(store));
	t = task_find(j->task);
	if ((frame = wframe_job(j->id, j->task, j->kind == KIND_CHUNK, j->args,
	    j->kwargs, (int64_t)j->owner, (int64_t)j->group, j->context)) ==
	    NULL)
		fatalx("job %lld: its task name is not UTF-8", (long long)j->id);
	limit = j->timeout * (j->kind == KIND_CHUNK ? (double)j->nitems : 1);
	if (behind) {
		h = &w->run.handed[w->run.nhanded++];
		memset(h, 0, sizeof *h);
		h->id = j->id;
		h->owner = j->owner;
		h->limit = limit;
	} else {
		pool_set_busy(w, 1);
		w->run.job = j->id;
		w->run.owner = j->owner;
		w->run.job_start = now;
		w->run.command = t != NULL && t->command;
		w->run.quick = sched_may_wait(j, t, w->pool);
		w->run.map = j->kind == KIND_CHUNK ? j->parent : 0;
		w->run.limit = limit;
		limit_start(w);
	}
	/*
	 * A job that may have effects (a command) reaches its worker only
	 * once its running state is committed: a failed commit or a crash
	 * cannot leave it queued, or not even submitted, after it ran. A
	 * quick task's job has none, and is sent now, to run meanwhile.
	 */
	t = task_find(j->task);
	if (t != NULL && t->quick)
		pool_send(w, frame, strlen(frame));
	else
		pool_send_job(w, frame, strlen(frame));
	log_debug("job %lld (%s) to %s%s", (long long)j->id, j->task, w->name,
	    behind ? ", behind its job" : "");
	free(frame);
}

/*
 * How many more jobs may be handed to w behind its job: only to a worker
 * running a quick task's job, so no job ever waits behind a long one.
 */
static int
sched_room(struct worker *w)
{
	int	room;

	if (w->state != W_BUSY || w->reaped || w->retire || !w->run.quick ||
	    w->run.ending != 0)
		return 0;
	room = (pool_external(w->pool) ? AHEAD_FUNCTIONS : HANDED_MAX) -
	    w->run.nhanded;
	/* Its last job before it is replaced is its last. */
	if (conf->max_tasks > 0 && room > conf->max_tasks - w->ran - 1 -
	    w->run.nhanded)
		room = (int)(conf->max_tasks - w->ran - 1 - w->run.nhanded);
	return room > 0 ? room : 0;
}

/* Jobs of this owner running or handed to a worker now. */
static int64_t
sched_running_of(uid_t owner)
{
	int64_t	n = 0;
	int	i, k;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->run.job != 0 && workers[i]->run.owner == owner)
			n++;
		for (k = 0; k < workers[i]->run.nhanded; k++) {
			if (workers[i]->run.handed[k].owner == owner)
				n++;
		}
	}
	return n;
}

/* Whether an owner with this many jobs running is at its cap. */
static int
sched_capped(uid_t owner, int64_t running)
{
	return conf->max_running_user > 0 && owner != 0 &&
	    owner != geteuid() && running >= conf->max_running_user;
}

/* Whether an owner is held to --max-running-per-user, and at it. */
static int
sched_at_cap(uid_t owner)
{
	return sched_capped(owner, sched_running_of(owner));
}

/* One owner's next jobs in a dispatch that takes turns. */
struct turn {
	uid_t	 owner;
	int64_t	 running;	/* running or handed, and taken in this turn */
	int64_t	 ids[DISPATCH_BATCH];
	int	 prio[DISPATCH_BATCH];
	int	 n, at;
};

/* Whether owner a's next job goes before owner b's. */
static int
sched_turn_first(const struct turn *a, const struct turn *b)
{
	if (a->prio[a->at] != b->prio[b->at])
		return a->prio[a->at] > b->prio[b->at];
	if (a->running != b->running)
		return a->running < b->running;
	return a->ids[a->at] < b->ids[b->at];
}

/*
 * Fills ids with a pool's next jobs, up to max (at most DISPATCH_BATCH),
 * owners taking turns: a higher priority goes first, and at one priority
 * the owner with the fewest jobs running, so that one owner's long queue
 * holds another's job back by one job's run at most. Owners at their
 * running cap are passed by. With one owner waiting this is the queue's
 * own order. Returns how many, or -1.
 */
static int
sched_next(int pool, int64_t *ids, int max)
{
	uid_t		 owners[TURN_OWNERS];
	struct turn	*t;
	int		 n, i, k, best;

	n = store_queued_owners(store, pool_name(pool), owners, TURN_OWNERS);
	if (n <= 0)
		return n;
	t = xcalloc((size_t)n, sizeof *t);
	for (i = 0; i < n; i++) {
		t[i].owner = owners[i];
		t[i].running = sched_running_of(owners[i]);
		if (sched_capped(owners[i], t[i].running))
			continue;
		t[i].n = store_next_of(store, pool_name(pool), owners[i],
		    t[i].ids, t[i].prio, max);
		if (t[i].n < 0) {
			free(t);
			return -1;
		}
	}
	for (k = 0; k < max; k++) {
		best = -1;
		for (i = 0; i < n; i++) {
			if (t[i].at == t[i].n ||
			    sched_capped(t[i].owner, t[i].running))
				continue;
			if (best == -1 || sched_turn_first(&t[i], &t[best]))
				best = i;
		}
		if (best == -1)
			break;
		ids[k] = t[best].ids[t[best].at++];
		t[best].running++;
	}
	free(t);
	return k;
}

/*
 * Loads up to want runnable jobs of a pool, in sched_next's order (passing
 * by the jobs of owners at their cap of running jobs), and gives each to
 * take, which hands it and returns 1, or returns 0 to stop at it (it
 * stays queued).
 */
static void
sched_batch(int pool, int want, int (*take)(struct job *, void *),
    void *arg)
{
	int64_t		 ids[DISPATCH_BATCH];
	struct job	 j;
	const char	*cancel;
	int		 n, i, go = 1, passed = 0;

	while (go && want > 0 && passed == 0) {
		n = sched_next(pool, ids,
		    want < DISPATCH_BATCH ? want : DISPATCH_BATCH);
		if (n <= 0)
			break;
		for (i = 0; go && i < n; i++) {
			sched_load(ids[i], &j);
			/*
			 * A chunk of a map whose chunks are being cancelled is
			 * cancelled here, not run; the sweep does the rest.
			 */
			if (j.kind == KIND_CHUNK &&
			    (cancel = sweep_cancelling(j.parent)) != NULL) {
				if (store_set_final(store, j.id, JOB_CANCELLED,
				    NULL, cancel, 0, time_now()) == -1)
					fatalx("cannot cancel chunk %lld",
					    (long long)j.id);
				job_clear(&j);
				passed++;
				continue;
			}
			/* An owner that reached its cap in this batch: the next
			 * dispatch passes its jobs by. */
			if (sched_at_cap(j.owner)) {
				go = 0;
				tick_kick();
			} else
				go = take(&j, arg);
			job_clear(&j);
			want--;
		}
	}
}

/* Hands a job to an idle worker of the pool, while there is one. */
static int
sched_take_idle(struct job *j, void *arg)
{
	struct worker	*w;
	int		*pool = arg;

	/* One counted idle may have been reaped, its socket not yet shut. */
	if ((w = pool_idle(*pool, j->owner, j->group)) == NULL)
		return 0;
	sched_hand(w, j, 0);
	return 1;
}

/*
 * Hands a quick task's job behind the busy worker with the fewest handed
 * (room: what each may still take); any other job stops the batch.
 */
/* What sched_take_ahead may hand: room left in each worker, of a pool. */
struct ahead {
	int	*room;
	int	 pool;
};

static int
sched_take_ahead(struct job *j, void *arg)
{
	struct ahead	*a = arg;
	int		 k, best = -1;

	if (!sched_may_wait(j, task_find(j->task), a->pool))
		return 0;
	for (k = 0; k < nworkers; k++) {
		if (a->room[k] > 0 && (best == -1 ||
		    workers[k]->run.nhanded < workers[best]->run.nhanded) &&
		    pool_serves(workers[k], j->owner, j->group))
			best = k;
	}
	if (best == -1)
		return 0;
	sched_hand(workers[best], j, 1);
	a->room[best]--;
	return 1;
}

/*
 * While more jobs are queued in a pool than its idle workers take, hands
 * jobs of quick tasks (or short functions) to its workers busy with one,
 * in queue order; stops
 * at the first job that may not be handed ahead (any other waits for an
 * idle worker, and nothing passes it).
 */
static void
sched_hand_ahead(int pool)
{
	struct ahead	 a;
	int		 total = 0, k;

	/* Its size is read from its process between jobs: one at a time. */
	if (conf->max_worker_rss > 0)
		return;
	for (k = 0; k < nworkers; k++) {
		if (workers[k]->pool == pool)
			total += sched_room(workers[k]);
	}
	/* Most ticks: no worker of the pool may take one; nothing to do. */
	if (total == 0)
		return;
	a.pool = pool;
	a.room = xcalloc((size_t)nworkers, sizeof *a.room);
	for (k = 0; k < nworkers; k++) {
		if (workers[k]->pool == pool)
			a.room[k] = sched_room(workers[k]);
	}
	sched_batch(pool, total, sched_take_ahead, &a);
	free(a.room);
}

/* Each pool is filled from its own queue: none holds up another. */
void
sched_dispatch(void)
{
	int	pool;

	/* On a full disk, what runs finishes; what waits goes on waiting. */
	if (stopping() > STOP_DRAIN || disk_is_full())
		return;
	for (pool = 0; pool < pool_count(); pool++) {
		if (pool_paused(pool))
			continue;
		sched_batch(pool, pool_nidle(pool), sched_take_idle, &pool);
		sched_hand_ahead(pool);
	}
}

void
sched_init(struct event_base *base, struct store *s, const struct config *c,
    void (*on_end)(int64_t))
{
	store = s;
	conf = c;
	ended = on_end;
	for (int k = 0; k < POOLS_MAX; k++)
		function_time[k] = 1.0;	/* not known to be short */
	if ((delay_ev = evtimer_new(base, sched_delay_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	sched_arm_delay();
}

void
sched_free(void)
{
	int	i;

	for (i = 0; i < nworkers; i++)
		limit_free(workers[i]);
	if (delay_ev != NULL)
		event_free(delay_ev);
	delay_ev = NULL;
}

/* Dumps a JSON value as compact text (newly allocated). */
static char *
dump(json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL)
		fatalx("cannot encode JSON");
	return s;
}

/*
 * Ends a job (not a chunk) and answers its waiters; started is when it
 * began, for a job handed over ahead whose row has no start yet, or 0.
 */
static void
sched_final(int64_t id, int state, const char *result, const char *error,
    double started)
{
	if (store_set_final(store, id, state, result, error, started,
	    time_now()) == -1)
		fatalx("cannot record the end of job %lld: %s", (long long)id,
		    store_errmsg(store));
	if (ended != NULL)
		ended(id);
}

/*
 * Kills the running chunks of a map, except the one that is ending (its
 * id, or 0); returns how many are being killed.
 */
static int
sched_kill_chunks(int64_t map, int64_t ending, uid_t by)
{
	struct worker	*w;
	int		 i, n = 0;

	for (i = 0; i < nworkers; i++) {
		w = workers[i];
		if (w->run.job == 0 || w->run.job == ending ||
		    w->run.map != map || w->pid == 0 || w->reaped)
			continue;
		if (w->run.ending == 0) {
			w->run.cancel_by = by;
			limit_kill(w, JOB_CANCELLED);
		}
		n++;
	}
	return n;
}

/* A chunk ended badly: the map ends (failed, timeout) with its error. */
static void
sched_map_fail(int64_t map, int64_t chunk, int state, json_t *error)
{
	char	*text = dump(error);
	char	*cancel;

	cancel = xstrdup("{\"code\":\"cancelled\",\"message\":\"another item "
	    "of the map failed\"}");
	sweep_cancel(map, cancel, time_now());
	sched_final(map, state, NULL, text, 0);
	/* Its other running chunks are of no use now: kill them. */
	sched_kill_chunks(map, chunk, geteuid());
	free(cancel);
	free(text);
}

/* Records the end of a chunk and, when it was the last, of its map. */
static void
sched_chunk_end(struct job *chunk, int state, const char *result,
    json_t *error)
{
	struct job	 map;
	char		*text, *msg;
	json_t		*index;

	text = error != NULL ? dump(error) : NULL;
	if (store_set_final(store, chunk->id, state, result, text, 0,
	    time_now()) == -1)
		fatalx("cannot record chunk %lld", (long long)chunk->id);
	free(text);
	switch (store_get(store, chunk->parent, &map)) {
	case -1:
		fatalx("chunk %lld: its map: %s", (long long)chunk->id,
		    store_errmsg(store));
	case 0:
		return;		/* forgotten while this chunk ran */
	}
	if (job_state_final(map.state)) {
		job_clear(&map);
		return;
	}
	if (state == JOB_CANCELLED && sched_kill_chunks(map.id, chunk->id,
	    0) > 0) {
		/* A cancelled map ends when the last of its chunks has. */
		job_clear(&map);
		return;
	}
	if (state != JOB_DONE) {
		/* Item indexes in the error are the map's, not the chunk's. */
		index = json_object_get(error, "index");
		if (json_is_integer(index)) {
			json_integer_set(index, json_integer_value(index) +
			    chunk->seq);
			msg = xasprintf("item %lld: %s",
			    (long long)json_integer_value(index),
			    json_string_value(json_object_get(error,
			    "message")));
		} else
			msg = xasprintf("items %lld to %lld: %s",
			    (long long)chunk->seq,
			    (long long)(chunk->seq + chunk->nitems - 1),
			    json_string_value(json_object_get(error,
			    "message")));
		json_object_set_new(error, "message", json_string(msg));
		free(msg);
		sched_map_fail(map.id, chunk->id, state == JOB_TIMEOUT ||
		    state == JOB_CANCELLED ? state : JOB_FAILED, error);
	} else {
		if (store_map_progress(store, map.id, chunk->nitems) == -1)
			fatalx("cannot record map progress");
		/* Its results stay in its chunks: a get joins them. */
		if (map.ndone + chunk->nitems >= map.nitems)
			sched_final(map.id, JOB_DONE, NULL, NULL, 0);
	}
	job_clear(&map);
}

/* Wakes the scheduler when the earliest retried job becomes due. */
static void
sched_arm_delay(void)
{
	struct timeval	 tv;
	double		 when, wait;

	if (delay_ev == NULL || (when = store_next_delayed(store)) <= 0)
		return;
	/* A millisecond late rather than early. */
	wait = when - time_now();
	tv = tv_from((wait > 0 ? wait : 0) + 0.001);
	evtimer_add(delay_ev, &tv);
}

static void
sched_delay_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	tick_kick();
	sched_arm_delay();
}

/*
 * Another attempt for a job whose attempt ended for cause, if its policy
 * and its attempts allow: queues it again after its back-off and returns
 * 1; else returns 0.
 */
static int
sched_retry(struct job *j, int cause)
{
	struct job	 map;
	double		 delay;
	int		 over = 0, i;

	if (cause == 0 || !(j->retry_on & cause) ||
	    j->attempts >= j->max_attempts)
		return 0;
	if (j->kind == KIND_CHUNK) {
		/* A chunk of an ended map is not worth another attempt. */
		if (store_get(store, j->parent, &map) != 1 ||
		    job_state_final(map.state))
			over = 1;
		job_clear(&map);
		if (over)
			return 0;
	}
	delay = j->retry_delay;
	for (i = 1; i < j->attempts && delay < 1e9; i++)
		delay *= j->retry_factor;
	if (j->retry_max > 0 && delay > j->retry_max)
		delay = j->retry_max;
	log_info("job %lld: attempt %d of %d failed; retrying in %.3g s",
	    (long long)j->id, j->attempts, j->max_attempts, delay);
	/* A function's logs are its last attempt's, as a command's are. */
	if (j->kind == KIND_JOB && task_find(j->task) == NULL)
		logs_remove(j->id);
	if (store_requeue(store, j->id, 0, delay > 0 ? time_now() + delay :
	    0) == -1)
		fatalx("cannot requeue job %lld: %s", (long long)j->id,
		    store_errmsg(store));
	if (delay > 0)
		sched_arm_delay();
	return 1;
}

/*
 * Records the end of an attempt of a job that worker pid ran: result
 * (text) or error (object), and the cause when it failed (RETRY_*). The
 * job is retried when its policy says so, else it ends. An outcome for a
 * row that is no longer that worker's running job (forgotten, or ended
 * some other way) is dropped.
 */
static void
sched_end(int64_t id, pid_t pid, double started, int state,
    const char *result, json_t *error, int cause)
{
	struct job	 j;
	char		*text;

	switch (store_get(store, id, &j)) {
	case -1:
		fatalx("cannot load job %lld: %s", (long long)id,
		    store_errmsg(store));
	case 0:
		/* Its map ended and was forgotten while it ran. */
		log_debug("job %lld ended after it was forgotten",
		    (long long)id);
		return;
	}
	if (j.state != JOB_RUNNING || j.pid != pid) {
		log_debug("job %lld: dropping an outcome from pid %ld",
		    (long long)id, (long)pid);
		job_clear(&j);
		return;
	}
	if (j.started == 0)
		j.started = started;	/* handed over ahead: begun since */
	/*
	 * An attempt that did not succeed is recorded with its cause; one
	 * that did is the job's own row (status shows both), which spares
	 * the common case a write.
	 */
	if (state != JOB_DONE) {
		text = error != NULL ? dump(error) : NULL;
		if (store_attempt(store, &j, time_now(), state, text) == -1)
			fatalx("cannot record an attempt of job %lld",
			    (long long)id);
		free(text);
	}
	if (sched_retry(&j, cause)) {
		job_clear(&j);
		return;
	}
	if (j.kind == KIND_CHUNK)
		sched_chunk_end(&j, state, result, error);
	else {
		text = error != NULL ? dump(error) : NULL;
		sched_final(id, state, result, text, j.started);
		free(text);
	}
	job_clear(&j);
}

/* The worker has begun the first job handed to it behind the last. */
static void
sched_next_handed(struct worker *w)
{
	struct handed	h = w->run.handed[0];

	w->run.nhanded--;
	memmove(&w->run.handed[0], &w->run.handed[1], (size_t)w->run.nhanded *
	    sizeof h);
	w->run.job = h.id;
	w->run.owner = h.owner;
	w->run.job_start = time_now();
	w->run.command = 0;
	w->run.quick = !pool_external(w->pool) ||
	    function_time[w->pool] < FAST_FUNCTION;
	w->run.map = 0;
	w->run.limit = h.limit;
	limit_start(w);
	if (h.cancel) {
		w->run.cancel_by = h.cancel_by;
		limit_kill(w, JOB_CANCELLED);
	}
}

/* A worker is gone: the jobs handed to it that it never began go back. */
static void
sched_unhand(struct worker *w)
{
	struct handed	*h;
	char		*error;
	int		 i;

	for (i = 0; i < w->run.nhanded; i++) {
		h = &w->run.handed[i];
		if (h->cancel) {
			error = xasprintf("{\"code\":\"cancelled\",\"message\""
			    ":\"cancelled by uid %ld before it began\"}",
			    (long)h->cancel_by);
			sched_final(h->id, JOB_CANCELLED, NULL, error, 0);
			free(error);
		} else if (store_requeue(store, h->id, 1, 0) == -1)
			fatalx("cannot requeue job %lld: %s",
			    (long long)h->id, store_errmsg(store));
		else
			log_debug("job %lld goes back to the queue: %s ended "
			    "before it reported it", (long long)h->id,
			    w->name);
	}
	w->run.nhanded = 0;
}

/* After the worker's job ended or was given back: its next, or idle. */
static void
sched_worker_next(struct worker *w)
{
	w->run.job = 0;
	if (w->state == W_BUSY && w->run.nhanded > 0)
		sched_next_handed(w);
	else
		pool_set_busy(w, 0);
	pool_check(w);
	tick_kick();
}

/* A worker reported the end of its job (pool hook). */
static void
sched_result(struct worker *w, const struct wframe_head *h,
    const char *result)
{
	json_t		*error = h->error, *killed = NULL;
	const char	*why;
	size_t		 len = h->result_len;
	int		 state, cause;

	/*
	 * Killed for the job before (its worker no longer moves on by
	 * itself), it had done this one, handed behind it, before the kill.
	 */
	if (w->run.job == 0 && w->run.nhanded > 0 &&
	    h->job == w->run.handed[0].id)
		sched_next_handed(w);
	if (w->run.job == 0 || h->job != w->run.job) {
		pool_broken(w, "sent a frame that does not answer its job");
		return;
	}
	if (wframe_head_check(h, &why) == -1) {
		pool_broken(w, why);
		return;
	}
	if (h->has_progress) {
		/* How far a plain job is; a chunk's progress is its map's. */
		if (store_job_progress(store, h->job, h->done, h->total) == -1)
			log_warnx("job %lld: cannot record its progress: %s",
			    (long long)h->job, store_errmsg(store));
		return;
	}
	if (!h->has_result && error == NULL) {
		w->run.group = (pid_t)h->started;
		return;
	}
	/* How long a runtime's plain calls take: may they wait in line? */
	if (pool_external(w->pool) && w->run.map == 0)
		function_time[w->pool] = 0.75 * function_time[w->pool] +
		    0.25 * (time_now() - w->run.job_start);
	/* What a runtime's function printed: its plain job's logs. */
	if (h->output != NULL && w->run.map == 0)
		logs_save(h->job, h->output);
	state = error != NULL ? JOB_FAILED : JOB_DONE;
	cause = error != NULL ? RETRY_ERROR : 0;
	if (w->run.ending != 0) {
		state = w->run.ending;
		error = killed = limit_error(w);
		cause = state == JOB_TIMEOUT ? RETRY_TIMEOUT : 0;
	}
	/* A result past the cap was not even kept by the pool. */
	if (h->has_result && len > conf->max_result) {
		/* Too big to keep: the job fails, and says so. */
		json_decref(killed);
		error = killed = json_pack("{s:s, s:I, s:I}", "code",
		    JOBERR_RESULT_TOO_LARGE, "bytes", (json_int_t)len,
		    "limit", (json_int_t)conf->max_result);
		json_object_set_new(error, "message", json_sprintf("the result "
		    "is %zu bytes of JSON; at most %zu are kept (--max-result)",
		    len, conf->max_result));
		result = NULL;
		state = JOB_FAILED;
		cause = RETRY_ERROR;
	}
	sched_end(w->run.job, w->pid, w->run.job_start, state, result, error,
	    cause);
	json_decref(killed);
	limit_stop(w);
	w->run.jobs_done++;
	pool_ran(w);
	sched_worker_next(w);
}

/* A worker died with a job: error is the job's error object (stolen). */
static void
sched_lost(struct worker *w, int64_t id, json_t *error)
{
	if (w->run.ending != 0) {
		/* Killed on purpose: it ends as the kill's cause says. */
		json_decref(error);
		error = limit_error(w);
		sched_end(id, w->pid, w->run.job_start, w->run.ending, NULL, error,
		    w->run.ending == JOB_TIMEOUT ? RETRY_TIMEOUT : 0);
	} else
		sched_end(id, w->pid, w->run.job_start, JOB_FAILED, NULL, error,
		    RETRY_WORKER_DIED);
	limit_stop(w);
	json_decref(error);
}

/*
 * The worker running a job, or NULL; *h is set when the job waits behind
 * another on that worker, else NULL.
 */
static struct worker *
sched_worker_of(int64_t id, struct handed **h)
{
	struct worker	*w;
	int		 i, k;

	*h = NULL;
	for (i = 0; i < nworkers; i++) {
		w = workers[i];
		if (w->pid == 0)
			continue;
		if (w->run.job == id)
			return w;
		for (k = 0; k < w->run.nhanded; k++) {
			if (w->run.handed[k].id == id) {
				*h = &w->run.handed[k];
				return w;
			}
		}
	}
	return NULL;
}

int
sched_cancel(int64_t id, uid_t by, const char **why)
{
	struct worker	*w;
	struct handed	*h;
	struct job	 j;
	char		*error;
	int		 rc = -1;

	if (store_get(store, id, &j) != 1) {
		*why = "not found";
		return -1;
	}
	if (job_state_final(j.state))
		*why = "the job has already ended";
	else if (j.kind == KIND_JOB && j.state == JOB_RUNNING) {
		if ((w = sched_worker_of(id, &h)) == NULL)
			*why = "the job is running but no worker holds it";
		else if (h != NULL) {
			/* Killed when its worker gets to it. */
			h->cancel = 1;
			h->cancel_by = by;
			rc = 1;
		} else {
			w->run.cancel_by = by;
			limit_kill(w, JOB_CANCELLED);
			rc = 1;
		}
	} else {
		error = xasprintf("{\"code\":\"cancelled\",\"message\":"
		    "\"cancelled by uid %ld\"}", (long)by);
		if (j.kind == KIND_MAP)
			sweep_cancel(id, error, time_now());
		/* A map with chunks running ends when the last one has. */
		if (j.kind == KIND_MAP && sched_kill_chunks(id, 0, by) > 0)
			rc = 1;
		else {
			sched_final(id, JOB_CANCELLED, NULL, error, 0);
			rc = 0;
		}
		free(error);
	}
	job_clear(&j);
	return rc;
}

/*
 * A worker's process ended (reaped, its socket closed) for cause: its job
 * goes back to the queue when the worker was stopped for it, else fails
 * or is retried as the worker's death; jobs handed to it behind that one
 * go back unbegun.
 */
static int
sched_worker_gone(struct worker *w, const char *cause)
{
	json_t	*error;
	int64_t	 job = w->run.job;

	if (job != 0 && w->requeue && w->run.ending == 0) {
		log_info("%s (pid %ld) stopped; job %lld goes back to the "
		    "queue", w->name, (long)w->pid, (long long)job);
		if (store_requeue(store, job, 1, 0) == -1)
			log_warnx("cannot requeue job %lld", (long long)job);
	} else if (job != 0) {
		log_warnx("%s (pid %ld) %s while running job %lld", w->name,
		    (long)w->pid, cause, (long long)job);
		error = json_object();
		json_object_set_new(error, "code",
		    json_string(JOBERR_WORKER_DIED));
		json_object_set_new(error, "message", json_sprintf(
		    "%s (pid %ld) %s while running the job", w->name,
		    (long)w->pid, cause));
		json_object_set_new(error, "pid", json_integer(w->pid));
		if (WIFSIGNALED(w->status))
			json_object_set_new(error, "signal",
			    json_integer(WTERMSIG(w->status)));
		else if (WIFEXITED(w->status))
			json_object_set_new(error, "exit_code",
			    json_integer(WEXITSTATUS(w->status)));
		sched_lost(w, job, error);
	} else if (!w->stopping && w->pid != 0)
		log_warnx("%s (pid %ld) %s while idle", w->name, (long)w->pid,
		    cause);
	limit_stop(w);
	sched_unhand(w);
	w->run.job = 0;
	return job != 0;
}

int
sched_nbusy(int pool)
{
	int	i, n = 0;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->run.job != 0 && (pool == -1 ||
		    workers[i]->pool == pool))
			n++;
	}
	return n;
}

int
sched_nhanded(int pool)
{
	int	i, n = 0;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->pool == pool)
			n += workers[i]->run.nhanded;
	}
	return n;
}

int
sched_runnable(void)
{
	int	pool, n;

	for (pool = 0; pool < pool_count(); pool++) {
		if (!pool_listed(pool) || pool_paused(pool))
			continue;
		if ((n = store_runnable_in(store, pool_name(pool))) != 0)
			return n;	/* 1, or -1: not known to be empty */
	}
	return 0;
}

/* A worker's line of a status reply, without its job's id. */
static void
sched_describe(const struct worker *w, json_t *o)
{
	json_object_set_new(o, "jobs_done", json_integer(w->run.jobs_done));
	json_object_set_new(o, "job", json_null());
}

/* The same, with its job's id. */
static void
sched_describe_job(const struct worker *w, json_t *o)
{
	sched_describe(w, o);
	if (w->run.job != 0)
		json_object_set_new(o, "job", json_integer(w->run.job));
}

json_t *
sched_status(int show_jobs)
{
	return pool_status(show_jobs ? sched_describe_job : sched_describe);
}

const struct pool_hooks sched_pool_hooks = {
	sched_result,
	sched_worker_gone,
	limit_free,
};

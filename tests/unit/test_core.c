/*
 * The core on its own: the scheduler, the pool of real forked workers and
 * the SQLite store, driven by a tick of the test's own, with no socket
 * frontend and nothing of main.c linked in. Jobs go into the store, the
 * loop runs until the scheduler reports them ended (its on_end hook), and
 * the store says how they ended. With an argument, the store is opened
 * with those faults (store.h): "defer=2" makes every commit report back
 * 2 ms later, from the loop, as a network database's would.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mpd.h"
#include "store.h"
#include "testjob.h"
#include "tasks/task.h"
#include "util.h"
#include "xmalloc.h"

#define MAX_ENDED	64

struct core {
	char			 dir[64];
	struct config		 conf;
	struct event_base	*base;
	struct store		*store;
	struct event		*sigchld;
	struct event		*deadline;
	int64_t			 ended[MAX_ENDED];
	int			 nended;
	int			 want;		/* ends to wait for */
	int			 committing;	/* a commit has not reported */
	int			 again;		/* a tick waited for it */
};

static struct core	*cur;
static const char	*faults;	/* the store's, or NULL */

/* The scheduler's on_end hook: records the order jobs end in. */
static void
core_ended(int64_t id)
{
	if (cur->nended < MAX_ENDED)
		cur->ended[cur->nended++] = id;
	if (cur->want > 0 && cur->nended >= cur->want)
		event_base_loopbreak(cur->base);
}

/* A commit reported back: the job frames it covered go out. */
static void
core_committed(int rc, void *arg)
{
	(void)arg;
	cur->committing = 0;
	if (rc == -1)
		fail_msg("commit: %s", store_errmsg(cur->store));
	pool_flush();
	if (stopping() != STOP_NONE && pool_alive() == 0)
		event_base_loopbreak(cur->base);
	if (cur->again) {
		cur->again = 0;
		tick_kick();
	}
}

/* The tick as loop.c orders it, less what belongs to the frontend. */
static void
core_tick(void)
{
	if (cur->committing) {
		cur->again = 1;
		return;
	}
	sched_dispatch();
	pool_seal();
	cur->committing = 1;
	store_commit(cur->store, core_committed, NULL);
}

static void
core_sigchld(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	pool_reap();
}

static void
core_deadline(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	fail_msg("the core did not get there within 30 s (%d of %d ended)",
	    cur->nended, cur->want);
}

/* Runs the loop until want jobs have ended, at most 30 s. */
static void
core_run(int want)
{
	struct timeval	tv = { 30, 0 };

	cur->want = want;
	evtimer_add(cur->deadline, &tv);
	tick_kick();
	if (cur->nended < want)
		event_base_dispatch(cur->base);
	evtimer_del(cur->deadline);
}

/* One core for all the tests: a stop cannot be taken back. */
static int
group_setup(void **state)
{
	struct core	*c = calloc(1, sizeof *c);
	char		*cause = NULL, *path;

	assert_non_null(c);
	cur = c;
	snprintf(c->dir, sizeof c->dir, "/tmp/mpd-core-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	c->conf.workers = 1;
	c->conf.max_result = PROTO_MAX_RESULT;
	c->conf.max_line = PROTO_MAX_LINE;
	c->conf.output_cap = PROTO_OUTPUT_CAP;
	c->conf.kill_grace = 1;
	c->conf.job_umask = 022;
	path = xasprintf("%s/logs", c->dir);
	if (logs_init(path, &cause) == -1)
		fail_msg("logs_init: %s", cause);
	free(path);
	path = xasprintf("%s/mpd.db", c->dir);
	assert_non_null(c->base = event_base_new());
	if ((c->store = store_open(path, 0, faults, c->base, &cause)) == NULL)
		fail_msg("store_open: %s", cause);
	free(path);
	c->sigchld = evsignal_new(c->base, SIGCHLD, core_sigchld, NULL);
	assert_int_equal(evsignal_add(c->sigchld, NULL), 0);
	assert_non_null(c->deadline = evtimer_new(c->base, core_deadline,
	    NULL));
	tick_init(c->base, core_tick);
	limit_init(c->base, c->conf.kill_grace);
	sched_init(c->base, c->store, &c->conf, core_ended);
	assert_int_equal(pool_start(c->base, &c->conf, &sched_pool_hooks), 0);
	*state = c;
	return 0;
}

static int
group_teardown(void **state)
{
	struct core	*c = *state;
	char		*cmd;

	/* Stop the workers and reap them before anything is freed. */
	stopping_set(STOP_NOW);
	pool_stop(1);
	c->want = 0;
	if (pool_alive() > 0) {
		tick_kick();
		event_base_dispatch(c->base);
	}
	assert_int_equal(pool_alive(), 0);
	sched_free();
	pool_free();
	tick_free();
	event_free(c->deadline);
	event_free(c->sigchld);
	store_close(c->store);
	event_base_free(c->base);
	logs_close();
	cmd = xasprintf("rm -rf %s", c->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(c);
	cur = NULL;
	return 0;
}

/* Each test counts the jobs that end from zero; the queue is empty. */
static int
setup(void **state)
{
	struct core	*c = *state;

	c->nended = 0;
	c->want = 0;
	return 0;
}

/* Queues a job of task with args (JSON) at a priority, with a time limit. */
static int64_t
queue(struct core *c, const char *task, const char *args, int priority,
    int max_attempts, int retry_on, double retry_delay, double timeout)
{
	struct job	j;
	int64_t		id;

	testjob_init(&j, task, args);
	j.priority = priority;
	j.max_attempts = max_attempts;
	j.retry_on = retry_on;
	j.retry_delay = retry_delay;
	j.timeout = timeout;
	j.retry_factor = 2;
	j.retry_max = 60;
	j.created = time_now();
	id = store_insert(c->store, &j);
	assert_true(id > 0);
	return id;
}

/* The state a job ended in, and its attempts in *attempts. */
static int
ended_as(struct core *c, int64_t id, int *attempts, double *took)
{
	struct job	j;
	int		state;

	assert_int_equal(store_get(c->store, id, &j), 1);
	state = j.state;
	if (attempts != NULL)
		*attempts = j.attempts;
	if (took != NULL)
		*took = j.finished - j.created;
	job_clear(&j);
	return state;
}

/* One worker takes the queue by priority, then by age. */
static void
test_dispatch_order(void **state)
{
	struct core	*c = *state;
	int64_t		 low, high, mid, low2;

	low = queue(c, "sleep", "[0.05]", 0, 1, 0, 0, 0);
	high = queue(c, "sleep", "[0.05]", 9, 1, 0, 0, 0);
	mid = queue(c, "sleep", "[0.05]", 5, 1, 0, 0, 0);
	low2 = queue(c, "sleep", "[0.05]", 0, 1, 0, 0, 0);
	core_run(4);
	assert_int_equal(c->nended, 4);
	assert_int_equal(c->ended[0], high);
	assert_int_equal(c->ended[1], mid);
	assert_int_equal(c->ended[2], low);
	assert_int_equal(c->ended[3], low2);
	assert_int_equal(ended_as(c, low2, NULL, NULL), JOB_DONE);
}

/* Quick jobs handed ahead to a busy worker still end, each once, in order. */
static void
test_hand_ahead(void **state)
{
	struct core	*c = *state;
	int64_t		 ids[20];
	int		 i;

	for (i = 0; i < 20; i++)
		ids[i] = queue(c, "square", "[3]", 0, 1, 0, 0, 0);
	core_run(20);
	assert_int_equal(c->nended, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(c->ended[i], ids[i]);
		assert_int_equal(ended_as(c, ids[i], NULL, NULL), JOB_DONE);
	}
}

/* A worker that dies with its job: retried while attempts remain. */
static void
test_worker_death_retried_then_failed(void **state)
{
	struct core	*c = *state;
	int64_t		 id;
	int		 attempts;

	id = queue(c, "crash", "[9]", 0, 2, RETRY_WORKER_DIED, 0, 0);
	core_run(1);
	assert_int_equal(c->ended[0], id);
	assert_int_equal(ended_as(c, id, &attempts, NULL), JOB_FAILED);
	assert_int_equal(attempts, 2);
	/* The pool is whole again and serves on. */
	id = queue(c, "square", "[4]", 0, 1, 0, 0, 0);
	core_run(2);
	assert_int_equal(c->ended[1], id);
	assert_int_equal(ended_as(c, id, NULL, NULL), JOB_DONE);
}

/* A failed job waits its back-off before each new attempt. */
static void
test_retry_back_off(void **state)
{
	struct core	*c = *state;
	int64_t		 id;
	double		 took;
	int		 attempts;

	/* 0.2 s, then 0.4 s: at least 0.6 s for three attempts. */
	id = queue(c, "fail", "[\"no\"]", 0, 3, RETRY_ERROR, 0.2, 0);
	core_run(1);
	assert_int_equal(ended_as(c, id, &attempts, &took), JOB_FAILED);
	assert_int_equal(attempts, 3);
	assert_true(took >= 0.6);
}

/* The error code a job ended with (its error object's "code"). */
static int
ended_with(struct core *c, int64_t id, const char *code)
{
	struct job	j;
	int		found;

	assert_int_equal(store_get(c->store, id, &j), 1);
	found = j.error != NULL && strstr(j.error, code) != NULL;
	job_clear(&j);
	return found;
}

/* A quick task of the test's own that kills its worker after a moment. */
static json_t *
quick_crash_run(json_t *args, json_t *kwargs, struct task_ctx *ctx,
    json_t **error)
{
	(void)args;
	(void)kwargs;
	(void)ctx;
	(void)error;
	usleep(100000);
	raise(SIGKILL);
	return NULL;
}

static const struct task quick_crash = {
	.name = "quick_crash", .summary = "dies", .quick = 1,
	.run = quick_crash_run
};

/*
 * A worker dies running a quick job with quick jobs handed to it behind
 * that one: the running job fails (worker_died, one attempt), and the
 * handed ones, never begun, go back to the queue with no attempt counted,
 * then run once each on the replacement.
 */
static void
test_death_with_jobs_handed_ahead(void **state)
{
	struct core	*c = *state;
	int64_t		 crash, ids[5];
	int		 i, attempts;

	crash = queue(c, "quick_crash", "[]", 1, 1, 0, 0, 0);
	for (i = 0; i < 5; i++)
		ids[i] = queue(c, "square", "[2]", 0, 1, 0, 0, 0);
	/* One dispatch: the crash to the idle worker, the rest behind it. */
	sched_dispatch();
	assert_int_equal(workers[0]->run.job, crash);
	assert_int_equal(workers[0]->run.nhanded, 5);
	core_run(6);
	assert_int_equal(c->ended[0], crash);
	assert_int_equal(ended_as(c, crash, &attempts, NULL), JOB_FAILED);
	assert_int_equal(attempts, 1);
	assert_true(ended_with(c, crash, "worker_died"));
	for (i = 0; i < 5; i++) {
		assert_int_equal(c->ended[i + 1], ids[i]);
		assert_int_equal(ended_as(c, ids[i], &attempts, NULL),
		    JOB_DONE);
		assert_int_equal(attempts, 1);
	}
	assert_int_equal(sched_nbusy(-1), 0);
}

/* Runs the loop until the pool's idle worker is another process. */
static void
core_replaced(struct core *c, pid_t old)
{
	struct timeval	 tv = { 30, 0 };
	struct worker	*w;

	evtimer_add(c->deadline, &tv);
	while ((w = pool_idle(0, 0, 0)) == NULL || w->pid == old)
		assert_int_not_equal(event_base_loop(c->base, EVLOOP_ONCE), -1);
	evtimer_del(c->deadline);
}

/*
 * An idle worker's death touches no job: it is replaced, and the next job
 * runs on the new process at its first attempt.
 */
static void
test_death_while_idle(void **state)
{
	struct core	*c = *state;
	struct worker	*w;
	int64_t		 id;
	int		 attempts;
	pid_t		 old;

	assert_non_null(w = pool_idle(0, 0, 0));
	old = w->pid;
	assert_int_equal(kill(old, SIGKILL), 0);
	core_replaced(c, old);
	id = queue(c, "square", "[5]", 0, 1, RETRY_WORKER_DIED, 0, 0);
	core_run(1);
	assert_int_equal(ended_as(c, id, &attempts, NULL), JOB_DONE);
	assert_int_equal(attempts, 1);
}

/*
 * A job past its time limit is killed: it ends as timeout (not as a
 * worker's death, and not retried though deaths are), the worker is
 * replaced, and the next job runs.
 */
static void
test_death_by_time_limit(void **state)
{
	struct core	*c = *state;
	int64_t		 id, next;
	int		 attempts;

	id = queue(c, "sleep", "[30]", 0, 3, RETRY_WORKER_DIED, 0, 0.2);
	next = queue(c, "square", "[6]", 0, 1, 0, 0, 0);
	core_run(2);
	assert_int_equal(c->ended[0], id);
	assert_int_equal(ended_as(c, id, &attempts, NULL), JOB_TIMEOUT);
	assert_int_equal(attempts, 1);
	assert_int_equal(c->ended[1], next);
	assert_int_equal(ended_as(c, next, NULL, NULL), JOB_DONE);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_dispatch_order, setup),
		cmocka_unit_test_setup(test_hand_ahead, setup),
		cmocka_unit_test_setup(test_worker_death_retried_then_failed,
		    setup),
		cmocka_unit_test_setup(test_retry_back_off, setup),
		cmocka_unit_test_setup(test_death_with_jobs_handed_ahead,
		    setup),
		cmocka_unit_test_setup(test_death_while_idle, setup),
		cmocka_unit_test_setup(test_death_by_time_limit, setup),
	};

	if (argc > 1)
		faults = argv[1];
	signal(SIGPIPE, SIG_IGN);
	task_register_builtins();
	assert_int_equal(task_register(&quick_crash), 0);
	task_enable_tests(1);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

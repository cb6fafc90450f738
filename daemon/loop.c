/*
 * The loop's tick, where the modules meet once per iteration: dispatch
 * runnable jobs, let in waiting submits, commit the iteration's writes,
 * then send the job frames and replies that waited for that commit, and
 * see whether a stop is complete. Like main.c, this file sees every
 * module; none of them calls it.
 */
#include "log.h"
#include "mpd.h"
#include "store.h"

static struct event_base	*base;
static struct store		*store;
static int			 committing;	/* a commit has not reported */
static int			 again;		/* a tick waited for it */

static void	loop_committed(int, void *);

/*
 * The tick's work, in its order. While a commit has not reported back,
 * the tick waits: the writes made meanwhile join the next transaction,
 * whose replies and job frames are not sealed yet.
 */
static void
loop_tick(void)
{
	if (committing) {
		again = 1;
		return;
	}
	sched_dispatch();
	admit_blocked();
	/* What waits for this commit, and nothing queued after it. */
	pool_seal();
	clients_seal();
	if (store_dirty(store))
		disk_check();
	committing = 1;
	store_commit(store, loop_committed, NULL);
}

/* The commit reported back: what waited for it may go out. */
static void
loop_committed(int rc, void *arg)
{
	(void)arg;
	committing = 0;
	if (rc == -1) {
		/*
		 * Nothing of this transaction was acknowledged: its replies are
		 * still held, and become errors. A failed commit is not tried
		 * again (a retried fsync may report success for lost data):
		 * stop, so the service manager restarts mpd and recovery runs
		 * from what is durable.
		 */
		clients_fail_held("the database failed to commit; this request "
		    "was not kept, and the daemon is stopping to recover", 0);
		fatalx("store: commit failed: %s", store_errmsg(store));
	}
	ops_tick_done();
	pool_flush();
	clients_flush();
	mpd_check_stopped();
	if (again) {
		again = 0;
		tick_kick();
	}
}

/* The store lost this iteration's writes: say so to whoever waits. */
static void
loop_lost(const char *why, void *arg)
{
	(void)why;
	(void)arg;
	clients_fail_held("the database failed (disk full or I/O error); this "
	    "request was not kept, and the daemon is stopping to recover",
	    committing);
}

/* A client is going: its waits and waiting submits go with it. */
static void
loop_client_gone(struct client *c)
{
	waiter_drop_client(c);
	admit_drop_client(c);
	mapload_drop_client(c);
}

void
loop_init(struct event_base *b, struct store *s, const struct config *c)
{
	base = b;
	store = s;
	store_on_lost(s, loop_lost, NULL);
	tick_init(b, loop_tick);
	clients_init(b, c, loop_client_gone);
	reply_init(s);
	waiter_init(b, s);
	admit_init(b, s, c, client_line);
	mapload_init(b, s);
	sweep_init(b, s);
	retain_init(b, s, c);
	limit_init(b, c->kill_grace);
	sched_init(b, s, c, waiter_wake);
}

/* The loop has ended: the final commit reported. */
static void
loop_final(int rc, void *arg)
{
	(void)arg;
	committing = 0;
	if (rc == -1)
		fatalx("store: final commit: %s", store_errmsg(store));
	/* Best effort: the loop no longer runs to drain what is left. */
	clients_flush();
}

/* Runs the loop once more while a commit has not reported. */
static void
loop_wait_commit(void)
{
	while (committing) {
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			fatalx("event loop failed");
	}
}

void
loop_finish(void)
{
	loop_wait_commit();
	/* Replies held since the last commit go out once this one reports. */
	clients_seal();
	committing = 1;
	store_commit(store, loop_final, NULL);
	loop_wait_commit();
}

void
loop_free(void)
{
	mapload_free();
	sweep_free();
	retain_free();
	sched_free();
	tick_free();
}

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

static struct store	*store;

/* The tick's work, in its order. */
static void
loop_tick(void)
{
	sched_dispatch();
	admit_blocked();
	if (store_commit(store) == -1) {
		/*
		 * Nothing of this transaction was acknowledged: its replies are
		 * still held, and become errors. A failed commit is not tried
		 * again (a retried fsync may report success for lost data):
		 * stop, so the service manager restarts mpd and recovery runs
		 * from what is durable.
		 */
		clients_fail_held("the database failed to commit; this request "
		    "was not kept, and the daemon is stopping to recover");
		fatalx("store: commit failed: %s", store_errmsg(store));
	}
	ops_tick_done();
	pool_flush();
	clients_flush();
	mpd_check_stopped();
}

/* A client is going: its waits and waiting submits go with it. */
static void
loop_client_gone(struct client *c)
{
	waiter_drop_client(c);
	admit_drop_client(c);
}

void
loop_init(struct event_base *base, struct store *s, const struct config *c)
{
	store = s;
	tick_init(base, loop_tick);
	clients_init(base, loop_client_gone);
	reply_init(s);
	waiter_init(base, s);
	admit_init(base, s, c, ops_dispatch);
	limit_init(base, c->kill_grace);
	sched_init(base, s, c, waiter_wake);
}

void
loop_free(void)
{
	sched_free();
	tick_free();
}

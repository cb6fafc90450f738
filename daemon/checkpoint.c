/*
 * The WAL checkpointer (see checkpoint.h). The loop's connection asks for
 * a checkpoint from its WAL hook after each commit once the log holds
 * enough frames. The thread waits for a quiet moment (no ask for QUIET
 * seconds, or at most PATIENCE since the first), so a burst is not slowed
 * by copying its own pages, then runs a PASSIVE checkpoint, which never
 * blocks the writer and never waits for it. It touches nothing but its
 * own connection and the few fields below, under their mutex: it logs
 * nothing. A fork (a worker) waits until it is not inside a checkpoint,
 * so no child starts with a lock the thread held (the allocator's, say).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>

#include "checkpoint.h"
#include "log.h"
#include "xmalloc.h"

#define QUIET		0.02
#define PATIENCE	0.25

struct checkpointer {
	sqlite3		*db;		/* the thread's own connection */
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	int		 wanted;	/* under lock */
	int		 stopping;	/* under lock */
	int		 busy;		/* under lock: in a checkpoint */
	int		 ready;		/* under lock: the thread is set up */
	pthread_cond_t	 idle;		/* busy went to 0 */
};

/* The running one, for the fork handlers (at most one at a time). */
static struct checkpointer	*active;
static pthread_once_t		 atfork_once = PTHREAD_ONCE_INIT;

/* Before a fork: hold the lock while the thread is not checkpointing. */
static void
checkpoint_prepare(void)
{
	if (active == NULL)
		return;
	pthread_mutex_lock(&active->lock);
	while (active->busy)
		pthread_cond_wait(&active->idle, &active->lock);
}

/* After a fork, in the parent: let the thread go on. */
static void
checkpoint_parent(void)
{
	if (active != NULL)
		pthread_mutex_unlock(&active->lock);
}

static void
checkpoint_atfork(void)
{
	/* The child never checkpoints: it keeps the lock, unused. */
	pthread_atfork(checkpoint_prepare, checkpoint_parent, NULL);
}

/* Now plus secs on the monotonic clock, as the condition waits on it. */
static struct timespec
checkpoint_after(double secs)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int
checkpoint_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec &&
	    a->tv_nsec < b->tv_nsec);
}

static void *
checkpoint_main(void *arg)
{
	struct checkpointer	*cp = arg;
	struct timespec		 quiet, last;
	int			 go;

	pthread_mutex_lock(&cp->lock);
	cp->ready = 1;
	pthread_cond_signal(&cp->idle);
	pthread_mutex_unlock(&cp->lock);
	for (;;) {
		pthread_mutex_lock(&cp->lock);
		while (!cp->wanted && !cp->stopping)
			pthread_cond_wait(&cp->wake, &cp->lock);
		/* Until no ask came for QUIET, or PATIENCE ran out. */
		last = checkpoint_after(PATIENCE);
		while (cp->wanted && !cp->stopping) {
			cp->wanted = 0;
			quiet = checkpoint_after(QUIET);
			if (checkpoint_before(&last, &quiet))
				break;
			while (!cp->wanted && !cp->stopping &&
			    pthread_cond_timedwait(&cp->wake, &cp->lock,
			    &quiet) == 0)
				continue;
		}
		go = !cp->stopping;
		cp->wanted = 0;
		cp->busy = go;
		pthread_mutex_unlock(&cp->lock);
		if (!go)
			return NULL;
		/*
		 * A failure (busy, a full disk) leaves the log as it is: the
		 * next request tries again, and the loop's own checkpoint
		 * past the cap is the backstop.
		 */
		sqlite3_wal_checkpoint_v2(cp->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&cp->lock);
		cp->busy = 0;
		pthread_cond_signal(&cp->idle);
		pthread_mutex_unlock(&cp->lock);
	}
}

struct checkpointer *
checkpoint_start(const char *path)
{
	struct checkpointer	*cp = xcalloc(1, sizeof *cp);
	pthread_condattr_t	 attr;
	int			 rc;

	/* A read, so the connection finds the database in WAL mode. */
	if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_exec(cp->db, "PRAGMA schema_version", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		log_warnx("checkpointer: %s: %s; SQLite checkpoints in "
		    "commits instead", path, cp->db != NULL ?
		    sqlite3_errmsg(cp->db) : "out of memory");
		sqlite3_close(cp->db);
		free(cp);
		return NULL;
	}
	pthread_mutex_init(&cp->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cp->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&cp->idle, NULL);
	pthread_once(&atfork_once, checkpoint_atfork);
	if ((rc = pthread_create(&cp->thread, NULL, checkpoint_main, cp)) !=
	    0) {
		log_warnx("checkpointer: cannot start a thread (error %d); "
		    "SQLite checkpoints in commits instead", rc);
		pthread_cond_destroy(&cp->idle);
		pthread_cond_destroy(&cp->wake);
		pthread_mutex_destroy(&cp->lock);
		sqlite3_close(cp->db);
		free(cp);
		return NULL;
	}
	/* Set up before any fork: a thread still starting holds locks too. */
	pthread_mutex_lock(&cp->lock);
	while (!cp->ready)
		pthread_cond_wait(&cp->idle, &cp->lock);
	pthread_mutex_unlock(&cp->lock);
	active = cp;
	return cp;
}

void
checkpoint_ask(struct checkpointer *cp)
{
	pthread_mutex_lock(&cp->lock);
	cp->wanted = 1;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
}

void
checkpoint_stop(struct checkpointer *cp)
{
	if (cp == NULL)
		return;
	if (active == cp)
		active = NULL;
	pthread_mutex_lock(&cp->lock);
	cp->stopping = 1;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	pthread_cond_destroy(&cp->idle);
	pthread_cond_destroy(&cp->wake);
	pthread_mutex_destroy(&cp->lock);
	sqlite3_close(cp->db);
	free(cp);
}

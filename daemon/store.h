/*
 * The job store: one narrow interface over SQLite. Every write joins the
 * open transaction (begun on the first write); store_commit ends it, once
 * per loop iteration, and only then may replies about those writes go out.
 */
#ifndef MPD_STORE_H
#define MPD_STORE_H

#include <sys/types.h>
#include <stdint.h>

#include "proto.h"

/* One job record. Strings are owned by the struct; job_clear frees them. */
struct job {
	int64_t	 id;
	int	 kind;		/* KIND_JOB, KIND_MAP, KIND_CHUNK */
	int64_t	 parent;	/* a chunk's map, else 0 */
	int64_t	 seq;		/* a chunk's first item index */
	char	*task;
	char	*args;		/* JSON array; a chunk's items */
	char	*kwargs;	/* JSON object */
	char	*name;		/* may be NULL */
	uid_t	 owner;
	gid_t	 group;		/* the owner's group when submitted */
	int	 priority;
	int	 state;
	int	 attempts;
	int	 max_attempts;
	int64_t	 nitems;	/* a map's or chunk's item count */
	int64_t	 ndone;		/* a map's items finished */
	int64_t	 chunksize;
	double	 timeout;	/* time limit in seconds per run, 0 for none */
	int	 retry_on;	/* RETRY_* causes that earn another attempt */
	double	 retry_delay;	/* before the first retry, seconds */
	double	 retry_factor;	/* each later delay is this much longer */
	double	 retry_max;	/* delays are capped here */
	double	 not_before;	/* a retried job waits until then */
	double	 created;
	double	 started;	/* 0 when not yet */
	double	 finished;
	pid_t	 pid;		/* worker while running, else 0 */
	char	*result;	/* JSON text or NULL */
	char	*error;		/* JSON object text or NULL */
};

/* The retry causes (RETRY_*) are the protocol's: common/proto.h. */
#define RETRY_DEFAULT		(RETRY_WORKER_DIED | RETRY_INTERRUPTED)
/* The default back-off: 0.5 s, doubling, at most a minute. */
#define RETRY_DELAY		0.5
#define RETRY_FACTOR		2.0
#define RETRY_MAX		60.0

struct store;

/*
 * Called, when set, just before mpd stops because SQLite rolled back the
 * open transaction (disk full, I/O error), with SQLite's words.
 */
extern void	(*store_abort_hook)(const char *);

/* Frees the strings of a job and zeroes it. */
void		 job_clear(struct job *);

/*
 * Opens (creating or migrating) the database. sync_full selects
 * synchronous=FULL. Returns NULL and sets *cause (newly allocated) on error.
 */
struct store	*store_open(const char *, int, char **);
/* Commits what is pending and closes. */
void		 store_close(struct store *);
/* Last SQLite error message (borrowed). */
const char	*store_errmsg(struct store *);

/*
 * Start-up recovery: jobs found running are requeued when attempts remain,
 * else failed as interrupted (and their maps with them). Returns 0 or -1.
 */
int		 store_recover(struct store *, int64_t *, int64_t *);

/* Inserts a record from j (id ignored); returns the new id or -1. */
int64_t		 store_insert(struct store *, const struct job *);
/* Loads a record: 1 found, 0 not found, -1 error. */
int		 store_get(struct store *, int64_t, struct job *);
/*
 * Fills ids with up to max runnable jobs and chunks, best first (priority,
 * then age). Returns how many, or -1.
 */
int		 store_next(struct store *, int64_t *, int);
/*
 * Marks a job running on a worker and counts the attempt. A start time of
 * 0 leaves started NULL: the job was handed to a worker behind another and
 * has not begun (recovery gives it back without counting the attempt).
 */
int		 store_set_running(struct store *, int64_t, pid_t, double);
/* Marks a map running if it is still queued. */
int		 store_map_started(struct store *, int64_t, double);
/*
 * Ends a job in a final state with a result or an error (either NULL) at
 * a time; its start time is set too when it has none and started is > 0.
 */
int		 store_set_final(struct store *, int64_t, int, const char *,
		     const char *, double, double);
/*
 * Puts a running job back in the queue, to run no earlier than not_before
 * (0: at once); with refund, the attempt it was on does not count (a stop
 * of mpd's own, not a failure).
 */
int		 store_requeue(struct store *, int64_t, int, double);
/* Records how attempt j->attempts of job j ended. */
int		 store_attempt(struct store *, const struct job *, double, int,
		     const char *);
/*
 * Calls fn(n, started, finished, worker pid, state, error) for each
 * recorded attempt of a job, in order. Returns 0 or -1.
 */
int		 store_attempts(struct store *, int64_t, void (*)(int, double,
		     double, pid_t, int, const char *, void *), void *);
/* Caps the database file at about this many bytes (max_page_count). */
int		 store_limit_size(struct store *, int64_t);
/*
 * Bytes the store may still grow by: the least of the pages left under
 * its cap (free pages included) and the free space of its file system.
 */
int64_t		 store_headroom(struct store *);
/* Items queued: one per job, a chunk's item count; -1 on error. */
int64_t		 store_queued_items(struct store *);
/* The earliest time a retried job waits for, or 0 when none waits. */
double		 store_next_delayed(struct store *);
/* Adds n finished items to a map. */
int		 store_map_progress(struct store *, int64_t, int64_t);
/* Joins a map's chunk results in item order; newly allocated, or NULL. */
char		*store_map_result(struct store *, int64_t);
/* Cancels a map's queued chunks; returns 0 or -1. */
int		 store_cancel_chunks(struct store *, int64_t, const char *,
		     double);
/* Deletes a job and its chunks. */
int		 store_forget(struct store *, int64_t);
/*
 * Counts jobs and maps (not chunks) of one owner ((uid_t)-1 for all) by
 * state into counts[JOB_NSTATES].
 */
int		 store_counts(struct store *, uid_t, int64_t *);
/*
 * Calls fn for the newest limit visible jobs, oldest first, of one state
 * (-1 for all) and one owner ((uid_t)-1 for all). Returns 0 or -1.
 */
int		 store_list(struct store *, int, uid_t, int,
		     void (*)(const struct job *, void *), void *);
/* True while a transaction is open. */
int		 store_dirty(struct store *);
/* Commits the open transaction, if any; returns 0 or -1. */
int		 store_commit(struct store *);

#endif

/*
 * The job store: one narrow interface over a database, whose backend the
 * --db target picks (store_open; the table is store_backend.h). Every
 * write joins the open transaction (begun on the first write);
 * store_commit ends it, once per loop iteration, and only once it reports
 * back may replies about those writes go out.
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
	char	*pool;		/* the pool that runs it; NULL: "default" */
	char	*context;	/* JSON object for a runtime, or NULL */
	int	 loading;	/* a map being stored or forgotten: unseen */
	char	*result;	/* JSON text or NULL */
	char	*error;		/* JSON object text or NULL */
};

/* The retry causes (RETRY_*) are the protocol's: common/proto.h. */
#define RETRY_DEFAULT		(RETRY_WORKER_DIED | RETRY_INTERRUPTED)
/* The default back-off: 0.5 s, doubling, at most a minute. */
#define RETRY_DELAY		0.5
#define RETRY_FACTOR		2.0
#define RETRY_MAX		60.0

struct event_base;
struct store;

/* Callbacks: an attempt's record, a listed job, a finished commit (0 or
 * -1), and the loss of the open transaction (with the database's words). */
typedef void	(*store_attempt_fn)(int, double, double, pid_t, int,
		    const char *, void *);
typedef void	(*store_job_fn)(const struct job *, void *);
typedef void	(*store_done_fn)(int, void *);
typedef void	(*store_lost_fn)(const char *, void *);
typedef void	(*store_owner_fn)(uid_t, int64_t, int64_t, void *);
typedef void	(*store_pool_fn)(const char *, int, int, int, const char *,
		    void *);

/* The backends a --db target can name (store_target). */
enum store_kind {
	STORE_SQLITE,		/* a path, or sqlite:PATH */
	STORE_POSTGRESQL,	/* postgresql://... or postgres://... */
};

/* Frees the strings of a job and zeroes it. */
void		 job_clear(struct job *);

/*
 * Which backend a --db target names. For SQLite, *file is set to the
 * database file's path within the target (borrowed), else to NULL.
 * Returns -1 and sets *cause (newly allocated) for a scheme mpd does not
 * know.
 */
int		 store_target(const char *, enum store_kind *, const char **,
		     char **);
/*
 * Opens (creating or migrating) the database a target names. sync_full
 * selects SQLite's synchronous=FULL. faults, when not NULL, wraps the
 * store in one that fails on request, for tests: a comma-separated list of
 * write=N (the Nth write from now fails, losing the open transaction as
 * a full disk would), commit=N (the Nth commit fails), and defer[=MS]
 * (each commit reports back MS milliseconds later, default 1, from base's
 * loop, as a network database would). Returns NULL and sets *cause (newly
 * allocated) on error.
 */
struct store	*store_open(const char *, int, const char *,
		     struct event_base *, char **);
/*
 * Commits what is pending (reporting to a commit still waiting) and closes.
 */
void		 store_close(struct store *);
/* The backend's last error message (borrowed). */
const char	*store_errmsg(struct store *);
/*
 * Registers who is told, just before mpd stops, that the database lost the
 * open transaction (disk full, I/O error): replies held for its writes
 * must not go out.
 */
void		 store_on_lost(struct store *, store_lost_fn, void *);

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
/* Whether a pool has a job to run now: 1 or 0, or -1. */
int		 store_runnable_in(struct store *, const char *);
/*
 * The same as store_next for one owner's jobs in a pool, with each one's
 * priority. Returns how many, or -1.
 */
int		 store_next_of(struct store *, const char *, uid_t, int64_t *,
		    int *, int);
/*
 * Fills owners with up to max owners that have jobs queued in a pool,
 * lowest uid first. Returns how many, or -1.
 */
int		 store_queued_owners(struct store *, const char *, uid_t *, int);
/*
 * Fills ids (and kinds) with up to max jobs and maps that ended before
 * this time, the earliest first. Returns how many, or -1.
 */
int		 store_ended(struct store *, double, int64_t *, int *, int);
/* Jobs and maps ended (not being forgotten), or -1. */
int64_t		 store_ended_count(struct store *);
/*
 * Marks a map as still being stored (on) or all stored: recovery deletes
 * a map found loading, with its chunks. Returns 0 or -1.
 */
int		 store_map_loading(struct store *, int64_t, int);
/* Items one owner has queued in a pool (a map's count each), or -1. */
int64_t		 store_owner_items(struct store *, const char *, uid_t);
/*
 * Jobs and chunks queued in one pool, of one owner ((uid_t)-1 for all);
 * -1 on error.
 */
int64_t		 store_pool_queued(struct store *, const char *, uid_t);
/*
 * Records a pool's size, pause and whether it was added, as changed while
 * mpd ran; size 0 records that it was removed. Returns 0 or -1.
 */
int		 store_pool_record(struct store *, const char *, int, int, int,
		    const char *);
/*
 * Calls fn(name, size, paused, added, runtime) for each recorded pool; 0 or
 * -1. The runtime is "" for builtin.
 */
int		 store_pool_records(struct store *, store_pool_fn, void *);
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
int		 store_attempts(struct store *, int64_t, store_attempt_fn,
		     void *);
/*
 * Caps the database at about this many bytes (SQLite: max_page_count);
 * writes past it fail as on a full disk.
 */
int		 store_limit_size(struct store *, int64_t);
/*
 * Bytes the store may still grow by (SQLite: the least of the pages left
 * under its cap, free pages included, and its file system's free space).
 */
int64_t		 store_headroom(struct store *);
/* Items queued: one per job, a chunk's item count; -1 on error. */
int64_t		 store_queued_items(struct store *);
/* The earliest time a retried job waits for, or 0 when none waits. */
double		 store_next_delayed(struct store *);
/* Sets how far a plain job is (done of total); chunks are left alone. */
int		 store_job_progress(struct store *, int64_t, int64_t, int64_t);
/* Adds n finished items to a map. */
int		 store_map_progress(struct store *, int64_t, int64_t);
/* Joins a map's chunk results in item order; newly allocated, or NULL. */
char		*store_map_result(struct store *, int64_t);
/*
 * Cancels up to max of a map's queued chunks; returns how many (fewer than
 * max: none is left), or -1.
 */
int		 store_cancel_chunks(struct store *, int64_t, const char *,
		     double, int);
/*
 * Deletes up to max of a job's chunks, and once none is left the job
 * itself: returns 1 when it is gone, 0 when chunks are left, or -1.
 */
int		 store_forget(struct store *, int64_t, int);
/*
 * Counts jobs and maps (not chunks) of one owner ((uid_t)-1 for all) by
 * state into counts[JOB_NSTATES].
 */
int		 store_counts(struct store *, uid_t, int64_t *);
/*
 * Calls fn(uid, queued, running) for each owner (or only this one, unless
 * (uid_t)-1) with jobs or maps queued or running; 0 or -1.
 */
int		 store_owners(struct store *, uid_t, store_owner_fn, void *);
/*
 * Calls fn for the newest limit visible jobs, oldest first, of one state
 * (-1 for all) and one owner ((uid_t)-1 for all). Returns 0 or -1.
 */
int		 store_list(struct store *, int, uid_t, int, store_job_fn,
		     void *);
/* True while a transaction is open. */
int		 store_dirty(struct store *);
/*
 * Commits the open transaction, if any, then calls done with 0, or -1 when
 * the commit failed (nothing of the transaction is kept). done may run
 * before store_commit returns (SQLite) or later from the event loop; no
 * other commit may begin until it has run.
 */
void		 store_commit(struct store *, store_done_fn, void *);

#endif

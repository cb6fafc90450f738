/*
 * mpd: the daemon's shared declarations, one section per file. The parent
 * is one thread and one libevent loop; workers are forked children that
 * see none of this state after worker_main starts.
 */
#ifndef MPD_H
#define MPD_H

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdint.h>

#include "wframe.h"

struct client;
struct config;
struct store;
struct job;
struct task_settings;

/* config.c */
/*
 * Fills the settings: defaults, then the configuration file, then the
 * command line. Exits 0 after --help or --version, 2 on a bad setting.
 */
void	config_parse(struct config *, int, char **);

/*
 * The settings: config.c fills them, main.c owns them, and each module
 * gets them through its init function.
 */
/* A named pool of workers, as the settings give it. */
#define POOL_NAME_MAX	32	/* bytes of a name, its NUL included */
#define POOLS_MAX	64
#define POOL_WORKERS_MAX 4096	/* workers in all pools together */
#define POOL_NAME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789-_"
#define RUNTIME_MAX	256	/* bytes of a runtime's text, NUL included */
struct pool_conf {
	char		 name[POOL_NAME_MAX];
	char		 runtime[RUNTIME_MAX]; /* "" builtin (runtime.c) */
	int		 size;
	int		 paused;	/* as recorded by mpctl pool pause */
	int		 added;		/* recorded as added by mpctl pool add */
};

#define PLUGINS_MAX	32
#define PYTHON_POOL	"py"	/* the Python pool mpd offers by itself */

struct config {
	char		*socket_path;
	char		*plugins[PLUGINS_MAX];	/* --plugin, in order */
	int		 nplugins;
	char		*db_path;
	int		 workers;	/* the default pool's size */
	struct pool_conf pools[POOLS_MAX]; /* "default" first */
	int		 npools;
	int		 python_pool;	/* -1 auto, 0 none, else py's size */
	int		 test_tasks;
	size_t		 max_line;
	int64_t		 max_items;
	double		 grace;		/* seconds a graceful stop waits */
	int		 sync_full;
	mode_t		 socket_mode;	/* 0600; 0660 for a system daemon */
	int		 log_level;
	double		 job_timeout;	/* default time limit, 0 for none */
	double		 user_job_timeout; /* ordinary users' longest, 0 none */
	int64_t		 max_running_user; /* their jobs running at once */
	int64_t		 max_queued_user; /* their items queued at once */
	int64_t		 user_priority_max; /* ordinary users': -N..N */
	double		 kill_grace;	/* SIGTERM to SIGKILL, seconds */
	size_t		 output_cap;	/* bytes of each stream in a result */
	int64_t		 log_cap;	/* bytes of each stream in a log; 0 all */
	double		 keep_ended;	/* seconds an ended job is kept; 0 ever */
	int64_t		 keep_max;	/* ended jobs kept at most; 0 all */
	char		*log_dir;	/* commands' output, one file a stream */
	int64_t		 limit_as;	/* default rlimits of commands, 0 none */
	int64_t		 limit_cpu;
	int64_t		 limit_nofile;
	int		 max_depth;	/* nesting of a request */
	int		 max_clients;
	double		 client_timeout; /* to finish a started line */
	size_t		 client_budget;	/* bytes of a client's pending work */
	int64_t		 max_clients_user; /* connections of one user, 0 any */
	double		 idle_timeout;	/* a client with nothing pending */
	double		 client_drain_timeout; /* past it, unread: dropped */
	int64_t		 max_tasks;	/* jobs per worker process, 0 no cap */
	int64_t		 max_worker_rss; /* bytes, 0 for no cap */
	int64_t		 max_queue;	/* queued items, 0 for no cap */
	int64_t		 store_reserve;	/* bytes kept for running jobs */
	int64_t		 max_db_size;	/* bytes, 0 for no cap */
	size_t		 max_result;	/* bytes of a result's JSON */
	mode_t		 job_umask;	/* the umask mpd was started with */
	int		 serve_others;	/* not root: other uids may connect */
	struct rlimit	 user_limit[3];	/* others' jobs: nofile, nproc, core */
};

/* Stop modes, mildest first: a stop may only move to a harsher one. */
enum stop_mode {
	STOP_NONE,
	STOP_DRAIN,	/* run the whole queue, then stop (Pool close+join) */
	STOP_GRACEFUL,	/* finish running jobs within the grace period */
	STOP_NOW,	/* requeue running jobs at once (Pool terminate) */
};

/* worker.c (in a worker process) */
/* The context of the plain job a task is running, or NULL. */
struct task_ctx *worker_running(void);

/* plugins.c */
/* Loads the task plugins in order, before the workers fork; exits if any
 * fails. */
void	plugins_load(char *const *, int);
/* Unloads them at exit, after the task registry is cleared. */
void	plugins_close(void);

/* runtime.c */
/*
 * Reads a runtime's text ("builtin", "python", or a program's absolute
 * path) into out as a pool keeps it ("" for builtin); 0, or -1 with *why
 * set (newly allocated).
 */
int	runtime_parse(const char *, char *, size_t, char **);
/* A kept runtime as people read it: "builtin" for "". */
const char *runtime_label(const char *);
/* Whether python3 is on mpd's PATH (for the default Python pool). */
int	runtime_python_found(void);
/*
 * In a forked slot of mpd (parent), with the worker socket on fd 3 and
 * its output on 1 and 2: becomes the owner (uid, gid) when mpd is root and
 * the owner is not, and execs the runtime.
 */
void	runtime_exec(const char *, const char *, pid_t, uid_t, gid_t,
	    const struct task_settings *) __attribute__((noreturn));

/* stopping.c */
/* How far a stop has gone: STOP_NONE while mpd runs. */
enum stop_mode	stopping(void);
/* Moves the stop on, only ever to a harsher mode (main.c's mpd_stop). */
void	stopping_set(enum stop_mode);

/* main.c */
/* Begins a stop in the given mode; a harsher mode may follow a milder. */
void	mpd_stop(enum stop_mode);
/* Ends the loop once a stop has started and every worker is reaped. */
void	mpd_check_stopped(void);

/* server.c */
/*
 * Listens on the socket named name in the held directory dirfd (path is
 * the whole path, for bind and messages); returns 0 or -1 with *cause set.
 */
int	server_listen(struct event_base *, const struct config *, int,
	    const char *, const char *, char **);
/*
 * Listens on a socket already bound and listening (systemd's): its file
 * is systemd's, and stays at exit.
 */
int	server_adopt(struct event_base *, const struct config *, int, char **);
/* Stops accepting and removes the socket file. */
void	server_close_listener(void);
struct client;
/* Decodes, checks and runs one request line of a client. */
void	client_line(struct client *, const char *, size_t);


/* client.c */
#define CLIENT_DEAD	0x1	/* to be freed at the end of the tick */
#define CLIENT_CLOSING	0x2	/* no more input; close once output drains */
#define CLIENT_HELD	0x4	/* on the held list */
#define CLIENT_EOF	0x8	/* stopped writing; waits are still answered */
#define CLIENT_FULL	0x10	/* not reading until its replies drain */

struct waiter;

struct client {
	uint64_t		 id;
	struct bufferevent	*bev;
	uid_t			 uid;
	gid_t			 gid;
	pid_t			 pid;
	int			 flags;
	struct evbuffer		*held;	/* replies waiting for the commit */
	size_t			 sealed; /* bytes of it the commit covers */
	size_t			 scanned; /* input known to hold no newline */
	LIST_HEAD(, waiter)	 waiters;
	size_t			 nwaiting; /* of them (waiter.c's) */
	size_t			 nfollowing; /* of them, log follows */
	size_t			 nblocked; /* submits waiting for room */
	size_t			 blocked;  /* and their bytes (admit.c's) */
	int			 loading;  /* maps being stored (mapload.c's) */
	struct event		*drain;	/* stuck output: dropped at the end */
	size_t			 draining; /* output when the timer began */
	TAILQ_ENTRY(client)	 entry;
	TAILQ_ENTRY(client)	 held_entry;
};

/* A new client on a connected socket, with the peer's credentials. */
struct client *client_new(evutil_socket_t, uid_t, gid_t, pid_t);
/* Clients connected now. */
int	clients_count(void);
/*
 * fn hears of each client that goes (killed or freed; maybe twice); the
 * settings give each client's budget.
 */
void	clients_init(struct event_base *, const struct config *,
	    void (*)(struct client *));
/* Whether a client's pending work is past its budget. */
int	client_over(struct client *);
/* Stops reading a client past its budget (and starts its drain timer). */
void	client_full(struct client *);
/* Marks a client dead; clients_flush frees it. */
void	client_kill(struct client *);
/* Queues a reply line (text without newline) until the next commit. */
void	client_reply_text(struct client *, const char *, size_t);
/* The same for a line made of n pieces, without copying them first. */
void	client_reply_parts(struct client *, const char **, const size_t *,
	    int);
/* Queues a reply object (stolen). */
void	client_reply(struct client *, json_t *);
/* A client's pending work went down: one not read for its budget may be
 * read again. */
void	client_room(struct client *);
/* Stops reading a client whose pending work is past its budget. */
void	client_budget_check(struct client *);
/*
 * A reply's tail that many clients' replies share (the result of a job
 * many wait for): one copy, freed when the last reply using it is sent.
 */
struct shared {
	size_t		 refs;
	size_t		 len;
	char		 data[];
};
/* A shared text of n pieces, with one reference (the caller's). */
struct shared *shared_new(const char **, const size_t *, int);
void	shared_unref(struct shared *);
/* Queues a reply line: its own head (copied), then the shared tail. */
void	client_reply_shared(struct client *, const char *, size_t,
	    struct shared *);
/* A commit begins: the replies held now are the ones it covers. */
void	clients_seal(void);
/* After a commit: sends the replies it covered and frees dead clients. */
void	clients_flush(void);
/*
 * The commit failed, or the store lost its transaction, and mpd is about
 * to stop: each held reply is replaced by an error for the same request,
 * sent at once. With in_flight (a commit has not reported yet), a client
 * with replies that commit covers gets nothing: their fate is unknown.
 */
void	clients_fail_held(const char *, int);
/* Closes every client. */
void	clients_free_all(void);
/* A client's waiter was answered: a half-closed client may now close. */
void	client_waiters_done(struct client *);
/*
 * Arms a client's read timeout: a client in the middle of a line has the
 * client timeout to finish it; one with nothing pending (no wait, no
 * submit waiting for room), the idle timeout; one that waits, none.
 */
void	client_idle(struct client *);
/* Clients of this uid connected now. */
int	clients_of(uid_t);
/* True for root and the daemon's own user: they see every job. */
int	client_privileged(struct client *);
/* True when the client may see jobs of this owner. */
int	client_may_see(struct client *, uid_t);

/* reply.c */
/* Replies read jobs and their results from this store. */
void	reply_init(struct store *);
/* A new reply object {"req":tag,"ok":ok}. */
json_t	*reply_new(json_t *, int);
/* Replies ok with the fields of body (stolen, may be NULL). */
void	reply_ok(struct client *, json_t *, json_t *);
/* Replies ok:false with an error code and message. */
void	reply_error(struct client *, json_t *, const char *, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
/* Replies to a get with a job already loaded (whose result it may fill). */
void	reply_loaded(struct client *, json_t *, struct job *);
/* Replies to n waits for one job (clients and their tags), the job loaded
 * once and its result shared. */
void	reply_job_all(int64_t, struct client **, json_t **, size_t);
/*
 * Answers a logs request from the offsets, unless wait is set and there
 * is nothing new and the job has not ended: then returns 0 (not answered).
 */
int	logs_answer(struct client *, json_t *, int64_t, int64_t *, int);
/* logs_answer for a job already loaded. */
int	logs_reply(struct client *, json_t *, const struct job *, int64_t *,
	    int);

/* ops.c */
/* Python Pool.map's default chunk size for items over workers. */
int64_t	 map_chunksize(int64_t, int);
/* What ops know of a request's line besides its decoded object. */
struct reqline {
	const char	*text;		/* the whole line */
	size_t		 len;
	const char	*items;		/* a map's items (JSON text) or NULL */
	size_t		 items_len;
	int64_t		 nitems;
	const char	*args;		/* a submit's args (JSON text) or NULL */
	size_t		 args_len;
};

/*
 * Sets what ops cannot know themselves: when the daemon started (the
 * monotonic clock, for uptime) and how the shutdown op stops it.
 */
void	ops_init(struct store *, const struct config *, double,
	    void (*)(enum stop_mode));
/* Runs one checked request. */
void	ops_dispatch(struct client *, json_t *, const char *,
	    const struct reqline *);
/* The tick committed: what the store has room for is read again. */
void	ops_tick_done(void);

/* mapload.c */
/*
 * A map's items: the decoded array, or (for a long line) the array's text,
 * handed out a chunk at a time as JSON text, never built item by item.
 */
struct map_items {
	json_t		*array;		/* or NULL: the text */
	const char	*p, *end;	/* the text not handed out yet */
	int64_t		 next;		/* the next item's index */
};
/* The next n items as the text of an array (newly allocated). */
char	*map_items_take(struct map_items *, int64_t);
/*
 * Stores the chunks of map id (n items of size each) and then replies to
 * its client: at once for a small map, else a slice per turn of the loop,
 * the client not read meanwhile. Takes the map (cleared here) and what is
 * left of the items (copied: the request's line may go).
 */
void	mapload_start(struct client *, json_t *, struct job *, int64_t,
	    struct map_items *, int64_t, int64_t);
/* A stop: the maps being stored are stored at once, and replied to. */
void	mapload_finish_all(void);
/* A client went: its maps are still stored, with no reply. */
void	mapload_drop_client(struct client *);
void	mapload_init(struct event_base *, struct store *);
void	mapload_free(void);

/* waiter.c */
/* Waits for a job to end; timeout < 0 waits for ever. */
void	waiter_add(struct client *, json_t *, int64_t, double);
/* Waits for new output of a job, or its end, from these offsets. */
void	waiter_add_logs(struct client *, json_t *, int64_t, int64_t *);
/* A job reached a final state: answers and frees its waiters. */
void	waiter_wake(int64_t);
/* Frees the waiters of a client that is going away. */
void	waiter_drop_client(struct client *);
/* Number of waiters in all. */
size_t	waiter_count(void);
/* Sets up waits on this base, reading jobs from this store. */
void	waiter_init(struct event_base *, struct store *);
/* Frees the followers' timer at exit (clients are freed first). */
void	waiter_free_all(void);

/* pool.c */
enum worker_state {
	W_DOWN,		/* no process: waiting to be spawned */
	W_IDLE,
	W_BUSY,
	W_EXITING,	/* told to stop, or dying */
};

/*
 * Jobs of quick tasks are handed to a worker busy with one ahead of time,
 * at most this many behind the one it runs, so it goes from one to the
 * next without a round trip through the daemon.
 */
#define HANDED_MAX	16

/* A job handed to a worker behind the one it runs. */
struct handed {
	int64_t		 id;
	uid_t		 owner;
	double		 limit;		/* its time limit, 0 for none */
	int		 cancel;	/* cancelled meanwhile: kill it */
	uid_t		 cancel_by;
};

/*
 * A worker's job side: the job it runs and those handed to it behind that
 * one. sched.c owns it, but for the time limit's timer and kill stage,
 * which are limit.c's; the pool never reads it.
 */
struct run {
	int64_t			 job;		/* running job, or 0 */
	uid_t			 owner;		/* its owner */
	int64_t			 jobs_done;	/* by this slot, ever */
	double			 job_start;	/* when it began its job */
	int			 command;	/* the job runs a command */
	int			 quick;		/* its job is of a quick task */
	int64_t			 map;		/* the job is a chunk of this map */
	pid_t			 group;		/* its process group, or 0 */
	uid_t			 cancel_by;
	double			 limit;		/* the job's time limit */
	int			 ending;	/* JOB_TIMEOUT/CANCELLED: killing */
	/* limit.c's: */
	int			 kill_stage;	/* signals sent so far */
	struct event		*limit_ev;	/* time limit, then grace */
	struct handed		 handed[HANDED_MAX];
	int			 nhanded;	/* jobs waiting behind job */
};

/* A worker process in its slot: pool.c owns all but run. */
struct worker {
	int			 slot;		/* 1..N, across all pools */
	int			 pool;		/* its pool's index */
	char			 name[24];	/* "worker-N" */
	pid_t			 pid;
	struct bufferevent	*bev;
	enum worker_state	 state;
	int			 requeue;	/* a stop killed it: requeue */
	int			 retire;	/* its pool shrank: no respawn */
	int			 stopping;	/* we ended it: not a failure */
	int			 eof;		/* socket reached end of file */
	int			 reaped;	/* process collected */
	int			 status;	/* from waitpid */
	int64_t			 ran;		/* jobs ended by its process */
	int			 fails;		/* deaths in a row before a job */
	double			 started;
	struct event		*respawn;
	int			 broken;	/* broke the protocol: unread */
	uid_t			 owner;		/* an external runtime's user */
	gid_t			 owner_gid;
	struct bufferevent	*out;		/* its stdout and stderr */
	int			 outlines;	/* of them logged */
	int			 hello;		/* its runtime said hello */
	struct wframe_head	 head;		/* read; its result is not */
	int			 have_head;
	int			 skip;		/* its result is past the cap */
	size_t			 left;		/* result bytes still to come */
	size_t			 scanned;	/* input known to hold no newline */
	struct evbuffer		*jobs;		/* frames for after the commit */
	size_t			 sealed;	/* bytes of jobs it covers */
	struct run		 run;		/* its job side (sched.c) */
};

extern struct worker	**workers;	/* nworkers of them, by slot */
extern int		 nworkers;

/* What the pool tells whoever runs jobs on it (sched.c). */
struct pool_hooks {
	/*
	 * A worker sent a frame, checked as the worker protocol says, with
	 * its result's text (NUL-terminated), or NULL when it has none or it
	 * was longer than --max-result (then only its length was kept).
	 */
	void	(*frame)(struct worker *, const struct wframe_head *,
		    const char *);
	/*
	 * A worker's process is gone, reaped and its socket closed; returns
	 * whether it had a job (its death is not the worker's failure, and
	 * what its command left is swept).
	 */
	int	(*gone)(struct worker *, const char *);
	/* A retired slot is about to be freed. */
	void	(*freed)(struct worker *);
};

/* Forks the pool, which reports through hooks; returns 0 or -1. */
int	pool_start(struct event_base *, const struct config *,
	    const struct pool_hooks *);
/*
 * Returns an idle worker of a pool (by index) for a job of this owner, or
 * NULL. A builtin pool's worker serves every owner. An external runtime's
 * serves the user it was started as: a slot with no process is started for
 * the owner, and when there is none, an idle worker of another user is
 * ended so that its slot may be (NULL then; the job waits).
 */
struct worker *pool_idle(int, uid_t, gid_t);
/* Number of workers a pool could give jobs now (idle, or startable). */
int	pool_nidle(int);
/* Whether a worker may run a job of this owner and group (an external
 * runtime's runs those it was started as only). */
int	pool_serves(const struct worker *, uid_t, gid_t);
/* Whether a pool's runtime is an external program, and its text. */
int	pool_external(int);
const char *pool_runtime(int);
/*
 * Number of pools; their indexes run from 0, the default pool's. A removed
 * pool keeps its index but is not listed (pool_listed) nor found.
 */
int	pool_count(void);
int	pool_listed(int);
/* Whether a pool was added while mpd ran (mpctl pool add), not set. */
int	pool_added(int);
/* Whether a pool is paused: its queue starts no job. */
int	pool_paused(int);
void	pool_pause(int, int);
/* Sets a pool's size: grows at once; shrinking retires idle workers first
 * and busy ones after their job. */
void	pool_resize(int, int);
/* Adds a pool (name, size, runtime as kept), or brings back a removed
 * one; its index, or -1 when full. */
int	pool_add(const char *, int, const char *);
/* Removes a pool: its workers retire. */
void	pool_remove(int);
/* Workers the listed pools should have in all. */
int	pool_total(void);
/* A pool's name and size. */
const char *pool_name(int);
int	pool_size(int);
/* The index of the pool of this name, or -1. */
int	pool_find(const char *);
/* Whether the n bytes at name make a pool's name (POOL_NAME_CHARS). */
int	pool_name_ok(const char *, size_t);
/* Number of worker processes not yet reaped. */
int	pool_alive(void);
/* Sends one frame line to a worker. */
void	pool_send(struct worker *, const char *, size_t);
/*
 * Queues a job frame for a worker until the tick has committed the job's
 * running state (pool_flush), so no worker begins a job that a failed
 * commit or a crash could leave queued, to run twice.
 */
void	pool_send_job(struct worker *, const char *, size_t);
/* A commit begins: the job frames queued now are the ones it covers. */
void	pool_seal(void);
/* After the commit: sends the job frames it covered. */
void	pool_flush(void);
/* Collects every exited child (SIGCHLD). */
void	pool_reap(void);
/* Stops idle workers; with kill, also kills busy ones and requeues. */
void	pool_stop(int);
/*
 * Kills mpd's children that are not workers (left by a dead worker's job)
 * and returns how many there were.
 */
int	pool_sweep(void);
/* The scheduler gave a worker a job (1), or it has none left (0). */
void	pool_set_busy(struct worker *, int);
/* A worker's process ended a job: it counts toward --max-tasks. */
void	pool_ran(struct worker *);
/* After a job: replaces a worker that ran its quota or grew too big. */
void	pool_check(struct worker *);
/* Kills a worker (a time limit, a cancel, a stop), saying why. */
void	pool_kill(struct worker *, const char *);
/* Kills a worker that broke the worker protocol: no more of its frames. */
void	pool_broken(struct worker *, const char *);
/*
 * The workers array for a status reply (new reference): each worker's
 * name, pid and state, then what describe adds (when not NULL).
 */
json_t	*pool_status(void (*)(const struct worker *, json_t *));
/* Frees the pool's memory at exit. */
void	pool_free(void);

/* worker.c */
/* The child's loop: read a job frame, run it, write the result. */
void	worker_main(int, const struct task_settings *)
	    __attribute__((noreturn));
/* Tells the parent that job's command runs as process group pid. */
void	worker_started(int64_t, pid_t);
/* The descriptor to poll for the parent's frames while a command runs. */
int	worker_control_fd(void);
/*
 * Reads the parent's frames once the control descriptor is readable:
 * returns the last signal asked for (0 for none yet), or -1 when the
 * parent has gone.
 */
int	worker_control(int64_t);
/* The signal asked for by frames read along with the job's, or 0. */
int	worker_control_pending(int64_t);

/* disk.c */
/*
 * Watches the database's disk through its directory (fd and path, kept)
 * with a reserve file of bytes beside base (0: none); a reserve left by
 * the last run is removed at once, for recovery's room.
 */
void	disk_init(struct event_base *, int, const char *, const char *,
	    int64_t);
/* Recovery is done: makes the reserve, or finds the disk full. */
void	disk_ready(void);
/* Before a commit: gives the reserve back if the disk is nearly full. */
void	disk_check(void);
/* Bytes free on the database's disk (INT64_MAX when unknown). */
int64_t	disk_room(void);
/* Bytes of the database's file and its write-ahead log. */
int64_t	disk_db_bytes(void);
/* Whether the disk is full: new work is refused and queued jobs wait. */
int	disk_is_full(void);
void	disk_free_all(void);

/* sweep.c */
/*
 * Cancels a map's queued chunks with this error (JSON text) and time: a
 * slice now, the rest a slice per turn of the loop.
 */
void	 sweep_cancel(int64_t, const char *, double);
/*
 * Deletes a job, and a map's chunks, the same way; a map must be marked
 * loading first, so that nobody sees it meanwhile.
 */
void	 sweep_forget(int64_t);
/*
 * Forgets an ended job (at once) or map (unseen at once, its rows a slice
 * per turn), with its logs. Returns 0, or -1 when the store failed.
 */
int	 forget_job(struct store *, int64_t, int);
/* The error of a map whose chunks are being cancelled, or NULL. */
const char *sweep_cancelling(int64_t);
void	 sweep_init(struct event_base *, struct store *);
void	 sweep_free(void);

/* retain.c */
/* Forgets ended jobs past --keep-ended and --keep-max, once a second. */
void	retain_init(struct event_base *, struct store *,
	    const struct config *);
void	retain_free(void);

/* tick.c */
/* Creates the tick's event; fn is its work (loop.c's). */
void	tick_init(struct event_base *, void (*)(void));
/* Asks for a tick (dispatch, commit, flush) at the end of this iteration. */
void	tick_kick(void);
void	tick_free(void);

/* loop.c (with main.c, the top: it sees every module) */
/* Sets up the tick and the modules it drives. */
void	loop_init(struct event_base *, struct store *,
	    const struct config *);
/* The loop has ended: waits for a commit under way, commits the rest. */
void	loop_finish(void);
void	loop_free(void);

/* sched.c */
/* Sets up the scheduler; on_end hears of each job that reaches its end. */
void	sched_init(struct event_base *, struct store *,
	    const struct config *, void (*)(int64_t));
void	sched_free(void);
/* Workers with a job (running, or being killed), in a pool or all (-1). */
int	sched_nbusy(int);
/* Jobs handed to a pool's workers behind the ones they run. */
int	sched_nhanded(int);
/*
 * Whether a job waits that could run: in the queue of a pool that is
 * listed and not paused (a stop by drain waits for these).
 */
int	sched_runnable(void);
/*
 * The workers array for a status reply (new reference), with jobs done
 * and the running job's id, the latter only when show_jobs (the asker may
 * see every job).
 */
json_t	*sched_status(int);
/* Hands runnable jobs to idle workers, and quick ones ahead to busy ones. */
void	sched_dispatch(void);
/* How the scheduler hears of its workers (pool_start). */
extern const struct pool_hooks sched_pool_hooks;
/*
 * Cancels a job or map. Returns 0 when it ended at once, 1 when a running
 * job is being killed (it ends when its process does), or -1 with *why.
 */
int	sched_cancel(int64_t, uid_t, const char **);

/* limit.c */
/* Sets up time limits' timers on this base. */
void	limit_init(struct event_base *, double);
/* Starts a dispatched job's time limit, if it has one. */
void	limit_start(struct worker *);
/* The worker's job ended: stops its timers. */
void	limit_stop(struct worker *);
/* Frees a worker's timer at exit. */
void	limit_free(struct worker *);
/* Kills a worker's running job, which then ends in state (timeout...). */
void	limit_kill(struct worker *, int);
/* The error object of a job that was killed (new reference). */
json_t	*limit_error(struct worker *);

/* admit.c */
/* run reruns a request that waited for room (ops_dispatch). */
void	admit_init(struct event_base *, struct store *,
	    const struct config *, void (*)(struct client *, const char *,
	    size_t));
/*
 * Admits a submit or map (its request and line) of this many items under
 * --max-queue: returns 1 to go on, or 0 when it was refused (replied) or
 * waits for space.
 */
int	admit(struct client *, json_t *, const char *, const struct reqline *,
	    int64_t);
/* After dispatch: lets in the waiting requests that now fit. */
void	admit_blocked(void);
/* Drops the waiting requests of a client that is going away. */
void	admit_drop_client(struct client *);
/* A stop began: refuses every waiting request. */
void	admit_refuse_all(void);

/* logs.c */
/*
 * Creates, checks and holds the log directory; returns 0, or -1 with
 * *cause set.
 */
int	 logs_init(const char *, char **);
/* The held log directory's descriptor (a worker keeps it across fork). */
int	 logs_fd(void);
/* In a worker: the held log directory is now this descriptor. */
void	 logs_set_fd(int);
/* Closes the held log directory. */
void	 logs_close(void);
/*
 * Creates a job's log file for a stream ("out", "err") afresh, 0600, in
 * the held directory; returns its descriptor, or -1 (logged).
 */
int	 logs_create(int64_t, const char *);
/* Removes a job's log files. */
void	 logs_remove(int64_t);
/*
 * Writes what a runtime's function printed ({"stdout":S,"stderr":S}) to
 * its job's log files, each at most a MiB; errors are logged.
 */
void	 logs_save(int64_t, json_t *);
/* The sizes of a job's two log files (0 for one that is missing). */
void	 logs_sizes(int64_t, int64_t *);
/*
 * Reads up to PROTO_LOGS_CHUNK bytes of a job's stream (0 stdout, 1
 * stderr) from an offset into *data (newly allocated, or NULL); returns
 * the byte count, and sets *more when bytes remain past them.
 */
size_t	 logs_read(int64_t, int, int64_t, char **, int *);

/* peer.c */
/*
 * Takes the next line from in, at most max bytes without its newline,
 * searching only past *scanned (bytes known to hold no newline; updated).
 * Returns 1 with *line (newly allocated, NUL-terminated, newline removed)
 * and *len; 0 when no whole line is in yet; -1 when the line is past max.
 */
int	 peer_line(struct evbuffer *, size_t *, size_t, char **, size_t *);
/*
 * Moves buf to a bufferevent's socket: straight to it when nothing waits
 * before it (no turn of the loop waiting to be writable), the rest (and
 * any error) through the bufferevent. Returns 0, or -1 when the
 * bufferevent refuses it.
 */
int	 peer_send(struct bufferevent *, struct evbuffer *);
/*
 * The first n bytes of buf, to send now (the rest waits for a later
 * commit): buf itself when that is all of it, else a new buffer they are
 * moved to, which the caller frees.
 */
struct evbuffer *peer_prefix(struct evbuffer *, size_t);

/* paths.c */
/*
 * Creates a directory (and missing parents, 0700) and holds it, once it
 * and every directory above it are safe from other users: owned by root
 * or mpd's uid, writable by no one else (a sticky ancestor excepted).
 * Nothing is created before the part that exists is found safe. Returns
 * its descriptor, and its path without symlinks in *real (newly allocated)
 * when real is not NULL; or -1 with *cause set (newly allocated).
 */
int	 paths_dir(const char *, char **, char **);
/*
 * Opens a regular file of mpd's own under a held directory with these
 * open flags, never through a symlink; one it creates is 0600. Returns a
 * descriptor, or -1 with *cause set (newly allocated).
 */
int	 paths_open(int, const char *, int, char **);
/*
 * Opens a file mpd will trust with its own rights (a plugin): it and every
 * directory on the way to it, as written and as it leads, must be root's
 * or mpd's and writable by no one else (sticky or not). Returns a
 * read-only descriptor of the very file checked, or -1 with *cause set.
 */
int	 paths_trusted_file(const char *, char **);
/* Warns, naming the chmod, when others may read a file under dirfd. */
void	 paths_warn_private(int, const char *, const char *);
/* Splits a file path into its directory and name (newly allocated). */
void	 paths_split(const char *, char **, char **);

/* proctitle.c */
void	proctitle_init(int, char **);
void	proctitle_set(const char *);

/* notify.c */
void	notify_ready(void);
void	notify_stopping(void);
/* Sends STATUS= when the text changed since the last one sent. */
void	notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));
/*
 * The listening socket systemd passed (socket activation), or -1 when it
 * passed none, or -2 with *cause set when it passed something else.
 */
int	notify_listen_fd(char **);
/* Starts the watchdog's timer when systemd asked for one. */
void	notify_init(struct event_base *);
void	notify_free(void);

#endif

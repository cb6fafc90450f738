/*
 * <mpd/task.h>: tasks of your own, in C, run by mpd's workers.
 *
 * A plugin is a shared object that mpd loads with --plugin PATH before its
 * workers fork. It defines the two symbols MPD_PLUGIN() makes: the task
 * ABI it was built for, and an init function that registers its tasks
 * through the host. A task is called with its job's args (a JSON array)
 * and kwargs (a JSON object) and returns its result as a new JSON value;
 * or it returns NULL and sets *error to a new object such as
 * {"code":"task_error","message":"..."} (host->error makes one).
 *
 * A task runs in a worker process, as mpd's own user (root for a system
 * daemon), for whichever user submitted the job: treat args as untrusted,
 * and open a path a job names only with host->open, which opens it as the
 * job's owner. A task that never returns costs its worker (the job's time
 * limit kills it); one that crashes kills its worker, which is replaced.
 * Jansson types are those of the jansson library mpd links; link your
 * plugin with it too (pkg-config jansson).
 *
 * Build: cc -shared -fPIC -o myplugin.so myplugin.c $(pkg-config --cflags
 * --libs jansson). The file and every directory above it must be root's
 * (or mpd's user's) and writable by no one else, or mpd refuses it.
 */
#ifndef MPD_TASK_API_H
#define MPD_TASK_API_H

#include <jansson.h>
#include <stdint.h>

/* Raised whenever the structures below change incompatibly. */
#define MPD_TASK_ABI	1

/* The job a task runs (opaque; ask the host about it). */
struct mpd_job;

/* The task ends in microseconds and has no effect but its result. */
#define MPD_TASK_QUICK	0x1

struct mpd_task {
	const char	*name;		/* 1 to 63 of [A-Za-z0-9_.-] */
	const char	*summary;	/* one line, shown nowhere yet */
	unsigned	 flags;		/* MPD_TASK_* */
	json_t		*(*run)(json_t *args, json_t *kwargs,
			    struct mpd_job *job, json_t **error);
	/*
	 * Optional: checks args and kwargs in the daemon when the job is
	 * submitted, so a bad job is refused at once. Returns 0, or -1 with
	 * *cause set to a message from malloc.
	 */
	int		 (*check)(json_t *args, json_t *kwargs, char **cause);
};

/* What mpd offers a plugin. */
struct mpd_host {
	int	 abi;			/* MPD_TASK_ABI of the daemon */
	/* Adds a task (borrowed: it must live as long as the plugin). */
	int	 (*register_task)(const struct mpd_task *);
	/*
	 * The host's calls take the job run was given, and only while run
	 * runs, from its own thread: for any other job they fail (EINVAL,
	 * -1) or do nothing.
	 */
	/* The job's id. */
	int64_t	 (*job_id)(struct mpd_job *);
	/*
	 * open(2) of a path as the job's owner would open it (their uid,
	 * gid and groups), close-on-exec; a relative path is taken from
	 * the worker's directory (/), so give absolute ones. -1 with errno
	 * set on failure.
	 */
	int	 (*open)(struct mpd_job *, const char *, int);
	/* A new error object {"code":"task_error","message":...}. */
	json_t	*(*error)(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
	/*
	 * Reports how far the job is, done of total (0 <= done <= total <=
	 * 2^53); mpctl status shows it while total > 0. Call it as often as
	 * you like: the worker passes on at most ten reports a second, and
	 * the last one when run returns. A map's items report nothing (the
	 * map counts its items itself); a retried job starts from nothing.
	 */
	void	 (*progress)(struct mpd_job *, int64_t done, int64_t total);
};

/* What mpd looks for in a plugin; MPD_PLUGIN(init) defines both. */
extern const int	 mpd_plugin_abi;
int			 mpd_plugin_init(const struct mpd_host *);

/*
 * Defines the plugin's entry points: init(host) registers its tasks and
 * returns 0, or -1 to stop mpd's start.
 */
#define MPD_PLUGIN(init)						\
	const int mpd_plugin_abi = MPD_TASK_ABI;			\
	int mpd_plugin_init(const struct mpd_host *host_)		\
	{								\
		return (init)(host_);					\
	}

#endif

/*
 * Tasks: functions a worker runs, found by name. A task takes its args
 * (a JSON array), kwargs (a JSON object) and the job's context, and
 * returns a new reference to its result, or NULL with *error set to a new
 * error object ({"code":..,"message":..}). A task may return both: a
 * result kept with a failed job (a command that exited non-zero).
 */
#ifndef MPD_TASK_H
#define MPD_TASK_H

#include <sys/resource.h>
#include <sys/types.h>

#include <jansson.h>
#include <stdint.h>

#include <mpd/task.h>

/* The daemon's settings that tasks heed (commands', mostly). */
struct task_settings {
	size_t		 output_cap;	/* bytes of each stream in a result */
	size_t		 log_cap;	/* bytes of each stream in a log; 0 all */
	int64_t		 limit[3];	/* default as, cpu, nofile; 0 none */
	struct rlimit	 user_limit[3];	/* others' jobs: nofile, nproc, core */
	mode_t		 umask;		/* the one mpd was started with */
};

/*
 * What the worker offers a task that runs a process of its own (the
 * commands): telling the parent of it, hearing the parent's signal
 * frames while it runs, and a log file per stream.
 */
struct task_worker {
	/* The job's command runs as process group pid. */
	void	(*started)(int64_t, pid_t);
	/* The descriptor to poll for the parent's frames. */
	int	(*control_fd)(void);
	/*
	 * Reads the parent's frames once control_fd is readable: the last
	 * signal asked for, 0 for none yet, -1 when the parent has gone.
	 */
	int	(*control)(int64_t);
	/* The signal asked for by frames read along with the job's, or 0. */
	int	(*control_pending)(int64_t);
	/* Creates the job's log file for a stream ("out", "err"), or -1. */
	int	(*log_create)(int64_t, const char *);
	/* Reports how far the job is: done of total (sent now and then). */
	void	(*progress)(int64_t, int64_t, int64_t);
};

/* What a task knows of the job it runs. */
struct task_ctx {
	int64_t		 job;
	int		 logs;		/* keep a command's output in log files */
	int		 setuser;	/* run commands as uid/gid (mpd is root) */
	uid_t		 uid;
	gid_t		 gid;
	const struct task_settings *settings;
	const struct task_worker *worker;
};

struct task {
	const char	*name;
	const char	*summary;
	int		 test_only;	/* only with --test-tasks */
	int		 command;	/* runs a process group: kill by frame */
	/*
	 * Ends in microseconds, whatever its arguments, and has no effect
	 * but its result: its jobs may be handed to a worker behind another
	 * quick job (never behind a long one), and sent before the tick's
	 * commit (see sched.c).
	 */
	int		 quick;
	json_t		*(*run)(json_t *, json_t *, struct task_ctx *,
			    json_t **);
	/*
	 * Optional: checks args and kwargs when the job is submitted, so a
	 * bad one is refused at once. Returns 0, or -1 with *cause set
	 * (newly allocated).
	 */
	int		 (*check)(json_t *, json_t *, char **);
	/* A plugin's task: run is the plugin's, through task_run. */
	const struct mpd_task *plugin;
};

/* Runs a task's job (a built-in's or a plugin's run). */
json_t		*task_run(const struct task *, json_t *, json_t *,
		     struct task_ctx *, json_t **);

/* tasks/owner.c: acting as a job's owner (mpd is root, the owner not). */
/* The owner's groups for setgroups, newly allocated; *n of them. */
gid_t		*task_owner_groups(const struct task_ctx *, int *);
/* open(2) as the owner would (uid, gid, groups), close-on-exec. */
int		 task_open_owned(struct task_ctx *, const char *, int);
/*
 * Another user's process starts from a login's limits (open files,
 * processes, core size: user_limit), never above the daemon's own; set
 * before the switch, as a login does. 0 or -1. No allocation: safe in a
 * vfork child.
 */
int		 task_owner_limits(const struct task_settings *);
/* Becomes the owner: its groups (from task_owner_groups), gid, uid; 0 or
 * -1. No allocation. */
int		 task_owner_switch(const struct task_ctx *, const gid_t *, int);
/* The PATH another user's processes start with. */
#define TASK_USER_PATH	"/usr/local/bin:/usr/bin:/bin"
/*
 * A login's environment for uid (PATH, the daemon's LANG, LC_ALL and TZ,
 * HOME, USER, LOGNAME, SHELL): a NULL-terminated array of *n entries,
 * newly allocated; nothing else of the daemon's leaks to it.
 */
char		**task_login_env(uid_t, size_t *);
/* Sets NAME=value in such an array of *n entries, growing it. */
char		**task_env_set(char **, size_t *, const char *, const char *);

/* A task's error object: {"code":"task_error","message":m} (m stolen). */
json_t		*task_error(char *);

/*
 * Adds a task to the registry (borrowed: it must outlive the registry).
 * Returns 0, or -1 when a task of that name is registered already.
 */
int		 task_register(const struct task *);
/* Empties the registry (at exit). */
void		 task_clear(void);
/* Registers the built-in tasks (tasks/builtin.c). */
void		 task_register_builtins(void);

/* Allows or forbids the test-only tasks. */
void		 task_enable_tests(int);
/* Finds a task by name among those enabled; NULL when there is none. */
const struct task *task_find(const char *);
/* The names of the enabled tasks, as a new JSON array. */
json_t		*task_names(void);

/* tasks/basic.c */
extern const struct task task_echo;
extern const struct task task_square;
extern const struct task task_sleep;
extern const struct task task_fail;
extern const struct task task_crash;

/* tasks/exec.c */
extern const struct task task_exec;
extern const struct task task_shell;

#endif

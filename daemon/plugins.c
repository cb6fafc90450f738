/*
 * Task plugins (<mpd/task.h>): shared objects loaded at start, before the
 * workers fork, whose tasks join the registry beside the built-ins. Every
 * failure stops the start with a message naming the file: one that cannot
 * be trusted or loaded, a missing entry point, another task ABI, a task
 * name already taken, an init that refuses.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "tasks/task.h"
#include "xmalloc.h"

#define TASK_NAME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789_.-"
#define TASK_NAME_MAX	63

static void		**handles;	/* dlopen's, to close at exit */
static int		  nhandles;
static struct task	**made;		/* the registry's entries for them */
static int		  nmade;
static const char	 *loading;	/* the plugin being initialised */

/* host->register_task: a plugin's task joins the registry. */
static int
plugins_register(const struct mpd_task *pt)
{
	struct task	*t;
	size_t		 n;

	n = pt->name != NULL ? strlen(pt->name) : 0;
	if (n == 0 || n > TASK_NAME_MAX || strspn(pt->name, TASK_NAME_CHARS) !=
	    n || pt->run == NULL)
		fatalx("plugin %s: a task needs a name of 1 to %d letters, "
		    "digits, '_', '.' and '-', and a run function", loading,
		    TASK_NAME_MAX);
	t = xcalloc(1, sizeof *t);
	t->name = pt->name;
	t->summary = pt->summary != NULL ? pt->summary : "";
	t->quick = (pt->flags & MPD_TASK_QUICK) != 0;
	t->check = pt->check;
	t->plugin = pt;
	if (task_register(t) == -1)
		fatalx("plugin %s: its task \"%s\" has the name of a task "
		    "mpd has already", loading, pt->name);
	made = xreallocarray(made, (size_t)nmade + 1, sizeof *made);
	made[nmade++] = t;
	log_info("plugin %s: task %s", loading, pt->name);
	return 0;
}

/*
 * The job a host call names, if it is the one running: a plugin that kept
 * an old job, or calls from a thread of its own between jobs, gets NULL
 * (never root's rights for someone's file).
 */
static struct task_ctx *
plugins_job(struct mpd_job *job)
{
	struct task_ctx	*ctx = worker_running();

	return ctx != NULL && (struct mpd_job *)ctx == job ? ctx : NULL;
}

/* host->job_id */
static int64_t
plugins_job_id(struct mpd_job *job)
{
	struct task_ctx	*ctx = plugins_job(job);

	return ctx != NULL ? ctx->job : -1;
}

/* host->open */
static int
plugins_open(struct mpd_job *job, const char *path, int flags)
{
	struct task_ctx	*ctx = plugins_job(job);

	if (ctx == NULL) {
		errno = EINVAL;
		return -1;
	}
	return task_open_owned(ctx, path, flags & ~O_PATH);
}

/* host->error */
static json_t *
plugins_error(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	return task_error(msg);
}

/* host->progress */
static void
plugins_progress(struct mpd_job *job, int64_t done, int64_t total)
{
	struct task_ctx	*ctx = plugins_job(job);

	if (ctx != NULL)
		ctx->worker->progress(ctx->job, done, total);
}

static const struct mpd_host host = {
	MPD_TASK_ABI,
	plugins_register,
	plugins_job_id,
	plugins_open,
	plugins_error,
	plugins_progress,
};

/* Loads one plugin and registers its tasks, or stops mpd. */
static void
plugins_load_one(const char *path)
{
	const int	*abi;
	int		 (*init)(const struct mpd_host *);
	char		*cause, proc[64];
	void		*h;
	int		 fd;

	if ((fd = paths_trusted_file(path, &cause)) == -1)
		fatalx("plugin %s", cause);
	/* The file checked is the file loaded, whatever its path does. */
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	h = dlopen(proc, RTLD_NOW | RTLD_LOCAL);
	close(fd);
	if (h == NULL)
		fatalx("plugin %s: %s", path, dlerror());
	handles = xreallocarray(handles, (size_t)nhandles + 1,
	    sizeof *handles);
	handles[nhandles++] = h;
	if ((abi = dlsym(h, "mpd_plugin_abi")) == NULL ||
	    (*(void **)&init = dlsym(h, "mpd_plugin_init")) == NULL)
		fatalx("plugin %s has no %s: is it built with MPD_PLUGIN() of "
		    "<mpd/task.h>?", path, abi == NULL ? "mpd_plugin_abi" :
		    "mpd_plugin_init");
	if (*abi != MPD_TASK_ABI)
		fatalx("plugin %s is built for task ABI %d; this mpd has "
		    "ABI %d: rebuild it against this mpd's <mpd/task.h>", path,
		    *abi, MPD_TASK_ABI);
	loading = path;
	if (init(&host) != 0)
		fatalx("plugin %s: its mpd_plugin_init failed", path);
	loading = NULL;
}

void
plugins_load(char *const *paths, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		plugins_load_one(paths[i]);
}

void
plugins_close(void)
{
	int	i;

	for (i = 0; i < nmade; i++)
		free(made[i]);
	free(made);
	made = NULL;
	nmade = 0;
	for (i = 0; i < nhandles; i++)
		dlclose(handles[i]);
	free(handles);
	handles = NULL;
	nhandles = 0;
}

/*
 * External worker runtimes: a program that a pool's forked slot execs as
 * the owner of the jobs it will run, and that speaks the worker protocol
 * (proto/WORKER.md) on descriptor 3. A pool's runtime is kept as text: ""
 * for builtin (mpd's own worker), "python" for python3 -m mpd.worker, or
 * the absolute path of a program.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "tasks/task.h"
#include "xmalloc.h"

int
runtime_parse(const char *text, char *out, size_t len, char **why)
{
	struct stat	 st;
	char		*cause;
	int		 fd;

	*why = NULL;
	errno = 0;
	if (strcmp(text, "builtin") == 0 || *text == '\0')
		text = "";
	else if (strcmp(text, "python") != 0) {
		if (*text != '/') {
			*why = xasprintf("the runtime \"%s\" is neither builtin, "
			    "python, nor the absolute path of a program", text);
			return -1;
		}
		if (stat(text, &st) == -1 || !S_ISREG(st.st_mode)) {
			*why = xasprintf("the runtime \"%s\" is not a program "
			    "mpd can run: %s", text, errno != 0 ?
			    strerror(errno) : "not a regular file");
			return -1;
		}
		/* It runs as every user: only root or mpd may change it. */
		if ((fd = paths_trusted_file(text, &cause)) == -1) {
			*why = xasprintf("the runtime %s", cause);
			free(cause);
			return -1;
		}
		close(fd);
		if (access(text, X_OK) == -1) {
			*why = xasprintf("the runtime \"%s\" is not a program "
			    "mpd can run: %s", text, strerror(errno));
			return -1;
		}
	}
	if (strlen(text) >= len) {
		*why = xasprintf("the runtime's path is longer than %zu bytes",
		    len - 1);
		return -1;
	}
	snprintf(out, len, "%s", text);
	return 0;
}

const char *
runtime_label(const char *runtime)
{
	return *runtime == '\0' ? "builtin" : runtime;
}

int
runtime_python_found(void)
{
	const char	*path = getenv("PATH");
	char		*copy, *dir, *save = NULL, *file;
	int		 found = 0;

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		file = xasprintf("%s/python3", dir);
		found = access(file, X_OK) == 0;
		free(file);
	}
	free(copy);
	return found;
}

/*
 * mpd's PYTHONPATH, but for entries someone other than root or mpd could
 * change (a module planted there would run as every user): newly
 * allocated, or NULL when nothing is left.
 */
static char *
runtime_pythonpath(void)
{
	const char	*v = getenv("PYTHONPATH");
	char		*copy, *dir, *save = NULL, *out = NULL, *joined;
	struct stat	 st;

	if (v == NULL)
		return NULL;
	copy = xstrdup(v);
	for (dir = strtok_r(copy, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		if (*dir != '/' || stat(dir, &st) == -1 ||
		    !S_ISDIR(st.st_mode) || (st.st_uid != 0 &&
		    st.st_uid != geteuid()) || (st.st_mode & 022) != 0)
			continue;
		joined = out == NULL ? xstrdup(dir) : xasprintf("%s:%s", out,
		    dir);
		free(out);
		out = joined;
	}
	free(copy);
	return out;
}

/*
 * Another user's runtime's environment on a root mpd: a login's, and the
 * part of mpd's PYTHONPATH only root or mpd may change.
 */
static char **
runtime_env(uid_t uid, const char *worker)
{
	char	**env, *path;
	size_t	 n;

	env = task_login_env(uid, &n);
	if ((path = runtime_pythonpath()) != NULL) {
		env = task_env_set(env, &n, "PYTHONPATH", path);
		free(path);
	}
	/* Python: never the working directory first on the import path. */
	env = task_env_set(env, &n, "PYTHONSAFEPATH", "1");
	return task_env_set(env, &n, "MPD_WORKER", worker);
}

void
runtime_exec(const char *runtime, const char *worker, pid_t parent,
    uid_t uid, gid_t gid, const struct task_settings *settings)
{
	static char	*python[] = { "python3", "-m", "mpd.worker", NULL };
	struct task_ctx	 ctx;
	char		*argv[2], **env = NULL;
	gid_t		*groups;
	int		 n;

	memset(&ctx, 0, sizeof ctx);
	ctx.uid = uid;
	ctx.gid = gid;
	/* A root mpd runs each user's runtime as that user, root's as root. */
	ctx.setuser = geteuid() == 0 && uid != 0;
	if (ctx.setuser) {
		groups = task_owner_groups(&ctx, &n);
		if (task_owner_limits(settings) == -1 ||
		    task_owner_switch(&ctx, groups, n) == -1)
			fatal("cannot become uid %ld for runtime %s", (long)uid,
			    runtime);
		free(groups);
		if (setuid(0) != -1)
			fatalx("could become root again after switching to uid "
			    "%ld", (long)uid);
		/* The switch cleared it: the runtime dies with mpd. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(1);
	}
	/*
	 * Another user's runtime gets a clean environment; root's, and that
	 * of a daemon that is not root, mpd's own. Either way it starts in
	 * "/", never in a directory someone could plant modules in, and
	 * Python puts no directory of its own choosing first on its path.
	 */
	if (ctx.setuser)
		env = runtime_env(uid, worker);
	else if (setenv("MPD_WORKER", worker, 1) == -1 ||
	    setenv("PYTHONSAFEPATH", "1", 1) == -1)
		fatal("setenv");
	if (chdir("/") == -1)
		fatal("chdir /");
	/* Orphans of its code go to mpd, which reaps them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 0) == -1)
		fatal("PR_SET_CHILD_SUBREAPER");
	umask(settings->umask);
	/* The worker socket is the one descriptor the runtime inherits. */
	if (fcntl(3, F_SETFD, 0) == -1)
		fatal("fcntl");
	if (strcmp(runtime, "python") == 0) {
		if (env != NULL)
			execvpe(python[0], python, env);
		else
			execvp(python[0], python);
		fatal("cannot run python3 -m mpd.worker");
	}
	argv[0] = (char *)runtime;
	argv[1] = NULL;
	if (env != NULL)
		execve(runtime, argv, env);
	else
		execv(runtime, argv);
	fatal("cannot run the runtime %s", runtime);
}

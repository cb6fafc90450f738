/*
 * Acting as a job's owner: when mpd is root and the owner is not, what a
 * job opens or runs is opened or run with the owner's uid, gid and groups,
 * never with root's.
 */
#include <sys/resource.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "task.h"
#include "xmalloc.h"

gid_t *
task_owner_groups(const struct task_ctx *ctx, int *n)
{
	struct passwd	*pw;
	gid_t		*groups;

	*n = 1;
	groups = xcalloc(1, sizeof *groups);
	groups[0] = ctx->gid;
	if (!ctx->setuser || (pw = getpwuid(ctx->uid)) == NULL)
		return groups;
	*n = 0;
	if (getgrouplist(pw->pw_name, ctx->gid, groups, n) == -1) {
		groups = xreallocarray(groups, (size_t)*n, sizeof *groups);
		if (getgrouplist(pw->pw_name, ctx->gid, groups, n) == -1) {
			*n = 1;
			groups[0] = ctx->gid;
		}
	}
	return groups;
}

/*
 * The worker has one thread: its effective ids and groups are switched to
 * the owner's for the open, then back. A worker that cannot switch back
 * must not run another job as root's stand-in: it exits (and is replaced).
 */
int
task_open_owned(struct task_ctx *ctx, const char *path, int flags)
{
	gid_t	*groups, *saved, egid = getegid();
	uid_t	 euid = geteuid();
	int	 n, nsaved, fd, err;

	flags |= O_CLOEXEC | O_NOCTTY;
	if (!ctx->setuser)
		return open(path, flags, 0600);
	if ((nsaved = getgroups(0, NULL)) == -1)
		return -1;
	saved = xcalloc((size_t)nsaved + 1, sizeof *saved);
	if (getgroups(nsaved, saved) == -1) {
		free(saved);
		return -1;
	}
	groups = task_owner_groups(ctx, &n);
	if (setgroups((size_t)n, groups) == -1 || setegid(ctx->gid) == -1 ||
	    seteuid(ctx->uid) == -1) {
		err = errno;
		fd = -1;
	} else {
		fd = open(path, flags, 0600);
		err = errno;
	}
	free(groups);
	if (seteuid(euid) == -1 || setegid(egid) == -1 ||
	    setgroups((size_t)nsaved, saved) == -1)
		fatal("cannot become root again after opening a file as uid "
		    "%ld", (long)ctx->uid);
	free(saved);
	errno = err;
	return fd;
}

/* The resources of struct task_settings' user_limit, in its order. */
static const int	 user_res[3] = { RLIMIT_NOFILE, RLIMIT_NPROC,
			    RLIMIT_CORE };

int
task_owner_limits(const struct task_settings *settings)
{
	const struct rlimit	*want;
	struct rlimit		 rl;
	int			 i;

	for (i = 0; i < 3; i++) {
		want = &settings->user_limit[i];
		if (getrlimit(user_res[i], &rl) == -1)
			return -1;
		if (want->rlim_max < rl.rlim_max)
			rl.rlim_max = want->rlim_max;
		rl.rlim_cur = want->rlim_cur < rl.rlim_max ? want->rlim_cur :
		    rl.rlim_max;
		if (setrlimit(user_res[i], &rl) == -1)
			return -1;
	}
	return 0;
}

int
task_owner_switch(const struct task_ctx *ctx, const gid_t *groups, int n)
{
	if (setgroups((size_t)n, groups) == -1 || setgid(ctx->gid) == -1 ||
	    setuid(ctx->uid) == -1)
		return -1;
	return 0;
}

char **
task_env_set(char **envp, size_t *n, const char *name, const char *value)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < *n; i++) {
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=') {
			free(envp[i]);
			envp[i] = xasprintf("%s=%s", name, value);
			return envp;
		}
	}
	envp = xreallocarray(envp, *n + 2, sizeof *envp);
	envp[(*n)++] = xasprintf("%s=%s", name, value);
	envp[*n] = NULL;
	return envp;
}

char **
task_login_env(uid_t uid, size_t *n)
{
	static const char *kept[] = { "LANG", "LC_ALL", "TZ" };
	struct passwd	*pw;
	const char	*v;
	char		**envp;
	size_t		 i;

	*n = 0;
	envp = xcalloc(1, sizeof *envp);
	envp = task_env_set(envp, n, "PATH", TASK_USER_PATH);
	for (i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		if ((v = getenv(kept[i])) != NULL)
			envp = task_env_set(envp, n, kept[i], v);
	}
	if ((pw = getpwuid(uid)) != NULL) {
		envp = task_env_set(envp, n, "HOME", pw->pw_dir);
		envp = task_env_set(envp, n, "USER", pw->pw_name);
		envp = task_env_set(envp, n, "LOGNAME", pw->pw_name);
		envp = task_env_set(envp, n, "SHELL", pw->pw_shell);
	}
	return envp;
}

/*
 * Acting as a job's owner: when mpd is root and the owner is not, what a
 * job opens or runs is opened or run with the owner's uid, gid and groups,
 * never with root's.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
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

/*
 * A command's process: forked with vfork into a session of its own, set up
 * as the job's owner with a login's limits when mpd is root, and exec'ed.
 * Why a start failed comes back on a pipe, for the job's error.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "frame.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

/* The resources of struct command's limits. */
static const int	 limit_res[3] = { RLIMIT_AS, RLIMIT_CPU, RLIMIT_NOFILE };

int
spawn_stdin(struct command *cmd)
{
	int	fd;

	if (cmd->input == NULL)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((fd = memfd_create("mpd-stdin", MFD_CLOEXEC)) == -1)
		return -1;
	if (write_all(fd, cmd->input, cmd->input_len) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* In the command's child: report why it could not start, and end. */
static void __attribute__((noreturn))
child_fail(int fd, int stage)
{
	struct exec_fail	f = { stage, errno };
	ssize_t			n;

	n = write(fd, &f, sizeof f);
	(void)n;
	_exit(127);
}

/* In the command's child: set up and exec. Never returns. */
static void __attribute__((noreturn))
exec_child(struct command *cmd, struct task_ctx *ctx, gid_t *groups,
    int ngroups, int in, int out, int err, int report, pid_t worker)
{
	struct rlimit		 rl;
	size_t			 i;

	/*
	 * A session of its own, not only a process group: no job may reach
	 * a terminal mpd was started from (TIOCSTI into a root shell). Its
	 * process group id is its pid either way.
	 */
	if (setsid() == -1)
		child_fail(report, STAGE_EXEC);
	signals_reset();
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		child_fail(report, STAGE_EXEC);
	/* Only 0-2 and the report pipe (close-on-exec) stay open. */
	if (report > 3)
		close_range(3, (unsigned)report - 1, 0);
	close_range((unsigned)report + 1, ~0U, 0);
	/*
	 * Another user's job starts from a login's limits, not mpd's, never
	 * above the daemon's own. Set before the switch, as a login does, so
	 * a user already at the process limit is refused at the switch.
	 */
	if (ctx->setuser && task_owner_limits(ctx->settings) == -1)
		child_fail(report, STAGE_LIMIT);
	if (ctx->setuser && task_owner_switch(ctx, groups, ngroups) == -1)
		child_fail(report, STAGE_USER);
	/*
	 * After the switch: a change of user clears the death signal, and
	 * limits set as the owner can only be lowered, never raised past
	 * the daemon's own (nor, for another user, past a login's).
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != worker)
		_exit(127);
	for (i = 0; i < 3; i++) {
		if (cmd->limit[i] == RLIM_INFINITY)
			continue;
		if (getrlimit(limit_res[i], &rl) == -1)
			child_fail(report, STAGE_LIMIT);
		/* Another user's is held under its hard limit; root's is not. */
		rl.rlim_cur = rl.rlim_max = !ctx->setuser ||
		    cmd->limit[i] < rl.rlim_max ? cmd->limit[i] : rl.rlim_max;
		if (setrlimit(limit_res[i], &rl) == -1)
			child_fail(report, STAGE_LIMIT);
	}
	if (cmd->cwd != NULL && chdir(cmd->cwd) == -1)
		child_fail(report, STAGE_CWD);
	umask(ctx->settings->umask);
	execvpe(cmd->argv[0], cmd->argv, cmd->envp);
	child_fail(report, STAGE_EXEC);
}

/*
 * Starts the command's child with vfork: it shares the worker's memory
 * until it execs, so no page tables are copied only to be thrown away
 * (a worker may have grown large). The child makes system calls only (no
 * allocation, no stdio; glibc's execvpe builds paths on the stack) and
 * writes nothing of the worker's but errno. No handler can run in it: a
 * worker's signals are at their defaults but SIGTERM's, and command_block
 * blocks SIGTERM (and SIGCHLD) before it comes here. The worker has one
 * thread, so setuid and the like are plain system calls. On its own, not
 * inlined, so no local of the caller lives across the vfork.
 */
static pid_t __attribute__((noinline))
exec_spawn(struct command *cmd, struct task_ctx *ctx, gid_t *groups,
    int ngroups, int in, int out, int err, int report, pid_t worker)
{
	pid_t	pid;

	if ((pid = vfork()) == 0)
		exec_child(cmd, ctx, groups, ngroups, in, out, err, report,
		    worker);
	return pid;
}

json_t *
spawn_fail_error(struct command *cmd, struct exec_fail *f)
{
	const char	*what = strerror(f->err);
	json_t		*e;
	char		*msg;

	switch (f->stage) {
	case STAGE_CWD:
		msg = xasprintf("cannot change to directory \"%s\": %s",
		    cmd->cwd, what);
		break;
	case STAGE_USER:
		msg = xasprintf("cannot switch to the job owner's user: %s",
		    what);
		break;
	case STAGE_LIMIT:
		msg = xasprintf("cannot set a resource limit: %s", what);
		break;
	default:
		msg = xasprintf("cannot run \"%s\": %s", cmd->argv[0], what);
		break;
	}
	e = json_pack("{s:s, s:s, s:i}", "code", JOBERR_EXEC_FAILED,
	    "message", msg, "errno", f->err);
	free(msg);
	return e;
}

pid_t
spawn_command(struct command *cmd, struct task_ctx *ctx, int in, int out,
    int err, int report)
{
	gid_t	*groups;
	pid_t	 pid;
	int	 ngroups;

	groups = task_owner_groups(ctx, &ngroups);
	pid = exec_spawn(cmd, ctx, groups, ngroups, in, out, err, report,
	    getpid());
	free(groups);
	return pid;
}

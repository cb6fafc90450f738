/*
 * Command tasks: exec (an argv array, no shell) and shell (/bin/sh -c).
 *
 * The worker forks the command into a process group of its own, with stdin
 * from /dev/null or the given text, stdout and stderr on pipes, and every
 * other descriptor closed. While it runs, the worker copies its output to
 * the job's log files and keeps the first --output-cap bytes of each stream
 * for the result, and obeys the parent's signal frames (time limits and
 * cancel) by signalling the whole group. When the main process exits, the
 * rest of its group is killed, and since the worker is a subreaper, so is
 * anything that left the group (setsid, double forks): every process of
 * the job is reaped before the result goes out.
 */
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "task.h"
#include "util.h"
#include "xmalloc.h"

extern char	**environ;

/* The PATH of another user's command when mpd runs as root. */
#define EXEC_USER_PATH	"/usr/local/bin:/usr/bin:/bin"

/* One captured stream. */
struct capture {
	int	 fd;		/* read end of the pipe, -1 at end of file */
	int	 log;		/* log file, or -1 */
	char	*buf;		/* the first max bytes */
	size_t	 max;		/* the output cap */
	size_t	 len;
	size_t	 total;		/* all bytes read */
};

/* What the command's child reports when it cannot exec. */
struct exec_fail {
	int	 stage;
	int	 err;
};

enum { STAGE_CWD, STAGE_USER, STAGE_LIMIT, STAGE_EXEC };

/* A command's settings, checked from args and kwargs. */
struct command {
	char		**argv;
	char		**envp;
	const char	 *cwd;
	const char	 *input;	/* stdin text, or NULL */
	size_t		  input_len;
	rlim_t		  limit[3];	/* RLIMIT_AS, RLIMIT_CPU, RLIMIT_NOFILE */
};

static const int	 limit_res[3] = { RLIMIT_AS, RLIMIT_CPU, RLIMIT_NOFILE };
static const char	*limit_key[3] = { "as", "cpu", "nofile" };
/* The limits of another user's job before its own (ctx->settings->user_limit). */
static const int	 user_res[3] = { RLIMIT_NOFILE, RLIMIT_NPROC,
			    RLIMIT_CORE };

static volatile sig_atomic_t	orphaned;	/* SIGTERM: the parent died */

/* The argv of exec: strings, or one array of strings (a map item). */
static json_t *
exec_argv_json(json_t *args)
{
	if (json_array_size(args) == 1 &&
	    json_is_array(json_array_get(args, 0)))
		return json_array_get(args, 0);
	return args;
}

/* Checks argv for exec; returns 0 or -1 with *cause set. */
static int
exec_check_args(json_t *args, char **cause)
{
	json_t	*v, *argv = exec_argv_json(args);
	size_t	 i;

	if (json_array_size(argv) == 0) {
		*cause = xstrdup("exec takes the command's argv: at least the "
		    "program's name");
		return -1;
	}
	json_array_foreach(argv, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v)) {
			*cause = xasprintf("exec: argument %zu is not a string "
			    "without NUL bytes", i);
			return -1;
		}
	}
	if (json_string_length(json_array_get(argv, 0)) == 0) {
		*cause = xstrdup("exec: the program's name is empty");
		return -1;
	}
	return 0;
}

/* Checks the script for shell; returns 0 or -1 with *cause set. */
static int
shell_check_args(json_t *args, char **cause)
{
	json_t	*v = json_array_get(args, 0);

	if (json_array_size(args) != 1 || !json_is_string(v) ||
	    json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*cause = xstrdup("shell takes one argument: the script, a "
		    "non-empty string without NUL bytes");
		return -1;
	}
	return 0;
}

/* Checks kwargs shared by exec and shell; returns 0 or -1. */
static int
exec_check_kwargs(json_t *kwargs, char **cause)
{
	static const char *known[] = { "cwd", "env", "env_clear", "stdin",
	    "timeout", "limits" };
	const char	*key;
	json_t		*v, *e;
	size_t		 i;

	json_object_foreach(kwargs, key, v) {
		for (i = 0; i < sizeof known / sizeof known[0]; i++) {
			if (strcmp(key, known[i]) == 0)
				break;
		}
		if (i == sizeof known / sizeof known[0]) {
			*cause = xasprintf("no keyword argument \"%.64s\"; "
			    "they are cwd, env, env_clear, stdin, timeout and "
			    "limits", key);
			return -1;
		}
	}
	if ((v = json_object_get(kwargs, "cwd")) != NULL &&
	    (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))) {
		*cause = xstrdup("cwd must be a non-empty string");
		return -1;
	}
	if ((v = json_object_get(kwargs, "env")) != NULL) {
		if (!json_is_object(v)) {
			*cause = xstrdup("env must be an object of strings");
			return -1;
		}
		json_object_foreach(v, key, e) {
			if (*key == '\0' || strchr(key, '=') != NULL ||
			    !json_is_string(e) || strlen(json_string_value(e))
			    != json_string_length(e)) {
				*cause = xasprintf("env: \"%.64s\" must be a "
				    "name without '=' with a string value", key);
				return -1;
			}
		}
	}
	if ((v = json_object_get(kwargs, "env_clear")) != NULL &&
	    !json_is_boolean(v)) {
		*cause = xstrdup("env_clear must be true or false");
		return -1;
	}
	if ((v = json_object_get(kwargs, "stdin")) != NULL &&
	    !json_is_string(v)) {
		*cause = xstrdup("stdin must be a string");
		return -1;
	}
	if ((v = json_object_get(kwargs, "timeout")) != NULL &&
	    (!json_is_number(v) || json_number_value(v) < 0 ||
	    json_number_value(v) > 1e9)) {
		*cause = xstrdup("timeout must be a number of seconds from 0 "
		    "to 1e9");
		return -1;
	}
	if ((v = json_object_get(kwargs, "limits")) != NULL) {
		if (!json_is_object(v)) {
			*cause = xstrdup("limits must be an object such as "
			    "{\"as\":1e9,\"cpu\":10,\"nofile\":256}");
			return -1;
		}
		json_object_foreach(v, key, e) {
			for (i = 0; i < 3; i++) {
				if (strcmp(key, limit_key[i]) == 0)
					break;
			}
			if (i == 3 || !json_is_number(e) ||
			    json_number_value(e) < 1 ||
			    json_number_value(e) > 9e18) {
				*cause = xasprintf("limits: \"%.64s\" is not "
				    "as, cpu or nofile with a positive number",
				    key);
				return -1;
			}
		}
	}
	return 0;
}

static int
exec_check(json_t *args, json_t *kwargs, char **cause)
{
	if (exec_check_args(args, cause) == -1)
		return -1;
	return exec_check_kwargs(kwargs, cause);
}

static int
shell_check(json_t *args, json_t *kwargs, char **cause)
{
	if (shell_check_args(args, cause) == -1)
		return -1;
	return exec_check_kwargs(kwargs, cause);
}

/* Frees a NULL-terminated array of strings. */
static void
strv_free(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Sets NAME=value in an environment array of n entries, growing it. */
static char **
env_set(char **envp, size_t *n, const char *name, const char *value)
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

/* The command's environment: the daemon's or none, the owner's, kwargs'. */
static char **
exec_env(json_t *kwargs, struct task_ctx *ctx)
{
	static const char *kept[] = { "LANG", "LC_ALL", "TZ" };
	struct passwd	*pw;
	const char	*key, *v_env;
	json_t		*v;
	char		**envp;
	size_t		 n = 0, i;

	envp = xcalloc(1, sizeof *envp);
	if (json_is_true(json_object_get(kwargs, "env_clear")))
		;
	else if (ctx->setuser) {
		/*
		 * Another user's command gets a login's environment, not
		 * root's: nothing of the daemon's settings leaks to it.
		 */
		envp = env_set(envp, &n, "PATH", EXEC_USER_PATH);
		for (i = 0; i < sizeof kept / sizeof kept[0]; i++) {
			if ((v_env = getenv(kept[i])) != NULL)
				envp = env_set(envp, &n, kept[i], v_env);
		}
		if ((pw = getpwuid(ctx->uid)) != NULL) {
			envp = env_set(envp, &n, "HOME", pw->pw_dir);
			envp = env_set(envp, &n, "USER", pw->pw_name);
			envp = env_set(envp, &n, "LOGNAME", pw->pw_name);
			envp = env_set(envp, &n, "SHELL", pw->pw_shell);
		}
	} else {
		for (i = 0; environ[i] != NULL; i++) {
			envp = xreallocarray(envp, n + 2, sizeof *envp);
			envp[n++] = xstrdup(environ[i]);
			envp[n] = NULL;
		}
	}
	json_object_foreach(json_object_get(kwargs, "env"), key, v)
		envp = env_set(envp, &n, key, json_string_value(v));
	return envp;
}

/* Fills a command from checked args and kwargs. */
static void
command_init(struct command *cmd, json_t *argv, json_t *kwargs,
    struct task_ctx *ctx)
{
	const int64_t		*dflt = ctx->settings->limit;
	json_t			*v, *limits;
	size_t			 i;

	memset(cmd, 0, sizeof *cmd);
	cmd->argv = xcalloc(json_array_size(argv) + 1, sizeof *cmd->argv);
	json_array_foreach(argv, i, v)
		cmd->argv[i] = xstrdup(json_string_value(v));
	cmd->envp = exec_env(kwargs, ctx);
	if ((v = json_object_get(kwargs, "cwd")) != NULL)
		cmd->cwd = json_string_value(v);
	if ((v = json_object_get(kwargs, "stdin")) != NULL) {
		cmd->input = json_string_value(v);
		cmd->input_len = json_string_length(v);
	}
	limits = json_object_get(kwargs, "limits");
	for (i = 0; i < 3; i++) {
		cmd->limit[i] = dflt[i] > 0 ? (rlim_t)dflt[i] : RLIM_INFINITY;
		if ((v = json_object_get(limits, limit_key[i])) != NULL)
			cmd->limit[i] = (rlim_t)json_number_value(v);
	}
}

static void
command_free(struct command *cmd)
{
	strv_free(cmd->argv);
	strv_free(cmd->envp);
}

/* The command's stdin: /dev/null, or a memory file holding the text. */
static int
exec_stdin(struct command *cmd)
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
	for (i = 0; ctx->setuser && i < 3; i++) {
		if (getrlimit(user_res[i], &rl) == -1)
			child_fail(report, STAGE_LIMIT);
		if (ctx->settings->user_limit[i].rlim_max < rl.rlim_max)
			rl.rlim_max = ctx->settings->user_limit[i].rlim_max;
		rl.rlim_cur = ctx->settings->user_limit[i].rlim_cur < rl.rlim_max ?
		    ctx->settings->user_limit[i].rlim_cur : rl.rlim_max;
		if (setrlimit(user_res[i], &rl) == -1)
			child_fail(report, STAGE_LIMIT);
	}
	if (ctx->setuser && (setgroups((size_t)ngroups, groups) == -1 ||
	    setgid(ctx->gid) == -1 || setuid(ctx->uid) == -1))
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
 * worker's signals are at their defaults but SIGTERM's, and command_run
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

/* The owner's supplementary groups (newly allocated), for setgroups. */
static gid_t *
exec_groups(struct task_ctx *ctx, int *n)
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

/* Opens a job's log file for one stream, or returns -1. */
static int
exec_log_open(struct task_ctx *ctx, const char *ext)
{
	if (!ctx->logs)
		return -1;
	return logs_create(ctx->job, ext);
}

/* Reads what a pipe holds; at end of file closes it. */
static void
capture_read(struct capture *c)
{
	char	buf[65536];
	ssize_t	n;
	size_t	keep;

	n = read(c->fd, buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	if (c->log != -1 && write_all(c->log, buf, (size_t)n) == -1) {
		log_warn("writing a log file");
		close(c->log);
		c->log = -1;
	}
	if (c->len < c->max) {
		keep = c->max - c->len;
		if (keep > (size_t)n)
			keep = (size_t)n;
		c->buf = xreallocarray(c->buf, c->len + keep, 1);
		memcpy(c->buf + c->len, buf, keep);
		c->len += keep;
	}
	c->total += (size_t)n;
}

/*
 * Kills and reaps every child the worker has: the job's processes that
 * left its group were reparented here, the worker being a subreaper.
 */
static void
exec_sweep(void)
{
	char	 path[64], *line = NULL;
	size_t	 cap = 0;
	FILE	*f;
	long	 pid;

	snprintf(path, sizeof path, "/proc/self/task/%ld/children",
	    (long)getpid());
	for (;;) {
		if ((f = fopen(path, "r")) != NULL) {
			while (getdelim(&line, &cap, ' ', f) != -1) {
				if ((pid = strtol(line, NULL, 10)) > 0)
					kill((pid_t)pid, SIGKILL);
			}
			fclose(f);
		}
		if (waitpid(-1, NULL, 0) == -1 && errno != EINTR)
			break;
	}
	free(line);
}

/*
 * Turns bytes into a JSON string, replacing invalid UTF-8 and NUL bytes
 * with U+FFFD: the result is text for people; the logs keep the bytes.
 */
static json_t *
utf8_lossy(const char *s, size_t len)
{
	json_t	*v;
	char	*out;
	size_t	 i = 0, o = 0, n, k;
	unsigned char c;

	if ((len == 0 || memchr(s, '\0', len) == NULL) &&
	    (v = json_stringn(s, len)) != NULL)
		return v;
	out = xmalloc(len * 3 + 1);
	while (i < len) {
		c = (unsigned char)s[i];
		n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ?
		    3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n > 1 && i + n <= len) {
			for (k = 1; k < n; k++) {
				if (((unsigned char)s[i + k] & 0xc0) != 0x80)
					break;
			}
			if (k == n && (v = json_stringn(s + i, n)) != NULL) {
				json_decref(v);
				memcpy(out + o, s + i, n);
				o += n;
				i += n;
				continue;
			}
		} else if (n == 1 && c != '\0') {
			out[o++] = s[i++];
			continue;
		}
		memcpy(out + o, "\xef\xbf\xbd", 3);
		o += 3;
		i++;
	}
	v = json_stringn(out, o);
	free(out);
	return v;
}

/* Words for a failed start. */
static json_t *
exec_fail_error(struct command *cmd, struct exec_fail *f)
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

/* SIGTERM while a command runs: the parent died (PDEATHSIG). */
static void
exec_term(int sig)
{
	(void)sig;
	orphaned = 1;
}

/* The parent is gone: leave nothing of the job behind, and exit. */
static void __attribute__((noreturn))
exec_abandon(pid_t pid)
{
	if (pid > 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	exec_sweep();
	_exit(1);
}

/* Signals the command's group (and its main process, if it left). */
static void
exec_signal(pid_t pid, int sig)
{
	if (sig <= 0 || sig >= NSIG)
		return;
	kill(-pid, sig);
	kill(pid, sig);
}

/*
 * After a SIGCHLD: drains the signalfd and tells whether the main process
 * has ended, leaving it unreaped (other children may have sent it).
 */
static int
exec_ended(int chld, pid_t pid)
{
	struct signalfd_siginfo	 ssi;
	siginfo_t		 si;

	while (read(chld, &ssi, sizeof ssi) == (ssize_t)sizeof ssi)
		continue;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		fatal("waitid");
	return si.si_pid == pid;
}

/*
 * Runs a command to its end. Returns the result object, with *error set
 * when the command failed; or NULL with *error when it could not start.
 */
static json_t *
command_run(struct command *cmd, struct task_ctx *ctx, json_t **error)
{
	struct capture		 cap[2];
	struct exec_fail	 fail;
	struct sigaction	 sa;
	sigset_t		 block, waitmask;
	struct pollfd		 pfd[4];
	json_t			*result;
	gid_t			*groups;
	double			 start;
	pid_t			 pid, worker;
	int			 in, out[2], err[2], report[2], chld, running = 0;
	int			 ngroups, status = 0, exited = 0, i, n, sig;
	ssize_t			 got;

	memset(cap, 0, sizeof cap);
	/*
	 * SIGTERM (the parent's death) is let through only inside ppoll, so
	 * it is never missed between a check and a wait. SIGCHLD stays
	 * blocked and is read from a signalfd: it tells that the command may
	 * have ended, which waitid then checks without reaping it.
	 */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = exec_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigaddset(&waitmask, SIGCHLD);
	sigdelset(&block, SIGTERM);
	if ((chld = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	sigaddset(&block, SIGTERM);
	groups = exec_groups(ctx, &ngroups);
	if ((in = exec_stdin(cmd)) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1 || pipe2(report, O_CLOEXEC) == -1)
		fatal("setting up a command's descriptors");
	start = time_mono();
	worker = getpid();
	if ((pid = exec_spawn(cmd, ctx, groups, ngroups, in, out[1], err[1],
	    report[1], worker)) == -1)
		fatal("vfork");
	free(groups);
	close(in);
	close(out[1]);
	close(err[1]);
	close(report[1]);

	/* The report pipe closes at exec; a message means it failed. */
	do {
		got = read(report[0], &fail, sizeof fail);
	} while (got == -1 && errno == EINTR);
	close(report[0]);

	cap[0].fd = out[0];
	cap[1].fd = err[0];
	cap[0].max = cap[1].max = ctx->settings->output_cap;
	cap[0].log = exec_log_open(ctx, "out");
	cap[1].log = exec_log_open(ctx, "err");
	if (got != (ssize_t)sizeof fail) {
		running = 1;
		worker_started(ctx->job, pid);
		/* A kill may have come in the same read as the job. */
		exec_signal(pid, worker_control_pending(ctx->job));
	}
	for (i = 0; i < 2; i++)
		fcntl(cap[i].fd, F_SETFL, O_NONBLOCK);

	while (running || cap[0].fd != -1 || cap[1].fd != -1) {
		n = 0;
		for (i = 0; i < 2; i++) {
			pfd[n].fd = cap[i].fd;
			pfd[n++].events = POLLIN;
		}
		pfd[n].fd = running ? chld : -1;
		pfd[n++].events = POLLIN;
		pfd[n].fd = running ? worker_control_fd() : -1;
		pfd[n++].events = POLLIN;
		if (ppoll(pfd, (nfds_t)n, NULL, &waitmask) == -1) {
			if (errno != EINTR)
				fatal("ppoll");
			if (orphaned)
				exec_abandon(exited ? 0 : pid);
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (cap[i].fd != -1 && pfd[i].revents != 0)
				capture_read(&cap[i]);
		}
		if (running && pfd[3].revents != 0) {
			if ((sig = worker_control(ctx->job)) == -1)
				exec_abandon(pid);
			exec_signal(pid, sig);
		}
		if (running && pfd[2].revents != 0 && exec_ended(chld, pid)) {
			/*
			 * The main process ended but is not yet reaped, so
			 * its group id cannot have been reused: kill the rest
			 * of the group, then reap everything.
			 */
			kill(-pid, SIGKILL);
			if (waitpid(pid, &status, 0) == -1)
				fatal("waitpid");
			exited = 1;
			running = 0;
			exec_sweep();
		}
	}
	if (!exited)
		exec_sweep();	/* the child that failed to exec */
	/* Back to dying of SIGTERM, at once if it came meanwhile. */
	close(chld);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	for (i = 0; i < 2; i++) {
		if (cap[i].log != -1)
			close(cap[i].log);
	}
	if (!exited) {
		*error = exec_fail_error(cmd, &fail);
		free(cap[0].buf);
		free(cap[1].buf);
		return NULL;
	}

	result = json_object();
	if (WIFEXITED(status))
		json_object_set_new(result, "exit_code",
		    json_integer(WEXITSTATUS(status)));
	else
		json_object_set_new(result, "signal",
		    json_integer(WTERMSIG(status)));
	json_object_set_new(result, "stdout", utf8_lossy(cap[0].buf,
	    cap[0].len));
	json_object_set_new(result, "stderr", utf8_lossy(cap[1].buf,
	    cap[1].len));
	json_object_set_new(result, "truncated", json_boolean(
	    cap[0].total > cap[0].len || cap[1].total > cap[1].len));
	json_object_set_new(result, "stdout_bytes",
	    json_integer((json_int_t)cap[0].total));
	json_object_set_new(result, "stderr_bytes",
	    json_integer((json_int_t)cap[1].total));
	json_object_set_new(result, "duration_ms", json_integer(
	    (json_int_t)((time_mono() - start) * 1000)));
	json_object_set_new(result, "pid", json_integer(pid));
	free(cap[0].buf);
	free(cap[1].buf);

	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		*error = json_pack("{s:s, s:i}", "code", JOBERR_EXIT,
		    "exit_code", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		*error = json_pack("{s:s, s:i}", "code", JOBERR_KILLED,
		    "signal", WTERMSIG(status));
	return result;
}

/* Sets the message of a command's error from its wait status. */
static void
command_error_message(json_t *error)
{
	json_t	*code = json_object_get(error, "exit_code");
	json_t	*sig = json_object_get(error, "signal");
	char	*msg;

	if (code != NULL)
		msg = xasprintf("the command exited with status %lld",
		    (long long)json_integer_value(code));
	else if (sig != NULL)
		msg = xasprintf("the command was killed by signal %lld (%s)",
		    (long long)json_integer_value(sig),
		    strsignal((int)json_integer_value(sig)));
	else
		return;
	json_object_set_new(error, "message", json_string(msg));
	free(msg);
}

/* Runs a checked command line (argv, stolen) to its end. */
static json_t *
command_task(json_t *argv, json_t *kwargs, struct task_ctx *ctx,
    json_t **error)
{
	struct command	 cmd;
	json_t		*result;

	command_init(&cmd, argv, kwargs, ctx);
	json_decref(argv);
	result = command_run(&cmd, ctx, error);
	if (*error != NULL)
		command_error_message(*error);
	command_free(&cmd);
	return result;
}

static json_t *
exec_run(json_t *args, json_t *kwargs, struct task_ctx *ctx, json_t **error)
{
	char	*cause = NULL;

	if (exec_check(args, kwargs, &cause) == -1) {
		*error = task_error(cause);
		return NULL;
	}
	return command_task(json_incref(exec_argv_json(args)), kwargs, ctx,
	    error);
}

static json_t *
shell_run(json_t *args, json_t *kwargs, struct task_ctx *ctx, json_t **error)
{
	char	*cause = NULL;

	if (shell_check(args, kwargs, &cause) == -1) {
		*error = task_error(cause);
		return NULL;
	}
	return command_task(json_pack("[s, s, O]", "/bin/sh", "-c",
	    json_array_get(args, 0)), kwargs, ctx, error);
}

const struct task task_exec = {
	.name = "exec", .summary = "argv... -> run a command (no shell); its "
	"exit code and output", .command = 1, .run = exec_run,
	.check = exec_check
};
const struct task task_shell = {
	.name = "shell", .summary = "script -> run it with /bin/sh -c; its "
	"exit code and output", .command = 1, .run = shell_run,
	.check = shell_check
};

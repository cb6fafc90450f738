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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "proto.h"
#include "command.h"
#include "task.h"
#include "util.h"
#include "xmalloc.h"

extern char	**environ;

static const char	*limit_key[3] = { "as", "cpu", "nofile" };
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

/* The command's environment: the daemon's or none, the owner's, kwargs'. */
static char **
exec_env(json_t *kwargs, struct task_ctx *ctx)
{
	const char	*key;
	json_t		*v;
	char		**envp;
	size_t		 n = 0, i;

	if (json_is_true(json_object_get(kwargs, "env_clear")))
		envp = xcalloc(1, sizeof *envp);
	else if (ctx->setuser) {
		/*
		 * Another user's command gets a login's environment, not
		 * root's: nothing of the daemon's settings leaks to it.
		 */
		envp = task_login_env(ctx->uid, &n);
	} else {
		envp = xcalloc(1, sizeof *envp);
		for (i = 0; environ[i] != NULL; i++) {
			envp = xreallocarray(envp, n + 2, sizeof *envp);
			envp[n++] = xstrdup(environ[i]);
			envp[n] = NULL;
		}
	}
	json_object_foreach(json_object_get(kwargs, "env"), key, v)
		envp = task_env_set(envp, &n, key, json_string_value(v));
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

/* Opens a job's log file for one stream, or returns -1. */
static int
exec_log_open(struct task_ctx *ctx, const char *ext)
{
	if (!ctx->logs)
		return -1;
	return ctx->worker->log_create(ctx->job, ext);
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
 * From here on SIGTERM (the parent's death) is let through only inside
 * ppoll (waitmask), so it is never missed between a check and a wait, and
 * SIGCHLD stays blocked and is read from the returned signalfd: it tells
 * that the command may have ended, which waitid then checks without
 * reaping it. block gets what command_unblock lets go again.
 */
static int
command_block(sigset_t *block, sigset_t *waitmask)
{
	struct sigaction	sa;
	int			chld;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = exec_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(block);
	sigaddset(block, SIGTERM);
	sigaddset(block, SIGCHLD);
	sigprocmask(SIG_BLOCK, block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigaddset(waitmask, SIGCHLD);
	sigdelset(block, SIGTERM);
	if ((chld = signalfd(-1, block, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	sigaddset(block, SIGTERM);
	return chld;
}

/* Back to dying of SIGTERM, at once if it came meanwhile. */
static void
command_unblock(int chld, const sigset_t *block)
{
	struct sigaction	sa;

	close(chld);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigprocmask(SIG_UNBLOCK, block, NULL);
}

/*
 * Copies the command's output and obeys the parent's signal frames until
 * its main process has ended (running) and both streams are closed; then
 * kills what is left of the job and reaps it all. Returns 1 with *status
 * when the command ran, 0 when it never started.
 */
static int
command_wait(struct task_ctx *ctx, pid_t pid, int running, int chld,
    const sigset_t *waitmask, struct capture *cap, int *status)
{
	struct pollfd	pfd[4];
	int		exited = 0, i, n, sig;

	while (running || cap[0].fd != -1 || cap[1].fd != -1) {
		n = 0;
		for (i = 0; i < 2; i++) {
			pfd[n].fd = cap[i].fd;
			pfd[n++].events = POLLIN;
		}
		pfd[n].fd = running ? chld : -1;
		pfd[n++].events = POLLIN;
		pfd[n].fd = running ? ctx->worker->control_fd() : -1;
		pfd[n++].events = POLLIN;
		if (ppoll(pfd, (nfds_t)n, NULL, waitmask) == -1) {
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
			if ((sig = ctx->worker->control(ctx->job)) == -1)
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
			if (waitpid(pid, status, 0) == -1)
				fatal("waitpid");
			exited = 1;
			running = 0;
			exec_sweep();
		}
	}
	if (!exited)
		exec_sweep();	/* the child that failed to exec */
	return exited;
}

/*
 * The result of a command that ran (its status, output, duration and pid),
 * with *error set when it exited non-zero or was killed.
 */
static json_t *
command_result(int status, const struct capture *cap, double start,
    pid_t pid, json_t **error)
{
	json_t	*result = json_object();

	if (WIFEXITED(status))
		json_object_set_new(result, "exit_code",
		    json_integer(WEXITSTATUS(status)));
	else
		json_object_set_new(result, "signal",
		    json_integer(WTERMSIG(status)));
	json_object_set_new(result, "stdout", capture_text(&cap[0]));
	json_object_set_new(result, "stderr", capture_text(&cap[1]));
	json_object_set_new(result, "truncated", json_boolean(
	    cap[0].total > cap[0].len || cap[1].total > cap[1].len));
	json_object_set_new(result, "stdout_bytes",
	    json_integer((json_int_t)cap[0].total));
	json_object_set_new(result, "stderr_bytes",
	    json_integer((json_int_t)cap[1].total));
	json_object_set_new(result, "duration_ms", json_integer(
	    (json_int_t)((time_mono() - start) * 1000)));
	json_object_set_new(result, "pid", json_integer(pid));
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		*error = json_pack("{s:s, s:i}", "code", JOBERR_EXIT,
		    "exit_code", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		*error = json_pack("{s:s, s:i}", "code", JOBERR_KILLED,
		    "signal", WTERMSIG(status));
	return result;
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
	sigset_t		 block, waitmask;
	json_t			*result = NULL;
	double			 start;
	pid_t			 pid;
	int			 in, out[2], err[2], report[2], chld, i;
	int			 status = 0, running = 0, ran;
	ssize_t			 got;

	memset(cap, 0, sizeof cap);
	chld = command_block(&block, &waitmask);
	if ((in = spawn_stdin(cmd)) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1 || pipe2(report, O_CLOEXEC) == -1)
		fatal("setting up a command's descriptors");
	start = time_mono();
	if ((pid = spawn_command(cmd, ctx, in, out[1], err[1], report[1])) ==
	    -1)
		fatal("vfork");
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
	cap[0].log_cap = cap[1].log_cap = ctx->settings->log_cap;
	cap[0].log = exec_log_open(ctx, "out");
	cap[1].log = exec_log_open(ctx, "err");
	if (got != (ssize_t)sizeof fail) {
		running = 1;
		ctx->worker->started(ctx->job, pid);
		/* A kill may have come in the same read as the job. */
		exec_signal(pid, ctx->worker->control_pending(ctx->job));
	}
	for (i = 0; i < 2; i++)
		fcntl(cap[i].fd, F_SETFL, O_NONBLOCK);

	ran = command_wait(ctx, pid, running, chld, &waitmask, cap, &status);
	command_unblock(chld, &block);
	for (i = 0; i < 2; i++)
		capture_close_log(&cap[i]);
	if (ran) {
		result = command_result(status, cap, start, pid, error);
		if (ctx->logs)
			json_object_set_new(result, "log_truncated",
			    json_boolean(capture_log_cut(&cap[0]) ||
			    capture_log_cut(&cap[1])));
	}
	else
		*error = spawn_fail_error(cmd, &fail);
	free(cap[0].buf);
	free(cap[1].buf);
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

/*
 * mpctl run: run a command on a worker, show its output as it comes, and
 * exit with its status (Pool.apply).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpctl.h"
#include "xmalloc.h"

static int	run_exec(int, char **);

const struct cmd cmd_run = {
	"run", "[OPTION...] [--] CMD [ARG...]",
"Run a command on one of the daemon's workers, write its stdout and stderr\n"
"here as it prints them, and exit with its exit status: 128+N when a signal\n"
"N killed it, 127 when the command was not found, 126 when it could not be\n"
"run, 4 when it ran past --timeout. CMD is looked up in the daemon's PATH.\n"
"An interrupt (ctrl-C) or SIGTERM cancels the job; a second one stops\n"
"mpctl at once.\n"
"\n"
"      --timeout S     kill the command after S seconds (default: the\n"
"                      daemon's --job-timeout)\n"
"  -C, --cwd DIR       run in DIR (default: the current directory)\n"
"  -e, --env K=V       set an environment variable (repeatable)\n"
"      --env-clear     start from an empty environment, not the daemon's\n"
"  -i, --stdin         send all of standard input (text) to the command\n"
"                      (default: it reads /dev/null)\n"
"      --shell         run the words, joined by spaces, with /bin/sh -c\n"
"  -n, --name NAME     a name to show in status and list\n"
"  -p, --priority P    higher runs first (default 0)\n"
"  -P, --pool NAME     run in this pool of the daemon's (default: default)\n"
"  -h, --help          show this help\n",
	run_exec
};

/* The job, and whether a signal asked to cancel it before it had an id. */
struct run_job {
	int64_t	id;
	int	interrupted;
};

/* Called on SIGINT or SIGTERM: cancels the job, or asks for it. */
static void
run_interrupted(void *arg)
{
	struct run_job	*job = arg;

	job->interrupted = 1;
	if (job->id > 0)
		ctl_cancel(&job->id, 1);
}

/* Sets kwargs.stdin to all of stdin, which must be text; 0 or -1. */
static int
run_stdin(json_t *req)
{
	json_t	*v;
	char	*data = xmalloc(65536);
	size_t	 len = 0, cap = 65536, n;

	while ((n = fread(data + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			data = xreallocarray(data, cap, 1);
		}
	}
	if (ferror(stdin)) {
		perror("mpctl: reading standard input");
		free(data);
		return -1;
	}
	v = memchr(data, '\0', len) == NULL ? json_stringn(data, len) : NULL;
	free(data);
	if (v == NULL) {
		fprintf(stderr, "mpctl: --stdin sends text, and standard input "
		    "is not UTF-8 text (binary input cannot be sent)\n");
		return -1;
	}
	json_object_set_new(json_object_get(req, "kwargs"), "stdin", v);
	return 0;
}

/* The args: the words, or with --shell one script of them all. */
static json_t *
run_args(int shell, int argc, char **argv)
{
	json_t	*args = json_array();
	char	*script, *next;
	int	 i;

	if (!shell) {
		for (i = 0; i < argc; i++)
			json_array_append_new(args, ctl_string(argv[i]));
		return args;
	}
	script = xstrdup(argv[0]);
	for (i = 1; i < argc; i++) {
		next = xasprintf("%s %s", script, argv[i]);
		free(script);
		script = next;
	}
	json_array_append_new(args, ctl_string(script));
	free(script);
	return args;
}

/*
 * Turns the ended job's get reply into run's exit status: the command's
 * own when it exited (silently, as a shell would), else after a message.
 */
static int
run_status(json_t *reply, int64_t id)
{
	json_t		*result = json_object_get(reply, "result");
	json_t		*error = json_object_get(reply, "error");
	json_t		*code = json_object_get(result, "exit_code");
	const char	*state, *ecode, *msg;
	int		 sig;

	if (!json_is_true(json_object_get(reply, "ok")))
		return ctl_refused(reply);
	state = json_string_value(json_object_get(reply, "state"));
	if (state == NULL)
		state = "failed";
	if (json_is_integer(code) && (strcmp(state, "done") == 0 ||
	    strcmp(state, "failed") == 0))
		return (int)(json_integer_value(code) & 255);
	if (strcmp(state, "done") == 0)
		return EXIT_OK;
	ecode = json_string_value(json_object_get(error, "code"));
	msg = json_string_value(json_object_get(error, "message"));
	sig = (int)json_integer_value(json_object_get(result, "signal"));
	fprintf(stderr, "mpctl: job %lld: %s\n", (long long)id,
	    ctl_safe(msg != NULL ? msg : state));
	if (strcmp(state, "timeout") == 0)
		return EXIT_TIMEOUT;
	if (sig > 0)
		return 128 + (sig & 127);
	if (ecode != NULL && strcmp(ecode, "exec_failed") == 0)
		return msg != NULL && strstr(msg, "No such file or directory")
		    != NULL ? 127 : 126;
	return EXIT_JOB_FAILED;
}

static int
run_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_EXEC_LONGOPTS,
		{ "stdin", no_argument, NULL, 'i' },
		{ "shell", no_argument, NULL, OPT_SHELL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct run_job	 job = { 0, 0 };
	struct mpc	*c;
	json_t		*req, *reply;
	int		 ch, shell = 0, in = 0, rc = EXIT_USAGE;

	req = json_pack("{s:s}", "op", "submit");
	while ((ch = getopt_long(argc, argv, "+" CTL_EXEC_SHORTOPTS "ih",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			in = 1;
			break;
		case OPT_SHELL:
			shell = 1;
			break;
		case 'h':
			rc = ctl_help(&cmd_run);
			goto out;
		default:
			rc = ctl_exec_option(&cmd_run, req, ch, optarg);
			if (rc == -1)
				continue;
			goto out;
		}
	}
	if (optind >= argc) {
		rc = ctl_usage(&cmd_run);
		goto out;
	}
	json_object_set_new(req, "task", json_string(shell ? "shell" :
	    "exec"));
	json_object_set_new(req, "args", run_args(shell, argc - optind,
	    argv + optind));
	if (ctl_exec_cwd(req) == -1 || (in && run_stdin(req) == -1))
		goto out;

	c = ctl_connect();
	ctl_catch(run_interrupted, &job);
	reply = ctl_call(c, req);
	req = NULL;
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else {
		job.id = json_integer_value(json_object_get(reply, "job"));
		if (job.interrupted)
			ctl_cancel(&job.id, 1);
		rc = ctl_logs(c, job.id, 1);
		if (rc == EXIT_PIPE) {
			/* Its reader is gone: the command need not go on. */
			ctl_cancel(&job.id, 1);
		} else if (rc == EXIT_OK || rc == EXIT_JOB_FAILED) {
			json_decref(reply);
			reply = ctl_call(c, json_pack("{s:s, s:I}", "op",
			    "get", "job", (json_int_t)job.id));
			rc = run_status(reply, job.id);
		}
	}
	json_decref(reply);
	mpc_close(c);
out:
	json_decref(req);
	return rc;
}

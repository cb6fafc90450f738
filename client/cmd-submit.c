/* mpctl submit: queue one job (apply_async) and print its id. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpctl.h"

static int	submit_run(int, char **);

const struct cmd cmd_submit = {
	"submit", "[--pool NAME] [--name N] [--priority P] [--kwargs JSON] TASK "
	"[ARG...]",
"Queue one job and print its id on stdout at once; \"mpctl get ID\" fetches\n"
"the result later. Each ARG is JSON when it parses as JSON, else a string;\n"
"for the exec and shell tasks every ARG is a string.\n"
"\n"
"  -n, --name NAME          a name to show in status and list\n"
"  -p, --priority P         higher runs first (default 0)\n"
"  -P, --pool NAME          run in this pool of the daemon's (default: the\n"
"                           default pool); \"mpctl pool\" lists them\n"
"  -k, --kwargs JSON        keyword arguments, a JSON object\n"
"  -a, --max-attempts N     attempts in all before the job fails (default 1)\n"
"      --retry-on CAUSES    which failed attempts are retried, comma-separated:\n"
"                           worker_died, interrupted (the default), timeout,\n"
"                           error\n"
"      --retry-delay S      seconds before the first retry, doubling after\n"
"                           each (default 0.5, at most 60)\n"
"      --no-block           when the daemon's queue is full (mpd --max-queue),\n"
"                           fail at once (exit 6) instead of waiting for room\n"
"      --block-timeout S    wait at most S seconds for room in a full queue\n"
"      --timeout S          the job's time limit in seconds, counted from\n"
"                           its start (default: the daemon's --job-timeout)\n"
"  -h, --help               show this help\n",
	submit_run
};

/* Sets retry_on from a comma-separated list; 0, or -1 after a message. */
static int
submit_retry_on(json_t *req, const char *list)
{
	json_t	*causes = json_array();
	char	*copy, *word, *rest;

	copy = strdup(list);
	if (copy == NULL) {
		perror("mpctl");
		exit(EXIT_UNREACHABLE);
	}
	for (rest = copy; (word = strsep(&rest, ",")) != NULL;) {
		if (strcmp(word, "worker_died") != 0 &&
		    strcmp(word, "interrupted") != 0 &&
		    strcmp(word, "timeout") != 0 && strcmp(word, "error") != 0) {
			fprintf(stderr, "mpctl: --retry-on takes worker_died, "
			    "interrupted, timeout and error, not \"%s\"\n",
			    word);
			json_decref(causes);
			free(copy);
			return -1;
		}
		json_array_append_new(causes, json_string(word));
	}
	free(copy);
	json_object_set_new(req, "retry_on", causes);
	return 0;
}

static int
submit_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "priority", required_argument, NULL, 'p' },
		{ "pool", required_argument, NULL, 'P' },
		{ "kwargs", required_argument, NULL, 'k' },
		{ "max-attempts", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "retry-on", required_argument, NULL, OPT_RETRY_ON },
		{ "retry-delay", required_argument, NULL, OPT_RETRY_DELAY },
		{ "no-block", no_argument, NULL, OPT_NO_BLOCK },
		{ "block-timeout", required_argument, NULL, OPT_BLOCK_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	json_t		*req, *args, *reply;
	const char	*task;
	int64_t		 n;
	int		 ch, i, strings, rc = EXIT_USAGE;

	req = json_pack("{s:s}", "op", "submit");
	while ((ch = getopt_long(argc, argv, "+n:p:P:k:a:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'a':
			if ((n = ctl_id(optarg)) == -1) {
				fprintf(stderr, "mpctl: --max-attempts takes a "
				    "whole number from 1\n");
				goto out;
			}
			json_object_set_new(req, "max_attempts",
			    json_integer(n));
			break;
		case 'k':
			if (ctl_kwargs(req, optarg) == -1)
				goto out;
			break;
		case OPT_RETRY_ON:
			if (submit_retry_on(req, optarg) == -1)
				goto out;
			break;
		case OPT_NO_BLOCK:
			json_object_set_new(req, "block", json_false());
			break;
		case OPT_BLOCK_TIMEOUT:
			if (ctl_seconds(optarg) < 0) {
				fprintf(stderr, "mpctl: --block-timeout takes a "
				    "number of seconds\n");
				goto out;
			}
			json_object_set_new(req, "block_timeout",
			    json_real(ctl_seconds(optarg)));
			break;
		case OPT_RETRY_DELAY:
			if (ctl_seconds(optarg) < 0) {
				fprintf(stderr, "mpctl: --retry-delay takes a "
				    "number of seconds\n");
				goto out;
			}
			json_object_set_new(req, "retry_delay",
			    json_real(ctl_seconds(optarg)));
			break;
		case 'h':
			rc = ctl_help(&cmd_submit);
			goto out;
		default:
			rc = ctl_job_option(&cmd_submit, req, ch, optarg);
			if (rc == -1)
				continue;
			goto out;
		}
	}
	if (optind >= argc) {
		rc = ctl_usage(&cmd_submit);
		goto out;
	}
	task = argv[optind];
	json_object_set_new(req, "task", ctl_string(task));
	/* A command line is words: "echo 1" must not send the number 1. */
	strings = strcmp(task, "exec") == 0 || strcmp(task, "shell") == 0;
	args = json_array();
	for (i = optind + 1; i < argc; i++)
		json_array_append_new(args, strings ? ctl_string(argv[i]) :
		    ctl_value(argv[i]));
	json_object_set_new(req, "args", args);

	c = ctl_connect();
	reply = ctl_call(c, req);
	req = NULL;
	if (json_is_true(json_object_get(reply, "ok"))) {
		printf("%lld\n", (long long)json_integer_value(
		    json_object_get(reply, "job")));
		rc = EXIT_OK;
	} else
		rc = ctl_refused(reply);
	json_decref(reply);
	mpc_close(c);
out:
	json_decref(req);
	return rc;
}

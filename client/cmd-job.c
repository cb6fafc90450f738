/* mpctl cancel and forget: one op on one job id. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "mpctl.h"

static int	cancel_run(int, char **);
static int	forget_run(int, char **);

const struct cmd cmd_cancel = {
	"cancel", "ID",
"Cancel a job or map: a queued one never runs; a running one is killed\n"
"(SIGTERM to its process group, SIGKILL after the daemon's --kill-grace),\n"
"and mpctl returns once it has ended. Either way it ends in state cancelled.\n"
"\n"
"  -h, --help   show this help\n",
	cancel_run
};

const struct cmd cmd_forget = {
	"forget", "ID",
"Delete an ended job (or map) and its result from the store.\n"
"\n"
"  -h, --help   show this help\n",
	forget_run
};

/* Sends {"op":op,"job":ID} for the one argument. */
static int
job_op(const struct cmd *cmd, const char *op, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	json_t		*reply;
	const char	*state;
	int64_t		 id;
	int		 ch, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (ch == 'h')
			return ctl_help(cmd);
		return ctl_usage(cmd);
	}
	if ((id = ctl_job_arg(cmd, argc, argv)) == -1)
		return EXIT_USAGE;
	c = ctl_connect();
	reply = ctl_call(c, json_pack("{s:s, s:I}", "op", op, "job",
	    (json_int_t)id));
	state = json_string_value(json_object_get(reply, "state"));
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else if (state != NULL && strcmp(state, "cancelled") != 0)
		fprintf(stderr, "mpctl: job %lld ended as %s before it could "
		    "be cancelled\n", (long long)id, ctl_safe(state));
	json_decref(reply);
	mpc_close(c);
	return rc;
}

static int
cancel_run(int argc, char **argv)
{
	return job_op(&cmd_cancel, "cancel", argc, argv);
}

static int
forget_run(int argc, char **argv)
{
	return job_op(&cmd_forget, "forget", argc, argv);
}

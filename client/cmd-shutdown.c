/* mpctl shutdown: stop the daemon (Pool close+join or terminate). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpctl.h"

static int	shutdown_run(int, char **);

const struct cmd cmd_shutdown = {
	"shutdown", "[--drain | --now] [--wait]",
"Stop the daemon. By default running jobs may finish within the daemon's\n"
"grace period and queued jobs stay queued for the next start.\n"
"\n"
"  -d, --drain   run every queued job first, then stop (Pool close+join)\n"
"  -n, --now     stop running jobs at once and requeue them (terminate)\n"
"  -w, --wait    return only when the daemon has exited\n"
"  -h, --help    show this help\n",
	shutdown_run
};

static int
shutdown_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "drain", no_argument, NULL, 'd' },
		{ "now", no_argument, NULL, 'n' },
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	json_t		*reply;
	const char	*mode = "graceful";
	char		*cause = NULL;
	int		 ch, wait = 0, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "+dnwh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			mode = "drain";
			break;
		case 'n':
			mode = "now";
			break;
		case 'w':
			wait = 1;
			break;
		case 'h':
			return ctl_help(&cmd_shutdown);
		default:
			return ctl_usage(&cmd_shutdown);
		}
	}
	if (optind != argc)
		return ctl_usage(&cmd_shutdown);
	c = ctl_connect();
	reply = ctl_call(c, json_pack("{s:s, s:s}", "op", "shutdown", "mode",
	    mode));
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else if (wait) {
		/* The daemon closes every connection as it exits. */
		json_t *r = mpc_wait(c, -1, &cause);
		json_decref(r);
		free(cause);
	}
	json_decref(reply);
	mpc_close(c);
	return rc;
}

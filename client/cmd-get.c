/* mpctl get: wait for a job and print its result (AsyncResult.get). */
#include <getopt.h>
#include <stdio.h>

#include "mpctl.h"

static int	get_run(int, char **);

const struct cmd cmd_get = {
	"get", "[--timeout SEC] ID",
"Wait for a job (or map) to end and print its result as JSON on stdout.\n"
"A job that failed, timed out or was cancelled prints its error on stderr\n"
"and exits 1; when --timeout runs out first, mpctl exits 4.\n"
"\n"
"  -t, --timeout SEC   wait at most this long (default: for ever; 0: do not\n"
"                      wait)\n"
"  -h, --help          show this help\n",
	get_run
};

static int
get_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	double		 timeout = -1;
	int64_t		 id;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, "+t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if ((timeout = ctl_seconds(optarg)) < 0) {
				fprintf(stderr, "mpctl: --timeout takes a "
				    "number of seconds\n");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			return ctl_help(&cmd_get);
		default:
			return ctl_usage(&cmd_get);
		}
	}
	if ((id = ctl_job_arg(&cmd_get, argc, argv)) == -1)
		return EXIT_USAGE;
	c = ctl_connect();
	rc = ctl_get(c, id, timeout);
	mpc_close(c);
	return rc;
}

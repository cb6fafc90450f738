/* mpctl pool: the daemon's pools of workers. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "mpctl.h"

static int	pool_run(int, char **);

const struct cmd cmd_pool = {
	"pool", "[--json] [list]",
"List the daemon's pools: each one's name, runtime, size, busy and idle\n"
"workers, queued jobs (your own, unless you are root or the daemon's\n"
"user) and whether it is paused. A job runs in the pool it names (mpctl\n"
"submit, run and map -P NAME), else in \"default\"; mpd --pool adds pools.\n"
"\n"
"  -j, --json   print the daemon's reply as JSON (a \"pools\" array)\n"
"  -h, --help   show this help\n",
	pool_run
};

/* Prints the pools for people. */
static void
pool_list(json_t *r)
{
	json_t		*p;
	size_t		 i;

	printf("%-16s %-8s %5s %5s %5s %8s %s\n", "NAME", "RUNTIME", "SIZE",
	    "BUSY", "IDLE", "QUEUED", "PAUSED");
	json_array_foreach(json_object_get(r, "pools"), i, p) {
		printf("%-16s %-8s %5lld %5lld %5lld %8lld %s\n",
		    ctl_safe(json_string_value(json_object_get(p, "name"))),
		    ctl_safe(json_string_value(json_object_get(p, "runtime"))),
		    (long long)json_integer_value(json_object_get(p, "size")),
		    (long long)json_integer_value(json_object_get(p, "busy")),
		    (long long)json_integer_value(json_object_get(p, "idle")),
		    (long long)json_integer_value(json_object_get(p,
		    "queued")), json_is_true(json_object_get(p, "paused")) ?
		    "yes" : "no");
	}
}

static int
pool_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	json_t		*reply;
	int		 ch, json = 0, rc = EXIT_OK;

	/* Options may follow the action: "mpctl pool list --json". */
	while ((ch = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			return ctl_help(&cmd_pool);
		default:
			return ctl_usage(&cmd_pool);
		}
	}
	if (argc - optind > 1 || (optind < argc &&
	    strcmp(argv[optind], "list") != 0)) {
		if (optind < argc)
			fprintf(stderr, "mpctl pool: unknown action \"%s\"; "
			    "this mpctl knows list\n", ctl_safe(argv[optind]));
		return ctl_usage(&cmd_pool);
	}
	c = ctl_connect();
	reply = ctl_call(c, json_pack("{s:s}", "op", "pools"));
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else if (json)
		ctl_print(json_object_get(reply, "pools"));
	else
		pool_list(reply);
	json_decref(reply);
	mpc_close(c);
	return rc;
}

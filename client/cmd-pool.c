/* mpctl pool: the daemon's pools of workers. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "mpctl.h"

static int	pool_run(int, char **);

const struct cmd cmd_pool = {
	"pool", "[--json] [list | ACTION NAME [N [RUNTIME]]]",
"list (the default): the daemon's pools, each one's name, runtime, size,\n"
"busy and idle workers, queued jobs (your own, unless you are root or the\n"
"daemon's user) and whether it is paused. A job runs in the pool it names\n"
"(mpctl submit, run and map -P NAME), else in \"default\".\n"
"\n"
"The other actions are for root and the daemon's user, and last across\n"
"restarts of the daemon:\n"
"  resize NAME N   N workers: more start at once; when fewer, idle ones\n"
"                  leave first and busy ones after their job\n"
"  pause NAME      start no more jobs from NAME's queue; running ones go on\n"
"  resume NAME     start them again\n"
"  add NAME N [RUNTIME]\n"
"                  a new pool of N workers of RUNTIME: builtin (the\n"
"                  default: mpd's tasks and plugins), python (functions,\n"
"                  python3 -m mpd.worker) or a program's absolute path\n"
"  remove NAME     a pool with no queued or running job (not default)\n"
"\n"
"  -j, --json   print the daemon's reply as JSON\n"
"  -h, --help   show this help\n",
	pool_run
};

/* An action: its name, op, operands (NAME, then N when 2, and an optional
 * RUNTIME when 3). */
static const struct {
	const char	*name;
	const char	*op;
	int		 operands;
} actions[] = {
	{ "resize", "pool_resize", 2 },
	{ "pause", "pool_pause", 1 },
	{ "resume", "pool_resume", 1 },
	{ "add", "pool_add", 3 },
	{ "remove", "pool_remove", 1 },
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

/* The request of an action and its operands; NULL after a message. */
static json_t *
pool_request(int argc, char **argv)
{
	json_t	*req;
	int64_t	 n = 0;
	size_t	 i;

	for (i = 0; i < sizeof actions / sizeof actions[0]; i++) {
		if (strcmp(argv[0], actions[i].name) == 0)
			break;
	}
	if (i == sizeof actions / sizeof actions[0]) {
		fprintf(stderr, "mpctl pool: unknown action \"%s\"; the "
		    "actions are list, resize, pause, resume, add and remove\n",
		    ctl_safe(argv[0]));
		return NULL;
	}
	if (argc != actions[i].operands + 1 && (actions[i].operands != 3 ||
	    argc != 3)) {
		fprintf(stderr, "mpctl pool %s takes %s\n", actions[i].name,
		    actions[i].operands == 3 ? "NAME N [RUNTIME]" :
		    actions[i].operands == 2 ? "NAME N" : "NAME");
		return NULL;
	}
	if (actions[i].operands >= 2 && (n = ctl_id(argv[2])) == -1) {
		fprintf(stderr, "mpctl pool %s: \"%s\" is not a number of "
		    "workers\n", actions[i].name, ctl_safe(argv[2]));
		return NULL;
	}
	req = json_pack("{s:s, s:o}", "op", actions[i].op, "pool",
	    ctl_string(argv[1]));
	if (n > 0)
		json_object_set_new(req, "size", json_integer(n));
	if (argc == 4)
		json_object_set_new(req, "runtime", ctl_string(argv[3]));
	return req;
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
	json_t		*req, *reply;
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
	if (optind == argc || strcmp(argv[optind], "list") == 0) {
		if (argc - optind > 1)
			return ctl_usage(&cmd_pool);
		req = json_pack("{s:s}", "op", "pools");
	} else if ((req = pool_request(argc - optind, argv + optind)) ==
	    NULL)
		return EXIT_USAGE;
	c = ctl_connect();
	reply = ctl_call(c, req);
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else if (json_object_get(reply, "pools") == NULL) {
		json_object_del(reply, "req");
		json_object_del(reply, "ok");
		if (json)
			ctl_print(reply);
	} else if (json)
		ctl_print(json_object_get(reply, "pools"));
	else
		pool_list(reply);
	json_decref(reply);
	mpc_close(c);
	return rc;
}

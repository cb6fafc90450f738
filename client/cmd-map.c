/*
 * mpctl map: apply a task to every item (Pool.map) and print the list; with
 * the task exec, run a command per item (map-exec.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpctl.h"

static int	map_run(int, char **);

const struct cmd cmd_map = {
	"map", "[--chunksize K] [--async] [--wait SEC] TASK ITEM... | -",
"Run TASK once per item, each item as its only argument, and print the\n"
"results as one JSON array in item order. Items are JSON when they parse as\n"
"JSON, else strings; \"-\" reads them from stdin, one per line. If an item\n"
"fails, the error names its index and mpctl exits 1. When stderr is a\n"
"terminal and the map takes more than a second, its progress is drawn there.\n"
"\n"
"With the task exec, map runs a command once per item, each as an exec job,\n"
"GNU parallel style:\n"
"    mpctl map [OPTION...] exec [OPTION...] [--] CMD [ARG...] [::: ITEM...]\n"
"In CMD and each ARG, {} is the item, {.} the item without its extension,\n"
"{/} its basename, {//} its dirname, {/.} the basename without extension and\n"
"{#} the item's number (from 1); with none of them the item is appended as\n"
"the last argument. The items are the words after \":::\", else stdin's\n"
"lines. Each command's stdout and stderr are written here in item order as\n"
"the commands end; when any failed, a summary goes to stderr and mpctl\n"
"exits 1.\n"
"\n"
"  -c, --chunksize K   items per unit of work (default: as Python's Pool,\n"
"                      items / (workers * 4), rounded up)\n"
"  -a, --async         print the map's id at once instead of waiting; fetch\n"
"                      the list later with \"mpctl get ID\"\n"
"  -w, --wait SEC      wait at most this long (exit 4 when it runs out)\n"
"      --timeout S     each item's time limit in seconds (default: the\n"
"                      daemon's --job-timeout)\n"
"  -k, --kwargs JSON   keyword arguments for every call, a JSON object\n"
"  -n, --name NAME     a name to show in status and list\n"
"  -p, --priority P    higher runs first (default 0)\n"
"  -P, --pool NAME     run in this pool of the daemon's (default: default)\n"
"  -j, --json          exec: print the results as one JSON array instead of\n"
"                      the commands' output\n"
"  -C, --cwd DIR       exec: run in DIR (default: the current directory)\n"
"  -e, --env K=V       exec: set an environment variable (repeatable)\n"
"      --env-clear     exec: start from an empty environment\n"
"  -h, --help          show this help\n",
	map_run
};

/* What the options asked for, besides the request's own fields. */
struct map_opts {
	json_t		*req;
	double		 wait;
	int		 async;
	int		 json;
	const char	*func_only;	/* a function map's option, if given */
	const char	*exec_only;	/* an exec map's option, if given */
};

/* Appends a line of stdin to the items. */
static void
map_line(const char *line, void *arg)
{
	json_array_append_new(arg, ctl_value(line));
}

/*
 * Parses options up to the first operand, before or after "exec". Returns
 * -1 when they all parsed, else the exit status.
 */
static int
map_options(struct map_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_EXEC_LONGOPTS,
		{ "chunksize", required_argument, NULL, 'c' },
		{ "async", no_argument, NULL, 'a' },
		{ "wait", required_argument, NULL, 'w' },
		{ "kwargs", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int64_t	size;
	int	ch, rc;

	while ((ch = getopt_long(argc, argv, "+" CTL_EXEC_SHORTOPTS
	    "c:aw:k:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if ((size = ctl_id(optarg)) == -1) {
				fprintf(stderr, "mpctl: --chunksize takes a "
				    "positive whole number\n");
				return EXIT_USAGE;
			}
			json_object_set_new(o->req, "chunksize",
			    json_integer(size));
			o->func_only = "--chunksize";
			break;
		case 'a':
			o->async = 1;
			o->func_only = "--async";
			break;
		case 'w':
			if ((o->wait = ctl_seconds(optarg)) < 0) {
				fprintf(stderr, "mpctl: --wait takes a number "
				    "of seconds\n");
				return EXIT_USAGE;
			}
			break;
		case 'k':
			if (ctl_kwargs(o->req, optarg) == -1)
				return EXIT_USAGE;
			o->func_only = "--kwargs";
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			return ctl_help(&cmd_map);
		case 'C':
		case 'e':
		case OPT_ENV_CLEAR:
			o->exec_only = ch == 'C' ? "--cwd" : ch == 'e' ?
			    "--env" : "--env-clear";
			/* FALLTHROUGH */
		default:
			if ((rc = ctl_exec_option(&cmd_map, o->req, ch,
			    optarg)) != -1)
				return rc;
			break;
		}
	}
	return -1;
}

/* Sends the map, then prints its id or waits for its list. */
static int
map_function(struct map_opts *o, int argc, char **argv)
{
	struct mpc	*c;
	json_t		*items, *reply;
	int64_t		 id;
	int		 i, rc;

	json_object_set_new(o->req, "op", json_string("map"));
	json_object_set_new(o->req, "task", ctl_string(argv[0]));
	items = json_array();
	json_object_set_new(o->req, "items", items);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			if (ctl_lines(map_line, items) == -1)
				return EXIT_USAGE;
		} else
			json_array_append_new(items, ctl_value(argv[i]));
	}

	c = ctl_connect();
	reply = ctl_call(c, json_incref(o->req));
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else {
		id = json_integer_value(json_object_get(reply, "job"));
		if (o->async) {
			printf("%lld\n", (long long)id);
			rc = EXIT_OK;
		} else
			rc = ctl_get(c, id, o->wait);
	}
	json_decref(reply);
	mpc_close(c);
	return rc;
}

static int
map_run(int argc, char **argv)
{
	struct map_opts	 o = { NULL, -1, 0, 0, NULL, NULL };
	int		 rc;

	o.req = json_object();
	if ((rc = map_options(&o, argc, argv)) != -1)
		goto out;
	if (optind >= argc) {
		rc = ctl_usage(&cmd_map);
		goto out;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "exec") != 0) {
		if (o.exec_only != NULL) {
			fprintf(stderr, "mpctl: %s is only for map exec\n",
			    o.exec_only);
			rc = EXIT_USAGE;
		} else
			rc = map_function(&o, argc, argv);
		goto out;
	}
	/* As for a command, getopt starts again after argv[0]. */
	optind = 0;
	if ((rc = map_options(&o, argc, argv)) != -1)
		goto out;
	if (o.func_only != NULL) {
		fprintf(stderr, "mpctl: %s is not for map exec\n",
		    o.func_only);
		rc = EXIT_USAGE;
	} else if (optind >= argc)
		rc = ctl_usage(&cmd_map);
	else
		rc = map_exec(o.req, o.wait, o.json, argc - optind,
		    argv + optind);
out:
	json_decref(o.req);
	return rc;
}

/* mpctl map: apply a task to every item (Pool.map) and print the list. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpctl.h"

static int	map_run(int, char **);

const struct cmd cmd_map = {
	"map", "[--chunksize K] [--async] [--timeout SEC] TASK ITEM... | -",
"Run TASK once per item, each item as its only argument, and print the\n"
"results as one JSON array in item order. Items are JSON when they parse as\n"
"JSON, else strings; \"-\" reads them from stdin, one per line. If an item\n"
"fails, the error names its index and mpctl exits 1. When stderr is a\n"
"terminal and the map takes more than a second, its progress is drawn there.\n"
"\n"
"  -c, --chunksize K   items per unit of work (default: as Python's Pool,\n"
"                      items / (workers * 4), rounded up)\n"
"  -a, --async         print the map's id at once instead of waiting; fetch\n"
"                      the list later with \"mpctl get ID\"\n"
"  -t, --timeout SEC   wait at most this long (exit 4 when it runs out)\n"
"  -k, --kwargs JSON   keyword arguments for every call, a JSON object\n"
"  -n, --name NAME     a name to show in status and list\n"
"  -h, --help          show this help\n",
	map_run
};

/* Appends stdin's lines to items; returns 0 or -1. */
static int
map_read_stdin(json_t *items)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	while ((n = getline(&line, &cap, stdin)) != -1) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		json_array_append_new(items, ctl_value(line));
	}
	free(line);
	if (ferror(stdin)) {
		perror("mpctl: reading items from stdin");
		return -1;
	}
	return 0;
}

static int
map_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "chunksize", required_argument, NULL, 'c' },
		{ "async", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "kwargs", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	json_t		*req, *items, *reply;
	double		 timeout = -1;
	int64_t		 id, size;
	int		 ch, i, async = 0, rc = EXIT_USAGE;

	req = json_pack("{s:s}", "op", "map");
	while ((ch = getopt_long(argc, argv, "+c:at:k:n:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			if ((size = ctl_id(optarg)) == -1) {
				fprintf(stderr, "mpctl: --chunksize takes a "
				    "positive whole number\n");
				goto out;
			}
			json_object_set_new(req, "chunksize",
			    json_integer(size));
			break;
		case 'a':
			async = 1;
			break;
		case 't':
			if ((timeout = ctl_seconds(optarg)) < 0) {
				fprintf(stderr, "mpctl: --timeout takes a "
				    "number of seconds\n");
				goto out;
			}
			break;
		case 'k':
			if (ctl_kwargs(req, optarg) == -1)
				goto out;
			break;
		case 'n':
			json_object_set_new(req, "name", json_string(optarg));
			break;
		case 'h':
			rc = ctl_help(&cmd_map);
			goto out;
		default:
			rc = ctl_usage(&cmd_map);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = ctl_usage(&cmd_map);
		goto out;
	}
	json_object_set_new(req, "task", json_string(argv[optind]));
	items = json_array();
	json_object_set_new(req, "items", items);
	for (i = optind + 1; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			if (map_read_stdin(items) == -1)
				goto out;
		} else
			json_array_append_new(items, ctl_value(argv[i]));
	}

	c = ctl_connect();
	reply = ctl_call(c, req);
	req = NULL;
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else {
		id = json_integer_value(json_object_get(reply, "job"));
		if (async) {
			printf("%lld\n", (long long)id);
			rc = EXIT_OK;
		} else
			rc = ctl_get(c, id, timeout);
	}
	json_decref(reply);
	mpc_close(c);
out:
	json_decref(req);
	return rc;
}

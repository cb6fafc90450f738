/* mpctl list: jobs, newest last, optionally of one state. */
#include <getopt.h>
#include <stdio.h>

#include "mpctl.h"
#include "proto.h"

static int	list_run(int, char **);

const struct cmd cmd_list = {
	"list", "[--state S] [--limit N] [--json]",
"List jobs and maps, oldest first, at most the newest N (default 1000).\n"
"\n"
"  -s, --state S   only jobs in state S: queued, running, done, failed,\n"
"                  timeout or cancelled\n"
"  -n, --limit N   at most N jobs\n"
"  -j, --json      print the jobs as a JSON array\n"
"  -h, --help      show this help\n",
	list_run
};

static int
list_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	json_t		*req, *reply, *jobs, *j, *name;
	int64_t		 limit;
	size_t		 i;
	int		 ch, json = 0, rc = EXIT_OK;

	req = json_pack("{s:s}", "op", "list");
	while ((ch = getopt_long(argc, argv, "+s:n:jh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			if (job_state_parse(optarg) == -1) {
				fprintf(stderr, "mpctl: no state \"%s\"; one "
				    "of queued, running, done, failed, "
				    "timeout, cancelled\n", optarg);
				json_decref(req);
				return EXIT_USAGE;
			}
			json_object_set_new(req, "state", json_string(optarg));
			break;
		case 'n':
			if ((limit = ctl_id(optarg)) == -1) {
				fprintf(stderr, "mpctl: --limit takes a "
				    "positive whole number\n");
				json_decref(req);
				return EXIT_USAGE;
			}
			json_object_set_new(req, "limit", json_integer(limit));
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			json_decref(req);
			return ctl_help(&cmd_list);
		default:
			json_decref(req);
			return ctl_usage(&cmd_list);
		}
	}
	if (optind != argc) {
		json_decref(req);
		return ctl_usage(&cmd_list);
	}
	c = ctl_connect();
	reply = ctl_call(c, req);
	jobs = json_object_get(reply, "jobs");
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else if (json)
		ctl_print(jobs);
	else {
		printf("%8s  %-9s  %-4s  %-12s  %-24s  %s\n", "ID", "STATE",
		    "KIND", "TASK", "CREATED", "NAME");
		json_array_foreach(jobs, i, j) {
			name = json_object_get(j, "name");
			printf("%8lld  %-9s  %-4s  %-12s  %-24s  %s\n",
			    (long long)json_integer_value(json_object_get(j,
			    "id")),
			    ctl_safe(json_string_value(json_object_get(j,
			    "state"))),
			    ctl_safe(json_string_value(json_object_get(j,
			    "kind"))),
			    ctl_safe(json_string_value(json_object_get(j,
			    "task"))),
			    ctl_safe(json_string_value(json_object_get(j,
			    "created"))),
			    json_is_string(name) ? ctl_safe(json_string_value(
			    name)) : "");
		}
	}
	json_decref(reply);
	mpc_close(c);
	return rc;
}

/* mpctl submit: queue one job (apply_async) and print its id. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpctl.h"

static int	submit_run(int, char **);

const struct cmd cmd_submit = {
	"submit", "[--name N] [--priority P] [--kwargs JSON] TASK [ARG...]",
"Queue one job and print its id on stdout at once; \"mpctl get ID\" fetches\n"
"the result later. Each ARG is JSON when it parses as JSON, else a string.\n"
"\n"
"  -n, --name NAME          a name to show in status and list\n"
"  -p, --priority P         higher runs first (default 0)\n"
"  -k, --kwargs JSON        keyword arguments, a JSON object\n"
"  -a, --max-attempts N     attempts before a worker death fails the job\n"
"  -h, --help               show this help\n",
	submit_run
};

static int
submit_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "priority", required_argument, NULL, 'p' },
		{ "kwargs", required_argument, NULL, 'k' },
		{ "max-attempts", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	json_t		*req, *args, *reply;
	char		*end;
	long		 n;
	int		 ch, i, rc;

	req = json_pack("{s:s}", "op", "submit");
	while ((ch = getopt_long(argc, argv, "+n:p:k:a:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'n':
			json_object_set_new(req, "name", json_string(optarg));
			break;
		case 'p':
		case 'a':
			n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    (ch == 'a' && n < 1)) {
				fprintf(stderr, "mpctl: --%s takes a whole "
				    "number\n", ch == 'p' ? "priority" :
				    "max-attempts");
				json_decref(req);
				return EXIT_USAGE;
			}
			json_object_set_new(req, ch == 'p' ? "priority" :
			    "max_attempts", json_integer(n));
			break;
		case 'k':
			if (ctl_kwargs(req, optarg) == -1) {
				json_decref(req);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			json_decref(req);
			return ctl_help(&cmd_submit);
		default:
			json_decref(req);
			return ctl_usage(&cmd_submit);
		}
	}
	if (optind >= argc) {
		json_decref(req);
		return ctl_usage(&cmd_submit);
	}
	json_object_set_new(req, "task", json_string(argv[optind]));
	args = json_array();
	for (i = optind + 1; i < argc; i++)
		json_array_append_new(args, ctl_value(argv[i]));
	json_object_set_new(req, "args", args);

	c = ctl_connect();
	reply = ctl_call(c, req);
	if (json_is_true(json_object_get(reply, "ok"))) {
		printf("%lld\n", (long long)json_integer_value(
		    json_object_get(reply, "job")));
		rc = EXIT_OK;
	} else
		rc = ctl_refused(reply);
	json_decref(reply);
	mpc_close(c);
	return rc;
}

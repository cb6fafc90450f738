/* mpctl status: the pool and queue, or one job. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "mpctl.h"

static int	status_run(int, char **);

const struct cmd cmd_status = {
	"status", "[--json] [ID]",
"Without ID: the daemon's version and uptime, each worker (name, pool,\n"
"pid, idle or busy, current job, jobs done) and the jobs by state. With ID:\n"
"that job's state, times, attempts and its progress (a map's items, or\n"
"what its task reported).\n"
"\n"
"  -j, --json   print the daemon's reply as JSON (the pool view has a\n"
"               \"workers\" array of objects with pid, name and state)\n"
"  -h, --help   show this help\n",
	status_run
};

/* A string field, safe to print, or "-". */
static const char *
str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? ctl_safe(s) : "-";
}

/* Prints the pool view for people. */
static void
status_pool(json_t *r)
{
	json_t		*w, *jobs, *v;
	const char	*key;
	size_t		 i;
	double		 up = json_number_value(json_object_get(r, "uptime"));
	int		 busy = 0;

	json_array_foreach(json_object_get(r, "workers"), i, w) {
		if (strcmp(str(w, "state"), "busy") == 0)
			busy++;
	}
	printf("mpd %s, pid %lld, up %dh%02dm%02ds, %s%s\n", str(r, "version"),
	    (long long)json_integer_value(json_object_get(r, "pid")),
	    (int)(up / 3600), (int)(up / 60) % 60, (int)up % 60,
	    str(r, "state"), json_is_true(json_object_get(r, "disk_full")) ?
	    ", disk full: new jobs refused" : "");
	v = json_object_get(r, "store");
	if (v != NULL)
		printf("store: %.1f MB of database, %.1f MB free on its disk\n",
		    (double)json_integer_value(json_object_get(v, "db_bytes")) /
		    1e6, (double)json_integer_value(json_object_get(v,
		    "disk_free")) / 1e6);
	printf("workers: %zu (%d busy)\n",
	    json_array_size(json_object_get(r, "workers")), busy);
	printf("  %-10s %-12s %8s %-8s %10s %10s\n", "NAME", "POOL", "PID",
	    "STATE", "JOB", "DONE");
	json_array_foreach(json_object_get(r, "workers"), i, w) {
		v = json_object_get(w, "job");
		printf("  %-10s %-12s %8lld %-8s ", str(w, "name"), str(w, "pool"),
		    (long long)json_integer_value(json_object_get(w, "pid")),
		    str(w, "state"));
		if (json_is_integer(v))
			printf("%10lld", (long long)json_integer_value(v));
		else
			printf("%10s", "-");
		printf(" %10lld\n", (long long)json_integer_value(
		    json_object_get(w, "jobs_done")));
	}
	printf("jobs:");
	jobs = json_object_get(r, "jobs");
	json_object_foreach(jobs, key, v)
		printf(" %s %lld", ctl_safe(key), (long long)json_integer_value(
		    v));
	printf("\n");
	/* Who uses the pools: everyone's for root, your own for you. */
	json_array_foreach(json_object_get(r, "owners"), i, v)
		printf("owner uid %lld: %lld queued, %lld running\n",
		    (long long)json_integer_value(json_object_get(v, "uid")),
		    (long long)json_integer_value(json_object_get(v, "queued")),
		    (long long)json_integer_value(json_object_get(v,
		    "running")));
}

/* Prints one job's view for people. */
static void
status_job(json_t *j)
{
	json_t	*p = json_object_get(j, "progress"), *e, *v;

	printf("job %lld (%s): %s\n",
	    (long long)json_integer_value(json_object_get(j, "id")),
	    str(j, "kind"), str(j, "state"));
	printf("  task:     %s\n", str(j, "task"));
	if (json_is_string(json_object_get(j, "name")))
		printf("  name:     %s\n", str(j, "name"));
	printf("  created:  %s\n  started:  %s\n  finished: %s\n",
	    str(j, "created"), str(j, "started"), str(j, "finished"));
	printf("  attempts: %lld of %lld\n",
	    (long long)json_integer_value(json_object_get(j, "attempts")),
	    (long long)json_integer_value(json_object_get(j,
	    "max_attempts")));
	if ((v = json_object_get(j, "worker_pid")) != NULL &&
	    json_is_integer(v))
		printf("  worker:   pid %lld\n",
		    (long long)json_integer_value(v));
	if (p != NULL)
		printf("  progress: %lld of %lld items\n",
		    (long long)json_integer_value(json_object_get(p, "done")),
		    (long long)json_integer_value(json_object_get(p,
		    "total")));
	if ((e = json_object_get(j, "error")) != NULL)
		printf("  error:    %s (%s)\n", str(e, "message"),
		    str(e, "code"));
}

static int
status_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	json_t		*req, *reply;
	int64_t		 id = 0;
	int		 ch, json = 0, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			return ctl_help(&cmd_status);
		default:
			return ctl_usage(&cmd_status);
		}
	}
	if (argc - optind > 1)
		return ctl_usage(&cmd_status);
	if (optind < argc && (id = ctl_id(argv[optind])) == -1) {
		fprintf(stderr, "mpctl: \"%s\" is not a job id\n",
		    argv[optind]);
		return EXIT_USAGE;
	}
	req = json_pack("{s:s}", "op", "status");
	if (id > 0)
		json_object_set_new(req, "job", json_integer(id));
	c = ctl_connect();
	reply = ctl_call(c, req);
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = ctl_refused(reply);
	else if (json) {
		json_object_del(reply, "req");
		json_object_del(reply, "ok");
		ctl_print(id > 0 ? json_object_get(reply, "job") : reply);
	} else if (id > 0)
		status_job(json_object_get(reply, "job"));
	else
		status_pool(reply);
	json_decref(reply);
	mpc_close(c);
	return rc;
}

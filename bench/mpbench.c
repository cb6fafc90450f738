/*
 * mpbench: drives a running mpd through libmpclient, for bench/run.py.
 * Prints one JSON object on stdout.
 *
 *	mpbench SOCKET submit-get N	N square submits pipelined, then N gets
 *	mpbench SOCKET rtt N		N times submit+get, one after another
 *	mpbench SOCKET map N		one map of square over 0..N-1, then get
 *	mpbench SOCKET exec N		N exec /bin/true pipelined, then N gets
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpclient.h"

/* Requests in flight at most, so neither side's buffers fill. */
#define WINDOW	512

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn))
die(const char *what, const char *cause)
{
	fprintf(stderr, "mpbench: %s: %s\n", what, cause != NULL ? cause :
	    "failed");
	exit(1);
}

/* Waits for a reply and checks it is ok; returns it (new reference). */
static json_t *
expect(struct mpc *c, int64_t tag)
{
	json_t	*r;
	char	*cause = NULL;

	if ((r = mpc_wait(c, tag, &cause)) == NULL)
		die("wait", cause);
	if (!json_is_true(json_object_get(r, "ok")))
		die("reply", json_dumps(r, 0));
	return r;
}

/* Sends n requests made by make(i), a window at a time; fills ids. */
static void
pipeline(struct mpc *c, int64_t n, json_t *(*make)(int64_t, int64_t *),
    int64_t *ids)
{
	int64_t	*tags, sent = 0, done = 0;
	json_t	*r;
	char	*cause = NULL;

	tags = calloc((size_t)n, sizeof *tags);
	if (tags == NULL)
		die("calloc", NULL);
	while (done < n) {
		while (sent < n && sent - done < WINDOW) {
			if ((tags[sent] = mpc_send(c, make(sent, ids),
			    &cause)) == -1)
				die("send", cause);
			sent++;
		}
		r = expect(c, tags[done]);
		ids[done] = json_integer_value(json_object_get(r, "job"));
		json_decref(r);
		done++;
	}
	free(tags);
}

static json_t *
make_square(int64_t i, int64_t *ids)
{
	(void)ids;
	return json_pack("{s:s, s:s, s:[I]}", "op", "submit", "task",
	    "square", "args", (json_int_t)i);
}

static json_t *
make_true(int64_t i, int64_t *ids)
{
	(void)i;
	(void)ids;
	return json_pack("{s:s, s:s, s:[s]}", "op", "submit", "task", "exec",
	    "args", "/bin/true");
}

static json_t *
make_get(int64_t i, int64_t *ids)
{
	return json_pack("{s:s, s:I}", "op", "get", "job", (json_int_t)ids[i]);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct mpc	*c;
	json_t		*r, *items;
	int64_t		 n, i, *ids;
	double		 t0, t1, *lat;
	char		*cause = NULL;

	if (argc != 4 || (n = strtoll(argv[3], NULL, 10)) < 1) {
		fprintf(stderr, "usage: mpbench SOCKET submit-get|rtt|map|exec "
		    "N\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((c = mpc_connect(argv[1], &cause)) == NULL)
		die("connect", cause);
	if ((ids = calloc((size_t)n, sizeof *ids)) == NULL)
		die("calloc", NULL);
	t0 = now();
	if (strcmp(argv[2], "submit-get") == 0 || strcmp(argv[2], "exec") ==
	    0) {
		pipeline(c, n, strcmp(argv[2], "exec") == 0 ? make_true :
		    make_square, ids);
		pipeline(c, n, make_get, ids);
		t1 = now();
		printf("{\"jobs\":%lld,\"seconds\":%.6f}\n", (long long)n,
		    t1 - t0);
	} else if (strcmp(argv[2], "rtt") == 0) {
		if ((lat = calloc((size_t)n, sizeof *lat)) == NULL)
			die("calloc", NULL);
		for (i = 0; i < n; i++) {
			t1 = now();
			r = mpc_call(c, make_square(i, NULL), &cause);
			if (r == NULL)
				die("submit", cause);
			ids[0] = json_integer_value(json_object_get(r, "job"));
			json_decref(r);
			if ((r = mpc_call(c, make_get(0, ids), &cause)) == NULL)
				die("get", cause);
			json_decref(r);
			lat[i] = now() - t1;
		}
		qsort(lat, (size_t)n, sizeof *lat, cmp_double);
		printf("{\"calls\":%lld,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
		    (long long)n, lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6);
		free(lat);
	} else if (strcmp(argv[2], "map") == 0) {
		items = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(items, json_integer(i));
		r = expect(c, mpc_send(c, json_pack("{s:s, s:s, s:o}", "op",
		    "map", "task", "square", "items", items), &cause));
		ids[0] = json_integer_value(json_object_get(r, "job"));
		json_decref(r);
		r = expect(c, mpc_send(c, make_get(0, ids), &cause));
		if (json_array_size(json_object_get(r, "result")) != (size_t)n)
			die("map", "wrong result length");
		json_decref(r);
		t1 = now();
		printf("{\"items\":%lld,\"seconds\":%.6f}\n", (long long)n,
		    t1 - t0);
	} else {
		fprintf(stderr, "mpbench: unknown workload %s\n", argv[2]);
		return 2;
	}
	free(ids);
	mpc_close(c);
	return 0;
}

/*
 * mpbench: drives a running mpd, for bench/run.py. Prints one JSON object
 * on stdout; any failure prints a message on stderr and exits 1.
 *
 *	mpbench SOCKET submit-get N	N square submits pipelined, then N gets
 *	mpbench SOCKET submit N		N square submits pipelined, nothing else
 *	mpbench SOCKET rtt N [P]	N times submit+get, one after another, in
 *					each of P clients at once (default 1)
 *	mpbench SOCKET map N		one map of square over 0..N-1, then get
 *	mpbench SOCKET map-get N JOB	only the get of map JOB (N items)
 *	mpbench SOCKET exec N		N exec /bin/true pipelined, then N gets
 *
 * map and map-get do what a C program using mpd for big maps would do:
 * they write the request text straight into a buffer and read the result
 * array into an int64_t array with a small strict parser (each value is
 * checked to be i*i), instead of building or parsing a JSON tree of a
 * million values, so the client's JSON library does not weigh on a
 * comparison of daemons. They talk over a plain socket, since libmpclient
 * takes and gives jansson trees; the other workloads use libmpclient.
 * Both print the client's peak RSS (VmHWM) as client_hwm_kb.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "mpclient.h"

/* Requests in flight at most, so neither side's buffers fill. */
#define WINDOW		512
/* Longest reply line read by the plain-socket workloads. */
#define MAX_REPLY	((size_t)1 << 32)
/* Nesting skipped at most in a reply's other fields. */
#define MAX_DEPTH	64

/* A plain connection: the socket and its line buffer. */
struct raw {
	int		fd;
	struct frame	in;
};

/* A cursor over one reply line. */
struct cur {
	const char	*p;
	const char	*end;
};

/* What the fields of a map's get reply said. */
struct got {
	int64_t		 n;		/* items expected */
	int64_t		*res;		/* the result, n values */
	int64_t		 count;		/* values read */
	int64_t		 job;		/* a map reply's job id */
	int		 ok;
	int		 done;
};

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

static void *
alloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		die("calloc", strerror(errno));
	return p;
}

/* This process's peak resident set (VmHWM) in kB. */
static long
self_hwm_kb(void)
{
	FILE	*f;
	char	 line[256];
	long	 kb = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		die("/proc/self/status", strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmHWM:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	if (kb <= 0)
		die("/proc/self/status", "no VmHWM");
	return kb;
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

	tags = alloc((size_t)n, sizeof *tags);
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

static struct mpc *
connect_or_die(const char *path)
{
	struct mpc	*c;
	char		*cause = NULL;

	if ((c = mpc_connect(path, &cause)) == NULL)
		die("connect", cause);
	return c;
}

/* n sequential submit+get round trips; fills lat; closes c. */
static void
rtt_client(struct mpc *c, int64_t n, double *lat)
{
	json_t		*r;
	int64_t		 i, id;
	double		 t;
	char		*cause = NULL;

	for (i = 0; i < n; i++) {
		t = now();
		if ((r = mpc_call(c, make_square(i, NULL), &cause)) == NULL)
			die("submit", cause);
		if (!json_is_true(json_object_get(r, "ok")))
			die("submit", json_dumps(r, 0));
		id = json_integer_value(json_object_get(r, "job"));
		json_decref(r);
		if ((r = mpc_call(c, make_get(0, &id), &cause)) == NULL)
			die("get", cause);
		if (!json_is_true(json_object_get(r, "ok")) ||
		    json_integer_value(json_object_get(r, "result")) != i * i)
			die("get", json_dumps(r, 0));
		json_decref(r);
		lat[i] = now() - t;
	}
	mpc_close(c);
}

/*
 * p clients at once, each on its own connection in its own process, each
 * doing n round trips; they start together once all are connected.
 * Prints the combined percentiles.
 */
static void
rtt_workload(const char *path, int64_t n, int64_t p)
{
	struct mpc	*c;
	double		*lat, t0, t1;
	int64_t		 k, total = n * p;
	pid_t		*pids;
	int		 ready[2], go[2], status, failed = 0;
	char		 b;

	if (p == 1) {
		lat = alloc((size_t)n, sizeof *lat);
		rtt_client(connect_or_die(path), n, lat);
		qsort(lat, (size_t)n, sizeof *lat, cmp_double);
		printf("{\"calls\":%lld,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
		    (long long)n, lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6);
		free(lat);
		return;
	}
	lat = mmap(NULL, (size_t)total * sizeof *lat, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lat == MAP_FAILED)
		die("mmap", strerror(errno));
	if (pipe(ready) == -1 || pipe(go) == -1)
		die("pipe", strerror(errno));
	pids = alloc((size_t)p, sizeof *pids);
	fflush(stdout);
	for (k = 0; k < p; k++) {
		if ((pids[k] = fork()) == -1)
			die("fork", strerror(errno));
		if (pids[k] == 0) {
			close(ready[0]);
			close(go[1]);
			/* Connected first: no client waits on a connect. */
			c = connect_or_die(path);
			if (write(ready[1], "x", 1) != 1)
				_exit(1);
			close(ready[1]);
			/* The parent closes go[1]: end of file starts all. */
			if (read(go[0], &b, 1) != 0)
				_exit(1);
			rtt_client(c, n, lat + k * n);
			_exit(0);
		}
	}
	close(ready[1]);
	close(go[0]);
	for (k = 0; k < p; k++) {
		if (read(ready[0], &b, 1) != 1) {
			/* The others must not start when go[1] closes. */
			for (k = 0; k < p; k++)
				kill(pids[k], SIGKILL);
			die("rtt", "a client died before it started");
		}
	}
	t0 = now();
	close(go[1]);
	for (k = 0; k < p; k++) {
		if (waitpid(pids[k], &status, 0) == -1)
			die("waitpid", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	t1 = now();
	if (failed > 0)
		die("rtt", "a client failed");
	qsort(lat, (size_t)total, sizeof *lat, cmp_double);
	printf("{\"calls\":%lld,\"clients\":%lld,\"p50_us\":%.1f,"
	    "\"p99_us\":%.1f,\"seconds\":%.6f}\n", (long long)total,
	    (long long)p, lat[total / 2] * 1e6, lat[total * 99 / 100] * 1e6,
	    t1 - t0);
	munmap(lat, (size_t)total * sizeof *lat);
	free(pids);
	close(ready[0]);
}

static void
raw_connect(struct raw *r, const char *path)
{
	struct sockaddr_un	sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		die(path, "socket path too long");
	strcpy(sun.sun_path, path);
	if ((r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket", strerror(errno));
	if (connect(r->fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		die(path, strerror(errno));
	frame_init(&r->in, MAX_REPLY);
}

static void
raw_close(struct raw *r)
{
	frame_free(&r->in);
	close(r->fd);
}

static void
raw_send(struct raw *r, const char *text, size_t len)
{
	if (write_all(r->fd, text, len) == -1)
		die("send", strerror(errno));
}

/* The next reply line (borrowed until the next call). */
static char *
raw_line(struct raw *r, size_t *len)
{
	char	*line;
	ssize_t	 n;
	int	 rc;

	while ((rc = frame_next(&r->in, &line, len)) == 0) {
		if ((n = frame_fill(&r->in, r->fd)) == 0)
			die("read", "the daemon closed the connection");
		if (n == -1)
			die("read", strerror(errno));
	}
	if (rc == -1)
		die("read", "reply line too long");
	return line;
}

/* Writes v in decimal at p; returns the end. */
static char *
put_int(char *p, int64_t v)
{
	char		 tmp[24];
	uint64_t	 u;
	size_t		 k = 0;

	if (v < 0) {
		*p++ = '-';
		u = (uint64_t)0 - (uint64_t)v;
	} else
		u = (uint64_t)v;
	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	while (k > 0)
		*p++ = tmp[--k];
	return p;
}

static void
skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Takes ch after optional blanks; returns 1, or 0 when it is not next. */
static int
take(struct cur *c, char ch)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return 1;
	}
	return 0;
}

/* Takes the word w (a literal); returns 0 or -1. */
static int
take_word(struct cur *c, const char *w)
{
	size_t	len = strlen(w);

	skip_ws(c);
	if ((size_t)(c->end - c->p) < len || memcmp(c->p, w, len) != 0)
		return -1;
	c->p += len;
	return 0;
}

/* A string; *s and *len give its raw text, escapes left as they are. */
static int
take_string(struct cur *c, const char **s, size_t *len)
{
	if (!take(c, '"'))
		return -1;
	*s = c->p;
	while (c->p < c->end && *c->p != '"') {
		if ((unsigned char)*c->p < 0x20)
			return -1;
		if (*c->p == '\\' && ++c->p == c->end)
			return -1;
		c->p++;
	}
	if (c->p == c->end)
		return -1;
	*len = (size_t)(c->p - *s);
	c->p++;
	return 0;
}

/* A JSON integer within int64_t: no fraction, no exponent. */
static int
take_int64(struct cur *c, int64_t *v)
{
	uint64_t	x = 0, lim = INT64_MAX, d;
	int		neg = 0;

	skip_ws(c);
	if (c->p < c->end && *c->p == '-') {
		neg = 1;
		lim = (uint64_t)INT64_MAX + 1;
		c->p++;
	}
	if (c->p == c->end || *c->p < '0' || *c->p > '9')
		return -1;
	if (*c->p == '0')
		c->p++;
	else {
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
			d = (uint64_t)(*c->p++ - '0');
			if (x > (lim - d) / 10)
				return -1;
			x = x * 10 + d;
		}
	}
	if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E' ||
	    (*c->p >= '0' && *c->p <= '9')))
		return -1;
	*v = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

/* Skips any value: a field of the reply that the workload ignores. */
static int
skip_value(struct cur *c, int depth)
{
	const char	*s;
	size_t		 len;
	char		 close;

	skip_ws(c);
	if (c->p == c->end || depth > MAX_DEPTH)
		return -1;
	switch (*c->p) {
	case '"':
		return take_string(c, &s, &len);
	case 't':
		return take_word(c, "true");
	case 'f':
		return take_word(c, "false");
	case 'n':
		return take_word(c, "null");
	case '{':
	case '[':
		close = *c->p == '{' ? '}' : ']';
		c->p++;
		if (take(c, close))
			return 0;
		do {
			if (close == '}' && (take_string(c, &s, &len) == -1 ||
			    !take(c, ':')))
				return -1;
			if (skip_value(c, depth + 1) == -1)
				return -1;
		} while (take(c, ','));
		return take(c, close) ? 0 : -1;
	default:
		/* A number: digits, sign, fraction and exponent chars. */
		s = c->p;
		while (c->p < c->end && strchr("+-.eE0123456789", *c->p) !=
		    NULL && *c->p != '\0')
			c->p++;
		return c->p > s ? 0 : -1;
	}
}

static int
key_is(const char *k, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(k, name, len) == 0;
}

/*
 * The fields of a map's replies: ok, job, state and result (the array,
 * each value checked to be i*i). Returns 1 when it took the value, 0 to
 * have it skipped, -1 when it is wrong.
 */
static int
map_field(const char *k, size_t klen, struct cur *c, struct got *g)
{
	const char	*s;
	size_t		 len;
	int64_t		 v;

	if (key_is(k, klen, "ok")) {
		if (take_word(c, "true") == -1)
			return 0;
		g->ok = 1;
		return 1;
	}
	if (key_is(k, klen, "job"))
		return take_int64(c, &g->job) == -1 ? -1 : 1;
	if (key_is(k, klen, "state")) {
		if (take_string(c, &s, &len) == -1)
			return -1;
		g->done = len == 4 && memcmp(s, "done", 4) == 0;
		return 1;
	}
	if (key_is(k, klen, "result") && g->res != NULL) {
		if (!take(c, '['))
			return -1;
		if (take(c, ']'))
			return 1;
		do {
			if (take_int64(c, &v) == -1 || g->count >= g->n ||
			    v != g->count * g->count)
				return -1;
			g->res[g->count++] = v;
		} while (take(c, ','));
		return take(c, ']') ? 1 : -1;
	}
	return 0;
}

/* Reads a whole reply object into g; dies when it is malformed. */
static void
parse_reply(const char *line, size_t len, struct got *g)
{
	struct cur	 c;
	const char	*k;
	size_t		 klen;
	int		 rc;

	c.p = line;
	c.end = line + len;
	if (!take(&c, '{'))
		goto bad;
	if (!take(&c, '}')) {
		do {
			if (take_string(&c, &k, &klen) == -1 || !take(&c, ':'))
				goto bad;
			if ((rc = map_field(k, klen, &c, g)) == -1)
				goto bad;
			if (rc == 0 && skip_value(&c, 1) == -1)
				goto bad;
		} while (take(&c, ','));
		if (!take(&c, '}'))
			goto bad;
	}
	skip_ws(&c);
	if (c.p == c.end)
		return;
bad:
	fprintf(stderr, "mpbench: bad reply near byte %lld: %.200s\n",
	    (long long)(c.p - line), c.p);
	exit(1);
}

/* Fails with the start of the reply when it is not ok. */
static void
check_ok(const struct got *g, const char *line)
{
	if (!g->ok) {
		fprintf(stderr, "mpbench: refused: %.300s\n", line);
		exit(1);
	}
}

/* The get of map job: its result read into res, each value checked. */
static void
map_get(struct raw *r, int64_t job, int64_t n, int64_t *res)
{
	struct got	 g;
	char		 req[64], *line, *p;
	size_t		 len;

	p = req + snprintf(req, sizeof req, "{\"op\":\"get\",\"job\":");
	p = put_int(p, job);
	*p++ = '}';
	*p++ = '\n';
	raw_send(r, req, (size_t)(p - req));
	line = raw_line(r, &len);
	memset(&g, 0, sizeof g);
	g.n = n;
	g.res = res;
	parse_reply(line, len, &g);
	check_ok(&g, line);
	if (!g.done)
		die("map", "the map did not end done");
	if (g.count != n)
		die("map", "wrong result length");
}

static void
map_workload(const char *path, int64_t n)
{
	struct raw	 r;
	struct got	 g;
	int64_t		 i, *res;
	double		 t0, t1, t2;
	size_t		 len;
	char		*req, *p, *line;

	res = alloc((size_t)n, sizeof *res);
	raw_connect(&r, path);
	t0 = now();
	/* 20 digits and a comma an item at most, and the rest. */
	req = alloc((size_t)n * 21 + 64, 1);
	p = req + snprintf(req, 64,
	    "{\"op\":\"map\",\"task\":\"square\",\"items\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		p = put_int(p, i);
	}
	*p++ = ']';
	*p++ = '}';
	*p++ = '\n';
	raw_send(&r, req, (size_t)(p - req));
	free(req);
	line = raw_line(&r, &len);
	memset(&g, 0, sizeof g);
	parse_reply(line, len, &g);
	check_ok(&g, line);
	if (g.job < 1)
		die("map", "no job id in the reply");
	t1 = now();
	map_get(&r, g.job, n, res);
	t2 = now();
	raw_close(&r);
	free(res);
	printf("{\"items\":%lld,\"seconds\":%.6f,\"submit_seconds\":%.6f,"
	    "\"client_hwm_kb\":%ld}\n", (long long)n, t2 - t0, t1 - t0,
	    self_hwm_kb());
}

static void
map_get_workload(const char *path, int64_t n, int64_t job)
{
	struct raw	 r;
	int64_t		*res;
	double		 t0, t1;

	res = alloc((size_t)n, sizeof *res);
	raw_connect(&r, path);
	t0 = now();
	map_get(&r, job, n, res);
	t1 = now();
	raw_close(&r);
	free(res);
	printf("{\"items\":%lld,\"seconds\":%.6f,\"client_hwm_kb\":%ld}\n",
	    (long long)n, t1 - t0, self_hwm_kb());
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: mpbench SOCKET submit-get|submit|exec|map N\n"
	    "       mpbench SOCKET rtt N [CLIENTS]\n"
	    "       mpbench SOCKET map-get N JOB\n");
	exit(2);
}

/* A positive count from the command line. */
static int64_t
count_arg(const char *s)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	struct mpc	*c;
	int64_t		 n, *ids;
	double		 t0, t1;
	const char	*w;

	if (argc < 4 || argc > 5)
		usage();
	w = argv[2];
	n = count_arg(argv[3]);
	if (argc == 5 && strcmp(w, "rtt") != 0 && strcmp(w, "map-get") != 0)
		usage();
	if (argc == 4 && strcmp(w, "map-get") == 0)
		usage();
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(w, "rtt") == 0) {
		rtt_workload(argv[1], n, argc == 5 ? count_arg(argv[4]) : 1);
		return 0;
	}
	if (strcmp(w, "map") == 0) {
		map_workload(argv[1], n);
		return 0;
	}
	if (strcmp(w, "map-get") == 0) {
		map_get_workload(argv[1], n, count_arg(argv[4]));
		return 0;
	}
	if (strcmp(w, "submit-get") != 0 && strcmp(w, "submit") != 0 &&
	    strcmp(w, "exec") != 0) {
		fprintf(stderr, "mpbench: unknown workload %s\n", w);
		return 2;
	}
	c = connect_or_die(argv[1]);
	ids = alloc((size_t)n, sizeof *ids);
	t0 = now();
	pipeline(c, n, strcmp(w, "exec") == 0 ? make_true : make_square, ids);
	if (strcmp(w, "submit") != 0)
		pipeline(c, n, make_get, ids);
	t1 = now();
	printf("{\"jobs\":%lld,\"seconds\":%.6f,\"first\":%lld,\"last\":%lld}\n",
	    (long long)n, t1 - t0, (long long)ids[0], (long long)ids[n - 1]);
	free(ids);
	mpc_close(c);
	return 0;
}

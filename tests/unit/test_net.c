/*
 * The frontend's waits and admission on their own: waiters (a blocked get
 * woken by its job's end, or by its timeout, or dropped with its client)
 * and admission under --max-queue (a submit that waits for room, one
 * refused at once, one whose block_timeout runs out). No listener, no
 * scheduler, no workers, nothing of main.c: clients on socketpairs, a real
 * SQLite store, and a tick of the test's own (admit, commit, flush).
 */
#include <sys/socket.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mpd.h"
#include "store.h"
#include "testjob.h"
#include "util.h"
#include "xmalloc.h"

struct net {
	char			 dir[64];
	struct config		 conf;
	struct event_base	*base;
	struct store		*store;
	struct client		*client;
	int			 peer;		/* the client's other end */
	char			 in[65536];	/* read from peer, not yet lines */
	size_t			 inlen;
	struct event		*readable;
	struct event		*deadline;
	char			 reran[8][16];	/* tags admission let in */
	int			 nreran;
};

static struct net	*cur;

/*
 * Admission let a waiting request in: record it, and do as the submit op
 * does (admitted, then its job queued).
 */
static void
net_rerun(struct client *c, const char *line, size_t len)
{
	struct reqline	rl;
	struct job	j;
	json_t		*req = json_loadb(line, len, 0, NULL);

	assert_non_null(req);
	memset(&rl, 0, sizeof rl);
	rl.text = line;
	rl.len = len;
	assert_int_equal(admit(c, req, "submit", &rl, 1), 1);
	assert_true(cur->nreran < 8);
	snprintf(cur->reran[cur->nreran++], sizeof cur->reran[0], "%s",
	    json_string_value(json_object_get(req, "req")));
	json_decref(req);
	testjob_init(&j, "square", "[1]");
	assert_true(store_insert(cur->store, &j) > 0);
}

/* Offers a request, given as JSON text, to admission. */
static int
net_admit(struct net *n, const char *text, const char *op, int64_t items)
{
	struct reqline	 rl;
	json_t		*req = json_loads(text, 0, NULL);
	int		 rc;

	assert_non_null(req);
	memset(&rl, 0, sizeof rl);
	rl.text = text;
	rl.len = strlen(text);
	rc = admit(n->client, req, op, &rl, items);
	json_decref(req);
	return rc;
}

static void
net_committed(int rc, void *arg)
{
	(void)arg;
	assert_int_equal(rc, 0);
	clients_flush();
}

/* The tick as loop.c orders it, less the scheduler. */
static void
net_tick(void)
{
	admit_blocked();
	clients_seal();
	store_commit(cur->store, net_committed, NULL);
}

/* A client is going: its waits and waiting requests go with it. */
static void
net_client_gone(struct client *c)
{
	waiter_drop_client(c);
	admit_drop_client(c);
}

static void
net_readable(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	event_base_loopbreak(cur->base);
}

static void
net_deadline(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	fail_msg("no reply within 10 s");
}

/* The next reply line the client got, as an object (runs the loop). */
static json_t *
next_reply(struct net *n)
{
	struct timeval	 tv = { 10, 0 };
	json_error_t	 err;
	json_t		*r;
	char		*nl;
	ssize_t		 got;

	evtimer_add(n->deadline, &tv);
	while ((nl = memchr(n->in, '\n', n->inlen)) == NULL) {
		got = recv(n->peer, n->in + n->inlen, sizeof n->in - n->inlen,
		    MSG_DONTWAIT);
		if (got > 0) {
			n->inlen += (size_t)got;
			continue;
		}
		assert_true(got == -1 && errno == EAGAIN);
		event_add(n->readable, NULL);
		assert_int_not_equal(event_base_dispatch(n->base), -1);
	}
	evtimer_del(n->deadline);
	r = json_loadb(n->in, (size_t)(nl - n->in), 0, &err);
	if (r == NULL)
		fail_msg("reply is not JSON: %s", err.text);
	n->inlen -= (size_t)(nl + 1 - n->in);
	memmove(n->in, nl + 1, n->inlen);
	return r;
}

/* The reply's tag and error code (NULL when ok) are these. */
static void
assert_reply(json_t *r, const char *tag, const char *code)
{
	json_t	*e = json_object_get(r, "error");

	assert_string_equal(json_string_value(json_object_get(r, "req")), tag);
	if (code == NULL)
		assert_true(json_is_true(json_object_get(r, "ok")));
	else
		assert_string_equal(json_string_value(json_object_get(e,
		    "code")), code);
	json_decref(r);
}

/* Queues a job directly in the store; returns its id. */
static int64_t
queue_job(struct net *n)
{
	struct job	j;
	int64_t		id;

	testjob_init(&j, "square", "[7]");
	j.created = time_now();
	id = store_insert(n->store, &j);
	assert_true(id > 0);
	return id;
}

/* The client waits for a job's end, its request tagged tag. */
static void
wait_on(struct net *n, const char *tag, int64_t id, double timeout)
{
	json_t	*t = json_string(tag);

	waiter_add(n->client, t, id, timeout);
	json_decref(t);
}

static int
setup(void **state)
{
	struct net	*n = calloc(1, sizeof *n);
	char		*cause = NULL, *path;
	int		 sv[2];

	assert_non_null(n);
	cur = n;
	snprintf(n->dir, sizeof n->dir, "/tmp/mpd-net-XXXXXX");
	assert_non_null(mkdtemp(n->dir));
	n->conf.max_queue = 2;
	n->conf.client_budget = PROTO_CLIENT_BUDGET;
	assert_non_null(n->base = event_base_new());
	path = xasprintf("%s/mpd.db", n->dir);
	if ((n->store = store_open(path, 0, NULL, n->base, &cause)) == NULL)
		fail_msg("store_open: %s", cause);
	free(path);
	tick_init(n->base, net_tick);
	clients_init(n->base, &n->conf, net_client_gone);
	reply_init(n->store);
	waiter_init(n->base, n->store);
	admit_init(n->base, n->store, &n->conf, net_rerun);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	evutil_make_socket_nonblocking(sv[0]);
	n->client = client_new(sv[0], getuid(), getgid(), getpid());
	n->peer = sv[1];
	assert_non_null(n->readable = event_new(n->base, n->peer, EV_READ,
	    net_readable, NULL));
	assert_non_null(n->deadline = evtimer_new(n->base, net_deadline,
	    NULL));
	*state = n;
	return 0;
}

static int
teardown(void **state)
{
	struct net	*n = *state;
	char		*cmd;

	clients_free_all();
	waiter_free_all();
	tick_free();
	event_free(n->readable);
	event_free(n->deadline);
	close(n->peer);
	store_close(n->store);
	event_base_free(n->base);
	cmd = xasprintf("rm -rf %s", n->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(n);
	cur = NULL;
	return 0;
}

/* A get that waits is answered when its job ends, with the result. */
static void
test_waiter_woken_by_the_end(void **state)
{
	struct net	*n = *state;
	json_t		*r;
	int64_t		 id;

	id = queue_job(n);
	wait_on(n, "g", id, -1);
	assert_int_equal(waiter_count(), 1);
	assert_int_equal(store_set_final(n->store, id, JOB_DONE, "49", NULL,
	    1, 2), 0);
	waiter_wake(id);
	assert_int_equal(waiter_count(), 0);
	r = next_reply(n);
	assert_string_equal(json_string_value(json_object_get(r, "state")),
	    "done");
	assert_int_equal(json_integer_value(json_object_get(r, "result")), 49);
	assert_reply(r, "g", NULL);
}

/* A get whose timeout runs out is answered with timeout; the job goes on. */
static void
test_waiter_timeout(void **state)
{
	struct net	*n = *state;
	json_t		*r;
	int64_t		 id;

	id = queue_job(n);
	wait_on(n, "t", id, 0.05);
	r = next_reply(n);
	assert_string_equal(json_string_value(json_object_get(r, "state")),
	    "queued");
	assert_reply(r, "t", "timeout");
	assert_int_equal(waiter_count(), 0);
	/* The end that comes later finds no one waiting. */
	waiter_wake(id);
}

/* A client that goes takes its waits with it. */
static void
test_waiter_dropped_with_its_client(void **state)
{
	struct net	*n = *state;
	int64_t		 id;

	id = queue_job(n);
	wait_on(n, "a", id, -1);
	wait_on(n, "b", id, 30);
	assert_int_equal(waiter_count(), 2);
	client_kill(n->client);
	assert_int_equal(waiter_count(), 0);
	waiter_wake(id);
}

/*
 * Under --max-queue 2 with two jobs queued: a submit waits, one with
 * "block":false is refused at once, one whose block_timeout runs out is
 * refused then, a map that could never fit is refused; once a job leaves
 * the queue, the waiting submit goes in, and only it.
 */
static void
test_admission_under_max_queue(void **state)
{
	struct net		*n = *state;
	int64_t			 first;

	first = queue_job(n);
	queue_job(n);
	assert_int_equal(net_admit(n, "{\"req\":\"wait\"}", "submit", 1), 0);
	assert_int_equal(net_admit(n, "{\"req\":\"now\",\"block\":false}",
	    "submit", 1), 0);
	assert_int_equal(net_admit(n, "{\"req\":\"brief\","
	    "\"block_timeout\":0.05}", "submit", 1), 0);
	assert_int_equal(net_admit(n, "{\"req\":\"huge\"}", "map", 3), 0);
	tick_kick();
	assert_reply(next_reply(n), "now", "queue_full");
	assert_reply(next_reply(n), "huge", "queue_full");
	assert_reply(next_reply(n), "brief", "queue_full");
	assert_int_equal(n->nreran, 0);
	/* A job leaves the queue: the first waiting submit goes in. */
	assert_int_equal(store_set_final(n->store, first, JOB_DONE, "1", NULL,
	    1, 2), 0);
	net_tick();
	assert_int_equal(n->nreran, 1);
	assert_string_equal(n->reran[0], "wait");
	/* It took the room: the queue is full again. */
	assert_int_equal(net_admit(n, "{\"req\":\"again\",\"block\":false}",
	    "submit", 1), 0);
	tick_kick();
	assert_reply(next_reply(n), "again", "queue_full");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_waiter_woken_by_the_end,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiter_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_waiter_dropped_with_its_client, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_admission_under_max_queue, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Client connections' lifetime and output. Replies are held per client
 * until the tick has committed, then sent in order (clients_flush). A
 * client is never freed inside its own callback: client_kill marks it
 * dead, and clients_flush frees it. Reading and the listener are
 * server.c's; what a client's death means to waiters and waiting submits
 * is told through the hook its owner registers. What a client has pending
 * counts against its budget: past it, it is not read; a client that never
 * reads its replies is dropped.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

TAILQ_HEAD(client_list, client);

static struct client_list	 clients = TAILQ_HEAD_INITIALIZER(clients);
static struct client_list	 held = TAILQ_HEAD_INITIALIZER(held);
static uint64_t			 next_client_id = 1;
static int			 nclients;
static void			(*gone_hook)(struct client *);
static struct event_base	*base;
static const struct config	*conf;

/*
 * What a client's pending work costs against its budget (--client-budget):
 * its replies held and queued, its waiting gets and follows (each about
 * this much), its submits waiting for room. Past the budget mpd does not
 * read it; it reads again once the cost is down to half. A client may not
 * have more than BLOCKED_MAX submits waiting for room, nor FOLLOWS_MAX
 * follows, whatever their cost.
 */
#define WAITER_COST	256
#define BLOCKED_MAX	16
#define FOLLOWS_MAX	64	/* log follows one client may have */

void
clients_init(struct event_base *b, const struct config *c,
    void (*gone)(struct client *))
{
	base = b;
	conf = c;
	gone_hook = gone;
}

static size_t
client_cost(struct client *c)
{
	return evbuffer_get_length(c->held) + evbuffer_get_length(
	    bufferevent_get_output(c->bev)) + c->nwaiting * WAITER_COST +
	    c->blocked;
}

/* Whether a client's pending work is past its budget. */
int
client_over(struct client *c)
{
	return client_cost(c) > conf->client_budget ||
	    c->nblocked >= BLOCKED_MAX || c->nfollowing >= FOLLOWS_MAX ||
	    c->loading > 0;
}

/*
 * A client past its budget for --client-drain-timeout seconds without its
 * output going down is one that does not read: it is dropped, as a full
 * socket would make any peer give up.
 */
static void
client_drain_cb(evutil_socket_t fd, short events, void *arg)
{
	struct client	*c = arg;
	struct timeval	 tv;
	size_t		 out = evbuffer_get_length(bufferevent_get_output(c->bev));

	(void)fd;
	(void)events;
	if (!(c->flags & CLIENT_FULL))
		return;
	if (out > 0 && out >= c->draining) {
		log_warnx("client %llu (uid %ld): dropped: %zu bytes of replies "
		    "unread for %.0f s past its budget", (unsigned long long)
		    c->id, (long)c->uid, out, conf->client_drain_timeout);
		client_kill(c);
		return;
	}
	c->draining = out;
	tv = tv_from(conf->client_drain_timeout);
	evtimer_add(c->drain, &tv);
}

/* Stops reading a client past its budget. */
void
client_full(struct client *c)
{
	struct timeval	tv;

	c->flags |= CLIENT_FULL;
	bufferevent_disable(c->bev, EV_READ);
	if (conf->client_drain_timeout <= 0)
		return;
	if (c->drain == NULL && (c->drain = evtimer_new(base, client_drain_cb,
	    c)) == NULL)
		fatalx("evtimer_new");
	c->draining = evbuffer_get_length(bufferevent_get_output(c->bev));
	tv = tv_from(conf->client_drain_timeout);
	evtimer_add(c->drain, &tv);
}

void
client_budget_check(struct client *c)
{
	if (client_over(c))
		client_full(c);
}

void
client_room(struct client *c)
{
	if (!(c->flags & CLIENT_FULL) || (c->flags & (CLIENT_DEAD |
	    CLIENT_HELD)) || client_cost(c) > conf->client_budget / 2 ||
	    c->nblocked >= BLOCKED_MAX || c->nfollowing >= FOLLOWS_MAX ||
	    c->loading > 0)
		return;
	c->flags &= ~CLIENT_FULL;
	if (c->drain != NULL)
		evtimer_del(c->drain);
	if (!(c->flags & (CLIENT_EOF | CLIENT_CLOSING))) {
		bufferevent_enable(c->bev, EV_READ);
		/* Lines already buffered would otherwise wait for more input;
		 * read them from the loop, not from the caller's midst. */
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
	}
}



struct client *
client_new(evutil_socket_t fd, uid_t uid, gid_t gid, pid_t pid)
{
	struct client	*c;

	c = xcalloc(1, sizeof *c);
	c->id = next_client_id++;
	c->uid = uid;
	c->gid = gid;
	c->pid = pid;
	LIST_INIT(&c->waiters);
	if ((c->held = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("bufferevent_socket_new");
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;
	return c;
}

int
clients_count(void)
{
	return nclients;
}

int
client_privileged(struct client *c)
{
	return c->uid == 0 || c->uid == geteuid();
}

int
client_may_see(struct client *c, uid_t owner)
{
	return client_privileged(c) || c->uid == owner;
}

void
client_kill(struct client *c)
{
	if (c->flags & CLIENT_DEAD)
		return;
	c->flags |= CLIENT_DEAD;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (gone_hook != NULL)
		gone_hook(c);
	tick_kick();
}

/* Frees a dead client. */
static void
client_free(struct client *c)
{
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	if (c->flags & CLIENT_HELD)
		TAILQ_REMOVE(&held, c, held_entry);
	if (gone_hook != NULL)
		gone_hook(c);
	bufferevent_free(c->bev);
	evbuffer_free(c->held);
	if (c->drain != NULL)
		event_free(c->drain);
	log_debug("client %llu freed", (unsigned long long)c->id);
	free(c);
}

void
client_reply_text(struct client *c, const char *text, size_t len)
{
	const char	*parts[] = { text };
	size_t		 lens[] = { len };

	client_reply_parts(c, parts, lens, 1);
}

void
client_reply_parts(struct client *c, const char **parts, const size_t *lens,
    int n)
{
	int	i;

	if (c->flags & CLIENT_DEAD)
		return;
	for (i = 0; i < n; i++) {
		if (evbuffer_add(c->held, parts[i], lens[i]) == -1)
			fatalx("evbuffer_add");
	}
	if (evbuffer_add(c->held, "\n", 1) == -1)
		fatalx("evbuffer_add");
	if (!(c->flags & CLIENT_HELD)) {
		c->flags |= CLIENT_HELD;
		TAILQ_INSERT_TAIL(&held, c, held_entry);
	}
	tick_kick();
}

struct shared *
shared_new(const char **parts, const size_t *lens, int n)
{
	struct shared	*sh;
	size_t		 len = 0, off = 0;
	int		 i;

	for (i = 0; i < n; i++)
		len += lens[i];
	sh = xmalloc(sizeof *sh + len);
	sh->refs = 1;
	sh->len = len;
	for (i = 0; i < n; i++) {
		memcpy(sh->data + off, parts[i], lens[i]);
		off += lens[i];
	}
	return sh;
}

void
shared_unref(struct shared *sh)
{
	if (sh != NULL && --sh->refs == 0)
		free(sh);
}

/* libevent is done with a client's reference to a shared text. */
static void
shared_done(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	shared_unref(arg);
}

void
client_reply_shared(struct client *c, const char *head, size_t len,
    struct shared *sh)
{
	if (c->flags & CLIENT_DEAD)
		return;
	sh->refs++;
	if (evbuffer_add(c->held, head, len) == -1 ||
	    evbuffer_add_reference(c->held, sh->data, sh->len, shared_done,
	    sh) == -1)
		fatalx("evbuffer_add");
	if (!(c->flags & CLIENT_HELD)) {
		c->flags |= CLIENT_HELD;
		TAILQ_INSERT_TAIL(&held, c, held_entry);
	}
	tick_kick();
}

void
client_reply(struct client *c, json_t *reply)
{
	char	*text;

	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (text == NULL)
		fatalx("cannot encode a reply");
	client_reply_text(c, text, strlen(text));
	free(text);
}

void
client_waiters_done(struct client *c)
{
	if ((c->flags & CLIENT_EOF) && LIST_EMPTY(&c->waiters))
		c->flags |= CLIENT_CLOSING;
	client_room(c);
	if (LIST_EMPTY(&c->waiters) && !(c->flags & CLIENT_DEAD))
		client_idle(c);
}

void
client_idle(struct client *c)
{
	struct timeval	tv;
	double		t = 0;

	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		t = conf->client_timeout;	/* in the middle of a line */
	else if (LIST_EMPTY(&c->waiters) && c->nblocked == 0)
		t = conf->idle_timeout;		/* between requests */
	if (t <= 0) {
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		return;
	}
	tv = tv_from(t);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
}

int
clients_of(uid_t uid)
{
	struct client	*c;
	int		 n = 0;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->uid == uid && !(c->flags & CLIENT_DEAD))
			n++;
	}
	return n;
}

void
clients_seal(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &held, held_entry)
		c->sealed = evbuffer_get_length(c->held);
}

/*
 * Sends what the commit covered of a client's held replies; returns 0, or
 * -1 if the client could not be written to.
 */
static int
client_flush(struct client *c)
{
	/* Replies held after the commit began wait for the next one. */
	struct evbuffer	*out = peer_prefix(c->held, c->sealed);
	int		 rc;

	c->sealed = 0;
	/*
	 * Straight to the socket when nothing waits before it: a reply then
	 * costs no turn of the loop waiting to be writable. What does not fit
	 * (and any error) is left to the bufferevent, as before; so is all of
	 * it for a client that is closing, or that stopped being read while
	 * its replies piled up, since client_write_cb must see those drain
	 * (from the loop: what it reads then is answered after the next
	 * commit, not in this flush).
	 */
	if (c->flags & (CLIENT_CLOSING | CLIENT_FULL))
		rc = bufferevent_write_buffer(c->bev, out);
	else
		rc = peer_send(c->bev, out);
	if (out != c->held)
		evbuffer_free(out);
	return rc;
}

void
clients_flush(void)
{
	struct client	*c, *next;

	for (c = TAILQ_FIRST(&held); c != NULL; c = next) {
		next = TAILQ_NEXT(c, held_entry);
		if (c->sealed == 0 && !(c->flags & CLIENT_DEAD))
			continue;
		if (!(c->flags & CLIENT_DEAD) && client_flush(c) == -1)
			client_kill(c);
		/* Replies it leaves unread count against its budget too. */
		if (!(c->flags & (CLIENT_DEAD | CLIENT_FULL)))
			client_budget_check(c);
		if ((c->flags & CLIENT_DEAD) ||
		    evbuffer_get_length(c->held) == 0) {
			TAILQ_REMOVE(&held, c, held_entry);
			c->flags &= ~CLIENT_HELD;
		}
	}
	for (c = TAILQ_FIRST(&clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->flags & CLIENT_DEAD)
			client_free(c);
	}
}

void
clients_fail_held(const char *why, int in_flight)
{
	struct client	*c;
	json_t		*line, *r;
	char		*text, *out;
	size_t		 len;
	int		 fd;

	while ((c = TAILQ_FIRST(&held)) != NULL) {
		TAILQ_REMOVE(&held, c, held_entry);
		c->flags &= ~CLIENT_HELD;
		fd = bufferevent_getfd(c->bev);
		/*
		 * Replies covered by a commit that has not reported may be
		 * true or not: such a client gets nothing more, its
		 * connection just ends, as if mpd had crashed.
		 */
		if (in_flight && c->sealed > 0)
			continue;
		/* Each held reply becomes an error for the same request. */
		while ((text = evbuffer_readln(c->held, &len,
		    EVBUFFER_EOL_LF)) != NULL) {
			line = json_loadb(text, len, 0, NULL);
			free(text);
			r = json_object();
			if (json_object_get(line, "req") != NULL)
				json_object_set(r, "req", json_object_get(line,
				    "req"));
			json_decref(line);
			json_object_set_new(r, "ok", json_false());
			json_object_set_new(r, "error", json_pack("{s:s, s:s}",
			    "code", ERR_INTERNAL, "message", why));
			out = json_dumps(r, JSON_COMPACT);
			json_decref(r);
			if (out == NULL)
				continue;
			/* The daemon is about to exit: best effort, now. */
			if ((c->flags & CLIENT_DEAD) == 0 && fd != -1 &&
			    (write(fd, out, strlen(out)) == -1 ||
			    write(fd, "\n", 1) == -1))
				log_debug("client %llu: cannot send an error",
				    (unsigned long long)c->id);
			free(out);
		}
	}
}

void
clients_free_all(void)
{
	struct client	*c;
	struct evbuffer	*out;
	int		 tries;

	/* Best effort: let replies already due (to "shutdown") reach. */
	clients_flush();
	TAILQ_FOREACH(c, &clients, entry) {
		out = bufferevent_get_output(c->bev);
		for (tries = 0; tries < 100 && evbuffer_get_length(out) > 0;
		    tries++) {
			if (evbuffer_write(out, bufferevent_getfd(c->bev)) ==
			    -1 && errno != EAGAIN && errno != EINTR)
				break;
		}
	}
	while ((c = TAILQ_FIRST(&clients)) != NULL) {
		c->flags |= CLIENT_DEAD;
		client_free(c);
	}
}

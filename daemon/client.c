/*
 * Client connections' lifetime and output. Replies are held per client
 * until the tick has committed, then sent in order (clients_flush). A
 * client is never freed inside its own callback: client_kill marks it
 * dead, and clients_flush frees it. Reading and the listener are
 * server.c's; what a client's death means to waiters and waiting submits
 * is told through the hook its owner registers.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "xmalloc.h"

TAILQ_HEAD(client_list, client);

static struct client_list	 clients = TAILQ_HEAD_INITIALIZER(clients);
static struct client_list	 held = TAILQ_HEAD_INITIALIZER(held);
static uint64_t			 next_client_id = 1;
static int			 nclients;
static void			(*gone_hook)(struct client *);
static struct event_base	*base;

void
clients_init(struct event_base *b, void (*gone)(struct client *))
{
	base = b;
	gone_hook = gone;
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

/*
 * Admission: the queue's cap (--max-queue), Queue(maxsize) for jobs, and
 * each user's (--max-queued-per-user), which refuses at once. A
 * submit or map that does not fit waits, in arrival order, until enough
 * queued items have gone to workers, or until its block_timeout runs out;
 * with "block":false it is refused at once with queue_full. A map counts
 * one per item and is taken whole or not at all. Without a cap, all of
 * this is skipped.
 *
 * The queue's size comes from the store once per loop iteration and is
 * kept up to date in between by what is admitted.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

/*
 * A request waiting for room keeps its line's bytes only, and is decoded
 * again when it goes in: what it costs its client is what it sent.
 */
struct blocked {
	struct client		*client;
	char			*line;
	size_t			 len;
	json_t			*tag;		/* its req tag, or NULL */
	int64_t			 items;
	size_t			 bytes;		/* what it costs its client */
	struct event		*timer;
	TAILQ_ENTRY(blocked)	 entry;
};

static TAILQ_HEAD(, blocked)	 blocked = TAILQ_HEAD_INITIALIZER(blocked);
static struct event_base	*base;
static struct store		*store;
static int64_t			 max_queue;	/* items; 0 for no cap */
/* Runs a request's line again once it fits (set by loop.c). */
static void	(*admit_run)(struct client *, const char *, size_t);
static int64_t			 queued = -1;	/* -1: ask the store */
static int			 admitting;	/* a blocked request goes in */
static int64_t			 max_user;	/* one user's items; 0 no cap */
/* Users' items queued, asked of the store once per iteration each. */
#define OWNERS_SEEN	32
static struct owner_queued {
	uid_t	 uid;
	int64_t	 items;
}				 seen[OWNERS_SEEN];
static int			 nseen;

/* Items queued now, counting what this iteration admitted. */
static int64_t
admit_queued(void)
{
	if (queued < 0 && (queued = store_queued_items(store)) < 0)
		fatalx("cannot count the queue: %s", store_errmsg(store));
	return queued;
}

/* Items a user has queued now, counting what this iteration admitted. */
static int64_t *
admit_owner_queued(uid_t uid)
{
	int64_t	n = 0, k;
	int	i;

	for (i = 0; i < nseen; i++) {
		if (seen[i].uid == uid)
			return &seen[i].items;
	}
	if (nseen == OWNERS_SEEN)
		nseen = 0;	/* the store has what they admitted */
	for (i = 0; i < pool_count(); i++) {
		if ((k = store_owner_items(store, pool_name(i), uid)) < 0)
			fatalx("cannot count a user's queue: %s",
			    store_errmsg(store));
		n += k;
	}
	seen[nseen].uid = uid;
	seen[nseen].items = n;
	return &seen[nseen++].items;
}

/* Whether a user other than root and mpd's own has room; or replies. */
static int
admit_owner(struct client *c, json_t *tag, const char *op, int64_t items)
{
	int64_t	*n;

	/* Checked again when a waiting one goes in: others may have come. */
	if (max_user == 0 || client_privileged(c))
		return 1;
	n = admit_owner_queued(c->uid);
	if (*n + items <= max_user)
		return 1;
	reply_error(c, tag, ERR_QUEUE_FULL, "uid %ld has %lld items queued "
	    "and this %s has %lld; one user may have at most %lld queued "
	    "(--max-queued-per-user)", (long)c->uid, (long long)*n, op,
	    (long long)items, (long long)max_user);
	return 0;
}

/* A request goes in: its user's count grows by its items. Returns 1. */
static int
admit_in(struct client *c, int64_t items)
{
	if (max_user != 0 && !client_privileged(c))
		*admit_owner_queued(c->uid) += items;
	return 1;
}

static void
blocked_free(struct blocked *b)
{
	TAILQ_REMOVE(&blocked, b, entry);
	if (b->timer != NULL)
		event_free(b->timer);
	json_decref(b->tag);
	free(b->line);
	b->client->nblocked--;
	b->client->blocked -= b->bytes;
	client_room(b->client);
	free(b);
}

/* A blocked request waited as long as it was willing to. */
static void
admit_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct blocked	*b = arg;

	(void)fd;
	(void)events;
	reply_error(b->client, b->tag, ERR_QUEUE_FULL,
	    "the queue stayed full (%lld items queued, at most %lld) for "
	    "block_timeout", (long long)admit_queued(), (long long)max_queue);
	blocked_free(b);
}

void
admit_init(struct event_base *b, struct store *s, const struct config *c,
    void (*run)(struct client *, const char *, size_t))
{
	base = b;
	max_queue = c->max_queue;
	max_user = c->max_queued_user;
	store = s;
	admit_run = run;
}

int
admit(struct client *c, json_t *req, const char *op,
    const struct reqline *line, int64_t items)
{
	struct blocked	*b;
	struct timeval	 tv;
	json_t		*v, *tag = json_object_get(req, "req");
	double		 wait = -1;

	if (!admit_owner(c, tag, op, items))
		return 0;
	if (max_queue == 0)
		return admit_in(c, items);
	if (admitting) {
		queued = admit_queued() + items;
		return admit_in(c, items);
	}
	if (items > max_queue) {
		reply_error(c, tag, ERR_QUEUE_FULL, "%lld items can never fit "
		    "in a queue of at most %lld", (long long)items,
		    (long long)max_queue);
		return 0;
	}
	if (TAILQ_EMPTY(&blocked) && admit_queued() + items <= max_queue) {
		queued += items;
		return admit_in(c, items);
	}
	if ((v = json_object_get(req, "block_timeout")) != NULL)
		wait = json_number_value(v);
	if (json_is_false(json_object_get(req, "block")) || wait == 0) {
		reply_error(c, tag, ERR_QUEUE_FULL, "the queue is full (%lld "
		    "items queued, at most %lld)", (long long)admit_queued(),
		    (long long)max_queue);
		return 0;
	}
	b = xcalloc(1, sizeof *b);
	b->client = c;
	b->line = xmalloc(line->len);
	memcpy(b->line, line->text, line->len);
	b->len = line->len;
	b->tag = json_incref(tag);
	b->items = items;
	if (wait > 0) {
		if ((b->timer = evtimer_new(base, admit_timeout, b)) == NULL)
			fatalx("evtimer_new");
		tv = tv_from(wait);
		evtimer_add(b->timer, &tv);
	}
	/* Counted against the client's budget: past it, mpd stops reading. */
	b->bytes = b->len + sizeof *b;
	c->nblocked++;
	c->blocked += b->bytes;
	TAILQ_INSERT_TAIL(&blocked, b, entry);
	log_debug("client %llu: %s of %lld item(s) waits for queue space",
	    (unsigned long long)c->id, op, (long long)items);
	return 0;
}

void
admit_blocked(void)
{
	struct blocked	*b;

	queued = -1;	/* after dispatch: ask the store again */
	nseen = 0;
	if (max_queue == 0)
		return;
	while ((b = TAILQ_FIRST(&blocked)) != NULL &&
	    admit_queued() + b->items <= max_queue) {
		admitting = 1;
		admit_run(b->client, b->line, b->len);
		admitting = 0;
		blocked_free(b);
		tick_kick();	/* dispatch what went in */
	}
}

void
admit_drop_client(struct client *c)
{
	struct blocked	*b, *next;

	for (b = TAILQ_FIRST(&blocked); b != NULL; b = next) {
		next = TAILQ_NEXT(b, entry);
		if (b->client == c)
			blocked_free(b);
	}
}

void
admit_refuse_all(void)
{
	struct blocked	*b;

	while ((b = TAILQ_FIRST(&blocked)) != NULL) {
		reply_error(b->client, b->tag, ERR_SHUTTING_DOWN, "the daemon "
		    "is shutting down and takes no new jobs");
		blocked_free(b);
	}
}

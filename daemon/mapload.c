/*
 * A map's chunks, stored a slice at a time. A map of many chunks would
 * hold the loop, and every other client, for as long as its rows take to
 * store; so each turn of the loop stores at most MAP_SLICE seconds' worth
 * and lets the others in before the next. The map's own client is not
 * read meanwhile, so its replies keep their order, and it hears of the map
 * once the last chunk is stored and committed.
 *
 * Until then the map row is marked loading: a daemon that dies midway
 * finds it so at start and deletes it with its chunks, since nobody was
 * told of it. Chunks already stored may run meanwhile; a map that fails or
 * is cancelled before it is all stored gets no more chunks.
 */
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "log.h"
#include "mpd.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

/* Seconds of storing chunks per turn of the loop, over all maps. */
#define MAP_SLICE	0.001

struct load {
	struct client		*client;	/* NULL once it went */
	json_t			*tag;
	struct job		 map;		/* the chunks' template */
	int64_t			 id;
	int64_t			 n, size, at;	/* items; the next one */
	struct map_items	 items;
	char			*text;		/* items' text, owned */
	size_t			 bytes;		/* counted in its client's budget */
	TAILQ_ENTRY(load)	 entry;
};

static TAILQ_HEAD(, load)	 loads = TAILQ_HEAD_INITIALIZER(loads);
static struct store		*store;
static struct event		*turn;		/* the next slice */

char *
map_items_take(struct map_items *mi, int64_t n)
{
	const char	*first = NULL, *last = NULL, *start, *next;
	json_t		*slice;
	char		*text;
	size_t		 len;
	int64_t		 k;

	if (mi->array != NULL) {
		slice = json_array();
		for (k = 0; k < n; k++)
			json_array_append(slice, json_array_get(mi->array,
			    (size_t)(mi->next + k)));
		text = json_dumps(slice, JSON_COMPACT);
		json_decref(slice);
		if (text == NULL)
			fatalx("cannot encode a chunk");
	} else {
		for (k = 0; k < n; k++) {
			last = jscan_next(mi->p, mi->end, &start, &next);
			if (last == NULL)
				fatalx("a checked map item fails to scan");
			if (k == 0)
				first = start;
			mi->p = next;
		}
		len = (size_t)(last - first);
		text = xmalloc(len + 3);
		text[0] = '[';
		memcpy(text + 1, first, len);
		memcpy(text + 1 + len, "]", 2);
	}
	mi->next += n;
	return text;
}

/*
 * Stores chunks of a map until it is all stored or the time is up.
 * Returns 1 when the map is all stored (or ended early), else 0.
 */
static int
load_slice(struct load *l, double until)
{
	struct job	chunk, j;
	int		k, ended;

	/* A map that failed or was cancelled meanwhile gets no more. */
	if (l->at > 0) {
		if (store_get(store, l->id, &j) != 1)
			return 1;
		ended = job_state_final(j.state);
		job_clear(&j);
		if (ended)
			return 1;
	}
	chunk = l->map;
	chunk.kind = KIND_CHUNK;
	chunk.parent = l->id;
	chunk.state = JOB_QUEUED;
	chunk.name = NULL;
	for (k = 0; l->at < l->n; k++) {
		if ((k & 15) == 15 && time_mono() >= until)
			return 0;
		chunk.seq = l->at;
		chunk.nitems = l->at + l->size <= l->n ? l->size :
		    l->n - l->at;
		chunk.args = map_items_take(&l->items, chunk.nitems);
		if (store_insert(store, &chunk) == -1) {
			/*
			 * A map half stored must never be told of: stop
			 * before the tick commits it.
			 */
			fatalx("store: inserting map: %s",
			    store_errmsg(store));
		}
		free(chunk.args);
		l->at += chunk.nitems;
	}
	return 1;
}

/* The map is stored: it is no longer loading, and its client hears. */
static void
load_done(struct load *l, int queued)
{
	struct client	*c = l->client;

	if (queued && store_map_loading(store, l->id, 0) == -1)
		fatalx("store: a map's end of loading: %s",
		    store_errmsg(store));
	if (c != NULL)
		reply_ok(c, l->tag, json_pack("{s:I, s:I, s:I}", "job",
		    (json_int_t)l->id, "items", (json_int_t)l->n, "chunksize",
		    (json_int_t)l->size));
	if (queued) {
		TAILQ_REMOVE(&loads, l, entry);
		if (c != NULL) {
			c->loading--;
			c->blocked -= l->bytes;
			client_room(c);
		}
		if (l->items.array != NULL)
			json_decref(l->items.array);
		free(l->text);
	}
	json_decref(l->tag);
	job_clear(&l->map);
	if (queued)
		free(l);
	tick_kick();	/* commit, and dispatch the chunks */
}

/* A turn of the loop: the next slice of each waiting map, in order. */
static void
load_turn(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	 now = { 0, 0 };
	struct load	*l;
	double		 until = time_mono() + MAP_SLICE;

	(void)fd;
	(void)events;
	(void)arg;
	while ((l = TAILQ_FIRST(&loads)) != NULL) {
		if (!load_slice(l, until))
			break;
		load_done(l, 1);
	}
	/* What went in is committed, and its chunks may start. */
	tick_kick();
	if (!TAILQ_EMPTY(&loads))
		evtimer_add(turn, &now);
}

void
mapload_start(struct client *c, json_t *tag, struct job *map, int64_t id,
    struct map_items *mi, int64_t n, int64_t size)
{
	struct timeval	 now = { 0, 0 };
	struct load	*l, first;
	size_t		 len;

	memset(&first, 0, sizeof first);
	first.client = c;
	first.tag = json_incref(tag);
	first.map = *map;	/* taken: the caller's is cleared */
	memset(map, 0, sizeof *map);
	first.id = id;
	first.n = n;
	first.size = size;
	first.items = *mi;
	/* A small map, and the first slice of a big one, go in at once. */
	if (TAILQ_EMPTY(&loads) && load_slice(&first, time_mono() +
	    MAP_SLICE)) {
		load_done(&first, 0);
		return;
	}
	if (store_map_loading(store, id, 1) == -1)
		fatalx("store: a map's loading: %s", store_errmsg(store));
	l = xmalloc(sizeof *l);
	*l = first;
	/* The request's line goes once this returns: keep what is left. */
	if (l->items.array != NULL) {
		json_incref(l->items.array);
		l->bytes = (size_t)(n - l->at) * 16;
	} else {
		len = (size_t)(l->items.end - l->items.p);
		l->text = xmalloc(len + 1);
		memcpy(l->text, l->items.p, len);
		l->items.p = l->text;
		l->items.end = l->text + len;
		l->bytes = len;
	}
	l->bytes += sizeof *l;
	/* Its client is not read until the map is stored: replies in order. */
	c->loading++;
	c->blocked += l->bytes;
	TAILQ_INSERT_TAIL(&loads, l, entry);
	evtimer_add(turn, &now);
	log_debug("client %llu: map %lld of %lld items is stored a slice per "
	    "turn", (unsigned long long)c->id, (long long)id, (long long)n);
}

void
mapload_finish_all(void)
{
	struct load	*l;

	while ((l = TAILQ_FIRST(&loads)) != NULL) {
		load_slice(l, time_mono() + 3600);
		load_done(l, 1);
	}
	evtimer_del(turn);
}

void
mapload_drop_client(struct client *c)
{
	struct load	*l;

	TAILQ_FOREACH(l, &loads, entry) {
		if (l->client == c) {
			l->client = NULL;
			c->loading--;
			c->blocked -= l->bytes;
		}
	}
}

void
mapload_init(struct event_base *base, struct store *s)
{
	store = s;
	if ((turn = evtimer_new(base, load_turn, NULL)) == NULL)
		fatalx("evtimer_new");
}

void
mapload_free(void)
{
	if (turn != NULL)
		event_free(turn);
	turn = NULL;
}

/*
 * The store's front: picks a backend by the --db target, wraps it in the
 * fault backend when asked, and forwards each call to the backend's table.
 * What a call means is in store.h; how a database does it, in
 * store_sqlite.c (and, to come, PostgreSQL's).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_backend.h"
#include "xmalloc.h"

int
store_target(const char *target, enum store_kind *kind, const char **file,
    char **cause)
{
	size_t	n;

	*file = NULL;
	if (strncmp(target, "sqlite:", 7) == 0) {
		*kind = STORE_SQLITE;
		*file = target + 7;
		if (**file == '\0') {
			*cause = xstrdup("sqlite: names no database file");
			return -1;
		}
		/* Not a URL: sqlite:///a/b would be read as "//a/b". */
		if (strncmp(*file, "//", 2) == 0) {
			*cause = xasprintf("%s: sqlite: takes a path, not a URL "
			    "(write sqlite:/abs/path or sqlite:rel/path)",
			    target);
			return -1;
		}
		return 0;
	}
	if (strncmp(target, "postgresql://", 13) == 0 ||
	    strncmp(target, "postgres://", 11) == 0) {
		*kind = STORE_POSTGRESQL;
		return 0;
	}
	/* A URL of another scheme is a mistake, not a file name. */
	n = strspn(target, "abcdefghijklmnopqrstuvwxyz0123456789+.-");
	if (n > 0 && strncmp(target + n, "://", 3) == 0) {
		*cause = xasprintf("%s: unknown database scheme \"%.*s\" (mpd "
		    "knows a file path, sqlite:PATH and postgresql://...)",
		    target, (int)n, target);
		return -1;
	}
	*kind = STORE_SQLITE;
	*file = target;
	return 0;
}

struct store *
store_open(const char *target, int sync_full, const char *faults,
    struct event_base *base, char **cause)
{
	struct store	*s;
	enum store_kind	 kind;
	const char	*file;

	if (store_target(target, &kind, &file, cause) == -1)
		return NULL;
	switch (kind) {
	case STORE_SQLITE:
		s = store_sqlite_open(file, sync_full, cause);
		break;
	default:
		*cause = xasprintf("%s: this mpd is built without PostgreSQL "
		    "support", target);
		return NULL;
	}
	if (s != NULL && faults != NULL)
		s = store_fault_open(s, faults, base, cause);
	return s;
}

void
store_on_lost(struct store *s, store_lost_fn fn, void *arg)
{
	/* A wrapper's inner store may lose the transaction itself. */
	for (; s != NULL; s = s->inner) {
		s->lost = fn;
		s->lost_arg = arg;
	}
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

const char *
store_errmsg(struct store *s)
{
	return s->ops->errmsg(s);
}

int
store_recover(struct store *s, int64_t *requeued, int64_t *failed)
{
	return s->ops->recover(s, requeued, failed);
}

int64_t
store_insert(struct store *s, const struct job *j)
{
	return s->ops->insert(s, j);
}

int
store_get(struct store *s, int64_t id, struct job *j)
{
	return s->ops->get(s, id, j);
}

int
store_next(struct store *s, int64_t *ids, int max)
{
	return s->ops->next(s, ids, max);
}

int
store_runnable_in(struct store *s, const char *pool)
{
	return s->ops->runnable_in(s, pool);
}

int
store_next_of(struct store *s, const char *pool, uid_t owner, int64_t *ids,
    int *prio, int max)
{
	return s->ops->next_of(s, pool, owner, ids, prio, max);
}

int
store_ended(struct store *s, double before, int64_t *ids, int *kinds,
    int max)
{
	return s->ops->ended(s, before, ids, kinds, max);
}

int64_t
store_ended_count(struct store *s)
{
	return s->ops->ended_count(s);
}

int
store_map_loading(struct store *s, int64_t id, int on)
{
	return s->ops->map_loading(s, id, on);
}

int64_t
store_owner_items(struct store *s, const char *pool, uid_t owner)
{
	return s->ops->owner_items(s, pool, owner);
}

int
store_queued_owners(struct store *s, const char *pool, uid_t *owners,
    int max)
{
	return s->ops->queued_owners(s, pool, owners, max);
}

int64_t
store_pool_queued(struct store *s, const char *pool, uid_t owner)
{
	return s->ops->pool_queued(s, pool, owner);
}

int
store_pool_record(struct store *s, const char *name, int size, int paused,
    int added, const char *runtime)
{
	return s->ops->pool_record(s, name, size, paused, added, runtime);
}

int
store_pool_records(struct store *s, store_pool_fn fn, void *arg)
{
	return s->ops->pool_records(s, fn, arg);
}

int
store_set_running(struct store *s, int64_t id, pid_t pid, double t)
{
	return s->ops->set_running(s, id, pid, t);
}

int
store_map_started(struct store *s, int64_t id, double t)
{
	return s->ops->map_started(s, id, t);
}

int
store_set_final(struct store *s, int64_t id, int state, const char *result,
    const char *error, double started, double t)
{
	return s->ops->set_final(s, id, state, result, error, started, t);
}

int
store_requeue(struct store *s, int64_t id, int refund, double not_before)
{
	return s->ops->requeue(s, id, refund, not_before);
}

int
store_attempt(struct store *s, const struct job *j, double finished,
    int state, const char *error)
{
	return s->ops->attempt(s, j, finished, state, error);
}

int
store_attempts(struct store *s, int64_t id, store_attempt_fn fn, void *arg)
{
	return s->ops->attempts(s, id, fn, arg);
}

int
store_limit_size(struct store *s, int64_t bytes)
{
	return s->ops->limit_size(s, bytes);
}

int64_t
store_headroom(struct store *s)
{
	return s->ops->headroom(s);
}

int64_t
store_queued_items(struct store *s)
{
	return s->ops->queued_items(s);
}

double
store_next_delayed(struct store *s)
{
	return s->ops->next_delayed(s);
}

int
store_job_progress(struct store *s, int64_t id, int64_t done, int64_t total)
{
	return s->ops->job_progress(s, id, done, total);
}

int
store_map_progress(struct store *s, int64_t id, int64_t n)
{
	return s->ops->map_progress(s, id, n);
}

char *
store_map_result(struct store *s, int64_t id)
{
	return s->ops->map_result(s, id);
}

int
store_cancel_chunks(struct store *s, int64_t id, const char *error, double t,
    int max)
{
	return s->ops->cancel_chunks(s, id, error, t, max);
}

int
store_forget(struct store *s, int64_t id, int max)
{
	return s->ops->forget(s, id, max);
}

int
store_owners(struct store *s, uid_t owner, store_owner_fn fn, void *arg)
{
	return s->ops->owners(s, owner, fn, arg);
}

int
store_counts(struct store *s, uid_t owner, int64_t *counts)
{
	return s->ops->counts(s, owner, counts);
}

int
store_list(struct store *s, int state, uid_t owner, int limit,
    store_job_fn fn, void *arg)
{
	return s->ops->list(s, state, owner, limit, fn, arg);
}

int
store_dirty(struct store *s)
{
	return s->ops->dirty(s);
}

void
store_commit(struct store *s, store_done_fn done, void *arg)
{
	s->ops->commit(s, done, arg);
}

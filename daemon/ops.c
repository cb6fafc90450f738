/*
 * The protocol ops, one function each, found through a table keyed by op
 * name. Requests arrive already checked against common/request.c's table,
 * so handlers read fields without re-checking their types.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "request.h"
#include "store.h"
#include "tasks/task.h"
#include "util.h"
#include "xmalloc.h"

static const struct reqline *cur_line;	/* of the request being run */
static double	up_since;		/* on the monotonic clock */
static struct store *store;
static const struct config *conf;
static void	(*stop)(enum stop_mode);	/* the shutdown op's */
static int64_t	room_left = -1;		/* in the store; -1: read it */

/*
 * Loads a job the client may see; chunks and other users' jobs do not
 * exist as far as the client knows. Returns 1, or 0 after replying.
 */
static int
ops_load(struct client *c, json_t *tag, int64_t id, struct job *j)
{
	int	rc = store_get(store, id, j);

	if (rc == -1) {
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
		return 0;
	}
	/* A map being stored or forgotten is seen by nobody. */
	if (rc == 0 || j->kind == KIND_CHUNK || j->loading ||
	    !client_may_see(c, j->owner)) {
		if (rc == 1)
			job_clear(j);
		reply_error(c, tag, ERR_NOT_FOUND, "job %lld does not exist",
		    (long long)id);
		return 0;
	}
	return 1;
}

/* Refuses new work once a stop has begun; returns 1 after replying. */
static int
ops_refuse_stopping(struct client *c, json_t *tag)
{
	if (stopping() == STOP_NONE)
		return 0;
	reply_error(c, tag, ERR_SHUTTING_DOWN,
	    "the daemon is shutting down and takes no new jobs");
	return 1;
}

/* Checks a task name; returns the task, or NULL after replying. */
static const struct task *
ops_task(struct client *c, json_t *tag, const char *name)
{
	const struct task	*t;
	json_t			*names;
	char			*list;

	if ((t = task_find(name)) != NULL)
		return t;
	names = task_names();
	list = json_dumps(names, JSON_COMPACT);
	json_decref(names);
	reply_error(c, tag, ERR_UNKNOWN_TASK, "no task named \"%.64s\"; the "
	    "tasks are %s, and functions of a runtime's pool, named "
	    "module:qualname", name, list != NULL ? list : "?");
	free(list);
	return NULL;
}

static int	ops_pool(struct client *, json_t *, json_t *);

/* What a runtime's function is to the checks of submit and map: no check. */
static const struct task function_task = { .name = "function" };

/*
 * The task and pool of a submit or map. A task of mpd's own (built in, or
 * a plugin's) runs in a builtin pool: the one named, else the default. A
 * runtime's function ("module:qualname") runs in an external runtime's
 * pool: the one named, else the first there is. Returns the pool's index
 * with *t set (function_task for a function), or -1 after replying.
 */
static int
ops_route(struct client *c, json_t *tag, json_t *req, const struct task **t)
{
	const char	*name = json_string_value(json_object_get(req, "task"));
	json_t		*v;
	int		 k, named = json_object_get(req, "pool") != NULL;

	if ((*t = task_find(name)) == NULL && !function_name_ok(name)) {
		ops_task(c, tag, name);
		return -1;
	}
	if ((k = ops_pool(c, tag, req)) == -1)
		return -1;
	if (*t != NULL) {
		if (!pool_external(k))
			return k;
		reply_error(c, tag, ERR_UNKNOWN_TASK, "pool %s runs functions "
		    "of the runtime %s, not mpd's task \"%s\"", pool_name(k),
		    pool_runtime(k), name);
		return -1;
	}
	*t = &function_task;
	if ((v = json_object_get(req, "context")) != NULL &&
	    json_dumpb(v, NULL, 0, JSON_COMPACT) > PROTO_CONTEXT_MAX) {
		reply_error(c, tag, ERR_BAD_REQUEST, "a context is at most %d "
		    "bytes of JSON", PROTO_CONTEXT_MAX);
		return -1;
	}
	for (; !named && k < pool_count(); k++) {
		if (pool_listed(k) && pool_external(k))
			break;
	}
	if (k < pool_count() && pool_external(k))
		return k;
	if (named)
		reply_error(c, tag, ERR_UNKNOWN_TASK, "pool %s runs mpd's own "
		    "tasks; the function \"%.64s\" needs a pool with a runtime, "
		    "such as one of mpd --pool py=4:python", pool_name(k), name);
	else
		reply_error(c, tag, ERR_UNKNOWN_TASK, "no task named \"%.64s\", "
		    "and no pool runs functions: start mpd with a runtime's "
		    "pool, such as --pool py=4:python", name);
	return -1;
}

/*
 * The pool a submit or map names (its index), else the default pool's;
 * -1 after replying that there is no such pool.
 */
static int
ops_pool(struct client *c, json_t *tag, json_t *req)
{
	json_t		*v = json_object_get(req, "pool"), *names;
	char		*list;
	int		 k;

	if (v == NULL)
		return 0;
	if ((k = pool_find(json_string_value(v))) != -1)
		return k;
	names = json_array();
	for (k = 0; k < pool_count(); k++) {
		if (pool_listed(k))
			json_array_append_new(names,
			    json_string(pool_name(k)));
	}
	list = json_dumps(names, JSON_COMPACT);
	json_decref(names);
	reply_error(c, tag, ERR_UNKNOWN_POOL, "no pool named \"%.64s\"; the "
	    "pools are %s", json_string_value(v), list != NULL ? list : "?");
	free(list);
	return -1;
}

/* Runs a task's own check of args; returns 1, or 0 after replying. */
static int
ops_check(struct client *c, json_t *tag, const struct task *t, json_t *args,
    json_t *kwargs)
{
	json_t	*empty = NULL;
	char	*cause = NULL;
	int	 rc;

	if (t->check == NULL)
		return 1;
	if (kwargs == NULL)
		kwargs = empty = json_object();
	rc = t->check(args, kwargs, &cause);
	json_decref(empty);
	if (rc == 0)
		return 1;
	reply_error(c, tag, ERR_BAD_REQUEST, "%s", cause);
	free(cause);
	return 0;
}

/*
 * Refuses new work when the store is nearly full: the reserve is kept for
 * what running jobs will write (results, attempts), so nothing that was
 * acknowledged is lost. Returns 1 to go on, or 0 after replying.
 */
static int
ops_room(struct client *c, json_t *tag, json_t *req)
{
	int64_t	need, n, disk;

	if (disk_is_full()) {
		reply_error(c, tag, ERR_DISK_FULL, "the disk holding the store "
		    "is full: new work is refused until space is freed (jobs "
		    "forgotten, files removed); what is queued or running is "
		    "kept, and reads still answer");
		return 0;
	}
	if (conf->store_reserve == 0)
		return 1;
	/*
	 * About what the rows will take: the request's JSON twice (a map's
	 * chunks and results), and some overhead per row. The store's room
	 * is read once per tick and counted down by what goes in meanwhile.
	 */
	n = cur_line->items != NULL ? cur_line->nitems :
	    (int64_t)json_array_size(json_object_get(req, "items"));
	need = 512 + 2 * (int64_t)cur_line->len + 64 * n;
	if (room_left < 0)
		room_left = store_headroom(store);
	if (room_left - need >= conf->store_reserve) {
		room_left -= need;
		return 1;
	}
	if ((disk = disk_room()) - need < conf->store_reserve)
		reply_error(c, tag, ERR_DISK_FULL, "the disk holding the store "
		    "is nearly full (%lld bytes left, %lld kept for running "
		    "jobs); try again once jobs are forgotten or space is freed",
		    (long long)disk, (long long)conf->store_reserve);
	else
		reply_error(c, tag, ERR_STORE_FULL, "the store is nearly full "
		    "(%lld bytes left under --max-db-size, %lld kept for "
		    "running jobs); try again once jobs are forgotten",
		    (long long)room_left, (long long)conf->store_reserve);
	return 0;
}

/* Text of an optional JSON field, or a default (newly allocated). */
static char *
ops_text(json_t *req, const char *key, const char *dflt)
{
	json_t	*v = json_object_get(req, key);
	char	*s;

	if (v == NULL)
		return xstrdup(dflt);
	if ((s = json_dumps(v, JSON_COMPACT)) == NULL)
		fatalx("cannot encode %s", key);
	return s;
}

/* Fills the fields shared by submit and map, for a pool. */
static void
ops_job_init(struct client *c, json_t *req, int pool, struct job *j)
{
	json_t	*v, *kw, *e;
	size_t	 i;

	memset(j, 0, sizeof *j);
	j->task = xstrdup(json_string_value(json_object_get(req, "task")));
	j->pool = xstrdup(pool_name(pool));
	j->kwargs = ops_text(req, "kwargs", "{}");
	/* For a runtime's function: what its runtime is to know besides. */
	if (task_find(j->task) == NULL && json_object_get(req, "context"))
		j->context = ops_text(req, "context", "{}");
	if ((v = json_object_get(req, "name")) != NULL)
		j->name = xstrdup(json_string_value(v));
	j->owner = c->uid;
	j->priority = (int)json_integer_value(json_object_get(req,
	    "priority"));
	j->state = JOB_QUEUED;
	j->max_attempts = 1;
	if ((v = json_object_get(req, "max_attempts")) != NULL)
		j->max_attempts = (int)json_integer_value(v);
	j->created = time_now();
	j->group = c->gid;
	j->retry_on = RETRY_DEFAULT;
	if ((v = json_object_get(req, "retry_on")) != NULL) {
		j->retry_on = 0;
		json_array_foreach(v, i, e)
			j->retry_on |= retry_cause(json_string_value(e));
	}
	j->retry_delay = RETRY_DELAY;
	if ((v = json_object_get(req, "retry_delay")) != NULL)
		j->retry_delay = json_number_value(v);
	j->retry_factor = RETRY_FACTOR;
	if ((v = json_object_get(req, "retry_factor")) != NULL)
		j->retry_factor = json_number_value(v);
	j->retry_max = RETRY_MAX;
	if ((v = json_object_get(req, "retry_max")) != NULL)
		j->retry_max = json_number_value(v);
	/* The time limit: the request's, a command's kwargs', the default. */
	kw = json_object_get(req, "kwargs");
	if ((v = json_object_get(req, "timeout")) != NULL)
		j->timeout = json_number_value(v);
	else if ((v = json_object_get(kw, "timeout")) != NULL &&
	    json_is_number(v) && task_find(j->task) != NULL &&
	    task_find(j->task)->command)
		j->timeout = json_number_value(v);
	else
		j->timeout = conf->job_timeout;
	/* Ordinary users' jobs never run longer than --user-job-timeout. */
	if (conf->user_job_timeout > 0 && !client_privileged(c) &&
	    (j->timeout <= 0 || j->timeout > conf->user_job_timeout))
		j->timeout = conf->user_job_timeout;
}

/*
 * Ordinary users' priorities are within -N..N (--user-priority-max);
 * returns 1, or 0 after replying with the limit's name.
 */
static int
ops_priority_ok(struct client *c, json_t *tag, json_t *req)
{
	json_int_t	p = json_integer_value(json_object_get(req, "priority"));

	if (client_privileged(c) || (p >= -conf->user_priority_max &&
	    p <= conf->user_priority_max))
		return 1;
	reply_error(c, tag, ERR_PERMISSION, "priority %lld is outside what "
	    "users other than root may give: -%lld to %lld "
	    "(--user-priority-max)", (long long)p,
	    (long long)conf->user_priority_max,
	    (long long)conf->user_priority_max);
	return 0;
}

static void
op_hello(struct client *c, json_t *req, json_t *tag)
{
	json_t	*v = json_object_get(req, "version"), *pools;
	int	 k;

	if (v != NULL && json_integer_value(v) != PROTO_VERSION) {
		reply_error(c, tag, ERR_UNSUPPORTED, "this daemon speaks "
		    "protocol version %d, not %lld", PROTO_VERSION,
		    (long long)json_integer_value(v));
		return;
	}
	pools = json_array();
	for (k = 0; k < pool_count(); k++) {
		if (pool_listed(k))
			json_array_append_new(pools,
			    json_string(pool_name(k)));
	}
	reply_ok(c, tag, json_pack("{s:s, s:s, s:i, s:I, s:i, s:o, s:o, s:I}",
	    "server", "mpd", "version", MPD_VERSION, "protocol", PROTO_VERSION,
	    "pid", (json_int_t)getpid(), "workers", nworkers, "pools", pools,
	    "tasks", task_names(), "max_line", (json_int_t)conf->max_line));
}

static void
op_submit(struct client *c, json_t *req, json_t *tag)
{
	struct job	 j;
	int64_t		 id;

	const struct task	*t;
	json_t			*args;
	int			 ok, pool;

	if (ops_refuse_stopping(c, tag) || !ops_priority_ok(c, tag, req) ||
	    (pool = ops_route(c, tag, req, &t)) == -1)
		return;
	/*
	 * Long args may have been left as text (request_decode_items): a
	 * task that checks them gets them as values.
	 */
	if (cur_line->args != NULL && t != NULL && t->check != NULL) {
		if ((args = json_loadb(cur_line->args, cur_line->args_len, 0,
		    NULL)) == NULL)
			fatalx("a submit's args are not what was checked");
		json_object_set_new(req, "args", args);
	}
	if ((args = json_object_get(req, "args")) == NULL)
		args = json_array();
	else
		json_incref(args);
	ok = ops_check(c, tag, t, args, json_object_get(req, "kwargs"));
	json_decref(args);
	if (!ok || !ops_room(c, tag, req) || !admit(c, req, OP_SUBMIT,
	    cur_line, 1))
		return;
	ops_job_init(c, req, pool, &j);
	j.kind = KIND_JOB;
	if (cur_line->args != NULL && (t == NULL || t->check == NULL))
		j.args = xstrndup(cur_line->args, cur_line->args_len);
	else
		j.args = ops_text(req, "args", "[]");
	id = store_insert(store, &j);
	job_clear(&j);
	if (id == -1) {
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
		return;
	}
	reply_ok(c, tag, json_pack("{s:I}", "job", (json_int_t)id));
	tick_kick();
}

/* Python's Pool.map default: ceil(items / (workers * 4)). */
int64_t
map_chunksize(int64_t nitems, int nworkers_)
{
	int64_t	per = (int64_t)(nworkers_ > 0 ? nworkers_ : 1) * 4;
	int64_t	size;

	if (nitems <= 0)
		return 0;
	size = nitems / per;
	if (nitems % per != 0)
		size++;
	return size;
}

static void
op_map(struct client *c, json_t *req, json_t *tag)
{
	const struct task	*t;
	const struct reqline	*rl = cur_line;
	struct map_items	 mi;
	struct job		 map;
	json_t			*parsed = NULL, *slice, *v;
	int64_t			 n, size, i, id;
	int			 ok, pool;

	if (ops_refuse_stopping(c, tag) || !ops_priority_ok(c, tag, req) ||
	    (pool = ops_route(c, tag, req, &t)) == -1)
		return;
	memset(&mi, 0, sizeof mi);
	if (rl->items != NULL && t->check == NULL) {
		mi.p = rl->items + 1;	/* past the '[' */
		mi.end = rl->items + rl->items_len;
		n = rl->nitems;
	} else {
		if (rl->items != NULL) {
			/* Each item is checked: it needs them as values. */
			parsed = json_loadb(rl->items, rl->items_len, 0, NULL);
			if (parsed == NULL)
				fatalx("a map's items are not what was "
				    "checked");
			json_object_set_new(req, "items", parsed);
		}
		mi.array = json_object_get(req, "items");
		n = (int64_t)json_array_size(mi.array);
	}
	if (n > conf->max_items) {
		reply_error(c, tag, ERR_TOO_MANY_ITEMS, "a map may have at most "
		    "%lld items; this one has %lld", (long long)conf->max_items,
		    (long long)n);
		return;
	}
	if (t->check != NULL) {
		for (i = 0; i < n; i++) {
			slice = json_pack("[O]", json_array_get(mi.array,
			    (size_t)i));
			ok = ops_check(c, tag, t, slice,
			    json_object_get(req, "kwargs"));
			json_decref(slice);
			if (!ok)
				return;
		}
	}
	if (!ops_room(c, tag, req) || !admit(c, req, OP_MAP, cur_line, n))
		return;
	v = json_object_get(req, "chunksize");
	size = v != NULL ? json_integer_value(v) : map_chunksize(n,
	    pool_size(pool));
	/*
	 * At most PROTO_MAP_CHUNKS chunks, so that storing one map (a slice
	 * per turn of the loop) is over soon.
	 */
	if (size < (n + PROTO_MAP_CHUNKS - 1) / PROTO_MAP_CHUNKS)
		size = (n + PROTO_MAP_CHUNKS - 1) / PROTO_MAP_CHUNKS;

	ops_job_init(c, req, pool, &map);
	map.kind = KIND_MAP;
	map.args = xstrdup("[]");
	map.nitems = n;
	map.chunksize = size;
	if (n == 0) {
		map.state = JOB_DONE;
		map.finished = map.created;
	}
	if ((id = store_insert(store, &map)) == -1)
		goto fail;
	if (n == 0 && store_set_final(store, id, JOB_DONE, "[]", NULL, 0,
	    map.created) == -1)
		goto fail;
	mapload_start(c, tag, &map, id, &mi, n, size);
	return;
fail:
	/*
	 * A half-inserted map must never be committed: stop before the
	 * tick commits it. Nothing of this transaction was acknowledged.
	 */
	fatalx("store: inserting map: %s", store_errmsg(store));
}

static void
op_get(struct client *c, json_t *req, json_t *tag)
{
	struct job	 j;
	json_t		*t = json_object_get(req, "timeout");
	int64_t		 id = json_integer_value(json_object_get(req, "job"));

	if (!ops_load(c, tag, id, &j))
		return;
	if (job_state_final(j.state))
		reply_loaded(c, tag, &j);
	else
		waiter_add(c, tag, id, t != NULL ? json_number_value(t) : -1);
	job_clear(&j);
}

/* Adds an ISO 8601 time field when t is set. */
static void
set_time(json_t *o, const char *key, double t)
{
	char	buf[64];

	if (t <= 0) {
		json_object_set_new(o, key, json_null());
		return;
	}
	time_iso8601(t, buf, sizeof buf);
	json_object_set_new(o, key, json_string(buf));
}

/* The summary of a job for status and list (new reference). */
static json_t *
job_summary(const struct job *j)
{
	static const char	*kinds[] = { "job", "map", "chunk" };
	json_t			*o;

	o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:i}", "id", (json_int_t)j->id,
	    "kind", kinds[j->kind], "task", j->task, "state",
	    job_state_name(j->state), "owner", (json_int_t)j->owner,
	    "priority", j->priority);
	json_object_set_new(o, "name", j->name != NULL ?
	    json_string(j->name) : json_null());
	set_time(o, "created", j->created);
	set_time(o, "started", j->started);
	set_time(o, "finished", j->finished);
	return o;
}

/* store_attempts callback: appends one attempt's record. */
static void
history_one(int n, double started, double finished, pid_t pid, int state,
    const char *error, void *arg)
{
	json_t	*o;

	o = json_pack("{s:i, s:s}", "attempt", n, "state",
	    job_state_name(state));
	set_time(o, "started", started);
	set_time(o, "finished", finished);
	json_object_set_new(o, "worker_pid", pid != 0 ? json_integer(pid) :
	    json_null());
	json_object_set_new(o, "error", error != NULL ? json_loads(error,
	    JSON_DECODE_ANY, NULL) : json_null());
	json_array_append_new(arg, o);
}

/* A job's retry policy and attempt history, for status. */
static void
status_retries(json_t *o, const struct job *j)
{
	json_t	*on, *history;
	int	 i;

	on = json_array();
	for (i = 0; i < RETRY_NCAUSES; i++) {
		if (j->retry_on & (1 << i))
			json_array_append_new(on, json_string(
			    retry_cause_name(1 << i)));
	}
	json_object_set_new(o, "retry", json_pack("{s:o, s:f, s:f, s:f}",
	    "on", on, "delay", j->retry_delay, "factor", j->retry_factor,
	    "max", j->retry_max));
	set_time(o, "not_before", j->state == JOB_QUEUED ? j->not_before : 0);
	history = json_array();
	if (store_attempts(store, j->id, history_one, history) == -1) {
		json_decref(history);
		history = json_null();
	} else if (j->state == JOB_DONE && j->kind != KIND_MAP)
		history_one(j->attempts, j->started, j->finished, 0, JOB_DONE,
		    NULL, history);	/* the attempt that succeeded: the row */
	json_object_set_new(o, "history", history);
}

/* store_owners callback: one owner's usage. */
static void
owner_one(uid_t uid, int64_t queued, int64_t running, void *arg)
{
	json_array_append_new(arg, json_pack("{s:I, s:I, s:I}", "uid",
	    (json_int_t)uid, "queued", (json_int_t)queued, "running",
	    (json_int_t)running));
}

static void
op_status(struct client *c, json_t *req, json_t *tag)
{
	struct job	 j;
	json_t		*o, *v, *counts, *owners;
	int64_t		 n[JOB_NSTATES], free_bytes;
	int		 i;

	if ((v = json_object_get(req, "job")) != NULL) {
		if (!ops_load(c, tag, json_integer_value(v), &j))
			return;
		o = job_summary(&j);
		json_object_set_new(o, "attempts", json_integer(j.attempts));
		json_object_set_new(o, "max_attempts",
		    json_integer(j.max_attempts));
		json_object_set_new(o, "worker_pid", j.pid != 0 ?
		    json_integer(j.pid) : json_null());
		json_object_set_new(o, "timeout", j.timeout > 0 ?
		    json_real(j.timeout) : json_null());
		status_retries(o, &j);
		if (j.kind == KIND_MAP) {
			json_object_set_new(o, "progress", json_pack(
			    "{s:I, s:I}", "done", (json_int_t)j.ndone,
			    "total", (json_int_t)j.nitems));
			json_object_set_new(o, "chunksize",
			    json_integer(j.chunksize));
		} else {
			/* What its task reported of how far it is. */
			if (j.nitems > 0)
				json_object_set_new(o, "progress", json_pack(
				    "{s:I, s:I}", "done", (json_int_t)j.ndone,
				    "total", (json_int_t)j.nitems));
			json_object_set_new(o, "args", json_loads(j.args,
			    JSON_DECODE_ANY, NULL));
		}
		json_object_set_new(o, "kwargs", json_loads(j.kwargs,
		    JSON_DECODE_ANY, NULL));
		json_object_set_new(o, "pool", json_string(j.pool != NULL ?
		    j.pool : POOL_DEFAULT));
		if (j.context != NULL)
			json_object_set_new(o, "context", json_loads(j.context,
			    0, NULL));
		if (j.error != NULL)
			json_object_set_new(o, "error", json_loads(j.error,
			    JSON_DECODE_ANY, NULL));
		job_clear(&j);
		reply_ok(c, tag, json_pack("{s:o}", "job", o));
		return;
	}
	if (store_counts(store, client_privileged(c) ? (uid_t)-1 : c->uid,
	    n) == -1) {
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
		return;
	}
	/* Each owner's use: root sees everyone's, a user their own. */
	owners = json_array();
	if (store_owners(store, client_privileged(c) ? (uid_t)-1 : c->uid,
	    owner_one, owners) == -1) {
		json_decref(owners);
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
		return;
	}
	free_bytes = disk_room();
	counts = json_object();
	for (i = 0; i < JOB_NSTATES; i++)
		json_object_set_new(counts, job_state_name(i),
		    json_integer(n[i]));
	reply_ok(c, tag, json_pack("{s:s, s:I, s:f, s:o, s:o, s:o, s:I, s:s, "
	    "s:b, s:{s:I, s:I}}", "version", MPD_VERSION, "pid",
	    (json_int_t)getpid(), "uptime", time_mono() - up_since, "workers",
	    sched_status(client_privileged(c)), "jobs", counts, "owners",
	    owners, "waiters", (json_int_t)waiter_count(), "state",
	    stopping() == STOP_NONE ? "running" : "stopping", "disk_full",
	    disk_is_full(), "store", "db_bytes", (json_int_t)disk_db_bytes(),
	    "disk_free", (json_int_t)(free_bytes == INT64_MAX ? -1 :
	    free_bytes)));
}

/* store_list callback: appends a summary. */
static void
list_one(const struct job *j, void *arg)
{
	json_array_append_new(arg, job_summary(j));
}

static void
op_list(struct client *c, json_t *req, json_t *tag)
{
	json_t	*v, *jobs;
	int	 state = -1, limit = 1000;
	uid_t	 owner = client_privileged(c) ? (uid_t)-1 : c->uid;

	if ((v = json_object_get(req, "state")) != NULL)
		state = job_state_parse(json_string_value(v));
	if ((v = json_object_get(req, "limit")) != NULL)
		limit = json_integer_value(v) > 1000000 ? 1000000 :
		    (int)json_integer_value(v);
	jobs = json_array();
	if (store_list(store, state, owner, limit, list_one, jobs) == -1) {
		json_decref(jobs);
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
		return;
	}
	reply_ok(c, tag, json_pack("{s:o}", "jobs", jobs));
}

static void
op_cancel(struct client *c, json_t *req, json_t *tag)
{
	struct job	 j;
	const char	*why;
	int64_t		 id = json_integer_value(json_object_get(req, "job"));

	if (!ops_load(c, tag, id, &j))
		return;
	job_clear(&j);
	switch (sched_cancel(id, c->uid, &why)) {
	case -1:
		reply_error(c, tag, ERR_BAD_STATE, "cannot cancel job %lld: %s",
		    (long long)id, why);
		break;
	case 0:
		reply_ok(c, tag, json_pack("{s:I, s:s}", "job", (json_int_t)id,
		    "state", "cancelled"));
		break;
	default:
		/* Being killed: answer, as get does, once it has ended. */
		waiter_add(c, tag, id, -1);
		break;
	}
}

static void
op_logs(struct client *c, json_t *req, json_t *tag)
{
	struct job	 j;
	int64_t		 off[2] = { 0, 0 };
	json_t		*v;
	int64_t		 id = json_integer_value(json_object_get(req, "job"));
	int		 wait;

	if (!ops_load(c, tag, id, &j))
		return;
	if ((v = json_object_get(req, "stdout")) != NULL)
		off[0] = json_integer_value(v);
	if ((v = json_object_get(req, "stderr")) != NULL)
		off[1] = json_integer_value(v);
	wait = json_is_true(json_object_get(req, "wait"));
	if (!logs_reply(c, tag, &j, off, wait))
		waiter_add_logs(c, tag, id, off);
	job_clear(&j);
}

static void
op_forget(struct client *c, json_t *req, json_t *tag)
{
	struct job	 j;
	int64_t		 id = json_integer_value(json_object_get(req, "job"));

	if (!ops_load(c, tag, id, &j))
		return;
	if (!job_state_final(j.state)) {
		reply_error(c, tag, ERR_BAD_STATE, "job %lld is %s; cancel it "
		    "or wait for it to end first", (long long)id,
		    job_state_name(j.state));
	} else if (forget_job(store, id, j.kind) == -1) {
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
	} else {
		reply_ok(c, tag, json_pack("{s:I}", "job", (json_int_t)id));
	}
	job_clear(&j);
}

static void
op_shutdown(struct client *c, json_t *req, json_t *tag)
{
	json_t		*v = json_object_get(req, "mode");
	const char	*mode = v != NULL ? json_string_value(v) : "graceful";

	if (!client_privileged(c)) {
		reply_error(c, tag, ERR_PERMISSION, "only root or the daemon's "
		    "own user may stop it");
		return;
	}
	reply_ok(c, tag, json_pack("{s:s}", "mode", mode));
	if (strcmp(mode, "now") == 0)
		stop(STOP_NOW);
	else if (strcmp(mode, "drain") == 0)
		stop(STOP_DRAIN);
	else
		stop(STOP_GRACEFUL);
}

/*
 * A pool as pools and the pool ops show it: name, runtime, size, busy and
 * idle workers, queued jobs and chunks (owner's, or all for (uid_t)-1),
 * paused. NULL when the store failed.
 */
static json_t *
ops_pool_json(int k, uid_t owner)
{
	int64_t	queued;

	if ((queued = store_pool_queued(store, pool_name(k), owner)) == -1)
		return NULL;
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:I, s:b}", "name",
	    pool_name(k), "runtime", runtime_label(pool_runtime(k)), "size",
	    pool_size(k), "busy",
	    sched_nbusy(k), "idle", pool_nidle(k), "queued", (json_int_t)queued,
	    "paused", pool_paused(k));
}

/* The pools (queued: the client's own, unless it may see all). */
static void
op_pools(struct client *c, json_t *req, json_t *tag)
{
	uid_t	 owner = client_privileged(c) ? (uid_t)-1 : c->uid;
	json_t	*a = json_array(), *p;
	int	 k;

	(void)req;
	for (k = 0; k < pool_count(); k++) {
		if (!pool_listed(k))
			continue;
		if ((p = ops_pool_json(k, owner)) == NULL) {
			json_decref(a);
			reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
			    store_errmsg(store));
			return;
		}
		json_array_append_new(a, p);
	}
	reply_ok(c, tag, json_pack("{s:o}", "pools", a));
}

/*
 * Only root or the daemon's user changes the pools, which every user
 * shares, and not once a stop has begun. Returns 1, or 0 after replying.
 */
static int
ops_pool_may_change(struct client *c, json_t *tag)
{
	if (!client_privileged(c)) {
		reply_error(c, tag, ERR_PERMISSION, "only root or the daemon's "
		    "own user may change the pools");
		return 0;
	}
	if (stopping() != STOP_NONE) {
		reply_error(c, tag, ERR_SHUTTING_DOWN, "the daemon is shutting "
		    "down; its pools no longer change");
		return 0;
	}
	return 1;
}

/* The pool a pool op changes: its index, or -1 after replying. */
static int
ops_pool_admin(struct client *c, json_t *tag, json_t *req)
{
	if (!ops_pool_may_change(c, tag))
		return -1;
	return ops_pool(c, tag, req);
}

/* Records a pool's new state and replies with it, after the commit. */
static void
ops_pool_changed(struct client *c, json_t *tag, int k, int size)
{
	json_t	*p;

	if (store_pool_record(store, pool_name(k), size, pool_paused(k),
	    pool_added(k), pool_runtime(k)) == -1 || (p = ops_pool_json(k, (uid_t)-1)) ==
	    NULL) {
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
		return;
	}
	reply_ok(c, tag, json_pack("{s:o}", "pool", p));
}

/* Whether the pools may have this many more workers; replies if not. */
static int
ops_pool_room(struct client *c, json_t *tag, int64_t more)
{
	if (pool_total() + more <= POOL_WORKERS_MAX)
		return 1;
	reply_error(c, tag, ERR_BAD_STATE, "the pools would have %lld "
	    "workers in all; at most %d", (long long)(pool_total() + more),
	    POOL_WORKERS_MAX);
	return 0;
}

/* A pool's size from a request, 1 to POOL_SIZE_MAX; 0 after replying. */
static int
ops_pool_size(struct client *c, json_t *tag, json_t *req)
{
	json_int_t	size = json_integer_value(json_object_get(req, "size"));

	if (size <= POOL_SIZE_MAX)
		return (int)size;
	reply_error(c, tag, ERR_BAD_REQUEST, "a pool has 1 to %d workers, not "
	    "%lld", POOL_SIZE_MAX, (long long)size);
	return 0;
}

static void
op_pool_resize(struct client *c, json_t *req, json_t *tag)
{
	int	k, size;

	if ((k = ops_pool_admin(c, tag, req)) == -1 ||
	    (size = ops_pool_size(c, tag, req)) == 0 ||
	    !ops_pool_room(c, tag, size - pool_size(k)))
		return;
	log_info("pool %s: %d worker(s), was %d (uid %ld)", pool_name(k), size,
	    pool_size(k), (long)c->uid);
	pool_resize(k, size);
	ops_pool_changed(c, tag, k, size);
}

/* pool_pause and pool_resume. */
static void
ops_pool_pause(struct client *c, json_t *req, json_t *tag, int paused)
{
	int	k;

	if ((k = ops_pool_admin(c, tag, req)) == -1)
		return;
	if (pool_paused(k) != paused)
		log_info("pool %s: %s (uid %ld)", pool_name(k), paused ?
		    "paused" : "resumed", (long)c->uid);
	pool_pause(k, paused);
	ops_pool_changed(c, tag, k, pool_size(k));
}

static void
op_pool_pause(struct client *c, json_t *req, json_t *tag)
{
	ops_pool_pause(c, req, tag, 1);
}

static void
op_pool_resume(struct client *c, json_t *req, json_t *tag)
{
	ops_pool_pause(c, req, tag, 0);
}

static void
op_pool_add(struct client *c, json_t *req, json_t *tag)
{
	const char	*name = json_string_value(json_object_get(req, "pool"));
	json_t		*v = json_object_get(req, "runtime");
	char		 runtime[RUNTIME_MAX], *why;
	size_t		 n = strlen(name);
	int		 k, size;

	if (!ops_pool_may_change(c, tag))
		return;
	if (runtime_parse(v != NULL ? json_string_value(v) : "", runtime,
	    sizeof runtime, &why) == -1) {
		reply_error(c, tag, ERR_BAD_REQUEST, "%s", why);
		free(why);
		return;
	}
	if (!pool_name_ok(name, n)) {
		reply_error(c, tag, ERR_BAD_REQUEST, "a pool's name has 1 to %d "
		    "letters, digits, '-' and '_'", POOL_NAME_MAX - 1);
		return;
	}
	if (pool_find(name) != -1) {
		reply_error(c, tag, ERR_BAD_STATE, "there is a pool named "
		    "\"%s\" already", name);
		return;
	}
	if ((size = ops_pool_size(c, tag, req)) == 0 ||
	    !ops_pool_room(c, tag, size))
		return;
	if ((k = pool_add(name, size, runtime)) == -1) {
		reply_error(c, tag, ERR_BAD_STATE, "there are %d pools "
		    "already, the most there may be", POOLS_MAX);
		return;
	}
	log_info("pool %s: added, %d worker(s) of runtime %s (uid %ld)", name,
	    size, runtime_label(runtime), (long)c->uid);
	ops_pool_changed(c, tag, k, size);
}

static void
op_pool_remove(struct client *c, json_t *req, json_t *tag)
{
	int64_t	queued;
	int	k;

	if ((k = ops_pool_admin(c, tag, req)) == -1)
		return;
	if (k == 0) {
		reply_error(c, tag, ERR_BAD_STATE, "the default pool cannot be "
		    "removed");
		return;
	}
	if ((queued = store_pool_queued(store, pool_name(k), (uid_t)-1)) ==
	    -1) {
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
		return;
	}
	if (queued > 0 || sched_nbusy(k) + sched_nhanded(k) > 0) {
		reply_error(c, tag, ERR_BAD_STATE, "pool %s still has %lld "
		    "queued and %d running job(s)", pool_name(k),
		    (long long)queued, sched_nbusy(k) + sched_nhanded(k));
		return;
	}
	if (store_pool_record(store, pool_name(k), 0, 0, pool_added(k),
	    pool_runtime(k)) == -1) {
		reply_error(c, tag, ERR_INTERNAL, "the store failed: %s",
		    store_errmsg(store));
		return;
	}
	log_info("pool %s: removed (uid %ld)", pool_name(k), (long)c->uid);
	pool_remove(k);
	reply_ok(c, tag, json_pack("{s:s}", "removed", pool_name(k)));
}

static const struct {
	const char	*op;
	void		(*fn)(struct client *, json_t *, json_t *);
} op_table[] = {
	{ OP_HELLO, op_hello },
	{ OP_SUBMIT, op_submit },
	{ OP_MAP, op_map },
	{ OP_GET, op_get },
	{ OP_STATUS, op_status },
	{ OP_LIST, op_list },
	{ OP_CANCEL, op_cancel },
	{ OP_FORGET, op_forget },
	{ OP_LOGS, op_logs },
	{ OP_SHUTDOWN, op_shutdown },
	{ OP_POOLS, op_pools },
	{ OP_POOL_RESIZE, op_pool_resize },
	{ OP_POOL_PAUSE, op_pool_pause },
	{ OP_POOL_RESUME, op_pool_resume },
	{ OP_POOL_ADD, op_pool_add },
	{ OP_POOL_REMOVE, op_pool_remove },
};

void
ops_init(struct store *s, const struct config *c, double when,
    void (*stop_fn)(enum stop_mode))
{
	store = s;
	conf = c;
	up_since = when;
	stop = stop_fn;
}

void
ops_tick_done(void)
{
	room_left = -1;
}

void
ops_dispatch(struct client *c, json_t *req, const char *op,
    const struct reqline *rl)
{
	json_t	*tag = json_object_get(req, "req");
	size_t	 i;

	cur_line = rl;
	for (i = 0; i < sizeof op_table / sizeof op_table[0]; i++) {
		if (strcmp(op_table[i].op, op) == 0) {
			op_table[i].fn(c, req, tag);
			return;
		}
	}
	reply_error(c, tag, ERR_UNKNOWN_OP, "op \"%s\" is not implemented", op);
}

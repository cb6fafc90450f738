/*
 * Unit tests of the job store through its backend table (daemon/store.c),
 * on a real SQLite file. With an argument, every store is opened with
 * those faults: "none" runs the suite again through the fault backend's
 * wrapper, which must change nothing. The fault backend's own failures
 * are tested at the end.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "proto.h"
#include "store.h"
#include "testjob.h"
#include "util.h"

static const char	*faults;	/* every store's, or NULL */

struct fixture {
	char		 dir[PATH_MAX];
	char		 path[PATH_MAX + 16];
	struct store	*s;
};

/* Opens the store at the fixture's path, failing the test on error. */
static struct store *
open_store(struct fixture *fx)
{
	struct store	*s;
	char		*cause = NULL;

	s = store_open(fx->path, 0, faults, NULL, &cause);
	if (s == NULL)
		fail_msg("store_open %s: %s", fx->path, cause);
	assert_null(cause);
	return s;
}

/* Makes a fresh directory and opens a new store in it. */
static int
setup(void **state)
{
	struct fixture	*fx;
	const char	*tmp;

	fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(fx->dir, sizeof fx->dir, "%s/mpd-test-store.XXXXXX", tmp);
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/mpd.db", fx->dir);
	fx->s = open_store(fx);
	*state = fx;
	return 0;
}

/* Closes the store and removes its files and directory. */
static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	char		 p[PATH_MAX + 32];

	store_close(fx->s);
	unlink(fx->path);
	snprintf(p, sizeof p, "%s-wal", fx->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", fx->path);
	unlink(p);
	if (rmdir(fx->dir) != 0)
		fail_msg("rmdir %s: files left behind", fx->dir);
	free(fx);
	return 0;
}

/* What a commit reported. */
struct done {
	int	called;
	int	rc;
};

static void
done_cb(int rc, void *arg)
{
	struct done	*d = arg;

	d->called++;
	d->rc = rc;
}

/* Commits; a store without deferred commits reports before returning. */
static int
commit(struct store *s)
{
	struct done	d = { 0, 0 };

	store_commit(s, done_cb, &d);
	assert_int_equal(d.called, 1);
	return d.rc;
}

/* Closes and reopens the fixture's store. */
static void
reopen(struct fixture *fx)
{
	store_close(fx->s);
	fx->s = open_store(fx);
}

/* Inserts a record; the one place the tests build a struct job. */
static int64_t
insert(struct store *s, int kind, int64_t parent, int64_t seq, int priority,
    int st, uid_t owner, int max_attempts)
{
	struct job	j;
	int64_t		id;

	memset(&j, 0, sizeof j);
	j.kind = kind;
	j.parent = parent;
	j.seq = seq;
	j.task = (char *)"square";
	j.args = (char *)(kind == KIND_MAP ? "[]" : "[1]");
	j.kwargs = (char *)"{}";
	j.owner = owner;
	j.priority = priority;
	j.state = st;
	j.max_attempts = max_attempts;
	j.retry_on = RETRY_DEFAULT;
	j.created = 1000.0;
	id = store_insert(s, &j);
	assert_true(id > 0);
	return id;
}

/* Inserts a record with the fields that matter to the queue. */
static int64_t
add(struct store *s, int kind, int64_t parent, int64_t seq, int priority,
    int st, uid_t owner)
{
	return insert(s, kind, parent, seq, priority, st, owner, 1);
}

/* Inserts a plain queued job with max_attempts attempts allowed. */
static int64_t
add_job(struct store *s, int max_attempts)
{
	return insert(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 0, max_attempts);
}

/* Returns a job's state, failing if it does not exist. */
static int
state_of(struct store *s, int64_t id)
{
	struct job	j;
	int		st;

	assert_int_equal(store_get(s, id, &j), 1);
	st = j.state;
	job_clear(&j);
	return st;
}

/* Asserts that an error JSON text is an object with this code. */
static void
expect_error_code(const char *text, const char *code)
{
	json_t		*e;
	json_error_t	 jerr;

	assert_non_null(text);
	e = json_loads(text, 0, &jerr);
	if (e == NULL)
		fail_msg("error is not JSON: %s", text);
	assert_true(json_is_object(e));
	assert_non_null(json_object_get(e, "code"));
	assert_string_equal(json_string_value(json_object_get(e, "code")),
	    code);
	assert_true(json_is_string(json_object_get(e, "message")));
	assert_true(json_string_length(json_object_get(e, "message")) > 0);
	json_decref(e);
}

/* Runs one query returning an integer on a second connection. */
static int64_t
query_int(const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Opening creates the schema at version 9, in WAL mode; reopening works. */
static void
test_open_schema(void **state)
{
	struct fixture	*fx = *state;

	assert_int_equal(query_int(fx->path, "PRAGMA user_version"), 9);
	assert_int_equal(query_int(fx->path, "SELECT count(*) FROM "
	    "sqlite_master WHERE type = 'table' AND name = 'jobs'"), 1);
	assert_int_equal(query_int(fx->path, "SELECT count(*) FROM "
	    "sqlite_master WHERE type = 'index' AND name IN ('jobs_maps', "
	    "'jobs_queued_chunks')"), 2);
	assert_int_equal(query_int(fx->path, "SELECT count(*) FROM "
	    "sqlite_master WHERE type = 'index' AND name IN ('jobs_queue', "
	    "'jobs_owner_queue')"), 2);
	assert_int_equal(query_int(fx->path, "SELECT journal_mode = 'wal' "
	    "FROM pragma_journal_mode"), 1);
	reopen(fx);
	assert_int_equal(query_int(fx->path, "PRAGMA user_version"), 9);
	assert_false(store_dirty(fx->s));
}

/* A version 1 database (mpd 0.1) gains the new columns and keeps its jobs. */
static void
test_migrate_v1(void **state)
{
	struct fixture	*fx = *state;
	struct job	 j;
	sqlite3		*db;

	store_close(fx->s);
	fx->s = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "DROP TRIGGER jobs_forget; DROP TABLE attempts;"
	    "DROP INDEX jobs_delayed; DROP INDEX jobs_maps;"
	    "DROP INDEX jobs_queued_chunks; DROP INDEX jobs_owner_queue;"
	    "DROP INDEX jobs_ended;"
	    "DROP TABLE pools;"
	    "ALTER TABLE jobs DROP COLUMN pool;"
	    "ALTER TABLE jobs DROP COLUMN context;"
	    "ALTER TABLE jobs DROP COLUMN loading;"
	    "ALTER TABLE jobs DROP COLUMN retry_on;"
	    "ALTER TABLE jobs DROP COLUMN retry_delay;"
	    "ALTER TABLE jobs DROP COLUMN retry_factor;"
	    "ALTER TABLE jobs DROP COLUMN retry_max;"
	    "ALTER TABLE jobs DROP COLUMN not_before;"
	    "ALTER TABLE jobs DROP COLUMN timeout;"
	    "ALTER TABLE jobs DROP COLUMN owner_gid;"
	    "INSERT INTO jobs (kind, task, args, kwargs, owner, state, created)"
	    " VALUES (0, 'square', '[3]', '{}', 1000, 0, 1.5);"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	fx->s = open_store(fx);
	assert_int_equal(query_int(fx->path, "PRAGMA user_version"), 9);
	assert_int_equal(store_get(fx->s, 1, &j), 1);
	assert_string_equal(j.task, "square");
	assert_int_equal(j.owner, 1000);
	assert_true(j.timeout == 0);
	assert_int_equal(j.group, 0);
	/* Old jobs keep the old policy: retried when lost or interrupted. */
	assert_int_equal(j.retry_on, RETRY_DEFAULT);
	/* ... and run where every job ran then, with no runtime's context. */
	assert_string_equal(j.pool, POOL_DEFAULT);
	assert_null(j.context);
	job_clear(&j);
}

/* A database from a newer mpd is refused with a cause. */
static void
test_open_newer_schema(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s;
	char		*cause = NULL;

	store_close(fx->s);
	fx->s = NULL;
	assert_int_equal(query_int(fx->path, "PRAGMA user_version = 10"), -1);
	assert_int_equal(query_int(fx->path, "PRAGMA user_version"), 10);
	s = store_open(fx->path, 1, faults, NULL, &cause);
	assert_null(s);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "newer"));
	free(cause);
	assert_int_equal(query_int(fx->path, "PRAGMA user_version = 9"), -1);
	fx->s = open_store(fx);
}

/* Every inserted field reads back; the rest start empty. */
static void
test_insert_get(void **state)
{
	struct fixture	*fx = *state;
	struct job	 j, g;
	int64_t		 id, cid;

	memset(&j, 0, sizeof j);
	j.id = 999;			/* ignored */
	j.kind = KIND_JOB;
	j.task = (char *)"square";
	j.args = (char *)"[3,\"x\"]";
	j.kwargs = (char *)"{\"a\":1}";
	j.name = (char *)"my job";
	j.owner = 1234;
	j.priority = -3;
	j.state = JOB_QUEUED;
	j.max_attempts = 5;
	j.created = 1700000000.25;
	id = store_insert(fx->s, &j);
	assert_true(id > 0);
	assert_true(id != 999);
	assert_true(store_dirty(fx->s));

	assert_int_equal(store_get(fx->s, id, &g), 1);
	assert_int_equal(g.id, id);
	assert_int_equal(g.kind, KIND_JOB);
	assert_int_equal(g.parent, 0);
	assert_int_equal(g.seq, 0);
	assert_string_equal(g.task, "square");
	assert_string_equal(g.args, "[3,\"x\"]");
	assert_string_equal(g.kwargs, "{\"a\":1}");
	assert_string_equal(g.name, "my job");
	assert_int_equal(g.owner, 1234);
	assert_int_equal(g.priority, -3);
	assert_int_equal(g.state, JOB_QUEUED);
	assert_int_equal(g.attempts, 0);
	assert_int_equal(g.max_attempts, 5);
	assert_int_equal(g.nitems, 0);
	assert_int_equal(g.ndone, 0);
	assert_int_equal(g.chunksize, 0);
	assert_true(g.created == 1700000000.25);
	assert_true(g.started == 0);
	assert_true(g.finished == 0);
	assert_int_equal(g.pid, 0);
	assert_null(g.result);
	assert_null(g.error);
	job_clear(&g);
	assert_null(g.task);
	assert_int_equal(g.id, 0);

	/* A chunk: parent, seq, nitems, chunksize and no name. */
	memset(&j, 0, sizeof j);
	j.kind = KIND_CHUNK;
	j.parent = id;
	j.seq = 40;
	j.task = (char *)"square";
	j.args = (char *)"[40,41]";
	j.kwargs = (char *)"{}";
	j.owner = 77;
	j.priority = 2;
	j.state = JOB_QUEUED;
	j.max_attempts = 1;
	j.nitems = 2;
	j.chunksize = 2;
	j.created = 5.5;
	cid = store_insert(fx->s, &j);
	assert_true(cid > id);
	assert_int_equal(store_get(fx->s, cid, &g), 1);
	assert_int_equal(g.kind, KIND_CHUNK);
	assert_int_equal(g.parent, id);
	assert_int_equal(g.seq, 40);
	assert_string_equal(g.args, "[40,41]");
	assert_null(g.name);
	assert_int_equal(g.owner, 77);
	assert_int_equal(g.priority, 2);
	assert_int_equal(g.nitems, 2);
	assert_int_equal(g.chunksize, 2);
	assert_true(g.created == 5.5);
	job_clear(&g);

	assert_int_equal(store_get(fx->s, cid + 100, &g), 0);
}

/* store_next orders by priority then id, and skips maps and non-queued. */
static void
test_next_order(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	int64_t		 a, b, c, d, m, k, r, ids[16];

	a = add(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 0);
	b = add(s, KIND_JOB, 0, 0, 5, JOB_QUEUED, 0);
	c = add(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 0);
	d = add(s, KIND_JOB, 0, 0, 50, JOB_DONE, 0);
	m = add(s, KIND_MAP, 0, 0, 10, JOB_QUEUED, 0);
	k = add(s, KIND_CHUNK, m, 0, 10, JOB_QUEUED, 0);
	r = add(s, KIND_JOB, 0, 0, 20, JOB_QUEUED, 0);
	add(s, KIND_JOB, 0, 0, -1, JOB_CANCELLED, 0);
	assert_int_equal(store_set_running(s, r, 100, 1.0), 0);
	(void)d;

	assert_int_equal(store_next(s, ids, 16), 4);
	assert_int_equal(ids[0], k);
	assert_int_equal(ids[1], b);
	assert_int_equal(ids[2], a);
	assert_int_equal(ids[3], c);

	assert_int_equal(store_next(s, ids, 2), 2);
	assert_int_equal(ids[0], k);
	assert_int_equal(ids[1], b);

	assert_int_equal(store_next(s, ids, 0), 0);

	/* Committed or not, the view is the same. */
	assert_int_equal(commit(s), 0);
	assert_int_equal(store_set_running(s, k, 101, 2.0), 0);
	assert_int_equal(store_next(s, ids, 16), 3);
	assert_int_equal(ids[0], b);
	assert_int_equal(ids[1], a);
	assert_int_equal(ids[2], c);
}

/* An empty queue gives no ids. */
static void
test_next_empty(void **state)
{
	struct fixture	*fx = *state;
	int64_t		 ids[4];

	assert_int_equal(store_next(fx->s, ids, 4), 0);
	add(fx->s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_next(fx->s, ids, 4), 0);
}

/*
 * store_set_running counts attempts; store_requeue with refund takes one
 * back, without refund keeps it (a retry after a lost attempt).
 */
static void
test_running_requeue(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 g;
	int64_t		 id, ids[4];

	id = add_job(s, 3);
	assert_int_equal(store_set_running(s, id, 4242, 100.5), 0);
	assert_int_equal(store_get(s, id, &g), 1);
	assert_int_equal(g.state, JOB_RUNNING);
	assert_int_equal(g.attempts, 1);
	assert_int_equal(g.pid, 4242);
	assert_true(g.started == 100.5);
	job_clear(&g);
	assert_int_equal(store_next(s, ids, 4), 0);

	assert_int_equal(store_requeue(s, id, 0, 0), 0);
	assert_int_equal(store_get(s, id, &g), 1);
	assert_int_equal(g.state, JOB_QUEUED);
	assert_int_equal(g.attempts, 1);
	job_clear(&g);
	assert_int_equal(store_set_running(s, id, 4242, 100.5), 0);
	assert_int_equal(store_requeue(s, id, 1, 0), 0);
	assert_int_equal(store_get(s, id, &g), 1);
	assert_int_equal(g.state, JOB_QUEUED);
	assert_int_equal(g.attempts, 1);
	assert_int_equal(g.pid, 0);
	assert_true(g.started == 0);
	job_clear(&g);
	assert_int_equal(store_next(s, ids, 4), 1);
	assert_int_equal(ids[0], id);

	assert_int_equal(store_set_running(s, id, 1, 101.0), 0);
	assert_int_equal(store_set_final(s, id, JOB_FAILED, NULL,
	    "{\"code\":\"worker_died\",\"message\":\"x\"}", 0, 102.0), 0);
	assert_int_equal(store_set_running(s, id, 2, 103.0), 0);
	assert_int_equal(store_get(s, id, &g), 1);
	assert_int_equal(g.attempts, 3);
	assert_int_equal(g.pid, 2);
	job_clear(&g);
}

/* store_set_final records the state, result or error, and end time. */
static void
test_set_final(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 g;
	int64_t		 ok, bad;

	ok = add_job(s, 1);
	bad = add_job(s, 1);
	assert_int_equal(store_set_running(s, ok, 10, 1.0), 0);
	assert_int_equal(store_set_running(s, bad, 11, 1.0), 0);
	assert_int_equal(store_set_final(s, ok, JOB_DONE, "{\"v\":[9]}", NULL, 0,
	    2.5), 0);
	assert_int_equal(store_set_final(s, bad, JOB_TIMEOUT, NULL,
	    "{\"code\":\"timeout\",\"message\":\"too slow\"}", 0, 3.5), 0);

	assert_int_equal(store_get(s, ok, &g), 1);
	assert_int_equal(g.state, JOB_DONE);
	assert_string_equal(g.result, "{\"v\":[9]}");
	assert_null(g.error);
	assert_true(g.finished == 2.5);
	assert_true(g.started == 1.0);
	assert_int_equal(g.pid, 0);
	assert_int_equal(g.attempts, 1);
	job_clear(&g);

	assert_int_equal(store_get(s, bad, &g), 1);
	assert_int_equal(g.state, JOB_TIMEOUT);
	assert_null(g.result);
	expect_error_code(g.error, "timeout");
	assert_true(g.finished == 3.5);
	assert_int_equal(g.pid, 0);
	job_clear(&g);
}

/* Writes are invisible to others until commit, and survive a reopen. */
static void
test_commit_reopen(void **state)
{
	struct fixture	*fx = *state;
	struct job	 g;
	int64_t		 id, id2;

	assert_false(store_dirty(fx->s));
	id = add_job(fx->s, 2);
	assert_true(store_dirty(fx->s));
	assert_int_equal(query_int(fx->path, "SELECT count(*) FROM jobs"), 0);
	assert_int_equal(commit(fx->s), 0);
	assert_false(store_dirty(fx->s));
	assert_int_equal(query_int(fx->path, "SELECT count(*) FROM jobs"), 1);
	assert_int_equal(commit(fx->s), 0);	/* nothing open */

	assert_int_equal(store_set_final(fx->s, id, JOB_DONE, "7", NULL, 0, 9.0),
	    0);
	assert_int_equal(commit(fx->s), 0);
	reopen(fx);
	assert_int_equal(store_get(fx->s, id, &g), 1);
	assert_int_equal(g.state, JOB_DONE);
	assert_string_equal(g.result, "7");
	assert_int_equal(g.max_attempts, 2);
	job_clear(&g);

	/* store_close commits what is still pending. */
	id2 = add_job(fx->s, 1);
	reopen(fx);
	assert_int_equal(state_of(fx->s, id2), JOB_QUEUED);
}

/* Recovery requeues running jobs with attempts left, fails the others. */
static void
test_recover_jobs(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 g;
	int64_t		 again, spent, queued, done;
	int64_t		 requeued = -1, failed = -1;

	again = add_job(s, 3);
	spent = add_job(s, 1);
	queued = add_job(s, 1);
	done = add_job(s, 1);
	assert_int_equal(store_set_running(s, again, 50, 1.0), 0);
	assert_int_equal(store_set_running(s, spent, 51, 1.0), 0);
	assert_int_equal(store_set_running(s, done, 52, 1.0), 0);
	assert_int_equal(store_set_final(s, done, JOB_DONE, "1", NULL, 0, 2.0), 0);
	assert_int_equal(commit(s), 0);
	reopen(fx);
	s = fx->s;

	assert_int_equal(store_recover(s, &requeued, &failed), 0);
	assert_int_equal(requeued, 1);
	assert_int_equal(failed, 1);
	assert_false(store_dirty(s));

	assert_int_equal(store_get(s, again, &g), 1);
	assert_int_equal(g.state, JOB_QUEUED);
	assert_int_equal(g.attempts, 1);
	assert_int_equal(g.pid, 0);
	assert_true(g.started == 0);
	assert_null(g.error);
	job_clear(&g);

	assert_int_equal(store_get(s, spent, &g), 1);
	assert_int_equal(g.state, JOB_FAILED);
	assert_int_equal(g.pid, 0);
	assert_true(g.finished > 0);
	assert_null(g.result);
	expect_error_code(g.error, JOBERR_INTERRUPTED);
	job_clear(&g);

	assert_int_equal(state_of(s, queued), JOB_QUEUED);
	assert_int_equal(store_get(s, done, &g), 1);
	assert_int_equal(g.state, JOB_DONE);
	assert_string_equal(g.result, "1");
	assert_null(g.error);
	job_clear(&g);

	/* A second recovery finds nothing to do. */
	assert_int_equal(store_recover(s, &requeued, &failed), 0);
	assert_int_equal(requeued, 0);
	assert_int_equal(failed, 0);
}

/*
 * A map still loading when the daemon died was never told of: recovery
 * deletes it and its chunks, running or not; an all-stored map stays.
 */
static void
test_recover_loading_map(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	int64_t		 m, c0, c1, whole, w0, requeued, failed;
	struct job	 g;

	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_map_loading(s, m, 1), 0);
	c0 = add(s, KIND_CHUNK, m, 0, 0, JOB_RUNNING, 0);
	c1 = add(s, KIND_CHUNK, m, 1, 0, JOB_QUEUED, 0);
	whole = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_map_loading(s, whole, 1), 0);
	w0 = add(s, KIND_CHUNK, whole, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_map_loading(s, whole, 0), 0);
	reopen(fx);
	s = fx->s;
	assert_int_equal(store_recover(s, &requeued, &failed), 0);
	assert_int_equal(store_get(s, m, &g), 0);
	assert_int_equal(store_get(s, c0, &g), 0);
	assert_int_equal(store_get(s, c1, &g), 0);
	assert_int_equal(state_of(s, whole), JOB_QUEUED);
	assert_int_equal(state_of(s, w0), JOB_QUEUED);
}

/* A map whose chunk is failed by recovery fails; its queued chunks end. */
static void
test_recover_map(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 g;
	int64_t		 m, c0, c1, c2, m2, d0, d1, requeued, failed;

	/* Map m: chunk c0 done, c1 running out of attempts, c2 queued. */
	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	c0 = add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 0);
	c1 = add(s, KIND_CHUNK, m, 2, 0, JOB_QUEUED, 0);
	c2 = add(s, KIND_CHUNK, m, 4, 0, JOB_QUEUED, 0);
	assert_int_equal(store_map_started(s, m, 1.0), 0);
	assert_int_equal(store_set_running(s, c0, 60, 1.0), 0);
	assert_int_equal(store_set_final(s, c0, JOB_DONE, "[1,4]", NULL, 0, 2.0),
	    0);
	assert_int_equal(store_set_running(s, c1, 61, 2.0), 0);

	/* Map m2: its running chunk has attempts left and is requeued. */
	m2 = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_map_started(s, m2, 1.0), 0);
	memset(&g, 0, sizeof g);
	g.kind = KIND_CHUNK;
	g.parent = m2;
	g.task = (char *)"square";
	g.args = (char *)"[7]";
	g.kwargs = (char *)"{}";
	g.max_attempts = 2;
	g.retry_on = RETRY_DEFAULT;
	g.created = 1.0;
	d0 = store_insert(s, &g);
	g.seq = 1;
	d1 = store_insert(s, &g);
	assert_true(d0 > 0 && d1 > 0);
	assert_int_equal(store_set_running(s, d0, 62, 2.0), 0);
	reopen(fx);
	s = fx->s;

	assert_int_equal(store_recover(s, &requeued, &failed), 0);
	assert_int_equal(requeued, 1);
	assert_int_equal(failed, 1);

	assert_int_equal(store_get(s, c1, &g), 1);
	assert_int_equal(g.state, JOB_FAILED);
	expect_error_code(g.error, JOBERR_INTERRUPTED);
	job_clear(&g);

	assert_int_equal(store_get(s, m, &g), 1);
	assert_int_equal(g.state, JOB_FAILED);
	assert_true(g.finished > 0);
	expect_error_code(g.error, JOBERR_INTERRUPTED);
	job_clear(&g);

	assert_int_equal(store_get(s, c2, &g), 1);
	assert_int_equal(g.state, JOB_CANCELLED);
	expect_error_code(g.error, JOBERR_CANCELLED);
	job_clear(&g);

	assert_int_equal(store_get(s, c0, &g), 1);
	assert_int_equal(g.state, JOB_DONE);
	assert_string_equal(g.result, "[1,4]");
	assert_null(g.error);
	job_clear(&g);

	/* m2 carries on: running, its chunks both queued. */
	assert_int_equal(state_of(s, m2), JOB_RUNNING);
	assert_int_equal(state_of(s, d0), JOB_QUEUED);
	assert_int_equal(state_of(s, d1), JOB_QUEUED);
}

/* Chunk results join in seq order; empty chunks add nothing. */
static void
test_map_result(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	int64_t		 m, other, c;
	char		*r;

	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	other = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	/* Inserted out of order: seq decides. */
	c = add(s, KIND_CHUNK, m, 3, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[9]", NULL, 0, 1.0), 0);
	c = add(s, KIND_CHUNK, m, 2, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[]", NULL, 0, 1.0), 0);
	c = add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[1,4]", NULL, 0, 1.0),
	    0);
	c = add(s, KIND_CHUNK, other, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[100]", NULL, 0, 1.0),
	    0);

	r = store_map_result(s, m);
	assert_non_null(r);
	assert_string_equal(r, "[1,4,9]");
	free(r);

	r = store_map_result(s, other);
	assert_non_null(r);
	assert_string_equal(r, "[100]");
	free(r);
}

/* An empty chunk first, and a map of only empty chunks, stay valid. */
static void
test_map_result_empty(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	int64_t		 m, c;
	char		*r;

	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	r = store_map_result(s, m);		/* no chunks at all */
	assert_non_null(r);
	assert_string_equal(r, "[]");
	free(r);

	c = add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[]", NULL, 0, 1.0), 0);
	r = store_map_result(s, m);
	assert_non_null(r);
	assert_string_equal(r, "[]");
	free(r);

	c = add(s, KIND_CHUNK, m, 1, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[\"a\",null]", NULL, 0,
	    1.0), 0);
	c = add(s, KIND_CHUNK, m, 3, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[[2],{}]", NULL, 0,
	    1.0), 0);
	r = store_map_result(s, m);
	assert_non_null(r);
	assert_string_equal(r, "[\"a\",null,[2],{}]");
	free(r);
}

/* A chunk without a result array makes the join fail. */
static void
test_map_result_missing(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	int64_t		 m, c;

	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	c = add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[1]", NULL, 0, 1.0), 0);
	add(s, KIND_CHUNK, m, 1, 0, JOB_QUEUED, 0);	/* no result yet */
	assert_null(store_map_result(s, m));
}

/* A big map's joined result grows past the first buffer intact. */
static void
test_map_result_large(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	json_t		*want, *got, *chunk;
	int64_t		 m, c, i, k;
	char		*r, *text;

	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	want = json_array();
	for (i = 0; i < 200; i++) {
		chunk = json_array();
		for (k = 0; k < 5; k++) {
			json_array_append_new(chunk,
			    json_integer(1000000 + i * 5 + k));
			json_array_append_new(want,
			    json_integer(1000000 + i * 5 + k));
		}
		text = json_dumps(chunk, JSON_COMPACT);
		c = add(s, KIND_CHUNK, m, i * 5, 0, JOB_QUEUED, 0);
		assert_int_equal(store_set_final(s, c, JOB_DONE, text, NULL, 0,
		    1.0), 0);
		free(text);
		json_decref(chunk);
	}
	r = store_map_result(s, m);
	assert_non_null(r);
	got = json_loads(r, 0, NULL);
	assert_non_null(got);
	assert_true(json_equal(got, want));
	free(r);
	json_decref(got);
	json_decref(want);
}

/* store_cancel_chunks ends only the map's queued chunks. */
static void
test_cancel_chunks(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 g;
	int64_t		 m, other, q, run, done, oq, ids[8];

	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	other = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	q = add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 0);
	run = add(s, KIND_CHUNK, m, 1, 0, JOB_QUEUED, 0);
	done = add(s, KIND_CHUNK, m, 2, 0, JOB_QUEUED, 0);
	oq = add(s, KIND_CHUNK, other, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_set_running(s, run, 70, 1.0), 0);
	assert_int_equal(store_set_final(s, done, JOB_DONE, "[1]", NULL, 0, 1.0),
	    0);

	assert_int_equal(store_cancel_chunks(s, m,
	    "{\"code\":\"cancelled\",\"message\":\"map cancelled\"}", 5.0, 8),
	    1);
	assert_int_equal(store_get(s, q, &g), 1);
	assert_int_equal(g.state, JOB_CANCELLED);
	assert_true(g.finished == 5.0);
	expect_error_code(g.error, "cancelled");
	job_clear(&g);
	assert_int_equal(state_of(s, run), JOB_RUNNING);
	assert_int_equal(store_get(s, done, &g), 1);
	assert_int_equal(g.state, JOB_DONE);
	assert_null(g.error);
	job_clear(&g);
	assert_int_equal(state_of(s, oq), JOB_QUEUED);
	assert_int_equal(state_of(s, m), JOB_QUEUED);

	assert_int_equal(store_next(s, ids, 8), 1);
	assert_int_equal(ids[0], oq);
}

/*
 * store_forget deletes a map with its chunks and nothing else, at most so
 * many chunks at a time, the map once they are gone.
 */
static void
test_forget(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 g;
	int64_t		 m, c0, c1, job, other, oc;

	job = add_job(s, 1);
	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	c0 = add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 0);
	c1 = add(s, KIND_CHUNK, m, 1, 0, JOB_QUEUED, 0);
	other = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	oc = add(s, KIND_CHUNK, other, 0, 0, JOB_QUEUED, 0);

	assert_int_equal(store_forget(s, m, 1), 0);
	assert_int_equal(store_get(s, m, &g), 1);
	job_clear(&g);
	assert_int_equal(store_forget(s, m, 1), 0);
	assert_int_equal(store_forget(s, m, 1), 1);
	assert_int_equal(store_get(s, m, &g), 0);
	assert_int_equal(store_get(s, c0, &g), 0);
	assert_int_equal(store_get(s, c1, &g), 0);
	assert_int_equal(state_of(s, job), JOB_QUEUED);
	assert_int_equal(state_of(s, other), JOB_QUEUED);
	assert_int_equal(state_of(s, oc), JOB_QUEUED);

	assert_int_equal(store_forget(s, job, 8), 1);
	assert_int_equal(store_get(s, job, &g), 0);
	assert_int_equal(commit(s), 0);
	assert_int_equal(query_int(fx->path, "SELECT count(*) FROM jobs"), 2);
	/* Forgetting what is not there is not an error. */
	assert_int_equal(store_forget(s, 12345, 8), 1);
}

/* store_counts counts jobs and maps by state, never chunks, by owner. */
static void
test_counts(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	int64_t		 counts[JOB_NSTATES], m, a;
	int		 i;

	assert_int_equal(store_counts(s, (uid_t)-1, counts), 0);
	for (i = 0; i < JOB_NSTATES; i++)
		assert_int_equal(counts[i], 0);

	add(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 0);
	a = add(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 0);
	add(s, KIND_JOB, 0, 0, 0, JOB_DONE, 0);
	add(s, KIND_JOB, 0, 0, 0, JOB_CANCELLED, 0);
	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 0);
	add(s, KIND_CHUNK, m, 1, 0, JOB_QUEUED, 0);
	add(s, KIND_CHUNK, m, 2, 0, JOB_DONE, 0);
	assert_int_equal(store_set_running(s, a, 1, 1.0), 0);

	assert_int_equal(store_counts(s, (uid_t)-1, counts), 0);
	assert_int_equal(counts[JOB_QUEUED], 2);
	assert_int_equal(counts[JOB_RUNNING], 1);
	assert_int_equal(counts[JOB_DONE], 1);
	assert_int_equal(counts[JOB_FAILED], 0);
	assert_int_equal(counts[JOB_TIMEOUT], 0);
	assert_int_equal(counts[JOB_CANCELLED], 1);

	add(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 1000);
	add(s, KIND_JOB, 0, 0, 0, JOB_DONE, 1000);
	assert_int_equal(store_counts(s, 1000, counts), 0);
	assert_int_equal(counts[JOB_QUEUED], 1);
	assert_int_equal(counts[JOB_DONE], 1);
	assert_int_equal(counts[JOB_RUNNING], 0);
	assert_int_equal(store_counts(s, 0, counts), 0);
	assert_int_equal(counts[JOB_QUEUED], 2);
}

struct seen {
	int64_t	ids[32];
	int	n;
};

/* store_list callback: records ids and checks the record is whole. */
static void
list_cb(const struct job *j, void *arg)
{
	struct seen	*sn = arg;

	assert_true(sn->n < 32);
	assert_true(j->kind != KIND_CHUNK);
	assert_non_null(j->task);
	assert_non_null(j->args);
	sn->ids[sn->n++] = j->id;
}

/* Lists with a filter and limit; returns how many were seen. */
static int
list(struct store *s, int st, uid_t owner, int limit, struct seen *sn)
{
	memset(sn, 0, sizeof *sn);
	assert_int_equal(store_list(s, st, owner, limit, list_cb, sn), 0);
	return sn->n;
}

/* store_list returns the newest N matches, oldest first, without chunks. */
static void
test_list(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct seen	 sn;
	int64_t		 j1, j2, j3, j4, m, j5;

	j1 = add(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 1000);
	j2 = add(s, KIND_JOB, 0, 0, 0, JOB_DONE, 1001);
	j3 = add(s, KIND_JOB, 0, 0, 9, JOB_DONE, 1000);
	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 1001);
	add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 1001);
	add(s, KIND_CHUNK, m, 1, 0, JOB_DONE, 1000);
	j4 = add(s, KIND_JOB, 0, 0, 0, JOB_FAILED, 1000);
	j5 = add(s, KIND_JOB, 0, 0, 0, JOB_DONE, 0);

	assert_int_equal(list(s, -1, (uid_t)-1, 100, &sn), 6);
	assert_int_equal(sn.ids[0], j1);
	assert_int_equal(sn.ids[1], j2);
	assert_int_equal(sn.ids[2], j3);
	assert_int_equal(sn.ids[3], m);
	assert_int_equal(sn.ids[4], j4);
	assert_int_equal(sn.ids[5], j5);

	/* The newest two, still oldest first. */
	assert_int_equal(list(s, -1, (uid_t)-1, 2, &sn), 2);
	assert_int_equal(sn.ids[0], j4);
	assert_int_equal(sn.ids[1], j5);

	assert_int_equal(list(s, JOB_DONE, (uid_t)-1, 100, &sn), 3);
	assert_int_equal(sn.ids[0], j2);
	assert_int_equal(sn.ids[1], j3);
	assert_int_equal(sn.ids[2], j5);

	assert_int_equal(list(s, JOB_DONE, (uid_t)-1, 1, &sn), 1);
	assert_int_equal(sn.ids[0], j5);

	assert_int_equal(list(s, -1, 1001, 100, &sn), 2);
	assert_int_equal(sn.ids[0], j2);
	assert_int_equal(sn.ids[1], m);

	/* uid 0 is an owner like any other, not "all". */
	assert_int_equal(list(s, -1, 0, 100, &sn), 1);
	assert_int_equal(sn.ids[0], j5);

	assert_int_equal(list(s, JOB_DONE, 1000, 100, &sn), 1);
	assert_int_equal(sn.ids[0], j3);

	assert_int_equal(list(s, JOB_QUEUED, 1000, 100, &sn), 1);
	assert_int_equal(sn.ids[0], j1);

	assert_int_equal(list(s, JOB_TIMEOUT, (uid_t)-1, 100, &sn), 0);
	assert_int_equal(list(s, -1, 4242, 100, &sn), 0);
}

/* A uid above INT32_MAX is stored and filtered on without truncation. */
static void
test_large_owner(void **state)
{
	struct fixture	*fx = *state;
	struct seen	 sn;
	struct job	 g;
	int64_t		 id;

	id = add(fx->s, KIND_JOB, 0, 0, 0, JOB_QUEUED, (uid_t)3000000000u);
	assert_int_equal(store_get(fx->s, id, &g), 1);
	assert_true(g.owner == (uid_t)3000000000u);
	job_clear(&g);
	assert_int_equal(list(fx->s, -1, (uid_t)3000000000u, 10, &sn), 1);
	assert_int_equal(sn.ids[0], id);
}

/* store_map_progress adds to a map's count of finished items. */
static void
test_map_progress(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 g;
	int64_t		 m;

	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	assert_int_equal(store_map_progress(s, m, 3), 0);
	assert_int_equal(store_map_progress(s, m, 4), 0);
	assert_int_equal(store_get(s, m, &g), 1);
	assert_int_equal(g.ndone, 7);
	assert_int_equal(g.state, JOB_QUEUED);
	job_clear(&g);

	/* map_started moves only a queued map. */
	assert_int_equal(store_map_started(s, m, 8.0), 0);
	assert_int_equal(store_get(s, m, &g), 1);
	assert_int_equal(g.state, JOB_RUNNING);
	assert_true(g.started == 8.0);
	assert_int_equal(g.attempts, 0);
	job_clear(&g);
	assert_int_equal(store_set_final(s, m, JOB_DONE, "[]", NULL, 0, 9.0), 0);
	assert_int_equal(store_map_started(s, m, 10.0), 0);
	assert_int_equal(state_of(s, m), JOB_DONE);
}

/*
 * Each pool has its own queue: store_next_of and store_runnable_in see
 * only its pool's jobs and chunks, in the same order; a chunk is in its
 * map's pool; a job with no pool is in "default".
 */
static void
test_pools(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 j;
	int64_t		 a, b, c, ids[8];
	int		 prio[8];

	a = add(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 0);
	testjob_init(&j, "square", "[1]");
	j.pool = (char *)"batch";
	b = store_insert(s, &j);
	j.priority = 5;
	c = store_insert(s, &j);
	assert_true(b > 0 && c > 0);
	assert_int_equal(store_next_of(s, "batch", 0, ids, prio, 8), 2);
	assert_int_equal(ids[0], c);
	assert_int_equal(ids[1], b);
	assert_int_equal(store_next_of(s, POOL_DEFAULT, 0, ids, prio, 8), 1);
	assert_int_equal(ids[0], a);
	assert_int_equal(store_next_of(s, "none", 0, ids, prio, 8), 0);
	assert_int_equal(store_runnable_in(s, "batch"), 1);
	assert_int_equal(store_runnable_in(s, POOL_DEFAULT), 1);
	assert_int_equal(store_runnable_in(s, "none"), 0);
	assert_int_equal(store_pool_queued(s, "batch", (uid_t)-1), 2);
	assert_int_equal(store_pool_queued(s, "batch", 0), 2);
	assert_int_equal(store_pool_queued(s, "batch", 1000), 0);
	assert_int_equal(store_pool_queued(s, POOL_DEFAULT, (uid_t)-1), 1);
	assert_int_equal(store_next(s, ids, 8), 3);
	assert_int_equal(store_get(s, b, &j), 1);
	assert_string_equal(j.pool, "batch");
	job_clear(&j);
	assert_int_equal(store_get(s, a, &j), 1);
	assert_string_equal(j.pool, POOL_DEFAULT);
	job_clear(&j);
	assert_int_equal(store_set_running(s, c, 1, 1.0), 0);
	assert_int_equal(store_pool_queued(s, "batch", (uid_t)-1), 1);
}

/*
 * Each owner's queue in a pool: the owners waiting, lowest uid first, and
 * each one's next jobs, best first with their priorities; running jobs,
 * other pools and delayed jobs are not in it.
 */
static void
test_owner_queues(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	struct job	 j;
	int64_t		 a1, a2, b1, c1, ids[8];
	int		 prio[8];
	uid_t		 owners[8];

	testjob_init(&j, "square", "[1]");
	j.pool = (char *)"p";
	j.owner = 2000;
	a1 = store_insert(s, &j);
	j.priority = 3;
	a2 = store_insert(s, &j);
	j.owner = 1000;
	j.priority = 0;
	b1 = store_insert(s, &j);
	j.owner = 3000;
	c1 = store_insert(s, &j);
	assert_int_equal(store_set_running(s, c1, 1, 1.0), 0);
	assert_int_equal(store_requeue(s, c1, 1, time_now() + 3600), 0);
	j.pool = (char *)"q";
	j.owner = 4000;
	assert_true(store_insert(s, &j) > 0);
	assert_int_equal(store_queued_owners(s, "p", owners, 8), 3);
	assert_int_equal(owners[0], 1000);
	assert_int_equal(owners[1], 2000);
	assert_int_equal(owners[2], 3000);
	assert_int_equal(store_queued_owners(s, "p", owners, 2), 2);
	assert_int_equal(store_next_of(s, "p", 2000, ids, prio, 8), 2);
	assert_int_equal(ids[0], a2);
	assert_int_equal(prio[0], 3);
	assert_int_equal(ids[1], a1);
	assert_int_equal(prio[1], 0);
	assert_int_equal(store_next_of(s, "p", 2000, ids, prio, 1), 1);
	assert_int_equal(store_next_of(s, "p", 3000, ids, prio, 8), 0);
	assert_int_equal(store_next_of(s, "p", 4000, ids, prio, 8), 0);
	assert_int_equal(store_set_running(s, b1, 1, 1.0), 0);
	assert_int_equal(store_queued_owners(s, "p", owners, 8), 2);
	assert_int_equal(owners[0], 2000);
	assert_int_equal(store_queued_owners(s, "none", owners, 8), 0);
}

/*
 * store_ended names ended jobs and maps, never chunks, queued or running
 * ones, or maps being forgotten, earliest end first and before a time;
 * store_ended_count counts them.
 */
static void
test_ended(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s = fx->s;
	int64_t		 a, b, m, c, q, ids[8];
	int		 kinds[8];

	a = add_job(s, 1);
	b = add_job(s, 1);
	m = add(s, KIND_MAP, 0, 0, 0, JOB_QUEUED, 0);
	c = add(s, KIND_CHUNK, m, 0, 0, JOB_QUEUED, 0);
	q = add_job(s, 1);
	assert_int_equal(store_set_final(s, b, JOB_DONE, "1", NULL, 0, 10.0),
	    0);
	assert_int_equal(store_set_final(s, a, JOB_FAILED, NULL, "{}", 0,
	    20.0), 0);
	assert_int_equal(store_set_final(s, c, JOB_DONE, "[1]", NULL, 0, 5.0),
	    0);
	assert_int_equal(store_set_final(s, m, JOB_DONE, NULL, NULL, 0, 30.0),
	    0);
	assert_int_equal(store_ended(s, 1e9, ids, kinds, 8), 3);
	assert_int_equal(ids[0], b);
	assert_int_equal(ids[1], a);
	assert_int_equal(ids[2], m);
	assert_int_equal(kinds[2], KIND_MAP);
	assert_int_equal(store_ended(s, 25.0, ids, kinds, 8), 2);
	assert_int_equal(store_ended(s, 1e9, ids, kinds, 1), 1);
	assert_int_equal(store_ended_count(s), 3);
	assert_int_equal(store_map_loading(s, m, 1), 0);
	assert_int_equal(store_ended_count(s), 2);
	assert_int_equal(store_ended(s, 1e9, ids, kinds, 8), 2);
	assert_int_equal(state_of(s, q), JOB_QUEUED);
}

/* Collects recorded pools as "name:size:paused:added," text. */
static void
pool_seen(const char *name, int size, int paused, int added,
    const char *runtime, void *arg)
{
	char	*out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%s:%d:%d:%d:%s,", name,
	    size, paused, added, runtime);
}

/* Pool records survive a reopen; a name recorded again is replaced. */
static void
test_pool_records(void **state)
{
	struct fixture	*fx = *state;
	char		 seen[256] = "";

	assert_int_equal(store_pool_records(fx->s, pool_seen, seen), 0);
	assert_string_equal(seen, "");
	assert_int_equal(store_pool_record(fx->s, "batch", 3, 0, 1, ""), 0);
	assert_int_equal(store_pool_record(fx->s, "default", 2, 1, 0, ""), 0);
	assert_int_equal(store_pool_record(fx->s, "batch", 0, 0, 1, "python"),
	    0);
	assert_int_equal(commit(fx->s), 0);
	reopen(fx);
	assert_int_equal(store_pool_records(fx->s, pool_seen, seen), 0);
	assert_string_equal(seen, "default:2:1:0:,batch:0:0:1:python,");
}

/* Opens the fixture's database with these faults (and a loop). */
static struct store *
open_faulty(struct fixture *fx, const char *spec, struct event_base *base)
{
	struct store	*s;
	char		*cause = NULL;

	if ((s = store_open(fx->path, 0, spec, base, &cause)) == NULL)
		fail_msg("store_open with faults %s: %s", spec, cause);
	return s;
}

/* A target names its backend; a scheme mpd does not know is refused. */
static void
test_targets(void **state)
{
	enum store_kind	 kind;
	const char	*file;
	char		*cause = NULL;

	(void)state;
	assert_int_equal(store_target("/var/lib/mpd/mpd.db", &kind, &file,
	    &cause), 0);
	assert_int_equal(kind, STORE_SQLITE);
	assert_string_equal(file, "/var/lib/mpd/mpd.db");
	assert_int_equal(store_target("sqlite:rel/mpd.db", &kind, &file,
	    &cause), 0);
	assert_int_equal(kind, STORE_SQLITE);
	assert_string_equal(file, "rel/mpd.db");
	assert_int_equal(store_target("postgresql://db.example/mpd", &kind,
	    &file, &cause), 0);
	assert_int_equal(kind, STORE_POSTGRESQL);
	assert_null(file);
	assert_int_equal(store_target("postgres://x/y", &kind, &file, &cause),
	    0);
	assert_int_equal(kind, STORE_POSTGRESQL);
	assert_int_equal(store_target("mysql://x/y", &kind, &file, &cause),
	    -1);
	assert_non_null(strstr(cause, "unknown database scheme \"mysql\""));
	free(cause);
	assert_int_equal(store_target("sqlite:", &kind, &file, &cause), -1);
	free(cause);
	assert_int_equal(store_target("sqlite:///var/mpd.db", &kind, &file,
	    &cause), -1);
	assert_non_null(strstr(cause, "not a URL"));
	free(cause);
	/* Not built yet: said plainly. */
	assert_null(store_open("postgresql://x/y", 0, NULL, NULL, &cause));
	assert_non_null(strstr(cause, "without PostgreSQL"));
	free(cause);
}

/* A fault spec is checked whole; a bad one names what is allowed. */
static void
test_fault_spec(void **state)
{
	static const char *bad[] = { "write=0", "commit=x", "write", "bogus",
	    "defer=-1", "write=1,,commit=2", "" };
	struct fixture	*fx = *state;
	struct store	*s;
	char		*cause;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		s = store_open(fx->path, 0, bad[i], NULL, &cause);
		assert_null(s);
		assert_non_null(strstr(cause, "write=N, commit=N"));
		free(cause);
	}
	cause = NULL;
	assert_null(store_open(fx->path, 0, "defer", NULL, &cause));
	assert_non_null(strstr(cause, "event loop"));
	free(cause);
}

/* A failed commit keeps nothing of its transaction, and all before it. */
static void
test_fault_commit(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s;
	struct job	 j;
	int64_t		 kept, lost;

	store_close(fx->s);
	s = open_faulty(fx, "commit=2", NULL);
	kept = insert(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 1000, 1);
	assert_int_equal(commit(s), 0);
	lost = insert(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 1000, 1);
	assert_int_equal(store_set_running(s, kept, 77, 1.0), 0);
	assert_int_equal(commit(s), -1);
	assert_non_null(strstr(store_errmsg(s), "injected fault: commit 2"));
	store_close(s);
	fx->s = open_store(fx);
	assert_int_equal(store_get(fx->s, kept, &j), 1);
	assert_int_equal(j.state, JOB_QUEUED);
	assert_int_equal(j.attempts, 0);
	job_clear(&j);
	assert_int_equal(store_get(fx->s, lost, &j), 0);
}

/* In the child: the lost transaction's words go up the pipe. */
static void
lost_cb(const char *why, void *arg)
{
	int	fd = *(int *)arg;

	if (write(fd, why, strlen(why)) == -1)
		_exit(99);
}

/*
 * A failed write loses the open transaction: whoever registered hears why,
 * and mpd stops (here a child, which must exit 1). Reopened, the store has
 * what was committed before, and nothing of the lost transaction.
 */
static void
test_fault_write(void **state)
{
	struct fixture	*fx = *state;
	struct store	*s;
	struct job	 j;
	char		 why[128];
	int		 fds[2], status;
	ssize_t		 n;
	pid_t		 pid;

	store_close(fx->s);
	fx->s = NULL;
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		s = store_open(fx->path, 0, "write=3", NULL, NULL);
		if (s == NULL)
			_exit(98);
		store_on_lost(s, lost_cb, &fds[1]);
		if (insert(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 1, 1) != 1 ||
		    commit(s) != 0)
			_exit(97);
		insert(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 1, 1);
		insert(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 1, 1);
		_exit(96);	/* not reached: the third write stops it */
	}
	assert_true(pid > 0);
	close(fds[1]);
	n = read(fds[0], why, sizeof why - 1);
	close(fds[0]);
	assert_true(n > 0);
	why[n] = '\0';
	assert_string_equal(why, "injected fault: write 3 failed");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	fx->s = open_store(fx);
	assert_int_equal(store_get(fx->s, 1, &j), 1);
	job_clear(&j);
	assert_int_equal(store_get(fx->s, 2, &j), 0);
	assert_int_equal(store_get(fx->s, 3, &j), 0);
}

/*
 * A deferred commit reports from the loop, not before store_commit
 * returns; one still waiting when the store closes reports then.
 */
static void
test_fault_defer(void **state)
{
	struct fixture		*fx = *state;
	struct event_base	*base;
	struct store		*s;
	struct done		 d = { 0, 0 };
	struct job		 j;
	int64_t			 id;

	store_close(fx->s);
	assert_non_null(base = event_base_new());
	s = open_faulty(fx, "defer=1", base);
	id = insert(s, KIND_JOB, 0, 0, 0, JOB_QUEUED, 1, 1);
	store_commit(s, done_cb, &d);
	assert_int_equal(d.called, 0);
	while (d.called == 0)
		assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	assert_int_equal(d.called, 1);
	assert_int_equal(d.rc, 0);
	/* Nothing to commit: nothing to wait for. */
	store_commit(s, done_cb, &d);
	assert_int_equal(d.called, 2);
	assert_int_equal(store_forget(s, id, 8), 1);
	store_commit(s, done_cb, &d);
	assert_int_equal(d.called, 2);
	store_close(s);
	assert_int_equal(d.called, 3);
	assert_int_equal(d.rc, 0);
	event_base_free(base);
	fx->s = open_store(fx);
	assert_int_equal(store_get(fx->s, id, &j), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_open_schema),
		T(test_open_newer_schema),
		T(test_migrate_v1),
		T(test_insert_get),
		T(test_next_order),
		T(test_next_empty),
		T(test_running_requeue),
		T(test_set_final),
		T(test_commit_reopen),
		T(test_recover_jobs),
		T(test_recover_map),
		T(test_recover_loading_map),
		T(test_map_result),
		T(test_map_result_empty),
		T(test_map_result_missing),
		T(test_map_result_large),
		T(test_cancel_chunks),
		T(test_forget),
		T(test_counts),
		T(test_list),
		T(test_large_owner),
		T(test_map_progress),
		T(test_pools),
		T(test_owner_queues),
		T(test_ended),
		T(test_pool_records),
		T(test_targets),
		T(test_fault_spec),
		T(test_fault_commit),
		T(test_fault_write),
		T(test_fault_defer),
	};

	if (argc > 1)
		faults = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}

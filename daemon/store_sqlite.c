/*
 * The SQLite backend of the job store (store_backend.h). WAL mode,
 * prepared statements, schema version in PRAGMA user_version. The queue is
 * the partial index jobs_queue: the scheduler asks it for the next
 * runnable rows instead of holding the queue in memory (INDEXED BY, so
 * the planner cannot pick a full sort instead).
 * Ids are AUTOINCREMENT: a forgotten job's id is never handed out again,
 * so an old handle can never name someone else's job.
 */
#include <sys/statvfs.h>

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "log.h"
#include "proto.h"
#include "store_backend.h"
#include "util.h"
#include "xmalloc.h"

#define SCHEMA_VERSION	9

enum {
	S_INSERT,
	S_GET,
	S_NEXT,
	S_RUNNABLE_IN,
	S_NEXT_OF,
	S_QUEUED_OWNERS,
	S_POOL_QUEUED,
	S_OWNER_ITEMS,
	S_MAP_LOADING,
	S_ENDED,
	S_ENDED_COUNT,
	S_POOL_RECORD,
	S_POOL_RECORDS,
	S_RUNNING,
	S_MAP_STARTED,
	S_FINAL,
	S_REQUEUE,
	S_PROGRESS,
	S_JOB_PROGRESS,
	S_CHUNK_RESULTS,
	S_CANCEL_CHUNKS,
	S_FORGET_CHUNKS,
	S_FORGET,
	S_COUNTS,
	S_OWNERS,
	S_ATTEMPT,
	S_ATTEMPTS,
	S_NEXT_DELAYED,
	S_QUEUED_ITEMS,
	S_PAGES,
	S_BEGIN,
	S_COMMIT,
	S_NSTMTS
};

#define JOB_COLUMNS \
	"id, kind, parent, seq, task, args, kwargs, name, owner, priority, " \
	"state, attempts, max_attempts, nitems, ndone, chunksize, created, " \
	"started, finished, worker_pid, result, error, timeout, owner_gid, " \
	"retry_on, retry_delay, retry_factor, retry_max, not_before, pool, " \
	"context, loading"

static const char *stmt_sql[S_NSTMTS] = {
	[S_INSERT] = "INSERT INTO jobs (kind, parent, seq, task, args, kwargs, "
	    "name, owner, priority, state, max_attempts, nitems, chunksize, "
	    "created, timeout, owner_gid, retry_on, retry_delay, retry_factor, "
	    "retry_max, pool, context) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
	    "?,?,?,?,?,?)",
	[S_GET] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?",
	[S_NEXT] = "SELECT id FROM jobs INDEXED BY jobs_queue "
	    "WHERE state = 0 AND kind != 1 AND not_before <= ? "
	    "ORDER BY priority DESC, id LIMIT ?",
	[S_RUNNABLE_IN] = "SELECT count(*) FROM (SELECT 1 FROM jobs INDEXED BY "
	    "jobs_owner_queue WHERE pool = ?1 AND state = 0 AND kind != 1 AND "
	    "not_before <= ?2 LIMIT 1)",
	[S_NEXT_OF] = "SELECT id, priority FROM jobs INDEXED BY "
	    "jobs_owner_queue WHERE pool = ?1 AND owner = ?2 AND state = 0 "
	    "AND kind != 1 AND not_before <= ?3 ORDER BY priority DESC, id "
	    "LIMIT ?4",
	/* The owners with jobs queued in a pool: one seek in the index each. */
	[S_QUEUED_OWNERS] = "WITH RECURSIVE o(uid) AS (SELECT min(owner) FROM "
	    "jobs INDEXED BY jobs_owner_queue WHERE pool = ?1 AND state = 0 "
	    "AND kind != 1 UNION ALL SELECT (SELECT min(owner) FROM jobs "
	    "INDEXED BY jobs_owner_queue WHERE pool = ?1 AND state = 0 AND "
	    "kind != 1 AND owner > o.uid) FROM o WHERE o.uid IS NOT NULL) "
	    "SELECT uid FROM o WHERE uid IS NOT NULL LIMIT ?2",
	[S_POOL_QUEUED] = "SELECT count(*) FROM jobs INDEXED BY "
	    "jobs_owner_queue WHERE pool = ?1 AND state = 0 AND kind != 1 "
	    "AND (?2 < 0 OR owner = ?2)",
	[S_OWNER_ITEMS] = "SELECT total(CASE WHEN kind = 2 THEN nitems ELSE 1 "
	    "END) FROM jobs INDEXED BY jobs_owner_queue WHERE pool = ?1 AND "
	    "owner = ?2 AND state = 0 AND kind != 1",
	[S_MAP_LOADING] = "UPDATE jobs SET loading = ?2 WHERE id = ?1",
	[S_ENDED] = "SELECT id, kind FROM jobs INDEXED BY jobs_ended WHERE "
	    "state >= 2 AND kind != 2 AND finished < ?1 AND loading = 0 "
	    "ORDER BY finished LIMIT ?2",
	[S_ENDED_COUNT] = "SELECT count(*) FROM jobs INDEXED BY jobs_ended "
	    "WHERE state >= 2 AND kind != 2 AND loading = 0",
	[S_POOL_RECORD] = "INSERT OR REPLACE INTO pools (name, size, paused, "
	    "added, runtime) VALUES (?, ?, ?, ?, ?)",
	[S_POOL_RECORDS] = "SELECT name, size, paused, added, runtime FROM pools "
	    "ORDER BY rowid",
	[S_RUNNING] = "UPDATE jobs SET state = 1, attempts = attempts + 1, "
	    "started = ?, worker_pid = ? WHERE id = ?",
	[S_MAP_STARTED] = "UPDATE jobs SET state = 1, started = ? "
	    "WHERE id = ? AND state = 0",
	[S_FINAL] = "UPDATE jobs SET state = ?1, result = ?2, error = ?3, "
	    "finished = ?4, worker_pid = NULL, started = coalesce(started, "
	    "?6) WHERE id = ?5",
	[S_REQUEUE] = "UPDATE jobs SET state = 0, attempts = attempts - ?, "
	    "started = NULL, worker_pid = NULL, not_before = ?, "
	    "ndone = CASE kind WHEN 0 THEN 0 ELSE ndone END, "
	    "nitems = CASE kind WHEN 0 THEN 0 ELSE nitems END WHERE id = ?",
	[S_PROGRESS] = "UPDATE jobs SET ndone = ndone + ? WHERE id = ?",
	[S_JOB_PROGRESS] = "UPDATE jobs SET ndone = ?, nitems = ? WHERE id = ? "
	    "AND kind = 0 AND state = 1",
	[S_CHUNK_RESULTS] = "SELECT result FROM jobs WHERE parent = ? "
	    "ORDER BY seq",
	[S_CANCEL_CHUNKS] = "UPDATE jobs SET state = 5, error = ?1, "
	    "finished = ?2 WHERE id IN (SELECT id FROM jobs INDEXED BY "
	    "jobs_queued_chunks WHERE parent = ?3 AND kind = 2 AND state = 0 "
	    "LIMIT ?4)",
	[S_FORGET_CHUNKS] = "DELETE FROM jobs WHERE id IN (SELECT id FROM "
	    "jobs INDEXED BY jobs_parent WHERE parent = ?1 LIMIT ?2)",
	[S_FORGET] = "DELETE FROM jobs WHERE id = ?1",
	[S_ATTEMPT] = "INSERT OR REPLACE INTO attempts (job, n, started, "
	    "finished, worker_pid, state, error) VALUES (?,?,?,?,?,?,?)",
	[S_ATTEMPTS] = "SELECT n, started, finished, worker_pid, state, error "
	    "FROM attempts WHERE job = ? ORDER BY n",
	[S_PAGES] = "SELECT max_page_count - page_count + freelist_count, "
	    "page_size FROM pragma_max_page_count, pragma_page_count, "
	    "pragma_freelist_count, pragma_page_size",
	[S_QUEUED_ITEMS] = "SELECT total(CASE WHEN kind = 2 THEN nitems "
	    "ELSE 1 END) FROM jobs INDEXED BY jobs_queue WHERE state = 0 AND "
	    "kind != 1",
	[S_NEXT_DELAYED] = "SELECT min(not_before) FROM jobs INDEXED BY "
	    "jobs_delayed WHERE state = 0 AND not_before > 0",
	[S_COUNTS] = "SELECT state, count(*) FROM jobs WHERE kind != 2 "
	    "AND loading = 0 AND (?1 < 0 OR owner = ?1) GROUP BY state",
	[S_OWNERS] = "SELECT owner, sum(state = 0), sum(state = 1) FROM jobs "
	    "WHERE kind != 2 AND state IN (0, 1) AND (?1 < 0 OR owner = ?1) "
	    "GROUP BY owner ORDER BY owner",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
};

static const char schema_v1[] =
	"CREATE TABLE jobs ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind INTEGER NOT NULL,"
	" parent INTEGER,"
	" seq INTEGER NOT NULL DEFAULT 0,"
	" task TEXT NOT NULL,"
	" args TEXT NOT NULL,"
	" kwargs TEXT NOT NULL,"
	" name TEXT,"
	" owner INTEGER NOT NULL,"
	" priority INTEGER NOT NULL DEFAULT 0,"
	" state INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" max_attempts INTEGER NOT NULL DEFAULT 1,"
	" nitems INTEGER NOT NULL DEFAULT 0,"
	" ndone INTEGER NOT NULL DEFAULT 0,"
	" chunksize INTEGER NOT NULL DEFAULT 0,"
	" created REAL NOT NULL,"
	" started REAL,"
	" finished REAL,"
	" worker_pid INTEGER,"
	" result TEXT,"
	" error TEXT);"
	"CREATE INDEX jobs_queue ON jobs (priority DESC, id)"
	" WHERE state = 0 AND kind != 1;"
	"CREATE INDEX jobs_parent ON jobs (parent, seq)"
	" WHERE parent IS NOT NULL;"
	"CREATE INDEX jobs_state ON jobs (state, id);";

/* Version 2: a time limit per job and the owner's group (exec jobs). */
static const char schema_v2[] =
	"ALTER TABLE jobs ADD COLUMN timeout REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN owner_gid INTEGER NOT NULL DEFAULT 0;";

/*
 * Version 3: retry policy, the time before which a retried job waits, and
 * a record of every attempt (deleted with its job by a trigger).
 */
_Static_assert(RETRY_DEFAULT == 3, "schema_v3 spells RETRY_DEFAULT as 3");
static const char schema_v3[] =
	"ALTER TABLE jobs ADD COLUMN retry_on INTEGER NOT NULL DEFAULT 3;"
	"ALTER TABLE jobs ADD COLUMN retry_delay REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN retry_factor REAL NOT NULL DEFAULT 1;"
	"ALTER TABLE jobs ADD COLUMN retry_max REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN not_before REAL NOT NULL DEFAULT 0;"
	"CREATE INDEX jobs_delayed ON jobs (not_before)"
	" WHERE state = 0 AND not_before > 0;"
	"CREATE TABLE attempts ("
	" job INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" started REAL,"
	" finished REAL NOT NULL,"
	" worker_pid INTEGER,"
	" state INTEGER NOT NULL,"
	" error TEXT,"
	" PRIMARY KEY (job, n)) WITHOUT ROWID;"
	"CREATE TRIGGER jobs_forget AFTER DELETE ON jobs BEGIN"
	" DELETE FROM attempts WHERE job = old.id; END;";

/*
 * Version 4: what start-up recovery looks for, without reading every
 * queued job: maps by state, and the chunks still queued by their map.
 */
static const char schema_v4[] =
	"CREATE INDEX jobs_maps ON jobs (state) WHERE kind = 1;"
	"CREATE INDEX jobs_queued_chunks ON jobs (parent)"
	" WHERE kind = 2 AND state = 0;";

/*
 * Version 5: named pools. Each job names the pool whose workers run it
 * (a map's chunks, their map's); each pool's queue has an index of its
 * own, so the scheduler fills pools independently.
 */
static const char schema_v5[] =
	"ALTER TABLE jobs ADD COLUMN pool TEXT NOT NULL DEFAULT 'default';"
	"CREATE INDEX jobs_pool_queue ON jobs (pool, priority DESC, id)"
	" WHERE state = 0 AND kind != 1;";

/*
 * Version 6: what mpctl pool changed while mpd ran (sizes, pauses, pools
 * added, and removed ones as size 0), so that a restart keeps it.
 */
static const char schema_v6[] =
	"CREATE TABLE pools ("
	" name TEXT PRIMARY KEY,"
	" size INTEGER NOT NULL,"
	" paused INTEGER NOT NULL DEFAULT 0,"
	" added INTEGER NOT NULL DEFAULT 0);";

/*
 * Version 7: worker runtimes. A job of an external runtime's pool keeps
 * the context its client gave (working directory, import path: the
 * runtime's to read), and a pool added live keeps its runtime.
 */
static const char schema_v7[] =
	"ALTER TABLE jobs ADD COLUMN context TEXT;"
	"ALTER TABLE pools ADD COLUMN runtime TEXT NOT NULL DEFAULT '';";

/*
 * Version 8: each owner's queue within a pool, for the scheduler's turns
 * between owners (the owners waiting, and the next jobs of each). It
 * takes the place of the pool's one queue, so a job still updates one
 * index of queues. And a map still being stored, a slice per turn of the
 * loop, is marked loading: nobody has been told of it yet.
 */
static const char schema_v8[] =
	"ALTER TABLE jobs ADD COLUMN loading INTEGER NOT NULL DEFAULT 0;"
	"DROP INDEX jobs_pool_queue;"
	"CREATE INDEX jobs_owner_queue ON jobs (pool, owner, priority DESC, id)"
	" WHERE state = 0 AND kind != 1;";

/* Version 9: ended jobs and maps by when they ended, for retention. */
static const char schema_v9[] =
	"CREATE INDEX jobs_ended ON jobs (finished)"
	" WHERE state >= 2 AND kind != 2;";

/* migrations[v] brings a database at version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
	schema_v1, schema_v2, schema_v3, schema_v4, schema_v5, schema_v6,
	schema_v7, schema_v8, schema_v9,
};

struct sq {
	struct store		 base;		/* first: the table */
	char			*dir;		/* the database's directory */
	sqlite3			*db;
	sqlite3_stmt		*stmt[S_NSTMTS];
	int			 in_txn;
	struct checkpointer	*cp;		/* or NULL: SQLite's own */
};

#define SQ(s)	((struct sq *)(s))

static void	sq_close(struct store *);
static int	sq_commit_now(struct sq *);

/*
 * Frames in the write-ahead log past which the checkpointer is asked to
 * copy them to the database (SQLite's own default), and past which (it
 * has not kept up) the loop does it, waiting, so the log stays bounded.
 */
#define WAL_ASK		1000
#define WAL_CAP		10000

static const char *
sq_errmsg(struct store *base)
{
	struct sq	*s = SQ(base);

	return sqlite3_errmsg(s->db);
}

/* Runs SQL text with no results; returns 0 or -1 with *cause set. */
static int
sq_exec(struct sq *s, const char *sql, char **cause)
{
	char	*msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*cause = xasprintf("%s", msg != NULL ? msg :
		    sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* After each commit, with the number of frames in the log. */
static int
sq_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sq	*s = arg;

	/*
	 * PASSIVE, as SQLite's own would be: it waits for no lock (a reader
	 * of an old snapshot, an admin's shell, only holds back the frames
	 * it may still need), and with no writer but this one, the next
	 * commit writes the log from its start once all is copied.
	 */
	if (frames >= WAL_CAP)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
	else if (frames >= WAL_ASK)
		checkpoint_ask(s->cp);
	return SQLITE_OK;
}

/* Reads PRAGMA user_version; returns it or -1. */
static int
sq_user_version(struct sq *s)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Brings the schema to SCHEMA_VERSION. A new migration is one more entry
 * in migrations[] (and SCHEMA_VERSION one more); they run in one
 * transaction.
 */
static int
sq_migrate(struct sq *s, char **cause)
{
	int	 v;
	char	*sql;

	if ((v = sq_user_version(s)) == -1) {
		*cause = xasprintf("reading schema version: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	if (v > SCHEMA_VERSION) {
		*cause = xasprintf("database schema version %d is newer than "
		    "this mpd understands (%d)", v, SCHEMA_VERSION);
		return -1;
	}
	if (v == SCHEMA_VERSION)
		return 0;
	if (sq_exec(s, "BEGIN IMMEDIATE", cause) == -1)
		return -1;
	/* Each step brings version v to v + 1, in one transaction. */
	for (; v < SCHEMA_VERSION; v++) {
		if (sq_exec(s, migrations[v], cause) == -1)
			goto fail;
	}
	sql = xasprintf("PRAGMA user_version = %d", v);
	if (sq_exec(s, sql, cause) == -1) {
		free(sql);
		goto fail;
	}
	free(sql);
	return sq_exec(s, "COMMIT", cause);
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static const struct store_ops sq_ops;

struct store *
store_sqlite_open(const char *path, int sync_full, char **cause)
{
	struct sq	*s;
	int		 i;

	s = xcalloc(1, sizeof *s);
	s->base.ops = &sq_ops;
	s->dir = path_beside(path, ".");
	/*
	 * No symlink anywhere in the path (SQLite checks each component).
	 * At close SQLite removes -wal and -shm by path, but only after it
	 * has seen the database still at the path it opened: a directory
	 * swapped meanwhile makes it leave them.
	 */
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK) {
		*cause = xasprintf("%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* Another connection (an admin's sqlite3 shell) may hold a lock. */
	sqlite3_busy_timeout(s->db, 2000);
	if (sq_exec(s, "PRAGMA journal_mode = WAL", cause) == -1)
		goto fail;
	if (sq_exec(s, sync_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", cause) == -1)
		goto fail;
	if (sq_migrate(s, cause) == -1)
		goto fail;
	/* Checkpoints off the loop: a hook replaces SQLite's own. */
	if ((s->cp = checkpoint_start(path)) != NULL)
		sqlite3_wal_hook(s->db, sq_wal_hook, s);
	for (i = 0; i < S_NSTMTS; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
		    SQLITE_OK) {
			*cause = xasprintf("preparing \"%s\": %s", stmt_sql[i],
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	return &s->base;
fail:
	sq_close(&s->base);
	return NULL;
}

static void
sq_close(struct store *base)
{
	struct sq	*s = SQ(base);
	int		 i;

	if (s->in_txn && sq_commit_now(s) == -1)
		log_warnx("store: final commit: %s", sqlite3_errmsg(s->db));
	/* Then the last connection's close checkpoints what is left. */
	checkpoint_stop(s->cp);
	for (i = 0; i < S_NSTMTS; i++)
		sqlite3_finalize(s->stmt[i]);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(s->db));
	free(s->dir);
	free(s);
}

/* Returns a reset statement ready for binding. */
static sqlite3_stmt *
sq_stmt(struct sq *s, int which)
{
	sqlite3_stmt	*st = s->stmt[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Opens the loop iteration's transaction if none is open. */
static int
sq_begin(struct sq *s)
{
	sqlite3_stmt	*st;

	if (s->in_txn)
		return 0;
	st = sq_stmt(s, S_BEGIN);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("store: begin: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	s->in_txn = 1;
	return 0;
}

/* Steps a write statement inside the transaction; returns 0 or -1. */
static int
sq_write(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int	rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	log_warnx("store: %s: %s", what, sqlite3_errmsg(s->db));
	/*
	 * SQLite rolled the whole transaction back (disk full, I/O error):
	 * writes of this iteration whose replies are held are gone, so no
	 * reply may go out. Stop; nothing acknowledged is lost.
	 */
	if (s->in_txn && sqlite3_get_autocommit(s->db))
		store_lost(&s->base, sqlite3_errmsg(s->db));
	return -1;
}

static int
sq_dirty(struct store *base)
{
	struct sq	*s = SQ(base);

	return s->in_txn;
}

/* Commits the open transaction, if any; returns 0 or -1. */
static int
sq_commit_now(struct sq *s)
{
	sqlite3_stmt	*st;

	if (!s->in_txn)
		return 0;
	st = sq_stmt(s, S_COMMIT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	s->in_txn = 0;
	return 0;
}

/* SQLite commits in the caller's time: done runs before this returns. */
static void
sq_commit(struct store *base, store_done_fn done, void *arg)
{
	done(sq_commit_now(SQ(base)), arg);
}

static void
sq_rollback(struct store *base)
{
	struct sq	*s = SQ(base);

	if (s->in_txn && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_txn = 0;
}

static int
sq_recover(struct store *base, int64_t *requeued, int64_t *failed)
{
	struct sq	*s = SQ(base);
	static const char handed_sql[] =
	    "UPDATE jobs SET state = 0, attempts = attempts - 1, "
	    "worker_pid = NULL WHERE state = 1 AND kind = 0 AND "
	    "started IS NULL";
	static const char record_sql[] =
	    "INSERT OR REPLACE INTO attempts (job, n, started, finished, "
	    "worker_pid, state, error) SELECT id, attempts, started, ?1, "
	    "worker_pid, 3, json_object('code', 'interrupted', 'message', "
	    "'the daemon stopped while this attempt ran') FROM jobs "
	    "WHERE state = 1 AND kind != 1";
	/* The SQL below spells RETRY_INTERRUPTED as 2. */
	_Static_assert(RETRY_INTERRUPTED == 2, "retry_on & 2 in requeue_sql");
	static const char requeue_sql[] =
	    "UPDATE jobs SET state = 0, worker_pid = NULL, started = NULL, "
	    "ndone = CASE kind WHEN 0 THEN 0 ELSE ndone END, "
	    "nitems = CASE kind WHEN 0 THEN 0 ELSE nitems END, "
	    "not_before = CASE WHEN retry_delay > 0 THEN ?1 + retry_delay "
	    "ELSE 0 END WHERE state = 1 AND kind != 1 AND "
	    "attempts < max_attempts AND (retry_on & 2) != 0";
	static const char fail_sql[] =
	    "UPDATE jobs SET state = 3, worker_pid = NULL, finished = ?1, "
	    "error = json_object('code', 'interrupted', 'message', "
	    "'the daemon stopped while the job was running and it is not "
	    "retried') WHERE state = 1 AND kind != 1";
	static const char maps_sql[] =
	    "UPDATE jobs SET state = 3, finished = ?1, error = json_object("
	    "'code', 'interrupted', 'message', 'a chunk of this map was "
	    "interrupted by a daemon stop and is not retried') "
	    "WHERE kind = 1 AND state IN (0, 1) AND EXISTS (SELECT 1 FROM "
	    "jobs c INDEXED BY jobs_parent WHERE c.parent = jobs.id AND "
	    "c.state = 3)";
	static const char orphans_sql[] =
	    "UPDATE jobs INDEXED BY jobs_queued_chunks SET state = 5, "
	    "finished = ?1, error = json_object("
	    "'code', 'cancelled', 'message', 'the map this chunk belongs to "
	    "has ended') WHERE kind = 2 AND state = 0 AND (SELECT m.state "
	    "FROM jobs m WHERE m.id = jobs.parent) >= 2";
	/* A map not all stored was never told of: it goes, with its chunks. */
	static const char loading_chunks_sql[] =
	    "DELETE FROM jobs WHERE kind = 2 AND parent IN (SELECT id FROM "
	    "jobs INDEXED BY jobs_maps WHERE kind = 1 AND loading = 1)";
	static const char loading_sql[] =
	    "DELETE FROM jobs INDEXED BY jobs_maps WHERE kind = 1 AND "
	    "loading = 1";
	/* Jobs handed to a worker that had not begun them go back first. */
	static const char *steps[] = { handed_sql, record_sql, requeue_sql,
	    fail_sql, maps_sql, orphans_sql, loading_chunks_sql, loading_sql };
	sqlite3_stmt	*st;
	size_t		 i;
	double		 now = time_now();

	if (sq_begin(s) == -1)
		return -1;
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (sqlite3_prepare_v2(s->db, steps[i], -1, &st, NULL) !=
		    SQLITE_OK)
			goto fail;
		sqlite3_bind_double(st, 1, now);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			goto fail;
		}
		if (i == 0)
			*requeued = sqlite3_changes64(s->db);
		else if (i == 2)
			*requeued += sqlite3_changes64(s->db);
		else if (i == 3)
			*failed = sqlite3_changes64(s->db);
		sqlite3_finalize(st);
	}
	return sq_commit_now(s);
fail:
	log_warnx("store: recovery: %s", sqlite3_errmsg(s->db));
	return -1;
}

/*
 * Ends a read: resets the statement and reports a step that stopped short
 * of SQLITE_DONE. Returns 0 or -1.
 */
static int
sq_read_done(struct sq *s, sqlite3_stmt *st, int rc, const char *what)
{
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	log_warnx("store: %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

/* Binds text or NULL. */
static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static int64_t
sq_insert(struct store *base, const struct job *j)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_INSERT);
	sqlite3_bind_int(st, 1, j->kind);
	if (j->parent != 0)
		sqlite3_bind_int64(st, 2, j->parent);
	sqlite3_bind_int64(st, 3, j->seq);
	bind_text(st, 4, j->task);
	bind_text(st, 5, j->args);
	bind_text(st, 6, j->kwargs);
	bind_text(st, 7, j->name);
	sqlite3_bind_int64(st, 8, (int64_t)j->owner);
	sqlite3_bind_int(st, 9, j->priority);
	sqlite3_bind_int(st, 10, j->state);
	sqlite3_bind_int(st, 11, j->max_attempts);
	sqlite3_bind_int64(st, 12, j->nitems);
	sqlite3_bind_int64(st, 13, j->chunksize);
	sqlite3_bind_double(st, 14, j->created);
	sqlite3_bind_double(st, 15, j->timeout);
	sqlite3_bind_int64(st, 16, (int64_t)j->group);
	sqlite3_bind_int(st, 17, j->retry_on);
	sqlite3_bind_double(st, 18, j->retry_delay);
	sqlite3_bind_double(st, 19, j->retry_factor);
	sqlite3_bind_double(st, 20, j->retry_max);
	sqlite3_bind_text(st, 21, j->pool != NULL ? j->pool : POOL_DEFAULT, -1,
	    SQLITE_STATIC);
	bind_text(st, 22, j->context);
	if (sq_write(s, st, "insert") == -1)
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

/* Copies a text column, or NULL. */
static char *
column_text(sqlite3_stmt *st, int i)
{
	const unsigned char	*v = sqlite3_column_text(st, i);

	return v == NULL ? NULL : xstrdup((const char *)v);
}

/* Fills j from a row of JOB_COLUMNS. */
static void
job_from_row(sqlite3_stmt *st, struct job *j)
{
	memset(j, 0, sizeof *j);
	j->id = sqlite3_column_int64(st, 0);
	j->kind = sqlite3_column_int(st, 1);
	j->parent = sqlite3_column_int64(st, 2);
	j->seq = sqlite3_column_int64(st, 3);
	j->task = column_text(st, 4);
	j->args = column_text(st, 5);
	j->kwargs = column_text(st, 6);
	j->name = column_text(st, 7);
	j->owner = (uid_t)sqlite3_column_int64(st, 8);
	j->priority = sqlite3_column_int(st, 9);
	j->state = sqlite3_column_int(st, 10);
	j->attempts = sqlite3_column_int(st, 11);
	j->max_attempts = sqlite3_column_int(st, 12);
	j->nitems = sqlite3_column_int64(st, 13);
	j->ndone = sqlite3_column_int64(st, 14);
	j->chunksize = sqlite3_column_int64(st, 15);
	j->created = sqlite3_column_double(st, 16);
	j->started = sqlite3_column_double(st, 17);
	j->finished = sqlite3_column_double(st, 18);
	j->pid = (pid_t)sqlite3_column_int64(st, 19);
	j->result = column_text(st, 20);
	j->error = column_text(st, 21);
	j->timeout = sqlite3_column_double(st, 22);
	j->group = (gid_t)sqlite3_column_int64(st, 23);
	j->retry_on = sqlite3_column_int(st, 24);
	j->retry_delay = sqlite3_column_double(st, 25);
	j->retry_factor = sqlite3_column_double(st, 26);
	j->retry_max = sqlite3_column_double(st, 27);
	j->not_before = sqlite3_column_double(st, 28);
	j->pool = column_text(st, 29);
	j->context = column_text(st, 30);
	j->loading = sqlite3_column_int(st, 31);
}

static int
sq_get(struct store *base, int64_t id, struct job *j)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_GET);
	int		 rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		job_from_row(st, j);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	log_warnx("store: get %lld: %s", (long long)id, sqlite3_errmsg(s->db));
	return -1;
}

/* Fills ids from a bound next-runnable statement; returns how many, or -1. */
static int
sq_next_rows(struct sq *s, sqlite3_stmt *st, int64_t *ids, int max)
{
	int	n = 0, rc = SQLITE_DONE;

	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	if (n < max && rc != SQLITE_DONE) {
		log_warnx("store: next: %s", sqlite3_errmsg(s->db));
		n = -1;
	}
	sqlite3_reset(st);
	return n;
}

static int
sq_next(struct store *base, int64_t *ids, int max)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_NEXT);

	sqlite3_bind_double(st, 1, time_now());
	sqlite3_bind_int(st, 2, max);
	return sq_next_rows(s, st, ids, max);
}

static int
sq_runnable_in(struct store *base, const char *pool)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_RUNNABLE_IN);
	int		 n = -1;

	sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, time_now());
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n;
}

static int
sq_next_of(struct store *base, const char *pool, uid_t owner, int64_t *ids,
    int *prio, int max)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_NEXT_OF);
	int		 n = 0, rc = SQLITE_DONE;

	sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)owner);
	sqlite3_bind_double(st, 3, time_now());
	sqlite3_bind_int(st, 4, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(st, 0);
		prio[n++] = sqlite3_column_int(st, 1);
	}
	return sq_read_done(s, st, rc == SQLITE_ROW ? SQLITE_DONE : rc,
	    "next of an owner") == -1 ? -1 : n;
}

static int
sq_queued_owners(struct store *base, const char *pool, uid_t *owners,
    int max)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_QUEUED_OWNERS);
	int		 n = 0, rc = SQLITE_DONE;

	sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		owners[n++] = (uid_t)sqlite3_column_int64(st, 0);
	return sq_read_done(s, st, rc == SQLITE_ROW ? SQLITE_DONE : rc,
	    "owners queued") == -1 ? -1 : n;
}

/* A number a statement gives for a pool and an owner (-1: all), or -1. */
static int64_t
sq_pool_number(struct sq *s, int which, const char *pool, int64_t owner)
{
	sqlite3_stmt	*st = sq_stmt(s, which);
	int64_t		 n = -1;

	sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, owner);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (int64_t)sqlite3_column_double(st, 0);
	sqlite3_reset(st);
	return n;
}

static int
sq_map_loading(struct store *base, int64_t id, int on)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_MAP_LOADING);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, on);
	return sq_write(s, st, "map loading");
}

static int
sq_ended(struct store *base, double before, int64_t *ids, int *kinds,
    int max)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_ENDED);
	int		 n = 0, rc = SQLITE_DONE;

	sqlite3_bind_double(st, 1, before);
	sqlite3_bind_int(st, 2, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(st, 0);
		kinds[n++] = sqlite3_column_int(st, 1);
	}
	return sq_read_done(s, st, rc == SQLITE_ROW ? SQLITE_DONE : rc,
	    "ended jobs") == -1 ? -1 : n;
}

static int64_t
sq_ended_count(struct store *base)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_ENDED_COUNT);
	int64_t		 n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

static int64_t
sq_owner_items(struct store *base, const char *pool, uid_t owner)
{
	return sq_pool_number(SQ(base), S_OWNER_ITEMS, pool, (int64_t)owner);
}

static int64_t
sq_pool_queued(struct store *base, const char *pool, uid_t owner)
{
	return sq_pool_number(SQ(base), S_POOL_QUEUED, pool,
	    owner == (uid_t)-1 ? -1 : (int64_t)owner);
}

static int
sq_pool_record(struct store *base, const char *name, int size, int paused,
    int added, const char *runtime)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_POOL_RECORD);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, size);
	sqlite3_bind_int(st, 3, paused);
	sqlite3_bind_int(st, 4, added);
	sqlite3_bind_text(st, 5, runtime, -1, SQLITE_STATIC);
	return sq_write(s, st, "record a pool");
}

static int
sq_pool_records(struct store *base, store_pool_fn fn, void *arg)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_POOL_RECORDS);
	int		 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
		    sqlite3_column_int(st, 3), (const char *)
		    sqlite3_column_text(st, 4), arg);
	return sq_read_done(s, st, rc, "pools");
}

static int
sq_set_running(struct store *base, int64_t id, pid_t pid, double t)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_RUNNING);
	if (t > 0)
		sqlite3_bind_double(st, 1, t);
	sqlite3_bind_int64(st, 2, pid);
	sqlite3_bind_int64(st, 3, id);
	return sq_write(s, st, "set running");
}

static int
sq_map_started(struct store *base, int64_t id, double t)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_MAP_STARTED);
	sqlite3_bind_double(st, 1, t);
	sqlite3_bind_int64(st, 2, id);
	return sq_write(s, st, "map started");
}

static int
sq_set_final(struct store *base, int64_t id, int state, const char *result,
    const char *error, double started, double t)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_FINAL);
	sqlite3_bind_int(st, 1, state);
	bind_text(st, 2, result);
	bind_text(st, 3, error);
	sqlite3_bind_double(st, 4, t);
	sqlite3_bind_int64(st, 5, id);
	if (started > 0)
		sqlite3_bind_double(st, 6, started);
	return sq_write(s, st, "set final");
}

static int
sq_requeue(struct store *base, int64_t id, int refund, double not_before)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_REQUEUE);
	sqlite3_bind_int(st, 1, refund ? 1 : 0);
	sqlite3_bind_double(st, 2, not_before);
	sqlite3_bind_int64(st, 3, id);
	return sq_write(s, st, "requeue");
}

static int
sq_attempt(struct store *base, const struct job *j, double finished,
    int state, const char *error)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_ATTEMPT);
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_int(st, 2, j->attempts);
	if (j->started > 0)
		sqlite3_bind_double(st, 3, j->started);
	sqlite3_bind_double(st, 4, finished);
	if (j->pid != 0)
		sqlite3_bind_int64(st, 5, j->pid);
	sqlite3_bind_int(st, 6, state);
	bind_text(st, 7, error);
	return sq_write(s, st, "record an attempt");
}

static int
sq_attempts(struct store *base, int64_t id, store_attempt_fn fn, void *arg)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_ATTEMPTS);
	int		 rc;

	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(sqlite3_column_int(st, 0), sqlite3_column_double(st, 1),
		    sqlite3_column_double(st, 2),
		    (pid_t)sqlite3_column_int64(st, 3),
		    sqlite3_column_int(st, 4),
		    (const char *)sqlite3_column_text(st, 5), arg);
	return sq_read_done(s, st, rc, "attempts");
}

static int
sq_limit_size(struct store *base, int64_t bytes)
{
	struct sq	*s = SQ(base);
	char		*sql;
	int		 rc;
	sqlite3_stmt	*st;
	int64_t		 page = 4096;

	if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			page = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sql = sqlite3_mprintf("PRAGMA max_page_count = %lld", (long long)
	    (bytes / page > 0 ? bytes / page : 1));
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	return rc == SQLITE_OK ? 0 : -1;
}

static int64_t
sq_headroom(struct store *base)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_PAGES);
	struct statvfs	 vfs;
	int64_t		 pages = INT64_MAX, disk = INT64_MAX;

	if (sqlite3_step(st) == SQLITE_ROW)
		pages = sqlite3_column_int64(st, 0) *
		    sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (statvfs(s->dir, &vfs) == 0)
		disk = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	return pages < disk ? pages : disk;
}

static int64_t
sq_queued_items(struct store *base)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_QUEUED_ITEMS);
	int64_t		 n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = (int64_t)sqlite3_column_double(st, 0);
	sqlite3_reset(st);
	return n;
}

static double
sq_next_delayed(struct store *base)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_NEXT_DELAYED);
	double		 t = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_double(st, 0);
	sqlite3_reset(st);
	return t;
}

static int
sq_map_progress(struct store *base, int64_t id, int64_t n)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_PROGRESS);
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_int64(st, 2, id);
	return sq_write(s, st, "map progress");
}

static int
sq_job_progress(struct store *base, int64_t id, int64_t done, int64_t total)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_JOB_PROGRESS);
	sqlite3_bind_int64(st, 1, done);
	sqlite3_bind_int64(st, 2, total);
	sqlite3_bind_int64(st, 3, id);
	return sq_write(s, st, "job progress");
}

static char *
sq_map_result(struct store *base, int64_t id)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_CHUNK_RESULTS);
	const char	*r;
	char		*out;
	size_t		 len = 1, cap = 256, n;
	int		 rc;

	out = xmalloc(cap);
	out[0] = '[';
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = (const char *)sqlite3_column_text(st, 0);
		n = (size_t)sqlite3_column_bytes(st, 0);
		/* Each chunk's result is a JSON array: keep what is inside. */
		if (r == NULL || n < 2 || r[0] != '[' || r[n - 1] != ']') {
			log_warnx("store: map %lld has a chunk without a "
			    "result array", (long long)id);
			goto fail;
		}
		r++;
		n -= 2;
		if (n == 0)
			continue;
		while (len + n + 3 > cap)
			cap *= 2;
		out = xreallocarray(out, cap, 1);
		if (len > 1)
			out[len++] = ',';
		memcpy(out + len, r, n);
		len += n;
	}
	if (rc != SQLITE_DONE) {
		log_warnx("store: map result: %s", sqlite3_errmsg(s->db));
		goto fail;
	}
	sqlite3_reset(st);
	out[len++] = ']';
	out[len] = '\0';
	return out;
fail:
	sqlite3_reset(st);
	free(out);
	return NULL;
}

static int
sq_cancel_chunks(struct store *base, int64_t id, const char *error, double t,
    int max)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_CANCEL_CHUNKS);
	bind_text(st, 1, error);
	sqlite3_bind_double(st, 2, t);
	sqlite3_bind_int64(st, 3, id);
	sqlite3_bind_int(st, 4, max);
	if (sq_write(s, st, "cancel chunks") == -1)
		return -1;
	return sqlite3_changes(s->db);
}

static int
sq_forget(struct store *base, int64_t id, int max)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st;

	if (sq_begin(s) == -1)
		return -1;
	st = sq_stmt(s, S_FORGET_CHUNKS);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, max);
	if (sq_write(s, st, "forget chunks") == -1)
		return -1;
	if (sqlite3_changes(s->db) >= max)
		return 0;
	st = sq_stmt(s, S_FORGET);
	sqlite3_bind_int64(st, 1, id);
	return sq_write(s, st, "forget") == -1 ? -1 : 1;
}

static int
sq_counts(struct store *base, uid_t owner, int64_t *counts)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_COUNTS);
	int		 rc, state;

	sqlite3_bind_int64(st, 1, owner == (uid_t)-1 ? -1 : (int64_t)owner);
	memset(counts, 0, JOB_NSTATES * sizeof *counts);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		state = sqlite3_column_int(st, 0);
		if (state >= 0 && state < JOB_NSTATES)
			counts[state] = sqlite3_column_int64(st, 1);
	}
	return sq_read_done(s, st, rc, "counts");
}

static int
sq_owners(struct store *base, uid_t owner, store_owner_fn fn, void *arg)
{
	struct sq	*s = SQ(base);
	sqlite3_stmt	*st = sq_stmt(s, S_OWNERS);
	int		 rc;

	sqlite3_bind_int64(st, 1, owner == (uid_t)-1 ? -1 : (int64_t)owner);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((uid_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st,
		    1), sqlite3_column_int64(st, 2), arg);
	return sq_read_done(s, st, rc, "owners");
}

static int
sq_list(struct store *base, int state, uid_t owner, int limit,
    store_job_fn fn, void *arg)
{
	struct sq	*s = SQ(base);
	static const char sql[] =
	    "SELECT * FROM (SELECT " JOB_COLUMNS " FROM jobs WHERE kind != 2 "
	    "AND loading = 0 AND (?1 < 0 OR state = ?1) AND (?2 < 0 OR owner = ?2) "
	    "ORDER BY id DESC LIMIT ?3) ORDER BY id";
	sqlite3_stmt	*st;
	struct job	 j;
	int		 rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("store: list: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, owner == (uid_t)-1 ? -1 : (int64_t)owner);
	sqlite3_bind_int(st, 3, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		job_from_row(st, &j);
		fn(&j, arg);
		job_clear(&j);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("store: list: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static const struct store_ops sq_ops = {
	.name = "sqlite",
	.close = sq_close,
	.errmsg = sq_errmsg,
	.recover = sq_recover,
	.insert = sq_insert,
	.get = sq_get,
	.next = sq_next,
	.runnable_in = sq_runnable_in,
	.next_of = sq_next_of,
	.queued_owners = sq_queued_owners,
	.owner_items = sq_owner_items,
	.map_loading = sq_map_loading,
	.ended = sq_ended,
	.ended_count = sq_ended_count,
	.pool_queued = sq_pool_queued,
	.pool_record = sq_pool_record,
	.pool_records = sq_pool_records,
	.set_running = sq_set_running,
	.map_started = sq_map_started,
	.set_final = sq_set_final,
	.requeue = sq_requeue,
	.attempt = sq_attempt,
	.attempts = sq_attempts,
	.limit_size = sq_limit_size,
	.headroom = sq_headroom,
	.queued_items = sq_queued_items,
	.next_delayed = sq_next_delayed,
	.map_progress = sq_map_progress,
	.job_progress = sq_job_progress,
	.map_result = sq_map_result,
	.cancel_chunks = sq_cancel_chunks,
	.forget = sq_forget,
	.counts = sq_counts,
	.owners = sq_owners,
	.list = sq_list,
	.dirty = sq_dirty,
	.commit = sq_commit,
	.rollback = sq_rollback,
};

/*
 * The store's backend table: what a database must do to keep mpd's jobs.
 * Only store.c (which picks a backend by the --db target and forwards each
 * store_* call to it) and the backends include this; the rest of mpd sees
 * store.h. Each backend's handle begins with a struct store, whose ops
 * field names its table. The functions mean what store.h says of the call
 * of the same name; a backend fills every entry.
 */
#ifndef MPD_STORE_BACKEND_H
#define MPD_STORE_BACKEND_H

#include "store.h"

struct store_ops {
	const char	*name;
	void		 (*close)(struct store *);
	const char	*(*errmsg)(struct store *);
	int		 (*recover)(struct store *, int64_t *, int64_t *);
	int64_t		 (*insert)(struct store *, const struct job *);
	int		 (*get)(struct store *, int64_t, struct job *);
	int		 (*next)(struct store *, int64_t *, int);
	int		 (*runnable_in)(struct store *, const char *);
	int		 (*next_of)(struct store *, const char *, uid_t,
			     int64_t *, int *, int);
	int		 (*queued_owners)(struct store *, const char *, uid_t *,
			     int);
	int64_t		 (*owner_items)(struct store *, const char *, uid_t);
	int		 (*map_loading)(struct store *, int64_t, int);
	int		 (*ended)(struct store *, double, int64_t *, int *, int);
	int64_t		 (*ended_count)(struct store *);
	int64_t		 (*pool_queued)(struct store *, const char *, uid_t);
	int		 (*pool_record)(struct store *, const char *, int, int,
			     int, const char *);
	int		 (*pool_records)(struct store *, store_pool_fn, void *);
	int		 (*set_running)(struct store *, int64_t, pid_t, double);
	int		 (*map_started)(struct store *, int64_t, double);
	int		 (*set_final)(struct store *, int64_t, int,
			     const char *, const char *, double, double);
	int		 (*requeue)(struct store *, int64_t, int, double);
	int		 (*attempt)(struct store *, const struct job *, double,
			     int, const char *);
	int		 (*attempts)(struct store *, int64_t, store_attempt_fn,
			     void *);
	int		 (*limit_size)(struct store *, int64_t);
	int64_t		 (*headroom)(struct store *);
	int64_t		 (*queued_items)(struct store *);
	double		 (*next_delayed)(struct store *);
	int		 (*map_progress)(struct store *, int64_t, int64_t);
	int		 (*job_progress)(struct store *, int64_t, int64_t,
			     int64_t);
	char		*(*map_result)(struct store *, int64_t);
	int		 (*cancel_chunks)(struct store *, int64_t, const char *,
			     double, int);
	int		 (*forget)(struct store *, int64_t, int);
	int		 (*counts)(struct store *, uid_t, int64_t *);
	int		 (*owners)(struct store *, uid_t, store_owner_fn,
			     void *);
	int		 (*list)(struct store *, int, uid_t, int, store_job_fn,
			     void *);
	int		 (*dirty)(struct store *);
	void		 (*commit)(struct store *, store_done_fn, void *);
	/* Drops the open transaction's writes (the fault backend's loss). */
	void		 (*rollback)(struct store *);
};

struct store {
	const struct store_ops	*ops;
	struct store		*inner;	/* the store a wrapper wraps, or NULL */
	store_lost_fn		 lost;	/* or NULL */
	void			*lost_arg;
};

/*
 * A backend lost the open transaction (the database rolled it back): tells
 * whoever registered (store_on_lost), then stops mpd. Does not return.
 */
void		 store_lost(struct store *, const char *)
		     __attribute__((__noreturn__));

/* The backends' openers; each returns NULL and sets *cause on error. */
struct store	*store_sqlite_open(const char *, int, char **);
/*
 * Wraps a store in one that fails writes and commits on request (spec:
 * store.h, MPD_STORE_FAULTS); the wrapper owns inner from then on, and
 * closes it even when it fails.
 */
struct store	*store_fault_open(struct store *, const char *,
		     struct event_base *, char **);

#endif

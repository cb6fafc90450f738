/*
 * mpd: a job-queue daemon with a pre-forked worker pool, Python's
 * multiprocessing.Pool as a persistent service.
 */
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "request.h"
#include "store.h"
#include "tasks/task.h"
#include "util.h"
#include "xmalloc.h"

static struct config	 cfg;
static struct event_base	*ev_base;
static struct store		*store;

static struct event	*grace_ev;
static struct event	*status_ev;	/* STATUS= once a second */
static int		 lock_fd = -1;
static int		 db_dirfd = -1, sock_dirfd = -1;
static char		*db_dir, *db_base, *sock_dir, *sock_base;
static char		*db_real;	/* db_path's file without symlinks */

/* Takes the database's lock file so two daemons never share it. */
static void
lock_db(int dirfd, const char *base)
{
	char	*name, *cause, pid[32];
	int	 n;

	name = xasprintf("%s.lock", base);
	if ((lock_fd = paths_open(dirfd, name, O_RDWR | O_CREAT, &cause)) ==
	    -1)
		fatalx("the lock file of %s: %s", cfg.db_path, cause);
	if (flock(lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			fatal("flock %s", name);
		n = (int)read(lock_fd, pid, sizeof pid - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fatalx("database %s is in use by another mpd (pid %s)",
		    cfg.db_path, pid[0] != '\0' ? pid : "unknown");
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(lock_fd, 0) == -1 || pwrite(lock_fd, pid, (size_t)n, 0)
	    != n)
		log_warn("writing %s", name);
	free(name);
}

/*
 * Makes the database's files private before SQLite sees them: the file is
 * created 0600 here (SQLite gives its -wal and -shm the database's mode),
 * no symlink is followed, and files that others can read are named.
 */
static void
prepare_db(int dirfd, const char *dir, const char *base)
{
	static const char	*companions[] = { "", "-wal", "-shm", ".lock" };
	char			*name, *cause;
	size_t			 i;
	int			 fd;

	if ((fd = paths_open(dirfd, base, O_RDWR | O_CREAT, &cause)) == -1)
		fatalx("the database %s: %s", cfg.db_path, cause);
	close(fd);
	for (i = 0; i < sizeof companions / sizeof companions[0]; i++) {
		name = xasprintf("%s%s", base, companions[i]);
		paths_warn_private(dirfd, dir, name);
		free(name);
	}
}

/*
 * Checks and holds the socket's and the database's directories, making
 * them 0700 when missing. Exits when another user could change either.
 */
static void
open_dirs(void)
{
	char		*cause, *real;
	const char	*file;
	enum store_kind	 kind;

	/* config_parse made sure the target names a SQLite file. */
	if (store_target(cfg.db_path, &kind, &file, &cause) == -1)
		fatalx("%s", cause);
	paths_split(cfg.socket_path, &sock_dir, &sock_base);
	paths_split(file, &db_dir, &db_base);
	if (*sock_base == '\0' || *db_base == '\0')
		fatalx("the socket and the database must be files, not "
		    "directories: %s, %s", cfg.socket_path, cfg.db_path);
	if ((sock_dirfd = paths_dir(sock_dir, NULL, &cause)) == -1 ||
	    (db_dirfd = paths_dir(db_dir, &real, &cause)) == -1)
		fatalx("%s", cause);
	/* SQLite opens the path checked, with no symlink left in it. */
	db_real = xasprintf("sqlite:%s/%s", strcmp(real, "/") == 0 ? "" : real,
	    db_base);
	free(real);
}

/*
 * A pool as mpctl pool left it, recorded in the store, wins over the
 * settings, and the log says so: its size and pause, a pool added, one
 * removed (size 0; never the default pool).
 */
static void
pool_recorded(const char *name, int size, int paused, int added,
    const char *runtime, void *arg)
{
	struct config	*c = arg;
	char		 kept[RUNTIME_MAX], *why;
	int		 i;

	/* A runtime recorded before is checked again, as at first. */
	if (added && size > 0 && runtime_parse(runtime, kept, sizeof kept,
	    &why) == -1) {
		log_warnx("pool %s: not started: %s", name, why);
		free(why);
		return;
	}
	for (i = 0; i < c->npools && strcmp(c->pools[i].name, name) != 0;
	    i++)
		;
	/* Changes to a pool of the settings that the settings dropped. */
	if (i == c->npools && !added && size > 0) {
		log_info("pool %s: not started: the settings no longer have "
		    "it (mpctl pool changed it before)", name);
		return;
	}
	if (size == 0) {
		if (i > 0 && i < c->npools) {
			memmove(&c->pools[i], &c->pools[i + 1],
			    (size_t)(c->npools - i - 1) * sizeof c->pools[0]);
			c->npools--;
			log_info("pool %s: not started, as mpctl pool remove "
			    "left it", name);
		}
		return;
	}
	if (i == c->npools) {
		if (i == POOLS_MAX) {
			log_warnx("pool %s: not started: at most %d pools",
			    name, POOLS_MAX);
			return;
		}
		c->npools++;
		snprintf(c->pools[i].name, sizeof c->pools[i].name, "%s", name);
		log_info("pool %s: %d worker(s), as mpctl pool add left it",
		    name, size);
	} else if (c->pools[i].size != size)
		log_info("pool %s: %d worker(s), as mpctl pool resize left it "
		    "(the settings say %d)", name, size, c->pools[i].size);
	c->pools[i].size = size;
	c->pools[i].paused = paused;
	/* A pool added live keeps the runtime it was added with. */
	if (added)
		snprintf(c->pools[i].runtime, sizeof c->pools[i].runtime, "%s",
		    runtime);
	c->pools[i].added = added;
	if (paused)
		log_info("pool %s: paused, as mpctl pool pause left it", name);
	if (i == 0)
		c->workers = size;
}

/*
 * STATUS= for the service manager, once a second: each pool's busy and
 * total workers, and the jobs running (sent only when it changed).
 */
static void
status_cb(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	 second = { 1, 0 };
	char		 buf[200];
	size_t		 at = 0;
	int		 k, n;

	(void)fd;
	(void)events;
	(void)arg;
	for (k = 0; k < pool_count() && at < sizeof buf; k++) {
		n = snprintf(buf + at, sizeof buf - at, "%s%s %d/%d busy",
		    k > 0 ? ", " : "", pool_name(k), sched_nbusy(k),
		    pool_size(k));
		if (n < 0)
			break;
		at += (size_t)n;
	}
	notify_status("%s; %d running%s", buf, sched_nbusy(-1),
	    stopping() != STOP_NONE ? "; stopping" : "");
	evtimer_add(status_ev, &second);
}

/* The grace period of a graceful stop ran out. */
static void
grace_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (sched_nbusy(-1) > 0)
		log_info("grace period over; stopping %d running job(s) and "
		    "requeueing them", sched_nbusy(-1));
	mpd_stop(STOP_NOW);
}

void
mpd_stop(enum stop_mode mode)
{
	struct timeval	tv;

	if (mode <= stopping())
		return;
	if (stopping() == STOP_NONE) {
		log_info("stopping (%s)", mode == STOP_NOW ? "now" :
		    mode == STOP_DRAIN ? "drain" : "graceful");
		notify_stopping();
		server_close_listener();
		admit_refuse_all();
		mapload_finish_all();
	}
	stopping_set(mode);
	if (mode == STOP_GRACEFUL) {
		tv = tv_from(cfg.grace);
		evtimer_add(grace_ev, &tv);
	}
	if (mode == STOP_NOW)
		pool_stop(1);
	tick_kick();
}

void
mpd_check_stopped(void)
{

	if (stopping() == STOP_NONE)
		return;
	if (stopping() == STOP_DRAIN) {
		if (sched_nbusy(-1) > 0 || sched_runnable() != 0)
			return;
	}
	pool_stop(stopping() == STOP_NOW);
	/* Leftovers of killed jobs are reaped before mpd goes. */
	if (pool_alive() == 0 && pool_sweep() == 0)
		event_base_loopexit(ev_base, NULL);
}

/* Every signal the daemon handles comes here, through libevent. */
static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	(void)arg;
	switch (sig) {
	case SIGCHLD:
		pool_reap();
		break;
	case SIGTERM:
	case SIGINT:
		mpd_stop(stopping() < STOP_GRACEFUL ? STOP_GRACEFUL : STOP_NOW);
		break;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload");
		break;
	}
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct event	*sigev[sizeof sigs / sizeof sigs[0]];
	size_t		 i;
	long		 n;
	int64_t		 requeued = 0, failed = 0;
	char		*cause;
	int		 fd;

	proctitle_init(argc, argv);
	config_parse(&cfg, argc, argv);
	/*
	 * A socket systemd passed (socket activation) is taken first, and
	 * closed on exec at once: no worker's command may inherit it.
	 */
	if ((fd = notify_listen_fd(&cause)) == -2) {
		fprintf(stderr, "mpd: %s\n", cause);
		return 1;
	}
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		fprintf(stderr, "mpd: the socket systemd passed: %s\n",
		    strerror(errno));
		return 1;
	}

	log_init("mpd[parent]", (enum log_level)cfg.log_level);
	task_register_builtins();
	plugins_load(cfg.plugins, cfg.nplugins);
	task_enable_tests(cfg.test_tasks);
	request_set_max_depth(cfg.max_depth);

	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	/*
	 * Whatever umask mpd was started with, what it creates is its own:
	 * files 0600, directories 0700. Commands get the umask back.
	 */
	cfg.job_umask = umask(077);
	open_dirs();
	lock_db(db_dirfd, db_base);
	prepare_db(db_dirfd, db_dir, db_base);
	if (logs_init(cfg.log_dir, &cause) == -1)
		fatalx("%s", cause);

	if ((ev_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	disk_init(ev_base, db_dirfd, db_dir, db_base, cfg.store_reserve);
	if ((store = store_open(db_real, cfg.sync_full,
	    env_get("MPD_STORE_FAULTS"), ev_base, &cause)) == NULL)
		fatalx("cannot open the database: %s", cause);
	if (cfg.max_db_size > 0 && store_limit_size(store, cfg.max_db_size) ==
	    -1)
		fatalx("cannot cap the database's size: %s",
		    store_errmsg(store));
	if (store_recover(store, &requeued, &failed) == -1)
		fatalx("recovery failed: %s", store_errmsg(store));
	if (requeued > 0 || failed > 0)
		log_info("recovered: %lld interrupted job(s) requeued, %lld "
		    "failed", (long long)requeued, (long long)failed);
	disk_ready();
	if (store_pool_records(store, pool_recorded, &cfg) == -1)
		fatalx("cannot read the recorded pools: %s",
		    store_errmsg(store));
	for (i = 0, n = 0; i < (size_t)cfg.npools; i++)
		n += cfg.pools[i].size;
	if (n > POOL_WORKERS_MAX)
		fatalx("the pools, with what mpctl pool recorded, have %ld "
		    "workers; at most %d", n, POOL_WORKERS_MAX);

	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigev[i] = evsignal_new(ev_base, sigs[i], signal_cb, NULL);
		if (sigev[i] == NULL || evsignal_add(sigev[i], NULL) == -1)
			fatalx("cannot watch signal %d", sigs[i]);
	}
	if ((grace_ev = evtimer_new(ev_base, grace_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	ops_init(store, &cfg, time_mono(), mpd_stop);
	loop_init(ev_base, store, &cfg);
	if (pool_start(ev_base, &cfg, &sched_pool_hooks) == -1)
		fatalx("cannot start the workers");
	/* Socket activation: systemd's socket, else one of mpd's own. */
	if (fd >= 0 ? server_adopt(ev_base, &cfg, fd, &cause) == -1 :
	    server_listen(ev_base, &cfg, sock_dirfd, sock_base,
	    cfg.socket_path, &cause) == -1)
		fatalx("%s", cause);
	if (fd >= 0)
		log_info("listening on the socket systemd passed");
	log_info("mpd %s ready: %d workers in %d pool%s, socket %s, database "
	    "%s", MPD_VERSION, nworkers, pool_count(), pool_count() > 1 ? "s" :
	    "", cfg.socket_path, cfg.db_path);
	notify_ready();
	notify_init(ev_base);
	if ((status_ev = evtimer_new(ev_base, status_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	status_cb(-1, 0, NULL);

	if (event_base_dispatch(ev_base) == -1)
		fatalx("event loop failed");

	loop_finish();
	server_close_listener();
	clients_free_all();
	waiter_free_all();
	loop_free();
	store_close(store);
	pool_free();
	disk_free_all();
	event_free(grace_ev);
	event_free(status_ev);
	notify_free();
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		event_free(sigev[i]);
	/* Stopped already: a late SIGTERM must not make the exit a death. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	event_base_free(ev_base);
	libevent_global_shutdown();
	close(lock_fd);
	close(db_dirfd);
	close(sock_dirfd);
	logs_close();
	log_info("stopped");
	free(db_dir);
	free(db_base);
	free(sock_dir);
	free(sock_base);
	free(db_real);
	task_clear();
	plugins_close();
	free(cfg.socket_path);
	free(cfg.db_path);
	free(cfg.log_dir);
	for (i = 0; i < (size_t)cfg.nplugins; i++)
		free(cfg.plugins[i]);
	return 0;
}

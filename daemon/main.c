/*
 * mpd: a job-queue daemon with a pre-forked worker pool, Python's
 * multiprocessing.Pool as a persistent service.
 */
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "store.h"
#include "tasks/task.h"
#include "util.h"
#include "xmalloc.h"

struct config		 cfg;
struct event_base	*ev_base;
struct store		*store;
double			 start_time;
enum stop_mode		 stop_mode = STOP_NONE;

static struct event	*grace_ev;
static int		 lock_fd = -1;

static void
usage(FILE *f)
{
	fprintf(f,
"usage: mpd [options]\n"
"\n"
"Run the mpd job-queue daemon in the foreground: a fixed pool of forked\n"
"workers serving JSON requests on a Unix socket, every job kept in SQLite.\n"
"\n"
"options:\n"
"  -s, --socket PATH     listen here (default: $MPD_SOCKET, else\n"
"                        $XDG_RUNTIME_DIR/mpd/mpd.sock, else /run/mpd/mpd.sock\n"
"                        as root)\n"
"  -d, --db PATH         the job database (default: $XDG_STATE_HOME/mpd/mpd.db,\n"
"                        else ~/.local/state/mpd/mpd.db, else /var/lib/mpd/mpd.db\n"
"                        as root)\n"
"  -w, --workers N       worker processes (default: online CPUs)\n"
"  -g, --grace SEC       on SIGTERM, how long running jobs may finish before\n"
"                        they are stopped and requeued (default: 10)\n"
"      --max-line BYTES  longest request line accepted (default: %d)\n"
"      --max-items N     most items in one map (default: %d)\n"
"      --socket-mode M   the socket's permissions, octal (default: 0600;\n"
"                        0660 lets the socket's group in)\n"
"      --sync MODE       normal (survives an mpd crash; default) or full\n"
"                        (survives power loss)\n"
"      --test-tasks      enable test-only tasks (crash)\n"
"  -l, --log-level LVL   error, warn, info (default) or debug\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"Signals: SIGTERM or SIGINT stop gracefully (a second one stops at once).\n"
"Exit status: 0 after a clean stop, 1 on a start-up or fatal error, 2 on\n"
"a usage error.\n", PROTO_MAX_LINE, PROTO_MAX_ITEMS);
}

/* Parses a positive integer option or exits with a usage error. */
static long long
parse_count(const char *opt, const char *s, long long max)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "mpd: %s takes a whole number from 1 to %lld, "
		    "not \"%s\"\n", opt, max, s);
		exit(2);
	}
	return v;
}

/* Parses seconds (>= 0) or exits with a usage error. */
static double
parse_seconds(const char *opt, const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *s == '\0' || *end != '\0' || !(v >= 0) || v > 1e6) {
		fprintf(stderr, "mpd: %s takes a number of seconds, not "
		    "\"%s\"\n", opt, s);
		exit(2);
	}
	return v;
}

/* Takes the database's lock file so two daemons never share it. */
static void
lock_db(const char *db)
{
	char	*path, pid[32];
	int	 n;

	path = xasprintf("%s.lock", db);
	if ((lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("open %s", path);
	if (flock(lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			fatal("flock %s", path);
		n = (int)read(lock_fd, pid, sizeof pid - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fatalx("database %s is in use by another mpd (pid %s)", db,
		    pid[0] != '\0' ? pid : "unknown");
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(lock_fd, 0) == -1 || pwrite(lock_fd, pid, (size_t)n, 0)
	    != n)
		log_warn("writing %s", path);
	free(path);
}

/* The grace period of a graceful stop ran out. */
static void
grace_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (pool_nbusy() > 0)
		log_info("grace period over; stopping %d running job(s) and "
		    "requeueing them", pool_nbusy());
	mpd_stop(STOP_NOW);
}

void
mpd_stop(enum stop_mode mode)
{
	struct timeval	tv;

	if (mode <= stop_mode)
		return;
	if (stop_mode == STOP_NONE) {
		log_info("stopping (%s)", mode == STOP_NOW ? "now" :
		    mode == STOP_DRAIN ? "drain" : "graceful");
		notify_stopping();
		server_close_listener();
	}
	stop_mode = mode;
	if (mode == STOP_GRACEFUL) {
		tv.tv_sec = (time_t)cfg.grace;
		tv.tv_usec = (suseconds_t)((cfg.grace - (double)tv.tv_sec) *
		    1e6);
		evtimer_add(grace_ev, &tv);
	}
	if (mode == STOP_NOW)
		pool_stop(1);
	sched_kick();
}

void
mpd_check_stopped(void)
{
	int64_t	next;

	if (stop_mode == STOP_NONE)
		return;
	if (stop_mode == STOP_DRAIN) {
		if (pool_nbusy() > 0 || store_next(store, &next, 1) != 0)
			return;
	}
	pool_stop(stop_mode == STOP_NOW);
	if (pool_alive() == 0)
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
		mpd_stop(stop_mode < STOP_GRACEFUL ? STOP_GRACEFUL : STOP_NOW);
		break;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload");
		break;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "workers", required_argument, NULL, 'w' },
		{ "grace", required_argument, NULL, 'g' },
		{ "max-line", required_argument, NULL, 'L' },
		{ "max-items", required_argument, NULL, 'I' },
		{ "sync", required_argument, NULL, 'S' },
		{ "socket-mode", required_argument, NULL, 'M' },
		{ "test-tasks", no_argument, NULL, 'T' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct event	*sigev[sizeof sigs / sizeof sigs[0]];
	int		 ch, level = LOG_LEVEL_INFO;
	size_t		 i;
	long		 ncpu;
	int64_t		 requeued = 0, failed = 0;
	char		*cause, *end;
	long		 mode;

	proctitle_init(argc, argv);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cfg.workers = ncpu > 0 ? (int)ncpu : 1;
	cfg.grace = 10;
	cfg.socket_mode = 0600;
	cfg.max_line = PROTO_MAX_LINE;
	cfg.max_items = PROTO_MAX_ITEMS;

	while ((ch = getopt_long(argc, argv, "s:d:w:g:l:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			free(cfg.socket_path);
			cfg.socket_path = xstrdup(optarg);
			break;
		case 'd':
			free(cfg.db_path);
			cfg.db_path = xstrdup(optarg);
			break;
		case 'w':
			cfg.workers = (int)parse_count("--workers", optarg,
			    1024);
			break;
		case 'g':
			cfg.grace = parse_seconds("--grace", optarg);
			break;
		case 'L':
			cfg.max_line = (size_t)parse_count("--max-line",
			    optarg, 1LL << 30);
			break;
		case 'I':
			cfg.max_items = parse_count("--max-items", optarg,
			    1LL << 40);
			break;
		case 'S':
			if (strcmp(optarg, "full") != 0 &&
			    strcmp(optarg, "normal") != 0) {
				fprintf(stderr, "mpd: --sync takes normal or "
				    "full, not \"%s\"\n", optarg);
				exit(2);
			}
			cfg.sync_full = strcmp(optarg, "full") == 0;
			break;
		case 'M':
			mode = strtol(optarg, &end, 8);
			if (*optarg == '\0' || *end != '\0' || mode < 0 ||
			    mode > 0777) {
				fprintf(stderr, "mpd: --socket-mode takes "
				    "octal permissions such as 0660, not "
				    "\"%s\"\n", optarg);
				exit(2);
			}
			cfg.socket_mode = (mode_t)mode;
			break;
		case 'T':
			cfg.test_tasks = 1;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) == -1) {
				fprintf(stderr, "mpd: --log-level takes error, "
				    "warn, info or debug, not \"%s\"\n",
				    optarg);
				exit(2);
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("mpd %s (protocol %d, SQLite %s, libevent %s, "
			    "jansson %s)\n", MPD_VERSION, PROTO_VERSION,
			    sqlite3_libversion(), event_get_version(),
			    JANSSON_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mpd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		exit(2);
	}
	log_init("mpd[parent]", (enum log_level)level);
	if (cfg.socket_path == NULL)
		cfg.socket_path = path_default_socket();
	if (cfg.db_path == NULL)
		cfg.db_path = path_default_db();
	task_enable_tests(cfg.test_tasks);

	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	if (mkdir_parents(cfg.socket_path, 0700) == -1)
		fatal("creating the directory of %s", cfg.socket_path);
	if (mkdir_parents(cfg.db_path, 0700) == -1)
		fatal("creating the directory of %s", cfg.db_path);
	lock_db(cfg.db_path);

	if ((store = store_open(cfg.db_path, cfg.sync_full, &cause)) == NULL)
		fatalx("cannot open the database: %s", cause);
	if (store_recover(store, &requeued, &failed) == -1)
		fatalx("recovery failed: %s", store_errmsg(store));
	if (requeued > 0 || failed > 0)
		log_info("recovered: %lld interrupted job(s) requeued, %lld "
		    "failed", (long long)requeued, (long long)failed);

	if ((ev_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigev[i] = evsignal_new(ev_base, sigs[i], signal_cb, NULL);
		if (sigev[i] == NULL || evsignal_add(sigev[i], NULL) == -1)
			fatalx("cannot watch signal %d", sigs[i]);
	}
	if ((grace_ev = evtimer_new(ev_base, grace_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	start_time = time_mono();
	sched_init();
	if (pool_start(cfg.workers) == -1)
		fatalx("cannot start the workers");
	if (server_listen(cfg.socket_path, &cause) == -1)
		fatalx("%s", cause);
	log_info("mpd %s ready: %d workers, socket %s, database %s",
	    MPD_VERSION, cfg.workers, cfg.socket_path, cfg.db_path);
	notify_ready();
	notify_status("%d workers on %s", cfg.workers, cfg.socket_path);

	if (event_base_dispatch(ev_base) == -1)
		fatalx("event loop failed");

	if (store_commit(store) == -1)
		fatalx("store: final commit: %s", store_errmsg(store));
	server_free_all();
	store_close(store);
	pool_free();
	sched_free();
	event_free(grace_ev);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		event_free(sigev[i]);
	event_base_free(ev_base);
	libevent_global_shutdown();
	close(lock_fd);
	log_info("stopped");
	free(cfg.socket_path);
	free(cfg.db_path);
	return 0;
}

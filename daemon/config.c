/*
 * Settings: defaults, then the configuration file, then the command line.
 * The file uses the long option names: "workers = 4", "# comment". One
 * table of settings (name, field, how it is read) drives getopt, the file
 * and their checks, so the two can never disagree.
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdarg.h>
#include <pwd.h>
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
#include "util.h"
#include "xmalloc.h"

/* The settings being filled (config_parse's). */
static struct config	*conf;

/* How a setting's text becomes its field in struct config. */
enum kind {
	SET_PATH,	/* char *, newly allocated */
	SET_INT,	/* int, a whole number from 1 to max */
	SET_COUNT,	/* int64_t, the same */
	SET_SIZE,	/* size_t, the same */
	SET_SECONDS,	/* double, 0 to 1e6 */
	SET_DURATION,	/* double seconds, with s, m, h or d; 0 to 100 years */
	SET_BYTES,	/* int64_t, with K, M or G */
	SET_BYTES_SIZE,	/* size_t, the same */
	SET_MODE,	/* mode_t, octal */
	SET_SYNC,	/* int: normal 0, full 1 */
	SET_YES,	/* int: yes or no; on the command line, no argument */
	SET_LEVEL,	/* int: a log level */
	SET_RLIMIT,	/* struct rlimit: SOFT[:HARD] */
	SET_POOL,	/* a pool: NAME=SIZE[:RUNTIME]; repeatable */
	SET_PLUGIN,	/* a task plugin's path; repeatable */
	SET_PYPOOL,	/* int: auto -1, no 0, else a size */
};

#define ZERO_OK	0x1	/* "0" is allowed, and means none */
#define MIB	0x2	/* the number is in mebibytes */

/* One setting: its long name, its getopt code, where and how it goes. */
struct setting {
	const char	*name;
	int		 ch;
	enum kind	 kind;
	size_t		 off;
	long long	 max;
	int		 flags;
};

#define AT(field)	offsetof(struct config, field)

/* Every setting, for the command line and the file alike. */
static const struct setting settings[] = {
	{ "socket", 's', SET_PATH, AT(socket_path), 0, 0 },
	{ "db", 'd', SET_PATH, AT(db_path), 0, 0 },
	{ "workers", 'w', SET_INT, AT(workers), 1024, 0 },
	{ "pool", 'W', SET_POOL, AT(pools), 1024, 0 },
	{ "plugin", 'x', SET_PLUGIN, AT(plugins), 0, 0 },
	{ "python-pool", 'y', SET_PYPOOL, AT(python_pool), 1024, 0 },
	{ "grace", 'g', SET_SECONDS, AT(grace), 0, 0 },
	{ "max-line", 'L', SET_SIZE, AT(max_line), 1LL << 30, 0 },
	{ "max-items", 'I', SET_COUNT, AT(max_items), 1LL << 40, 0 },
	{ "sync", 'S', SET_SYNC, AT(sync_full), 0, 0 },
	{ "socket-mode", 'M', SET_MODE, AT(socket_mode), 0, 0 },
	{ "job-timeout", 'J', SET_SECONDS, AT(job_timeout), 0, 0 },
	{ "user-job-timeout", 'j', SET_SECONDS, AT(user_job_timeout), 0, 0 },
	{ "max-running-per-user", 'F', SET_COUNT, AT(max_running_user),
	    1000000, ZERO_OK },
	{ "max-queued-per-user", 'k', SET_COUNT, AT(max_queued_user),
	    1LL << 40, ZERO_OK },
	{ "user-priority-max", 'E', SET_COUNT, AT(user_priority_max),
	    1LL << 30, ZERO_OK },
	{ "kill-grace", 'K', SET_SECONDS, AT(kill_grace), 0, 0 },
	{ "output-cap", 'O', SET_BYTES_SIZE, AT(output_cap), 0, 0 },
	{ "log-dir", 'D', SET_PATH, AT(log_dir), 0, 0 },
	{ "log-cap", 'H', SET_BYTES, AT(log_cap), 0, ZERO_OK },
	{ "keep-ended", 'e', SET_DURATION, AT(keep_ended), 0, 0 },
	{ "keep-max", 'm', SET_COUNT, AT(keep_max), 1LL << 40, ZERO_OK },
	{ "limit-as", 'A', SET_BYTES, AT(limit_as), 0, 0 },
	{ "limit-cpu", 'C', SET_COUNT, AT(limit_cpu), 1LL << 40, 0 },
	{ "limit-nofile", 'N', SET_COUNT, AT(limit_nofile), 1LL << 30, 0 },
	{ "user-nofile", 'n', SET_RLIMIT, AT(user_limit[0]), 0, 0 },
	{ "user-nproc", 'p', SET_RLIMIT, AT(user_limit[1]), 0, 0 },
	{ "user-core", 'o', SET_RLIMIT, AT(user_limit[2]), 0, 0 },
	{ "max-depth", 'P', SET_INT, AT(max_depth), 1000, 0 },
	{ "max-queue", 'q', SET_COUNT, AT(max_queue), 1LL << 40, ZERO_OK },
	{ "store-reserve", 'r', SET_BYTES, AT(store_reserve), 0, ZERO_OK },
	{ "max-db-size", 'z', SET_BYTES, AT(max_db_size), 0, 0 },
	{ "max-result", 'Z', SET_BYTES_SIZE, AT(max_result), 0, 0 },
	{ "max-clients", 'Q', SET_INT, AT(max_clients), 1000000, 0 },
	{ "client-timeout", 'R', SET_SECONDS, AT(client_timeout), 0, 0 },
	{ "client-budget", 'B', SET_BYTES_SIZE, AT(client_budget), 0, 0 },
	{ "max-clients-per-user", 'u', SET_COUNT, AT(max_clients_user), 1000000,
	    ZERO_OK },
	{ "idle-timeout", 'i', SET_SECONDS, AT(idle_timeout), 0, 0 },
	{ "client-drain-timeout", 'G', SET_SECONDS, AT(client_drain_timeout),
	    0, 0 },
	{ "max-tasks-per-worker", 'U', SET_COUNT, AT(max_tasks), 1LL << 40,
	    ZERO_OK },
	{ "max-worker-rss", 'X', SET_COUNT, AT(max_worker_rss), 1LL << 30,
	    ZERO_OK | MIB },
	{ "serve-others", 'v', SET_YES, AT(serve_others), 0, 0 },
	{ "test-tasks", 'T', SET_YES, AT(test_tasks), 0, 0 },
	{ "log-level", 'l', SET_LEVEL, AT(log_level), 0, 0 },
};
#define NSETTINGS	(sizeof settings / sizeof settings[0])

/*
 * getopt's table: the settings, then --config, --help, --version and
 * --check-config.
 */
static struct option	longopts[NSETTINGS + 5];
static int		check_only;	/* --check-config */

static const char shortopts[] = "c:s:d:w:g:l:hV";

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
"  -c, --config PATH     read settings from PATH first (default:\n"
"                        $XDG_CONFIG_HOME/mpd/mpd.conf, else\n"
"                        ~/.config/mpd/mpd.conf, else /etc/mpd/mpd.conf as\n"
"                        root; a missing default file is fine)\n"
"  -s, --socket PATH     listen here (default: $MPD_SOCKET, else\n"
"                        $XDG_RUNTIME_DIR/mpd/mpd.sock, else /run/mpd/mpd.sock\n"
"                        as root)\n"
"  -d, --db PATH         the job database, a file or sqlite:PATH (default:\n"
"                        $XDG_STATE_HOME/mpd/mpd.db, else\n"
"                        ~/.local/state/mpd/mpd.db, else /var/lib/mpd/mpd.db\n"
"                        as root)\n"
"  -w, --workers N       the default pool's workers (default: online CPUs)\n"
"      --plugin PATH     load the task plugin PATH (<mpd/task.h>) before the\n"
"                        workers start; repeatable\n"
"      --pool NAME=SIZE[:RUNTIME]\n"
"                        one more pool of SIZE workers, which jobs name in\n"
"                        \"pool\" (mpctl -P); repeatable. default=SIZE sets\n"
"                        the default pool's size. RUNTIME is builtin (mpd's\n"
"                        tasks and plugins), python (python3 -m mpd.worker,\n"
"                        for functions) or a program's absolute path\n"
"      --python-pool N|auto|no\n"
"                        the pool \"py\" of N python workers, started on\n"
"                        demand (default: auto, as many as --workers when\n"
"                        python3 is on PATH and no pool is named py)\n"
"  -g, --grace SEC       on SIGTERM, how long running jobs may finish before\n"
"                        they are stopped and requeued (default: 10)\n"
"      --max-line BYTES  longest request line accepted (default: %d)\n"
"      --max-items N     most items in one map (default: %d)\n"
"      --max-queue N     most items queued at once (a map counts each item);\n"
"                        a submit or map that does not fit waits for room, or\n"
"                        is refused with queue_full (default: 0, no cap)\n"
"      --store-reserve BYTES  refuse new jobs with store_full when less than\n"
"                        this is left for the database (disk or --max-db-size);\n"
"                        it is kept for running jobs' results (default: 4M;\n"
"                        0: never refuse)\n"
"      --max-db-size BYTES  cap the database file's size (default: none)\n"
"      --max-result BYTES  a job whose result's JSON is longer fails with\n"
"                        result_too_large (default: 64M)\n"
"      --max-depth N     deepest nesting of arrays and objects in a request\n"
"                        (default: %d)\n"
"      --max-clients N   clients connected at once; one more is told so and\n"
"                        closed (default: %d)\n"
"      --client-timeout SEC  how long a client may stall in the middle of a\n"
"                        line before it is closed (default: %d; 0: for ever)\n"
"      --max-clients-per-user N  connections one user other than root and\n"
"                        mpd's own may have (default: a quarter of\n"
"                        --max-clients; 0: no cap)\n"
"      --idle-timeout SEC  close a client with no request and nothing\n"
"                        pending for SEC seconds (default: 3600; 0: never)\n"
"      --client-budget BYTES  a client's pending work (replies, waits,\n"
"                        submits waiting for room) past which mpd stops\n"
"                        reading it (default: 16M)\n"
"      --client-drain-timeout SEC  a client past its budget whose replies\n"
"                        stay unread this long is dropped (default: 60;\n"
"                        0: never)\n"
"      --max-tasks-per-worker N  replace a worker after N jobs, as Pool's\n"
"                        maxtasksperchild (default: 0, never)\n"
"      --max-worker-rss MB  replace a worker whose resident memory is over\n"
"                        MB mebibytes after a job (default: 0, never)\n"
"      --socket-mode M   the socket's permissions, octal (default: 0600;\n"
"                        0660 lets the socket's group in)\n"
"      --sync MODE       normal (survives an mpd crash; default) or full\n"
"                        (survives power loss)\n"
"      --job-timeout SEC default time limit of a job, counted from its\n"
"                        start (default: 0, none); submit's timeout wins\n"
"      --user-job-timeout SEC  the longest time limit of a job of a user\n"
"                        other than root and mpd's own, and theirs when\n"
"                        they give none (default: 0, none)\n"
"      --max-running-per-user N  jobs of one user other than root and\n"
"                        mpd's own that run at once; others pass them by\n"
"                        (default: 0, no cap)\n"
"      --max-queued-per-user N  items one user other than root and mpd's\n"
"                        own may have queued (a map counts each item); past\n"
"                        it a submit or map is refused with queue_full\n"
"                        (default: 0, no cap)\n"
"      --user-priority-max N  users other than root and mpd's own give\n"
"                        priorities from -N to N only (default: 100)\n"
"      --kill-grace SEC  from SIGTERM to SIGKILL when a command is killed\n"
"                        for its time limit or a cancel (default: 5)\n"
"      --output-cap BYTES  bytes of each of a command's stdout and stderr\n"
"                        kept in its result (default: 64K); the output is\n"
"                        in the log directory\n"
"      --log-dir DIR     where commands' output is kept, one file a stream\n"
"                        (default: logs/ beside the database)\n"
"      --log-cap BYTES   most bytes of each stream a job's log keeps: its\n"
"                        first and last halves, and a line saying how much\n"
"                        was left out between (default: 16M; 0: all)\n"
"      --keep-ended DURATION  forget ended jobs and maps, with their logs,\n"
"                        this long after they ended (90s, 30m, 12h, 7d;\n"
"                        default: 7d; 0: keep them)\n"
"      --keep-max N      keep at most N ended jobs and maps, forgetting the\n"
"                        oldest first (default: 0, no cap)\n"
"      --limit-as BYTES  default address-space limit of commands (K, M, G\n"
"                        suffixes; default: none)\n"
"      --limit-cpu SEC   default CPU-time limit of commands (default: none)\n"
"      --limit-nofile N  default open-files limit of commands (default:\n"
"                        none)\n"
"      --user-nofile SOFT[:HARD]  open files of commands of users other\n"
"                        than root, when mpd runs as root (default: a\n"
"                        login's, 1024:524288)\n"
"      --user-nproc SOFT[:HARD]  their processes (default: a login's, the\n"
"                        kernel's threads-max/2)\n"
"      --user-core SOFT[:HARD]  their core file size in bytes (default: a\n"
"                        login's, 0:unlimited)\n"
"      --serve-others    when not root, serve other users too: their jobs\n"
"                        run as mpd's user, so each can reach the others'\n"
"                        jobs; only for users who trust each other\n"
"                        (default: only mpd's own user and root)\n"
"      --test-tasks      enable test-only tasks (crash)\n"
"  -l, --log-level LVL   error, warn, info (default) or debug\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"      --check-config    check the configuration file and options, print\n"
"                        every setting in effect as the file would say it,\n"
"                        and exit (0, or 2 naming what is wrong)\n"
"\n"
"The configuration file holds \"name = value\" lines with the long option\n"
"names (\"workers = 4\", \"test-tasks = yes\"); options given here win.\n"
"Signals: SIGTERM or SIGINT stop gracefully (a second one stops at once).\n"
"Exit status: 0 after a clean stop, 1 on a start-up or fatal error, 2 on\n"
"a usage error.\n", PROTO_MAX_LINE, PROTO_MAX_ITEMS, PROTO_MAX_DEPTH,
	    PROTO_MAX_CLIENTS, PROTO_CLIENT_TIMEOUT);
}

/* Reports a bad setting, where it came from, and exits 2. */
static void __attribute__((noreturn, format(printf, 2, 3)))
config_bad(const char *where, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "mpd: ");
	if (where != NULL)
		fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Parses a whole number from 1 to max. */
static long long
config_count(const char *where, const char *name, const char *s,
    long long max)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 1 || v > max)
		config_bad(where, "%s takes a whole number from 1 to %lld, not "
		    "\"%s\"", name, max, s);
	return v;
}

/*
 * Parses seconds, with an s, m, h or d suffix when units is set; -1 for
 * anything that is not such a number from 0 to max.
 */
static double
config_parse_seconds(const char *s, int units, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (units && errno == 0 && end != s) {
		switch (*end) {
		case 'd':
			v *= 24;
			/* FALLTHROUGH */
		case 'h':
			v *= 60;
			/* FALLTHROUGH */
		case 'm':
			v *= 60;
			/* FALLTHROUGH */
		case 's':
			end++;
			break;
		}
	}
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > max)
		return -1;
	return v;
}

/* Parses a number of seconds from 0 to 1e6. */
static double
config_seconds(const char *where, const char *name, const char *s)
{
	double	v = config_parse_seconds(s, 0, 1e6);

	if (v < 0)
		config_bad(where, "%s takes a number of seconds, not \"%s\"",
		    name, s);
	return v;
}

/* Parses a duration: a number with an optional s, m, h or d suffix. */
static double
config_duration(const char *where, const char *name, const char *s)
{
	double	v = config_parse_seconds(s, 1, 100 * 365.0 * 86400);

	if (v < 0)
		config_bad(where, "%s takes a duration such as 90s, 30m, 12h or "
		    "7d, not \"%s\"", name, s);
	return v;
}

/* Parses a byte count with an optional K, M or G suffix (powers of 1024). */
static long long
config_bytes(const char *where, const char *name, const char *s)
{
	char		*end;
	long long	 v;
	int		 shift = 0;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift != 0)
		end++;
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > (1LL << (50 - shift)))
		config_bad(where, "%s takes a number of bytes such as 65536, "
		    "64K or 2G, not \"%s\"", name, s);
	return v << shift;
}

/*
 * Parses "SOFT[:HARD]" resource limits: whole numbers or "unlimited"; the
 * hard one defaults to the soft one and may not be below it.
 */
static void
config_rlimit(const char *where, const char *name, const char *s,
    struct rlimit *rl)
{
	const char		*part[2];
	char			*copy, *colon, *end;
	unsigned long long	 v;
	rlim_t			 lim[2];
	int			 i;

	copy = xstrdup(s);
	part[0] = copy;
	part[1] = copy;
	if ((colon = strchr(copy, ':')) != NULL) {
		*colon = '\0';
		part[1] = colon + 1;
	}
	for (i = 0; i < 2; i++) {
		if (strcmp(part[i], "unlimited") == 0) {
			lim[i] = RLIM_INFINITY;
			continue;
		}
		errno = 0;
		v = strtoull(part[i], &end, 10);
		if (errno != 0 || *part[i] == '\0' || *end != '\0' ||
		    *part[i] == '-' || v >= (unsigned long long)RLIM_INFINITY)
			config_bad(where, "%s takes SOFT[:HARD], each a whole "
			    "number or \"unlimited\", not \"%s\"", name, s);
		lim[i] = (rlim_t)v;
	}
	if (lim[1] < lim[0])
		config_bad(where, "%s: the hard limit is below the soft one in "
		    "\"%s\"", name, s);
	free(copy);
	rl->rlim_cur = lim[0];
	rl->rlim_max = lim[1];
}

/*
 * A pool: NAME=SIZE[:RUNTIME]. A name given again replaces the pool it
 * named; "default" is --workers by another name (the later one wins).
 */
static void
config_pool(const char *where, const char *name, const char *arg, long long max)
{
	struct pool_conf	*p;
	const char		*eq, *colon;
	char			*size, runtime[RUNTIME_MAX], *why;
	size_t			 n;
	int			 i, size_n;

	eq = strchr(arg, '=');
	n = eq != NULL ? (size_t)(eq - arg) : 0;
	if (eq == NULL || !pool_name_ok(arg, n))
		config_bad(where, "%s takes NAME=SIZE, a name of 1 to %d "
		    "letters, digits, '-' and '_', not \"%s\"", name,
		    POOL_NAME_MAX - 1, arg);
	runtime[0] = '\0';
	if ((colon = strchr(eq + 1, ':')) != NULL &&
	    runtime_parse(colon + 1, runtime, sizeof runtime, &why) == -1)
		config_bad(where, "%s %.*s: %s", name, (int)n, arg, why);
	size = colon != NULL ? xstrndup(eq + 1, (size_t)(colon - eq - 1)) :
	    xstrdup(eq + 1);
	size_n = (int)config_count(where, name, size, max);
	free(size);
	if (n == strlen(POOL_DEFAULT) && strncmp(arg, POOL_DEFAULT, n) == 0) {
		if (runtime[0] != '\0')
			config_bad(where, "%s: the default pool's runtime is "
			    "builtin", name);
		conf->workers = size_n;
		return;
	}
	for (i = 0; i < conf->npools; i++) {
		if (strncmp(conf->pools[i].name, arg, n) == 0 &&
		    conf->pools[i].name[n] == '\0')
			break;
	}
	/* One slot stays for the default pool. */
	if (i == POOLS_MAX - 1)
		config_bad(where, "%s: at most %d pools", name, POOLS_MAX);
	p = &conf->pools[i];
	memcpy(p->name, arg, n);
	p->name[n] = '\0';
	p->size = size_n;
	snprintf(p->runtime, sizeof p->runtime, "%s", runtime);
	if (i == conf->npools)
		conf->npools++;
}

/* Puts the default pool, of --workers, first, and checks the total. */
static void
config_pools(void)
{
	long	total = 0;
	int	i;

	/*
	 * Functions have a pool where they can: "py", unless the settings
	 * name one of their own or say no.
	 */
	for (i = 0; i < conf->npools && strcmp(conf->pools[i].name,
	    PYTHON_POOL) != 0; i++)
		;
	if (i == conf->npools && conf->python_pool != 0 &&
	    conf->npools < POOLS_MAX - 1 && (conf->python_pool > 0 ||
	    runtime_python_found())) {
		memset(&conf->pools[i], 0, sizeof conf->pools[i]);
		snprintf(conf->pools[i].name, sizeof conf->pools[i].name, "%s",
		    PYTHON_POOL);
		snprintf(conf->pools[i].runtime, sizeof conf->pools[i].runtime,
		    "python");
		conf->pools[i].size = conf->python_pool > 0 ?
		    conf->python_pool : conf->workers;
		conf->npools++;
	}
	memmove(&conf->pools[1], &conf->pools[0], (size_t)conf->npools *
	    sizeof conf->pools[0]);
	conf->npools++;
	memset(&conf->pools[0], 0, sizeof conf->pools[0]);
	snprintf(conf->pools[0].name, sizeof conf->pools[0].name, "%s",
	    POOL_DEFAULT);
	conf->pools[0].size = conf->workers;
	for (i = 0; i < conf->npools; i++)
		total += conf->pools[i].size;
	if (total > POOL_WORKERS_MAX)
		config_bad(NULL, "the pools have %ld workers in all; at most %d",
		    total, POOL_WORKERS_MAX);
}

/* A switch: yes or no in the file; given on the command line, yes. */
static int
config_yes(const char *where, const char *name, const char *arg)
{
	if (arg == NULL || strcmp(arg, "yes") == 0)
		return 1;
	if (strcmp(arg, "no") != 0)
		config_bad(where, "%s takes yes or no, not \"%s\"", name, arg);
	return 0;
}

/* Applies one setting; where is "file:line", or NULL for the command line. */
static void
config_apply(const struct setting *set, const char *arg, const char *where)
{
	void	*field = (char *)conf + set->off;
	char	*end;
	long	 mode;
	int	 level;

	if ((set->flags & ZERO_OK) && strcmp(arg, "0") == 0) {
		*(int64_t *)field = 0;
		return;
	}
	switch (set->kind) {
	case SET_PATH:
		free(*(char **)field);
		*(char **)field = xstrdup(arg);
		break;
	case SET_INT:
		*(int *)field = (int)config_count(where, set->name, arg,
		    set->max);
		break;
	case SET_COUNT:
		*(int64_t *)field = config_count(where, set->name, arg,
		    set->max) << (set->flags & MIB ? 20 : 0);
		break;
	case SET_SIZE:
		*(size_t *)field = (size_t)config_count(where, set->name, arg,
		    set->max);
		break;
	case SET_SECONDS:
		*(double *)field = config_seconds(where, set->name, arg);
		break;
	case SET_DURATION:
		*(double *)field = config_duration(where, set->name, arg);
		break;
	case SET_BYTES:
		*(int64_t *)field = config_bytes(where, set->name, arg);
		break;
	case SET_BYTES_SIZE:
		*(size_t *)field = (size_t)config_bytes(where, set->name, arg);
		break;
	case SET_MODE:
		mode = strtol(arg, &end, 8);
		if (*arg == '\0' || *end != '\0' || mode < 0 || mode > 0777)
			config_bad(where, "%s takes octal permissions such as "
			    "0660, not \"%s\"", set->name, arg);
		*(mode_t *)field = (mode_t)mode;
		break;
	case SET_SYNC:
		if (strcmp(arg, "full") != 0 && strcmp(arg, "normal") != 0)
			config_bad(where, "%s takes normal or full, not \"%s\"",
			    set->name, arg);
		*(int *)field = strcmp(arg, "full") == 0;
		break;
	case SET_YES:
		*(int *)field = config_yes(where, set->name, arg);
		break;
	case SET_LEVEL:
		if ((level = log_level_parse(arg)) == -1)
			config_bad(where, "%s takes error, warn, info or debug, "
			    "not \"%s\"", set->name, arg);
		*(int *)field = level;
		break;
	case SET_RLIMIT:
		config_rlimit(where, set->name, arg, field);
		break;
	case SET_POOL:
		config_pool(where, set->name, arg, set->max);
		break;
	case SET_PYPOOL:
		if (strcmp(arg, "auto") == 0)
			*(int *)field = -1;
		else if (strcmp(arg, "no") == 0)
			*(int *)field = 0;
		else
			*(int *)field = (int)config_count(where, set->name, arg,
			    set->max);
		break;
	case SET_PLUGIN:
		if (conf->nplugins == PLUGINS_MAX)
			config_bad(where, "%s: at most %d plugins", set->name,
			    PLUGINS_MAX);
		conf->plugins[conf->nplugins++] = xstrdup(arg);
		break;
	}
}

/* The setting of a long name, or NULL. */
static const struct setting *
config_named(const char *name)
{
	size_t	i;

	for (i = 0; i < NSETTINGS; i++) {
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	}
	return NULL;
}

/* The setting of a getopt code, or NULL. */
static const struct setting *
config_coded(int ch)
{
	size_t	i;

	for (i = 0; i < NSETTINGS; i++) {
		if (settings[i].ch == ch)
			return &settings[i];
	}
	return NULL;
}

/* Fills getopt's table from the settings. */
static void
config_longopts(void)
{
	static const struct option extra[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-config", no_argument, NULL, 'Y' },
	};
	size_t	i;

	for (i = 0; i < NSETTINGS; i++) {
		longopts[i].name = settings[i].name;
		longopts[i].has_arg = settings[i].kind == SET_YES ?
		    no_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = settings[i].ch;
	}
	for (i = 0; i < sizeof extra / sizeof extra[0]; i++)
		longopts[NSETTINGS + i] = extra[i];
	memset(&longopts[NSETTINGS + i], 0, sizeof longopts[0]);
}

/*
 * What a login on Debian starts with: systemd's open-files limits, the
 * kernel's default process limit (half of threads-max), no core files.
 */
static void
config_login_limits(void)
{
	FILE		*f;
	long long	 threads = 0;

	conf->user_limit[0].rlim_cur = 1024;
	conf->user_limit[0].rlim_max = 524288;
	if ((f = fopen("/proc/sys/kernel/threads-max", "r")) != NULL) {
		if (fscanf(f, "%lld", &threads) != 1)
			threads = 0;
		fclose(f);
	}
	conf->user_limit[1].rlim_cur = conf->user_limit[1].rlim_max =
	    threads >= 2 ? (rlim_t)(threads / 2) : 4096;
	conf->user_limit[2].rlim_cur = 0;
	conf->user_limit[2].rlim_max = RLIM_INFINITY;
}

/* An rlimit value as the file says it. */
static void
config_print_rlim(FILE *f, rlim_t v)
{
	if (v == RLIM_INFINITY)
		fputs("unlimited", f);
	else
		fprintf(f, "%llu", (unsigned long long)v);
}

/* Whether a numeric setting is 0 (or an unset path). */
static int
config_is_zero(const struct setting *set, void *field)
{
	switch (set->kind) {
	case SET_PATH:
		return *(char **)field == NULL;
	case SET_COUNT:
	case SET_BYTES:
		return *(int64_t *)field == 0;
	case SET_SIZE:
	case SET_BYTES_SIZE:
		return *(size_t *)field == 0;
	case SET_SECONDS:
		return *(double *)field == 0;
	default:
		return 0;
	}
}

/* Every setting in effect, as "name = value" lines of the file. */
static void
config_print(FILE *f)
{
	static const char	*levels[] = { "error", "warn", "info", "debug" };
	const struct setting	*set;
	const struct rlimit	*rl;
	void			*field;
	size_t			 i;
	int			 k;

	for (i = 0; i < NSETTINGS; i++) {
		set = &settings[i];
		field = (char *)conf + set->off;
		switch (set->kind) {
		case SET_POOL:
			for (k = 0; k < conf->npools; k++)
				fprintf(f, "pool = %s=%d%s%s\n",
				    conf->pools[k].name, conf->pools[k].size,
				    conf->pools[k].runtime[0] != '\0' ? ":" :
				    "", conf->pools[k].runtime);
			continue;
		case SET_PLUGIN:
			for (k = 0; k < conf->nplugins; k++)
				fprintf(f, "plugin = %s\n", conf->plugins[k]);
			continue;
		default:
			break;
		}
		/* Unset (0 that the file cannot say): left as a comment. */
		if (!(set->flags & ZERO_OK) && config_is_zero(set, field)) {
			fprintf(f, "# %s = (none)\n", set->name);
			continue;
		}
		fprintf(f, "%s = ", set->name);
		switch (set->kind) {
		case SET_PATH:
			fputs(*(char **)field != NULL ? *(char **)field : "",
			    f);
			break;
		case SET_INT:
			fprintf(f, "%d", *(int *)field);
			break;
		case SET_COUNT:
		case SET_BYTES:
			fprintf(f, "%lld", (long long)*(int64_t *)field);
			break;
		case SET_SIZE:
		case SET_BYTES_SIZE:
			fprintf(f, "%zu", *(size_t *)field);
			break;
		case SET_SECONDS:
		case SET_DURATION:
			fprintf(f, "%g", *(double *)field);
			break;
		case SET_MODE:
			fprintf(f, "%04o", (unsigned)*(mode_t *)field);
			break;
		case SET_SYNC:
			fputs(*(int *)field ? "full" : "normal", f);
			break;
		case SET_YES:
			fputs(*(int *)field ? "yes" : "no", f);
			break;
		case SET_LEVEL:
			fputs(levels[*(int *)field], f);
			break;
		case SET_RLIMIT:
			rl = field;
			config_print_rlim(f, rl->rlim_cur);
			fputc(':', f);
			config_print_rlim(f, rl->rlim_max);
			break;
		case SET_PYPOOL:
			if (*(int *)field < 0)
				fputs("auto", f);
			else if (*(int *)field == 0)
				fputs("no", f);
			else
				fprintf(f, "%d", *(int *)field);
			break;
		default:
			break;
		}
		fputc('\n', f);
	}
}

/* The default configuration file's path (newly allocated). */
static char *
config_default_path(void)
{
	const char	*v;
	struct passwd	*pw;

	if ((v = getenv("XDG_CONFIG_HOME")) != NULL && *v != '\0')
		return xasprintf("%s/mpd/mpd.conf", v);
	if (geteuid() == 0)
		return xstrdup("/etc/mpd/mpd.conf");
	if ((v = getenv("HOME")) == NULL || *v == '\0') {
		if ((pw = getpwuid(geteuid())) == NULL)
			return NULL;
		v = pw->pw_dir;
	}
	return xasprintf("%s/.config/mpd/mpd.conf", v);
}

/* Trims blanks at both ends, in place. */
static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Reads a configuration file; a missing one is an error only if named. */
static void
config_read(const char *path, int named)
{
	const struct setting	*set;
	FILE			*f;
	char			*line = NULL, *name, *value, *eq, where[512];
	size_t			 cap = 0;
	int			 n = 0;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !named)
			return;
		config_bad(NULL, "cannot read %s: %s", path, strerror(errno));
	}
	while (getline(&line, &cap, f) != -1) {
		n++;
		snprintf(where, sizeof where, "%s:%d", path, n);
		name = trim(line);
		if (*name == '\0' || *name == '#')
			continue;
		if ((eq = strchr(name, '=')) == NULL)
			config_bad(where, "expected \"name = value\", not \"%s\"",
			    name);
		*eq = '\0';
		name = trim(name);
		value = trim(eq + 1);
		if ((set = config_named(name)) == NULL)
			config_bad(where, "no setting named \"%s\"", name);
		config_apply(set, value, where);
	}
	free(line);
	fclose(f);
}

void
config_parse(struct config *c, int argc, char **argv)
{
	const struct setting	*set;
	char			*path = NULL, *cause;
	const char		*file;
	enum store_kind		 kind;
	long			 ncpu;
	int			 ch, named = 0;

	memset(c, 0, sizeof *c);
	conf = c;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	conf->workers = ncpu > 0 ? (int)ncpu : 1;
	conf->python_pool = -1;
	conf->grace = 10;
	conf->socket_mode = 0600;
	conf->max_line = PROTO_MAX_LINE;
	conf->max_items = PROTO_MAX_ITEMS;
	conf->log_level = LOG_LEVEL_INFO;
	conf->kill_grace = 5;
	conf->store_reserve = PROTO_STORE_RESERVE;
	conf->max_result = PROTO_MAX_RESULT;
	conf->max_depth = PROTO_MAX_DEPTH;
	conf->max_clients = PROTO_MAX_CLIENTS;
	conf->client_timeout = PROTO_CLIENT_TIMEOUT;
	conf->client_budget = PROTO_CLIENT_BUDGET;
	conf->user_priority_max = 100;
	conf->max_clients_user = -1;	/* a quarter of max_clients */
	conf->idle_timeout = PROTO_IDLE_TIMEOUT;
	conf->client_drain_timeout = PROTO_DRAIN_TIMEOUT;
	conf->output_cap = PROTO_OUTPUT_CAP;
	conf->log_cap = PROTO_LOG_CAP;
	conf->keep_ended = PROTO_KEEP_ENDED;
	config_login_limits();
	config_longopts();

	/* First pass: only --config, --help and --version. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			free(path);
			path = xstrdup(optarg);
			named = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'Y':
			check_only = 1;
			break;
		case 'V':
			printf("mpd %s (protocol %d, SQLite %s, libevent %s, "
			    "jansson %s)\n", MPD_VERSION, PROTO_VERSION,
			    sqlite3_libversion(), event_get_version(),
			    JANSSON_VERSION);
			exit(0);
		}
	}
	if (path == NULL)
		path = config_default_path();
	if (path != NULL)
		config_read(path, named);
	free(path);

	/* Second pass: the command line wins over the file. */
	opterr = 1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			usage(stderr);
			exit(2);
		}
		/* --config and --check-config were taken in the first pass. */
		if ((set = config_coded(ch)) != NULL)
			config_apply(set, optarg, NULL);
	}
	if (optind != argc) {
		fprintf(stderr, "mpd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (conf->socket_path == NULL)
		conf->socket_path = path_default_socket();
	config_pools();
	if (conf->max_clients_user < 0)
		conf->max_clients_user = conf->max_clients / 4 > 0 ?
		    conf->max_clients / 4 : 1;
	if (conf->db_path == NULL)
		conf->db_path = path_default_db();
	if (store_target(conf->db_path, &kind, &file, &cause) == -1) {
		fprintf(stderr, "mpd: --db %s\n", cause);
		exit(2);
	}
	if (kind != STORE_SQLITE) {
		fprintf(stderr, "mpd: --db %s: this mpd is built without "
		    "PostgreSQL support\n", conf->db_path);
		exit(2);
	}
	if (conf->log_dir == NULL)
		conf->log_dir = path_beside(file, "logs");
	if (check_only) {
		config_print(stdout);
		exit(0);
	}
}

/*
 * Settings: defaults, then the configuration file, then the command line.
 * The file uses the long option names: "workers = 4", "# comment". One
 * table of options serves both, so the two can never disagree.
 */
#include <errno.h>
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
#include "util.h"
#include "xmalloc.h"

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'c' },
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
"The configuration file holds \"name = value\" lines with the long option\n"
"names (\"workers = 4\", \"test-tasks = yes\"); options given here win.\n"
"Signals: SIGTERM or SIGINT stop gracefully (a second one stops at once).\n"
"Exit status: 0 after a clean stop, 1 on a start-up or fatal error, 2 on\n"
"a usage error.\n", PROTO_MAX_LINE, PROTO_MAX_ITEMS);
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

/* Parses a number of seconds from 0 to 1e6. */
static double
config_seconds(const char *where, const char *name, const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *s == '\0' || *end != '\0' || !(v >= 0) || v > 1e6)
		config_bad(where, "%s takes a number of seconds, not \"%s\"",
		    name, s);
	return v;
}

/* Applies one setting; where is "file:line", or NULL for the command line. */
static void
config_apply(int ch, const char *arg, const char *where)
{
	char	*end;
	long	 mode;

	switch (ch) {
	case 's':
		free(cfg.socket_path);
		cfg.socket_path = xstrdup(arg);
		break;
	case 'd':
		free(cfg.db_path);
		cfg.db_path = xstrdup(arg);
		break;
	case 'w':
		cfg.workers = (int)config_count(where, "workers", arg, 1024);
		break;
	case 'g':
		cfg.grace = config_seconds(where, "grace", arg);
		break;
	case 'L':
		cfg.max_line = (size_t)config_count(where, "max-line", arg,
		    1LL << 30);
		break;
	case 'I':
		cfg.max_items = config_count(where, "max-items", arg,
		    1LL << 40);
		break;
	case 'S':
		if (strcmp(arg, "full") != 0 && strcmp(arg, "normal") != 0)
			config_bad(where, "sync takes normal or full, not "
			    "\"%s\"", arg);
		cfg.sync_full = strcmp(arg, "full") == 0;
		break;
	case 'M':
		mode = strtol(arg, &end, 8);
		if (*arg == '\0' || *end != '\0' || mode < 0 || mode > 0777)
			config_bad(where, "socket-mode takes octal permissions "
			    "such as 0660, not \"%s\"", arg);
		cfg.socket_mode = (mode_t)mode;
		break;
	case 'T':
		if (arg == NULL || strcmp(arg, "yes") == 0)
			cfg.test_tasks = 1;
		else if (strcmp(arg, "no") == 0)
			cfg.test_tasks = 0;
		else
			config_bad(where, "test-tasks takes yes or no, not "
			    "\"%s\"", arg);
		break;
	case 'l':
		if ((cfg.log_level = log_level_parse(arg)) == -1)
			config_bad(where, "log-level takes error, warn, info or "
			    "debug, not \"%s\"", arg);
		break;
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
	const struct option	*o;
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
		for (o = longopts; o->name != NULL; o++) {
			if (strcmp(o->name, name) == 0)
				break;
		}
		if (o->name == NULL || strchr("chV", o->val) != NULL)
			config_bad(where, "no setting named \"%s\"", name);
		config_apply(o->val, value, where);
	}
	free(line);
	fclose(f);
}

void
config_parse(int argc, char **argv)
{
	char	*path = NULL;
	long	 ncpu;
	int	 ch, named = 0;

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cfg.workers = ncpu > 0 ? (int)ncpu : 1;
	cfg.grace = 10;
	cfg.socket_mode = 0600;
	cfg.max_line = PROTO_MAX_LINE;
	cfg.max_items = PROTO_MAX_ITEMS;
	cfg.log_level = LOG_LEVEL_INFO;

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
		config_apply(ch, optarg, NULL);
	}
	if (optind != argc) {
		fprintf(stderr, "mpd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (cfg.socket_path == NULL)
		cfg.socket_path = path_default_socket();
	if (cfg.db_path == NULL)
		cfg.db_path = path_default_db();
}

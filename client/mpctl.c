/* mpctl: the mpd command-line client. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpctl.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

static const struct cmd *cmds[] = {
	&cmd_submit, &cmd_run, &cmd_get, &cmd_logs, &cmd_map, &cmd_status,
	&cmd_list, &cmd_cancel, &cmd_forget, &cmd_pool, &cmd_shutdown,
};

static const char	*socket_path;

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f,
"usage: mpctl [-s SOCKET] COMMAND [ARGS...]\n"
"\n"
"Talk to the mpd job-queue daemon.\n"
"\n"
"commands:\n");
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-9s %s\n", cmds[i]->name, cmds[i]->usage);
	fprintf(f,
"\n"
"options:\n"
"  -s, --socket PATH  the daemon's socket (default: $MPD_SOCKET, else\n"
"                     $XDG_RUNTIME_DIR/mpd/mpd.sock, else /run/mpd/mpd.sock\n"
"                     as root)\n"
"  -h, --help         show this help; \"mpctl COMMAND --help\" for a command\n"
"  -V, --version      show the version\n"
"\n"
"Arguments and items are JSON when they parse as JSON, else strings:\n"
"\"mpctl submit echo hello 3\" sends the args [\"hello\",3]. The arguments\n"
"of the exec and shell tasks are always strings.\n"
"\n"
"exit status:\n"
"  0  success\n"
"  1  the job failed, timed out or was cancelled\n"
"  2  usage error\n"
"  3  the daemon is unreachable, or the connection broke\n"
"  4  get --timeout or map --wait ran out, or run's job hit its time limit\n"
"  5  no such job\n"
"  6  the daemon refused the request (unknown task, bad request, ...)\n"
"mpctl run exits with its command's own status when the command ran.\n");
}

struct mpc *
ctl_connect(void)
{
	struct mpc	*c;
	char		*cause;

	if ((c = mpc_connect(socket_path, &cause)) == NULL) {
		fprintf(stderr, "mpctl: %s\n", cause);
		free(cause);
		exit(EXIT_UNREACHABLE);
	}
	return c;
}

int
ctl_refused(json_t *reply)
{
	json_t		*e = json_object_get(reply, "error");
	const char	*code = json_string_value(json_object_get(e, "code"));
	const char	*msg = json_string_value(json_object_get(e, "message"));

	fprintf(stderr, "mpctl: %s\n", msg != NULL ? ctl_safe(msg) :
	    "request refused");
	if (code == NULL)
		return EXIT_REFUSED;
	if (strcmp(code, ERR_NOT_FOUND) == 0)
		return EXIT_NOT_FOUND;
	if (strcmp(code, ERR_TIMEOUT) == 0)
		return EXIT_TIMEOUT;
	return EXIT_REFUSED;
}

int
ctl_usage(const struct cmd *cmd)
{
	fprintf(stderr, "usage: mpctl %s %s\n(\"mpctl %s --help\" for "
	    "more)\n", cmd->name, cmd->usage, cmd->name);
	return EXIT_USAGE;
}

int
ctl_help(const struct cmd *cmd)
{
	printf("usage: mpctl %s %s\n\n%s", cmd->name, cmd->usage, cmd->help);
	return EXIT_OK;
}

json_t *
ctl_string(const char *arg)
{
	json_t	*v;

	if ((v = json_string(arg)) == NULL) {
		/* Dropping it would shift every later item's position. */
		fprintf(stderr, "mpctl: argument is not valid UTF-8: \"%s\"\n",
		    arg);
		exit(EXIT_USAGE);
	}
	return v;
}

json_t *
ctl_value(const char *arg)
{
	json_t	*v;

	v = json_loads(arg, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	return v != NULL ? v : ctl_string(arg);
}

int
ctl_lines(void (*fn)(const char *, void *), void *arg)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	while ((n = getline(&line, &cap, stdin)) != -1) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n > 0)
			fn(line, arg);
	}
	free(line);
	if (ferror(stdin)) {
		perror("mpctl: reading items from stdin");
		return -1;
	}
	return 0;
}

int
ctl_kwargs(json_t *req, const char *arg)
{
	json_t	*v = json_loads(arg, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(v)) {
		json_decref(v);
		fprintf(stderr, "mpctl: --kwargs takes a JSON object, not "
		    "\"%s\"\n", arg);
		return -1;
	}
	json_object_set_new(req, "kwargs", v);
	return 0;
}

int64_t
ctl_id(const char *s)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 1)
		return -1;
	return v;
}

int64_t
ctl_job_arg(const struct cmd *cmd, int argc, char **argv)
{
	int64_t	id;

	if (optind != argc - 1) {
		ctl_usage(cmd);
		return -1;
	}
	if ((id = ctl_id(argv[optind])) == -1)
		fprintf(stderr, "mpctl: \"%s\" is not a job id\n",
		    argv[optind]);
	return id;
}

double
ctl_seconds(const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *s == '\0' || *end != '\0' || !isfinite(v) || v < 0)
		return -1;
	return v;
}

void
ctl_print(json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL) {
		fprintf(stderr, "mpctl: cannot encode the result\n");
		exit(EXIT_REFUSED);
	}
	fputs_json(s, stdout);
	putchar('\n');
	free(s);
}

int
ctl_result(json_t *reply, int64_t id)
{
	json_t		*e;
	const char	*state, *msg;

	if (!json_is_true(json_object_get(reply, "ok"))) {
		e = json_object_get(reply, "error");
		if (strcmp(json_string_value(json_object_get(e, "code")) ?
		    json_string_value(json_object_get(e, "code")) : "",
		    ERR_TIMEOUT) == 0) {
			fprintf(stderr, "mpctl: job %lld is still %s: the "
			    "timeout ran out\n", (long long)id,
			    ctl_safe(json_string_value(json_object_get(reply,
			    "state")) ?: "pending"));
			return EXIT_TIMEOUT;
		}
		return ctl_refused(reply);
	}
	state = json_string_value(json_object_get(reply, "state"));
	if (state != NULL && strcmp(state, "done") == 0) {
		ctl_print(json_object_get(reply, "result"));
		return EXIT_OK;
	}
	/* A failed exec job keeps what its command printed. */
	if (json_object_get(reply, "result") != NULL) {
		ctl_print(json_object_get(reply, "result"));
		fflush(stdout);
	}
	e = json_object_get(reply, "error");
	msg = json_string_value(json_object_get(e, "message"));
	fprintf(stderr, "mpctl: job %lld %s: %s\n", (long long)id,
	    state != NULL && strcmp(state, "cancelled") == 0 ?
	    "was cancelled" : state != NULL && strcmp(state, "timeout") == 0 ?
	    "timed out" : "failed", msg != NULL ? ctl_safe(msg) :
	    "no error message");
	return EXIT_JOB_FAILED;
}

/* Draws a map's progress on stderr: "[#####.....]  512/1000 items". */
static void
ctl_progress(struct mpc *c, int64_t id)
{
	json_t		*reply, *p;
	json_int_t	 done, total;
	char		 bar[41];
	int		 i, n;

	reply = ctl_call(c, json_pack("{s:s, s:I}", "op", "status", "job",
	    (json_int_t)id));
	p = json_object_get(json_object_get(reply, "job"), "progress");
	if (p != NULL) {
		done = json_integer_value(json_object_get(p, "done"));
		total = json_integer_value(json_object_get(p, "total"));
		n = total > 0 ? (int)(done * 40 / total) : 40;
		for (i = 0; i < 40; i++)
			bar[i] = i < n ? '#' : '.';
		bar[40] = '\0';
		fprintf(stderr, "\r[%s] %lld/%lld items", bar, (long long)done,
		    (long long)total);
	}
	json_decref(reply);
}

/*
 * Waits for a job. On a terminal, a map that takes longer than a second
 * shows its progress on stderr while it runs: the wait is then cut into
 * short gets with a status between them.
 */
int
ctl_get(struct mpc *c, int64_t id, double timeout)
{
	json_t	*req, *reply;
	double	 slice, start = time_mono(), left;
	int	 rc, tty = isatty(STDERR_FILENO), drawn = 0;

	for (;;) {
		slice = -1;
		if (tty)
			slice = drawn ? 0.25 : 1.0;
		left = timeout < 0 ? -1 : timeout - (time_mono() - start);
		if (timeout >= 0 && left < 0)
			left = 0;
		if (left >= 0 && (slice < 0 || left < slice))
			slice = left;
		req = json_pack("{s:s, s:I}", "op", "get", "job",
		    (json_int_t)id);
		if (slice >= 0)
			json_object_set_new(req, "timeout", json_real(slice));
		reply = ctl_call(c, req);
		if (!tty || slice == left || json_is_true(json_object_get(reply,
		    "ok")) || strcmp(json_string_value(json_object_get(
		    json_object_get(reply, "error"), "code")) ?: "", "timeout")
		    != 0)
			break;
		json_decref(reply);
		ctl_progress(c, id);
		drawn = 1;
	}
	if (drawn)
		fprintf(stderr, "\r\033[K");
	rc = ctl_result(reply, id);
	json_decref(reply);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd	*cmd = NULL;
	char			*default_path = NULL;
	size_t			 i;
	int			 ch, rc, want_help = 0;

	/* A daemon that closes on us is an error to report, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("mpctl %s (protocol %d)\n", MPD_VERSION,
			    PROTO_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		if (argc == 1) {
			usage(stdout);
			return EXIT_OK;
		}
		argv++;
		argc--;
		want_help = 1;
	}
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(cmds[i]->name, argv[0]) == 0)
			cmd = cmds[i];
	}
	if (cmd == NULL) {
		fprintf(stderr, "mpctl: unknown command \"%s\"\n", argv[0]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (want_help)
		return ctl_help(cmd);
	if (socket_path == NULL)
		socket_path = default_path = path_default_socket();
	optind = 0;
	rc = cmd->run(argc, argv);
	free(default_path);
	return rc;
}

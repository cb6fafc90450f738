/* mpctl logs: a job's output, byte for byte; ctl_logs serves run and map. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "frame.h"
#include "mpctl.h"

static int	logs_run(int, char **);

const struct cmd cmd_logs = {
	"logs", "[--follow] ID",
"Write what an exec job has printed so far: its stdout to stdout and its\n"
"stderr to stderr, exactly as the command wrote them.\n"
"\n"
"  -f, --follow   keep writing what the job prints until it has ended\n"
"  -h, --help     show this help\n",
	logs_run
};

/* Where each stream is up to, and whether writing it has failed. */
struct logs_stream {
	const char	*name;		/* the reply's field */
	int		 fd;
	json_int_t	 off;
	int		 failed;
	int		 gone;		/* its reader closed the pipe */
};

/*
 * Writes one stream's data from a logs reply and advances its offset.
 * Returns the bytes written (or dropped, once the output failed), or -1
 * when the reply is malformed.
 */
static ssize_t
logs_copy(struct logs_stream *s, json_t *reply)
{
	json_t		*o = json_object_get(reply, s->name);
	const char	*text = json_string_value(json_object_get(o, "data"));
	json_t		*at = json_object_get(o, "offset");
	void		*buf;
	size_t		 len;

	if (text == NULL || (at != NULL && !json_is_integer(at)) ||
	    (buf = base64_decode(text, &len)) == NULL)
		return -1;
	if (len > 0 && !s->failed && write_all(s->fd, buf, len) == -1) {
		/* A reader that went away (| head) is no error worth a word. */
		if (errno != EPIPE)
			fprintf(stderr, "mpctl: writing the job's %s: %s\n",
			    s->name, strerror(errno));
		s->gone = errno == EPIPE;
		s->failed = 1;
	}
	free(buf);
	s->off = (at != NULL ? json_integer_value(at) : s->off) +
	    (json_int_t)len;
	return (ssize_t)len;
}

int
ctl_logs(struct mpc *c, int64_t id, int follow)
{
	struct logs_stream	 out[2] = {
		{ "stdout", STDOUT_FILENO, 0, 0, 0 },
		{ "stderr", STDERR_FILENO, 0, 0, 0 },
	};
	json_t			*reply;
	json_int_t		 attempt = 0, now;
	ssize_t			 n[2];
	int			 end, i, rc;

	do {
		reply = ctl_call(c, json_pack("{s:s, s:I, s:I, s:I, s:b}",
		    "op", "logs", "job", (json_int_t)id, "stdout", out[0].off,
		    "stderr", out[1].off, "wait", follow));
		if (!json_is_true(json_object_get(reply, "ok"))) {
			rc = ctl_refused(reply);
			json_decref(reply);
			return rc;
		}
		/* A retry writes its logs afresh: follow it from the start. */
		now = json_integer_value(json_object_get(reply, "attempt"));
		if (attempt != 0 && now != attempt && out[0].off + out[1].off >
		    0) {
			attempt = now;
			out[0].off = out[1].off = 0;
			json_decref(reply);
			n[0] = n[1] = end = 0;
			continue;
		}
		attempt = now;
		for (i = 0; i < 2; i++) {
			if ((n[i] = logs_copy(&out[i], reply)) == -1) {
				fprintf(stderr, "mpctl: malformed logs reply "
				    "from the daemon\n");
				json_decref(reply);
				return EXIT_UNREACHABLE;
			}
		}
		end = json_is_true(json_object_get(reply, "end"));
		json_decref(reply);
		/* Nobody reads the output any more (| head): stop. */
		if (out[0].failed && out[0].gone)
			return EXIT_PIPE;
	} while (!end && (follow || n[0] > 0 || n[1] > 0));
	return out[0].failed || out[1].failed ? EXIT_JOB_FAILED : EXIT_OK;
}

static int
logs_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mpc	*c;
	int64_t		 id;
	int		 ch, follow = 0, rc;

	while ((ch = getopt_long(argc, argv, "+fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'h':
			return ctl_help(&cmd_logs);
		default:
			return ctl_usage(&cmd_logs);
		}
	}
	if ((id = ctl_job_arg(&cmd_logs, argc, argv)) == -1)
		return EXIT_USAGE;
	c = ctl_connect();
	rc = ctl_logs(c, id, follow);
	mpc_close(c);
	return rc;
}

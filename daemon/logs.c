/*
 * Commands' output on disk: one file per stream and job under the log
 * directory, written by the worker that runs the command and read here for
 * the logs op. A job's files stay until the job is forgotten.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "store.h"
#include "tasks/task.h"
#include "util.h"
#include "xmalloc.h"

static const char	*streams[2] = { "stdout", "stderr" };
static const char	*exts[2] = { "out", "err" };

/* The log directory, held open: every file in it is opened through it. */
static int		 logs_dirfd = -1;

/* A job's file name for a stream, in buf. */
static const char *
logs_name(int64_t job, const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, "%lld.%s", (long long)job, ext);
	return buf;
}

int
logs_init(char **cause)
{
	struct stat	 st;

	if ((logs_dirfd = paths_dir(cfg.log_dir, NULL, cause)) == -1)
		return -1;
	/* Others' output lives here: it must be ours alone. */
	if (fstat(logs_dirfd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		*cause = xasprintf("the log directory %s must be owned by uid "
		    "%ld with no access for group or others (chmod 0700)",
		    cfg.log_dir, (long)geteuid());
		close(logs_dirfd);
		logs_dirfd = -1;
		return -1;
	}
	return 0;
}

int
logs_fd(void)
{
	return logs_dirfd;
}

void
logs_set_fd(int fd)
{
	logs_dirfd = fd;
}

void
logs_close(void)
{
	if (logs_dirfd != -1)
		close(logs_dirfd);
	logs_dirfd = -1;
}

int
logs_create(int64_t job, const char *ext)
{
	char	name[48];
	int	fd;

	logs_name(job, ext, name, sizeof name);
	/* A new file each attempt: nothing already there is reused. */
	if (unlinkat(logs_dirfd, name, 0) == -1 && errno != ENOENT)
		log_warn("job %lld: removing %s/%s", (long long)job,
		    cfg.log_dir, name);
	fd = openat(logs_dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		log_warn("job %lld: cannot create %s/%s", (long long)job,
		    cfg.log_dir, name);
	return fd;
}

void
logs_remove(int64_t job)
{
	char	name[48];
	int	i;

	for (i = 0; i < 2; i++) {
		logs_name(job, exts[i], name, sizeof name);
		if (unlinkat(logs_dirfd, name, 0) == -1 && errno != ENOENT)
			log_warn("removing %s/%s", cfg.log_dir, name);
	}
}

/*
 * Reads up to PROTO_LOGS_CHUNK bytes of a stream from off into *data
 * (newly allocated); returns the byte count, and sets *more when bytes
 * remain past them.
 */
static size_t
logs_read(int64_t job, int stream, int64_t off, char **data, int *more)
{
	struct stat	 st;
	char		 name[48];
	ssize_t		 n;
	size_t		 want;
	int		 fd;

	*data = NULL;
	*more = 0;
	logs_name(job, exts[stream], name, sizeof name);
	fd = openat(logs_dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= off) {
		close(fd);
		return 0;
	}
	want = (size_t)(st.st_size - off);
	if (want > PROTO_LOGS_CHUNK) {
		want = PROTO_LOGS_CHUNK;
		*more = 1;
	}
	*data = xmalloc(want);
	do {
		n = pread(fd, *data, want, off);
	} while (n == -1 && errno == EINTR);
	close(fd);
	if (n < 0)
		n = 0;
	if ((size_t)n < want)
		*more = 0;
	return (size_t)n;
}

/* True when the job is a command that has started: its files are its. */
static int
logs_of_command(const struct job *j)
{
	const struct task	*t = task_find(j->task);

	return j->kind == KIND_JOB && t != NULL && t->command &&
	    j->started > 0;
}

int
logs_reply(struct client *c, json_t *tag, const struct job *j, int64_t *off,
    int wait)
{
	json_t		*r;
	char		*data[2], *text;
	size_t		 len[2];
	int		 more[2], i, ended, own;

	ended = job_state_final(j->state);
	/* Only a command that has run has logs: any file is not its own. */
	own = logs_of_command(j);
	for (i = 0; i < 2; i++) {
		if (own)
			len[i] = logs_read(j->id, i, off[i], &data[i],
			    &more[i]);
		else {
			len[i] = 0;
			data[i] = NULL;
			more[i] = 0;
		}
	}
	if (wait && !ended && len[0] == 0 && len[1] == 0) {
		free(data[0]);
		free(data[1]);
		return 0;
	}
	r = reply_new(tag, 1);
	json_object_set_new(r, "job", json_integer(j->id));
	json_object_set_new(r, "state", json_string(job_state_name(j->state)));
	json_object_set_new(r, "attempt", json_integer(j->attempts));
	for (i = 0; i < 2; i++) {
		text = base64_encode(data[i] != NULL ? data[i] : "", len[i]);
		json_object_set_new(r, streams[i], json_pack("{s:I, s:s}",
		    "offset", (json_int_t)off[i], "data", text));
		free(text);
		free(data[i]);
	}
	json_object_set_new(r, "end", json_boolean(ended && !more[0] &&
	    !more[1]));
	client_reply(c, r);
	return 1;
}

int
logs_answer(struct client *c, json_t *tag, int64_t job, int64_t *off,
    int wait)
{
	struct job	 j;
	int		 rc;

	if (store_get(store, job, &j) != 1) {
		reply_error(c, tag, ERR_NOT_FOUND, "job %lld does not exist",
		    (long long)job);
		return 1;
	}
	rc = logs_reply(c, tag, &j, off, wait);
	job_clear(&j);
	return rc;
}

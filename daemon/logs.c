/*
 * Commands' output on disk: one file per stream and job under the log
 * directory, written by the worker that runs the command and read here for
 * the logs op (whose reply is reply.c's). A job's files stay until the job
 * is forgotten.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

static const char	*exts[2] = { "out", "err" };
static const char	*streams_of[2] = { "stdout", "stderr" };
/* Bytes of each stream a runtime's output may leave in its job's logs. */
#define LOGS_SAVE_MAX	((size_t)1 << 20)

/* The log directory, held open: every file in it is opened through it. */
static int		 logs_dirfd = -1;
static const char	*logs_dir;	/* its path, for messages */

/* A job's file name for a stream, in buf. */
static const char *
logs_name(int64_t job, const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, "%lld.%s", (long long)job, ext);
	return buf;
}

int
logs_init(const char *dir, char **cause)
{
	struct stat	 st;

	logs_dir = dir;
	if ((logs_dirfd = paths_dir(dir, NULL, cause)) == -1)
		return -1;
	/* Others' output lives here: it must be ours alone. */
	if (fstat(logs_dirfd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		*cause = xasprintf("the log directory %s must be owned by uid "
		    "%ld with no access for group or others (chmod 0700)",
		    logs_dir, (long)geteuid());
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
		    logs_dir, name);
	fd = openat(logs_dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		log_warn("job %lld: cannot create %s/%s", (long long)job,
		    logs_dir, name);
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
			log_warn("removing %s/%s", logs_dir, name);
	}
}

void
logs_sizes(int64_t job, int64_t *sizes)
{
	struct stat	st;
	char		name[48];
	int		i;

	for (i = 0; i < 2; i++) {
		logs_name(job, exts[i], name, sizeof name);
		sizes[i] = fstatat(logs_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) ==
		    0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0;
	}
}

void
logs_save(int64_t job, json_t *output)
{
	const char	*data;
	size_t		 len;
	int		 i, fd;

	for (i = 0; i < 2; i++) {
		data = json_string_value(json_object_get(output, streams_of[i]));
		if (data == NULL || (len = json_string_length(json_object_get(
		    output, streams_of[i]))) == 0)
			continue;
		if (len > LOGS_SAVE_MAX)
			len = LOGS_SAVE_MAX;
		if ((fd = logs_create(job, exts[i])) == -1)
			continue;
		if (write_all(fd, data, len) == -1)
			log_warn("job %lld: writing its %s", (long long)job,
			    streams_of[i]);
		close(fd);
	}
}

size_t
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


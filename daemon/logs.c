/*
 * Commands' output on disk: one file per stream and job under the log
 * directory, written by the worker that runs the command and read here for
 * the logs op (whose reply is reply.c's). A job's files stay until the job
 * is forgotten.
 */
#include <sys/stat.h>

#include <dirent.h>

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
static int		 logs_flat;	/* files of the flat layout are there */

/*
 * A job's files are in a directory per thousand jobs (job 123456's in
 * 123/), so that a million jobs do not make one directory of two million
 * entries. Files of the flat layout that came before are still read and
 * removed, when the directory had any at start.
 */
#define LOGS_PER_DIR	1000

/* A job's directory's name, in buf. */
static const char *
logs_bucket(int64_t job, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)(job / LOGS_PER_DIR));
	return buf;
}

/* A job's file name for a stream, in buf: in its directory, or flat. */
static const char *
logs_name(int64_t job, const char *ext, char *buf, size_t len, int flat)
{
	if (flat)
		snprintf(buf, len, "%lld.%s", (long long)job, ext);
	else
		snprintf(buf, len, "%lld/%lld.%s", (long long)(job /
		    LOGS_PER_DIR), (long long)job, ext);
	return buf;
}

/*
 * Opens a job's file for a stream (flags of openat), in its directory or,
 * when it is not there, in the flat layout. The directory is opened
 * without following a link, as the file is.
 */
static int
logs_open(int64_t job, const char *ext, int flags)
{
	char	name[48];
	int	dfd, fd;

	logs_bucket(job, name, sizeof name);
	if ((dfd = openat(logs_dirfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) != -1) {
		snprintf(name, sizeof name, "%lld.%s", (long long)job, ext);
		fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		if (fd != -1 || errno != ENOENT)
			return fd;
	}
	if (!logs_flat)
		return -1;
	return openat(logs_dirfd, logs_name(job, ext, name, sizeof name, 1),
	    flags | O_NOFOLLOW | O_CLOEXEC);
}

/* Whether the directory holds a file of the flat layout (ID.out, ID.err). */
static int
logs_find_flat(void)
{
	struct dirent	*e;
	DIR		*d;
	const char	*dot;
	int		 fd, found = 0;

	if ((fd = dup(logs_dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return 1;	/* not known: look for them */
	}
	while (!found && (e = readdir(d)) != NULL) {
		dot = strchr(e->d_name, '.');
		found = dot != NULL && dot != e->d_name &&
		    (strcmp(dot, ".out") == 0 || strcmp(dot, ".err") == 0);
	}
	closedir(d);
	return found;
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
	logs_flat = logs_find_flat();
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
	int	dfd, fd = -1, tries = 0;

	logs_bucket(job, name, sizeof name);
	/* The parent removes a directory it empties: make it again then. */
	do {
		if (mkdirat(logs_dirfd, name, 0700) == -1 && errno != EEXIST)
			log_warn("job %lld: cannot create %s/%s",
			    (long long)job, logs_dir, name);
		dfd = openat(logs_dirfd, name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
	} while (dfd == -1 && errno == ENOENT && ++tries < 3);
	if (dfd == -1) {
		log_warn("job %lld: cannot open %s/%s", (long long)job,
		    logs_dir, name);
		return -1;
	}
	snprintf(name, sizeof name, "%lld.%s", (long long)job, ext);
	/* A new file each attempt: nothing already there is reused. */
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		log_warn("job %lld: removing %s/%s", (long long)job,
		    logs_dir, logs_name(job, ext, name, sizeof name, 0));
	else if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		log_warn("job %lld: cannot create %s/%s", (long long)job,
		    logs_dir, logs_name(job, ext, name, sizeof name, 0));
	close(dfd);
	return fd;
}

void
logs_remove(int64_t job)
{
	char	name[48];
	int	i, flat;

	for (flat = 0; flat <= logs_flat; flat++) {
		for (i = 0; i < 2; i++) {
			logs_name(job, exts[i], name, sizeof name, flat);
			if (unlinkat(logs_dirfd, name, 0) == -1 &&
			    errno != ENOENT)
				log_warn("removing %s/%s", logs_dir, name);
		}
	}
	/* The job's directory goes with its last files. */
	logs_bucket(job, name, sizeof name);
	(void)unlinkat(logs_dirfd, name, AT_REMOVEDIR);
}

void
logs_sizes(int64_t job, int64_t *sizes)
{
	struct stat	st;
	char		name[48];
	int		i, flat, rc;

	/* The log directory is mpd's alone: its names are not links. */
	for (i = 0; i < 2; i++) {
		sizes[i] = 0;
		for (flat = 0; flat <= logs_flat; flat++) {
			logs_name(job, exts[i], name, sizeof name, flat);
			rc = fstatat(logs_dirfd, name, &st,
			    AT_SYMLINK_NOFOLLOW);
			if (rc == 0 && S_ISREG(st.st_mode))
				sizes[i] = (int64_t)st.st_size;
			if (rc == 0)
				break;
		}
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
	ssize_t		 n;
	size_t		 want;
	int		 fd;

	*data = NULL;
	*more = 0;
	fd = logs_open(job, exts[stream], O_RDONLY | O_NONBLOCK);
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


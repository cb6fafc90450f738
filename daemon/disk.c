/*
 * The store's disk. A reserve file beside the database holds room that only
 * mpd can give back: when the disk fills (a job's output, another program),
 * the reserve is removed before the next commit, so that the commit and a
 * start-up recovery still find room. From then on the disk is full: new
 * work is refused with disk_full and queued jobs wait, while reads answer
 * and running jobs finish. Once a second the free space is looked at again;
 * when the reserve fits with room to spare it is made anew and work goes
 * on.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "util.h"
#include "xmalloc.h"

/* Free bytes past which the disk is looked at once per DISK_LOOK only. */
#define DISK_PLENTY	((int64_t)1 << 30)
#define DISK_LOOK	0.1

static int		 dirfd_ = -1;	/* the database's directory */
static char		*name;		/* the reserve's name in it */
static char		*db;		/* the database's name in it */
static const char	*dir;		/* its path, for messages */
static int64_t		 reserve;	/* the reserve's size; 0: none */
static int		 held;		/* the reserve file is there */
static int		 full;		/* the reserve was given back */
static struct event	*watch;		/* once a second while full */

/* Bytes free for mpd's user on the database's file system, or -1. */
static int64_t
disk_free(void)
{
	struct statvfs	vfs;

	if (fstatvfs(dirfd_, &vfs) == -1)
		return -1;
	return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
}

/* The free space below which the reserve is given back. */
static int64_t
disk_low(void)
{
	return reserve / 2;
}

static void
disk_release(void)
{
	if (held && unlinkat(dirfd_, name, 0) == -1 && errno != ENOENT)
		log_warn("removing the reserve %s/%s", dir, name);
	held = 0;
}

/* Makes the reserve file; 0 when it is there, -1 when it did not fit. */
static int
disk_make(void)
{
	int	fd, rc;

	(void)unlinkat(dirfd_, name, 0);
	fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("creating the reserve %s/%s", dir, name);
		return -1;
	}
	rc = posix_fallocate(fd, 0, (off_t)reserve);
	if (close(fd) == -1 && rc == 0)
		rc = errno;
	if (rc != 0) {
		(void)unlinkat(dirfd_, name, 0);
		if (rc != ENOSPC)
			log_warnx("filling the reserve %s/%s: %s", dir, name,
			    strerror(rc));
		return -1;
	}
	held = 1;
	return 0;
}

static void
disk_watch(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	 second = { 1, 0 };
	int64_t		 left;

	(void)fd;
	(void)what;
	(void)arg;
	left = disk_free();
	if (left >= reserve + disk_low() && disk_make() == 0) {
		full = 0;
		log_info("the disk of %s has room again (%lld bytes free): the "
		    "reserve is back and new work is taken", dir,
		    (long long)left - reserve);
		tick_kick();	/* the queued jobs that waited */
		return;
	}
	evtimer_add(watch, &second);
}

/* The disk is full: refuse new work until the reserve can be made again. */
static void
disk_set_full(int64_t left)
{
	struct timeval	second = { 1, 0 };

	if (full)
		return;
	full = 1;
	log_warnx("the disk of %s is full (%lld bytes free)%s: new work is "
	    "refused with disk_full until space is freed", dir,
	    (long long)left, held ? "; the reserve is given back" : "");
	disk_release();
	evtimer_add(watch, &second);
}

void
disk_init(struct event_base *base, int fd, const char *path,
    const char *base_name, int64_t bytes)
{
	dirfd_ = fd;
	dir = path;
	name = xasprintf("%s.reserve", base_name);
	db = xstrdup(base_name);
	reserve = bytes;
	if ((watch = evtimer_new(base, disk_watch, NULL)) == NULL)
		fatalx("evtimer_new");
	/*
	 * A reserve left by the last run is given back before recovery,
	 * which must succeed on a full disk; it is made again once recovery
	 * is done.
	 */
	held = 1;
	disk_release();
}

void
disk_ready(void)
{
	int64_t	left;

	if (reserve == 0)
		return;
	left = disk_free();
	if ((left == -1 || left >= reserve + disk_low()) && disk_make() == 0)
		return;
	disk_set_full(left);
}

void
disk_check(void)
{
	static double	 next;		/* when to look again, at the latest */
	static int64_t	 seen = -1;	/* what was free then */
	double		 now;
	int64_t		 left;

	if (reserve == 0 || full)
		return;
	/*
	 * With much room, a look every DISK_LOOK seconds is enough: nothing
	 * fills DISK_PLENTY that fast. Short of it, every commit looks.
	 */
	now = time_mono();
	if (seen >= DISK_PLENTY && now < next)
		return;
	next = now + DISK_LOOK;
	if ((seen = left = disk_free()) != -1 && left < disk_low())
		disk_set_full(left);
}

int64_t
disk_room(void)
{
	int64_t	left = disk_free();

	return left == -1 ? INT64_MAX : left;
}

int64_t
disk_db_bytes(void)
{
	struct stat	 st;
	char		*wal;
	int64_t		 n = 0;

	if (dirfd_ == -1)
		return 0;
	if (fstatat(dirfd_, db, &st, AT_SYMLINK_NOFOLLOW) == 0)
		n += (int64_t)st.st_size;
	wal = xasprintf("%s-wal", db);
	if (fstatat(dirfd_, wal, &st, AT_SYMLINK_NOFOLLOW) == 0)
		n += (int64_t)st.st_size;
	free(wal);
	return n;
}

int
disk_is_full(void)
{
	return full;
}

void
disk_free_all(void)
{
	if (watch != NULL)
		event_free(watch);
	watch = NULL;
	free(name);
	name = NULL;
	free(db);
	db = NULL;
}

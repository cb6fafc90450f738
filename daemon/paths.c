/*
 * The directories a daemon (often root) keeps its files in, made safe
 * against other users before anything is opened in them.
 *
 * A directory is trusted when it, and every directory above it, is owned
 * by root or by the daemon's uid, and none of them can be written by
 * anyone else. An ancestor may be world-writable if it is sticky (/tmp):
 * there, no one but its owner may rename or remove our directory. The
 * directory itself may not be, sticky or not: whoever can write it can
 * put a socket, a symlink or a lock file there before mpd starts.
 *
 * A trusted directory is then held by a descriptor, and every file mpd
 * uses in it is opened relative to that descriptor with O_NOFOLLOW, so a
 * later rename of any path cannot send root elsewhere.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "util.h"
#include "xmalloc.h"

/* A uid as "1001 (alice)", in buf. */
static const char *
paths_who(uid_t uid, char *buf, size_t len)
{
	struct passwd	*pw;

	if ((pw = getpwuid(uid)) != NULL)
		snprintf(buf, len, "%ld (%s)", (long)uid, pw->pw_name);
	else
		snprintf(buf, len, "%ld", (long)uid);
	return buf;
}

/* Why a directory's status makes it untrusted, or NULL when it is fine. */
static char *
paths_distrust(const char *dir, const struct stat *st, int last)
{
	char	who[64];
	mode_t	perm = st->st_mode & 07777;

	if (!S_ISDIR(st->st_mode))
		return xasprintf("%s is not a directory", dir);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return xasprintf("%s belongs to uid %s, not to root or to "
		    "mpd's own uid %ld (mode %04o)", dir, paths_who(st->st_uid,
		    who, sizeof who), (long)geteuid(), (unsigned)perm);
	if ((perm & 022) != 0 && (last || (perm & S_ISVTX) == 0))
		return xasprintf("%s can be written by %s (owner uid %s, mode "
		    "%04o)%s", dir, (perm & 002) ? "every user" :
		    "its group", paths_who(st->st_uid, who, sizeof who),
		    (unsigned)perm, last && (perm & S_ISVTX) ?
		    "; a sticky bit is not enough, since another user can "
		    "create the file first" : "");
	return NULL;
}

/*
 * Checks every directory from / down to path, as written: a symlink on the
 * way must be root's or mpd's (its directory was checked before it), and
 * where it leads is checked the same way. With strict, the last directory
 * may not be writable by others even if sticky (it is the one mpd uses).
 * Returns 0, or -1 with *why set.
 */
static int
paths_check_chain(const char *path, int strict, int depth, char **why)
{
	struct stat	 st;
	char		*copy, *p, *at, *real;
	char		 who[64];
	int		 last, rc = 0;

	if (depth > 8) {
		*why = xasprintf("%s: too many levels of symlinks", path);
		return -1;
	}
	copy = xstrdup(path);
	for (p = copy;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		at = copy[0] == '\0' ? "/" : copy;
		if (lstat(at, &st) == -1) {
			*why = xasprintf("%s: %s", at, strerror(errno));
			rc = -1;
		} else if (S_ISLNK(st.st_mode)) {
			if (st.st_uid != 0 && st.st_uid != geteuid()) {
				*why = xasprintf("%s is a symlink of uid %s",
				    at, paths_who(st.st_uid, who, sizeof who));
				rc = -1;
			} else if ((real = realpath(at, NULL)) == NULL) {
				*why = xasprintf("%s: %s", at,
				    strerror(errno));
				rc = -1;
			} else {
				rc = paths_check_chain(real, last && strict,
				    depth + 1, why);
				free(real);
			}
		} else
			rc = (*why = paths_distrust(at, &st, last && strict))
			    != NULL ? -1 : 0;
		if (rc == -1 || last)
			break;
		*p = '/';
	}
	free(copy);
	return rc;
}

/* dir as an absolute path (newly allocated), or NULL with *cause set. */
static char *
paths_absolute(const char *dir, char **cause)
{
	char	*cwd, *abs;

	if (*dir == '/')
		return xstrdup(dir);
	if ((cwd = getcwd(NULL, 0)) == NULL) {
		*cause = xasprintf("getcwd: %s", strerror(errno));
		return NULL;
	}
	abs = xasprintf("%s/%s", cwd, dir);
	free(cwd);
	return abs;
}

/*
 * Before anything is created: the part of path that exists must already
 * be safe, so no directory is made through someone else's symlink or in
 * someone else's directory. Returns 0, or -1 with *why set.
 */
static int
paths_check_existing(const char *path, char **why)
{
	struct stat	 st;
	char		*copy, *slash;
	int		 rc;

	copy = xstrdup(path);
	while (lstat(copy, &st) == -1 && errno == ENOENT &&
	    (slash = strrchr(copy, '/')) != NULL && slash != copy)
		*slash = '\0';
	/* A missing directory will be made in the last one that exists. */
	rc = paths_check_chain(copy, strcmp(copy, path) == 0, 0, why);
	free(copy);
	return rc;
}

int
paths_dir(const char *dir, char **realp, char **cause)
{
	struct stat	 st, held;
	char		*probe, *real = NULL, *why, *given;
	int		 fd;

	if ((given = paths_absolute(dir, cause)) == NULL)
		return -1;
	if (paths_check_existing(given, &why) == -1)
		goto refuse;
	probe = xasprintf("%s/.", given);
	if (mkdir_parents(probe, 0700) == -1) {
		*cause = xasprintf("cannot create %s: %s", dir,
		    strerror(errno));
		free(probe);
		free(given);
		return -1;
	}
	free(probe);
	if ((real = realpath(given, NULL)) == NULL) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		free(given);
		return -1;
	}
	/* The way as written, then where it leads. */
	if (paths_check_chain(given, 1, 0, &why) == -1 ||
	    paths_check_chain(real, 1, 0, &why) == -1)
		goto refuse;
	if ((fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", real, strerror(errno));
		free(real);
		free(given);
		return -1;
	}
	/* The one checked is the one held, and it is still as checked. */
	if (lstat(real, &st) == -1 || fstat(fd, &held) == -1 ||
	    st.st_dev != held.st_dev || st.st_ino != held.st_ino) {
		close(fd);
		why = xasprintf("%s changed while it was checked", real);
		goto refuse;
	}
	if ((why = paths_distrust(real, &held, 1)) != NULL) {
		close(fd);
		goto refuse;
	}
	free(given);
	if (realp != NULL)
		*realp = real;
	else
		free(real);
	return fd;

refuse:
	*cause = xasprintf("refusing the directory %s: %s. Only root or mpd's "
	    "own user may be able to write it, or any directory above it; "
	    "safe places are /run/mpd and /var/lib/mpd for a system daemon, "
	    "$XDG_RUNTIME_DIR/mpd for a user's", dir, why);
	free(why);
	free(real);
	free(given);
	return -1;
}

int
paths_trusted_file(const char *path, char **cause)
{
	struct stat	 st, held;
	char		*given, *real = NULL, *why = NULL, *dir, *base;
	char		 who[64];
	int		 fd = -1;

	if ((given = paths_absolute(path, cause)) == NULL)
		return -1;
	paths_split(given, &dir, &base);
	/* The way as written, then where it leads, then the file itself. */
	if (paths_check_chain(dir, 1, 0, &why) == -1)
		goto refuse;
	if ((real = realpath(given, NULL)) == NULL) {
		why = xasprintf("%s: %s", path, strerror(errno));
		goto refuse;
	}
	free(dir);
	free(base);
	paths_split(real, &dir, &base);
	if (paths_check_chain(dir, 1, 0, &why) == -1)
		goto refuse;
	if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		why = xasprintf("%s: %s", real, strerror(errno));
		goto refuse;
	}
	if (fstat(fd, &held) == -1 || lstat(real, &st) == -1 ||
	    st.st_dev != held.st_dev || st.st_ino != held.st_ino) {
		why = xasprintf("%s changed while it was checked", real);
		goto refuse;
	}
	if (!S_ISREG(held.st_mode))
		why = xasprintf("%s is not a regular file", real);
	else if (held.st_uid != 0 && held.st_uid != geteuid())
		why = xasprintf("%s belongs to uid %s, not to root or to mpd's "
		    "own uid %ld", real, paths_who(held.st_uid, who,
		    sizeof who), (long)geteuid());
	else if ((held.st_mode & 022) != 0)
		why = xasprintf("%s can be written by %s (mode %04o)", real,
		    (held.st_mode & 002) ? "every user" : "its group",
		    (unsigned)(held.st_mode & 07777));
	if (why != NULL)
		goto refuse;
	free(given);
	free(real);
	free(dir);
	free(base);
	return fd;

refuse:
	*cause = xasprintf("refusing %s: %s. Only root or mpd's own user may "
	    "be able to change it, or any directory above it", path, why);
	if (fd != -1)
		close(fd);
	free(why);
	free(given);
	free(real);
	free(dir);
	free(base);
	return -1;
}

int
paths_open(int dirfd, const char *name, int flags, char **cause)
{
	struct stat	st;
	char		who[64];
	int		fd;

	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		*cause = xasprintf("%s: %s", name, errno == ELOOP ?
		    "is a symlink" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xasprintf("%s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		*cause = S_ISREG(st.st_mode) ? xasprintf("%s belongs to uid "
		    "%s, not to mpd's uid %ld", name, paths_who(st.st_uid,
		    who, sizeof who), (long)geteuid()) :
		    xasprintf("%s is not a regular file", name);
		close(fd);
		return -1;
	}
	return fd;
}

void
paths_warn_private(int dirfd, const char *dir, const char *name)
{
	struct stat	st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return;
	if ((st.st_mode & 077) != 0)
		log_warnx("%s/%s can be read or written by other users (mode "
		    "%04o): chmod 600 %s/%s", dir, name,
		    (unsigned)(st.st_mode & 07777), dir, name);
}

void
paths_split(const char *path, char **dir, char **base)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL) {
		*dir = xstrdup(".");
		*base = xstrdup(path);
	} else {
		*dir = slash == path ? xstrdup("/") :
		    xstrndup(path, (size_t)(slash - path));
		*base = xstrdup(slash + 1);
	}
}

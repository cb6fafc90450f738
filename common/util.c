/* Clocks, time formatting, default paths and directory creation. */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "xmalloc.h"

double
time_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
time_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
time_iso8601(double t, char *buf, size_t len)
{
	struct tm	tm;
	time_t		secs = (time_t)t;
	int		ms = (int)((t - (double)secs) * 1000.0);
	char		base[32];

	if (ms < 0)
		ms = 0;
	if (ms > 999)
		ms = 999;
	gmtime_r(&secs, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, ms);
}

const char *
env_get(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

struct timeval
tv_from(double secs)
{
	struct timeval	tv;

	if (!(secs > 0))
		secs = 0;
	if (secs > 1e9)
		secs = 1e9;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	return tv;
}

char *
path_default_socket(void)
{
	const char	*v;

	if ((v = env_get("MPD_SOCKET")) != NULL)
		return xstrdup(v);
	if ((v = env_get("XDG_RUNTIME_DIR")) != NULL)
		return xasprintf("%s/mpd/mpd.sock", v);
	if (geteuid() == 0)
		return xstrdup("/run/mpd/mpd.sock");
	return xasprintf("/tmp/mpd-%ld/mpd.sock", (long)geteuid());
}

char *
path_default_db(void)
{
	const char	*v;
	struct passwd	*pw;

	if ((v = env_get("XDG_STATE_HOME")) != NULL)
		return xasprintf("%s/mpd/mpd.db", v);
	if (geteuid() == 0)
		return xstrdup("/var/lib/mpd/mpd.db");
	if ((v = env_get("HOME")) == NULL) {
		if ((pw = getpwuid(geteuid())) == NULL)
			return xstrdup("mpd.db");
		v = pw->pw_dir;
	}
	return xasprintf("%s/.local/state/mpd/mpd.db", v);
}

int
mkdir_parents(const char *path, mode_t mode)
{
	char	*copy, *p;
	int	 rc = 0;

	copy = xstrdup(path);
	if ((p = strrchr(copy, '/')) == NULL || p == copy) {
		free(copy);
		return 0;
	}
	*p = '\0';
	for (p = copy + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, mode) == -1 && errno != EEXIST)
			rc = -1;
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return rc;
}

char *
path_beside(const char *path, const char *name)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(name);
	return xasprintf("%.*s/%s", (int)(slash - path + (slash == path)),
	    path, name);
}

void
utf8_scrub(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 n, k;

	while (*p != '\0') {
		n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2 :
		    (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 &&
		    *p <= 0xf4 ? 4 : 0;
		for (k = 1; k < n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				break;
		}
		if (k == n && ((n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] >= 0xa0))) || (n == 4 &&
		    ((p[0] == 0xf0 && p[1] < 0x90) ||
		    (p[0] == 0xf4 && p[1] >= 0x90)))))
			k = 0;	/* overlong, surrogate or past U+10FFFF */
		if (n == 0 || k < n) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

void
signals_reset(void)
{
	sigset_t	none;
	int		sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * systemd readiness notification. Built with libsystemd it tells the
 * service manager when mpd is ready and stopping (Type=notify), what it is
 * doing (STATUS=, sent when it changes), and that its loop turns
 * (WATCHDOG=1 at half of WATCHDOG_USEC, from a timer of the loop, so a
 * wedged loop stops it); built without, every call does nothing. Nothing
 * else in mpd knows which.
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mpd.h"
#include "util.h"
#include "xmalloc.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static struct event	*watchdog;
static struct timeval	 watchdog_every;
static char		 status_sent[256];

static void
notify_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
	evtimer_add(watchdog, &watchdog_every);
}

void
notify_init(struct event_base *base)
{
	uint64_t	usec;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	watchdog_every = tv_from((double)usec / 2e6);
	if ((watchdog = evtimer_new(base, notify_watchdog_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(watchdog, &watchdog_every);
	log_info("systemd watchdog: a sign of life every %.3f s",
	    (double)usec / 2e6);
}

void
notify_free(void)
{
	if (watchdog != NULL)
		event_free(watchdog);
	watchdog = NULL;
}

int
notify_listen_fd(char **cause)
{
	int	n = sd_listen_fds(1);

	if (n <= 0)
		return -1;
	if (n > 1) {
		*cause = xasprintf("systemd passed %d sockets; mpd takes one", n);
		return -2;
	}
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <=
	    0) {
		*cause = xasprintf("the socket systemd passed is not a listening "
		    "Unix stream socket (ListenStream= takes a path)");
		return -2;
	}
	return SD_LISTEN_FDS_START;
}

void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	va_list	ap;
	char	buf[256];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (strcmp(buf, status_sent) == 0)
		return;
	memcpy(status_sent, buf, sizeof buf);
	sd_notifyf(0, "STATUS=%s", buf);
}
#else
void
notify_init(struct event_base *base)
{
	(void)base;
}

void
notify_free(void)
{
}

int
notify_listen_fd(char **cause)
{
	(void)cause;
	return -1;
}

void
notify_ready(void)
{
}

void
notify_stopping(void)
{
}

void
notify_status(const char *fmt, ...)
{
	(void)fmt;
}
#endif

/*
 * systemd readiness notification. Built with libsystemd it tells the
 * service manager when mpd is ready and stopping (Type=notify); built
 * without, every call does nothing. Nothing else in mpd knows which.
 */
#include <stdarg.h>
#include <stdio.h>

#include "mpd.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

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
	sd_notifyf(0, "STATUS=%s", buf);
}
#else
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

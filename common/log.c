/*
 * Logging. Lines go to stderr as "mpd[tag]: message". When stderr is the
 * systemd journal (JOURNAL_STREAM names it), each line starts with the
 * sd-daemon "<N>" priority so the journal records the right level.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char		log_tag[64] = "mpd";
static enum log_level	log_max = LOG_LEVEL_INFO;
static int		log_journal;
static void		(*log_exit)(int) = exit;

/* True when our stderr is the stream that JOURNAL_STREAM describes. */
static int
log_is_journal(void)
{
	const char		*e;
	struct stat		 sb;
	unsigned long long	 dev, ino;

	if ((e = getenv("JOURNAL_STREAM")) == NULL)
		return 0;
	if (sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &sb) == -1)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

void
log_init(const char *tag, enum log_level max)
{
	log_set_tag(tag);
	log_max = max;
	log_journal = log_is_journal();
}

void
log_set_tag(const char *tag)
{
	snprintf(log_tag, sizeof log_tag, "%s", tag);
}

void
log_set_exit(void (*fn)(int))
{
	log_exit = fn;
}

int
log_level_parse(const char *s)
{
	static const char	*names[] = { "error", "warn", "info", "debug" };
	size_t			 i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	}
	return -1;
}

/* Writes one line; errnum is appended as ": strerror" when not zero. */
static void
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	static const int	 prio[] = { 3, 4, 6, 7 };
	char			 msg[2048];

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>", prio[level]);
	if (errnum != 0)
		fprintf(stderr, "%s: %s: %s\n", log_tag, msg, strerror(errnum));
	else
		fprintf(stderr, "%s: %s\n", log_tag, msg);
	fflush(stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	log_exit(1);
	_exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	log_exit(1);
	_exit(1);
}

/* Logging to stderr, tagged with the process name; priority prefixes under systemd. */
#ifndef MPD_LOG_H
#define MPD_LOG_H

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Sets the tag ("mpd[parent]") and the most verbose level printed. */
void	log_init(const char *, enum log_level);
void	log_set_tag(const char *);
/* How fatal() ends the process: exit by default, _exit in a forked child. */
void	log_set_exit(void (*)(int));
/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int	log_level_parse(const char *);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif

/* Small helpers: clocks, time formatting, default paths, directories. */
#ifndef MPD_UTIL_H
#define MPD_UTIL_H

#include <sys/time.h>
#include <sys/types.h>
#include <stddef.h>

/* Seconds since the epoch, with sub-second precision. */
double	 time_now(void);
/* A timer's interval from seconds, clamped to 0..1e9 (some 31 years). */
/* Non-empty value of an environment variable, or NULL. */
const char	*env_get(const char *);
struct timeval tv_from(double);
/* Seconds on the monotonic clock. */
double	 time_mono(void);
/* Formats epoch seconds as ISO 8601 UTC with milliseconds into buf. */
void	 time_iso8601(double, char *, size_t);
/*
 * Default socket path: $MPD_SOCKET, else $XDG_RUNTIME_DIR/mpd/mpd.sock,
 * else /run/mpd/mpd.sock as root, else /tmp/mpd-UID/mpd.sock. Newly
 * allocated.
 */
char	*path_default_socket(void);
/*
 * Default database path: $XDG_STATE_HOME/mpd/mpd.db, else
 * ~/.local/state/mpd/mpd.db, else /var/lib/mpd/mpd.db as root. Newly
 * allocated.
 */
char	*path_default_db(void);
/*
 * Replaces, in place, each byte that does not begin a well-formed UTF-8
 * sequence with '?': for messages quoting cut or invalid input.
 */
void	 utf8_scrub(char *);
/*
 * In a new child: every signal back to its default action and none
 * blocked, whatever the parent (or whoever started mpd) had set.
 */
void	 signals_reset(void);
/* The path of name in the directory of path (newly allocated). */
char	*path_beside(const char *, const char *);
/*
 * Creates the directories leading to a file path, each missing one with the
 * given mode. Returns 0, or -1 with errno set.
 */
int	 mkdir_parents(const char *, mode_t);

#endif

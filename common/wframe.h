/*
 * The parent <-> worker frames: one codec for both sides, so the words of
 * the worker protocol are written in one place. Each frame is a JSON line.
 *
 *   parent -> worker   {"job":ID,"task":T,"args":A,"kwargs":K,"uid":U,"gid":G}
 *                      (a map chunk has "items" instead of "args")
 *                      {"job":ID,"signal":SIG}  to the job's command's group
 *   worker -> parent   {"hello":{"protocol":1,...}}  an external runtime's
 *                      first frame
 *                      {"job":ID,"started":PID}  its command runs as PID
 *                      {"job":ID,"progress":[DONE,TOTAL]}  how far it is
 *                      {"job":ID,"result":N[,"error":E]} then N bytes of
 *                      result JSON and a newline; or {"job":ID,"error":E}
 */
#ifndef MPD_WFRAME_H
#define MPD_WFRAME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Room in a worker's frame line besides what a request brought (an error
 * may quote a request's argument): the cap is --max-line and this.
 */
#define WFRAME_HEAD_ROOM	((size_t)16 << 20)
/* The version of the worker protocol (proto/WORKER.md) a hello names. */
#define WFRAME_PROTOCOL		1
/* The largest total a progress frame may give (exact as a double). */
#define WFRAME_PROGRESS_MAX	((int64_t)1 << 53)

/*
 * A job for a worker (id, task name, whether it is a map chunk, its args
 * or items and kwargs as JSON text, owner uid and gid, and its context's
 * JSON text or NULL), as a line without its newline (newly allocated);
 * NULL when the name is not UTF-8.
 */
char	*wframe_job(int64_t, const char *, int, const char *, const char *,
	    int64_t, int64_t, const char *);
/* A signal for a job's command: the line's length in buf, or -1. */
int	 wframe_signal(char *, size_t, int64_t, int);

/* A worker's frame, as the parent reads it. */
struct wframe_head {
	json_t		*obj;		/* the decoded frame (owned) */
	int64_t		 job;
	int64_t		 started;	/* the command's pid; 0 none, -1 bad */
	int		 has_result;	/* result bytes follow */
	int		 has_progress;	/* a progress frame: done of total */
	int		 has_hello;	/* a runtime's hello */
	int64_t		 protocol;	/* the hello's protocol version */
	int64_t		 done;
	int64_t		 total;
	size_t		 result_len;
	json_t		*error;		/* borrowed from obj, or NULL */
	json_t		*output;	/* a runtime's captured output, or NULL */
};

/*
 * Decodes a worker's frame line: a JSON object naming its job, with a
 * result length of at least 1 if any. Returns 0, or -1 with *why set (a
 * static string) when it breaks the protocol.
 */
int	 wframe_head_parse(const char *, size_t, struct wframe_head *,
	     const char **);
/*
 * Checks what a parsed frame says: an error is an object with a message; a
 * frame with neither result nor error is a command's start, its pid above
 * 1. Returns 0, or -1 with *why set (a static string).
 */
int	 wframe_head_check(const struct wframe_head *, const char **);
void	 wframe_head_clear(struct wframe_head *);

/* A worker's progress frame (done of total), a line without newline (new). */
char	*wframe_progress(int64_t, int64_t, int64_t);
/* A worker's "started" frame, as a line without its newline (new). */
char	*wframe_started(int64_t, int64_t);
/*
 * A worker's outcome frame (its result's length when has_result, and its
 * error, borrowed, or NULL), as a line without its newline (new).
 */
char	*wframe_outcome(int64_t, int, size_t, json_t *);
/*
 * Decodes a signal frame on the worker's side: returns 1 with *job and
 * *sig set, 0 when the frame is not a signal frame.
 */
int	 wframe_signal_parse(json_t *, int64_t *, int *);

#endif

/*
 * The worker: a forked child in a blocking loop. It reads one job frame,
 * runs the task and writes one result frame; at end of file it exits.
 *
 *   parent -> worker  {"job":ID,"task":T,"args":[...],"kwargs":{...}
 *                      [,"uid":U,"gid":G]}
 *                     {"job":ID,"task":T,"items":[...],"kwargs":{...}}
 *                     {"job":ID,"signal":S}    while a command runs
 *   worker -> parent  {"job":ID,"started":PID} a command's process group
 *                     {"job":ID,"result":N}\nR\n
 *                     {"job":ID,"error":{"code":..,"message":..[,"index":K]}}
 *                     {"job":ID,"result":N,"error":E}\nR\n  (failed, output
 *                                                kept)
 *
 * A result R is N bytes of JSON text on the line after its frame, so the
 * parent stores and sends it as it is, without parsing it again.
 *
 * A frame with "items" is a map chunk: the task runs once per item with
 * the item as its only argument, and the result is the array of results;
 * the first failing item ends the chunk with its index. A signal frame
 * asks the worker to signal the process group of the command it runs; one
 * that arrives after that command ended is ignored.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "jscan.h"
#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "request.h"
#include "tasks/task.h"
#include "util.h"
#include "wframe.h"
#include "xmalloc.h"

static struct frame	 from_parent;
static const struct task_settings *settings;
static const struct task_worker	 services;	/* for tasks' processes */
static int		 wfd = -1;

/* A growing text buffer for a chunk's results. */
struct out {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

static char *
out_room(struct out *o, size_t n)
{
	while (o->cap - o->len < n)
		o->cap = o->cap == 0 ? 65536 : o->cap * 2;
	o->buf = xreallocarray(o->buf, o->cap, 1);
	return o->buf + o->len;
}

/* Appends a value's JSON: integers (the common result) by hand. */
static void
out_value(struct out *o, json_t *v)
{
	char		 digits[24], *p = digits + sizeof digits;
	json_int_t	 i;
	uint64_t	 u;
	size_t		 n;

	if (json_is_integer(v)) {
		i = json_integer_value(v);
		u = i < 0 ? -(uint64_t)i : (uint64_t)i;
		do {
			*--p = (char)('0' + u % 10);
		} while ((u /= 10) != 0);
		if (i < 0)
			*--p = '-';
		n = (size_t)(digits + sizeof digits - p);
		memcpy(out_room(o, n), p, n);
	} else {
		n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
		if (n == 0)
			fatalx("cannot encode a result");
		json_dumpb(v, out_room(o, n), n, JSON_COMPACT |
		    JSON_ENCODE_ANY);
	}
	o->len += n;
}

/*
 * One item of a chunk from its text (checked by jscan): integers, the
 * common case, without jansson's reader.
 */
static json_t *
item_value(const char *s, size_t len)
{
	char	 buf[24];
	size_t	 i;

	for (i = 0; i < len && (s[i] == '-' || (s[i] >= '0' &&
	    s[i] <= '9')); i++)
		continue;
	if (i == len && len < sizeof buf) {
		memcpy(buf, s, len);
		buf[len] = '\0';
		return json_integer(strtoll(buf, NULL, 10));
	}
	return json_loadb(s, len, JSON_DECODE_ANY, NULL);
}

/*
 * Runs a map chunk: the task once per item, its items read from their
 * text (items) or the decoded array, its results written as the text of
 * an array, which is returned (newly allocated) with *len; NULL with
 * *error set (and the failing item's index) when an item fails.
 */
static char *
worker_chunk(const struct task *t, const char *items, size_t items_len,
    json_t *array, json_t *kwargs, struct task_ctx *ctx, json_t **error,
    size_t *len)
{
	struct out	 o;
	const char	*p = items + 1, *end = items + items_len, *start;
	const char	*next, *last;
	json_t		*args, *r, *item;
	size_t		 i, n;

	memset(&o, 0, sizeof o);
	*out_room(&o, 1) = '[';
	o.len = 1;
	n = array != NULL ? json_array_size(array) : SIZE_MAX;
	for (i = 0; i < n; i++) {
		if (array != NULL)
			item = json_incref(json_array_get(array, i));
		else {
			if ((p = jscan_ws(p, end)) == end || *p == ']')
				break;
			if ((last = jscan_next(p, end, &start, &next)) ==
			    NULL || (item = item_value(start,
			    (size_t)(last - start))) == NULL)
				fatalx("bad items from the parent");
			p = next;
		}
		args = json_array();
		json_array_append_new(args, item);
		*error = NULL;
		r = task_run(t, args, kwargs, ctx, error);
		json_decref(args);
		if (*error != NULL) {
			json_decref(r);
			json_object_set_new(*error, "index",
			    json_integer((json_int_t)i));
			free(o.buf);
			return NULL;
		}
		if (i > 0) {
			*out_room(&o, 1) = ',';
			o.len++;
		}
		out_value(&o, r);
		json_decref(r);
	}
	*out_room(&o, 1) = ']';
	o.len++;
	*len = o.len;
	return o.buf;
}

/* Fills a task's context from a job frame. */
static void
worker_ctx(json_t *frame, struct task_ctx *ctx)
{
	json_t	*uid, *gid;

	memset(ctx, 0, sizeof *ctx);
	ctx->job = json_integer_value(json_object_get(frame, "job"));
	ctx->settings = settings;
	ctx->worker = &services;
	ctx->logs = json_object_get(frame, "items") == NULL;
	uid = json_object_get(frame, "uid");
	gid = json_object_get(frame, "gid");
	if (json_is_integer(uid) && json_is_integer(gid) && geteuid() == 0 &&
	    json_integer_value(uid) != 0) {
		ctx->setuser = 1;
		ctx->uid = (uid_t)json_integer_value(uid);
		ctx->gid = (gid_t)json_integer_value(gid);
	}
}

/*
 * Writes a job's outcome: its result's text of len bytes (or NULL) and
 * its error; both are stolen.
 */
static void
worker_send_outcome(int64_t id, char *text, size_t len, json_t *error)
{
	struct iovec	 iov[3];
	char		*line, nl[] = "\n";
	size_t		 hlen;

	if ((line = wframe_outcome(id, text != NULL, len, error)) == NULL)
		fatalx("cannot encode a result frame");
	json_decref(error);
	hlen = strlen(line);
	line[hlen++] = '\n';	/* replaces the NUL; length is known */
	/* One write for the frame and its result, as far as can be. */
	iov[0].iov_base = line;
	iov[0].iov_len = hlen;
	iov[1].iov_base = text;
	iov[1].iov_len = len;
	iov[2].iov_base = nl;
	iov[2].iov_len = 1;
	if (writev_all(wfd, iov, text != NULL ? 3 : 1) == -1)
		fatal("writing to the parent");
	free(line);
	free(text);
}

/*
 * A task's progress, reported as often as it likes: at most one frame a
 * tenth of a second goes to the parent, and the last report held back
 * goes once the task returns. A chunk's progress is its map's: none.
 */
static struct {
	int64_t	 job;		/* the plain job running, or 0 */
	int64_t	 sent[2];	/* done and total last sent */
	int64_t	 held[2];	/* a report not sent yet */
	int	 holding;
	double	 last;		/* when the last frame went */
} prog;

static void
worker_progress_send(int64_t done, int64_t total)
{
	char	*line;
	size_t	 len;

	prog.holding = 0;
	if (done == prog.sent[0] && total == prog.sent[1])
		return;
	prog.sent[0] = done;
	prog.sent[1] = total;
	prog.last = time_mono();
	line = wframe_progress(prog.job, done, total);
	len = strlen(line);
	line[len] = '\n';	/* replaces the NUL; length is known */
	if (write_all(wfd, line, len + 1) == -1)
		fatal("writing to the parent");
	free(line);
}

static void
worker_progress(int64_t job, int64_t done, int64_t total)
{
	if (job != prog.job || prog.job == 0 || done < 0 || total < done ||
	    total > WFRAME_PROGRESS_MAX)
		return;
	if (time_mono() - prog.last >= 0.1)
		worker_progress_send(done, total);
	else {
		prog.held[0] = done;
		prog.held[1] = total;
		prog.holding = 1;
	}
}

/* The job a task's host calls must name: the one running (a plain job's
 * or a chunk's), or NULL. */
static struct task_ctx	*running;

struct task_ctx *
worker_running(void)
{
	return running;
}

/*
 * Runs one job frame and sends its outcome. A chunk's items may have been
 * left as text (it->n >= 0): then line holds them, it->len bytes.
 */
static void
worker_run(json_t *frame, const char *line, const struct jscan_items *it)
{
	const struct task	*t;
	struct task_ctx		 ctx;
	json_t			*id, *task, *args, *items, *kwargs;
	json_t			*result = NULL, *error = NULL;
	char			*text = NULL;
	size_t			 len = 0;

	id = json_object_get(frame, "job");
	task = json_object_get(frame, "task");
	args = json_object_get(frame, "args");
	items = json_object_get(frame, "items");
	kwargs = json_object_get(frame, "kwargs");
	if (!json_is_integer(id) || !json_is_string(task) ||
	    !json_is_object(kwargs) ||
	    (!json_is_array(args) && !json_is_array(items)))
		fatalx("malformed job frame from the parent");
	worker_ctx(frame, &ctx);

	running = &ctx;
	if ((t = task_find(json_string_value(task))) == NULL)
		error = task_error(xasprintf("unknown task \"%s\"",
		    json_string_value(task)));
	else if (items != NULL && it->n >= 0)
		text = worker_chunk(t, line, it->len, NULL, kwargs, &ctx,
		    &error, &len);
	else if (items != NULL)
		text = worker_chunk(t, NULL, 0, items, kwargs, &ctx, &error,
		    &len);
	else {
		memset(&prog, 0, sizeof prog);
		prog.job = ctx.job;
		result = task_run(t, args, kwargs, &ctx, &error);
		if (prog.holding)
			worker_progress_send(prog.held[0], prog.held[1]);
		prog.job = 0;
		if (result == NULL && error == NULL)
			error = task_error(NULL);
	}
	running = NULL;
	if (result != NULL) {
		text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text == NULL)
			fatalx("cannot encode a result");
		len = strlen(text);
		json_decref(result);
	}
	worker_send_outcome(json_integer_value(id), text, len, error);
}

void
worker_started(int64_t job, pid_t pid)
{
	char	*line;
	size_t	 len;

	line = wframe_started(job, (int64_t)pid);
	len = strlen(line);
	line[len] = '\n';	/* replaces the NUL; length is known */
	if (write_all(wfd, line, len + 1) == -1)
		fatal("writing to the parent");
	free(line);
}


int
worker_control_fd(void)
{
	return wfd;
}

/* Takes the signal frames already read; returns the last signal, or 0. */
static int
worker_control_parse(int64_t job)
{
	json_t	*frame;
	char	*line;
	size_t	 len;
	int64_t	 to;
	int	 rc, sig = 0;

	while ((rc = frame_next(&from_parent, &line, &len)) == 1) {
		frame = json_loadb(line, len, 0, NULL);
		if (frame == NULL || !wframe_signal_parse(frame, &to, &sig) ||
		    to != job)
			fatalx("unexpected frame from the parent while job "
			    "%lld runs", (long long)job);
		json_decref(frame);
	}
	if (rc == -1)
		fatalx("oversized frame from the parent");
	return sig;
}

int
worker_control_pending(int64_t job)
{
	return worker_control_parse(job);
}

int
worker_control(int64_t job)
{
	ssize_t	n;

	if ((n = frame_fill(&from_parent, wfd)) == 0)
		return -1;
	if (n == -1)
		fatal("reading from the parent");
	return worker_control_parse(job);
}

void
worker_main(int fd, const struct task_settings *ts)
{
	struct req_error	 err;
	struct jscan_items	 it;
	json_t			*frame;
	char			*line, *items;
	size_t			 len;
	ssize_t			 n;
	int			 rc;

	wfd = fd;
	settings = ts;
	frame_init(&from_parent, (size_t)1 << 30);
	/* Frames were requests the parent took: no depth cap of its own. */
	request_set_max_depth(INT_MAX);
	for (;;) {
		while ((rc = frame_next(&from_parent, &line, &len)) == 0) {
			if ((n = frame_fill(&from_parent, fd)) == 0)
				_exit(0);
			if (n == -1)
				fatal("reading from the parent");
		}
		if (rc == -1)
			fatalx("oversized frame from the parent");
		/* A chunk's items stay text, read one at a time. */
		frame = request_decode_items(line, len, &err, &it);
		if (frame == NULL)
			fatalx("bad frame from the parent: %s", err.message);
		if (json_object_get(frame, "signal") != NULL) {
			/* Meant for a command that has already ended. */
			json_decref(frame);
			continue;
		}
		/* The line is the frame buffer's: a command reads it again. */
		items = NULL;
		if (it.n >= 0) {
			items = xmalloc(it.len);
			memcpy(items, line + it.off, it.len);
			it.off = 0;
		}
		worker_run(frame, items, &it);
		json_decref(frame);
		free(items);
	}
}

static const struct task_worker services = {
	worker_started,
	worker_control_fd,
	worker_control,
	worker_control_pending,
	logs_create,
	worker_progress,
};

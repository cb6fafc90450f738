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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "tasks/task.h"
#include "xmalloc.h"

static struct frame	 wframe;
static int		 wfd = -1;

/* Runs a map chunk: the task once per item. */
static json_t *
worker_chunk(const struct task *t, json_t *items, json_t *kwargs,
    struct task_ctx *ctx, json_t **error)
{
	json_t	*results, *args, *r, *item;
	size_t	 i;

	results = json_array();
	json_array_foreach(items, i, item) {
		args = json_pack("[O]", item);
		*error = NULL;
		r = t->run(args, kwargs, ctx, error);
		json_decref(args);
		if (*error != NULL) {
			json_decref(r);
			json_object_set_new(*error, "index",
			    json_integer((json_int_t)i));
			json_decref(results);
			return NULL;
		}
		json_array_append_new(results, r);
	}
	return results;
}

/* Fills a task's context from a job frame. */
static void
worker_ctx(json_t *frame, struct task_ctx *ctx)
{
	json_t	*uid, *gid;

	memset(ctx, 0, sizeof *ctx);
	ctx->job = json_integer_value(json_object_get(frame, "job"));
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

/* Writes a job's outcome: its result (stolen) and error (stolen). */
static void
worker_send_outcome(json_t *id, json_t *result, json_t *error)
{
	json_t	*head;
	char	*text = NULL, *line;
	size_t	 len = 0, hlen;

	if (result != NULL) {
		text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text == NULL)
			fatalx("cannot encode a result");
		len = strlen(text);
		json_decref(result);
	}
	head = json_pack("{s:O}", "job", id);
	if (head == NULL)
		fatalx("cannot build a result frame");
	if (text != NULL)
		json_object_set_new(head, "result", json_integer((json_int_t)
		    len));
	if (error != NULL)
		json_object_set_new(head, "error", error);
	if ((line = json_dumps(head, JSON_COMPACT)) == NULL)
		fatalx("cannot encode a result frame");
	json_decref(head);
	hlen = strlen(line);
	line[hlen++] = '\n';	/* replaces the NUL; length is known */
	if (write_all(wfd, line, hlen) == -1 || (text != NULL &&
	    (write_all(wfd, text, len) == -1 || write_all(wfd, "\n", 1) == -1)))
		fatal("writing to the parent");
	free(line);
	free(text);
}

/* Runs one job frame and sends its outcome. */
static void
worker_run(json_t *frame)
{
	const struct task	*t;
	struct task_ctx		 ctx;
	json_t			*id, *task, *args, *items, *kwargs;
	json_t			*result = NULL, *error = NULL;

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

	if ((t = task_find(json_string_value(task))) == NULL)
		error = task_error(xasprintf("unknown task \"%s\"",
		    json_string_value(task)));
	else if (items != NULL)
		result = worker_chunk(t, items, kwargs, &ctx, &error);
	else {
		result = t->run(args, kwargs, &ctx, &error);
		if (result == NULL && error == NULL)
			error = task_error(NULL);
	}
	worker_send_outcome(id, result, error);
}

/* Writes one frame to the parent. */
static void
worker_send(json_t *frame)
{
	char	*out;
	size_t	 len;

	out = json_dumps(frame, JSON_COMPACT | JSON_ENCODE_ANY);
	if (out == NULL)
		fatalx("cannot encode a frame for the parent");
	len = strlen(out);
	out[len] = '\n';	/* replaces the NUL; length is known */
	if (write_all(wfd, out, len + 1) == -1)
		fatal("writing to the parent");
	free(out);
}

void
worker_started(int64_t job, pid_t pid)
{
	json_t	*f = json_pack("{s:I, s:I}", "job", (json_int_t)job,
	    "started", (json_int_t)pid);

	worker_send(f);
	json_decref(f);
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
	int	 rc, sig = 0;

	while ((rc = frame_next(&wframe, &line, &len)) == 1) {
		frame = json_loadb(line, len, 0, NULL);
		if (frame == NULL ||
		    json_integer_value(json_object_get(frame, "job")) != job ||
		    !json_is_integer(json_object_get(frame, "signal")))
			fatalx("unexpected frame from the parent while job "
			    "%lld runs", (long long)job);
		sig = (int)json_integer_value(json_object_get(frame,
		    "signal"));
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

	if ((n = frame_fill(&wframe, wfd)) == 0)
		return -1;
	if (n == -1)
		fatal("reading from the parent");
	return worker_control_parse(job);
}

void
worker_main(int fd)
{
	json_t		*frame;
	json_error_t	 jerr;
	char		*line;
	size_t		 len;
	ssize_t		 n;
	int		 rc;

	wfd = fd;
	frame_init(&wframe, (size_t)1 << 30);
	for (;;) {
		while ((rc = frame_next(&wframe, &line, &len)) == 0) {
			if ((n = frame_fill(&wframe, fd)) == 0)
				_exit(0);
			if (n == -1)
				fatal("reading from the parent");
		}
		if (rc == -1)
			fatalx("oversized frame from the parent");
		frame = json_loadb(line, len, 0, &jerr);
		if (frame == NULL)
			fatalx("bad frame from the parent: %s", jerr.text);
		if (json_object_get(frame, "signal") != NULL) {
			/* Meant for a command that has already ended. */
			json_decref(frame);
			continue;
		}
		worker_run(frame);
		json_decref(frame);
	}
}

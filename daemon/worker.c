/*
 * The worker: a forked child in a blocking loop. It reads one job frame,
 * runs the task and writes one result frame; at end of file it exits.
 *
 *   parent -> worker  {"job":ID,"task":T,"args":[...],"kwargs":{...}}
 *                     {"job":ID,"task":T,"items":[...],"kwargs":{...}}
 *   worker -> parent  {"job":ID,"result":R}
 *                     {"job":ID,"error":{"code":..,"message":..[,"index":K]}}
 *
 * A frame with "items" is a map chunk: the task runs once per item with
 * the item as its only argument, and the result is the array of results;
 * the first failing item ends the chunk with its index.
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

/* Builds a task_error object; message is stolen. */
static json_t *
worker_error(char *message)
{
	json_t	*e;

	e = json_pack("{s:s, s:s}", "code", JOBERR_TASK, "message",
	    message != NULL ? message : "the task failed without a message");
	free(message);
	return e;
}

/* Runs a map chunk: the task once per item. */
static json_t *
worker_chunk(const struct task *t, json_t *items, json_t *kwargs,
    json_t **error)
{
	json_t	*results, *args, *r, *item;
	char	*cause;
	size_t	 i;

	results = json_array();
	json_array_foreach(items, i, item) {
		args = json_pack("[O]", item);
		cause = NULL;
		r = t->run(args, kwargs, &cause);
		json_decref(args);
		if (r == NULL) {
			*error = worker_error(cause);
			json_object_set_new(*error, "index",
			    json_integer((json_int_t)i));
			json_decref(results);
			return NULL;
		}
		json_array_append_new(results, r);
	}
	return results;
}

/* Runs one job frame and returns the reply frame (new reference). */
static json_t *
worker_run(json_t *frame)
{
	const struct task	*t;
	json_t			*id, *task, *args, *items, *kwargs;
	json_t			*result, *error = NULL, *reply;
	char			*cause = NULL;

	id = json_object_get(frame, "job");
	task = json_object_get(frame, "task");
	args = json_object_get(frame, "args");
	items = json_object_get(frame, "items");
	kwargs = json_object_get(frame, "kwargs");
	if (!json_is_integer(id) || !json_is_string(task) ||
	    !json_is_object(kwargs) ||
	    (!json_is_array(args) && !json_is_array(items)))
		fatalx("malformed job frame from the parent");

	if ((t = task_find(json_string_value(task))) == NULL) {
		error = worker_error(xasprintf("unknown task \"%s\"",
		    json_string_value(task)));
		result = NULL;
	} else if (items != NULL)
		result = worker_chunk(t, items, kwargs, &error);
	else {
		result = t->run(args, kwargs, &cause);
		if (result == NULL)
			error = worker_error(cause);
	}
	if (result != NULL)
		reply = json_pack("{s:O, s:o}", "job", id, "result", result);
	else
		reply = json_pack("{s:O, s:o}", "job", id, "error", error);
	if (reply == NULL)
		fatalx("cannot build a result frame");
	return reply;
}

void
worker_main(int fd)
{
	struct frame	 f;
	json_t		*frame, *reply;
	json_error_t	 jerr;
	char		*line, *out;
	size_t		 len;
	ssize_t		 n;
	int		 rc;

	frame_init(&f, (size_t)1 << 30);
	for (;;) {
		while ((rc = frame_next(&f, &line, &len)) == 0) {
			if ((n = frame_fill(&f, fd)) == 0)
				_exit(0);
			if (n == -1)
				fatal("reading from the parent");
		}
		if (rc == -1)
			fatalx("oversized frame from the parent");
		frame = json_loadb(line, len, 0, &jerr);
		if (frame == NULL)
			fatalx("bad frame from the parent: %s", jerr.text);
		reply = worker_run(frame);
		json_decref(frame);
		out = json_dumps(reply, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(reply);
		if (out == NULL)
			fatalx("cannot encode a result frame");
		len = strlen(out);
		out[len] = '\n';	/* replaces the NUL; length is known */
		if (write_all(fd, out, len + 1) == -1)
			fatal("writing to the parent");
		free(out);
	}
}

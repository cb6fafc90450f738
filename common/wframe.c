/* The parent <-> worker frames (see wframe.h for their shapes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wframe.h"
#include "xmalloc.h"

char *
wframe_job(int64_t id, const char *task, int chunk, const char *args,
    const char *kwargs, int64_t uid, int64_t gid, const char *context)
{
	json_t	*name = json_string(task);
	char	*quoted, *line;

	if (name == NULL)
		return NULL;
	quoted = json_dumps(name, JSON_ENCODE_ANY);
	json_decref(name);
	if (quoted == NULL)
		return NULL;
	line = xasprintf("{\"job\":%lld,\"task\":%s,\"%s\":%s,\"kwargs\":%s,"
	    "\"uid\":%lld,\"gid\":%lld%s%s}", (long long)id, quoted,
	    chunk ? "items" : "args", args, kwargs, (long long)uid,
	    (long long)gid, context != NULL ? ",\"context\":" : "",
	    context != NULL ? context : "");
	free(quoted);
	return line;
}

int
wframe_signal(char *buf, size_t len, int64_t job, int sig)
{
	int	n;

	n = snprintf(buf, len, "{\"job\":%lld,\"signal\":%d}", (long long)job,
	    sig);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
wframe_head_parse(const char *line, size_t len, struct wframe_head *h,
    const char **why)
{
	json_t	*id, *n, *started, *progress, *hello;

	memset(h, 0, sizeof *h);
	if ((h->obj = json_loadb(line, len, 0, NULL)) == NULL ||
	    !json_is_object(h->obj)) {
		*why = "sent a malformed frame";
		goto bad;
	}
	if ((hello = json_object_get(h->obj, "hello")) != NULL) {
		if (!json_is_object(hello) || !json_is_integer(
		    json_object_get(hello, "protocol")) ||
		    json_object_get(h->obj, "job") != NULL) {
			*why = "sent a malformed hello";
			goto bad;
		}
		h->has_hello = 1;
		h->protocol = json_integer_value(json_object_get(hello,
		    "protocol"));
		return 0;
	}
	id = json_object_get(h->obj, "job");
	n = json_object_get(h->obj, "result");
	started = json_object_get(h->obj, "started");
	h->error = json_object_get(h->obj, "error");
	/* A result frame must carry at least one byte. */
	if (n != NULL && (!json_is_integer(n) || json_integer_value(n) < 1)) {
		*why = "sent a malformed frame";
		goto bad;
	}
	if (!json_is_integer(id) || json_integer_value(id) < 1) {
		*why = "sent a frame that does not answer its job";
		goto bad;
	}
	h->job = json_integer_value(id);
	if ((h->output = json_object_get(h->obj, "output")) != NULL &&
	    (!json_is_object(h->output) || (n == NULL && h->error == NULL))) {
		*why = "sent a malformed output";
		goto bad;
	}
	if (n != NULL) {
		h->has_result = 1;
		h->result_len = (size_t)json_integer_value(n);
	}
	if (json_is_integer(started))
		h->started = json_integer_value(started);
	else if (started != NULL)
		h->started = -1;
	if ((progress = json_object_get(h->obj, "progress")) != NULL) {
		if (!json_is_array(progress) || json_array_size(progress) != 2 ||
		    !json_is_integer(json_array_get(progress, 0)) ||
		    !json_is_integer(json_array_get(progress, 1)) ||
		    (h->done = json_integer_value(json_array_get(progress,
		    0))) < 0 || (h->total = json_integer_value(
		    json_array_get(progress, 1))) < h->done ||
		    h->total > WFRAME_PROGRESS_MAX || n != NULL ||
		    h->error != NULL || started != NULL) {
			*why = "sent a malformed progress frame";
			goto bad;
		}
		h->has_progress = 1;
	}
	return 0;
bad:
	wframe_head_clear(h);
	return -1;
}

int
wframe_head_check(const struct wframe_head *h, const char **why)
{
	if (h->error != NULL && (!json_is_object(h->error) ||
	    !json_is_string(json_object_get(h->error, "message")))) {
		*why = "sent a frame that does not answer its job";
		return -1;
	}
	if (h->has_progress)
		return 0;
	if (!h->has_result && h->error == NULL) {
		/* A command started (its pid, for status and logs). */
		if (json_object_get(h->obj, "started") == NULL ||
		    h->started == -1) {
			*why = "sent a frame that does not answer its job";
			return -1;
		}
		if (h->started <= 1) {
			*why = "sent a bad command pid";
			return -1;
		}
	}
	return 0;
}

void
wframe_head_clear(struct wframe_head *h)
{
	json_decref(h->obj);
	memset(h, 0, sizeof *h);
}

char *
wframe_progress(int64_t job, int64_t done, int64_t total)
{
	return xasprintf("{\"job\":%lld,\"progress\":[%lld,%lld]}",
	    (long long)job, (long long)done, (long long)total);
}

char *
wframe_started(int64_t job, int64_t pid)
{
	return xasprintf("{\"job\":%lld,\"started\":%lld}", (long long)job,
	    (long long)pid);
}

char *
wframe_outcome(int64_t job, int has_result, size_t len, json_t *error)
{
	json_t	*head;
	char	*line;

	if ((head = json_pack("{s:I}", "job", (json_int_t)job)) == NULL)
		return NULL;
	if (has_result)
		json_object_set_new(head, "result", json_integer((json_int_t)
		    len));
	if (error != NULL)
		json_object_set(head, "error", error);
	line = json_dumps(head, JSON_COMPACT);
	json_decref(head);
	return line;
}

int
wframe_signal_parse(json_t *frame, int64_t *job, int *sig)
{
	json_t	*s = json_object_get(frame, "signal");

	if (!json_is_integer(s))
		return 0;
	*job = json_integer_value(json_object_get(frame, "job"));
	*sig = (int)json_integer_value(s);
	return 1;
}

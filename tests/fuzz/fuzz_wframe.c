/*
 * libFuzzer harness for the worker frame codec (common/wframe.c): what the
 * daemon makes of a worker's bytes, and the frames it builds for workers.
 *
 * One input is used three ways:
 *   1. as a worker's frame line, through wframe_head_parse (a job id, a
 *      result of at least one byte) and wframe_head_check (an error
 *      object with a message, a command pid above 1); a frame both accept
 *      must encode again (wframe_outcome, wframe_started) to a frame that
 *      parses to the same fields;
 *   2. as JSON, through wframe_signal_parse, whose answer must agree with
 *      the frame's "signal" member, and whose signal frame must build;
 *   3. as a task name for wframe_job: a frame it builds must be one JSON
 *      object naming that task.
 * abort() marks a broken contract; the sanitizers report the rest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "wframe.h"

/* Parses line again and checks it has the fields of want. */
static void
same(const char *line, const struct wframe_head *want)
{
	struct wframe_head	 h;
	const char		*why;

	if (line == NULL || wframe_head_parse(line, strlen(line), &h, &why)
	    == -1 || wframe_head_check(&h, &why) == -1)
		abort();
	/* A start's pid is kept only by a start frame. */
	if (h.job != want->job || h.has_result != want->has_result ||
	    h.result_len != want->result_len ||
	    (!h.has_result && h.error == NULL && h.started != want->started) ||
	    (h.error == NULL) != (want->error == NULL) ||
	    (h.error != NULL && !json_equal(h.error, want->error)))
		abort();
	wframe_head_clear(&h);
}

static void
fuzz_head(const char *data, size_t size)
{
	struct wframe_head	 h;
	const char		*why = NULL;
	char			*line;

	if (wframe_head_parse(data, size, &h, &why) == -1) {
		if (why == NULL || h.obj != NULL)
			abort();
		return;
	}
	if (h.job < 1 || (h.has_result && h.result_len < 1))
		abort();
	if (wframe_head_check(&h, &why) == -1) {
		wframe_head_clear(&h);
		return;
	}
	if ((h.error != NULL && !json_is_string(json_object_get(h.error,
	    "message"))) || (!h.has_result && h.error == NULL &&
	    h.started <= 1))
		abort();
	if (h.has_result || h.error != NULL)
		line = wframe_outcome(h.job, h.has_result, h.result_len,
		    h.error);
	else
		line = wframe_started(h.job, h.started);
	same(line, &h);
	free(line);
	wframe_head_clear(&h);
}

static void
fuzz_signal(const char *data, size_t size)
{
	json_t	*frame;
	int64_t	 job;
	int	 sig;
	char	 buf[96];

	if ((frame = json_loadb(data, size, 0, NULL)) == NULL)
		return;
	if (wframe_signal_parse(frame, &job, &sig) !=
	    json_is_integer(json_object_get(frame, "signal")))
		abort();
	if (json_is_integer(json_object_get(frame, "signal")) &&
	    wframe_signal(buf, sizeof buf, job, sig) == -1)
		abort();
	json_decref(frame);
}

static void
fuzz_job(const char *data, size_t size)
{
	json_t	*frame;
	char	*name, *line;

	name = malloc(size + 1);
	if (name == NULL)
		return;
	memcpy(name, data, size);
	name[size] = '\0';
	if ((line = wframe_job(7, name, size % 2, "[1,2]", "{}", 1000,
	    1000, size % 3 == 0 ? "{\"cwd\":\"/\"}" : NULL)) != NULL) {
		frame = json_loads(line, 0, NULL);
		if (frame == NULL || !json_is_object(frame) ||
		    !json_is_string(json_object_get(frame, "task")) ||
		    strcmp(json_string_value(json_object_get(frame, "task")),
		    name) != 0)
			abort();
		json_decref(frame);
		free(line);
	}
	free(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_head((const char *)data, size);
	fuzz_signal((const char *)data, size);
	fuzz_job((const char *)data, size);
	return 0;
}

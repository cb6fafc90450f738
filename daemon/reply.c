/*
 * Replies as the protocol spells them: {"req":tag,"ok":...}, errors with a
 * code and message, a job's outcome with its stored result and error
 * spliced in as text, and a command's output (logs). Queued on the client
 * until the tick's commit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "store.h"
#include "tasks/task.h"
#include "util.h"

static struct store	*store;	/* jobs and map results are read from it */

void
reply_init(struct store *s)
{
	store = s;
}

json_t *
reply_new(json_t *tag, int ok)
{
	json_t	*r = json_object();

	if (tag != NULL)
		json_object_set(r, "req", tag);
	json_object_set_new(r, "ok", json_boolean(ok));
	return r;
}

void
reply_ok(struct client *c, json_t *tag, json_t *body)
{
	json_t	*r = reply_new(tag, 1);

	if (body != NULL) {
		json_object_update(r, body);
		json_decref(body);
	}
	client_reply(c, r);
}

void
reply_error(struct client *c, json_t *tag, const char *code, const char *fmt,
    ...)
{
	json_t	*r = reply_new(tag, 0);
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	/* Quoted input may be cut mid-character or be invalid UTF-8. */
	utf8_scrub(msg);
	json_object_set_new(r, "error", json_pack("{s:s, s:s}", "code", code,
	    "message", msg));
	free(msg);
	client_reply(c, r);
}

/*
 * The tail of a reply whose head is a dumped object without its closing
 * brace: the stored result and error spliced in as raw JSON text (never
 * parsed to be sent), the brace and the newline. New, with one reference.
 */
static struct shared *
reply_tail(const char *result, const char *error)
{
	const char	*parts[5];
	size_t		 lens[5];
	int		 n = 0;

	if (result != NULL) {
		parts[n] = ",\"result\":";
		lens[n++] = 10;
		parts[n] = result;
		lens[n++] = strlen(result);
	}
	if (error != NULL) {
		parts[n] = ",\"error\":";
		lens[n++] = 9;
		parts[n] = error;
		lens[n++] = strlen(error);
	}
	parts[n] = "}\n";
	lens[n++] = 2;
	return shared_new(parts, lens, n);
}

/* Whether a job is a runtime's function that printed (in its logs). */
static int
reply_printed(const struct job *j)
{
	int64_t	sizes[2];

	if (j->kind != KIND_JOB || !job_state_final(j->state) ||
	    task_find(j->task) != NULL)
		return 0;
	logs_sizes(j->id, sizes);
	return sizes[0] > 0 || sizes[1] > 0;
}

/*
 * A get's reply head for a loaded job (printed: reply_printed's), as text
 * without the closing brace (new).
 */
static char *
reply_head(json_t *tag, const struct job *j, int printed, size_t *len)
{
	json_t	*r;
	char	*head;

	r = reply_new(tag, 1);
	json_object_set_new(r, "job", json_integer(j->id));
	json_object_set_new(r, "state", json_string(job_state_name(
	    j->state)));
	if (printed)
		json_object_set_new(r, "output", json_true());
	if ((head = json_dumps(r, JSON_COMPACT)) == NULL)
		fatalx("cannot encode a reply");
	json_decref(r);
	*len = strlen(head) - 1;	/* without the closing brace */
	return head;
}

/* A map's results stay in its chunks, joined when asked for: 0 or -1. */
static int
reply_map_result(struct job *j)
{
	if (j->kind == KIND_MAP && j->state == JOB_DONE && j->result == NULL &&
	    (j->result = store_map_result(store, j->id)) == NULL)
		return -1;
	return 0;
}

void
reply_loaded(struct client *c, json_t *tag, struct job *j)
{
	struct shared	*tail;
	char		*head;
	size_t		 len;

	if (reply_map_result(j) == -1) {
		reply_error(c, tag, ERR_INTERNAL, "the results of map %lld "
		    "cannot be read (see the daemon's log)", (long long)j->id);
		return;
	}
	head = reply_head(tag, j, reply_printed(j), &len);
	tail = reply_tail(j->result, j->error);
	client_reply_shared(c, head, len, tail);
	shared_unref(tail);
	free(head);
}

void
reply_job_all(int64_t id, struct client **cs, json_t **tags, size_t n)
{
	struct shared	*tail;
	struct job	 j;
	char		*head;
	size_t		 i, len;
	int		 printed;

	if (store_get(store, id, &j) != 1) {
		for (i = 0; i < n; i++)
			reply_error(cs[i], tags[i], ERR_NOT_FOUND, "job %lld "
			    "does not exist", (long long)id);
		return;
	}
	if (reply_map_result(&j) == -1) {
		for (i = 0; i < n; i++)
			reply_error(cs[i], tags[i], ERR_INTERNAL, "the results "
			    "of map %lld cannot be read (see the daemon's log)",
			    (long long)id);
		job_clear(&j);
		return;
	}
	/* However many wait, the result is one copy, its logs seen once. */
	tail = reply_tail(j.result, j.error);
	printed = reply_printed(&j);
	for (i = 0; i < n; i++) {
		head = reply_head(tags[i], &j, printed, &len);
		client_reply_shared(cs[i], head, len, tail);
		free(head);
	}
	shared_unref(tail);
	job_clear(&j);
}


static const char	*streams[2] = { "stdout", "stderr" };

/* True when the job is a command that has started: its files are its. */
static int
logs_of_command(const struct job *j)
{
	const struct task	*t = task_find(j->task);

	return j->kind == KIND_JOB && ((t != NULL && t->command) ||
	    (t == NULL && function_name_ok(j->task))) && j->started > 0;
}

int
logs_reply(struct client *c, json_t *tag, const struct job *j, int64_t *off,
    int wait)
{
	json_t		*r;
	char		*data[2], *text;
	size_t		 len[2];
	int		 more[2], i, ended, own;

	ended = job_state_final(j->state);
	/* Only a command that has run has logs: any file is not its own. */
	own = logs_of_command(j);
	for (i = 0; i < 2; i++) {
		if (own)
			len[i] = logs_read(j->id, i, off[i], &data[i],
			    &more[i]);
		else {
			len[i] = 0;
			data[i] = NULL;
			more[i] = 0;
		}
	}
	if (wait && !ended && len[0] == 0 && len[1] == 0) {
		free(data[0]);
		free(data[1]);
		return 0;
	}
	r = reply_new(tag, 1);
	json_object_set_new(r, "job", json_integer(j->id));
	json_object_set_new(r, "state", json_string(job_state_name(j->state)));
	json_object_set_new(r, "attempt", json_integer(j->attempts));
	for (i = 0; i < 2; i++) {
		text = base64_encode(data[i] != NULL ? data[i] : "", len[i]);
		json_object_set_new(r, streams[i], json_pack("{s:I, s:s}",
		    "offset", (json_int_t)off[i], "data", text));
		free(text);
		free(data[i]);
	}
	json_object_set_new(r, "end", json_boolean(ended && !more[0] &&
	    !more[1]));
	client_reply(c, r);
	return 1;
}

int
logs_answer(struct client *c, json_t *tag, int64_t job, int64_t *off,
    int wait)
{
	struct job	 j;
	int		 rc;

	if (store_get(store, job, &j) != 1) {
		reply_error(c, tag, ERR_NOT_FOUND, "job %lld does not exist",
		    (long long)job);
		return 1;
	}
	rc = logs_reply(c, tag, &j, off, wait);
	job_clear(&j);
	return rc;
}

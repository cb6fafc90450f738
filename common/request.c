/* Decoding and checking client requests against the table of ops. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "request.h"
#include "util.h"
#include "xmalloc.h"

/* Lines shorter than this are decoded whole, items and all. */
static size_t	items_text_min = 4096;

enum field_type {
	T_TAG,		/* integer or string: the client's req tag */
	T_ID,		/* integer >= 1 */
	T_COUNT,	/* integer >= 1 */
	T_INT,		/* any integer */
	T_SECONDS,	/* number >= 0 */
	T_LIMIT,	/* number of seconds from 0 to 1e9: a time limit */
	T_STRING,	/* non-empty string */
	T_ARRAY,
	T_OBJECT,
	T_STATE,	/* a job state's name */
	T_MODE,		/* a shutdown mode */
	T_OFFSET,	/* integer >= 0: a byte offset */
	T_RETRY,	/* array of retry causes */
	T_FACTOR,	/* number from 1 to 1000 */
	T_BOOL,
};

struct field {
	const char	*name;
	enum field_type	 type;
	int		 required;
};

struct op_spec {
	const char		*op;
	const struct field	*fields;
};

#define COMMON_FIELDS { "op", T_STRING, 1 }, { "req", T_TAG, 0 }
/* Fields of submit and map: the pool, a full queue, and retries. */
#define POLICY_FIELDS { "pool", T_STRING, 0 }, { "block", T_BOOL, 0 }, \
	{ "block_timeout", T_SECONDS, 0 }, { "retry_on", T_RETRY, 0 }, \
	{ "retry_delay", T_LIMIT, 0 }, { "retry_factor", T_FACTOR, 0 }, \
	{ "retry_max", T_LIMIT, 0 }

static const struct field hello_fields[] = {
	COMMON_FIELDS, { "version", T_INT, 0 }, { "client", T_STRING, 0 },
	{ NULL, 0, 0 }
};
static const struct field submit_fields[] = {
	COMMON_FIELDS, { "task", T_STRING, 1 }, { "args", T_ARRAY, 0 },
	{ "kwargs", T_OBJECT, 0 }, { "name", T_STRING, 0 },
	{ "priority", T_INT, 0 }, { "max_attempts", T_COUNT, 0 },
	{ "timeout", T_LIMIT, 0 }, { "context", T_OBJECT, 0 }, POLICY_FIELDS,
	{ NULL, 0, 0 }
};
static const struct field map_fields[] = {
	COMMON_FIELDS, { "task", T_STRING, 1 }, { "items", T_ARRAY, 1 },
	{ "kwargs", T_OBJECT, 0 }, { "chunksize", T_COUNT, 0 },
	{ "name", T_STRING, 0 }, { "priority", T_INT, 0 },
	{ "max_attempts", T_COUNT, 0 }, { "timeout", T_LIMIT, 0 },
	{ "context", T_OBJECT, 0 }, POLICY_FIELDS, { NULL, 0, 0 }
};
static const struct field get_fields[] = {
	COMMON_FIELDS, { "job", T_ID, 1 }, { "timeout", T_SECONDS, 0 },
	{ NULL, 0, 0 }
};
static const struct field status_fields[] = {
	COMMON_FIELDS, { "job", T_ID, 0 }, { NULL, 0, 0 }
};
static const struct field list_fields[] = {
	COMMON_FIELDS, { "state", T_STATE, 0 }, { "limit", T_COUNT, 0 },
	{ NULL, 0, 0 }
};
static const struct field job_fields[] = {
	COMMON_FIELDS, { "job", T_ID, 1 }, { NULL, 0, 0 }
};
static const struct field logs_fields[] = {
	COMMON_FIELDS, { "job", T_ID, 1 }, { "stdout", T_OFFSET, 0 },
	{ "stderr", T_OFFSET, 0 }, { "wait", T_BOOL, 0 }, { NULL, 0, 0 }
};
static const struct field pools_fields[] = {
	COMMON_FIELDS, { NULL, 0, 0 }
};
static const struct field pool_fields[] = {
	COMMON_FIELDS, { "pool", T_STRING, 1 }, { NULL, 0, 0 }
};
static const struct field pool_size_fields[] = {
	COMMON_FIELDS, { "pool", T_STRING, 1 }, { "size", T_COUNT, 1 },
	{ NULL, 0, 0 }
};
static const struct field pool_add_fields[] = {
	COMMON_FIELDS, { "pool", T_STRING, 1 }, { "size", T_COUNT, 1 },
	{ "runtime", T_STRING, 0 }, { NULL, 0, 0 }
};
static const struct field shutdown_fields[] = {
	COMMON_FIELDS, { "mode", T_MODE, 0 }, { NULL, 0, 0 }
};

static const struct op_spec ops[] = {
	{ OP_HELLO, hello_fields },
	{ OP_SUBMIT, submit_fields },
	{ OP_MAP, map_fields },
	{ OP_GET, get_fields },
	{ OP_STATUS, status_fields },
	{ OP_LIST, list_fields },
	{ OP_CANCEL, job_fields },
	{ OP_FORGET, job_fields },
	{ OP_LOGS, logs_fields },
	{ OP_SHUTDOWN, shutdown_fields },
	{ OP_POOLS, pools_fields },
	{ OP_POOL_RESIZE, pool_size_fields },
	{ OP_POOL_PAUSE, pool_fields },
	{ OP_POOL_RESUME, pool_fields },
	{ OP_POOL_ADD, pool_add_fields },
	{ OP_POOL_REMOVE, pool_fields },
};

static int	max_depth = PROTO_MAX_DEPTH;

void
request_set_max_depth(int depth)
{
	max_depth = depth;
}

/*
 * The deepest nesting of arrays and objects in JSON text, counted without
 * parsing (brackets inside strings do not count), so that jansson never
 * sees a document deep enough to exhaust the stack of its recursive
 * decoder, encoder or copier.
 */
static int
json_depth(const char *s, size_t len)
{
	size_t	i;
	int	depth = 0, deepest = 0, in_string = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > deepest)
				deepest = depth;
			break;
		case ']':
		case '}':
			depth--;
			break;
		}
	}
	return deepest;
}

static json_t	*request_decode1(const char *, size_t, struct req_error *);
static const char *request_check1(json_t *, struct req_error *);

/*
 * Messages quote the input (cut at a byte count) and jansson's words: make
 * sure they are UTF-8 before they go into a JSON reply.
 */
json_t *
request_decode(const char *line, size_t len, struct req_error *err)
{
	json_t	*req = request_decode1(line, len, err);

	if (req == NULL)
		utf8_scrub(err->message);
	return req;
}

const char *
request_check(json_t *req, struct req_error *err)
{
	const char	*op = request_check1(req, err);

	if (op == NULL)
		utf8_scrub(err->message);
	return op;
}

void
request_set_items_min(size_t len)
{
	items_text_min = len;
}

/* request_decode_items, and with args as well as items when asked. */
static json_t *
request_decode_text(const char *line, size_t len, struct req_error *err,
    struct jscan_items *it, int args)
{
	json_t		*req;
	json_error_t	 jerr;
	char		*rest;
	size_t		 tail;

	if (len < items_text_min || json_depth(line, len) > max_depth ||
	    (jscan_items(line, len, it) != 1 && (!args ||
	    jscan_member(line, len, "args", it) != 1))) {
		it->n = -1;
		return request_decode(line, len, err);
	}
	/* The line with "[]" for the items: jansson judges the rest. */
	tail = len - it->off - it->len;
	rest = xmalloc(it->off + 2 + tail);
	memcpy(rest, line, it->off);
	memcpy(rest + it->off, "[]", 2);
	memcpy(rest + it->off + 2, line + it->off + it->len, tail);
	req = json_loadb(rest, it->off + 2 + tail, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES, &jerr);
	free(rest);
	if (json_is_object(req))
		return req;
	/* Wrong somewhere: the whole line, for the words to say so. */
	json_decref(req);
	it->n = -1;
	return request_decode(line, len, err);
}

json_t *
request_decode_items(const char *line, size_t len, struct req_error *err,
    struct jscan_items *it)
{
	return request_decode_text(line, len, err, it, 0);
}

json_t *
request_decode_long(const char *line, size_t len, struct req_error *err,
    struct jscan_items *it)
{
	return request_decode_text(line, len, err, it, 1);
}

static json_t *
request_decode1(const char *line, size_t len, struct req_error *err)
{
	json_t		*req;
	json_error_t	 jerr;

	if (json_depth(line, len) > max_depth) {
		err->code = ERR_BAD_REQUEST;
		snprintf(err->message, sizeof err->message,
		    "JSON nested deeper than %d levels", max_depth);
		return NULL;
	}

	req = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (req == NULL) {
		err->code = ERR_BAD_JSON;
		snprintf(err->message, sizeof err->message,
		    "malformed JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(req)) {
		json_decref(req);
		err->code = ERR_BAD_REQUEST;
		snprintf(err->message, sizeof err->message,
		    "a request must be a JSON object");
		return NULL;
	}
	return req;
}

/* Returns a phrase naming what a field of this type must be. */
static const char *
field_want(enum field_type type)
{
	switch (type) {
	case T_TAG:
		return "an integer or a string";
	case T_ID:
		return "a positive integer (a job id)";
	case T_COUNT:
		return "an integer from 1 to 2147483647";
	case T_INT:
		return "an integer from -2147483648 to 2147483647";
	case T_SECONDS:
		return "a number of seconds, zero or more";
	case T_LIMIT:
		return "a number of seconds from 0 (no limit) to 1e9";
	case T_STRING:
		return "a non-empty string";
	case T_ARRAY:
		return "an array";
	case T_OBJECT:
		return "an object";
	case T_STATE:
		return "one of queued, running, done, failed, timeout, "
		    "cancelled";
	case T_MODE:
		return "one of graceful, drain, now";
	case T_OFFSET:
		return "an integer, zero or more (a byte offset)";
	case T_RETRY:
		return "an array of retry causes: worker_died, interrupted, "
		    "timeout, error";
	case T_FACTOR:
		return "a number from 1 to 1000";
	case T_BOOL:
		return "true or false";
	}
	return "?";
}

/* True when v is a valid value for a field of this type. */
static int
field_ok(enum field_type type, json_t *v)
{
	const char	*s;
	json_t		*e;
	size_t		 i;

	switch (type) {
	case T_TAG:
		return json_is_integer(v) || json_is_string(v);
	case T_ID:
		return json_is_integer(v) && json_integer_value(v) >= 1;
	case T_COUNT:
		return json_is_integer(v) && json_integer_value(v) >= 1 &&
		    json_integer_value(v) <= INT32_MAX;
	case T_INT:
		return json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
		    json_integer_value(v) <= INT32_MAX;
	case T_SECONDS:
		return json_is_number(v) && json_number_value(v) >= 0;
	case T_LIMIT:
		return json_is_number(v) && json_number_value(v) >= 0 &&
		    json_number_value(v) <= 1e9;
	case T_STRING:
		return json_is_string(v) && json_string_length(v) > 0;
	case T_ARRAY:
		return json_is_array(v);
	case T_OBJECT:
		return json_is_object(v);
	case T_STATE:
		return json_is_string(v) &&
		    job_state_parse(json_string_value(v)) != -1;
	case T_OFFSET:
		return json_is_integer(v) && json_integer_value(v) >= 0;
	case T_RETRY:
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    retry_cause(json_string_value(e)) == 0)
				return 0;
		}
		return 1;
	case T_FACTOR:
		return json_is_number(v) && json_number_value(v) >= 1 &&
		    json_number_value(v) <= 1000;
	case T_BOOL:
		return json_is_boolean(v);
	case T_MODE:
		if (!json_is_string(v))
			return 0;
		s = json_string_value(v);
		return strcmp(s, "graceful") == 0 || strcmp(s, "drain") == 0 ||
		    strcmp(s, "now") == 0;
	}
	return 0;
}

/* Finds a field by name in an op's list, or NULL. */
static const struct field *
field_find(const struct field *fields, const char *name)
{
	for (; fields->name != NULL; fields++) {
		if (strcmp(fields->name, name) == 0)
			return fields;
	}
	return NULL;
}

static const char *
request_check1(json_t *req, struct req_error *err)
{
	const struct op_spec	*spec = NULL;
	const struct field	*f;
	json_t			*op, *v;
	const char		*key;
	size_t			 i;

	op = json_object_get(req, "op");
	if (op == NULL || !json_is_string(op)) {
		err->code = ERR_BAD_REQUEST;
		snprintf(err->message, sizeof err->message,
		    "the request has no \"op\" string");
		return NULL;
	}
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(ops[i].op, json_string_value(op)) == 0) {
			spec = &ops[i];
			break;
		}
	}
	if (spec == NULL) {
		err->code = ERR_UNKNOWN_OP;
		snprintf(err->message, sizeof err->message,
		    "unknown op \"%.64s\"", json_string_value(op));
		return NULL;
	}
	json_object_foreach(req, key, v) {
		if ((f = field_find(spec->fields, key)) == NULL) {
			err->code = ERR_BAD_REQUEST;
			snprintf(err->message, sizeof err->message,
			    "op \"%s\" has no field \"%.64s\"", spec->op, key);
			return NULL;
		}
		if (!field_ok(f->type, v)) {
			err->code = ERR_BAD_REQUEST;
			snprintf(err->message, sizeof err->message,
			    "field \"%s\" of op \"%s\" must be %s", key,
			    spec->op, field_want(f->type));
			return NULL;
		}
	}
	for (f = spec->fields; f->name != NULL; f++) {
		if (f->required && json_object_get(req, f->name) == NULL) {
			err->code = ERR_BAD_REQUEST;
			snprintf(err->message, sizeof err->message,
			    "op \"%s\" needs field \"%s\" (%s)", spec->op,
			    f->name, field_want(f->type));
			return NULL;
		}
	}
	return spec->op;
}

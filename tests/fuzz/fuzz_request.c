/*
 * libFuzzer harness for what the daemon does with a client's bytes before
 * any op runs: request_decode and request_check (common/request.c), and the
 * newline framing of common/frame.c that workers and the client library use
 * with the same cap.
 *
 * One input is used three ways:
 *   1. the whole input as one request line, as client_line() sees it;
 *   2. the input as a byte stream through a frame with the default cap,
 *      pushed in chunks, each complete line then decoded and checked;
 *   3. the same stream through a frame with a tiny cap, every answer of
 *      frame_next compared with a model of what it must answer.
 *
 * Besides the sanitizers' own findings (out-of-bounds reads, leaks,
 * undefined behaviour), abort() marks a broken contract:
 *   - an error reply must have a code and a message that the daemon
 *     can put in a JSON string (valid UTF-8; reply_error() drops an error
 *     object whose message jansson refuses, leaving {"ok":false} alone);
 *   - a request that decodes must re-encode and decode to an equal object
 *     that the checker judges exactly the same way;
 *   - request_check may accept only the op that the request's own "op"
 *     names;
 *   - jscan (common/jscan.c) accepts a value exactly when jansson does,
 *     for values without objects (it leaves objects to jansson) or NUL
 *     bytes, and a line whose items it leaves as text decodes as the
 *     whole line does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "frame.h"
#include "jscan.h"
#include "proto.h"
#include "request.h"

#define FUZZ_SMALL_CAP	64	/* largest cap tried in the framing model */

/* Stops the run with a reason; libFuzzer saves the input as a crash. */
static void
fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_request: %s%s%s\n", what,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	abort();
}

/*
 * True for a plausible error code: lower-case letters and underscores.
 * (The exact set grows with the protocol; proto.h is its one list.)
 */
static int
code_ok(const char *code)
{
	if (code == NULL || *code == '\0')
		return 0;
	return strspn(code, "abcdefghijklmnopqrstuvwxyz_") == strlen(code);
}

/* Checks an error from decode or check: a code, a sendable message. */
static void
check_error(const struct req_error *err)
{
	json_t	*s;

	if (!code_ok(err->code))
		fuzz_fail("bad error code",
		    err->code != NULL ? err->code : "(null)");
	if (memchr(err->message, '\0', sizeof err->message) == NULL)
		fuzz_fail("error message not terminated", NULL);
	if (err->message[0] == '\0')
		fuzz_fail("empty error message", err->code);
	/* The daemon sends the message as a JSON string: it must be one. */
	if ((s = json_string(err->message)) == NULL)
		fuzz_fail("error message is not valid UTF-8 (the daemon "
		    "would answer {\"ok\":false} without an error object)",
		    err->message);
	json_decref(s);
}

/*
 * Decodes and checks one line the way the daemon does. Returns the op
 * accepted, or NULL with err describing the refusal; *out is the decoded
 * request (the caller's reference) or NULL.
 */
static const char *
decode_and_check(const char *line, size_t len, struct req_error *err,
    json_t **out)
{
	json_t		*req, *op;
	const char	*name;

	memset(err, 0, sizeof *err);
	*out = NULL;
	if ((req = request_decode(line, len, err)) == NULL) {
		check_error(err);
		return NULL;
	}
	if (!json_is_object(req))
		fuzz_fail("request_decode returned a non-object", NULL);
	*out = req;
	memset(err, 0, sizeof *err);
	if ((name = request_check(req, err)) == NULL) {
		check_error(err);
		return NULL;
	}
	op = json_object_get(req, "op");
	if (!json_is_string(op) || strcmp(json_string_value(op), name) != 0)
		fuzz_fail("request_check accepted an op the request does not "
		    "name", name);
	return name;
}

/* One request line: the checks, then the re-encoding round trip. */
static void
fuzz_line(const char *line, size_t len)
{
	struct req_error	 err1, err2;
	const char		*op1, *op2;
	json_t			*req1, *req2;
	char			*text;

	op1 = decode_and_check(line, len, &err1, &req1);
	if (req1 == NULL)
		return;
	text = json_dumps(req1, JSON_COMPACT);
	if (text == NULL)
		fuzz_fail("a decoded request cannot be encoded again", NULL);
	op2 = decode_and_check(text, strlen(text), &err2, &req2);
	if (req2 == NULL)
		fuzz_fail("a re-encoded request no longer decodes", text);
	if (!json_equal(req1, req2))
		fuzz_fail("a re-encoded request decodes to something else",
		    text);
	if ((op1 == NULL) != (op2 == NULL) ||
	    (op1 != NULL && strcmp(op1, op2) != 0))
		fuzz_fail("the checker judges a re-encoded request "
		    "differently", text);
	if (op1 == NULL && (strcmp(err1.code, err2.code) != 0 ||
	    strcmp(err1.message, err2.message) != 0))
		fuzz_fail("a re-encoded request gets another error", text);
	free(text);
	json_decref(req1);
	json_decref(req2);
}

/* True when a decoded value holds an object anywhere. */
static int
has_object(json_t *v)
{
	json_t	*e;
	size_t	 i;

	if (json_is_object(v))
		return 1;
	json_array_foreach(v, i, e) {
		if (has_object(e))
			return 1;
	}
	return 0;
}

/* jscan and jansson judge a value alike. */
static void
fuzz_jscan(const char *text, size_t len)
{
	const char	*end = jscan_value(text, text + len);
	json_t		*v = json_loadb(text, len, JSON_DECODE_ANY, NULL);

	while (end != NULL && end < text + len && (*end == ' ' ||
	    *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end == text + len && v == NULL)
		fuzz_fail("jscan accepts what jansson rejects", NULL);
	/* (jansson takes a NUL byte for the end of its input.) */
	if (v != NULL && end != text + len && !has_object(v) &&
	    memchr(text, '\0', len) == NULL)
		fuzz_fail("jscan rejects what jansson accepts", NULL);
	json_decref(v);
}

/*
 * A line with its items (or, with request_decode_long, its args) left as
 * text decodes as the whole line does.
 */
static void
fuzz_items(const char *line, size_t len, int args)
{
	struct req_error	 err1, err2;
	struct jscan_items	 it;
	json_t			*lazy, *whole, *items;

	request_set_items_min(0);
	lazy = args ? request_decode_long(line, len, &err1, &it) :
	    request_decode_items(line, len, &err1, &it);
	whole = request_decode(line, len, &err2);
	if ((lazy == NULL) != (whole == NULL))
		fuzz_fail("leaving items as text changes whether a line "
		    "decodes", NULL);
	if (lazy == NULL) {
		if (strcmp(err1.code, err2.code) != 0 ||
		    strcmp(err1.message, err2.message) != 0)
			fuzz_fail("leaving items as text changes the error",
			    NULL);
		return;
	}
	if (it.n >= 0) {
		items = json_loadb(line + it.off, it.len, 0, NULL);
		if (items == NULL || (int64_t)json_array_size(items) != it.n)
			fuzz_fail("items left as text are not what was found",
			    NULL);
		json_object_set_new(lazy, it.name, items);
	}
	if (!json_equal(lazy, whole))
		fuzz_fail("leaving items as text decodes to something else",
		    NULL);
	json_decref(lazy);
	json_decref(whole);
}

/* A small deterministic generator for chunk sizes, seeded by the input. */
static uint32_t
next_rand(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* A non-zero seed from the input's first bytes and its length. */
static uint32_t
seed_of(const uint8_t *data, size_t size)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < size && i < 16; i++)
		h = (h ^ data[i]) * 16777619u;
	h ^= (uint32_t)size;
	return h == 0 ? 1 : h;
}

/*
 * The stream through a frame with the default cap: every complete line is
 * a request as a worker or client would take it. Mirrors the daemon's own
 * rule that an empty line is skipped.
 */
static void
fuzz_stream(const uint8_t *data, size_t size)
{
	struct frame	 f;
	uint32_t	 rng = seed_of(data, size);
	size_t		 pushed = 0, n;
	char		*line;
	size_t		 len;
	int		 r;

	frame_init(&f, PROTO_MAX_LINE);
	while (pushed < size) {
		n = 1 + next_rand(&rng) % 257;
		if (n > size - pushed)
			n = size - pushed;
		frame_push(&f, data + pushed, n);
		pushed += n;
		while ((r = frame_next(&f, &line, &len)) == 1) {
			if (line[len] != '\0' || memchr(line, '\n', len))
				fuzz_fail("frame_next returned a bad line",
				    NULL);
			if (len > 0)
				fuzz_line(line, len);
		}
		if (r == -1)
			fuzz_fail("a line under the default cap was refused",
			    NULL);
	}
	frame_free(&f);
}

/*
 * The stream through a frame with a cap of a few bytes, each answer of
 * frame_next compared with what the framing rules say it must be: a whole
 * line within the cap is returned; a line (whole or not) longer than the
 * cap is refused; otherwise nothing yet.
 */
static void
fuzz_small_cap(const uint8_t *data, size_t size)
{
	struct frame	 f;
	uint32_t	 rng = seed_of(data, size) ^ 0x5bd1e995u;
	size_t		 max, pushed = 0, pos = 0, n, len, k;
	const uint8_t	*nl;
	char		*line;
	int		 r, want;

	max = size > 0 ? data[0] % (FUZZ_SMALL_CAP + 1) : 0;
	frame_init(&f, max);
	while (pushed < size) {
		n = 1 + next_rand(&rng) % 17;
		if (n > size - pushed)
			n = size - pushed;
		frame_push(&f, data + pushed, n);
		pushed += n;
		for (;;) {
			nl = memchr(data + pos, '\n', pushed - pos);
			if (nl != NULL) {
				k = (size_t)(nl - (data + pos));
				want = k > max ? -1 : 1;
			} else {
				k = 0;
				want = pushed - pos > max ? -1 : 0;
			}
			r = frame_next(&f, &line, &len);
			if (r != want) {
				char	why[96];

				snprintf(why, sizeof why, "got %d, want %d "
				    "(cap %zu, at byte %zu)", r, want, max,
				    pos);
				fuzz_fail("frame_next disagrees with the model",
				    why);
			}
			if (r == -1)
				goto out;
			if (r == 0)
				break;
			if (len != k || memcmp(line, data + pos, k) != 0 ||
			    line[k] != '\0')
				fuzz_fail("frame_next returned the wrong bytes",
				    NULL);
			pos += k + 1;
		}
	}
out:
	frame_free(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*copy;

	/* An exact-size copy, so any read past the end is caught. */
	copy = malloc(size == 0 ? 1 : size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	fuzz_line(copy, size);
	fuzz_jscan(copy, size);
	fuzz_items(copy, size, 0);
	fuzz_items(copy, size, 1);
	free(copy);

	fuzz_stream(data, size);
	fuzz_small_cap(data, size);
	return 0;
}

/*
 * Request validation: every op's fields, their types and which are required,
 * in one table. The daemon checks each request here before acting on it.
 */
#ifndef MPD_REQUEST_H
#define MPD_REQUEST_H

#include <jansson.h>

#include "jscan.h"

struct req_error {
	const char	*code;		/* one of the ERR_* strings */
	char		 message[256];
};

/*
 * Decodes one request line. Returns a new reference to the object, or NULL
 * with err filled in (malformed JSON, duplicate keys, not an object).
 */
json_t	*request_decode(const char *, size_t, struct req_error *);
/*
 * As request_decode, but a long line whose "items" is an array of plain
 * values (jscan.h) is decoded without them: the object holds an empty
 * array in their place and *it says where their text is in the line.
 * it->n is -1 when the line was decoded whole.
 */
json_t	*request_decode_items(const char *, size_t, struct req_error *,
	    struct jscan_items *);
/*
 * The same, and else for "args": it->name says which member was left as
 * text (a client's request; a worker's job frame needs its args).
 */
json_t	*request_decode_long(const char *, size_t, struct req_error *,
	    struct jscan_items *);
/* Sets how long a line must be for its items to be left as text. */
void	request_set_items_min(size_t);
/* Sets the deepest nesting of arrays and objects a request may have. */
void	request_set_max_depth(int);
/*
 * Checks a decoded request against the op table. Returns the op name
 * (borrowed from the table) or NULL with err filled in.
 */
const char *request_check(json_t *, struct req_error *);

#endif

/*
 * A strict JSON checker that finds where values end without building
 * them. A big map's items are cut into chunks as slices of the request's
 * text with it, so a million items are not made into a million jansson
 * values only to be written out again.
 *
 * It accepts no more than jansson's decoder does (RFC 8259, UTF-8,
 * no \u0000, integers within int64, reals within double): the fuzz test
 * compares the two on every input. Objects are not scanned: an item that
 * is an object makes the caller take the slow path, where jansson also
 * rejects duplicate keys.
 */
#ifndef MPD_JSCAN_H
#define MPD_JSCAN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Checks the value (not an object, nor containing one) that starts at p,
 * whitespace first allowed; returns where it ends, or NULL when it is not
 * valid JSON or holds an object.
 */
const char	*jscan_value(const char *, const char *);

/* A map's items, left as the text of their array. */
struct jscan_items {
	const char *name;	/* the member's name: "items" or "args" */
	size_t	 off;		/* of the array's '[' in the line */
	size_t	 len;		/* of the array, brackets included */
	int64_t	 n;		/* elements */
};

/*
 * Finds the member "items" of the object that is the whole line, and
 * checks that its value is an array of such values. Returns 1 and fills
 * *it; 0 when the line is not of that shape (no such member, not an
 * object, anything in doubt), for the caller's full parse to judge; *it
 * is then undefined.
 */
int		 jscan_items(const char *, size_t, struct jscan_items *);
/* The same for the member of this name (plain ASCII, no escapes). */
int		 jscan_member(const char *, size_t, const char *,
		     struct jscan_items *);

/* Skips JSON whitespace; returns the first other byte's place, or end. */
const char	*jscan_ws(const char *, const char *);

/*
 * The next element of a checked array at p (just after '[' or a ','):
 * returns where it ends (NULL if it is not valid after all), and sets
 * *start to where it starts and *next past the ',' that follows, if any.
 */
const char	*jscan_next(const char *, const char *, const char **,
		    const char **);

#endif

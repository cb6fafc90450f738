/*
 * Unit tests of the JSON scanner that cuts a map's items as text: on each
 * case it must agree with jansson (accept what jansson accepts, reject what
 * it rejects), and find a request's items where jansson would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jscan.h"
#include "request.h"

/* True when jscan takes all of text as one value. */
static int
scans(const char *text, size_t len)
{
	const char	*end = jscan_value(text, text + len);

	while (end != NULL && end < text + len && (*end == ' ' ||
	    *end == '\n'))
		end++;
	return end == text + len;
}

/* jscan and jansson agree on text, which is expected to be valid or not. */
static void
agree(const char *text, size_t len, int valid)
{
	json_t	*v = json_loadb(text, len, JSON_DECODE_ANY, NULL);

	if ((v != NULL) != valid)
		fail_msg("jansson %s \"%.*s\"", v != NULL ? "accepts" :
		    "rejects", (int)len, text);
	if (scans(text, len) != valid)
		fail_msg("jscan %s \"%.*s\"", valid ? "rejects" : "accepts",
		    (int)len, text);
	json_decref(v);
}

#define OK(s)	agree(s, sizeof s - 1, 1)
#define BAD(s)	agree(s, sizeof s - 1, 0)

static void
test_numbers(void **state)
{
	(void)state;
	OK("0");
	OK("-0");
	OK("12345");
	OK("9223372036854775807");
	OK("-9223372036854775808");
	OK("0.5");
	OK("-1.25e+3");
	OK("1E-400");		/* underflow is allowed */
	OK("1e308");
	BAD("9223372036854775808");
	BAD("-9223372036854775809");
	BAD("12345678901234567890");
	BAD("1e400");
	BAD("-1e400");
	BAD("01");
	BAD("1.");
	BAD(".5");
	BAD("-");
	BAD("1e");
	BAD("1e+");
	BAD("+1");
	BAD("0x10");
	BAD("NaN");
	BAD("Infinity");
}

static void
test_strings(void **state)
{
	(void)state;
	OK("\"\"");
	OK("\"plain\"");
	OK("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
	OK("\"\\u00e9\\u20AC\"");
	OK("\"\\ud83d\\ude00\"");		/* a surrogate pair */
	OK("\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	OK("\"\xf4\x8f\xbf\xbf\"");		/* U+10FFFF */
	BAD("\"\\u0000\"");
	BAD("\"\\ud83d\"");			/* a lone high surrogate */
	BAD("\"\\ude00\"");			/* a lone low surrogate */
	BAD("\"\\ud83d\\u0041\"");
	BAD("\"\\x41\"");
	BAD("\"\\u12\"");
	BAD("\"\\u12G4\"");
	BAD("\"tab\there\"");
	BAD("\"unterminated");
	BAD("\"\xc0\xaf\"");			/* overlong */
	BAD("\"\xe0\x80\xaf\"");		/* overlong */
	BAD("\"\xed\xa0\x80\"");		/* UTF-8 of a surrogate */
	BAD("\"\xf4\x90\x80\x80\"");		/* past U+10FFFF */
	BAD("\"\xf5\x80\x80\x80\"");
	BAD("\"\x80\"");			/* a continuation first */
	BAD("\"\xc3\"");			/* cut short */
	BAD("\"\xe2\x82\"");
	BAD("'single'");
}

static void
test_arrays_and_literals(void **state)
{
	(void)state;
	OK("true");
	OK("false");
	OK("null");
	OK("[]");
	OK("[ ]");
	OK("[1,[2,[3,[]]],\"x\",null,true,false,-0.5]");
	OK(" [ 1 , 2 ] ");
	BAD("tru");
	BAD("nul");
	BAD("[1,]");
	BAD("[,1]");
	BAD("[1 2]");
	BAD("[1");
	BAD("[");
	BAD("]");
	BAD("");
	agree("[1,\0]", 5, 0);
}

/* Objects are never scanned: their items take jansson's path. */
static void
test_objects_are_left_to_jansson(void **state)
{
	(void)state;
	assert_false(scans("{}", 2));
	assert_false(scans("[1,{\"a\":1}]", 11));
}

/* Finds items; *it is then checked against the text. */
static void
expect_items(const char *line, int64_t n, const char *items)
{
	struct jscan_items	it;

	if (jscan_items(line, strlen(line), &it) != 1)
		fail_msg("no items found in %s", line);
	assert_int_equal(it.n, n);
	assert_int_equal(it.len, strlen(items));
	assert_memory_equal(line + it.off, items, it.len);
}

static void
expect_no_items(const char *line)
{
	struct jscan_items	it;

	if (jscan_items(line, strlen(line), &it) != 0)
		fail_msg("items found in %s", line);
}

static void
test_items(void **state)
{
	(void)state;
	expect_items("{\"op\":\"map\",\"items\":[1,2,3]}", 3, "[1,2,3]");
	expect_items("{\"items\":[],\"op\":\"map\"}", 0, "[]");
	expect_items(" { \"kwargs\" : {\"items\":[9]} , \"items\" : [ \"a\" ,"
	    "[1] ] } ", 2, "[ \"a\" ,[1] ]");
	expect_items("{\"name\":\"x\\\"items\\\":[5]\",\"items\":[\"]\"]}", 1,
	    "[\"]\"]");
	/* Anything in doubt is left to the full parse. */
	expect_no_items("{\"op\":\"map\"}");
	expect_no_items("[1,2]");
	expect_no_items("{\"items\":[1],\"items\":[2]}");
	expect_no_items("{\"items\":[{\"a\":1}]}");
	expect_no_items("{\"items\":[1,]}");
	expect_no_items("{\"items\":7}");
	expect_no_items("{\"items\":[1]} x");
	expect_no_items("{\"items\":[1]");
	expect_no_items("{\"\\u0069tems\":[1]}");
}

/* A line of n items with a prefix and suffix around them. */
static char *
map_line(int n, const char *item)
{
	size_t	 cap = 64 + (size_t)n * (strlen(item) + 1), len;
	char	*s = malloc(cap);
	int	 i;

	assert_non_null(s);
	len = (size_t)snprintf(s, cap, "{\"op\":\"map\",\"task\":\"echo\","
	    "\"items\":[");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? "," :
		    "", item);
	snprintf(s + len, cap - len, "],\"req\":7}");
	return s;
}

/*
 * request_decode_items leaves a long line's items as text, and the rest
 * decodes as the whole line would with "[]" for them.
 */
static void
test_decode_items(void **state)
{
	struct req_error	 err;
	struct jscan_items	 it;
	json_t			*req, *whole, *items;
	char			*line = map_line(2000, "[1,\"\\u00e9\",2.5]");

	(void)state;
	req = request_decode_items(line, strlen(line), &err, &it);
	assert_non_null(req);
	assert_int_equal(it.n, 2000);
	assert_int_equal(json_array_size(json_object_get(req, "items")), 0);
	assert_int_equal(json_integer_value(json_object_get(req, "req")), 7);
	whole = json_loads(line, 0, NULL);
	items = json_loadb(line + it.off, it.len, 0, NULL);
	assert_true(json_equal(items, json_object_get(whole, "items")));
	json_decref(items);
	json_decref(whole);
	json_decref(req);
	free(line);

	/* A bad item: the whole line is decoded, and jansson says why. */
	line = map_line(2000, "1");
	memcpy(strstr(line, ",1,1,") + 1, "01", 2);
	req = request_decode_items(line, strlen(line), &err, &it);
	assert_null(req);
	assert_non_null(strstr(err.message, "malformed JSON"));
	free(line);

	/* An object item late on: the whole line is decoded, items and all. */
	line = map_line(2000, "10");
	memcpy(strstr(line, "10]") , "{}", 2);
	req = request_decode_items(line, strlen(line), &err, &it);
	assert_non_null(req);
	assert_int_equal(it.n, -1);
	assert_int_equal(json_array_size(json_object_get(req, "items")), 2000);
	json_decref(req);
	free(line);

	/* Short lines are decoded whole. */
	req = request_decode_items("{\"op\":\"map\",\"items\":[1]}", 24, &err,
	    &it);
	assert_non_null(req);
	assert_int_equal(it.n, -1);
	json_decref(req);
}

/* jscan_next walks a checked array element by element. */
static void
test_next(void **state)
{
	const char	*text = "[ 1 ,\"a,b\" ,[2,3],null ]", *p, *start;
	const char	*next, *end = text + strlen(text);
	const char	*want[] = { "1", "\"a,b\"", "[2,3]", "null" };
	size_t		 i;

	(void)state;
	p = text + 1;
	for (i = 0; i < 4; i++) {
		const char *e = jscan_next(p, end, &start, &next);

		assert_non_null(e);
		assert_int_equal((size_t)(e - start), strlen(want[i]));
		assert_memory_equal(start, want[i], strlen(want[i]));
		p = next;
	}
	assert_int_equal(*p, ']');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_arrays_and_literals),
		cmocka_unit_test(test_objects_are_left_to_jansson),
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_decode_items),
		cmocka_unit_test(test_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

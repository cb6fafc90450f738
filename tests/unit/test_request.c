/* Unit tests of request decoding and checking, and of job state names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "request.h"

/* Decodes and checks a request that must pass as op. */
static void
expect_ok(const char *text, const char *op)
{
	struct req_error	 err;
	json_t			*req;
	const char		*got;

	memset(&err, 0, sizeof err);
	req = request_decode(text, strlen(text), &err);
	if (req == NULL)
		fail_msg("decode of %s failed: %s", text, err.message);
	got = request_check(req, &err);
	if (got == NULL)
		fail_msg("check of %s failed: %s: %s", text, err.code,
		    err.message);
	assert_string_equal(got, op);
	json_decref(req);
}

/* Asserts err holds code and a message that mentions word (if any). */
static void
expect_error(const struct req_error *err, const char *text, const char *code,
    const char *word)
{
	assert_non_null(err->code);
	if (strcmp(err->code, code) != 0)
		fail_msg("%s: code %s, wanted %s (%s)", text, err->code, code,
		    err->message);
	assert_true(err->message[0] != '\0');
	if (word != NULL && strstr(err->message, word) == NULL)
		fail_msg("%s: message \"%s\" does not name %s", text,
		    err->message, word);
}

/* A line that request_decode must refuse. */
static void
expect_decode_error(const char *text, const char *code)
{
	struct req_error	err;

	memset(&err, 0, sizeof err);
	assert_null(request_decode(text, strlen(text), &err));
	expect_error(&err, text, code, NULL);
}

/* A request that decodes but that request_check must refuse. */
static void
expect_check_error(const char *text, const char *code, const char *word)
{
	struct req_error	 err;
	json_t			*req;

	memset(&err, 0, sizeof err);
	req = request_decode(text, strlen(text), &err);
	if (req == NULL)
		fail_msg("decode of %s failed: %s", text, err.message);
	if (request_check(req, &err) != NULL)
		fail_msg("check of %s passed", text);
	expect_error(&err, text, code, word);
	json_decref(req);
}

/* Every op passes with its minimal and its fullest valid request. */
static void
test_valid_ops(void **state)
{
	(void)state;
	expect_ok("{\"op\":\"hello\"}", "hello");
	expect_ok("{\"op\":\"hello\",\"req\":1,\"version\":1,"
	    "\"client\":\"mpctl\"}", "hello");
	expect_ok("{\"op\":\"submit\",\"task\":\"square\"}", "submit");
	expect_ok("{\"op\":\"submit\",\"req\":\"tag-1\",\"task\":\"square\","
	    "\"args\":[3],\"kwargs\":{\"a\":1},\"name\":\"n\","
	    "\"priority\":-5,\"max_attempts\":3}", "submit");
	expect_ok("{\"op\":\"map\",\"task\":\"square\",\"items\":[]}", "map");
	expect_ok("{\"op\":\"map\",\"req\":2,\"task\":\"square\","
	    "\"items\":[1,2,3],\"kwargs\":{},\"chunksize\":2,\"name\":\"m\","
	    "\"priority\":7}", "map");
	expect_ok("{\"op\":\"get\",\"job\":42}", "get");
	expect_ok("{\"op\":\"get\",\"req\":3,\"job\":42,\"timeout\":5.0}",
	    "get");
	expect_ok("{\"op\":\"get\",\"job\":1,\"timeout\":0}", "get");
	expect_ok("{\"op\":\"status\"}", "status");
	expect_ok("{\"op\":\"status\",\"req\":4,\"job\":9}", "status");
	expect_ok("{\"op\":\"list\"}", "list");
	expect_ok("{\"op\":\"list\",\"state\":\"done\",\"limit\":10}",
	    "list");
	expect_ok("{\"op\":\"cancel\",\"job\":5}", "cancel");
	expect_ok("{\"op\":\"forget\",\"req\":0,\"job\":5}", "forget");
	expect_ok("{\"op\":\"shutdown\"}", "shutdown");
	expect_ok("{\"op\":\"shutdown\",\"mode\":\"graceful\"}", "shutdown");
	expect_ok("{\"op\":\"shutdown\",\"mode\":\"drain\"}", "shutdown");
	expect_ok("{\"op\":\"shutdown\",\"mode\":\"now\"}", "shutdown");
}

/* Every state name is accepted by list. */
static void
test_list_every_state(void **state)
{
	char	buf[128];
	int	i;

	(void)state;
	for (i = 0; i < JOB_NSTATES; i++) {
		snprintf(buf, sizeof buf, "{\"op\":\"list\",\"state\":\"%s\"}",
		    job_state_name(i));
		expect_ok(buf, "list");
	}
}

/* Text that is not JSON, or not one JSON value, is bad_json. */
static void
test_malformed_json(void **state)
{
	(void)state;
	expect_decode_error("", ERR_BAD_JSON);
	expect_decode_error("{", ERR_BAD_JSON);
	expect_decode_error("{\"op\":}", ERR_BAD_JSON);
	expect_decode_error("{'op':'hello'}", ERR_BAD_JSON);
	expect_decode_error("{\"op\":\"hello\"} {}", ERR_BAD_JSON);
	expect_decode_error("not json", ERR_BAD_JSON);
}

/* Only len bytes are decoded, not up to the NUL. */
static void
test_decode_length(void **state)
{
	struct req_error	 err;
	json_t			*req;
	const char		*text = "{\"op\":\"hello\"}garbage";

	(void)state;
	memset(&err, 0, sizeof err);
	req = request_decode(text, 14, &err);
	assert_non_null(req);
	assert_string_equal(request_check(req, &err), "hello");
	json_decref(req);
	assert_null(request_decode(text, strlen(text), &err));
	assert_string_equal(err.code, ERR_BAD_JSON);
}

/* Duplicate keys are refused when decoding. */
static void
test_duplicate_keys(void **state)
{
	(void)state;
	expect_decode_error("{\"op\":\"get\",\"job\":1,\"job\":2}",
	    ERR_BAD_JSON);
	expect_decode_error("{\"op\":\"hello\",\"op\":\"hello\"}",
	    ERR_BAD_JSON);
}

/* JSON values that are not objects are bad_request. */
static void
test_not_object(void **state)
{
	(void)state;
	expect_decode_error("[]", ERR_BAD_REQUEST);
	expect_decode_error("[{\"op\":\"hello\"}]", ERR_BAD_REQUEST);
	expect_decode_error("\"hello\"", ERR_BAD_REQUEST);
	expect_decode_error("42", ERR_BAD_REQUEST);
	expect_decode_error("null", ERR_BAD_REQUEST);
	expect_decode_error("true", ERR_BAD_REQUEST);
}

/* A missing op, or an op that is not a string, is bad_request. */
static void
test_bad_op(void **state)
{
	(void)state;
	expect_check_error("{}", ERR_BAD_REQUEST, "op");
	expect_check_error("{\"req\":1}", ERR_BAD_REQUEST, "op");
	expect_check_error("{\"op\":1}", ERR_BAD_REQUEST, "op");
	expect_check_error("{\"op\":null}", ERR_BAD_REQUEST, "op");
	expect_check_error("{\"op\":[\"hello\"]}", ERR_BAD_REQUEST, "op");
}

/* An op name outside the table is unknown_op and is named. */
static void
test_unknown_op(void **state)
{
	(void)state;
	expect_check_error("{\"op\":\"launch\"}", ERR_UNKNOWN_OP, "launch");
	expect_check_error("{\"op\":\"\"}", ERR_UNKNOWN_OP, NULL);
	expect_check_error("{\"op\":\"HELLO\"}", ERR_UNKNOWN_OP, "HELLO");
}

/* Fields of the wrong type are bad_request naming the field. */
static void
test_wrong_types(void **state)
{
	(void)state;
	expect_check_error("{\"op\":\"submit\",\"task\":5}",
	    ERR_BAD_REQUEST, "task");
	expect_check_error("{\"op\":\"submit\",\"task\":\"\"}",
	    ERR_BAD_REQUEST, "task");
	expect_check_error("{\"op\":\"submit\",\"task\":\"t\",\"args\":{}}",
	    ERR_BAD_REQUEST, "args");
	expect_check_error("{\"op\":\"submit\",\"task\":\"t\",\"kwargs\":[]}",
	    ERR_BAD_REQUEST, "kwargs");
	expect_check_error("{\"op\":\"submit\",\"task\":\"t\","
	    "\"priority\":1.5}", ERR_BAD_REQUEST, "priority");
	expect_check_error("{\"op\":\"submit\",\"task\":\"t\","
	    "\"max_attempts\":0}", ERR_BAD_REQUEST, "max_attempts");
	expect_check_error("{\"op\":\"get\",\"job\":0}",
	    ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"get\",\"job\":-1}",
	    ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"get\",\"job\":\"1\"}",
	    ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"get\",\"job\":1.0}",
	    ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"cancel\",\"job\":0}",
	    ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"forget\",\"job\":true}",
	    ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"status\",\"job\":-3}",
	    ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"get\",\"job\":1,\"timeout\":-1}",
	    ERR_BAD_REQUEST, "timeout");
	expect_check_error("{\"op\":\"get\",\"job\":1,\"timeout\":-0.5}",
	    ERR_BAD_REQUEST, "timeout");
	expect_check_error("{\"op\":\"get\",\"job\":1,\"timeout\":\"5\"}",
	    ERR_BAD_REQUEST, "timeout");
	expect_check_error("{\"op\":\"map\",\"task\":\"t\",\"items\":[1],"
	    "\"chunksize\":0}", ERR_BAD_REQUEST, "chunksize");
	expect_check_error("{\"op\":\"map\",\"task\":\"t\",\"items\":{}}",
	    ERR_BAD_REQUEST, "items");
	expect_check_error("{\"op\":\"list\",\"state\":\"bogus\"}",
	    ERR_BAD_REQUEST, "state");
	expect_check_error("{\"op\":\"list\",\"state\":2}",
	    ERR_BAD_REQUEST, "state");
	expect_check_error("{\"op\":\"list\",\"limit\":0}",
	    ERR_BAD_REQUEST, "limit");
	expect_check_error("{\"op\":\"shutdown\",\"mode\":\"bogus\"}",
	    ERR_BAD_REQUEST, "mode");
	expect_check_error("{\"op\":\"hello\",\"req\":[1]}",
	    ERR_BAD_REQUEST, "req");
	expect_check_error("{\"op\":\"hello\",\"req\":null}",
	    ERR_BAD_REQUEST, "req");
	expect_check_error("{\"op\":\"hello\",\"version\":\"1\"}",
	    ERR_BAD_REQUEST, "version");
}

/* A field the op does not have is bad_request naming it. */
static void
test_unknown_field(void **state)
{
	(void)state;
	expect_check_error("{\"op\":\"hello\",\"bogus\":1}",
	    ERR_BAD_REQUEST, "bogus");
	expect_check_error("{\"op\":\"get\",\"job\":1,\"chunksize\":2}",
	    ERR_BAD_REQUEST, "chunksize");
	/* items belongs to map, not to submit. */
	expect_check_error("{\"op\":\"submit\",\"task\":\"t\",\"items\":[]}",
	    ERR_BAD_REQUEST, "items");
}

/* A missing required field is bad_request naming it. */
static void
test_missing_required(void **state)
{
	(void)state;
	expect_check_error("{\"op\":\"submit\"}", ERR_BAD_REQUEST, "task");
	expect_check_error("{\"op\":\"submit\",\"args\":[1]}",
	    ERR_BAD_REQUEST, "task");
	expect_check_error("{\"op\":\"get\"}", ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"get\",\"timeout\":1}",
	    ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"map\",\"task\":\"t\"}",
	    ERR_BAD_REQUEST, "items");
	expect_check_error("{\"op\":\"map\",\"items\":[1]}",
	    ERR_BAD_REQUEST, "task");
	expect_check_error("{\"op\":\"cancel\"}", ERR_BAD_REQUEST, "job");
	expect_check_error("{\"op\":\"forget\"}", ERR_BAD_REQUEST, "job");
}

/* State names map to the stored integers and back. */
static void
test_state_names(void **state)
{
	static const char *names[] = {
		"queued", "running", "done", "failed", "timeout", "cancelled"
	};
	int	i;

	(void)state;
	assert_int_equal(sizeof names / sizeof names[0], JOB_NSTATES);
	for (i = 0; i < JOB_NSTATES; i++) {
		assert_string_equal(job_state_name(i), names[i]);
		assert_int_equal(job_state_parse(names[i]), i);
	}
	assert_int_equal(JOB_QUEUED, 0);
	assert_int_equal(job_state_parse("done"), JOB_DONE);
	assert_int_equal(job_state_parse("cancelled"), JOB_CANCELLED);
	assert_int_equal(job_state_parse("bogus"), -1);
	assert_int_equal(job_state_parse(""), -1);
	assert_int_equal(job_state_parse("Done"), -1);
	assert_int_equal(job_state_parse("unknown"), -1);
	assert_string_equal(job_state_name(-1), "unknown");
	assert_string_equal(job_state_name(JOB_NSTATES), "unknown");
}

/* Only done, failed, timeout and cancelled are final. */
static void
test_state_final(void **state)
{
	(void)state;
	assert_false(job_state_final(JOB_QUEUED));
	assert_false(job_state_final(JOB_RUNNING));
	assert_true(job_state_final(JOB_DONE));
	assert_true(job_state_final(JOB_FAILED));
	assert_true(job_state_final(JOB_TIMEOUT));
	assert_true(job_state_final(JOB_CANCELLED));
	assert_false(job_state_final(-1));
	assert_false(job_state_final(JOB_NSTATES));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_ops),
		cmocka_unit_test(test_list_every_state),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_decode_length),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_bad_op),
		cmocka_unit_test(test_unknown_op),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_unknown_field),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_state_final),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

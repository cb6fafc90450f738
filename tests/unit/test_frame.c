/* Unit tests of the newline framing in common/frame.c. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"

/* Pushes a C string (without its NUL) into a frame. */
static void
push_str(struct frame *f, const char *s)
{
	frame_push(f, s, strlen(s));
}

/* Takes the next line and asserts that it is exactly want. */
static void
expect_line(struct frame *f, const char *want)
{
	char	*line = NULL;
	size_t	 len = (size_t)-1;

	assert_int_equal(frame_next(f, &line, &len), 1);
	assert_non_null(line);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
	assert_int_equal(line[len], '\0');
}

/* Asserts that frame_next reports no whole line yet. */
static void
expect_none(struct frame *f)
{
	char	*line = NULL;
	size_t	 len = 0;

	assert_int_equal(frame_next(f, &line, &len), 0);
}

/* Asserts that frame_next reports a line over the cap. */
static void
expect_too_long(struct frame *f)
{
	char	*line = NULL;
	size_t	 len = 0;

	assert_int_equal(frame_next(f, &line, &len), -1);
}

/* A frame with nothing pushed holds no line. */
static void
test_empty(void **state)
{
	struct frame	f;

	(void)state;
	frame_init(&f, 16);
	expect_none(&f);
	expect_none(&f);
	frame_free(&f);
}

/* A line split over several pushes comes out whole, once. */
static void
test_split_across_pushes(void **state)
{
	struct frame	f;

	(void)state;
	frame_init(&f, 64);
	push_str(&f, "hel");
	expect_none(&f);
	push_str(&f, "lo");
	expect_none(&f);
	push_str(&f, "\nwo");
	expect_line(&f, "hello");
	expect_none(&f);
	push_str(&f, "rld\n");
	expect_line(&f, "world");
	expect_none(&f);
	frame_free(&f);
}

/* Several lines in one push come out one by one, in order. */
static void
test_several_in_one_push(void **state)
{
	struct frame	f;

	(void)state;
	frame_init(&f, 64);
	push_str(&f, "a\nbb\nccc\ndd");
	expect_line(&f, "a");
	expect_line(&f, "bb");
	expect_line(&f, "ccc");
	expect_none(&f);
	push_str(&f, "d\n");
	expect_line(&f, "ddd");
	expect_none(&f);
	frame_free(&f);
}

/* Empty lines are lines of length zero. */
static void
test_empty_lines(void **state)
{
	struct frame	f;

	(void)state;
	frame_init(&f, 64);
	push_str(&f, "\n\nx\n\n");
	expect_line(&f, "");
	expect_line(&f, "");
	expect_line(&f, "x");
	expect_line(&f, "");
	expect_none(&f);
	frame_free(&f);
}

/* A line of exactly the cap is accepted; one byte more is refused. */
static void
test_cap_exact_and_over(void **state)
{
	struct frame	f;

	(void)state;
	frame_init(&f, 8);
	push_str(&f, "12345678\n");
	expect_line(&f, "12345678");
	expect_none(&f);
	frame_free(&f);

	frame_init(&f, 8);
	push_str(&f, "123456789\n");
	expect_too_long(&f);
	frame_free(&f);

	/* A short line before the long one still comes out first. */
	frame_init(&f, 8);
	push_str(&f, "ok\n123456789\n");
	expect_line(&f, "ok");
	expect_too_long(&f);
	frame_free(&f);
}

/* A pending line without newline is refused once it passes the cap. */
static void
test_pending_over_cap(void **state)
{
	struct frame	f;

	(void)state;
	frame_init(&f, 8);
	push_str(&f, "1234");
	expect_none(&f);
	push_str(&f, "5678");
	expect_none(&f);		/* exactly the cap: may still end */
	push_str(&f, "9");
	expect_too_long(&f);
	frame_free(&f);

	/* Exactly the cap pending, then the newline alone. */
	frame_init(&f, 8);
	push_str(&f, "abcdefgh");
	expect_none(&f);
	push_str(&f, "\n");
	expect_line(&f, "abcdefgh");
	frame_free(&f);
}

/* The scan offset must not skip a newline pushed after partial data. */
static void
test_scan_after_partial(void **state)
{
	struct frame	f;

	(void)state;
	frame_init(&f, 64);
	push_str(&f, "abc");
	expect_none(&f);
	push_str(&f, "def");
	expect_none(&f);
	push_str(&f, "g\nh");
	expect_line(&f, "abcdefg");
	expect_none(&f);
	push_str(&f, "i\n");
	expect_line(&f, "hi");

	/* A lone newline right after a scanned partial line. */
	push_str(&f, "xyz");
	expect_none(&f);
	push_str(&f, "\n");
	expect_line(&f, "xyz");

	/* Partial line after a taken one: the push moves it to the front. */
	push_str(&f, "1\n22");
	expect_line(&f, "1");
	expect_none(&f);
	push_str(&f, "3\n4\n");
	expect_line(&f, "223");
	expect_line(&f, "4");
	expect_none(&f);
	frame_free(&f);
}

/* Lines longer than the first allocation grow the buffer intact. */
static void
test_long_line_grows(void **state)
{
	struct frame	 f;
	char		*want, *line;
	size_t		 i, len, n = 10000;

	(void)state;
	want = malloc(n);
	assert_non_null(want);
	for (i = 0; i < n; i++)
		want[i] = (char)('a' + i % 26);
	frame_init(&f, 20000);
	for (i = 0; i < n; i += 1000) {
		frame_push(&f, want + i, 1000);
		expect_none(&f);
	}
	push_str(&f, "\ntail\n");
	assert_int_equal(frame_next(&f, &line, &len), 1);
	assert_int_equal(len, n);
	assert_memory_equal(line, want, n);
	expect_line(&f, "tail");
	expect_none(&f);
	frame_free(&f);
	free(want);
}

/* frame_fill reads what a pipe holds and returns 0 at end of file. */
static void
test_fill_pipe(void **state)
{
	struct frame	f;
	int		fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	frame_init(&f, 64);
	assert_int_equal(write(fds[1], "one\ntw", 6), 6);
	assert_int_equal(frame_fill(&f, fds[0]), 6);
	expect_line(&f, "one");
	expect_none(&f);
	assert_int_equal(write(fds[1], "o\nthree\n", 8), 8);
	assert_int_equal(frame_fill(&f, fds[0]), 8);
	expect_line(&f, "two");
	expect_line(&f, "three");
	expect_none(&f);
	close(fds[1]);
	assert_int_equal(frame_fill(&f, fds[0]), 0);
	expect_none(&f);
	close(fds[0]);
	frame_free(&f);
}

/* frame_fill returns -1 on a descriptor that cannot be read. */
static void
test_fill_error(void **state)
{
	struct frame	f;
	int		fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	frame_init(&f, 64);
	/* The write end is not readable. */
	assert_int_equal(frame_fill(&f, fds[1]), -1);
	close(fds[1]);
	frame_free(&f);
}

/* write_all delivers every byte, and fails on a broken descriptor. */
static void
test_write_all(void **state)
{
	char		 buf[20000], back[20000];
	struct frame	 f;
	int		 fds[2];
	ssize_t		 n;
	size_t		 got = 0;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i % 251);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write_all(fds[1], buf, sizeof buf), 0);
	close(fds[1]);
	while ((n = read(fds[0], back + got, sizeof back - got)) > 0)
		got += (size_t)n;
	assert_int_equal(got, sizeof buf);
	assert_memory_equal(back, buf, sizeof buf);
	close(fds[0]);

	/* A line written by write_all frames back the same. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write_all(fds[1], "{\"op\":\"hello\"}\n", 15), 0);
	frame_init(&f, 64);
	assert_int_equal(frame_fill(&f, fds[0]), 15);
	expect_line(&f, "{\"op\":\"hello\"}");
	frame_free(&f);
	close(fds[0]);

	/* The reader is gone: EPIPE (SIGPIPE ignored) gives -1. */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(write_all(fds[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(fds[1]);
}

/* frame_free leaves a zeroed frame that can be used again. */
static void
test_free_reinit(void **state)
{
	struct frame	f;

	(void)state;
	frame_init(&f, 4);
	push_str(&f, "ab\n");
	frame_free(&f);
	assert_null(f.buf);
	assert_int_equal(f.len, 0);
	assert_int_equal(f.off, 0);
	assert_int_equal(f.scan, 0);
	frame_init(&f, 4);
	push_str(&f, "cd\n");
	expect_line(&f, "cd");
	frame_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_split_across_pushes),
		cmocka_unit_test(test_several_in_one_push),
		cmocka_unit_test(test_empty_lines),
		cmocka_unit_test(test_cap_exact_and_over),
		cmocka_unit_test(test_pending_over_cap),
		cmocka_unit_test(test_scan_after_partial),
		cmocka_unit_test(test_long_line_grows),
		cmocka_unit_test(test_fill_pipe),
		cmocka_unit_test(test_fill_error),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_free_reinit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Built-in function tasks: echo, square, sleep and fail for the seeds'
 * examples, crash (test-only) to prove a dead worker is handled.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "task.h"
#include "util.h"
#include "xmalloc.h"

/* A JSON type's name, for error messages. */
static const char *
json_type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

/* echo(args...) -> the args as an array. */
static json_t *
echo_run(json_t *args, json_t *kwargs, struct task_ctx *ctx,
    json_t **error)
{
	(void)kwargs;
	(void)ctx;
	(void)error;
	return json_incref(args);
}

/* square(n) -> n*n; an integer result outside int64 is an error. */
static json_t *
square_run(json_t *args, json_t *kwargs, struct task_ctx *ctx,
    json_t **error)
{
	json_t		*n;
	json_int_t	 i, r;
	double		 d;

	(void)kwargs;
	(void)ctx;
	if (json_array_size(args) != 1) {
		*error = task_error(xasprintf("square takes one number, "
		    "got %zu arguments", json_array_size(args)));
		return NULL;
	}
	n = json_array_get(args, 0);
	if (json_is_integer(n)) {
		i = json_integer_value(n);
		if (__builtin_mul_overflow(i, i, &r)) {
			*error = task_error(xasprintf("square of %lld does "
			    "not fit in a 64-bit integer", (long long)i));
			return NULL;
		}
		return json_integer(r);
	}
	if (json_is_real(n)) {
		d = json_real_value(n) * json_real_value(n);
		if (!isfinite(d)) {
			*error = task_error(xasprintf("square of %g is not "
			    "a finite number", json_real_value(n)));
			return NULL;
		}
		return json_real(d);
	}
	*error = task_error(xasprintf("square takes a number, got %s",
	    json_type_name(n)));
	return NULL;
}

/* sleep(seconds[, value]) -> value, or the finish time in ISO 8601. */
static json_t *
sleep_run(json_t *args, json_t *kwargs, struct task_ctx *ctx,
    json_t **error)
{
	struct timespec	 ts, rem;
	json_t		*secs;
	double		 d;
	char		 when[64];

	(void)kwargs;
	(void)ctx;
	if (json_array_size(args) < 1 || json_array_size(args) > 2) {
		*error = task_error(xasprintf("sleep takes seconds and an "
		    "optional value, got %zu arguments",
		    json_array_size(args)));
		return NULL;
	}
	secs = json_array_get(args, 0);
	if (!json_is_number(secs) || (d = json_number_value(secs)) < 0 ||
	    d > 1e9) {
		if (json_is_number(secs))
			*error = task_error(xasprintf("sleep takes a number "
			    "of seconds from 0 to 1e9, got %g",
			    json_number_value(secs)));
		else
			*error = task_error(xasprintf("sleep takes a number "
			    "of seconds from 0 to 1e9, got %s",
			    json_type_name(secs)));
		return NULL;
	}
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
	if (json_array_size(args) == 2)
		return json_incref(json_array_get(args, 1));
	time_iso8601(time_now(), when, sizeof when);
	return json_string(when);
}

/* fail(message) -> the job fails with that message. */
static json_t *
fail_run(json_t *args, json_t *kwargs, struct task_ctx *ctx,
    json_t **error)
{
	json_t	*m = json_array_get(args, 0);

	(void)kwargs;
	(void)ctx;
	if (json_is_string(m))
		*error = task_error(xstrdup(json_string_value(m)));
	else
		*error = task_error(xstrdup("failed on request"));
	return NULL;
}

/*
 * crash([signal]) -> the worker kills itself (SIGKILL by default). Signals
 * whose default action does not end a process are replaced by SIGKILL.
 */
static json_t *
crash_run(json_t *args, json_t *kwargs, struct task_ctx *ctx,
    json_t **error)
{
	json_t	*s = json_array_get(args, 0);
	int	 sig = SIGKILL;

	(void)kwargs;
	(void)ctx;
	if (json_is_integer(s) && json_integer_value(s) > 0 &&
	    json_integer_value(s) < NSIG)
		sig = (int)json_integer_value(s);
	switch (sig) {
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: case SIGCONT:
	case SIGCHLD: case SIGURG: case SIGWINCH:
		sig = SIGKILL;
		break;
	}
	signal(sig, SIG_DFL);
	kill(getpid(), sig);
	*error = task_error(xasprintf("signal %d did not end the worker",
	    sig));
	return NULL;
}

const struct task task_echo = {
	.name = "echo", .summary = "return the arguments as an array",
	.quick = 1, .run = echo_run
};
const struct task task_square = {
	.name = "square", .summary = "n -> n*n (integers and reals)",
	.quick = 1, .run = square_run
};
const struct task task_sleep = {
	.name = "sleep", .summary = "seconds[, value] -> value or the finish "
	"time", .run = sleep_run
};
const struct task task_fail = {
	.name = "fail", .summary = "message -> the job fails with it",
	.quick = 1, .run = fail_run
};
const struct task task_crash = {
	.name = "crash", .summary = "[signal] -> the worker dies by that "
	"signal", .test_only = 1, .run = crash_run
};

/* mpctl: the command-line client. One file per command; the table in mpctl.c. */
#ifndef MPCTL_H
#define MPCTL_H

#include <jansson.h>
#include <stdio.h>
#include <stdint.h>

#include "mpclient.h"

/* Exit codes: documented in mpctl --help and README. */
#define EXIT_OK			0
#define EXIT_JOB_FAILED		1	/* the job failed, timed out or was cancelled */
#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	3	/* no daemon, or the connection broke */
#define EXIT_TIMEOUT		4	/* a wait, or run's time limit, ran out */
#define EXIT_NOT_FOUND		5	/* no such job */
#define EXIT_REFUSED		6	/* the daemon refused the request */
#define EXIT_PIPE		141	/* run: stdout's reader went away */

struct cmd {
	const char	*name;
	const char	*usage;		/* arguments after the name */
	const char	*help;		/* what it does and its options */
	int		 (*run)(int, char **);
};

extern const struct cmd cmd_submit;
extern const struct cmd cmd_get;
extern const struct cmd cmd_map;
extern const struct cmd cmd_status;
extern const struct cmd cmd_list;
extern const struct cmd cmd_cancel;
extern const struct cmd cmd_forget;
extern const struct cmd cmd_shutdown;
extern const struct cmd cmd_run;
extern const struct cmd cmd_logs;
extern const struct cmd cmd_pool;

/* Connects to the daemon or exits with EXIT_UNREACHABLE. */
struct mpc	*ctl_connect(void);
/* Prints a refused request's error; returns the matching exit code. */
int		 ctl_refused(json_t *);
/* Prints usage for a command to stderr and returns EXIT_USAGE. */
int		 ctl_usage(const struct cmd *);
/* Prints a command's full help to stdout and returns EXIT_OK. */
int		 ctl_help(const struct cmd *);
/* An argument as a JSON string; exits when it is not UTF-8. */
json_t		*ctl_string(const char *);
/* An argument as JSON when it is valid JSON, else as a string. */
json_t		*ctl_value(const char *);
/*
 * Calls fn(line, arg) for each line of stdin that is not empty, its line
 * end removed. Returns 0, or -1 after a message.
 */
int		 ctl_lines(void (*)(const char *, void *), void *);
/* Sets req's "kwargs" from a JSON object argument; 0, or -1 after a message. */
int		 ctl_kwargs(json_t *, const char *);
/* Parses a job id or returns -1. */
int64_t		 ctl_id(const char *);
/*
 * The job id that must be a command's one operand after its options, or -1
 * after a message.
 */
int64_t		 ctl_job_arg(const struct cmd *, int, char **);
/* Parses seconds (>= 0) or returns -1. */
double		 ctl_seconds(const char *);
/* ctl-safe.c */
/*
 * s with control characters escaped for a terminal ("\x1b", "\n",
 * "\u009b", and "\\" for a backslash); newly allocated.
 */
char		*ctl_escape(const char *);
/*
 * ctl_escape for printing: the result is borrowed, valid until eight more
 * calls. NULL stays NULL.
 */
const char	*ctl_safe(const char *);
/*
 * Writes JSON text with DEL and the C1 controls as \u escapes: the same
 * JSON value, but nothing a terminal would act on.
 */
void		 fputs_json(const char *, FILE *);

/* Prints JSON compactly on a line of stdout. */
void		 ctl_print(json_t *);
/*
 * Reports the job in a get reply: the result on stdout (0), or the job's
 * error on stderr (EXIT_JOB_FAILED) after the result if it has one (a failed
 * exec job), or the refusal (its code).
 */
int		 ctl_result(json_t *, int64_t);
/* Sends get and reports it; timeout < 0 waits for ever. */
int		 ctl_get(struct mpc *, int64_t, double);

/* ctl-call.c: talking to the daemon. */
/* Sends a request (stolen) and returns its tag; exits if the link fails. */
int64_t		 ctl_send(struct mpc *, json_t *);
/*
 * Waits for the reply with this tag; exits if the link fails. After
 * ctl_catch, a SIGINT or SIGTERM during the wait runs the hook (once).
 */
json_t		*ctl_wait(struct mpc *, int64_t);
/* ctl_send then ctl_wait. */
json_t		*ctl_call(struct mpc *, json_t *);
/*
 * Sends n requests, make(i, arg) building the i-th, with a bounded number
 * unanswered, and hands each reply in order to take(i, reply, arg), which
 * owns it.
 */
void		 ctl_pipeline(struct mpc *, size_t, json_t *(*)(size_t, void *),
		     void (*)(size_t, json_t *, void *), void *);
/*
 * From now on SIGINT and SIGTERM are caught: the next one runs hook(arg)
 * inside ctl_wait, and puts the signals back as they were first.
 */
void		 ctl_catch(void (*)(void *), void *);

/* ctl-exec.c: options shared by submit, map and run; cancelling. */
/* Option codes of long options without a letter. */
enum {
	OPT_TIMEOUT = 256,
	OPT_RETRY_ON,
	OPT_RETRY_DELAY,
	OPT_NO_BLOCK,
	OPT_BLOCK_TIMEOUT,
	OPT_ENV_CLEAR,
	OPT_SHELL
};
/* The getopt_long entries ctl_exec_option takes, and their letters. */
#define CTL_EXEC_LONGOPTS						\
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },		\
	{ "cwd", required_argument, NULL, 'C' },			\
	{ "env", required_argument, NULL, 'e' },			\
	{ "env-clear", no_argument, NULL, OPT_ENV_CLEAR },		\
	{ "name", required_argument, NULL, 'n' },			\
	{ "priority", required_argument, NULL, 'p' },			\
	{ "pool", required_argument, NULL, 'P' }
#define CTL_EXEC_SHORTOPTS	"C:e:n:p:P:"
/*
 * Takes -n NAME, -p P, -P POOL or --timeout S into a submit or map
 * request. Returns
 * -1 when it took the option, else the exit status after a message (the
 * command's usage for an option that is none of them).
 */
int		 ctl_job_option(const struct cmd *, json_t *, int,
		     const char *);
/*
 * As ctl_job_option, and also -C DIR, -e K=V and --env-clear into the
 * request's kwargs for an exec job.
 */
int		 ctl_exec_option(const struct cmd *, json_t *, int,
		     const char *);
/* Sets kwargs.cwd to mpctl's directory unless -C set it; 0, or -1. */
int		 ctl_exec_cwd(json_t *);
/*
 * Cancels jobs on a connection of its own, waiting until each has ended;
 * refusals other than for jobs that had ended or gone are reported.
 */
void		 ctl_cancel(int64_t *, size_t);

/* cmd-logs.c */
/*
 * Copies a job's stdout and stderr, from their start, to fds 1 and 2. With
 * follow, waits for more until the job has ended; else stops when nothing
 * more is there now. Returns 0, EXIT_JOB_FAILED when the output could not
 * be written, or a refusal's code.
 */
int		 ctl_logs(struct mpc *, int64_t, int);

/* subst.c */
/* True when an argument holds a replacement string ({}, {.}, ...). */
int		 subst_has(const char *);
/* An argument with the item number n put in; newly allocated. */
char		*subst_expand(const char *, const char *, size_t);

/* map-exec.c */
/*
 * Runs map exec: the request holds the options; argv is CMD [ARG...]
 * [::: ITEM...]. wait < 0 waits for ever; json prints the results array.
 */
int		 map_exec(json_t *, double, int, int, char **);

#endif

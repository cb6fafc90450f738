/* mpctl: the command-line client. One file per command; the table in mpctl.c. */
#ifndef MPCTL_H
#define MPCTL_H

#include <jansson.h>
#include <stdint.h>

#include "mpclient.h"

/* Exit codes: documented in mpctl --help and README. */
#define EXIT_OK			0
#define EXIT_JOB_FAILED		1	/* the job failed, timed out or was cancelled */
#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	3	/* no daemon, or the connection broke */
#define EXIT_TIMEOUT		4	/* get --timeout ran out */
#define EXIT_NOT_FOUND		5	/* no such job */
#define EXIT_REFUSED		6	/* the daemon refused the request */

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

/* Connects to the daemon or exits with EXIT_UNREACHABLE. */
struct mpc	*ctl_connect(void);
/* Sends a request (stolen), returns the reply; exits if the link fails. */
json_t		*ctl_call(struct mpc *, json_t *);
/* Prints a refused request's error; returns the matching exit code. */
int		 ctl_refused(json_t *);
/* Prints usage for a command to stderr and returns EXIT_USAGE. */
int		 ctl_usage(const struct cmd *);
/* Prints a command's full help to stdout and returns EXIT_OK. */
int		 ctl_help(const struct cmd *);
/* An argument as JSON when it is valid JSON, else as a string. */
json_t		*ctl_value(const char *);
/* Sets req's "kwargs" from a JSON object argument; 0, or -1 after a message. */
int		 ctl_kwargs(json_t *, const char *);
/* Parses a job id or returns -1. */
int64_t		 ctl_id(const char *);
/* Parses seconds (>= 0) or returns -1. */
double		 ctl_seconds(const char *);
/* Prints JSON compactly on a line of stdout. */
void		 ctl_print(json_t *);
/*
 * Reports the job in a get reply: the result on stdout (0), or the job's
 * error on stderr (EXIT_JOB_FAILED), or the refusal (its code).
 */
int		 ctl_result(json_t *, int64_t);
/* Sends get and reports it; timeout < 0 waits for ever. */
int		 ctl_get(struct mpc *, int64_t, double);

#endif

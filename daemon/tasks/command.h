/*
 * The command tasks' parts (tasks/exec.c, spawn.c, capture.c): what a
 * command is, how its process starts, and how its output is captured.
 * Private to the three files.
 */
#ifndef MPD_TASKS_COMMAND_H
#define MPD_TASKS_COMMAND_H

#include <sys/resource.h>
#include <sys/types.h>

#include <jansson.h>
#include <stddef.h>

#include "task.h"

/* A command's settings, checked from args and kwargs. */
struct command {
	char		**argv;
	char		**envp;
	const char	 *cwd;
	const char	 *input;	/* stdin text, or NULL */
	size_t		  input_len;
	rlim_t		  limit[3];	/* RLIMIT_AS, RLIMIT_CPU, RLIMIT_NOFILE */
};

/* What the command's child reports when it cannot exec. */
struct exec_fail {
	int	 stage;
	int	 err;
};

enum { STAGE_CWD, STAGE_USER, STAGE_LIMIT, STAGE_EXEC };

/* One captured stream. */
struct capture {
	int	 fd;		/* read end of the pipe, -1 at end of file */
	int	 log;		/* log file, or -1 */
	char	*buf;		/* the first max bytes */
	size_t	 max;		/* the output cap */
	size_t	 len;
	size_t	 total;		/* all bytes read */
	size_t	 log_cap;	/* bytes kept in the log, head and tail; 0 all */
	size_t	 logged;	/* bytes of the head written to the log */
	char	*tail;		/* the last log_cap / 2 bytes past the head */
	size_t	 tail_at;	/* where the ring's next byte goes */
	size_t	 tail_len;
	int	 log_failed;	/* a write failed: the log stopped there */
};

/* spawn.c */
/* The command's stdin: /dev/null, or a memory file holding the text. */
int	 spawn_stdin(struct command *);
/*
 * Starts the command as the job's owner, in a session of its own, with
 * in, out and err as its 0-2; a failed start is written to report as a
 * struct exec_fail. Returns its pid, or -1.
 */
pid_t	 spawn_command(struct command *, struct task_ctx *, int, int, int,
	     int);
/* The job's error for a start that failed (new reference). */
json_t	*spawn_fail_error(struct command *, struct exec_fail *);

/* capture.c */
/* Reads what a stream's pipe holds; at end of file closes it. */
void	 capture_read(struct capture *);
/* Writes the kept tail to the log, past a line saying what was left out. */
void	 capture_close_log(struct capture *);
/* Whether the log holds less than the whole stream. */
int	 capture_log_cut(const struct capture *);
/*
 * The kept bytes as a JSON string, invalid UTF-8 and NUL bytes replaced by
 * U+FFFD: text for people; the logs keep the bytes.
 */
json_t	*capture_text(const struct capture *);

#endif

/*
 * Tasks: functions a worker runs, found by name. A task takes its args
 * (a JSON array) and kwargs (a JSON object) and returns a new reference to
 * its result, or NULL with *cause set to a newly allocated message.
 */
#ifndef MPD_TASK_H
#define MPD_TASK_H

#include <jansson.h>

struct task {
	const char	*name;
	const char	*summary;
	int		 test_only;	/* only with --test-tasks */
	json_t		*(*run)(json_t *, json_t *, char **);
};

/* Allows or forbids the test-only tasks. */
void		 task_enable_tests(int);
/* Finds a task by name among those enabled; NULL when there is none. */
const struct task *task_find(const char *);
/* The names of the enabled tasks, as a new JSON array. */
json_t		*task_names(void);

/* tasks/basic.c */
extern const struct task task_echo;
extern const struct task task_square;
extern const struct task task_sleep;
extern const struct task task_fail;
extern const struct task task_crash;

#endif

/*
 * The task registry: tasks are found by name among those registered, in
 * the order they were registered. Built-ins register through the same
 * call plugins will use (tasks/builtin.c).
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "task.h"
#include "xmalloc.h"

static const struct task	**tasks;
static size_t			  ntasks;
static int			  tests_enabled;

int
task_register(const struct task *t)
{
	size_t	i;

	for (i = 0; i < ntasks; i++) {
		if (strcmp(tasks[i]->name, t->name) == 0)
			return -1;
	}
	tasks = xreallocarray(tasks, ntasks + 1, sizeof *tasks);
	tasks[ntasks++] = t;
	return 0;
}

json_t *
task_run(const struct task *t, json_t *args, json_t *kwargs,
    struct task_ctx *ctx, json_t **error)
{
	if (t->plugin != NULL)
		return t->plugin->run(args, kwargs, (struct mpd_job *)ctx,
		    error);
	return t->run(args, kwargs, ctx, error);
}

void
task_clear(void)
{
	free(tasks);
	tasks = NULL;
	ntasks = 0;
}

json_t *
task_error(char *message)
{
	json_t	*e;

	e = json_pack("{s:s, s:s}", "code", JOBERR_TASK, "message",
	    message != NULL ? message : "the task failed without a message");
	free(message);
	return e;
}

void
task_enable_tests(int on)
{
	tests_enabled = on;
}

const struct task *
task_find(const char *name)
{
	size_t	i;

	for (i = 0; i < ntasks; i++) {
		if (tasks[i]->test_only && !tests_enabled)
			continue;
		if (strcmp(tasks[i]->name, name) == 0)
			return tasks[i];
	}
	return NULL;
}

json_t *
task_names(void)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < ntasks; i++) {
		if (tasks[i]->test_only && !tests_enabled)
			continue;
		json_array_append_new(a, json_string(tasks[i]->name));
	}
	return a;
}

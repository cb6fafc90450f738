/* The table of tasks. A new task family adds its entries here. */
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "task.h"

static const struct task *tasks[] = {
	&task_echo,
	&task_square,
	&task_sleep,
	&task_fail,
	&task_crash,
	&task_exec,
	&task_shell,
};

static int	tests_enabled;

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

	for (i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
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

	for (i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
		if (tasks[i]->test_only && !tests_enabled)
			continue;
		json_array_append_new(a, json_string(tasks[i]->name));
	}
	return a;
}

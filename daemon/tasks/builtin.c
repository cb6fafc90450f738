/*
 * The built-in tasks, registered as any other task is. A new family of
 * built-ins adds its entries here; the order is the one hello lists.
 */
#include "log.h"
#include "task.h"

void
task_register_builtins(void)
{
	static const struct task *builtins[] = {
		&task_echo,
		&task_square,
		&task_sleep,
		&task_fail,
		&task_crash,
		&task_exec,
		&task_shell,
	};
	size_t	i;

	for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
		if (task_register(builtins[i]) == -1)
			fatalx("task %s is registered twice", builtins[i]->name);
	}
}

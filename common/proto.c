/* Names of job states. */
#include <string.h>

#include "proto.h"

static const char *state_names[JOB_NSTATES] = {
	"queued", "running", "done", "failed", "timeout", "cancelled"
};

const char *
job_state_name(int state)
{
	if (state < 0 || state >= JOB_NSTATES)
		return "unknown";
	return state_names[state];
}

int
job_state_parse(const char *name)
{
	int	i;

	for (i = 0; i < JOB_NSTATES; i++) {
		if (strcmp(name, state_names[i]) == 0)
			return i;
	}
	return -1;
}

int
job_state_final(int state)
{
	return state >= JOB_DONE && state < JOB_NSTATES;
}

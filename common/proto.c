/* Names of job states and retry causes, as the protocol spells them. */
#include <string.h>

#include "proto.h"

static const char *state_names[JOB_NSTATES] = {
	"queued", "running", "done", "failed", "timeout", "cancelled"
};

/* By bit: RETRY_WORKER_DIED is 1 << 0, and so on. */
static const char *retry_names[RETRY_NCAUSES] = {
	"worker_died", "interrupted", "timeout", "error"
};

const char *
retry_cause_name(int bit)
{
	int	i;

	for (i = 0; i < RETRY_NCAUSES; i++) {
		if (bit == 1 << i)
			return retry_names[i];
	}
	return "unknown";
}

int
retry_cause(const char *name)
{
	int	i;

	for (i = 0; i < RETRY_NCAUSES; i++) {
		if (strcmp(retry_names[i], name) == 0)
			return 1 << i;
	}
	return 0;
}

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

int
function_name_ok(const char *name)
{
	size_t	i;

	for (i = 0; name[i] != '\0'; i++) {
		if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f ||
		    i >= PROTO_FUNCTION_MAX)
			return 0;
	}
	return i > 0 && strchr(name, ':') != NULL;
}

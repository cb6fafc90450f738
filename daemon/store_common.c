/*
 * What the store's front and its backends share, below both: a job
 * record's cleanup, and the loss of the open transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_backend.h"

void
job_clear(struct job *j)
{
	free(j->task);
	free(j->args);
	free(j->kwargs);
	free(j->name);
	free(j->result);
	free(j->error);
	free(j->pool);
	free(j->context);
	memset(j, 0, sizeof *j);
}

void
store_lost(struct store *s, const char *why)
{
	if (s->lost != NULL)
		s->lost(why, s->lost_arg);
	fatalx("store: the transaction was rolled back: %s", why);
}

/* The unit tests' one way to build a queued job record. */
#ifndef MPD_TESTJOB_H
#define MPD_TESTJOB_H

#include <string.h>

#include "proto.h"
#include "store.h"

/* A queued plain job of task with args (JSON text), one attempt. */
static inline void
testjob_init(struct job *j, const char *task, const char *args)
{
	memset(j, 0, sizeof *j);
	j->kind = KIND_JOB;
	j->task = (char *)task;
	j->args = (char *)args;
	j->kwargs = (char *)"{}";
	j->state = JOB_QUEUED;
	j->max_attempts = 1;
}

#endif

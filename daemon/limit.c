/*
 * Time limits and kills of running jobs. A job with a time limit gets a
 * timer when a worker starts it. When the limit runs out, or the job is
 * cancelled, its command's process group gets SIGTERM, then SIGKILL after
 * the kill grace (the worker, which is the command's parent, does the
 * signalling, so a reaped process's id is never signalled). A function
 * task runs inside the worker: the worker is killed at once and replaced.
 * Either way the job ends in the state that killed it, when its worker
 * reports or dies.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "util.h"
#include "wframe.h"
#include "xmalloc.h"


static struct event_base	*base;
static double			 kill_grace;	/* SIGTERM to SIGKILL */

void
limit_init(struct event_base *b, double grace)
{
	base = b;
	kill_grace = grace;
}

/* Arms the worker's timer for secs seconds. */
static void
limit_arm(struct worker *w, double secs)
{
	struct timeval	tv;

	tv = tv_from(secs);
	evtimer_add(w->run.limit_ev, &tv);
}

/* Asks the worker to signal its command's process group. */
static void
limit_signal(struct worker *w, int sig)
{
	char	frame[96];
	int	n;

	if ((n = wframe_signal(frame, sizeof frame, w->run.job, sig)) == -1)
		fatalx("cannot build a signal frame");
	pool_send(w, frame, (size_t)n);
}

/* The next step of a kill: TERM, then KILL, then the worker itself. */
static void
limit_next(struct worker *w)
{
	if (!w->run.command) {
		w->run.kill_stage = 3;
		pool_kill(w, w->run.ending == JOB_TIMEOUT ? "ran past its job's "
		    "time limit" : "had its job cancelled");
		return;
	}
	switch (w->run.kill_stage++) {
	case 0:
		log_info("job %lld: %s; SIGTERM to its process group",
		    (long long)w->run.job, w->run.ending == JOB_TIMEOUT ?
		    "time limit reached" : "cancelled");
		limit_signal(w, SIGTERM);
		limit_arm(w, kill_grace);
		break;
	case 1:
		log_info("job %lld: still running after %g s; SIGKILL to its "
		    "process group", (long long)w->run.job, kill_grace);
		limit_signal(w, SIGKILL);
		/* Time for the worker to reap and report, even at grace 0. */
		limit_arm(w, kill_grace > 1 ? kill_grace : 1);
		break;
	default:
		pool_kill(w, "did not end its job's command");
		break;
	}
}

/* The time limit or a grace period ran out. */
static void
limit_cb(evutil_socket_t fd, short events, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)events;
	if (w->run.job == 0 || w->pid == 0 || w->reaped)
		return;
	if (w->run.ending == 0)
		limit_kill(w, JOB_TIMEOUT);
	else
		limit_next(w);
}

void
limit_start(struct worker *w)
{
	if (w->run.limit_ev == NULL &&
	    (w->run.limit_ev = evtimer_new(base, limit_cb, w)) == NULL)
		fatalx("evtimer_new");
	w->run.ending = 0;
	w->run.kill_stage = 0;
	w->run.group = 0;
	if (w->run.limit > 0)
		limit_arm(w, w->run.limit);
}

void
limit_stop(struct worker *w)
{
	if (w->run.limit_ev != NULL)
		evtimer_del(w->run.limit_ev);
	w->run.ending = 0;
	w->run.kill_stage = 0;
	w->run.group = 0;
}

void
limit_free(struct worker *w)
{
	if (w->run.limit_ev != NULL)
		event_free(w->run.limit_ev);
	w->run.limit_ev = NULL;
}

void
limit_kill(struct worker *w, int state)
{
	if (w->run.job == 0 || w->run.ending != 0)
		return;		/* the first cause stands */
	w->run.ending = state;
	w->run.kill_stage = 0;
	if (w->run.limit_ev != NULL)
		evtimer_del(w->run.limit_ev);
	limit_next(w);
}

json_t *
limit_error(struct worker *w)
{
	const char	*how;
	json_t		*e;

	if (!w->run.command)
		how = "its worker was killed and replaced";
	else if (w->run.kill_stage <= 1)
		how = "its process group got SIGTERM";
	else if (w->run.kill_stage == 2)
		how = "its process group got SIGTERM, then SIGKILL";
	else
		how = "its process group got SIGTERM, then SIGKILL, then its "
		    "worker was killed";
	if (w->run.ending == JOB_TIMEOUT) {
		e = json_pack("{s:s, s:s, s:f}", "code", JOBERR_TIMEOUT,
		    "message", "", "limit", w->run.limit);
		json_object_set_new(e, "message", json_sprintf("the job ran "
		    "past its time limit of %g s; %s", w->run.limit, how));
	} else {
		e = json_pack("{s:s}", "code", JOBERR_CANCELLED);
		json_object_set_new(e, "message", json_sprintf("cancelled by "
		    "uid %ld while running; %s", (long)w->run.cancel_by, how));
	}
	return e;
}

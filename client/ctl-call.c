/*
 * Talking to the daemon: calls, pipelines, and waits that SIGINT or SIGTERM
 * can interrupt to run a hook (run and map exec cancel their jobs then).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpctl.h"
#include "xmalloc.h"

/* Requests a pipeline keeps unanswered at most. */
#define CTL_WINDOW	256

static volatile sig_atomic_t	 caught;
static void			(*hook)(void *);
static void			*hook_arg;
static sigset_t			 saved_mask;
static struct sigaction		 saved_int, saved_term;

static void
ctl_on_signal(int sig)
{
	caught = sig;
}

void
ctl_catch(void (*fn)(void *), void *arg)
{
	struct sigaction	sa;
	sigset_t		set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &saved_mask);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctl_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: ppoll must return EINTR */
	sigaction(SIGINT, &sa, &saved_int);
	sigaction(SIGTERM, &sa, &saved_term);
	/* A signal the shell told us to ignore (a background job) stays so. */
	if (saved_int.sa_handler == SIG_IGN)
		sigaction(SIGINT, &saved_int, NULL);
	if (saved_term.sa_handler == SIG_IGN)
		sigaction(SIGTERM, &saved_term, NULL);
	caught = 0;
	hook = fn;
	hook_arg = arg;
}

/*
 * Runs the hook once a signal was caught, after putting the signals back
 * as they were: a second ctrl-C stops mpctl at once.
 */
static void
ctl_caught(void)
{
	void	(*fn)(void *) = hook;
	sigset_t blocked;

	/* A signal pending while blocked is delivered on unblocking. */
	sigprocmask(SIG_SETMASK, &saved_mask, &blocked);
	sigprocmask(SIG_SETMASK, &blocked, NULL);
	if (!caught)
		return;
	hook = NULL;
	sigaction(SIGINT, &saved_int, NULL);
	sigaction(SIGTERM, &saved_term, NULL);
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	fn(hook_arg);
}

int64_t
ctl_send(struct mpc *c, json_t *req)
{
	int64_t	 tag;
	char	*cause;

	if ((tag = mpc_send(c, req, &cause)) == -1) {
		fprintf(stderr, "mpctl: %s\n", ctl_safe(cause));
		free(cause);
		exit(EXIT_UNREACHABLE);
	}
	return tag;
}

json_t *
ctl_wait(struct mpc *c, int64_t tag)
{
	json_t	*reply;
	char	*cause = NULL;
	int	 rc;

	while (hook != NULL) {
		ctl_caught();
		if (hook == NULL)
			break;
		if ((rc = mpc_ready(c, tag, &saved_mask, &cause)) == -1)
			goto fail;
		if (rc == 1)
			break;
	}
	if ((reply = mpc_wait(c, tag, &cause)) != NULL)
		return reply;
fail:
	fprintf(stderr, "mpctl: %s\n", ctl_safe(cause));
	free(cause);
	exit(EXIT_UNREACHABLE);
}

json_t *
ctl_call(struct mpc *c, json_t *req)
{
	return ctl_wait(c, ctl_send(c, req));
}

void
ctl_pipeline(struct mpc *c, size_t n, json_t *(*make)(size_t, void *),
    void (*take)(size_t, json_t *, void *), void *arg)
{
	int64_t	tags[CTL_WINDOW];
	size_t	sent = 0, got = 0;

	while (got < n) {
		if (sent < n && sent - got < CTL_WINDOW) {
			tags[sent % CTL_WINDOW] = ctl_send(c, make(sent, arg));
			sent++;
		} else {
			take(got, ctl_wait(c, tags[got % CTL_WINDOW]), arg);
			got++;
		}
	}
}

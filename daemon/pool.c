/*
 * The worker pools: named groups of slots, each slot holding at most one
 * forked worker; the slots of all pools make one array, pool by pool. A slot
 * is recycled only when both its socket reached end of file and its process
 * was reaped, so no result frame is lost and no zombie is left. A worker
 * that dies before finishing any job is respawned with a growing delay.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "tasks/task.h"
#include "util.h"
#include "wframe.h"
#include "xmalloc.h"

#define RESPAWN_FIRST	0.1	/* seconds before the first delayed respawn */
#define RESPAWN_MAX	10.0
#define RESPAWN_GIVE_UP	12	/* deaths in a row before a job: fatal */
#define HELLO_WAIT	30.0	/* seconds a runtime has to say hello */
#define EXIT_WAIT	5.0	/* and to exit at end of file */
#define OUTPUT_LINES	20	/* lines of a runtime's own output logged */

struct worker	**workers;	/* by slot number; pools interleave */
int		 nworkers;

static const struct pool_hooks	*hooks;	/* the scheduler's ears */
static struct event_base	*base;
static const struct config	*conf;
static struct task_settings	 task_settings;
/* The pools, "default" first; a removed one keeps its index, unlisted. */
static struct pool {
	char		 name[POOL_NAME_MAX];
	char		 runtime[RUNTIME_MAX];	/* "" builtin */
	int		 size;		/* slots it should have */
	int		 paused;
	int		 added;		/* by pool_add, not the settings */
	int		 removed;
} pools[POOLS_MAX];
static int			 npools;
static int			 last_slot;	/* numbers "worker-N" */
static int			 as_root;	/* runtimes run as their owner */

static void	pool_spawn(struct worker *);

/* Turns a wait status into words: "exited with 3", "killed by signal 9". */
static char *
pool_cause(int status)
{
	if (WIFEXITED(status))
		return xasprintf("exited with status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return xasprintf("was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	return xasprintf("ended with wait status %d", status);
}

/*
 * Kills every child of mpd that is not a worker: processes of a job whose
 * worker died were reparented here (mpd is a subreaper). Their own
 * children come here in turn and are killed when they are reaped.
 */
int
pool_sweep(void)
{
	char	 path[64], *word = NULL;
	size_t	 cap = 0;
	FILE	*f;
	pid_t	 pid;
	int	 i, ours, n = 0;

	snprintf(path, sizeof path, "/proc/self/task/%ld/children",
	    (long)getpid());
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (getdelim(&word, &cap, ' ', f) != -1) {
		if ((pid = (pid_t)strtol(word, NULL, 10)) <= 0)
			continue;
		for (ours = 0, i = 0; i < nworkers && !ours; i++)
			ours = workers[i]->pid == pid;
		if (!ours) {
			log_debug("killing pid %ld, left by a dead worker's job",
			    (long)pid);
			kill(pid, SIGKILL);
			n++;
		}
	}
	free(word);
	fclose(f);
	return n;
}

/* A retired slot's worker is gone: the slot goes too. */
static void
pool_slot_free(struct worker *w)
{
	int	i;

	for (i = 0; i < nworkers && workers[i] != w; i++)
		;
	if (i < nworkers) {
		memmove(&workers[i], &workers[i + 1], (size_t)(nworkers - i -
		    1) * sizeof *workers);
		nworkers--;
	}
	log_info("%s retired from pool %s", w->name, pools[w->pool].name);
	hooks->freed(w);
	event_free(w->respawn);
	evbuffer_free(w->jobs);
	free(w);
}

/* Both halves of a worker's end happened: report it, respawn. */
static void
pool_slot_dead(struct worker *w)
{
	struct timeval	 tv;
	char		*cause;
	double		 delay;
	int		 had_job;

	cause = pool_cause(w->status);
	/* What the death means to its job is the scheduler's to say. */
	had_job = hooks->gone(w, cause);
	free(cause);
	/*
	 * A command that lost its worker died with it (its death signal);
	 * what it left was reparented here: kill it. Its group is not
	 * signalled, as the id may be free by now.
	 */
	if (had_job)
		pool_sweep();

	if (w->bev != NULL) {
		bufferevent_free(w->bev);
		w->bev = NULL;
	}
	wframe_head_clear(&w->head);
	w->have_head = 0;
	w->scanned = 0;
	w->left = 0;
	/* Frames not sent yet: their jobs were settled above. */
	evbuffer_drain(w->jobs, evbuffer_get_length(w->jobs));
	w->sealed = 0;
	/* A runtime that never said hello failed, job or not. */
	if ((!had_job && w->ran == 0 && !w->stopping) ||
	    (pool_external(w->pool) && !w->hello && !w->stopping))
		w->fails++;
	else
		w->fails = 0;
	if (w->out != NULL) {
		bufferevent_free(w->out);
		w->out = NULL;
	}
	w->state = W_DOWN;
	w->pid = 0;
	w->requeue = 0;
	w->stopping = 0;
	tick_kick();
	if (w->retire) {
		pool_slot_free(w);
		return;
	}
	if (stopping() > STOP_DRAIN)
		return;
	/*
	 * An external runtime's slot is started on demand, for a job's
	 * owner; after deaths in a row it waits the growing delay first. A
	 * runtime that keeps failing costs its jobs, never the daemon.
	 */
	if (pool_external(w->pool)) {
		evtimer_del(w->respawn);	/* its wait for hello */
		if (w->fails > 0) {
			delay = RESPAWN_FIRST;
			for (int i = 1; i < w->fails && delay < RESPAWN_MAX; i++)
				delay *= 2;
			tv = tv_from(delay < RESPAWN_MAX ? delay : RESPAWN_MAX);
			evtimer_add(w->respawn, &tv);
		}
		return;
	}
	if (w->fails >= RESPAWN_GIVE_UP)
		fatalx("%s died %d times in a row before running any job; "
		    "giving up", w->name, w->fails);
	delay = 0;
	if (w->fails > 0) {
		delay = RESPAWN_FIRST;
		for (int i = 1; i < w->fails && delay < RESPAWN_MAX; i++)
			delay *= 2;
		if (delay > RESPAWN_MAX)
			delay = RESPAWN_MAX;
		log_warnx("respawning %s in %.1f s", w->name, delay);
	}
	tv = tv_from(delay);
	evtimer_add(w->respawn, &tv);
}

/* Respawn timer. */
static void
pool_respawn_cb(evutil_socket_t fd, short events, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)events;
	if (pool_external(w->pool)) {
		/* A runtime that has not said hello, or exited, in time; or
		 * a slot that may be started again. */
		if (w->state != W_DOWN && !w->hello)
			pool_broken(w, "did not say hello in time");
		else if (w->state == W_EXITING)
			pool_kill(w, "did not exit at end of file in time");
		tick_kick();
		return;
	}
	if (w->state == W_DOWN && stopping() <= STOP_DRAIN)
		pool_spawn(w);
}

/*
 * An external runtime's first frame is its hello, and only the first is:
 * returns 1 when the frame was the hello (taken), 0 for any other frame
 * after it, -1 after marking the worker broken.
 */
static int
pool_hello(struct worker *w, const struct wframe_head *h)
{
	if (!pool_external(w->pool)) {
		if (!h->has_hello)
			return 0;
		pool_broken(w, "sent a hello, which a builtin worker does not");
		return -1;
	}
	if (w->hello) {
		if (!h->has_hello)
			return 0;
		pool_broken(w, "said hello twice");
		return -1;
	}
	if (!h->has_hello) {
		pool_broken(w, "did not begin with its hello");
		return -1;
	}
	if (h->protocol != WFRAME_PROTOCOL) {
		log_warnx("%s speaks worker protocol %lld; this mpd speaks %d",
		    w->name, (long long)h->protocol, WFRAME_PROTOCOL);
		pool_broken(w, "speaks another worker protocol");
		return -1;
	}
	w->hello = 1;
	evtimer_del(w->respawn);
	log_debug("%s (pid %ld): hello from runtime %s", w->name,
	    (long)w->pid, pools[w->pool].runtime);
	return 1;
}

/*
 * Takes a worker's next frame line, at most --max-line and WFRAME_HEAD_ROOM
 * long (an error may quote a request's argument). Returns 1 with w->head
 * set, 0 when the line is not all in yet, -1 after marking the worker
 * broken.
 */
static int
pool_read_head(struct worker *w, struct evbuffer *in)
{
	const char		*why;
	char			*line;
	size_t			 len;
	int			 rc;

	if ((rc = peer_line(in, &w->scanned, conf->max_line + WFRAME_HEAD_ROOM,
	    &line, &len)) != 1) {
		if (rc == -1)
			pool_broken(w, "sent a frame longer than the cap");
		return rc;
	}
	rc = wframe_head_parse(line, len, &w->head, &why);
	free(line);
	if (rc == -1) {
		pool_broken(w, why);
		return -1;
	}
	w->have_head = 1;
	/* A result past --max-result is read and dropped as it comes. */
	w->skip = w->head.has_result && w->head.result_len > conf->max_result;
	w->left = w->head.has_result ? w->head.result_len + 1 : 0;
	return 1;
}

/*
 * Takes the result that follows a frame, w->left bytes with its newline:
 * returns 1 when all are in (*text set, or NULL when it was dropped), 0
 * when more must come, -1 after marking the worker broken.
 */
static int
pool_read_result(struct worker *w, struct evbuffer *in, char **text)
{
	size_t	n, len = w->head.result_len;
	char	last;

	*text = NULL;
	if (!w->head.has_result)
		return 1;
	if (w->skip) {
		n = evbuffer_get_length(in);
		if (n > w->left - 1)
			n = w->left - 1;
		evbuffer_drain(in, n);
		w->left -= n;
		if (w->left > 1 || evbuffer_get_length(in) == 0)
			return 0;
		evbuffer_remove(in, &last, 1);
		w->left = 0;
		if (last != '\n')
			goto wrong;
		return 1;
	}
	if (evbuffer_get_length(in) < w->left)
		return 0;
	*text = xmalloc(len + 1);
	evbuffer_remove(in, *text, len + 1);
	w->left = 0;
	if ((*text)[len] != '\n') {
		free(*text);
		*text = NULL;
		goto wrong;
	}
	(*text)[len] = '\0';
	return 1;
wrong:
	wframe_head_clear(&w->head);
	w->have_head = 0;
	pool_broken(w, "sent a result of the wrong length");
	return -1;
}

/*
 * Reads frames from a worker (tasks' results, commands' pids) and hands
 * each, checked, to the scheduler.
 */
static void
pool_read_cb(struct bufferevent *bev, void *arg)
{
	struct worker	*w = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*text;

	/* Nothing more is read from a worker that broke the protocol. */
	if (w->broken) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	for (;;) {
		if (!w->have_head && pool_read_head(w, in) != 1)
			return;
		if (pool_read_result(w, in, &text) != 1)
			return;
		switch (pool_hello(w, &w->head)) {
		case 0:
			hooks->frame(w, &w->head, text);
			break;
		case -1:
			wframe_head_clear(&w->head);
			w->have_head = 0;
			free(text);
			return;
		}
		wframe_head_clear(&w->head);
		w->have_head = 0;
		free(text);
		/*
		 * A worker killed for its job's time limit or cancel may
		 * have sent the results of jobs handed to it behind that
		 * one: they are taken, not thrown away and run again.
		 */
		if (w->broken)
			return;
	}
}

/* End of file or error on a worker's socket. */
static void
pool_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct worker	*w = arg;

	(void)bev;
	if (!(events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/*
	 * A frame it could not take (it died, or closed its end) stops the
	 * writing only: what it sent before is still read, up to its end of
	 * file, so that no result it reported is lost.
	 */
	if (events & BEV_EVENT_WRITING) {
		bufferevent_disable(w->bev, EV_WRITE);
		w->state = W_EXITING;	/* never handed a job again */
		return;
	}
	bufferevent_disable(w->bev, EV_READ | EV_WRITE);
	w->eof = 1;
	w->state = W_EXITING;	/* never handed a job again */
	if (w->reaped)
		pool_slot_dead(w);
}

/*
 * What a runtime writes on its stdout and stderr (not its jobs': those are
 * captured by the runtime): its first lines go to mpd's log, printable
 * characters only and marked as the worker's, then nothing more.
 */
static void
pool_out_cb(struct bufferevent *bev, void *arg)
{
	struct worker	*w = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len, i;

	while (w->outlines <= OUTPUT_LINES && (line = evbuffer_readln(in, &len,
	    EVBUFFER_EOL_LF)) != NULL) {
		for (i = 0; i < len; i++) {
			if ((unsigned char)line[i] < ' ' || line[i] == 0x7f)
				line[i] = '?';
		}
		if (w->outlines++ < OUTPUT_LINES)
			log_warnx("%s (pid %ld) wrote: %.*s", w->name,
			    (long)w->pid, len > 512 ? 512 : (int)len, line);
		else
			log_warnx("%s (pid %ld) wrote more; not logged", w->name,
			    (long)w->pid);
		free(line);
	}
	/* A line past the cap, or past what is worth keeping: dropped. */
	if (w->outlines > OUTPUT_LINES || evbuffer_get_length(in) > 4096)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
pool_out_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct worker	*w = arg;

	(void)bev;
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(w->out);
		w->out = NULL;
	}
}

/* In the child: reset what the parent set up, then become a worker. */
static void
pool_child(struct worker *w, int fd, int out, pid_t parent)
{
	int			 null, logs;
	char			 tag[32];

	signals_reset();
	/* Away from any terminal mpd was started from. */
	setsid();
	log_set_exit(_exit);
	snprintf(tag, sizeof tag, "mpd[%s]", w->name);
	log_set_tag(tag);
	/*
	 * SIGTERM when the parent dies: a worker running a command kills
	 * its process group first (tasks/exec.c). As a subreaper, it
	 * collects whatever a command's processes leave behind.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		fatal("PR_SET_CHILD_SUBREAPER");
	prctl(PR_SET_NAME, w->name);
	proctitle_set(w->name);

	/*
	 * Only the parent's socket (fd 3) and the held log directory (fd 4)
	 * survive; stdin is /dev/null. Both are close-on-exec: commands a
	 * worker runs hold neither. They are first moved above 4, so neither
	 * dup3 overwrites the other.
	 */
	if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 5)) == -1 ||
	    (logs = fcntl(logs_fd(), F_DUPFD_CLOEXEC, 5)) == -1 ||
	    (out != -1 && (out = fcntl(out, F_DUPFD_CLOEXEC, 5)) == -1) ||
	    dup3(fd, 3, O_CLOEXEC) == -1 || dup3(logs, 4, O_CLOEXEC) == -1)
		fatal("dup3");
	/* A runtime writes its own output to mpd's pipe, never mpd's log. */
	if (out != -1 && (dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(out, STDERR_FILENO) == -1))
		fatal("dup2");
	if (close_range(5, ~0U, 0) == -1)
		fatal("close_range");
	logs_set_fd(4);
	if ((null = open("/dev/null", O_RDONLY)) != -1) {
		dup2(null, STDIN_FILENO);
		if (null != STDIN_FILENO)
			close(null);
	}
	if (pool_external(w->pool))
		runtime_exec(pools[w->pool].runtime, w->name, parent,
		    w->owner, w->owner_gid, &task_settings);
	worker_main(3, &task_settings);
}

/* Forks a worker into an empty slot. */
static void
pool_spawn(struct worker *w)
{
	struct timeval	 tv;
	sigset_t	 all, old;
	pid_t		 pid, parent = getpid();
	int		 sv[2] = { -1, -1 }, out[2] = { -1, -1 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (pool_external(w->pool) && pipe2(out, O_CLOEXEC) == -1)) {
		log_warn("socketpair or pipe for %s", w->name);
		if (sv[0] != -1) {
			close(sv[0]);
			close(sv[1]);
		}
		w->status = 0;
		pool_slot_dead(w);
		return;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		if (out[0] != -1)
			close(out[0]);
		pool_child(w, sv[1], out[1], parent);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (out[1] != -1)
		close(out[1]);
	if (pid == -1) {
		log_warn("fork for %s", w->name);
		if (out[0] != -1)
			close(out[0]);
		close(sv[0]);
		w->status = 0;
		pool_slot_dead(w);
		return;
	}
	evutil_make_socket_nonblocking(sv[0]);
	w->pid = pid;
	w->bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	if (w->bev == NULL)
		fatalx("bufferevent for %s", w->name);
	bufferevent_setcb(w->bev, pool_read_cb, NULL, pool_event_cb, w);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
	if (out[0] != -1) {
		evutil_make_socket_nonblocking(out[0]);
		if ((w->out = bufferevent_socket_new(base, out[0],
		    BEV_OPT_CLOSE_ON_FREE)) == NULL)
			fatalx("bufferevent for %s's output", w->name);
		bufferevent_setcb(w->out, pool_out_cb, NULL, pool_out_event_cb,
		    w);
		bufferevent_enable(w->out, EV_READ);
		w->outlines = 0;
	}
	w->state = W_IDLE;
	w->ran = 0;
	w->broken = 0;
	w->hello = 0;
	if (pool_external(w->pool)) {
		tv = tv_from(HELLO_WAIT);
		evtimer_add(w->respawn, &tv);
	}
	w->eof = 0;
	w->reaped = 0;
	w->status = 0;
	w->started = time_now();
	log_debug("%s started as pid %ld", w->name, (long)pid);
	tick_kick();
}

/* Adds a slot to a pool and starts its worker; returns 0 or -1. */
static int
pool_slot_new(int pool)
{
	struct worker	*w;

	w = xcalloc(1, sizeof *w);
	w->pool = pool;
	w->slot = ++last_slot;
	snprintf(w->name, sizeof w->name, "worker-%d", w->slot);
	if ((w->respawn = evtimer_new(base, pool_respawn_cb, w)) == NULL ||
	    (w->jobs = evbuffer_new()) == NULL) {
		if (w->respawn != NULL)
			event_free(w->respawn);
		free(w);
		return -1;
	}
	workers = xreallocarray(workers, (size_t)nworkers + 1,
	    sizeof *workers);
	workers[nworkers++] = w;
	/* An external runtime's slot is started for a job's owner. */
	if (!pool_external(pool))
		pool_spawn(w);
	return 0;
}

/* Workers of a pool that are not being retired. */
static int
pool_live(int pool)
{
	int	i, n = 0;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->pool == pool && !workers[i]->retire)
			n++;
	}
	return n;
}

/* Whether any slot, retiring or not, is still a pool's. */
static int
pool_has_workers(int pool)
{
	int	i;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->pool == pool)
			return 1;
	}
	return 0;
}

/* Ends a worker for good: at once when idle or down, else after its job. */
static void
pool_retire(struct worker *w)
{
	w->retire = 1;
	if (w->state == W_DOWN && w->pid == 0) {
		evtimer_del(w->respawn);
		pool_slot_free(w);
	} else if (w->state == W_IDLE)
		pool_check(w);
}

/* Grows or shrinks a pool to its size: idle workers retire first. */
static void
pool_fit(int pool)
{
	int	i, want, live = pool_live(pool);
	enum worker_state order[] = { W_DOWN, W_EXITING, W_IDLE, W_BUSY };
	size_t	o;

	want = pools[pool].removed ? 0 : pools[pool].size;
	/* Busy workers still to retire stay, before any slot is added. */
	for (i = 0; i < nworkers && live < want; i++) {
		if (workers[i]->pool == pool && workers[i]->retire &&
		    workers[i]->state == W_BUSY) {
			workers[i]->retire = 0;
			live++;
		}
	}
	for (; live < want; live++) {
		if (pool_slot_new(pool) == -1)
			fatalx("cannot add a worker to pool %s",
			    pools[pool].name);
	}
	for (o = 0; o < sizeof order / sizeof order[0] && live > want; o++) {
		/* From the end: pool_retire may free the slot. */
		for (i = nworkers - 1; i >= 0 && live > want; i--) {
			if (i >= nworkers)
				continue;
			if (workers[i]->pool == pool && !workers[i]->retire &&
			    workers[i]->state == order[o]) {
				pool_retire(workers[i]);
				live--;
			}
		}
	}
}

int
pool_start(struct event_base *b, const struct config *c,
    const struct pool_hooks *h)
{
	int	k;

	base = b;
	conf = c;
	hooks = h;
	as_root = geteuid() == 0;
	/* What the workers' tasks heed of the settings. */
	task_settings.output_cap = c->output_cap;
	task_settings.log_cap = (size_t)c->log_cap;
	task_settings.limit[0] = c->limit_as;
	task_settings.limit[1] = c->limit_cpu;
	task_settings.limit[2] = c->limit_nofile;
	memcpy(task_settings.user_limit, c->user_limit,
	    sizeof task_settings.user_limit);
	task_settings.umask = c->job_umask;
	/* Without pools in the settings: one, the default, of --workers. */
	memset(pools, 0, sizeof pools);
	npools = c->npools > 0 ? c->npools : 1;
	snprintf(pools[0].name, sizeof pools[0].name, "%s", POOL_DEFAULT);
	pools[0].size = c->workers;
	for (k = 0; k < c->npools; k++) {
		snprintf(pools[k].name, sizeof pools[k].name, "%s",
		    c->pools[k].name);
		pools[k].size = c->pools[k].size;
		pools[k].paused = c->pools[k].paused;
		pools[k].added = c->pools[k].added;
		snprintf(pools[k].runtime, sizeof pools[k].runtime, "%s",
		    c->pools[k].runtime);
	}
	for (k = 0; k < npools; k++)
		pool_fit(k);
	return 0;
}

/*
 * Ends a worker: end of file on its socket makes it exit, and its slot is
 * then respawned, or freed when retired. A runtime that has not exited
 * EXIT_WAIT seconds later is killed.
 */
static void
pool_end(struct worker *w)
{
	struct timeval	tv;

	w->state = W_EXITING;
	w->stopping = 1;
	shutdown(bufferevent_getfd(w->bev), SHUT_WR);
	if (pool_external(w->pool)) {
		tv = tv_from(EXIT_WAIT);
		evtimer_add(w->respawn, &tv);
	}
}

/* Whether any worker of a pool is on its way out. */
static int
pool_exiting(int pool)
{
	int	i;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->pool == pool && workers[i]->state == W_EXITING)
			return 1;
	}
	return 0;
}

/* Whether an external runtime's empty slot may be started now. */
static int
pool_startable(struct worker *w)
{
	return w->state == W_DOWN && w->pid == 0 && !w->retire &&
	    !evtimer_pending(w->respawn, NULL) && stopping() <= STOP_DRAIN;
}

struct worker *
pool_idle(int pool, uid_t owner, gid_t group)
{
	struct worker	*w, *other = NULL;
	int		 i, external = pool_external(pool);

	/* Not root: every runtime runs as mpd's own user, for everyone. */
	if (external && !as_root) {
		owner = geteuid();
		group = getegid();
	}
	for (i = 0; i < nworkers; i++) {
		w = workers[i];
		if (w->pool != pool || w->state != W_IDLE || w->reaped)
			continue;
		if (!external || (w->owner == owner && w->owner_gid == group))
			return w;
		other = w;
	}
	if (!external)
		return NULL;
	for (i = 0; i < nworkers; i++) {
		w = workers[i];
		if (w->pool == pool && pool_startable(w)) {
			w->owner = owner;
			w->owner_gid = group;
			pool_spawn(w);
			return w->state == W_IDLE ? w : NULL;
		}
	}
	/*
	 * Every slot is taken: one of another user's idle workers goes, one
	 * at a time, so that a waiting job ends one worker, not all.
	 */
	if (other != NULL && !pool_exiting(pool)) {
		log_debug("%s (pid %ld) of uid %ld ends, for a job of uid %ld",
		    other->name, (long)other->pid, (long)other->owner,
		    (long)owner);
		pool_end(other);
	}
	return NULL;
}

int
pool_nidle(int pool)
{
	int	i, n = 0, external = pool_external(pool);

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->pool == pool && (workers[i]->state == W_IDLE ||
		    (external && pool_startable(workers[i]))))
			n++;
	}
	return n;
}

int
pool_serves(const struct worker *w, uid_t owner, gid_t group)
{
	if (!pool_external(w->pool))
		return 1;
	if (!as_root)
		return 1;	/* every runtime runs as mpd's own user */
	return w->owner == owner && w->owner_gid == group;
}

int
pool_external(int pool)
{
	return pools[pool].runtime[0] != '\0';
}

const char *
pool_runtime(int pool)
{
	return pools[pool].runtime;
}

int
pool_count(void)
{
	return npools;
}

int
pool_added(int pool)
{
	return pools[pool].added;
}

int
pool_listed(int pool)
{
	return !pools[pool].removed;
}

int
pool_paused(int pool)
{
	return pools[pool].paused;
}

void
pool_pause(int pool, int paused)
{
	pools[pool].paused = paused;
	tick_kick();
}

void
pool_resize(int pool, int size)
{
	pools[pool].size = size;
	pool_fit(pool);
	tick_kick();
}

int
pool_add(const char *name, int size, const char *runtime)
{
	int	k;

	/* A removed pool's index, once its workers are all gone. */
	for (k = 0; k < npools; k++) {
		if (pools[k].removed && !pool_has_workers(k))
			break;
	}
	if (k == npools) {
		if (npools == POOLS_MAX)
			return -1;
		npools++;
	}
	memset(&pools[k], 0, sizeof pools[k]);
	snprintf(pools[k].name, sizeof pools[k].name, "%s", name);
	pools[k].size = size;
	pools[k].added = 1;
	snprintf(pools[k].runtime, sizeof pools[k].runtime, "%s", runtime);
	pool_fit(k);
	tick_kick();
	return k;
}

void
pool_remove(int pool)
{
	pools[pool].removed = 1;
	pools[pool].paused = 0;
	pool_fit(pool);
}

int
pool_total(void)
{
	int	k, n = 0;

	for (k = 0; k < npools; k++) {
		if (!pools[k].removed)
			n += pools[k].size;
	}
	return n;
}

const char *
pool_name(int pool)
{
	return pools[pool].name;
}

int
pool_size(int pool)
{
	return pools[pool].size;
}

int
pool_name_ok(const char *name, size_t n)
{
	size_t	i;

	if (n == 0 || n >= POOL_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (name[i] == '\0' || strchr(POOL_NAME_CHARS, name[i]) == NULL)
			return 0;
	}
	return 1;
}

int
pool_find(const char *name)
{
	int	k;

	for (k = 0; k < npools; k++) {
		if (!pools[k].removed && strcmp(pools[k].name, name) == 0)
			return k;
	}
	return -1;
}

int
pool_alive(void)
{
	int	i, n = 0;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->pid != 0)
			n++;
	}
	return n;
}

void
pool_send_job(struct worker *w, const char *frame, size_t len)
{
	if (evbuffer_add(w->jobs, frame, len) == -1 ||
	    evbuffer_add(w->jobs, "\n", 1) == -1)
		fatalx("evbuffer_add");
}

/* Sends what the commit covered of a worker's queued frames. */
static void
pool_flush_one(struct worker *w)
{
	struct evbuffer	*out;
	size_t		 n = w->sealed;
	int		 rc;

	w->sealed = 0;
	if (w->bev == NULL) {
		/* Gone meanwhile: its jobs are settled as it ends. */
		evbuffer_drain(w->jobs, evbuffer_get_length(w->jobs));
		return;
	}
	/* Frames queued after the commit began wait for the next one. */
	out = peer_prefix(w->jobs, n);
	rc = peer_send(w->bev, out);
	if (out != w->jobs)
		evbuffer_free(out);
	if (rc == -1)
		pool_kill(w, "could not be written to");
}

void
pool_seal(void)
{
	int	i;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->jobs != NULL)
			workers[i]->sealed =
			    evbuffer_get_length(workers[i]->jobs);
	}
}

void
pool_flush(void)
{
	int	i;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->sealed > 0)
			pool_flush_one(workers[i]);
	}
}

void
pool_send(struct worker *w, const char *frame, size_t len)
{
	/* Behind a job frame that waits for the commit (a cancel's signal). */
	size_t	waiting = evbuffer_get_length(w->jobs);

	pool_send_job(w, frame, len);
	if (waiting == 0) {
		w->sealed = evbuffer_get_length(w->jobs);
		pool_flush_one(w);
	} else if (waiting == w->sealed) {
		/* It goes with the frames of the commit under way. */
		w->sealed = evbuffer_get_length(w->jobs);
	} else
		tick_kick();	/* with those of the next commit */
}

void
pool_reap(void)
{
	struct worker	*w;
	pid_t		 pid;
	int		 status, i;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0)
			break;
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warn("waitpid");
			break;
		}
		w = NULL;
		for (i = 0; i < nworkers; i++) {
			if (workers[i]->pid == pid && !workers[i]->reaped) {
				w = workers[i];
				break;
			}
		}
		if (w == NULL) {
			log_debug("reaped orphan pid %ld", (long)pid);
			pool_sweep();
			tick_kick();	/* a stop may be waiting for it */
			continue;
		}
		w->reaped = 1;
		w->status = status;
		if (w->state == W_IDLE)
			w->state = W_EXITING;
		/*
		 * A runtime's code may have left processes that hold its
		 * socket: they came to mpd with its death, and go, so that
		 * its end of file comes.
		 */
		if (!w->eof && pool_external(w->pool))
			pool_sweep();
		if (w->eof)
			pool_slot_dead(w);
	}
}

/* A process's resident set in bytes, or 0 when unknown. */
static int64_t
pool_rss(pid_t pid)
{
	char		 path[64];
	long long	 pages, resident;
	FILE		*f;
	int		 n;

	snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fscanf(f, "%lld %lld", &pages, &resident);
	fclose(f);
	if (n != 2)
		return 0;
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

void
pool_check(struct worker *w)
{
	int64_t	rss = 0;

	if (w->state != W_IDLE || w->pid == 0 || w->reaped)
		return;
	if (w->retire)
		log_info("%s (pid %ld) leaves pool %s, which shrank", w->name,
		    (long)w->pid, pools[w->pool].name);
	else if (conf->max_tasks > 0 && w->ran >= conf->max_tasks)
		log_info("%s (pid %ld) ran %lld jobs; replacing it", w->name,
		    (long)w->pid, (long long)w->ran);
	else if (conf->max_worker_rss > 0 &&
	    (rss = pool_rss(w->pid)) > conf->max_worker_rss)
		log_info("%s (pid %ld) grew to %lld KiB; replacing it",
		    w->name, (long)w->pid, (long long)(rss / 1024));
	else
		return;
	pool_end(w);
}

void
pool_set_busy(struct worker *w, int busy)
{
	if (busy)
		w->state = W_BUSY;
	else if (w->state == W_BUSY)
		w->state = W_IDLE;
}

void
pool_ran(struct worker *w)
{
	w->ran++;
	w->fails = 0;
}

void
pool_broken(struct worker *w, const char *why)
{
	w->broken = 1;
	pool_kill(w, why);
}

void
pool_kill(struct worker *w, const char *why)
{
	if (w->pid == 0 || w->reaped)
		return;
	log_warnx("%s (pid %ld) %s; killing it", w->name, (long)w->pid, why);
	w->state = W_EXITING;
	w->stopping = 1;
	kill(w->pid, SIGKILL);
}

void
pool_stop(int now)
{
	struct worker	*w;
	int		 i;

	for (i = 0; i < nworkers; i++) {
		w = workers[i];
		evtimer_del(w->respawn);
		if (w->pid == 0 || w->reaped)
			continue;
		if (w->state == W_IDLE)
			pool_end(w);
		else if (w->state == W_BUSY && !w->eof && !w->stopping &&
		    now) {
			w->requeue = 1;
			w->stopping = 1;
			kill(w->pid, SIGKILL);
		} else if (w->state == W_EXITING && now)
			kill(w->pid, SIGKILL);	/* not gone at end of file */
	}
}

json_t *
pool_status(void (*describe)(const struct worker *, json_t *))
{
	struct worker	*w;
	json_t		*a, *o;
	static const char *names[] = { "down", "idle", "busy", "exiting" };
	int		 i, k;

	a = json_array();
	/* Pool by pool, in slot order within each. */
	for (k = 0; k < npools; k++) {
		for (i = 0; i < nworkers; i++) {
			if ((w = workers[i])->pool != k)
				continue;
			o = json_pack("{s:s, s:s, s:o, s:s}", "name", w->name,
			    "pool", pools[k].name, "pid", w->pid != 0 ?
			    json_integer(w->pid) : json_null(), "state",
			    names[w->state]);
			if (pool_external(k) && w->pid != 0)
				json_object_set_new(o, "uid",
				    json_integer(w->owner));
			if (describe != NULL)
				describe(w, o);
			json_array_append_new(a, o);
		}
	}
	return a;
}

void
pool_free(void)
{
	int	i;

	for (i = 0; i < nworkers; i++) {
		if (workers[i]->bev != NULL)
			bufferevent_free(workers[i]->bev);
		wframe_head_clear(&workers[i]->head);
		if (workers[i]->jobs != NULL)
			evbuffer_free(workers[i]->jobs);
		if (workers[i]->respawn != NULL)
			event_free(workers[i]->respawn);
		if (workers[i]->out != NULL)
			bufferevent_free(workers[i]->out);
		free(workers[i]);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
	npools = 0;
	last_slot = 0;
}

/*
 * mpctl map exec: one exec job per item, GNU parallel style; the output of
 * each command, or the results as JSON, in item order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpctl.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

/* An exec map under way. */
struct mexec {
	json_t		*req;		/* the submit request, without args */
	char		**cmd;		/* CMD [ARG...] */
	int		  ncmd;
	int		  subst;	/* whether an ARG has a placeholder */
	char		**items;	/* owned copies */
	size_t		  n;
	int64_t		 *ids;		/* each item's job; 0 when refused */
	char		**why;		/* each failed item's error, or NULL */
	json_t		 *refusal;	/* the first refused submit's reply */
	size_t		  submitted;	/* submit replies taken */
	size_t		  cur;		/* the first item not yet collected */
	size_t		  cancelled;	/* jobs below this were cancelled */
	int		  interrupted;
};

/* Appends an item read from stdin. */
static void
mexec_line(const char *line, void *arg)
{
	struct mexec	*m = arg;

	m->items = xreallocarray(m->items, m->n + 1, sizeof *m->items);
	m->items[m->n++] = xstrdup(line);
}

/* Takes the items after ":::", or stdin's lines; 0, or -1 after a message. */
static int
mexec_items(struct mexec *m, int argc, char **argv)
{
	int	i;

	if (argc < 0)
		return ctl_lines(mexec_line, m);
	m->items = xreallocarray(NULL, (size_t)argc + 1, sizeof *m->items);
	for (i = 0; i < argc; i++)
		m->items[m->n++] = xstrdup(argv[i]);
	return 0;
}

/* The submit request for item i: CMD and ARGs with the item put in. */
static json_t *
mexec_submit(size_t i, void *arg)
{
	struct mexec	*m = arg;
	json_t		*req = json_deep_copy(m->req);
	json_t		*args = json_array();
	char		*word;
	int		 k;

	for (k = 0; k < m->ncmd; k++) {
		word = m->subst ? subst_expand(m->cmd[k], m->items[i], i + 1) :
		    xstrdup(m->cmd[k]);
		json_array_append_new(args, ctl_string(word));
		free(word);
	}
	if (!m->subst)
		json_array_append_new(args, ctl_string(m->items[i]));
	json_object_set_new(req, "args", args);
	return req;
}

/* The error message of a reply, or of the job in it, newly allocated. */
static char *
mexec_why(json_t *reply, const char *otherwise)
{
	const char	*msg;

	msg = json_string_value(json_object_get(json_object_get(reply,
	    "error"), "message"));
	return ctl_escape(msg != NULL ? msg : otherwise);
}

/* Keeps item i's job id, or why it was refused. */
static void
mexec_submitted(size_t i, json_t *reply, void *arg)
{
	struct mexec	*m = arg;

	if (json_is_true(json_object_get(reply, "ok")))
		m->ids[i] = json_integer_value(json_object_get(reply, "job"));
	else {
		m->why[i] = mexec_why(reply, "refused");
		if (m->refusal == NULL)
			m->refusal = json_incref(reply);
	}
	m->submitted = i + 1;
	json_decref(reply);
}

/* Cancels the jobs of items [from, to). */
static void
mexec_cancel(struct mexec *m, size_t from, size_t to)
{
	int64_t	*ids = xreallocarray(NULL, to - from + 1, sizeof *ids);
	size_t	 i, k = 0;

	for (i = from; i < to; i++) {
		if (m->ids[i] != 0)
			ids[k++] = m->ids[i];
	}
	ctl_cancel(ids, k);
	free(ids);
	m->cancelled = to;
}

/* Called on SIGINT or SIGTERM: cancels every job not yet collected. */
static void
mexec_interrupted(void *arg)
{
	struct mexec	*m = arg;

	m->interrupted = 1;
	mexec_cancel(m, m->cur, m->submitted);
}

/*
 * Waits for item i's job and writes its output, or appends its result to
 * results. Returns -1, or EXIT_TIMEOUT when the wait ran out.
 */
static int
mexec_collect(struct mexec *m, struct mpc *c, size_t i, double deadline,
    json_t *results)
{
	json_t		*req, *reply, *result;
	const char	*state, *code;

	req = json_pack("{s:s, s:I}", "op", "get", "job",
	    (json_int_t)m->ids[i]);
	if (deadline >= 0)
		json_object_set_new(req, "timeout", json_real(deadline >
		    time_mono() ? deadline - time_mono() : 0));
	reply = ctl_call(c, req);
	state = json_string_value(json_object_get(reply, "state"));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		code = json_string_value(json_object_get(json_object_get(reply,
		    "error"), "code"));
		if (code != NULL && strcmp(code, ERR_TIMEOUT) == 0) {
			fprintf(stderr, "mpctl: job %lld (item %zu) is still "
			    "%s: the wait ran out\n", (long long)m->ids[i],
			    i + 1, ctl_safe(state != NULL ? state : "pending"));
			json_decref(reply);
			return EXIT_TIMEOUT;
		}
		m->why[i] = mexec_why(reply, "refused");
	} else {
		if (results != NULL) {
			result = json_object_get(reply, "result");
			json_array_append(results, result != NULL ? result :
			    json_null());
		} else
			ctl_logs(c, m->ids[i], 1);
		if (state == NULL || strcmp(state, "done") != 0)
			m->why[i] = mexec_why(reply, state != NULL ? state :
			    "failed");
	}
	json_decref(reply);
	return -1;
}

/* Prints the failures; returns the exit status. */
static int
mexec_summary(struct mexec *m)
{
	size_t	i, failed = 0;

	for (i = 0; i < m->n; i++)
		failed += m->why[i] != NULL;
	if (failed == 0)
		return EXIT_OK;
	fprintf(stderr, "mpctl: %zu of %zu commands failed:\n", failed, m->n);
	for (i = 0; i < m->n; i++) {
		if (m->why[i] == NULL)
			continue;
		if (m->ids[i] != 0)
			fprintf(stderr, "  item %zu (job %lld): %s\n", i + 1,
			    (long long)m->ids[i], m->why[i]);
		else
			fprintf(stderr, "  item %zu (not submitted): %s\n",
			    i + 1, m->why[i]);
	}
	return EXIT_JOB_FAILED;
}

/* Submits every item's job, then collects them in order. */
static int
mexec_run(struct mexec *m, double wait, int json)
{
	struct mpc	*c;
	json_t		*results = json ? json_array() : NULL;
	double		 deadline = wait < 0 ? -1 : time_mono() + wait;
	size_t		 i;
	int		 rc = -1;

	m->ids = xcalloc(m->n + 1, sizeof *m->ids);
	m->why = xcalloc(m->n + 1, sizeof *m->why);
	c = ctl_connect();
	ctl_catch(mexec_interrupted, m);
	ctl_pipeline(c, m->n, mexec_submit, mexec_submitted, m);
	if (m->interrupted)
		mexec_cancel(m, m->cancelled, m->n);
	for (i = 0; i < m->n && m->ids[i] == 0; i++)
		continue;
	/* Every submit refused: the daemon's reason is reason enough. */
	if (m->n > 0 && i == m->n)
		rc = ctl_refused(m->refusal);
	for (m->cur = 0; m->cur < m->n && rc == -1; m->cur++) {
		if (m->ids[m->cur] != 0)
			rc = mexec_collect(m, c, m->cur, deadline, results);
	}
	mpc_close(c);
	if (rc == -1) {
		if (results != NULL)
			ctl_print(results);
		fflush(stdout);
		rc = mexec_summary(m);
	}
	json_decref(results);
	return rc;
}

int
map_exec(json_t *req, double wait, int json, int argc, char **argv)
{
	struct mexec	 m;
	size_t		 i;
	int		 k, sep = -1, rc = EXIT_USAGE;

	memset(&m, 0, sizeof m);
	for (k = 0; k < argc && sep == -1; k++) {
		if (strcmp(argv[k], ":::") == 0)
			sep = k;
	}
	m.ncmd = sep == -1 ? argc : sep;
	if (m.ncmd == 0) {
		fprintf(stderr, "mpctl: map exec needs a command\n");
		return EXIT_USAGE;
	}
	m.cmd = argv;
	for (k = 0; k < m.ncmd; k++)
		m.subst |= subst_has(argv[k]);
	m.req = req;
	json_object_set_new(req, "op", json_string("submit"));
	json_object_set_new(req, "task", json_string("exec"));
	if (ctl_exec_cwd(req) == 0 && mexec_items(&m, sep == -1 ? -1 :
	    argc - sep - 1, argv + sep + 1) == 0)
		rc = mexec_run(&m, wait, json);
	for (i = 0; i < m.n; i++) {
		free(m.items[i]);
		if (m.why != NULL)
			free(m.why[i]);
	}
	free(m.items);
	free(m.why);
	free(m.ids);
	json_decref(m.refusal);
	return rc;
}

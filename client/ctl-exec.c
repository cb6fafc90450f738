/*
 * Options that submit, map and run share, the exec options of run and map
 * exec, and cancelling jobs when mpctl is interrupted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpctl.h"
#include "proto.h"
#include "xmalloc.h"

int
ctl_job_option(const struct cmd *cmd, json_t *req, int ch, const char *arg)
{
	char	*end;
	double	 secs;
	long	 n;

	switch (ch) {
	case 'n':
		json_object_set_new(req, "name", ctl_string(arg));
		return -1;
	case 'P':
		json_object_set_new(req, "pool", ctl_string(arg));
		return -1;
	case 'p':
		errno = 0;
		n = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || errno != 0) {
			fprintf(stderr, "mpctl: --priority takes a whole "
			    "number\n");
			return EXIT_USAGE;
		}
		json_object_set_new(req, "priority", json_integer(n));
		return -1;
	case OPT_TIMEOUT:
		if ((secs = ctl_seconds(arg)) <= 0) {
			fprintf(stderr, "mpctl: --timeout takes a number of "
			    "seconds above 0\n");
			return EXIT_USAGE;
		}
		json_object_set_new(req, "timeout", json_real(secs));
		return -1;
	}
	return ctl_usage(cmd);
}

/* The request's kwargs object, made when missing (borrowed). */
static json_t *
ctl_exec_kwargs(json_t *req)
{
	json_t	*kw = json_object_get(req, "kwargs");

	if (kw == NULL) {
		kw = json_object();
		json_object_set_new(req, "kwargs", kw);
	}
	return kw;
}

/*
 * A directory as the client sees it: relative ones are taken from mpctl's
 * own working directory, since the job runs in the daemon's. Returns a new
 * JSON string, or NULL after a message.
 */
static json_t *
ctl_exec_dir(const char *dir)
{
	json_t	*v;
	char	*cwd, *path;

	if ((cwd = getcwd(NULL, 0)) == NULL) {
		if (dir != NULL && *dir == '/')
			return ctl_string(dir);
		fprintf(stderr, "mpctl: cannot tell the current directory: "
		    "%s; give --cwd an absolute path\n", strerror(errno));
		return NULL;
	}
	if (dir == NULL || *dir == '/')
		path = xstrdup(dir != NULL ? dir : cwd);
	else
		path = xasprintf("%s/%s", cwd, dir);
	v = ctl_string(path);
	free(path);
	free(cwd);
	return v;
}

int
ctl_exec_option(const struct cmd *cmd, json_t *req, int ch, const char *arg)
{
	json_t		*v, *kw, *env;
	const char	*eq;
	char		*key;
	int		 rc;

	switch (ch) {
	case 'C':
		if ((v = ctl_exec_dir(arg)) == NULL)
			return EXIT_USAGE;
		json_object_set_new(ctl_exec_kwargs(req), "cwd", v);
		return -1;
	case 'e':
		if ((eq = strchr(arg, '=')) == NULL || eq == arg) {
			fprintf(stderr, "mpctl: --env takes NAME=VALUE, not "
			    "\"%s\"\n", arg);
			return EXIT_USAGE;
		}
		kw = ctl_exec_kwargs(req);
		if ((env = json_object_get(kw, "env")) == NULL) {
			env = json_object();
			json_object_set_new(kw, "env", env);
		}
		key = xstrndup(arg, (size_t)(eq - arg));
		rc = json_object_set_new(env, key, ctl_string(eq + 1));
		free(key);
		if (rc == -1) {
			fprintf(stderr, "mpctl: --env: the name is not valid "
			    "UTF-8: \"%s\"\n", arg);
			return EXIT_USAGE;
		}
		return -1;
	case OPT_ENV_CLEAR:
		json_object_set_new(ctl_exec_kwargs(req), "env_clear",
		    json_true());
		return -1;
	}
	return ctl_job_option(cmd, req, ch, arg);
}

int
ctl_exec_cwd(json_t *req)
{
	json_t	*v;

	if (json_object_get(ctl_exec_kwargs(req), "cwd") != NULL)
		return 0;
	if ((v = ctl_exec_dir(NULL)) == NULL)
		return -1;
	json_object_set_new(json_object_get(req, "kwargs"), "cwd", v);
	return 0;
}

/* The cancel request for the i-th id. */
static json_t *
ctl_cancel_make(size_t i, void *arg)
{
	int64_t	*ids = arg;

	return json_pack("{s:s, s:I}", "op", "cancel", "job",
	    (json_int_t)ids[i]);
}

/* Reports a refused cancel, unless the job had ended or gone already. */
static void
ctl_cancel_take(size_t i, json_t *reply, void *arg)
{
	const char	*code;

	(void)i;
	(void)arg;
	code = json_string_value(json_object_get(json_object_get(reply,
	    "error"), "code"));
	if (!json_is_true(json_object_get(reply, "ok")) && (code == NULL ||
	    (strcmp(code, ERR_BAD_STATE) != 0 &&
	    strcmp(code, ERR_NOT_FOUND) != 0)))
		ctl_refused(reply);
	json_decref(reply);
}

void
ctl_cancel(int64_t *ids, size_t n)
{
	struct mpc	*c;

	if (n == 0)
		return;
	if (n == 1)
		fprintf(stderr, "mpctl: cancelling job %lld\n",
		    (long long)ids[0]);
	else
		fprintf(stderr, "mpctl: cancelling %zu jobs\n", n);
	c = ctl_connect();
	ctl_pipeline(c, n, ctl_cancel_make, ctl_cancel_take, ids);
	mpc_close(c);
}

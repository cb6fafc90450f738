/* libmpclient: blocking, pipelining client for the mpd socket protocol. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "mpclient.h"
#include "xmalloc.h"

/* Longest reply line accepted: a big map's result is one line. */
#define MPC_MAX_REPLY	((size_t)1 << 32)
/* The kept reply's tag for an untagged error; tags start at 1. */
#define MPC_UNTAGGED	0

struct mpc_reply {
	int64_t			 tag;
	json_t			*reply;
	struct mpc_reply	*next;
};

struct mpc {
	int			 fd;
	int64_t			 next_tag;
	struct frame		 in;
	struct mpc_reply	*kept;
};

/*
 * The user the admin named as the daemon's (MPD_DAEMON_USER, else
 * "daemon-user = NAME" in the client configuration file, read only when
 * root owns it and no one else can write it), as a uid; -1 when none.
 */
static long
mpc_daemon_user(void)
{
	struct passwd	*pw;
	struct stat	 st;
	const char	*name = getenv("MPD_DAEMON_USER");
	char		*line = NULL, *p, *end, *value = NULL;
	size_t		 cap = 0;
	long		 uid = -1;
	FILE		*f;

	/* The file, and its directory, must be root's alone to change. */
	if ((name == NULL || *name == '\0') && stat(MPC_CLIENT_CONF_DIR, &st)
	    == 0 && st.st_uid == 0 && (st.st_mode & 022) == 0 &&
	    (f = fopen(MPC_CLIENT_CONF, "re")) != NULL) {
		if (fstat(fileno(f), &st) == 0 && st.st_uid == 0 &&
		    (st.st_mode & 022) == 0) {
			while (value == NULL && getline(&line, &cap, f) != -1) {
				p = line + strspn(line, " \t");
				if (strncmp(p, "daemon-user", 11) != 0)
					continue;
				p += 11 + strspn(p + 11, " \t");
				if (*p++ != '=')
					continue;
				p += strspn(p, " \t");
				p[strcspn(p, " \t\r\n#")] = '\0';
				value = xstrdup(p);
			}
			free(line);
		}
		fclose(f);
		name = value;
	}
	if (name != NULL && *name != '\0') {
		if ((pw = getpwnam(name)) != NULL)
			uid = (long)pw->pw_uid;
		else {
			errno = 0;
			uid = strtol(name, &end, 10);
			if (errno != 0 || *end != '\0' || uid < 0)
				uid = -1;
		}
	}
	free(value);
	return uid;
}

/*
 * Before a byte is sent: the server must run as the caller, as root, or
 * as the daemon user the admin named. Anyone may bind a socket where a
 * client looks for mpd; only these may answer it. Returns 0, or -1 with
 * *cause set.
 */
static int
mpc_check_peer(int fd, const char *path, char **cause)
{
	struct ucred	 cred;
	struct passwd	*pw;
	socklen_t	 len = sizeof cred;
	char		 who[64];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		*cause = xasprintf("cannot tell who serves %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (cred.uid == getuid() || cred.uid == geteuid() || cred.uid == 0 ||
	    (long)cred.uid == mpc_daemon_user())
		return 0;
	if ((pw = getpwuid(cred.uid)) != NULL)
		snprintf(who, sizeof who, "%s", pw->pw_name);
	else
		snprintf(who, sizeof who, "%ld", (long)cred.uid);
	*cause = xasprintf("refusing %s: it is served by uid %ld (%s), not by "
	    "you, root or the daemon's user, so nothing was sent. If that "
	    "user runs the mpd you mean to use, trust it on purpose with "
	    "MPD_DAEMON_USER=%s in the environment, or \"daemon-user = %s\" "
	    "in %s", path, (long)cred.uid, pw != NULL ? who : "no name", who,
	    who, MPC_CLIENT_CONF);
	return -1;
}

struct mpc *
mpc_connect(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct mpc		*c;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("socket path too long: %s", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		*cause = xasprintf("cannot connect to %s: %s (is mpd running?)",
		    path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (mpc_check_peer(fd, path, cause) == -1) {
		close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->next_tag = 1;
	frame_init(&c->in, MPC_MAX_REPLY);
	return c;
}

void
mpc_close(struct mpc *c)
{
	struct mpc_reply	*r;

	if (c == NULL)
		return;
	while ((r = c->kept) != NULL) {
		c->kept = r->next;
		json_decref(r->reply);
		free(r);
	}
	frame_free(&c->in);
	close(c->fd);
	free(c);
}

/*
 * The daemon closed while we wrote: it may have said why (a line over its
 * cap) before closing. Returns a newly allocated cause.
 */
static char *
mpc_why_closed(struct mpc *c, const char *err)
{
	json_t		*r;
	const char	*msg;
	char		*line, *cause;
	size_t		 len;

	while (frame_next(&c->in, &line, &len) == 0) {
		if (frame_fill(&c->in, c->fd) <= 0)
			return xasprintf("sending to the daemon: %s", err);
	}
	r = json_loadb(line, len, 0, NULL);
	msg = json_string_value(json_object_get(json_object_get(r, "error"),
	    "message"));
	if (msg != NULL)
		cause = xasprintf("the daemon refused the request: %s", msg);
	else
		cause = xasprintf("sending to the daemon: %s", err);
	json_decref(r);
	return cause;
}

int64_t
mpc_send(struct mpc *c, json_t *req, char **cause)
{
	int64_t	 tag = c->next_tag++;
	char	*text;
	size_t	 len;
	int	 rc;

	json_object_set_new(req, "req", json_integer(tag));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL) {
		*cause = xstrdup("cannot encode the request");
		return -1;
	}
	len = strlen(text);
	text[len] = '\n';
	rc = write_all(c->fd, text, len + 1);
	free(text);
	if (rc == -1) {
		*cause = mpc_why_closed(c, strerror(errno));
		return -1;
	}
	return tag;
}

/* Takes a kept reply for tag, or NULL. */
static json_t *
mpc_take(struct mpc *c, int64_t tag)
{
	struct mpc_reply	**rp, *r;
	json_t			 *reply;

	for (rp = &c->kept; (r = *rp) != NULL; rp = &r->next) {
		if (r->tag == tag) {
			*rp = r->next;
			reply = r->reply;
			free(r);
			return reply;
		}
	}
	return NULL;
}

/* Keeps a reply for whoever waits for its tag. */
static void
mpc_keep(struct mpc *c, int64_t tag, json_t *reply)
{
	struct mpc_reply	*r;

	r = xcalloc(1, sizeof *r);
	r->tag = tag;
	r->reply = reply;
	r->next = c->kept;
	c->kept = r;
}

/*
 * Moves every whole line held in the buffer into the kept replies, so that
 * no reply is left parsed-but-unseen in the buffer. An untagged error (a
 * line over the daemon's cap) is kept as MPC_UNTAGGED: it ends the session
 * and answers whoever waits next. Returns 0, or -1 with *cause set.
 */
static int
mpc_parse(struct mpc *c, char **cause)
{
	json_t	*reply, *t;
	char	*line;
	size_t	 len;
	int	 rc;

	while ((rc = frame_next(&c->in, &line, &len)) == 1) {
		reply = json_loadb(line, len, 0, NULL);
		if (reply == NULL || !json_is_object(reply)) {
			json_decref(reply);
			*cause = xstrdup("malformed reply from the daemon");
			return -1;
		}
		t = json_object_get(reply, "req");
		if (json_is_integer(t))
			mpc_keep(c, json_integer_value(t), reply);
		else if (json_is_false(json_object_get(reply, "ok")))
			mpc_keep(c, MPC_UNTAGGED, reply);
		else
			json_decref(reply);
	}
	if (rc == -1) {
		*cause = xstrdup("reply line too long");
		return -1;
	}
	return 0;
}

/* True when the reply for tag, or an untagged error, is kept. */
static int
mpc_held(struct mpc *c, int64_t tag)
{
	struct mpc_reply	*r;

	for (r = c->kept; r != NULL; r = r->next) {
		if (r->tag == tag || r->tag == MPC_UNTAGGED)
			return 1;
	}
	return 0;
}

json_t *
mpc_wait(struct mpc *c, int64_t tag, char **cause)
{
	json_t	*reply;
	ssize_t	 n;

	for (;;) {
		if ((reply = mpc_take(c, tag)) != NULL ||
		    (reply = mpc_take(c, MPC_UNTAGGED)) != NULL)
			return reply;
		n = frame_fill(&c->in, c->fd);
		if (n == 0) {
			*cause = xstrdup("the daemon closed the connection");
			return NULL;
		}
		if (n == -1) {
			*cause = xasprintf("reading from the daemon: %s",
			    strerror(errno));
			return NULL;
		}
		if (mpc_parse(c, cause) == -1)
			return NULL;
	}
}

int
mpc_ready(struct mpc *c, int64_t tag, const sigset_t *sigmask, char **cause)
{
	struct pollfd	pfd;

	if (mpc_held(c, tag) || c->in.len > c->in.off)
		return 1;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	if (ppoll(&pfd, 1, NULL, sigmask) == -1) {
		if (errno == EINTR)
			return 0;
		*cause = xasprintf("waiting for the daemon: %s",
		    strerror(errno));
		return -1;
	}
	return 1;
}

json_t *
mpc_call(struct mpc *c, json_t *req, char **cause)
{
	int64_t	tag;

	if ((tag = mpc_send(c, req, cause)) == -1)
		return NULL;
	return mpc_wait(c, tag, cause);
}

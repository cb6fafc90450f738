/*
 * The listener and clients' input. Each client is a bufferevent with a cap
 * on line length; each line is decoded, checked and dispatched to ops.
 * Clients' output and lifetime are client.c's.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "log.h"
#include "mpd.h"
#include "proto.h"
#include "request.h"
#include "util.h"
#include "xmalloc.h"


static struct evconnlistener	*listener;
static const struct config	*conf;
static struct event		*accept_pause;
static char			*listen_name;	/* in listen_dirfd */
static int			 listen_dirfd = -1;
static dev_t			 listen_dev;	/* the socket mpd bound */
static ino_t			 listen_ino;

/* Answers a line that cannot be framed, then closes once it is sent. */
static void
client_refuse(struct client *c, const char *code, const char *msg)
{
	json_t	*r;

	r = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code,
	    "message", msg);
	client_reply(c, r);
	c->flags |= CLIENT_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
}

void
client_line(struct client *c, const char *line, size_t len)
{
	struct req_error	 err;
	struct jscan_items	 it;
	struct reqline		 rl;
	json_t			*req, *tag;
	const char		*op;

	if ((req = request_decode_long(line, len, &err, &it)) == NULL) {
		reply_error(c, NULL, err.code, "%s", err.message);
		return;
	}
	if ((op = request_check(req, &err)) == NULL) {
		/* Echo the tag when it is usable, so pipelines can match. */
		tag = json_object_get(req, "req");
		if (tag != NULL && !json_is_integer(tag) && !json_is_string(tag))
			tag = NULL;
		reply_error(c, tag, err.code, "%s", err.message);
	} else {
		memset(&rl, 0, sizeof rl);
		rl.text = line;
		rl.len = len;
		rl.nitems = -1;
		if (it.n >= 0 && strcmp(it.name, "items") == 0) {
			rl.items = line + it.off;
			rl.items_len = it.len;
			rl.nitems = it.n;
		} else if (it.n >= 0) {
			rl.args = line + it.off;
			rl.args_len = it.len;
		}
		ops_dispatch(c, req, op, &rl);
	}
	json_decref(req);
}

/* Input from a client: every whole line, within the cap. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;
	int		 rc;

	while (!(c->flags & (CLIENT_DEAD | CLIENT_CLOSING | CLIENT_FULL))) {
		if (client_over(c)) {
			client_full(c);
			return;
		}
		if ((rc = peer_line(in, &c->scanned, conf->max_line, &line,
		    &len)) == -1) {
			client_refuse(c, ERR_LINE_TOO_LONG, "request line "
			    "longer than the limit; closing the connection");
			return;
		}
		if (rc == 0) {
			client_idle(c);
			return;
		}
		if (len > 0)
			client_line(c, line, len);
		free(line);
	}
}

/* Output drained: a closing client can go now; a full one reads again. */
static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	(void)bev;
	if ((c->flags & CLIENT_CLOSING) && !(c->flags & CLIENT_HELD)) {
		client_kill(c);
		return;
	}
	client_room(c);
}

/*
 * True when the peer closed both directions. A peer that only shut down
 * its writing side (as "nc -N" does) still reads: POLLHUP tells them apart.
 */
static int
client_gone(struct client *c)
{
	struct pollfd	pfd;

	pfd.fd = bufferevent_getfd(c->bev);
	pfd.events = 0;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == -1)
		return 1;
	return (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

/*
 * End of file or error. A client gone both ways is dropped with its
 * waiters; one that only stopped writing keeps its pending gets and is
 * closed once they are answered and sent.
 */
static void
client_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct client	*c = arg;

	(void)bev;
	if (events & BEV_EVENT_TIMEOUT) {
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
			log_debug("client %llu stalled in the middle of a line",
			    (unsigned long long)c->id);
			client_refuse(c, ERR_IDLE_TIMEOUT, "no end of line "
			    "within the client timeout; closing the connection");
		} else if (LIST_EMPTY(&c->waiters) && c->nblocked == 0) {
			log_debug("client %llu idle for %.0f s",
			    (unsigned long long)c->id, conf->idle_timeout);
			client_refuse(c, ERR_IDLE_TIMEOUT, "no request within "
			    "the idle timeout; closing the connection");
		} else
			client_idle(c);
		return;
	}
	if (!(events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if ((events & BEV_EVENT_ERROR) || client_gone(c) ||
	    LIST_EMPTY(&c->waiters)) {
		log_debug("client %llu %s", (unsigned long long)c->id,
		    (events & BEV_EVENT_EOF) ? "closed" : "failed");
		if (LIST_EMPTY(&c->waiters) && (c->flags & CLIENT_HELD)) {
			/* Replies of its last requests still go out. */
			c->flags |= CLIENT_CLOSING | CLIENT_EOF;
			bufferevent_disable(c->bev, EV_READ);
			return;
		}
		client_kill(c);
		return;
	}
	log_debug("client %llu stopped writing; %s", (unsigned long long)c->id,
	    "keeping its waits");
	c->flags |= CLIENT_EOF;
	bufferevent_disable(c->bev, EV_READ);
}

/* A new connection: record its credentials and start reading. */
static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct client	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof cred;

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	/*
	 * Not root, mpd runs every job as its own user: a client of another
	 * uid could reach every other client's jobs and files, and take the
	 * socket. Only when the admin says these users trust each other.
	 */
	if (geteuid() != 0 && cred.uid != geteuid() && cred.uid != 0 &&
	    !conf->serve_others) {
		static const char other[] = "{\"ok\":false,\"error\":{\"code\":"
		    "\"" ERR_PERMISSION "\",\"message\":\"this mpd is not "
		    "root and serves only its own user: it would run your jobs "
		    "as itself (see mpd --serve-others)\"}}\n";
		log_warnx("refusing a client of uid %ld: mpd is not root, "
		    "and --serve-others is off", (long)cred.uid);
		if (write(fd, other, sizeof other - 1) == -1)
			log_debug("write to a refused client failed");
		close(fd);
		return;
	}
	/* One user may not take every connection from the others. */
	if (cred.uid != 0 && cred.uid != geteuid() &&
	    conf->max_clients_user > 0 &&
	    clients_of(cred.uid) >= (int)conf->max_clients_user) {
		static const char mine[] = "{\"ok\":false,\"error\":{\"code\":"
		    "\"" ERR_TOO_MANY_CLIENTS "\",\"message\":\"you have as "
		    "many connections as one user may have "
		    "(--max-clients-per-user); close one and try again\"}}\n";
		log_warnx("refusing a client of uid %ld: it has %lld "
		    "connections already", (long)cred.uid,
		    (long long)conf->max_clients_user);
		if (write(fd, mine, sizeof mine - 1) == -1)
			log_debug("write to a refused client failed");
		close(fd);
		return;
	}
	if (clients_count() >= conf->max_clients) {
		static const char full[] = "{\"ok\":false,\"error\":{\"code\":"
		    "\"" ERR_TOO_MANY_CLIENTS "\",\"message\":\"the daemon "
		    "has as many clients as it accepts; try again later\"}}\n";
		log_warnx("refusing a client of uid %ld: %d clients already",
		    (long)cred.uid, clients_count());
		/* A new socket's buffer takes a short line without blocking. */
		if (write(fd, full, sizeof full - 1) == -1)
			log_debug("write to a refused client failed");
		close(fd);
		return;
	}
	c = client_new(fd, cred.uid, cred.gid, cred.pid);
	bufferevent_setcb(c->bev, client_read_cb, client_write_cb,
	    client_event_cb, c);
	/* Stop reading at the cap so a newline-less flood cannot grow. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, conf->max_line + 2);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	client_idle(c);
	log_debug("client %llu connected: uid %ld pid %ld",
	    (unsigned long long)c->id, (long)c->uid, (long)c->pid);
}

/* The pause after a failed accept is over: listen again. */
static void
server_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (listener != NULL)
		evconnlistener_enable(listener);
}

/*
 * Accept failed (descriptors exhausted, say). The pending connection stays
 * pending, so listening on would spin: pause for a moment instead.
 */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval	tv = { 0, 100000 };

	(void)arg;
	log_warn("accept (pausing new connections for 100 ms)");
	evconnlistener_disable(l);
	evtimer_add(accept_pause, &tv);
}

/*
 * Before bind: a socket already at the name is left alone unless it is
 * mpd's own and dead. One of another uid, or anything but a socket, is
 * never connected to or removed: it stops mpd. Returns 0 or -1.
 */
static int
server_leftover(int dirfd, const char *name, struct sockaddr_un *sun,
    char **cause)
{
	struct stat	 st;
	struct passwd	*pw;
	int		 fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("%s: %s", sun->sun_path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*cause = xasprintf("%s exists and is not a socket; mpd will not "
		    "remove it", sun->sun_path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		pw = getpwuid(st.st_uid);
		*cause = xasprintf("%s is a socket of uid %ld (%s), not mpd's "
		    "uid %ld: mpd neither talks to it nor removes it; remove it "
		    "yourself once you know whose it is", sun->sun_path,
		    (long)st.st_uid, pw != NULL ? pw->pw_name : "no such user",
		    (long)geteuid());
		return -1;
	}
	/* Ours: one that answers belongs to a running mpd. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)sun, sizeof *sun) == 0) {
		close(fd);
		*cause = xasprintf("another mpd is already listening on %s",
		    sun->sun_path);
		return -1;
	}
	close(fd);
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT) {
		*cause = xasprintf("cannot remove stale socket %s: %s",
		    sun->sun_path, strerror(errno));
		return -1;
	}
	return 0;
}

int
server_listen(struct event_base *base, const struct config *c, int dirfd,
    const char *name, const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;

	conf = c;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (server_leftover(dirfd, name, &sun, cause) == -1)
		return -1;

	/*
	 * The socket is born with its mode: bind makes it 0777 less the
	 * umask. Nothing is chmod'ed by a path afterwards.
	 */
	old = umask(~conf->socket_mode & 0777);
	listener = evconnlistener_new_bind(base, server_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (listener == NULL) {
		*cause = xasprintf("cannot listen on %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISSOCK(st.st_mode)) {
		*cause = xasprintf("%s vanished after bind", path);
		evconnlistener_free(listener);
		listener = NULL;
		return -1;
	}
	listen_dirfd = dirfd;
	listen_dev = st.st_dev;
	listen_ino = st.st_ino;
	evconnlistener_set_error_cb(listener, server_accept_error_cb);
	if ((accept_pause = evtimer_new(base, server_resume_cb, NULL)) ==
	    NULL)
		fatalx("evtimer_new");
	listen_name = xstrdup(name);
	return 0;
}

int
server_adopt(struct event_base *base, const struct config *c, int fd,
    char **cause)
{
	conf = c;
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1 ||
	    (listener = evconnlistener_new(base, server_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd)) == NULL) {
		*cause = xasprintf("cannot listen on the socket systemd "
		    "passed: %s", strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(listener, server_accept_error_cb);
	if ((accept_pause = evtimer_new(base, server_resume_cb, NULL)) ==
	    NULL)
		fatalx("evtimer_new");
	listen_name = NULL;	/* systemd's: not removed */
	return 0;
}

void
server_close_listener(void)
{
	struct stat	st;

	if (listener == NULL)
		return;
	evconnlistener_free(listener);
	listener = NULL;
	event_free(accept_pause);
	accept_pause = NULL;
	/* Only the socket mpd made goes, from the directory it holds. */
	if (listen_name != NULL &&
	    fstatat(listen_dirfd, listen_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == listen_dev && st.st_ino == listen_ino &&
	    unlinkat(listen_dirfd, listen_name, 0) == -1 && errno != ENOENT)
		log_warn("removing the socket %s", listen_name);
	free(listen_name);
	listen_name = NULL;
}


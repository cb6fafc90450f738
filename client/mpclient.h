/*
 * libmpclient: talk to mpd over its Unix socket from C. Blocking calls;
 * requests may be pipelined (send several, then wait for each by tag), and
 * replies that arrive for other tags are kept until asked for.
 *
 *	struct mpc *c = mpc_connect(path, &cause);
 *	json_t *r = mpc_call(c, json_pack("{s:s}", "op", "hello"), &cause);
 */
#ifndef MPCLIENT_H
#define MPCLIENT_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>

struct mpc;

/*
 * Where the admin names the daemon's user for clients: "daemon-user =
 * NAME" (MPD_DAEMON_USER in the environment wins).
 */
#define MPC_CLIENT_CONF_DIR	"/etc/mpd"
#define MPC_CLIENT_CONF		MPC_CLIENT_CONF_DIR "/client.conf"

/*
 * Connects, and checks who answers before a byte is sent: the server's
 * uid (SO_PEERCRED) must be the caller's, root's, or the daemon user's
 * named by MPD_DAEMON_USER or MPC_CLIENT_CONF. Returns NULL and sets
 * *cause (newly allocated) on failure, or when another user answers.
 */
struct mpc	*mpc_connect(const char *, char **);
void		 mpc_close(struct mpc *);
/*
 * Sends a request (stolen) after setting its "req" tag. Returns the tag,
 * or -1 with *cause set.
 */
int64_t		 mpc_send(struct mpc *, json_t *, char **);
/*
 * Waits for the reply with this tag; returns it (new reference), or NULL
 * with *cause set when the connection fails or closes first.
 */
json_t		*mpc_wait(struct mpc *, int64_t, char **);
/*
 * Sleeps until mpc_wait for this tag would not wait on the daemon: its
 * reply (or an untagged error) is held, part of a line is, or the socket is
 * readable. The signal mask is sigmask while asleep (ppoll), so a caller
 * that blocks its signals can wake up for them without a race. Returns 1;
 * 0 when a signal ended the sleep; -1 with *cause set.
 */
int		 mpc_ready(struct mpc *, int64_t, const sigset_t *, char **);
/* mpc_send then mpc_wait. */
json_t		*mpc_call(struct mpc *, json_t *, char **);

#endif

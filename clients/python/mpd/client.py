"""The socket side of mpd's Python package: one connection to the daemon,
newline-delimited JSON requests and replies (proto/PROTOCOL.md)."""
import json
import os
import pwd
import socket
import struct

CLIENT_CONF = "/etc/mpd/client.conf"


class MpdError(Exception):
    """The daemon could not be reached, or the connection broke."""


class UntrustedServer(MpdError):
    """Another user answers on the socket: nothing was sent to it."""


def default_socket():
    """$MPD_SOCKET, else $XDG_RUNTIME_DIR/mpd/mpd.sock, else
    /run/mpd/mpd.sock as root, else /tmp/mpd-UID/mpd.sock (as mpd does)."""
    if os.environ.get("MPD_SOCKET"):
        return os.environ["MPD_SOCKET"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(os.environ["XDG_RUNTIME_DIR"], "mpd", "mpd.sock")
    if os.geteuid() == 0:
        return "/run/mpd/mpd.sock"
    return "/tmp/mpd-%d/mpd.sock" % os.geteuid()


def _uid_of(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return int(name) if name.isdigit() else None


def daemon_user():
    """The uid the admin named as the daemon's: MPD_DAEMON_USER, else
    "daemon-user = NAME" in /etc/mpd/client.conf when root owns that file
    and no one else may write it; None when neither names one."""
    name = os.environ.get("MPD_DAEMON_USER")
    if name:
        return _uid_of(name)
    try:
        # The file, and its directory, must be root's alone to change.
        st = os.stat(os.path.dirname(CLIENT_CONF))
        if st.st_uid != 0 or st.st_mode & 0o022:
            return None
        with open(CLIENT_CONF) as f:
            st = os.fstat(f.fileno())
            if st.st_uid != 0 or st.st_mode & 0o022:
                return None
            for line in f:
                key, eq, value = line.partition("=")
                if eq and key.strip() == "daemon-user":
                    value = value.split("#")[0].strip()
                    return _uid_of(value) if value else None
    except OSError:
        pass
    return None


def check_peer(sock, path):
    """Raises UntrustedServer unless the server on sock runs as the caller,
    root, or the daemon user the admin named."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                            struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid in (os.getuid(), os.geteuid(), 0) or uid == daemon_user():
        return
    try:
        who = pwd.getpwuid(uid).pw_name
    except KeyError:
        who = str(uid)
    raise UntrustedServer(
        "refusing %s: it is served by uid %d (%s), not by you, root or the "
        "daemon's user, so nothing was sent. If that user runs the mpd you "
        "mean to use, trust it on purpose with MPD_DAEMON_USER=%s in the "
        "environment, or \"daemon-user = %s\" in %s"
        % (path, uid, who, who, who, CLIENT_CONF))


def connect(path=None, timeout=None):
    """A connected socket to mpd whose server has been checked (see
    check_peer). Raises MpdError when it cannot connect."""
    path = path or default_socket()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        check_peer(sock, path)
    except UntrustedServer:
        sock.close()
        raise
    except OSError as e:
        sock.close()
        raise MpdError("cannot connect to %s: %s (is mpd running?)"
                       % (path, e.strerror or e)) from e
    return sock


class Client:
    """One connection; call() sends a request and returns its reply."""

    def __init__(self, path=None, timeout=None):
        self.sock = connect(path, timeout)
        self.buf = b""
        self.tag = 0
        self.kept = {}

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, request):
        """Sends a request (a dict) with a fresh "req" tag; returns it."""
        self.tag += 1
        line = json.dumps(dict(request, req=self.tag)).encode() + b"\n"
        self.sock.sendall(line)
        return self.tag

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise MpdError("the daemon closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def wait(self, tag):
        """The reply to the request with this tag."""
        if tag in self.kept:
            return self.kept.pop(tag)
        while True:
            reply = self._line()
            if reply.get("req") == tag or "req" not in reply:
                return reply
            self.kept[reply.get("req")] = reply

    def call(self, request):
        return self.wait(self.send(request))

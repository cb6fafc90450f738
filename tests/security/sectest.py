"""Shared pieces of the security tests: throwaway users made with useradd
and removed afterwards, programs run as them, and copies of mpctl, the
probe and the Python package where every user can run them.

These tests attack a root mpd as ordinary users, so they need root. Without
it a test file exits 77, which CTest reports as skipped, never as passed.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import mpdtest  # noqa: E402
from mpdtest import (BUILD, MPCTL, MPD, SLOW, Daemon,  # noqa: E402,F401
                     MpdTestCase, RawClient, wait_for)

SKIP = 77
# The Python that other users run: the system's (an interpreter under
# root's home, as pyenv's, is not theirs to run).
USER_PYTHON = "/usr/bin/python3"
PROBE = os.path.join(BUILD, "tests", "security", "mpc_probe")
PYCLIENT = os.path.join(ROOT, "clients", "python")


def need_root():
    """Exits 77 (skipped) unless this runs as root with useradd at hand."""
    if os.geteuid() != 0:
        print("skipped: the security tests attack a root mpd as other "
              "users; run them as root")
        sys.exit(SKIP)
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        print("skipped: useradd and userdel are needed")
        sys.exit(SKIP)


class User:
    """A throwaway user (and group of the same name), removed at exit."""

    made = []

    def __init__(self, tag):
        self.name = "mpdt%s%s" % (tag, uuid.uuid4().hex[:6])
        subprocess.run(["useradd", "--no-create-home", "--user-group",
                        "--shell", "/usr/sbin/nologin", self.name],
                       check=True, capture_output=True)
        User.made.append(self.name)
        import pwd
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def popen(self, argv, **kw):
        """Starts argv as this user, with no supplementary groups."""
        return subprocess.Popen(argv, user=self.uid, group=self.gid,
                                extra_groups=[], **kw)

    def run(self, argv, env=None, timeout=60, **kw):
        return subprocess.run(argv, user=self.uid, group=self.gid,
                              extra_groups=[], env=env, capture_output=True,
                              text=True, timeout=timeout * SLOW, **kw)


@atexit.register
def _remove_users():
    for name in User.made:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", "--force", name], capture_output=True)


class Tools:
    """mpctl, the libmpclient probe and the Python package, copied into a
    directory every user may enter (the build tree may not be one)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mpdsec-tools-")
        os.chmod(self.dir, 0o755)
        self.mpctl = self._copy(MPCTL)
        self.mpd = self._copy(MPD)
        self.probe = self._copy(PROBE)
        self.pypath = os.path.join(self.dir, "python")
        shutil.copytree(PYCLIENT, self.pypath,
                        ignore=shutil.ignore_patterns("__pycache__"))
        for d, _, files in os.walk(self.pypath):
            os.chmod(d, 0o755)
            for f in files:
                os.chmod(os.path.join(d, f), 0o644)

    def _copy(self, path):
        dest = os.path.join(self.dir, os.path.basename(path))
        shutil.copy(path, dest)
        os.chmod(dest, 0o755)
        return dest

    def python_argv(self, code):
        return [USER_PYTHON, "-c",
                "import sys; sys.path.insert(0, %r)\n%s" % (self.pypath,
                                                           code)]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Lines:
    """Lines a child writes to a pipe, each waited for with a deadline."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""

    def next(self, timeout=30):
        import select
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.fd], [], [], timeout * SLOW)
            if not ready:
                raise AssertionError("no line came in %g s" % timeout)
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise AssertionError("the pipe closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()


def public_dir(mode=0o755):
    """A new temporary directory of root's with this mode."""
    d = tempfile.mkdtemp(prefix="mpdsec-")
    os.chmod(d, mode)
    return d


def run_mpd(*args, timeout=30, **kw):
    """Runs mpd in the foreground to its exit (a start it must refuse)."""
    return subprocess.run([MPD, "--config", os.devnull, "--workers", "1"] +
                          [str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout * SLOW,
                          stdin=subprocess.DEVNULL, **kw)


def daemon_at(socket_path, db_path, args=(), workers=2):
    """A Daemon (not started) on these paths, its scratch in a new dir."""
    d = Daemon(workers, ["--socket", socket_path, "--db", db_path] +
               list(args))
    d.socket, d.db = socket_path, db_path
    return d


def snapshot(path):
    """{relative path: (mode, uid, content or None)} of a tree, symlinks
    not followed: what an attack may not change."""
    found = {}
    for d, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(d, name)
            st = os.lstat(p)
            content = None
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    content = f.read()
            found[os.path.relpath(p, path)] = (st.st_mode, st.st_uid, content)
    return found


def root_only_target():
    """A root-only directory (0700) of root-only files: the attacks' aim."""
    t = tempfile.mkdtemp(prefix="mpdsec-target-")
    for name in ("mpd.sock", "mpd.db", "mpd.db-wal", "mpd.db-shm",
                 "mpd.db.lock", "1.out", "1.err", "2.out", "2.err"):
        with open(os.path.join(t, name), "w") as f:
            f.write("root-only %s\n" % name)
        os.chmod(os.path.join(t, name), 0o600)
    return t


def main(root=True):
    if root:
        need_root()
    mpdtest.main()

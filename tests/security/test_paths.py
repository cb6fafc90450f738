"""Root is never tricked by a path. mpd refuses directories that another
user could write or own (a sticky bit is not enough), never connects to or
removes another user's leftover socket, opens nothing through a symlink,
and keeps using the directories it checked and held when one is swapped for
a symlink while it runs: the root-only target stays untouched."""
import os
import shutil
import signal
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import (USER_PYTHON, Lines, RawClient, Tools,  # noqa: E402
                     User, daemon_at, main, public_dir, root_only_target,
                     run_mpd, snapshot, wait_for)

SAFE_PLACES = ("/run/mpd", "/var/lib/mpd", "$XDG_RUNTIME_DIR/mpd")


class Refused(unittest.TestCase):
    """Starts mpd must refuse, with a message that names the fix."""

    @classmethod
    def setUpClass(cls):
        cls.a = User("a")

    def setUp(self):
        self.top = public_dir(0o755)
        self.addCleanup(shutil.rmtree, self.top, True)
        self.safe = os.path.join(self.top, "safe")
        os.mkdir(self.safe, 0o700)

    def refuse(self, sock, db, *words):
        r = run_mpd("--socket", sock, "--db", db)
        self.assertEqual(r.returncode, 1, r.stderr)
        for w in words + SAFE_PLACES:
            self.assertIn(w, r.stderr)
        self.assertFalse(os.path.exists(sock) and not os.path.exists(
            sock + ".keep"), "nothing may be bound there")
        return r

    def test_a_sticky_world_writable_socket_directory(self):
        share = os.path.join(self.top, "share")
        os.mkdir(share)
        os.chmod(share, 0o1777)
        self.refuse(os.path.join(share, "mpd.sock"),
                    os.path.join(self.safe, "mpd.db"),
                    share, "mode 1777", "owner uid 0 (root)", "sticky")
        self.assertEqual(os.listdir(share), [])
        self.assertEqual(os.listdir(self.safe), [])

    def test_a_directory_another_user_owns(self):
        theirs = os.path.join(self.top, "theirs")
        os.mkdir(theirs, 0o700)
        os.chown(theirs, self.a.uid, self.a.gid)
        self.refuse(os.path.join(self.safe, "mpd.sock"),
                    os.path.join(theirs, "mpd.db"), theirs,
                    "uid %d (%s)" % (self.a.uid, self.a.name))
        self.assertEqual(os.listdir(theirs), [])

    def test_a_group_writable_state_directory(self):
        shared = os.path.join(self.top, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o770)
        self.refuse(os.path.join(self.safe, "mpd.sock"),
                    os.path.join(shared, "mpd.db"), shared, "its group",
                    "mode 0770")

    def test_a_writable_directory_above(self):
        # The directory itself is fine, but whoever can write its parent
        # can rename it away and put a symlink in its place.
        open_dir = os.path.join(self.top, "open")
        os.mkdir(open_dir)
        os.chmod(open_dir, 0o777)
        inner = os.path.join(open_dir, "inner")
        os.mkdir(inner, 0o700)
        self.refuse(os.path.join(inner, "mpd.sock"),
                    os.path.join(self.safe, "mpd.db"), open_dir,
                    "mode 0777")

    def users_link_to_target(self, name):
        """A directory of user a's holding a symlink name to a root-only
        target; returns the directory, the target and its snapshot."""
        theirs = os.path.join(self.top, "theirs")
        os.mkdir(theirs, 0o755)
        os.chown(theirs, self.a.uid, self.a.gid)
        target = root_only_target()
        self.addCleanup(shutil.rmtree, target, True)
        os.symlink(target, os.path.join(theirs, name))
        os.lchown(os.path.join(theirs, name), self.a.uid, self.a.gid)
        return theirs, target, snapshot(target)

    def test_a_log_directory_in_a_users_directory(self):
        theirs, target, before = self.users_link_to_target("logs")
        r = run_mpd("--socket", os.path.join(self.safe, "mpd.sock"),
                    "--db", os.path.join(self.safe, "mpd.db"),
                    "--log-dir", os.path.join(theirs, "logs"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("refusing", r.stderr)
        self.assertEqual(snapshot(target), before)

    def test_nothing_is_made_through_a_users_symlink(self):
        # The directories are made only once the part that exists is safe:
        # a refused start leaves no directory in the symlink's target.
        theirs, target, before = self.users_link_to_target("mpd")
        r = run_mpd("--socket", os.path.join(theirs, "mpd", "nologin",
                                             "mpd.sock"),
                    "--db", os.path.join(self.safe, "mpd.db"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("refusing", r.stderr)
        self.assertEqual(snapshot(target), before)

    def test_a_root_symlink_on_the_way_is_fine(self):
        # /var/lib/mpd may be a symlink of root's: mpd starts, and SQLite
        # gets the path without it.
        link = os.path.join(self.top, "link")
        os.symlink(self.safe, link)
        d = daemon_at(os.path.join(self.safe, "mpd.sock"),
                      os.path.join(link, "mpd.db"))
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(d.call({"op": "submit", "task": "echo",
                                 "args": [1]})["job"], 1)
        self.assertEqual(d.stop(), 0)
        self.assertTrue(os.path.exists(os.path.join(self.safe, "mpd.db")))

    def refuse_symlinked(self, name):
        """A symlink named name in the safe directory, to a root-only
        file: mpd refuses it, and the target is untouched."""
        target = root_only_target()
        self.addCleanup(shutil.rmtree, target, True)
        before = snapshot(target)
        os.symlink(os.path.join(target, name), os.path.join(self.safe, name))
        r = run_mpd("--socket", os.path.join(self.safe, "mpd.sock"),
                    "--db", os.path.join(self.safe, "mpd.db"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("%s: is a symlink" % name, r.stderr)
        self.assertEqual(snapshot(target), before)

    def test_a_symlinked_lock_file(self):
        self.refuse_symlinked("mpd.db.lock")

    def test_a_symlinked_database(self):
        self.refuse_symlinked("mpd.db")


class Leftover(unittest.TestCase):
    """Another user's socket where mpd's goes: never touched."""

    LISTENER = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    print("connection", c.recv(100), flush=True)
    c.close()
"""

    def test_another_users_socket_is_left_alone(self):
        a = User("a")
        tools = Tools()
        self.addCleanup(tools.cleanup)
        drop = public_dir(0o1777)
        self.addCleanup(shutil.rmtree, drop, True)
        listener = a.popen([USER_PYTHON, "-c", self.LISTENER,
                            os.path.join(drop, "mpd.sock")], stdout=-1)
        self.addCleanup(listener.wait)
        self.addCleanup(listener.kill)
        lines = Lines(listener.stdout)
        self.assertEqual(lines.next(), "ready")
        # The socket is moved (by root, for the test) to where mpd's goes.
        safe = public_dir(0o700)
        self.addCleanup(shutil.rmtree, safe, True)
        sock = os.path.join(safe, "mpd.sock")
        os.rename(os.path.join(drop, "mpd.sock"), sock)
        r = run_mpd("--socket", sock, "--db", os.path.join(safe, "mpd.db"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("is a socket of uid %d (%s)" % (a.uid, a.name),
                      r.stderr)
        self.assertIn("neither talks to it nor removes it", r.stderr)
        st = os.lstat(sock)
        self.assertEqual(st.st_uid, a.uid, "the socket is still theirs")
        # Our marker is the first connection it ever saw: mpd made none.
        m = socket.socket(socket.AF_UNIX)
        m.connect(sock)
        m.sendall(b"marker")
        m.close()
        self.assertEqual(lines.next(), "connection b'marker'")


class SwappedWhileRunning(unittest.TestCase):
    """Directories swapped for symlinks to a root-only directory after
    start (as someone who could write their parents would): mpd goes on in
    the directories it holds, and the target is never written, read,
    chmod'ed or deleted."""

    def setUp(self):
        self.tools = Tools()
        self.addCleanup(self.tools.cleanup)
        self.b = User("b")
        self.top = public_dir(0o755)
        self.addCleanup(shutil.rmtree, self.top, True)
        self.run_dir = os.path.join(self.top, "run")
        self.state = os.path.join(self.top, "state")
        os.mkdir(self.run_dir, 0o755)
        os.mkdir(self.state, 0o700)
        self.target = root_only_target()
        self.addCleanup(shutil.rmtree, self.target, True)
        self.before = snapshot(self.target)
        self.d = daemon_at(os.path.join(self.run_dir, "mpd.sock"),
                           os.path.join(self.state, "mpd.db"),
                           ("--socket-mode", "0666"))
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def swap(self, path):
        os.rename(path, path + ".held")
        os.symlink(self.target, path)

    def as_b(self, *args, sock=None):
        env = {"PATH": "/usr/bin:/bin", "MPD_SOCKET": sock or self.d.socket}
        return self.b.run([self.tools.mpctl] + [str(a) for a in args],
                          env=env, cwd="/")

    def test_log_directory_swapped(self):
        logs = os.path.join(self.state, "logs")
        self.swap(logs)
        r = self.as_b("run", "--", "sh", "-c", "echo out; echo err >&2")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "out\n", "err\n"))
        # The output went to the held directory, as B's job 1.
        with open(os.path.join(logs + ".held", "0", "1.out")) as f:
            self.assertEqual(f.read(), "out\n")
        r = self.as_b("logs", 1)
        self.assertEqual(r.stdout, "out\n", r.stderr)
        self.assertEqual(self.as_b("forget", 1).returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(logs + ".held", "0",
                                                     "1.out")))
        # A second run, then the logs of a job whose files are the
        # target's names (2.out): still the held directory's.
        r = self.as_b("run", "--", "echo", "two")
        self.assertEqual(r.stdout, "two\n")
        self.assertEqual(self.as_b("logs", 2).stdout, "two\n")
        self.assertEqual(self.d.stop(), 0)
        self.assertEqual(snapshot(self.target), self.before)

    def test_socket_and_state_directories_swapped(self):
        c = RawClient(self.d.socket)
        self.addCleanup(c.close)
        self.swap(self.run_dir)
        self.swap(self.state)
        job = c.call({"op": "submit", "task": "exec",
                      "args": ["sh", "-c", "echo hi"]})["job"]
        r = c.call({"op": "get", "job": job, "timeout": 30})
        self.assertEqual(r["state"], "done", r)
        self.assertEqual(r["result"]["stdout"], "hi\n")
        self.assertEqual(self.d.stop(), 0)
        self.assertEqual(snapshot(self.target), self.before)
        # mpd removed its own socket, from the directory it held.
        self.assertEqual(os.listdir(self.run_dir + ".held"), [])
        self.assertTrue(os.path.exists(os.path.join(self.state + ".held",
                                                    "mpd.db")))
        # Put back, so the harness finds what it made.
        for p in (self.run_dir, self.state):
            os.unlink(p)
            os.rename(p + ".held", p)


class Warnings(unittest.TestCase):
    def test_readable_files_are_named_with_their_fix(self):
        d = daemon_at(*(os.path.join(public_dir(0o700), n)
                        for n in ("mpd.sock", "mpd.db")))
        self.addCleanup(shutil.rmtree, os.path.dirname(d.socket), True)
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(d.stop(), 0)
        os.chmod(d.db, 0o644)
        d.start()
        wait_for(lambda: "chmod 600 %s" % d.db in d.log(), 10,
                 "a warning naming the chmod")
        self.assertIn("can be read or written by other users (mode 0644)",
                      d.log())
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    main()

"""A daemon that is not root runs every job as its own user, so a client
of another uid could reach every other client's jobs and files, and could
take over the socket to pose as the daemon. Such a daemon serves only its
own user and root, unless the admin says its users trust each other
(--serve-others)."""
import os
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import (SLOW, RawClient, Tools, User, main,  # noqa: E402
                     public_dir, wait_for)


class NotRoot(unittest.TestCase):
    def setUp(self):
        self.tools = Tools()
        self.addCleanup(self.tools.cleanup)
        self.a = User("a")
        self.b = User("b")
        self.top = public_dir(0o755)
        self.addCleanup(shutil.rmtree, self.top, True)
        self.home = os.path.join(self.top, "a")
        os.mkdir(self.home, 0o711)
        os.chown(self.home, self.a.uid, self.a.gid)
        self.sock = os.path.join(self.home, "mpd.sock")

    def start(self, *args):
        log = open(os.path.join(self.top, "mpd.log"), "wb")
        self.addCleanup(log.close)
        p = self.a.popen([self.tools.mpd, "--config", os.devnull,
                          "--socket", self.sock, "--socket-mode", "0666",
                          "--db", os.path.join(self.home, "state", "mpd.db"),
                          "--workers", "1"] + list(args),
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         cwd="/")

        def stop():
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(30 * SLOW), 0)
        self.addCleanup(stop)

        def ready():
            try:
                c = RawClient(self.sock)
            except OSError:
                return False
            ok = c.call({"op": "hello"})["ok"]
            c.close()
            return ok
        # Root is served (and reads the hello through a raw socket).
        wait_for(ready, 20, "mpd to answer root's hello")

    def as_b(self, *args):
        env = {"PATH": "/usr/bin:/bin", "MPD_SOCKET": self.sock,
               "MPD_DAEMON_USER": self.a.name}
        return self.b.run([self.tools.mpctl] + list(args), env=env, cwd="/")

    def test_other_users_are_refused(self):
        self.start()
        r = self.as_b("submit", "echo", "1")
        # Told why, then closed, as any connection refused outright: mpctl
        # reads the reason as a refusal (6), or, when the close beats its
        # request, as a broken connection with the reason (3).
        self.assertIn(r.returncode, (3, 6), r.stderr)
        self.assertIn("serves only its own user", r.stderr)
        self.assertEqual(r.stdout, "")
        with open(os.path.join(self.top, "mpd.log")) as f:
            self.assertIn("refusing a client of uid %d" % self.b.uid,
                          f.read())

    def test_serve_others_lets_them_in(self):
        self.start("--serve-others")
        r = self.as_b("run", "--", "id", "-u")
        self.assertEqual((r.returncode, r.stdout), (0, "%d\n" % self.a.uid),
                         r.stderr)


if __name__ == "__main__":
    main()

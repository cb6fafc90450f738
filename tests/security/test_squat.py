"""Anyone can bind a socket where clients look for mpd (a sticky, world-
writable directory such as /tmp/share). Clients check who answers before
they send a byte: mpctl, libmpclient and the Python package each refuse
another user's listener, and it receives 0 bytes from them."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import (USER_PYTHON, Lines, Tools, User, main,  # noqa: E402
                     public_dir)

# The squatter: accepts connections and reports, a line each, how many
# bytes it got before the client closed (or a line ended: then it hangs up).
LISTENER = r"""
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(30)
    got = b""
    try:
        while b"\n" not in got:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        got += b"<timeout>"
    c.close()
    print("got %d %r" % (len(got), got[:60]), flush=True)
"""


class Squatter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tools = Tools()
        cls.a = User("a")
        cls.b = User("b")
        cls.dir = public_dir(0o1777)
        cls.sock = os.path.join(cls.dir, "mpd.sock")
        cls.listener = cls.a.popen([USER_PYTHON, "-c", LISTENER,
                                    cls.sock], stdout=-1)
        cls.lines = Lines(cls.listener.stdout)
        assert cls.lines.next() == "ready"

    @classmethod
    def tearDownClass(cls):
        cls.listener.kill()
        cls.listener.wait()
        cls.tools.cleanup()
        os.unlink(cls.sock)
        os.rmdir(cls.dir)

    def next_line(self):
        return self.lines.next()

    def env(self, **extra):
        env = {"PATH": "/usr/bin:/bin", "MPD_SOCKET": self.sock}
        env.update(extra)
        return env

    def assert_refused(self, r, words=("refusing",)):
        self.assertEqual(r.returncode, 3, (r.stdout, r.stderr))
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertEqual(self.next_line(), "got 0 b''")

    def test_mpctl_of_another_user_sends_nothing(self):
        r = self.b.run([self.tools.mpctl, "submit", "exec", "sh", "-c",
                        "echo secret-token"], env=self.env())
        self.assert_refused(r, ("refusing", self.sock, "uid %d (%s)" % (
            self.a.uid, self.a.name), "MPD_DAEMON_USER=" + self.a.name))
        self.assertNotIn("secret-token", r.stdout + r.stderr)
        self.assertEqual(r.stdout, "", "no job id may be printed")

    def test_mpctl_of_root_sends_nothing(self):
        import subprocess
        r = subprocess.run([self.tools.mpctl, "status"], env=self.env(),
                           capture_output=True, text=True, timeout=60)
        self.assert_refused(r)

    def test_libmpclient_sends_nothing(self):
        r = self.b.run([self.tools.probe, self.sock], env=self.env())
        self.assert_refused(r, ("refusing", "uid %d" % self.a.uid))

    def test_python_client_sends_nothing(self):
        code = ("import mpd\n"
                "try:\n"
                "    mpd.Client(sys.argv[1]).call({'op': 'hello'})\n"
                "except mpd.UntrustedServer as e:\n"
                "    print(e, file=sys.stderr); sys.exit(3)\n")
        r = self.b.run(self.tools.python_argv(code) + [self.sock],
                       env=self.env())
        self.assert_refused(r, ("refusing", "uid %d" % self.a.uid))

    def test_the_client_configuration_names_the_daemon_user(self):
        conf = "/etc/mpd/client.conf"
        if os.path.exists(conf):
            self.skipTest("this machine has a %s of its own" % conf)
        made_dir = not os.path.isdir("/etc/mpd")
        os.makedirs("/etc/mpd", mode=0o755, exist_ok=True)
        mode = os.stat("/etc/mpd").st_mode & 0o7777

        def remove():
            os.chmod("/etc/mpd", mode)
            os.unlink(conf)
            if made_dir:
                os.rmdir("/etc/mpd")
        with open(conf, "w") as f:
            f.write("# test\ndaemon-user = %s\n" % self.a.name)
        self.addCleanup(remove)
        os.chmod(conf, 0o644)
        code = ("import mpd\n"
                "try:\n"
                "    mpd.Client(sys.argv[1]).call({'op': 'hello'})\n"
                "except mpd.MpdError as e:\n"
                "    print(type(e).__name__, e, file=sys.stderr)\n")
        # Named by a root-owned file: trusted, by libmpclient and Python.
        r = self.b.run([self.tools.probe, self.sock], env=self.env())
        self.assertNotIn("refusing", r.stderr)
        self.assertIn("hello", self.next_line())
        r = self.b.run(self.tools.python_argv(code) + [self.sock],
                       env=self.env())
        self.assertNotIn("UntrustedServer", r.stderr)
        self.assertIn("hello", self.next_line())
        # A file, or a directory, others may write names no one.
        os.chmod("/etc/mpd", 0o777)
        r = self.b.run([self.tools.probe, self.sock], env=self.env())
        self.assert_refused(r)
        os.chmod("/etc/mpd", mode)
        os.chmod(conf, 0o666)
        r = self.b.run([self.tools.probe, self.sock], env=self.env())
        self.assert_refused(r)
        r = self.b.run(self.tools.python_argv(code) + [self.sock],
                       env=self.env())
        self.assertIn("UntrustedServer", r.stderr)
        self.assertEqual(self.next_line(), "got 0 b''")

    def test_a_named_daemon_user_is_trusted(self):
        # The control: trusted on purpose, the same clients do talk, so
        # the refusals above are the check's doing.
        env = self.env(MPD_DAEMON_USER=self.a.name)
        r = self.b.run([self.tools.probe, self.sock], env=env)
        self.assertNotEqual(r.returncode, 3, r.stderr)
        self.assertIn('"op": "hello"', self.next_line().replace(
            '":"', '": "'))
        r = self.b.run([self.tools.mpctl, "status"],
                       env=self.env(MPD_DAEMON_USER=str(self.a.uid)))
        self.assertNotIn("refusing", r.stderr)
        self.assertIn('"op":"status"', self.next_line())
        code = ("import mpd\n"
                "try:\n"
                "    mpd.Client(sys.argv[1]).call({'op': 'hello'})\n"
                "except mpd.MpdError as e:\n"
                "    print(type(e).__name__, e, file=sys.stderr)\n")
        r = self.b.run(self.tools.python_argv(code) + [self.sock], env=env)
        self.assertNotIn("UntrustedServer", r.stderr)
        self.assertIn("hello", self.next_line())


if __name__ == "__main__":
    main()

"""One user cannot take every connection of a root mpd: past its cap
(--max-clients-per-user) a user's next connection is refused with
too_many_clients, while another user, and root, still connect."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import Daemon, Tools, User, main  # noqa: E402

HOLD = """
import json, socket, sys, time
sys.path.insert(0, %(pypath)r)
from mpd.client import connect
socks, answers = [], []
for _ in range(%(n)d):
    s = connect(%(sock)r)
    try:
        s.sendall(b'{"op":"hello","req":1}\\n')
    except OSError:
        pass        # refused: the daemon may have closed it already
    try:
        line = s.makefile().readline()
    except OSError:
        line = ""
    answers.append(json.loads(line).get("ok") if line else False)
    socks.append(s)
print(json.dumps(answers), flush=True)
sys.stdin.readline()
"""


class Connections(unittest.TestCase):
    def setUp(self):
        self.tools = Tools()
        self.addCleanup(self.tools.cleanup)
        self.d = Daemon(1, ["--socket-mode", "0666", "--max-clients", "40",
                            "--max-clients-per-user", "5"])
        os.chmod(self.d.tmp, 0o711)
        self.d.start()
        self.addCleanup(self.d.stop)

    def hold(self, user, n):
        p = user.popen(self.tools.python_argv(HOLD % {
            "pypath": self.tools.pypath, "n": n, "sock": self.d.socket}),
            stdin=-1, stdout=-1, text=True)
        self.addCleanup(p.kill)
        return p, json.loads(p.stdout.readline())

    def test_a_user_past_the_cap_is_refused_others_are_not(self):
        a, b = User("ca"), User("cb")
        _, answers = self.hold(a, 7)
        self.assertEqual(answers, [True] * 5 + [False] * 2)
        self.assertIn("it has 5 connections already", self.d.log())
        # Another user, and root, are not held back by a's connections.
        _, answers = self.hold(b, 5)
        self.assertEqual(answers, [True] * 5)
        roots = [self.d.client() for _ in range(8)]
        for c in roots:
            self.assertTrue(c.call({"op": "hello"})["ok"])
            c.close()


if __name__ == "__main__":
    main()

"""A root mpd's Python pool and two users who do not trust each other: each
user's functions run in runtime workers of that user only, never as root,
and a worker that ran one user's code never runs the other's. Each user
submits through mpd.Pool from a script of their own (with no main guard),
so the whole path is real: the client, the daemon, the runtime."""
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import (USER_PYTHON, Daemon, Tools, User, main,  # noqa: E402
                     public_dir)

SCRIPT = '''
import json, os, sys
sys.path.insert(0, %(pypath)r)
from mpd import Pool
def who(n):
    return [os.getuid(), os.getgid(), os.getpid(), os.getcwd(),
            os.environ.get("HOME"), "LD_PRELOAD" in os.environ]
def peek(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return type(e).__name__
p = Pool()
out = p.map(who, range(%(n)d), 1)
out.append(p.apply(peek, (%(secret)r,)))
p.close()
p.join()
print(json.dumps(out))
'''


@unittest.skipIf(not os.path.exists(USER_PYTHON), "no /usr/bin/python3")
class TwoUsers(unittest.TestCase):
    def setUp(self):
        self.tools = Tools()
        self.addCleanup(self.tools.cleanup)
        self.a, self.b = User("ra"), User("rb")
        # The runtime runs the system's python3, with the package from a
        # directory every user can read.
        self.d = Daemon(1, ["--socket-mode", "0666", "--pool",
                            "py=2:python"],
                        env={"PYTHONPATH": self.tools.pypath,
                             "PATH": "/usr/bin:/bin",
                             "LD_PRELOAD": ""})
        os.chmod(self.d.tmp, 0o711)
        self.d.start()
        self.addCleanup(self.d.stop)
        # Each user's own directory, and a secret of a's.
        self.homes = {}
        for u in (self.a, self.b):
            h = public_dir(0o700)
            os.chown(h, u.uid, u.gid)
            self.addCleanup(shutil.rmtree, h, True)
            self.homes[u.name] = h
        self.secret = os.path.join(self.homes[self.a.name], "secret")
        with open(self.secret, "w") as f:
            f.write("a's secret\n")
        os.chown(self.secret, self.a.uid, self.a.gid)
        os.chmod(self.secret, 0o600)

    def run_as(self, user, n):
        home = self.homes[user.name]
        path = os.path.join(home, "prog.py")
        with open(path, "w") as f:
            f.write(SCRIPT % {"pypath": self.tools.pypath, "n": n,
                              "secret": self.secret})
        os.chown(path, user.uid, user.gid)
        r = user.run([USER_PYTHON, path], cwd=home, timeout=120,
                     env={"MPD_SOCKET": self.d.socket,
                          "PATH": "/usr/bin:/bin"})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr +
                         self.d.log()[-3000:])
        return json.loads(r.stdout)

    def test_each_user_runs_in_workers_of_their_own(self):
        seen = {}
        # Turns, so that workers are handed from one user to the other.
        for user in (self.a, self.b, self.a, self.b):
            out = self.run_as(user, 4)
            calls, secret = out[:-1], out[-1]
            for uid, gid, pid, cwd, home, preload in calls:
                self.assertEqual((uid, gid), (user.uid, user.gid))
                self.assertEqual(cwd, self.homes[user.name])
                self.assertFalse(preload)
                seen.setdefault(pid, set()).add(user.uid)
            if user is self.b:
                self.assertEqual(secret, "PermissionError")
            else:
                self.assertEqual(secret, "a's secret\n")
        # No process ever ran both users' functions.
        for pid, uids in seen.items():
            self.assertEqual(len(uids), 1, (pid, uids))
        self.assertGreater(len(seen), 1)
        # Nothing of the Python pool runs as root.
        for w in self.d.call({"op": "status"})["workers"]:
            if w["pool"] == "py" and w["pid"]:
                self.assertIn(w["uid"], (self.a.uid, self.b.uid))
                with open("/proc/%d/status" % w["pid"]) as f:
                    uids = [line.split()[1:] for line in f
                            if line.startswith("Uid:")][0]
                self.assertNotIn("0", uids, w)

    def test_a_user_cannot_name_a_script_of_root(self):
        # A job whose context names root's file runs as the user: the
        # file is read with the user's rights, and fails.
        root_script = os.path.join(self.d.tmp, "rootonly.py")
        with open(root_script, "w") as f:
            f.write("def f():\n    return 'root code'\n")
        os.chmod(root_script, 0o600)
        c = self.tools.python_argv(
            "import json, mpd\n"
            "c = mpd.Client(%r)\n"
            "r = c.call({'op': 'submit', 'task': '__main__:f',"
            " 'context': {'main': %r}})\n"
            "print(json.dumps(c.call({'op': 'get', 'job': r['job'],"
            " 'timeout': 60})))" % (self.d.socket, root_script))
        r = self.a.run(c, env={"PATH": "/usr/bin:/bin"})
        self.assertEqual(r.returncode, 0, r.stderr)
        g = json.loads(r.stdout)
        self.assertEqual(g["state"], "failed", g)
        self.assertEqual(g["error"]["type"], "PermissionError", g)


if __name__ == "__main__":
    main()

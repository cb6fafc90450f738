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
    fds = sorted((fd, os.readlink("/proc/self/fd/" + str(fd)))
                 for fd in map(int, os.listdir("/proc/self/fd"))
                 if fd in (1, 2))
    return [os.getuid(), os.getgid(), os.getpid(), os.getcwd(),
            os.environ.get("HOME"), "LD_PRELOAD" in os.environ, fds]
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
            for uid, gid, pid, cwd, home, preload, fds in calls:
                self.assertEqual((uid, gid), (user.uid, user.gid))
                self.assertEqual(cwd, self.homes[user.name])
                self.assertFalse(preload)
                # Its stdout and stderr are mpd's pipe, not mpd's log.
                for fd, target in fds:
                    self.assertTrue(target.startswith("pipe:"), fds)
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

    def test_one_waiting_job_ends_one_idle_worker_of_another_user(self):
        self.run_as(self.a, 4)      # a leaves 2 idle workers
        before = self.d.log().count("ends, for a job of uid")
        self.run_as(self.b, 1)
        self.assertEqual(self.d.log().count("ends, for a job of uid") -
                         before, 1, self.d.log()[-3000:])

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


class PlantedModules(unittest.TestCase):
    """A root mpd started in a directory a user can write to: the modules
    the user plants there never run in anyone's runtime, root's first."""

    def test_the_working_directory_is_not_on_the_path(self):
        tools = Tools()
        self.addCleanup(tools.cleanup)
        user = User("rp")
        here = public_dir(0o1777)
        self.addCleanup(shutil.rmtree, here, True)
        marker = os.path.join(here, "pwned")
        os.makedirs(os.path.join(here, "mpd"))
        with open(os.path.join(here, "mpd", "__init__.py"), "w") as f:
            f.write("open(%r, 'w').write(str(__import__('os').getuid()))\n"
                    % marker)
        shutil.chown(os.path.join(here, "mpd"), user.uid, user.gid)
        d = Daemon(1, ["--pool", "py=1:python"],
                   env={"PYTHONPATH": tools.pypath, "PATH": "/usr/bin:/bin"})
        old = os.getcwd()
        os.chdir(here)
        try:
            d.start()
        finally:
            os.chdir(old)
        self.addCleanup(d.stop)
        r = d.call({"op": "submit", "task": "os:getuid"})
        g = d.call({"op": "get", "job": r["job"], "timeout": 60})
        self.assertEqual((g["state"], g.get("result")), ("done", 0), g)
        self.assertFalse(os.path.exists(marker))


if __name__ == "__main__":
    main()

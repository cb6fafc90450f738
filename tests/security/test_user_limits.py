"""Jobs of ordinary users start from the admin's configured limits (open
files, processes, core size), not from the root daemon's raised ones, and
never above the daemon's own; a job's own limits stay under them. Root's
own jobs keep the daemon's."""
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import Tools, User, daemon_at, main, public_dir  # noqa: E402

SHOW = "cat /proc/self/limits"
ROWS = ("Max open files", "Max processes", "Max core file size")


def limits_of(text):
    """[soft, hard] of open files, processes and core size, flattened."""
    found = []
    for row in ROWS:
        for line in text.splitlines():
            if line.startswith(row):
                found += line[len(row):].split()[:2]
    return found


class UserLimits(unittest.TestCase):
    def start(self, *args):
        top = public_dir(0o755)
        self.addCleanup(shutil.rmtree, top, True)
        d = daemon_at(os.path.join(top, "mpd.sock"),
                      os.path.join(top, "state", "mpd.db"),
                      ("--socket-mode", "0666") + args)
        self.addCleanup(d.cleanup)
        d.start()
        self.addCleanup(d.stop)
        return d

    def as_user(self, d, user, tools):
        env = {"PATH": "/usr/bin:/bin", "MPD_SOCKET": d.socket}
        r = user.run([tools.mpctl, "run", "--shell", SHOW], env=env,
                     cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)
        return limits_of(r.stdout)

    def test_configured_limits(self):
        tools = Tools()
        self.addCleanup(tools.cleanup)
        b = User("b")
        d = self.start("--user-nofile", "100:200", "--user-nproc", "300",
                       "--user-core", "0:4096")
        # The job's sh itself counts as one of b's processes, within 300.
        self.assertEqual(self.as_user(d, b, tools),
                         ["100", "200", "300", "300", "0", "4096"])
        # A job may lower its limits, and asking for more than the user's
        # hard limit gives the hard limit, not a failure.
        env = {"PATH": "/usr/bin:/bin", "MPD_SOCKET": d.socket}

        def with_nofile(n):
            r = b.run([tools.mpctl, "submit", "--kwargs",
                       '{"limits":{"nofile":%d}}' % n, "shell", SHOW],
                      env=env, cwd="/")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = b.run([tools.mpctl, "get", "--timeout", "30",
                       r.stdout.strip()], env=env, cwd="/")
            self.assertEqual(r.returncode, 0, r.stderr)
            return limits_of(json.loads(r.stdout)["stdout"])[:2]
        self.assertEqual(with_nofile(150), ["150", "150"])
        self.assertEqual(with_nofile(100000), ["200", "200"])
        # Root's job: the daemon's own limits.
        r = d.mpctl("run", "--shell", SHOW)
        with open("/proc/%d/limits" % d.pid) as f:
            self.assertEqual(limits_of(r.stdout), limits_of(f.read()))

    def test_defaults_are_a_logins(self):
        tools = Tools()
        self.addCleanup(tools.cleanup)
        b = User("b")
        d = self.start()
        with open("/proc/sys/kernel/threads-max") as f:
            nproc = str(int(f.read()) // 2)
        got = self.as_user(d, b, tools)
        with open("/proc/%d/limits" % d.pid) as f:
            daemon = limits_of(f.read())

        def capped(value, hard):
            """value, never above the daemon's hard limit."""
            if hard == "unlimited":
                return value
            return str(min(int(value), int(hard)))
        hard_nofile = capped("524288", daemon[1])
        self.assertEqual(got, [capped("1024", hard_nofile), hard_nofile,
                               capped(nproc, daemon[3]),
                               capped(nproc, daemon[3]), "0", daemon[5]])


if __name__ == "__main__":
    main()

"""Who sees what: a client sees, waits on, cancels and forgets only its own
jobs unless it is root or the daemon's own user. Run as root: the other
user is "nobody", reached through setpriv. Skipped when not root."""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (EXIT_NOT_FOUND, EXIT_REFUSED, MPCTL,  # noqa: E402
                     MpdTestCase, main)

NOBODY = 65534


@unittest.skipIf(os.geteuid() != 0, "needs root to act as another user")
@unittest.skipIf(shutil.which("setpriv") is None, "setpriv is missing")
class Access(MpdTestCase):
    daemon_args = ("--socket-mode", "0666")

    def setUp(self):
        super().setUp()
        os.chmod(self.d.tmp, 0o711)
        # The build tree may sit below a directory nobody cannot enter.
        self.mpctl = os.path.join(self.d.tmp, "mpctl")
        shutil.copy(MPCTL, self.mpctl)
        os.chmod(self.mpctl, 0o755)

    def as_nobody(self, *args):
        env = dict(os.environ, MPD_SOCKET=self.d.socket)
        return subprocess.run(
            ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
             "--clear-groups", self.mpctl] + [str(a) for a in args],
            env=env, capture_output=True, text=True, timeout=60)

    def test_other_users_jobs_do_not_exist_for_you(self):
        mine = self.as_nobody("submit", "square", 5)
        self.assertEqual(mine.returncode, 0, mine.stderr)
        mine = int(mine.stdout)
        self.assertEqual(self.as_nobody("get", mine).stdout, "25\n")
        roots = self.submit("square", 6)
        self.get(roots)
        for cmd in ("get", "status", "logs", "cancel", "forget"):
            r = self.as_nobody(cmd, roots)
            self.assertEqual(r.returncode, EXIT_NOT_FOUND, (cmd, r.stderr))
        listed = json.loads(self.as_nobody("list", "--json").stdout)
        self.assertEqual([j["id"] for j in listed], [mine])
        self.assertEqual(listed[0]["owner"], NOBODY)
        counts = json.loads(self.as_nobody("status", "--json").stdout)
        self.assertEqual(counts["jobs"]["done"], 1)
        # Root (the daemon's own user) sees both.
        every = json.loads(self.d.mpctl("list", "--json").stdout)
        self.assertEqual(sorted(j["id"] for j in every), sorted([mine, roots]))

    def test_only_privileged_users_stop_the_daemon(self):
        r = self.as_nobody("shutdown")
        self.assertEqual(r.returncode, EXIT_REFUSED)
        self.assertIn("may stop it", r.stderr)
        self.assertTrue(self.d.call({"op": "hello"})["ok"])

    def test_only_privileged_users_change_the_pools(self):
        for args in (("resize", "default", 3), ("pause", "default"),
                     ("resume", "default"), ("add", "mine", 1),
                     ("remove", "default"), ("pause", "nosuch")):
            r = self.as_nobody("pool", *args)
            self.assertEqual(r.returncode, EXIT_REFUSED, args)
            self.assertIn("only root or the daemon's own user", r.stderr)
        pools = self.d.call({"op": "pools"})["pools"]
        self.assertEqual([(p["name"], p["size"], p["paused"])
                          for p in pools], [("default", 2, False)])

    def test_pool_queue_counts_are_your_own(self):
        # Root's jobs wait in a paused pool: nobody counts none of them.
        self.assertTrue(self.d.call({"op": "pool_pause",
                                     "pool": "default"})["ok"])
        self.submit("square", 1)
        self.submit("square", 2)
        r = self.as_nobody("pool", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)[0]["queued"], 0)
        self.assertEqual(self.d.call({"op": "pools"})["pools"][0]["queued"],
                         2)
        self.assertTrue(self.d.call({"op": "pool_resume",
                                     "pool": "default"})["ok"])


if __name__ == "__main__":
    main()

"""Private by default: whatever umask mpd starts with (000 here) and
whether or not its directories existed, the database, its -wal and -shm,
the lock, the logs are 0600 and the directories it makes 0700; the socket
has exactly its --socket-mode. mpd gives each of these its mode itself (and
sets its umask to 077 besides, for anything else), so this checks the
outcome, not which of the two made it. Commands get the umask mpd was
started with back. Needs no other user, so it runs without root too."""
import os
import shutil
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import daemon_at, main, public_dir  # noqa: E402


def modes(top):
    """{relative path: permission bits} of everything below top."""
    found = {}
    for d, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(d, name)
            found[os.path.relpath(p, top)] = stat.S_IMODE(os.lstat(p).st_mode)
    return found


class Umask000(unittest.TestCase):
    def setUp(self):
        old = os.umask(0)
        self.addCleanup(os.umask, old)
        self.top = public_dir(0o755)
        self.addCleanup(shutil.rmtree, self.top, True)

    def run_jobs(self, d):
        c = d.client()
        self.addCleanup(c.close)
        job = c.call({"op": "submit", "task": "shell",
                      "args": ["umask; echo data > %s/made-by-job" %
                               self.top]})["job"]
        r = c.call({"op": "get", "job": job, "timeout": 30})
        self.assertEqual(r["state"], "done", r)
        # The command has the umask mpd was started with, not mpd's own.
        self.assertEqual(r["result"]["stdout"], "0000\n")
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(
            self.top, "made-by-job")).st_mode), 0o666)
        os.unlink(os.path.join(self.top, "made-by-job"))
        m = c.call({"op": "map", "task": "square", "items": [1, 2, 3]})
        self.assertEqual(c.call({"op": "get", "job": m["job"],
                                 "timeout": 30})["result"], [1, 4, 9])

    def check(self, state, made_dirs, running=False):
        found = modes(self.top)
        for path, mode in found.items():
            full = os.path.join(self.top, path)
            if stat.S_ISSOCK(os.lstat(full).st_mode):
                continue  # its mode is --socket-mode's, checked apart
            if os.path.isdir(full):
                # The log directory's own directories (one per thousand
                # jobs) are mpd's making too.
                if path in made_dirs or os.path.basename(
                        os.path.dirname(path)) == "logs":
                    self.assertEqual(mode, 0o700, path)
            else:
                self.assertEqual(mode, 0o600, path)
        names = set(found)
        # SQLite's -wal and -shm exist while mpd runs.
        for f in ("mpd.db", "mpd.db.lock", "logs/0/1.out", "logs/0/1.err") + (
                ("mpd.db-wal", "mpd.db-shm") if running else ()):
            self.assertIn(os.path.join(state, f), names)
        return found

    def test_directories_that_did_not_exist(self):
        d = daemon_at(os.path.join(self.top, "run", "mpd", "mpd.sock"),
                      os.path.join(self.top, "state", "mpd", "mpd.db"))
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(stat.S_IMODE(os.lstat(d.socket).st_mode), 0o600)
        self.run_jobs(d)
        self.check(os.path.join("state", "mpd"), (), running=True)
        self.assertEqual(d.stop(), 0)
        self.check(os.path.join("state", "mpd"),
                   ("run", "run/mpd", "state", "state/mpd",
                    "state/mpd/logs"))

    def test_directories_that_existed(self):
        for name in ("run", "state"):
            os.mkdir(os.path.join(self.top, name), 0o755)
        d = daemon_at(os.path.join(self.top, "run", "mpd.sock"),
                      os.path.join(self.top, "state", "mpd.db"),
                      ("--socket-mode", "0660"))
        self.addCleanup(d.cleanup)
        d.start()
        # Exactly the mode asked for, not widened by the umask.
        self.assertEqual(stat.S_IMODE(os.lstat(d.socket).st_mode), 0o660)
        self.run_jobs(d)
        self.check("state", ("state/logs",), running=True)
        self.assertEqual(d.stop(), 0)
        found = self.check("state", ("state/logs",))
        self.assertEqual(found["state"], 0o755, "an existing one stays")


if __name__ == "__main__":
    main(root=False)

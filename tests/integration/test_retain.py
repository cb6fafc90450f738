"""Retention: ended jobs and maps, with their log files, are forgotten once
they ended longer ago than --keep-ended, and past --keep-max the oldest
ended ones go first; queued and running jobs never do."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import MPD, MpdTestCase, log_path, main, wait_for  # noqa: E402


class KeepEnded(MpdTestCase):
    workers = 2
    daemon_args = ("--keep-ended", "1s")

    def gone(self, job):
        r = self.d.call({"op": "get", "job": job})
        return not r["ok"] and r["error"]["code"] == "not_found"

    def test_ended_jobs_and_their_logs_go_others_stay(self):
        cmd = self.submit("shell", "echo out; echo err >&2")
        quick = self.submit("echo", 1)
        m = self.d.call({"op": "map", "task": "square",
                         "items": list(range(20)), "chunksize": 2})["job"]
        for j in (cmd, quick, m):
            self.assertEqual(self.get(j, 30)["state"], "done")
        logs = [log_path(self.d.tmp, cmd, ext)
                for ext in ("out", "err")]
        self.assertTrue(all(os.path.exists(p) for p in logs))
        running = self.submit("sleep", 60)
        self.assertTrue(self.d.call({"op": "pool_pause",
                                     "pool": "default"})["ok"])
        queued = self.submit("echo", 2)
        for j in (cmd, quick, m):
            wait_for(lambda: self.gone(j), 20, "job %d to be forgotten" % j)
        self.assertFalse(any(os.path.exists(p) for p in logs))
        # A second later still, what has not ended is all there.
        st = self.d.status()["jobs"]
        self.assertEqual((st["running"], st["queued"]), (1, 1), st)
        for j in (running, queued):
            self.assertTrue(self.d.call({"op": "status", "job": j})["ok"])
        self.assertEqual(self.d.call({"op": "list"})["jobs"][0]["id"],
                         running)
        self.d.call({"op": "cancel", "job": running})
        self.d.call({"op": "cancel", "job": queued})


class KeepMax(MpdTestCase):
    workers = 1         # so the jobs end in the order of their ids
    daemon_args = ("--keep-ended", "0", "--keep-max", "3")

    def test_the_oldest_ended_go_first(self):
        ids = [self.submit("echo", k) for k in range(6)]
        for j in ids:
            self.assertEqual(self.get(j, 30)["state"], "done")
        wait_for(lambda: len(self.d.call({"op": "list"})["jobs"]) == 3, 20,
                 "three jobs to be kept")
        self.assertEqual([j["id"] for j in
                          self.d.call({"op": "list"})["jobs"]], ids[3:])


class BadDuration(unittest.TestCase):
    def test_a_bad_duration_is_refused_with_its_form(self):
        p = subprocess.run([MPD, "--config", os.devnull, "--keep-ended",
                            "3 weeks"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("takes a duration such as 90s, 30m, 12h or 7d",
                      p.stderr)


if __name__ == "__main__":
    main()

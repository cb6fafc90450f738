"""What mpd does when its database fails, through the fault backend
(MPD_STORE_FAULTS, store.h): a failed commit or write turns the replies
held for it into errors, mpd stops non-zero, and after a restart every
acknowledged job is there and nothing that was refused is.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import MPD, MpdTestCase, main, wait_for  # noqa: E402


class StoreFaults(MpdTestCase):
    workers = 1

    def submit_until_stopped(self):
        """Submits one job at a time until mpd stops answering; returns
        ({tag: job} acknowledged, [refusals])."""
        c = self.d.client()
        self.addCleanup(c.close)
        acked, refused = {}, []
        for n in range(1000):
            try:
                r = c.call({"op": "submit", "task": "square", "args": [n],
                            "req": n})
            except (OSError, AssertionError):
                break       # it stopped between two requests
            if r.get("ok"):
                acked[n] = r["job"]
            else:
                refused.append(r)
        for r in refused:
            self.assertEqual(r["error"]["code"], "internal", r)
            self.assertIn("not kept", r["error"]["message"])
        return acked, refused

    def restart_and_check(self, acked):
        """Restarted without faults: every acknowledged job is there, done
        with its result or failed as interrupted; no other job is."""
        self.assertNotEqual(self.d.wait_exit(), 0)
        self.d.env = {}
        self.d.start()
        for n, job in acked.items():
            r = self.get(job, timeout=30)
            if r["state"] == "done":
                self.assertEqual(r["result"], n * n, r)
            else:
                self.assertEqual(r["error"]["code"], "interrupted", r)
        counts = self.d.status()["jobs"]
        self.assertEqual(sum(counts.values()), len(acked), counts)

    def restart_with(self, faults):
        self.d.stop()
        self.d.env = {"MPD_STORE_FAULTS": faults}
        self.d.start()
        self.assertIn("faults injected on request: " + faults, self.d.log())

    def test_the_first_commit_failing_refuses_its_submit(self):
        # Recovery's own commit is not counted: the first is the submit's.
        self.restart_with("commit=1")
        acked, refused = self.submit_until_stopped()
        self.assertEqual(acked, {})
        self.assertEqual(len(refused), 1)
        self.assertIn("injected fault: commit 1 failed", self.d.log())
        self.restart_and_check(acked)

    def test_a_later_commit_failing_loses_nothing_acknowledged(self):
        self.restart_with("commit=7")
        acked, refused = self.submit_until_stopped()
        self.assertGreater(len(acked), 0)
        self.assertIn("injected fault: commit 7 failed", self.d.log())
        self.restart_and_check(acked)

    def test_a_failed_write_loses_nothing_acknowledged(self):
        self.restart_with("write=9")
        acked, refused = self.submit_until_stopped()
        self.assertGreater(len(acked), 0)
        self.assertIn("injected fault: write 9 failed", self.d.log())
        self.assertIn("rolled back", self.d.log())
        self.restart_and_check(acked)

    def test_a_reply_waits_for_its_own_commit_not_an_earlier_one(self):
        # Each commit reports 400 ms late. A's commit is under way (its
        # job went to the worker just before) when B is written: B's
        # reply must wait for the next commit, at least 400 ms after A's,
        # not go out with A's. Once B is acknowledged, a kill -9 must not
        # lose it.
        self.restart_with("defer=400")
        a, b = self.d.client(), self.d.client()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        a.send({"op": "submit", "task": "sleep", "args": [0.01],
                "req": "A"})
        wait_for(lambda: "(sleep) to worker-1" in self.d.log(), 10,
                 "A's dispatch, just before its commit")
        tag = b.send({"op": "submit", "task": "square", "args": [9]})
        self.assertTrue(a.wait("A")["ok"])
        a_replied = time.monotonic()
        r = b.wait(tag)
        self.assertTrue(r["ok"], r)
        self.assertGreater(time.monotonic() - a_replied, 0.35,
                           "B's reply went out with A's commit")
        self.d.kill()
        self.d.env = {}
        self.d.start()
        r = self.get(r["job"], timeout=30)
        self.assertTrue(r["ok"], r)
        if r["state"] == "done":
            self.assertEqual(r["result"], 81, r)
        else:           # it was running when mpd was killed
            self.assertEqual(r["error"]["code"], "interrupted", r)

    def test_a_loss_while_a_commit_has_not_reported_claims_nothing(self):
        # The submit's commit is under way (reporting 300 ms late) when
        # the dispatch's write fails: whether the job was kept is not
        # known yet, so no reply may say it was not. The connection ends
        # without one; after a restart, the job is there.
        self.restart_with("defer=300,write=3")
        c = self.d.client()
        self.addCleanup(c.close)
        c.send({"op": "submit", "task": "square", "args": [7], "req": "A"})
        self.assertIsNone(c.recv())
        self.assertNotEqual(self.d.wait_exit(), 0)
        self.assertIn("injected fault: write 3 failed", self.d.log())
        self.d.env = {}
        self.d.start()
        r = self.d.call({"op": "get", "job": 1, "timeout": 30})
        self.assertTrue(r["ok"], r)

    def test_a_bad_fault_spec_is_refused_at_start(self):
        self.d.stop()
        self.d.env = {"MPD_STORE_FAULTS": "commit=soon"}
        self.d.start(wait=False)
        self.assertNotEqual(self.d.wait_exit(), 0)
        self.assertIn("expected a comma-separated list", self.d.log())
        self.d.env = {}
        self.d.start()


class Targets(MpdTestCase):
    """--db names a file, sqlite:FILE, or a database mpd cannot use yet."""

    def test_sqlite_prefix_names_the_same_file(self):
        self.submit("square", 4)
        self.d.stop()
        self.d.args = ["--db", "sqlite:" + self.d.db]
        self.d.start()
        self.assertEqual(sum(self.d.status()["jobs"].values()), 1)

    def test_other_targets_are_refused_plainly(self):
        for target, words in (
                ("postgresql://db.example/mpd", "without PostgreSQL"),
                ("mysql://db.example/mpd", "unknown database scheme"),
                ("sqlite:", "names no database file")):
            r = subprocess.run([MPD, "--config", "/dev/null", "--db", target,
                                "--socket", self.d.socket + ".x"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(words, r.stderr)


if __name__ == "__main__":
    main()

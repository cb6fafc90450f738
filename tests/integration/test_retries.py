#!/usr/bin/env python3
"""Retries: max_attempts with a back-off, retry_on causes, the record of
every attempt, and recovery's use of the policy after a daemon crash.

Run as: MPD_BUILD_DIR=build python3 tests/integration/test_retries.py
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mpdtest import Daemon, MpdTestCase, main, wait_for  # noqa: E402


def history(d, job):
    st = d.call({"op": "status", "job": job})
    assert st["ok"], st
    return st["job"]


class Retries(MpdTestCase):
    workers = 2

    def test_task_errors_are_retried_only_when_asked(self):
        plain = self.submit("fail", "no", max_attempts=3)
        asked = self.submit("fail", "yes", max_attempts=3,
                            retry_on=["error"], retry_delay=0)
        self.assertEqual(self.get(plain)["state"], "failed")
        self.assertEqual(self.get(asked)["state"], "failed")
        self.assertEqual(history(self.d, plain)["attempts"], 1)
        st = history(self.d, asked)
        self.assertEqual(st["attempts"], 3)
        self.assertEqual([(h["attempt"], h["error"]["code"])
                          for h in st["history"]],
                         [(1, "task_error"), (2, "task_error"),
                          (3, "task_error")])
        self.assertEqual(st["retry"]["on"], ["error"])

    def test_exponential_back_off_is_waited_and_capped(self):
        start = time.monotonic()
        job = self.submit("crash", max_attempts=4, retry_delay=0.2,
                          retry_factor=2, retry_max=0.3)
        r = self.get(job)
        took = time.monotonic() - start
        self.assertEqual(r["error"]["code"], "worker_died")
        st = history(self.d, job)
        self.assertEqual(st["attempts"], 4)
        # Delays 0.2, then 0.4 capped to 0.3, then 0.3: at least 0.8 s.
        self.assertGreaterEqual(took, 0.8)
        starts = [h["started"] for h in st["history"]]
        self.assertEqual(len(starts), 4)
        self.assertEqual(self.d.log().count("failed; retrying in"), 3)
        self.assertIn("retrying in 0.2 s", self.d.log())
        self.assertIn("retrying in 0.3 s", self.d.log())

    def test_a_waiting_retry_does_not_hold_up_the_queue(self):
        slow = self.submit("crash", max_attempts=2, retry_delay=3)
        wait_for(lambda: "retrying in 3 s" in self.d.log(), 10,
                 "the first attempt to fail")
        # While it waits, other jobs run on the free workers.
        quick = [self.submit("square", n) for n in range(5)]
        self.assertEqual([self.get(j)["result"] for j in quick],
                         [n * n for n in range(5)])
        st = history(self.d, slow)
        self.assertEqual(st["state"], "queued")
        self.assertIsNotNone(st["not_before"])
        self.assertEqual(self.get(slow)["error"]["code"], "worker_died")

    def test_time_limits_can_be_retried(self):
        job = self.submit("sleep", 30, timeout=0.2, max_attempts=2,
                          retry_on=["timeout"], retry_delay=0)
        r = self.get(job)
        self.assertEqual(r["state"], "timeout")
        st = history(self.d, job)
        self.assertEqual([h["state"] for h in st["history"]],
                         ["timeout", "timeout"])

    def test_a_success_is_the_last_entry_of_the_history(self):
        # A job that succeeds at once: one entry, read from the job.
        job = self.submit("square", 6, max_attempts=2, retry_delay=0)
        self.assertEqual(self.get(job)["result"], 36)
        st = history(self.d, job)
        self.assertEqual([(h["attempt"], h["state"]) for h in st["history"]],
                         [(1, "done")])
        self.assertIsNotNone(st["history"][0]["finished"])

    def test_bad_retry_fields_are_refused(self):
        for fields in ({"retry_on": ["sometimes"]}, {"retry_on": "error"},
                       {"retry_factor": 0.5}, {"retry_delay": -1}):
            r = self.d.call(dict({"op": "submit", "task": "echo"}, **fields))
            self.assertEqual(r["error"]["code"], "bad_request", fields)


class Interrupted(MpdTestCase):
    workers = 1

    def test_recovery_follows_the_policy(self):
        kept = self.submit("sleep", 30, "kept", max_attempts=2,
                           retry_delay=0)
        wait_for(lambda: history(self.d, kept)["state"] == "running", 10,
                 "the sleep to run")
        dropped = self.submit("square", 3)
        self.d.kill()
        # A second daemon on the same database, after the crash.
        d2 = Daemon(1, args=["--grace", "0"], tmp=self.d.tmp)
        self.d = d2
        d2.start()
        st = history(d2, kept)
        self.assertIn(st["state"], ("queued", "running"))
        self.assertEqual(st["history"][0]["error"]["code"], "interrupted")
        # It runs again, ahead of the younger queued job: cancel it.
        d2.call({"op": "cancel", "job": kept})
        self.assertEqual(d2.call({"op": "get", "job": dropped})["result"], 9)

    def test_not_retried_when_interrupted_is_not_a_cause(self):
        job = self.submit("sleep", 30, max_attempts=3, retry_on=["error"])
        wait_for(lambda: history(self.d, job)["state"] == "running", 10,
                 "the sleep to run")
        self.d.kill()
        d2 = Daemon(1, tmp=self.d.tmp)
        self.d = d2
        d2.start()
        r = d2.call({"op": "get", "job": job})
        self.assertEqual((r["state"], r["error"]["code"]),
                         ("failed", "interrupted"))


if __name__ == "__main__":
    main()

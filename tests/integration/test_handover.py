#!/usr/bin/env python3
"""Jobs handed to a busy worker ahead of time: jobs of quick tasks go to a
worker behind the quick job it runs, so a burst does not pay a round trip
per job. What must hold: nothing waits behind a long job, a crash does not
count a job handed over but not reported as interrupted, a cancel of such a
job ends it, every job of a burst runs once with its result, and results a
worker sent before it was killed for the job in front are kept.

Run as: MPD_BUILD_DIR=build python3 tests/integration/test_handover.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mpdtest import Daemon, MpdTestCase, main, wait_for  # noqa: E402


def burst(c, reqs):
    """Sends every request in one write; returns the replies in order."""
    tags = []
    data = b""
    for r in reqs:
        c.tag += 1
        tags.append(c.tag)
        data += (json.dumps(dict(r, req=c.tag)) + "\n").encode()
    c.send_raw(data)
    return [c.wait(t) for t in tags]


def square(i):
    return {"op": "submit", "task": "square", "args": [i]}


class Handover(MpdTestCase):
    workers = 2

    def state(self, job):
        return self.d.call({"op": "status", "job": job})["job"]

    def test_a_burst_runs_each_job_once_with_its_result(self):
        c = self.d.client()
        self.addCleanup(c.close)
        ids = [r["job"] for r in burst(c, [square(i) for i in range(3000)])]
        gets = burst(c, [{"op": "get", "job": j, "timeout": 60}
                         for j in ids])
        self.assertEqual([g["result"] for g in gets],
                         [i * i for i in range(3000)])
        # Handed over or not, each ran once and has a start and an end.
        for j in ids[::150] + ids[-5:]:
            st = self.state(j)
            self.assertEqual(st["attempts"], 1, st)
            self.assertIsNotNone(st["started"], st)
            self.assertLessEqual(st["started"], st["finished"], st)
        self.assertEqual(self.d.status()["jobs"]["done"], 3000)

    def test_nothing_waits_behind_a_long_job(self):
        # Quick jobs, then a long one, then more quick ones, in one burst:
        # the long job's worker gets nothing behind it, so the other
        # worker runs all the rest while it sleeps.
        c = self.d.client()
        self.addCleanup(c.close)
        for round_ in range(3):
            reqs = [square(i) for i in range(400)]
            reqs.append({"op": "submit", "task": "sleep", "args": [60]})
            reqs += [square(i) for i in range(400)]
            ids = [r["job"] for r in burst(c, reqs)]
            long_job, after = ids[400], ids[401:]
            gets = burst(c, [{"op": "get", "job": j, "timeout": 30}
                             for j in after])
            self.assertEqual([g.get("state") for g in gets],
                             ["done"] * 400)
            self.assertEqual(self.state(long_job)["state"], "running")
            r = self.d.call({"op": "cancel", "job": long_job})
            self.assertEqual(r["state"], "cancelled", r)

    def test_cancels_during_a_burst_end_every_job(self):
        c = self.d.client()
        self.addCleanup(c.close)
        ids = [r["job"] for r in burst(c, [square(i) for i in range(2000)])]
        cancels = burst(c, [{"op": "cancel", "job": j} for j in ids[1000:]])
        for r in cancels:
            # Cancelled, or too late: it had already ended.
            self.assertTrue(r["ok"] and r["state"] == "cancelled" or
                            not r["ok"] and r["error"]["code"] ==
                            "bad_state", r)
        gets = burst(c, [{"op": "get", "job": j, "timeout": 60}
                         for j in ids])
        for i, g in enumerate(gets):
            self.assertIn(g["state"], ("done", "cancelled"), g)
            if g["state"] == "done":
                self.assertEqual(g["result"], i * i)
            else:
                self.assertGreaterEqual(i, 1000)
        wait_for(lambda: self.d.status()["jobs"]["running"] == 0, 30,
                 "no job left running")
        # Cancelling a job a worker had begun replaces that worker.
        wait_for(lambda: len(self.d.worker_pids()) == 2, 30,
                 "both workers up")

    def test_a_crash_does_not_count_jobs_not_begun_as_interrupted(self):
        c = self.d.client()
        self.addCleanup(c.close)
        ids = [r["job"] for r in burst(c, [square(i) for i in range(20000)])]
        # Kill the daemon while the burst runs.
        wait_for(lambda: self.d.status()["jobs"]["done"] > 2000, 30,
                 "the burst to be under way")
        self.d.kill()
        d2 = Daemon(2, tmp=self.d.tmp)
        self.d = d2
        d2.start()
        c = d2.client()
        self.addCleanup(c.close)
        gets = burst(c, [{"op": "get", "job": j, "timeout": 120}
                         for j in ids])
        states = [g["state"] for g in gets]
        interrupted = [g for g in gets if g["state"] == "failed"]
        # At most the job each worker was running can have been cut off.
        self.assertLessEqual(len(interrupted), 2, interrupted[:3])
        for g in interrupted:
            self.assertEqual(g["error"]["code"], "interrupted")
        self.assertEqual(states.count("done") + len(interrupted), 20000)
        for i, g in enumerate(gets):
            if g["state"] == "done":
                self.assertEqual(g["result"], i * i)


if __name__ == "__main__":
    main()

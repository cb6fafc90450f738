#!/usr/bin/env python3
"""Input limits and worker health: nesting depth, clients at once, a client
stalled in the middle of a line, workers replaced after N jobs or when they
grow too big. Each through a real daemon started with small caps.

Run as: MPD_BUILD_DIR=build python3 tests/integration/test_limits.py
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mpdtest import (MpdTestCase, RawClient, SLOW, main,  # noqa: E402
                     wait_for)


class InputLimits(MpdTestCase):
    workers = 1
    daemon_args = ("--max-depth", "8", "--max-clients", "3",
                   "--client-timeout", "0.5")

    def test_deep_nesting_is_refused_before_parsing(self):
        c = self.d.client()
        self.addCleanup(c.close)
        # Deeper than the cap: refused, and the connection keeps serving.
        for line in (b"[" * 9 + b"]" * 9, b"[" * 100000,
                     b'{"op":"submit","task":"echo","args":' +
                     b"[" * 8 + b"]" * 8 + b"}"):
            c.send_raw(line + b"\n")
            r = json.loads(c.read_line())
            self.assertFalse(r["ok"])
            self.assertEqual(r["error"]["code"], "bad_request")
            self.assertIn("deeper than 8", r["error"]["message"])
        # Brackets inside strings do not count; up to the cap is fine.
        r = c.call({"op": "submit", "task": "echo",
                    "args": ["[[[[[[[[[[[[", [[[[[[1]]]]]]]})
        self.assertTrue(r["ok"], r)
        r = c.call({"op": "get", "job": r["job"]})
        self.assertEqual(r["result"], ["[[[[[[[[[[[[", [[[[[[1]]]]]]])

    def admitted_client(self):
        """A client the daemon took in: the probes of setUp may still be
        counted for a moment after they closed."""
        def attempt():
            c = RawClient(self.d.socket)
            try:
                if c.call({"op": "hello"}).get("ok"):
                    return c
            except (OSError, AssertionError):
                pass
            c.close()
            return None
        c = wait_for(attempt, 10, "a client to be admitted")
        self.addCleanup(c.close)
        return c

    def test_a_client_over_the_cap_is_told_and_closed(self):
        held = [self.admitted_client() for _ in range(3)]
        extra = RawClient(self.d.socket)
        self.addCleanup(extra.close)
        r = json.loads(extra.read_line())
        self.assertEqual(r["error"]["code"], "too_many_clients")
        self.assertIsNone(extra.read_line())
        # One leaves: a new client gets in again, once the daemon has
        # seen the close.
        held[0].close()
        self.admitted_client()

    def test_a_stalled_half_line_is_closed_an_idle_client_is_not(self):
        idle = self.d.client()
        self.addCleanup(idle.close)
        stalled = self.d.client()
        self.addCleanup(stalled.close)
        stalled.send_raw(b'{"op":"hel')
        start = time.monotonic()
        r = json.loads(stalled.read_line())
        self.assertEqual(r["error"]["code"], "idle_timeout")
        self.assertIsNone(stalled.read_line())
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        # A client between lines may wait as long as it likes.
        self.assertTrue(idle.call({"op": "hello"})["ok"])

    def test_a_waiting_get_is_not_an_idle_client(self):
        c = self.d.client()
        self.addCleanup(c.close)
        job = c.call({"op": "submit", "task": "sleep",
                      "args": [1.0 * SLOW, "late"]})["job"]
        r = c.call({"op": "get", "job": job})
        self.assertEqual(r["result"], "late")


class QueueCap(MpdTestCase):
    workers = 1
    daemon_args = ("--max-queue", "3")

    def fill(self):
        """The worker busy, three jobs queued: the queue is full."""
        busy = self.submit("sleep", 30)
        wait_for(lambda: self.d.call({"op": "status", "job": busy})
                 ["job"]["state"] == "running", 10, "the sleep to run")
        return [self.submit("square", n) for n in range(3)]

    def queued(self):
        return self.d.status()["jobs"]["queued"]

    def test_a_full_queue_refuses_at_once_when_asked(self):
        self.fill()
        r = self.d.call({"op": "submit", "task": "square", "args": [9],
                         "block": False})
        self.assertEqual(r["error"]["code"], "queue_full", r)
        self.assertIn("at most 3", r["error"]["message"])
        r = self.d.call({"op": "submit", "task": "square", "args": [9],
                         "block_timeout": 0})
        self.assertEqual(r["error"]["code"], "queue_full", r)
        # A map that could never fit is refused whatever it asks.
        r = self.d.call({"op": "map", "task": "square",
                         "items": [1, 2, 3, 4]})
        self.assertEqual(r["error"]["code"], "queue_full", r)
        self.assertIn("never fit", r["error"]["message"])
        self.assertEqual(self.queued(), 3)

    def test_a_blocked_submit_waits_for_room_then_goes_in(self):
        queued = self.fill()
        c = self.d.client()
        self.addCleanup(c.close)
        tag = c.send({"op": "submit", "task": "square", "args": [7]})
        # A map of two items waits too, whole, behind it.
        mtag = c.send({"op": "map", "task": "square", "items": [5, 6]})
        other = self.d.client()
        self.addCleanup(other.close)
        self.assertTrue(other.call({"op": "hello"})["ok"])
        self.assertEqual(self.queued(), 3, "nothing went in half")
        # Room for one: the submit goes in, the map still waits.
        self.assertTrue(self.d.call({"op": "cancel",
                                     "job": queued[0]})["ok"])
        r = c.wait(tag)
        self.assertTrue(r["ok"], r)
        self.assertEqual(self.queued(), 3)
        # Room for two more: the map goes in whole.
        for j in queued[1:]:
            self.d.call({"op": "cancel", "job": j})
        r = c.wait(mtag)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["items"], 2)

    def test_block_timeout_runs_out(self):
        self.fill()
        start = time.monotonic()
        r = self.d.call({"op": "submit", "task": "square", "args": [9],
                         "block_timeout": 0.3})
        self.assertEqual(r["error"]["code"], "queue_full", r)
        self.assertGreaterEqual(time.monotonic() - start, 0.25)

    def test_a_stop_refuses_what_waits(self):
        self.fill()
        c = self.d.client()
        self.addCleanup(c.close)
        tag = c.send({"op": "submit", "task": "square", "args": [1]})
        self.assertEqual(self.queued(), 3)
        self.assertTrue(self.d.call({"op": "shutdown", "mode": "now"})["ok"])
        self.assertEqual(c.wait(tag)["error"]["code"], "shutting_down")
        self.assertEqual(self.d.wait_exit(), 0)


class StoreFull(MpdTestCase):
    workers = 1
    daemon_args = ("--max-db-size", "1M", "--store-reserve", "300K")

    def test_new_jobs_are_refused_running_ones_finish_then_it_recovers(self):
        # A job already running when the store fills up still gets its
        # result written: the reserve is kept for it.
        running = self.submit("sleep", 0.5 * SLOW, "x" * 20000)
        # Big jobs with small results: the reserve covers the results.
        pad = {"pad": "y" * 20000}
        accepted, refused = [], None
        for n in range(200):
            r = self.d.call({"op": "submit", "task": "square", "args": [n],
                             "kwargs": pad})
            if not r["ok"]:
                refused = r
                break
            accepted.append(r["job"])
        self.assertIsNotNone(refused, "the store never filled up")
        self.assertEqual(refused["error"]["code"], "store_full", refused)
        self.assertIn("nearly full", refused["error"]["message"])
        self.assertGreater(len(accepted), 5)
        # Nothing acknowledged is lost: every accepted job runs.
        self.assertEqual(self.get(running)["result"], "x" * 20000)
        for n, job in enumerate(accepted):
            self.assertEqual(self.get(job)["result"], n * n)
        # Forgetting frees pages: new jobs are taken again, by themselves.
        for job in accepted:
            self.assertTrue(self.d.call({"op": "forget", "job": job})["ok"])
        r = self.d.call({"op": "submit", "task": "square", "args": [7],
                         "kwargs": pad})
        self.assertTrue(r["ok"], r)
        self.assertEqual(self.get(r["job"])["result"], 49)


class StoreFullWithoutReserve(MpdTestCase):
    workers = 1
    daemon_args = ("--max-db-size", "512K", "--store-reserve", "0")

    def test_a_full_store_stops_mpd_and_loses_nothing_acknowledged(self):
        c = self.d.client()
        self.addCleanup(c.close)
        pad = {"pad": "z" * 30000}
        tags = []
        for n in range(60):
            try:
                tags.append(c.send({"op": "submit", "task": "square",
                                    "args": [n], "kwargs": pad}))
            except OSError:
                break       # it stopped while we were still sending
        acked, errors = {}, 0
        while True:
            try:
                r = c.recv()
            except OSError:
                r = None
            if r is None:
                break
            if r.get("ok"):
                acked[r["req"]] = r["job"]
            else:
                self.assertEqual(r["error"]["code"], "internal", r)
                self.assertIn("not kept", r["error"]["message"])
                errors += 1
        # SQLite rolled the iteration back: mpd stopped, non-zero.
        self.assertNotEqual(self.d.wait_exit(), 0)
        self.assertIn("rolled back", self.d.log())
        self.assertTrue(set(acked) <= set(tags))
        # Restarted with room, every acknowledged job is there and runs.
        self.d.args = []
        self.d.start()
        # (one that was running when mpd stopped failed as interrupted).
        self.assertGreater(len(acked), 0)
        for n, job in sorted(acked.items()):
            r = self.d.call({"op": "get", "job": job})
            self.assertTrue(r["ok"], r)
            if r["state"] == "done":
                self.assertEqual(r["result"], (n - 1) ** 2, r)
            else:
                self.assertEqual(r["error"]["code"], "interrupted", r)


class ResultCap(MpdTestCase):
    daemon_args = ("--max-result", "1K")

    def test_a_result_over_the_cap_fails_the_job(self):
        r = self.get(self.submit("echo", "x" * 2000))
        self.assertEqual((r["state"], r["error"]["code"]),
                         ("failed", "result_too_large"), r)
        self.assertEqual(r["error"]["limit"], 1024)
        self.assertNotIn("result", r)
        # Under the cap all is as usual, and the worker serves on.
        self.assertEqual(self.get(self.submit("echo", "small"))["result"],
                         ["small"])


class LongErrorFrame(MpdTestCase):
    daemon_args = ("--max-line", str(40 << 20))

    def test_an_error_as_long_as_a_request_is_kept(self):
        # A task's error may quote its argument: a worker's frame may be
        # as long as a request line, and more, without breaking the worker.
        message = "m" * (17 << 20)
        r = self.get(self.submit("fail", message), timeout=60)
        self.assertEqual((r["state"], r["error"]["code"]),
                         ("failed", "task_error"))
        self.assertEqual(r["error"]["message"], message)
        self.assertNotIn("killing it", self.d.log())


class WorkerRecycling(MpdTestCase):
    workers = 1
    daemon_args = ("--max-tasks-per-worker", "2",)

    def test_a_worker_is_replaced_after_its_quota(self):
        first = self.d.worker_pids()
        for i in range(6):
            job = self.submit("square", i)
            self.assertEqual(self.get(job)["result"], i * i)
        # Two jobs per process: three processes were replaced.
        wait_for(lambda: self.d.log().count("ran 2 jobs; replacing it")
                 == 3, 10, "three replacements")
        self.assertEqual(self.d.log().count("replacing it"), 3)
        wait_for(lambda: len(self.d.worker_pids()) == 1, 10, "a worker")
        self.assertNotEqual(self.d.worker_pids(), first)
        self.assertEqual(self.d.zombies(), [])


class WorkerRss(MpdTestCase):
    workers = 1
    daemon_args = ("--max-worker-rss", "1")

    def test_a_worker_over_the_memory_bound_is_replaced(self):
        # Every worker is over 1 MiB, so each job ends its process.
        first = self.d.worker_pids()
        job = self.submit("square", 3)
        self.assertEqual(self.get(job)["result"], 9)
        wait_for(lambda: self.d.worker_pids() and
                 self.d.worker_pids() != first, 10, "a new worker")
        self.assertIn("replacing it", self.d.log())
        job = self.submit("square", 4)
        self.assertEqual(self.get(job)["result"], 16)


if __name__ == "__main__":
    main()

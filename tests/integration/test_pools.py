"""Named pools: each fills from its own queue with its own number of
workers, so one pool's backlog never slows another; jobs and maps name
their pool; mpctl -P and mpctl pool; the settings that make pools, and
the ones refused.
"""
import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (MPD, EXIT_REFUSED, EXIT_USAGE, MpdTestCase,  # noqa: E402
                     main, wait_for)


def when(text):
    """A job time ("2026-01-02T03:04:05.678Z") in seconds."""
    return datetime.datetime.strptime(
        text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def most_at_once(spans):
    """The most of these (start, end) spans that overlap at one time."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = most = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


class Pools(MpdTestCase):
    workers = 1
    daemon_args = ("--pool", "two=2", "--pool", "solo=1")

    def span(self, job):
        j = self.d.call({"op": "status", "job": job})["job"]
        self.assertEqual(j["state"], "done", j)
        return when(j["started"]), when(j["finished"])

    def test_each_pool_runs_its_own_queue_at_its_own_size(self):
        two = [self.submit("sleep", 0.3, pool="two") for _ in range(6)]
        # Behind six jobs of another pool, this one starts at once.
        alone = self.submit("sleep", 0.05)
        for job in two + [alone]:
            self.assertEqual(self.get(job, timeout=30)["state"], "done")
        spans = [self.span(job) for job in two]
        self.assertEqual(most_at_once(spans), 2, spans)
        start, _ = self.span(alone)
        self.assertLess(start, sorted(e for _, e in spans)[0], spans)

    def test_a_map_runs_in_its_pool(self):
        before = {w["name"]: w["jobs_done"] for w in self.d.status()["workers"]}
        r = self.d.call({"op": "map", "task": "square", "items": [1, 2, 3, 4],
                         "chunksize": 1, "pool": "two"})
        self.assertTrue(r["ok"], r)
        self.assertEqual(self.get(r["job"], timeout=30)["result"],
                         [1, 4, 9, 16])
        done = {}
        for w in self.d.status()["workers"]:
            n = w["jobs_done"] - before[w["name"]]
            done[w["pool"]] = done.get(w["pool"], 0) + n
        self.assertEqual(done, {"default": 0, "two": 4, "solo": 0})

    def test_pools_lists_every_pool(self):
        r = self.d.call({"op": "pools"})
        self.assertTrue(r["ok"], r)
        self.assertEqual([(p["name"], p["size"], p["runtime"], p["paused"])
                          for p in r["pools"]],
                         [("default", 1, "builtin", False),
                          ("two", 2, "builtin", False),
                          ("solo", 1, "builtin", False)])
        hello = self.d.call({"op": "hello"})
        self.assertEqual(hello["pools"], ["default", "two", "solo"])
        self.assertEqual(hello["workers"], 4)
        st = self.d.status()["workers"]
        self.assertEqual([w["pool"] for w in st],
                         ["default", "two", "two", "solo"])

    def test_queued_counts_per_pool(self):
        # One long job holds solo's only worker; two more wait behind it.
        first = self.submit("sleep", 30, pool="solo")
        self.submit("square", 1, pool="solo")
        self.submit("square", 2, pool="solo")
        self.assertEqual(self.d.call({"op": "get", "job": first,
                                      "timeout": 0})["state"], "running")
        pools = {p["name"]: p for p in self.d.call({"op": "pools"})["pools"]}
        self.assertEqual(pools["solo"]["queued"], 2)
        self.assertEqual(pools["solo"]["busy"], 1)
        self.assertEqual(pools["default"]["queued"], 0)
        self.assertTrue(self.d.call({"op": "cancel", "job": first})["ok"])

    def test_mpctl_pool_option_and_listing(self):
        r = self.d.mpctl("submit", "-P", "two", "square", "5")
        self.assertEqual(r.returncode, 0, r.stderr)
        job = int(r.stdout)
        self.assertEqual(self.get(job, timeout=30)["result"], 25)
        r = self.d.mpctl("run", "--pool", "solo", "--", "echo", "hi")
        self.assertEqual((r.returncode, r.stdout), (0, "hi\n"), r.stderr)
        r = self.d.mpctl("map", "-P", "two", "square", "1", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), [1, 4], r.stderr)
        r = self.d.mpctl("submit", "-P", "gpu", "square", "5")
        self.assertEqual(r.returncode, EXIT_REFUSED)
        self.assertIn('no pool named "gpu"', r.stderr)
        self.assertIn('["default","two","solo"]', r.stderr)
        r = self.d.mpctl("pool")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "RUNTIME", "SIZE", "BUSY",
                                            "IDLE", "QUEUED", "PAUSED"])
        self.assertEqual([ln.split()[:3] for ln in lines[1:]],
                         [["default", "builtin", "1"], ["two", "builtin", "2"],
                          ["solo", "builtin", "1"]])
        r = self.d.mpctl("pool", "list", "--json")
        self.assertEqual([p["name"] for p in json.loads(r.stdout)],
                         ["default", "two", "solo"])
        r = self.d.mpctl("pool", "grow")
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertIn('unknown action "grow"', r.stderr)

    def test_jobs_of_a_pool_gone_at_restart_wait_for_it(self):
        # Hold solo's worker so the next job stays queued, then restart
        # without solo: the queued job waits, and runs once solo is back.
        long = self.submit("sleep", 30, pool="solo")
        job = self.submit("square", 3, pool="solo")
        self.d.stop()
        self.d.args = []
        self.d.start()
        self.assertEqual(self.d.call({"op": "get", "job": job,
                                      "timeout": 0.3})["state"], "queued")
        self.d.stop()
        self.d.args = ["--pool", "solo=1"]
        self.d.start()
        self.assertTrue(self.d.call({"op": "cancel", "job": long})["ok"])
        self.assertEqual(self.get(job, timeout=30)["result"], 9)


class LivePools(MpdTestCase):
    """mpctl pool resize, pause, resume, add and remove, while jobs run,
    and what a restart keeps of them."""
    workers = 1
    daemon_args = ("--pool", "batch=1")

    def pool(self, name):
        for p in self.d.call({"op": "pools"})["pools"]:
            if p["name"] == name:
                return p
        return None

    def workers_of(self, name):
        return [w for w in self.d.status()["workers"] if w["pool"] == name]

    def ctl(self, *args):
        r = self.d.mpctl("pool", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_pause_holds_the_queue_and_resume_runs_it(self):
        self.ctl("pause", "batch")
        self.assertTrue(self.pool("batch")["paused"])
        job = self.submit("square", 4, pool="batch")
        # Other pools go on.
        self.assertEqual(self.get(self.submit("square", 5),
                                  timeout=30)["result"], 25)
        self.assertEqual(self.get(job, timeout=0.3)["state"], "queued")
        self.assertEqual(self.pool("batch")["queued"], 1)
        self.ctl("resume", "batch")
        self.assertEqual(self.get(job, timeout=30)["result"], 16)
        self.assertFalse(self.pool("batch")["paused"])

    def test_resize_grows_at_once_and_shrinks_after_the_jobs(self):
        self.ctl("resize", "batch", "3")
        wait_for(lambda: len([w for w in self.workers_of("batch")
                              if w["pid"]]) == 3, 20, "3 batch workers")
        jobs = [self.submit("sleep", 0.5, pool="batch") for _ in range(3)]
        wait_for(lambda: self.pool("batch")["busy"] == 3, 20,
                 "3 jobs running at once")
        # Shrunk while all three run: each finishes, two workers leave.
        r = self.ctl("resize", "batch", "1", "--json")
        self.assertEqual(json.loads(r.stdout)["pool"]["size"], 1)
        for job in jobs:
            self.assertEqual(self.get(job, timeout=30)["state"], "done")
        wait_for(lambda: len(self.workers_of("batch")) == 1, 20,
                 "batch back to one worker")
        self.assertIn("leaves pool batch, which shrank", self.d.log())
        self.assertEqual(self.get(self.submit("square", 3, pool="batch"),
                                  timeout=30)["result"], 9)

    def test_add_and_remove(self):
        self.ctl("add", "gpu", "2")
        wait_for(lambda: len([w for w in self.workers_of("gpu")
                              if w["pid"]]) == 2, 20, "2 gpu workers")
        self.assertEqual(self.get(self.submit("square", 6, pool="gpu"),
                                  timeout=30)["result"], 36)
        r = self.d.mpctl("pool", "add", "gpu", "1")
        self.assertEqual(r.returncode, EXIT_REFUSED)
        self.assertIn('pool named "gpu" already', r.stderr)
        # Not while a job waits in it.
        self.ctl("pause", "gpu")
        job = self.submit("square", 1, pool="gpu")
        r = self.d.mpctl("pool", "remove", "gpu")
        self.assertEqual(r.returncode, EXIT_REFUSED)
        self.assertIn("1 queued and 0 running", r.stderr)
        self.assertTrue(self.d.call({"op": "cancel", "job": job})["ok"])
        self.ctl("remove", "gpu")
        self.assertIsNone(self.pool("gpu"))
        wait_for(lambda: self.workers_of("gpu") == [], 20,
                 "gpu's workers to leave")
        r = self.d.call({"op": "submit", "task": "square", "args": [1],
                         "pool": "gpu"})
        self.assertEqual(r["error"]["code"], "unknown_pool", r)
        r = self.d.mpctl("pool", "remove", "default")
        self.assertEqual(r.returncode, EXIT_REFUSED)
        self.assertIn("default pool cannot be removed", r.stderr)
        for args, words in ((("resize", "batch", "0"), "not a number"),
                            (("resize", "batch"), "takes NAME N"),
                            (("shrink", "batch"), 'unknown action')):
            r = self.d.mpctl("pool", *args)
            self.assertEqual(r.returncode, EXIT_USAGE, args)
            self.assertIn(words, r.stderr, args)
        r = self.d.call({"op": "pool_resize", "pool": "batch",
                         "size": 2000})
        self.assertEqual(r["error"]["code"], "bad_request", r)

    def test_resizing_back_and_forth_never_runs_more_than_the_size(self):
        self.ctl("resize", "batch", "2")
        jobs = [self.submit("sleep", 1.5, pool="batch") for _ in range(4)]
        wait_for(lambda: self.pool("batch")["busy"] == 2, 20, "2 running")
        for size in ("1", "2", "1", "2", "1", "2"):
            self.ctl("resize", "batch", size)
        # Busy workers that were to leave stay: no slot is added.
        self.assertEqual(len(self.workers_of("batch")), 2)
        self.assertLessEqual(self.pool("batch")["busy"], 2)
        for job in jobs:
            self.assertEqual(self.get(job, timeout=30)["state"], "done")
        spans = []
        for job in jobs:
            j = self.d.call({"op": "status", "job": job})["job"]
            spans.append((when(j["started"]), when(j["finished"])))
        self.assertEqual(most_at_once(spans), 2, spans)

    def test_a_removed_pools_place_is_taken_again(self):
        for n in range(70):
            self.ctl("add", "p%d" % n, "1")
            self.ctl("remove", "p%d" % n)
            wait_for(lambda: self.workers_of("p%d" % n) == [], 20,
                     "p%d's worker to leave" % n)
        self.assertEqual([p["name"] for p in
                          self.d.call({"op": "pools"})["pools"]],
                         ["default", "batch"])

    def test_drain_leaves_a_paused_pools_jobs_queued(self):
        self.ctl("pause", "batch")
        job = self.submit("square", 2, pool="batch")
        done = self.submit("square", 3)
        r = self.d.mpctl("shutdown", "--drain", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.wait_exit(), 0)
        self.d.start()
        self.assertEqual(self.get(done, timeout=30)["result"], 9)
        self.assertEqual(self.get(job, timeout=0)["state"], "queued")
        self.ctl("resume", "batch")
        self.assertEqual(self.get(job, timeout=30)["result"], 4)

    def test_changes_last_across_a_restart(self):
        self.ctl("resize", "batch", "2")
        self.ctl("pause", "batch")
        self.ctl("add", "extra", "1")
        self.ctl("add", "gone", "1")
        self.ctl("remove", "gone")
        self.d.stop()
        self.d.args = ["--pool", "batch=1", "--pool", "gone=1"]
        self.d.expect = 4       # default 1, batch 2 (recorded), extra 1
        self.d.start()
        pools = [(p["name"], p["size"], p["paused"])
                 for p in self.d.call({"op": "pools"})["pools"]]
        self.assertEqual(pools, [("default", 1, False), ("batch", 2, True),
                                 ("extra", 1, False)])
        log = self.d.log()
        self.assertIn("pool batch: 2 worker(s), as mpctl pool resize left "
                      "it (the settings say 1)", log)
        self.assertIn("pool gone: not started, as mpctl pool remove left it",
                      log)
        # Settings that drop batch drop it, whatever was recorded of it;
        # a pool added lives on.
        self.d.stop()
        self.d.args = []
        self.d.expect = 2       # default 1, extra 1
        self.d.start()
        self.assertEqual([p["name"] for p in
                          self.d.call({"op": "pools"})["pools"]],
                         ["default", "extra"])
        self.assertIn("pool batch: not started: the settings no longer have "
                      "it", self.d.log())


class PoolSettings(MpdTestCase):
    def test_the_config_file_adds_pools_and_the_command_line_wins(self):
        conf = os.path.join(self.d.tmp, "mpd.conf")
        with open(conf, "w") as f:
            f.write("pool = batch=1\npool = default=3\npool = small=1\n")
        self.d.stop()
        # After the test daemon's own --config /dev/null: this file is
        # read; its default=3 loses to the command line's --workers 2,
        # its batch=1 to --pool batch=2.
        self.d.args = ["--config", conf, "--pool", "batch=2"]
        self.d.expect = 5       # 2 default, 2 batch, 1 small (the file's)
        self.d.start()
        pools = self.d.call({"op": "pools"})["pools"]
        self.assertEqual([(p["name"], p["size"]) for p in pools],
                         [("default", 2), ("batch", 2), ("small", 1)])
        # default=N on the command line is --workers by another name.
        self.d.stop()
        self.d.args = ["--pool", "default=3"]
        self.d.expect = None
        self.d.start()
        self.assertEqual(self.d.call({"op": "pools"})["pools"][0]["size"], 3)

    def test_bad_pools_are_refused_at_start(self):
        for spec, words in (
                ("batch", "takes NAME=SIZE"),
                ("=2", "takes NAME=SIZE"),
                ("bad name=2", "takes NAME=SIZE"),
                ("x" * 32 + "=1", "takes NAME=SIZE"),
                ("batch=0", "whole number from 1 to 1024"),
                ("batch=many", "whole number from 1 to 1024"),
                ("py=2:ruby", "neither builtin, python, nor the absolute "
                 "path of a program")):
            r = subprocess.run([MPD, "--config", os.devnull, "--pool", spec,
                                "--socket", self.d.socket + ".x",
                                "--db", self.d.db + ".x"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, (spec, r.stderr))
            self.assertIn(words, r.stderr, spec)


if __name__ == "__main__":
    main()

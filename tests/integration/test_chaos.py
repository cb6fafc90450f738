"""Chaos: thousands of pipelined jobs while the daemon's parent (part A) or
its workers (part B) are SIGKILLed at random moments, or while its disk
fills up (part C, as root: a small tmpfs), now and then with a SIGKILL and
a restart on the full disk.

What must hold, whatever the timing of the kills:
  * every job the daemon acknowledged (an ok:true reply to submit or map)
    exists after every restart, and at the end reaches a final state;
  * a job's outcome, once seen final, never changes (no job is run again
    after it was done: a `sleep` without a value returns its finish time,
    so a second run would show);
  * a done job's result is the right one; a failed job failed for a reason
    the chaos explains (interrupted, worker_died) or its own (`fail`);
  * attempts never exceed max_attempts;
  * no zombie under the daemon, and the workers of a SIGKILLed daemon do
    not outlive it (PR_SET_PDEATHSIG). This test process makes itself a
    child subreaper, so those orphans come to it and can be watched.

Short by default; MPD_CHAOS_LONG=1 runs longer; MPD_SANITIZE=1 scales the
sizes down. MPD_CHAOS_SEED=N replays one sequence of jobs and kill times
(the timing of the daemon itself is not replayable).
"""
import ctypes
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (SLOW, Daemon, MpdTestCase, children_of,  # noqa: E402
                     main, wait_for)

LONG = os.environ.get("MPD_CHAOS_LONG") == "1"
SANITIZE = os.environ.get("MPD_SANITIZE") == "1"
SEED = int(os.environ.get("MPD_CHAOS_SEED") or random.randrange(1 << 30))

if LONG:
    PARENT_ROUNDS, PER_ROUND, WORKER_JOBS = 25, 1500, 8000
elif SANITIZE:
    PARENT_ROUNDS, PER_ROUND, WORKER_JOBS = 6, 800, 1500
else:
    PARENT_ROUNDS, PER_ROUND, WORKER_JOBS = 6, 1500, 2500

FINAL = ("done", "failed", "timeout", "cancelled")
ANY = object()          # a result that is checked only for stability
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans of a killed daemon become our children (Linux 3.4+)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def make_job(rng, i):
    """A random request and what its job must end as: (request, expect),
    expect being (state, result) for success, or the task's own error
    message for `fail`."""
    r = rng.random()
    req = {"op": "submit"}
    if r < 0.35:
        req.update(task="square", args=[i])
        expect = i * i
    elif r < 0.55:
        req.update(task="echo", args=[i, "e%d" % i])
        expect = [i, "e%d" % i]
    elif r < 0.67:
        req.update(task="sleep", args=[round(rng.uniform(0.001, 0.03), 3),
                                       "s%d" % i])
        expect = "s%d" % i
    elif r < 0.72:
        # No value: the result is the finish time, so a rerun shows.
        req.update(task="sleep", args=[round(rng.uniform(0.001, 0.01), 3)])
        expect = ANY
    elif r < 0.82:
        req.update(task="fail", args=["boom %d" % i])
        expect = ("fail", "boom %d" % i)
    else:
        items = list(range(i, i + rng.randint(1, 12)))
        req = {"op": "map", "task": rng.choice(["square", "echo"]),
               "items": items, "chunksize": rng.randint(1, 4)}
        if req["task"] == "square":
            expect = [x * x for x in items]
        else:
            expect = [[x] for x in items]
    if req["op"] == "submit" and rng.random() < 0.2:
        req["max_attempts"] = 3
    return req, expect


class Pipeline:
    """One connection that pipelines requests: a writer thread sends them
    in small paced batches, a reader thread records the replies. Both end
    quietly when the daemon dies under them."""

    def __init__(self, path, jobs, rng):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120 * SLOW)
        self.sock.connect(path)
        self.jobs = jobs            # [(request, expect)]
        self.rng = random.Random(rng.random())
        self.sent = {}              # tag -> index in jobs
        self.acked = []             # (job id, index in jobs)
        self.refused = []           # ok:false replies
        self.threads = [threading.Thread(target=self._write, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]
        for t in self.threads:
            t.start()

    def _write(self):
        n = 0
        try:
            while n < len(self.jobs):
                batch = []
                for _ in range(self.rng.randint(1, 24)):
                    if n == len(self.jobs):
                        break
                    n += 1
                    self.sent[n] = n - 1
                    batch.append(json.dumps(dict(self.jobs[n - 1][0],
                                                 req=n)).encode() + b"\n")
                self.sock.sendall(b"".join(batch))
                # Paced, so that kills land in the middle of the stream.
                time.sleep(self.rng.uniform(0, 0.003))
            # Done writing: the daemon answers everything, then closes.
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                r = json.loads(line)
                if r.get("ok"):
                    self.acked.append((r["job"], self.sent[r["req"]]))
                else:
                    self.refused.append(r)
        # A partial line left in buf was cut by a kill: not an ack.

    def join(self, timeout=60):
        for t in self.threads:
            t.join(timeout * SLOW)
            if t.is_alive():
                raise AssertionError("pipeline thread stuck")
        self.sock.close()


def pipelined(path, requests, timeout):
    """Sends all requests on one connection (tags 1..n) while reading;
    returns the replies in request order. Fails if one is missing."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect(path)
    data = b"".join(json.dumps(dict(r, req=i)).encode() + b"\n"
                    for i, r in enumerate(requests))
    writer = threading.Thread(target=c.sendall, args=(data,), daemon=True)
    writer.start()
    replies = [None] * len(requests)
    got, buf = 0, b""
    try:
        while got < len(requests):
            chunk = c.recv(1 << 16)
            if not chunk:
                raise AssertionError("daemon closed after %d of %d replies"
                                     % (got, len(requests)))
            buf += chunk
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                r = json.loads(line)
                replies[r["req"]] = r
                got += 1
    finally:
        writer.join(timeout)
        c.close()
    return replies


class Ledger:
    """Every acknowledged job, what it must end as, and what was seen."""

    def __init__(self, test):
        self.t = test
        self.jobs = {}          # job id -> (request, expect)
        self.seen = {}          # job id -> final outcome first seen
        self.lost = set()       # acknowledged, then not found

    def add(self, pipeline):
        for job, index in pipeline.acked:
            self.t.assertNotIn(job, self.jobs, "job id %d given twice" % job)
            self.jobs[job] = pipeline.jobs[index]
        self.t.assertEqual(pipeline.refused, [],
                           "the daemon refused a valid request")

    def snapshot(self, path, wait=0):
        """Gets every job (waiting up to `wait` s each); records each
        final outcome and checks it against what was seen before.
        Returns the get replies by job id."""
        ids = sorted(self.jobs)
        replies = pipelined(path, [{"op": "get", "job": j, "timeout": wait}
                                   for j in ids], (wait + 60) * SLOW)
        out = {}
        for job, r in zip(ids, replies):
            out[job] = r
            if not r["ok"] and r["error"]["code"] == "not_found":
                self.lost.add(job)
                continue
            if not r["ok"]:
                self.t.assertEqual(r["error"]["code"], "timeout", r)
                self.t.assertIn(r["state"], ("queued", "running"), r)
                continue
            outcome = (r["state"], json.dumps(r.get("result"),
                                              sort_keys=True),
                       r.get("error", {}).get("code"))
            first = self.seen.setdefault(job, outcome)
            self.t.assertEqual(first, outcome, "job %d changed its outcome "
                               "after it ended: %r then %r"
                               % (job, first, outcome))
        return out

    def check_final(self, path, wait, chaos_code):
        """Waits for every job to end; checks each outcome. Returns the
        figures."""
        replies = self.snapshot(path, wait)
        ids = sorted(self.jobs)
        statuses = pipelined(path, [{"op": "status", "job": j}
                                    for j in ids], 60 * SLOW)
        figures = {"acknowledged": len(ids), "lost": 0, "not_ended": 0,
                   "run_more_than_once": 0, chaos_code: 0}
        not_ended = []
        for job, st in zip(ids, statuses):
            r = replies[job]
            req, expect = self.jobs[job]
            if job in self.lost or not st["ok"]:
                self.lost.add(job)
                continue
            st = st["job"]
            if not r["ok"] or r["state"] not in FINAL:
                not_ended.append((job, st["state"]))
                continue
            self.t.assertLessEqual(st["attempts"], st["max_attempts"], st)
            if st["attempts"] > 1:
                figures["run_more_than_once"] += 1
            if r["state"] == "done":
                self.t.assertNotIsInstance(expect, tuple,
                                           "job %d (%r) was done: %r"
                                           % (job, req, r))
                if expect is not ANY:
                    self.t.assertEqual(r["result"], expect,
                                       "job %d (%r)" % (job, req))
                continue
            self.t.assertEqual(r["state"], "failed", r)
            code = r["error"]["code"]
            if code == chaos_code:
                figures[chaos_code] += 1
            elif isinstance(expect, tuple) and code == "task_error":
                self.t.assertEqual(r["error"]["message"], expect[1])
            else:
                self.fail_job(job, req, r)
        figures["lost"] = len(self.lost)
        figures["not_ended"] = len(not_ended)
        return figures, not_ended

    def fail_job(self, job, req, r):
        raise AssertionError("job %d (%r) ended unexpectedly: %r"
                             % (job, req, r))


def print_figures(title, figures):
    print("\n%s (seed %d): %s" % (title, SEED, ", ".join(
        "%s %d" % (k.replace("_", " "), v) for k, v in figures.items())),
        flush=True)


class ChaosCase(MpdTestCase):
    def setUp(self):
        become_subreaper()
        self.rng = random.Random(SEED)
        super().setUp()
        self.daemons = {self.d.pid}

    def orphans(self):
        """Our children that are not a live daemon: the leftovers of a
        killed one. Reaps those that have ended; returns the rest."""
        left = []
        for pid, state, comm in children_of(os.getpid()):
            if pid in self.daemons:
                continue
            if state == "Z":
                os.waitpid(pid, 0)
            else:
                left.append((pid, comm))
        return left

    def restart(self):
        self.d = Daemon(self.workers, tmp=self.d.tmp)
        self.d.start()
        self.daemons.add(self.d.pid)

    def kill_parent(self):
        """SIGKILLs the daemon; its workers must not outlive it."""
        pid = self.d.pid
        self.d.kill()
        self.daemons.discard(pid)
        wait_for(lambda: not self.orphans(), 10,
                 "the workers of the killed daemon to die with it")

    def no_zombies(self):
        wait_for(lambda: len(self.d.worker_pids()) == self.workers, 20,
                 "every worker slot filled")
        self.assertEqual(self.d.zombies(), [], "zombies under mpd")


class ParentKilled(ChaosCase):
    """Part A: SIGKILL the daemon itself at random moments, restart it on
    the same database, several rounds."""
    workers = 2

    def test_parent_sigkill_loses_nothing(self):
        started = time.monotonic()
        ledger = Ledger(self)
        kills = early = unanswered = 0
        seq = 0
        for rnd in range(PARENT_ROUNDS):
            jobs = [make_job(self.rng, seq + k) for k in range(PER_ROUND)]
            seq += PER_ROUND
            p = Pipeline(self.d.socket, jobs, self.rng)
            # Most kills land in the stream of submits, some after it
            # while the queue runs; the moment follows the stream's
            # progress, not the clock, so slow builds get the same mix.
            at = self.rng.uniform(0, 1.4)
            wait_for(lambda: len(p.sent) >= min(at, 1) * len(jobs) or
                     not p.threads[0].is_alive(), 60, "submits to flow")
            if at > 1:
                time.sleep(self.rng.uniform(0, 0.2))
            self.kill_parent()
            kills += 1
            p.join()
            ledger.add(p)
            unanswered += len(p.sent) - len(p.acked)
            if rnd % 3 == 1:
                # Now and then, kill it again during its start-up.
                self.d = Daemon(self.workers, tmp=self.d.tmp)
                self.d.start(wait=False)
                self.daemons.add(self.d.pid)
                time.sleep(self.rng.uniform(0, 0.15) * SLOW)
                self.kill_parent()
                kills += 1
                early += 1
            self.restart()
            # Every acknowledged job is there; ended ones stay as they were.
            ledger.snapshot(self.d.socket)
            self.assertEqual(ledger.lost, set(),
                             "BUG: acknowledged jobs lost after a kill")
        figures, not_ended = ledger.check_final(self.d.socket, 60,
                                                "interrupted")
        figures = dict([("kills", kills), ("of them during start-up",
                                           early),
                        ("submits cut by a kill", unanswered)] +
                       list(figures.items()))
        print_figures("chaos A, parent SIGKILLed", figures)
        print("chaos A took %.1f s" % (time.monotonic() - started))
        self.assertEqual(figures["lost"], 0, "BUG: jobs lost: %s"
                         % sorted(ledger.lost)[:20])
        self.assertEqual(not_ended, [], "BUG: jobs that never ended")
        self.assertGreater(figures["acknowledged"], 0)
        self.no_zombies()


class WorkersKilled(ChaosCase):
    """Part B: SIGKILL workers (not the parent) at random moments."""
    workers = 3

    def killer(self, stop, kills):
        """Kills a busy worker (now and then any worker) every few ms."""
        rng = random.Random(self.rng.random())
        c = self.d.client()
        try:
            while not stop.wait(rng.uniform(0.005, 0.06)):
                st = c.call({"op": "status"})
                live = set(self.d.worker_pids())
                busy = [w["pid"] for w in st["workers"]
                        if w["state"] == "busy" and w["pid"] in live]
                # Idle kills are rare: a slot that dies 12 times in a row
                # before running anything makes mpd give up, by design.
                pool = busy if busy and rng.random() < 0.9 else list(live)
                if not pool:
                    continue
                try:
                    os.kill(rng.choice(pool), signal.SIGKILL)
                    kills[0] += 1
                except ProcessLookupError:
                    pass
        finally:
            c.close()

    def test_worker_sigkill_loses_nothing(self):
        started = time.monotonic()
        ledger = Ledger(self)
        jobs = [make_job(self.rng, k) for k in range(WORKER_JOBS)]
        stop, kills = threading.Event(), [0]
        killer = threading.Thread(target=self.killer, args=(stop, kills))
        killer.start()
        try:
            p = Pipeline(self.d.socket, jobs, self.rng)
            p.join()
            ledger.add(p)
            self.assertEqual(len(ledger.jobs), len(jobs),
                             "every submit should be acknowledged")
            ledger.snapshot(self.d.socket)
            # Keep killing while the queue drains, then stop.
            target = kills[0] + (150 if LONG else 20)
            wait_for(lambda: kills[0] >= target or
                     self.d.status()["jobs"]["queued"] == 0, 60,
                     "more kills or an empty queue")
        finally:
            stop.set()
            killer.join()
        figures, not_ended = ledger.check_final(self.d.socket, 60,
                                                "worker_died")
        figures = dict([("workers killed", kills[0])] +
                       list(figures.items()))
        print_figures("chaos B, workers SIGKILLed", figures)
        print("chaos B took %.1f s" % (time.monotonic() - started))
        self.assertEqual(figures["lost"], 0, "BUG: jobs lost: %s"
                         % sorted(ledger.lost)[:20])
        self.assertEqual(not_ended, [], "BUG: jobs that never ended")
        self.assertGreater(kills[0], 0)
        self.assertLessEqual(figures["worker_died"], kills[0])
        self.no_zombies()
        self.assertEqual(self.orphans(), [])
        self.assertTrue(self.d.call({"op": "hello"})["ok"])


def fill(path, leave):
    """Writes zeros to path until its disk has about `leave` bytes free."""
    def free():
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize
    with open(path, "wb", buffering=0) as f:
        while free() > leave:
            f.write(b"\0" * min(1 << 20, free() - leave))


class DiskFilled(ChaosCase):
    """Part C: the disk of the store fills in the middle of the stream of
    submits; in every other round the daemon is SIGKILLed while it is full
    and started again on the full disk. It never stops by itself, refuses
    nothing but with disk_full, and once space is freed every acknowledged
    job ends."""
    workers = 2

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        self.disk = tempfile.mkdtemp(prefix="mpd-chaos-disk-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=48m,mode=0700", "tmpfs", self.disk],
                           capture_output=True)
        if r.returncode != 0:
            os.rmdir(self.disk)
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(self.unmount)
        become_subreaper()
        self.rng = random.Random(SEED)
        self.d = Daemon(self.workers, tmp=self.disk)
        self.addCleanup(self.d.cleanup)
        self.d.start()
        self.daemons = {self.d.pid}

    def unmount(self):
        subprocess.run(["umount", "-l", self.disk], capture_output=True)
        os.rmdir(self.disk)

    def test_a_full_disk_loses_nothing_and_stops_nothing(self):
        started = time.monotonic()
        ledger = Ledger(self)
        filler = os.path.join(self.disk, "filler")
        refused = kills = 0
        seq = 0
        for rnd in range(4):
            jobs = [make_job(self.rng, seq + k) for k in range(PER_ROUND)]
            seq += PER_ROUND
            p = Pipeline(self.d.socket, jobs, self.rng)
            at = self.rng.uniform(0.1, 0.9)
            wait_for(lambda: len(p.sent) >= at * len(jobs) or
                     not p.threads[0].is_alive(), 60, "submits to flow")
            # The disk fills to 1 MiB from full, under the half of the
            # reserve that makes mpd give it back (a program that went on
            # writing to the last byte could race mpd's next commit, or
            # take the reserve's room once given back, which no reserve
            # can help; the manual says so).
            fill(filler, 1 << 20)
            if rnd % 2 == 1:
                self.kill_parent()
                kills += 1
                self.restart()
                self.assertTrue(self.d.status()["disk_full"])
            p.join()
            for r in p.refused:
                self.assertEqual(r["error"]["code"], "disk_full", r)
            refused += len(p.refused)
            p.refused = []
            ledger.add(p)
            # Reads answer on the full disk; nothing acknowledged is gone.
            ledger.snapshot(self.d.socket)
            self.assertEqual(ledger.lost, set(),
                             "BUG: acknowledged jobs lost on a full disk")
            os.unlink(filler)
            wait_for(lambda: not self.d.status()["disk_full"], 10,
                     "the daemon to see the freed space")
            self.assertIsNone(self.d.proc.poll(), "mpd stopped:\n" +
                              self.d.log())
        figures, not_ended = ledger.check_final(self.d.socket, 60,
                                                "interrupted")
        figures = dict([("kills on a full disk", kills),
                        ("refused with disk_full", refused)] +
                       list(figures.items()))
        print_figures("chaos C, disk filled", figures)
        print("chaos C took %.1f s" % (time.monotonic() - started))
        self.assertEqual(figures["lost"], 0, "BUG: jobs lost: %s"
                         % sorted(ledger.lost)[:20])
        self.assertEqual(not_ended, [], "BUG: jobs that never ended")
        self.assertIn("is full", self.d.log())
        self.no_zombies()


if __name__ == "__main__":
    main()

"""No client can sink the daemon: attacks by one client that never reads
its replies, measured by the daemon's resident memory, its liveness, and
another client's submit+get latency while the attack runs."""
import json
import os
import socket
import sqlite3
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import SLOW, MpdTestCase, main, wait_for  # noqa: E402

MB = 1 << 20
# Under AddressSanitizer freed memory waits in a quarantine before reuse:
# kept small, the daemon's RSS still says what it holds (with some slack).
SANITIZE = os.environ.get("MPD_SANITIZE") == "1"
ASAN_ENV = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
            ":quarantine_size_mb=4"} if SANITIZE else {}
RSS_SLACK = 2 if SANITIZE else 1


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Probe(threading.Thread):
    """Another client's submit+get round trips (or, with status, a status
    request: when the queue is full, submits wait for room by design),
    timed while an attack runs; stop() returns the latencies in seconds."""

    def __init__(self, d, status=False):
        super().__init__(daemon=True)
        self.c = d.client()
        self.status = status
        self.times = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            t0 = time.monotonic()
            if self.status:
                assert self.c.call({"op": "status"})["ok"]
            else:
                j = self.c.call({"op": "submit", "task": "square",
                                 "args": [3]})["job"]
                r = self.c.call({"op": "get", "job": j, "timeout": 30})
                assert r["result"] == 9, r
            self.times.append(time.monotonic() - t0)
            time.sleep(0.005)

    def stop(self):
        self.done.set()
        self.join(60)
        self.c.close()
        return self.times


def p99(times):
    return sorted(times)[max(0, int(len(times) * 0.99) - 1)]


class Bounds(MpdTestCase):
    workers = 2
    daemon_env = ASAN_ENV
    daemon_args = ("--client-drain-timeout", "3", "--max-queue", "2",
                   "--max-line", str(4 << 20))

    def attacker(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.d.socket)
        self.addCleanup(s.close)
        return s

    def flood(self, s, lines):
        """Sends lines from a thread (the daemon stops reading past the
        client's budget, so a plain send would block for ever)."""
        def send():
            try:
                s.sendall(b"".join(lines))
            except OSError:
                pass
        t = threading.Thread(target=send, daemon=True)
        t.start()
        return t

    def report(self, what, before, peak, times):
        print("%s: RSS %.1f MB before, %.1f MB at most; another client's "
              "submit+get p99 %.2f ms over %d calls, median %.2f ms"
              % (what, before / MB, peak / MB, p99(times) * 1e3, len(times),
                 statistics.median(times) * 1e3))

    def watch(self, until, seconds):
        """The daemon's highest RSS until until() is true (or seconds)."""
        peak = rss(self.d.pid)
        deadline = time.monotonic() + seconds * SLOW
        while not until() and time.monotonic() < deadline:
            peak = max(peak, rss(self.d.pid))
            time.sleep(0.05)
        return max(peak, rss(self.d.pid))

    def test_many_gets_of_a_big_result_share_it(self):
        # One job of a 1 MB result, and a thousand gets of it never read.
        before = rss(self.d.pid)
        j = self.submit("sleep", 1, "A" * MB)
        s = self.attacker()
        lines = [b'{"op":"get","job":%d}\n' % j] * 1000
        self.flood(s, lines)
        probe = Probe(self.d)
        probe.start()
        wait_for(lambda: self.d.call({"op": "status", "job": j})["job"]
                 ["state"] == "done", 30, "the big job to end")
        dropped = lambda: "unread for" in self.d.log()
        peak = self.watch(dropped, 20)
        times = probe.stop()
        self.report("1000 gets of a 1 MB result, unread", before, peak,
                    times)
        self.assertLess(peak - before, 64 * MB * RSS_SLACK)
        self.assertLess(p99(times), 0.05 * SLOW)
        # The client that never read was dropped; the daemon serves on.
        wait_for(dropped, 30, "the reader that never reads to be dropped")
        self.assertEqual(self.d.call({"op": "hello"})["ok"], True)

    def test_submits_waiting_for_room_are_bounded(self):
        # A full queue (--max-queue 2), then 800 submits of 1 MB each.
        before = rss(self.d.pid)
        held = [self.submit("sleep", 30) for _ in range(4)]
        s = self.attacker()
        arg = json.dumps("B" * MB).encode()
        lines = [b'{"op":"submit","task":"echo","args":[%s]}\n' % arg] * 800
        t = self.flood(s, lines)
        probe = Probe(self.d, status=True)
        probe.start()
        peak = self.watch(lambda: False, 3)
        times = probe.stop()
        self.report("800 submits of 1 MB waiting for room (status)", before,
                    peak, times)
        self.assertLess(peak - before, 128 * MB * RSS_SLACK)
        self.assertLess(p99(times), 0.05 * SLOW)
        self.assertTrue(t.is_alive(), "the daemon read everything")
        for j in held:
            self.d.call({"op": "cancel", "job": j})

    def test_waiting_submits_hold_their_bytes_not_their_values(self):
        # Twenty clients, each with submits of 100,000 small items (300 KB
        # a line) waiting for room: decoded, such a line takes some 40
        # times its size; kept as its bytes, the client's budget holds.
        before = rss(self.d.pid)
        held = [self.submit("sleep", 30) for _ in range(4)]
        line = json.dumps({"op": "submit", "task": "echo",
                           "args": [[0] * 100000]}).encode() + b"\n"
        for _ in range(20):
            self.flood(self.attacker(), [line] * 20)
        probe = Probe(self.d, status=True)
        probe.start()
        peak = self.watch(lambda: False, 3)
        times = probe.stop()
        self.report("20 clients with submits of 100,000 items waiting for "
                    "room", before, peak, times)
        # At 2b5bfb2 this took the daemon past 1,200 MB.
        self.assertLess(peak - before, 200 * MB * RSS_SLACK)
        # Their args are checked as text, not decoded: at c769eed each line
        # held the loop some 6 ms, and the p99 was 155 ms.
        self.assertLess(p99(times), 0.05 * SLOW)
        for j in held:
            self.d.call({"op": "cancel", "job": j})


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Follows(MpdTestCase):
    workers = 2

    def test_many_follows_of_a_running_job_cost_nothing(self):
        j = self.submit("shell", "echo started; sleep 6")
        wait_for(lambda: self.d.call({"op": "status", "job": j})["job"]
                 ["state"] == "running", 10, "the job to run")
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.d.socket)
        self.addCleanup(s.close)
        lines = [b'{"op":"logs","job":%d,"stdout":8,"wait":true}\n' % j
                 ] * 100000
        Bounds.flood(self, s, lines)
        probe = Probe(self.d)
        probe.start()
        time.sleep(0.5)
        cpu0, t0 = cpu_seconds(self.d.pid), time.monotonic()
        time.sleep(2)
        cpu = (cpu_seconds(self.d.pid) - cpu0) / (time.monotonic() - t0)
        times = probe.stop()
        print("100000 pipelined follows of a running job: daemon CPU %.0f%%;"
              " another client's submit+get p99 %.2f ms over %d calls"
              % (cpu * 100, p99(times) * 1e3, len(times)))
        # The probe's own calls cost something; the follows must not.
        self.assertLess(cpu, 0.5)
        self.assertLess(p99(times), 0.05 * SLOW)


class BigMap(MpdTestCase):
    workers = 2
    daemon_args = ("--max-line", str(64 << 20))

    def test_a_map_of_tiny_chunks_does_not_hold_the_loop(self):
        # 300,000 items asked in chunks of 1: stored as at most 10,000
        # chunks, a slice per turn of the loop, while another client's
        # hellos keep being answered; the map's own client hears of the
        # map first, then of what it sent after it.
        a = self.d.client()
        self.addCleanup(a.close)
        b = self.d.client()
        self.addCleanup(b.close)
        answered = []           # when each hello's reply came
        worst = [0.0]
        done = threading.Event()

        def probe():
            while not done.is_set():
                t0 = time.monotonic()
                assert b.call({"op": "hello"})["ok"]
                answered.append(time.monotonic())
                worst[0] = max(worst[0], answered[-1] - t0)
        line = (json.dumps({"op": "map", "task": "square", "req": 1,
                            "items": list(range(300000)), "chunksize": 1})
                + '\n{"op":"hello","req":2}\n').encode()
        t = threading.Thread(target=probe, daemon=True)
        t.start()
        wait_for(lambda: len(answered) > 3, 10, "hellos to be answered")
        t0 = time.monotonic()
        a.send_raw(line)
        r = a.recv()
        t1 = time.monotonic()
        after = a.recv()
        done.set()
        t.join(30)
        during = sum(1 for x in answered if t0 < x < t1)
        print("map of 300000 items, chunksize 1 asked: %d used, stored in "
              "%.3f s; another client had %d hellos answered meanwhile, "
              "the slowest in %.3f s" % (r["chunksize"], t1 - t0, during,
                                         worst[0]))
        self.assertEqual((r["req"], r["items"], r["chunksize"]),
                         (1, 300000, 30), r)
        self.assertEqual(after["req"], 2, after)
        # Stored in one turn, the map would let one hello through at most.
        self.assertGreaterEqual(during, 5)
        self.assertLess(worst[0], 0.5 * SLOW)
        g = a.call({"op": "get", "job": r["job"], "timeout": 120})
        self.assertEqual(g["result"][:3], [0, 1, 4])
        self.assertEqual(len(g["result"]), 300000)


class BigMapSweep(MpdTestCase):
    """Cancelling and forgetting a map of 10,000 chunks change their rows a
    slice per turn of the loop: another client is served meanwhile."""
    workers = 2
    daemon_args = ("--max-line", str(64 << 20))

    def queued(self):
        return self.d.call({"op": "pools"})["pools"][0]["queued"]

    def rows_of(self, job):
        db = sqlite3.connect("file:%s?mode=ro" % self.d.db, uri=True)
        try:
            return db.execute("SELECT count(*) FROM jobs WHERE id = ? OR "
                              "parent = ?", (job, job)).fetchone()[0]
        finally:
            db.close()

    def test_cancel_and_forget_of_a_big_map_do_not_hold_the_loop(self):
        self.assertTrue(self.d.call({"op": "pool_pause",
                                     "pool": "default"})["ok"])
        r = self.d.call({"op": "map", "task": "square", "chunksize": 1,
                         "items": list(range(300000))})
        job = r["job"]
        self.assertEqual(self.queued(), 10000)
        b = self.d.client()
        self.addCleanup(b.close)
        answered, done = [], threading.Event()

        def probe():
            while not done.is_set():
                assert b.call({"op": "hello"})["ok"]
                answered.append(time.monotonic())
        t = threading.Thread(target=probe, daemon=True)
        t.start()
        wait_for(lambda: len(answered) > 3, 10, "hellos to be answered")
        t0 = time.monotonic()
        c = self.d.call({"op": "cancel", "job": job})
        self.assertTrue(c["ok"], c)
        self.assertEqual(c["state"], "cancelled")
        wait_for(lambda: self.queued() == 0, 30, "the chunks cancelled")
        t1 = time.monotonic()
        f = self.d.call({"op": "forget", "job": job})
        self.assertTrue(f["ok"], f)
        # Forgotten at once for everyone, whatever rows are left.
        g = self.d.call({"op": "get", "job": job})
        self.assertEqual(g["error"]["code"], "not_found", g)
        self.assertNotIn(job, [x["id"] for x in
                               self.d.call({"op": "list"})["jobs"]])
        wait_for(lambda: self.rows_of(job) == 0, 30, "the rows deleted")
        t2 = time.monotonic()
        done.set()
        t.join(30)
        during = (sum(1 for x in answered if t0 < x < t1),
                  sum(1 for x in answered if t1 < x < t2))
        print("cancel of 10,000 chunks took %.3f s, forget %.3f s; another "
              "client had %d and %d hellos answered meanwhile"
              % (t1 - t0, t2 - t1, during[0], during[1]))
        # Changed in one statement each, they let a few through (3 and 7
        # at 7ce0607), in slices dozens (35 to 152 seen).
        self.assertGreaterEqual(min(during), 12)


class Idle(MpdTestCase):
    workers = 1
    daemon_args = ("--idle-timeout", "1", "--python-pool", "1")

    def test_an_idle_connection_is_closed_a_waiting_one_is_not(self):
        idle = self.d.client()
        self.addCleanup(idle.close)
        waiting = self.d.client()
        self.addCleanup(waiting.close)
        j = self.submit("sleep", 2.5, "late")
        waiting.send({"op": "get", "job": j, "req": 1})
        t0 = time.monotonic()
        r = idle.recv()
        self.assertEqual(r["error"]["code"], "idle_timeout", r)
        self.assertIsNone(idle.recv())
        self.assertLess(time.monotonic() - t0, 10 * SLOW)
        # The one that waits for its job gets it, idle timeout or not.
        self.assertEqual(waiting.recv()["result"], "late")

    def test_a_pool_reconnects_after_its_idle_close(self):
        path = os.path.join(self.d.tmp, "again.py")
        with open(path, "w") as f:
            f.write("import sys, time\n"
                    "from mpd import Pool\n"
                    "p = Pool()\n"
                    "print(p.apply('operator:add', (1, 2)))\n"
                    "sys.stdin.readline()\n"
                    "print(p.apply('operator:add', (3, 4)))\n")
        import subprocess
        from mpdtest import PYDIR
        proc = subprocess.Popen(
            [sys.executable, path], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, MPD_SOCKET=self.d.socket, PYTHONPATH=PYDIR))
        self.addCleanup(proc.kill)
        self.assertEqual(proc.stdout.readline(), "3\n")
        wait_for(lambda: "idle for" in self.d.log(), 10,
                 "the Pool's connection to be closed as idle")
        out, _ = proc.communicate("\n", timeout=60)
        self.assertEqual(out, "7\n")


if __name__ == "__main__":
    main()

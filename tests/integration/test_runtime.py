"""External worker runtimes (proto/WORKER.md): a pool whose slots exec a
program. Small runtimes written here in Python keep or break the protocol
on purpose; the daemon must survive each, end the job with the right
cause, and say in its log why it killed a runtime."""
import json
import os
import stat
import subprocess
import sys
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (Daemon, MPD, SLOW, MpdTestCase, children_of,  # noqa
                     main, wait_for)

# The frame loop every runtime below shares; BEHAVIOUR decides the rest.
RUNTIME = '''#!%s
import json, os, sys, time
sock = os.fdopen(3, "rb")
out = os.fdopen(os.dup(3), "wb", buffering=0)
def send(obj, payload=None):
    data = json.dumps(obj).encode() + b"\\n"
    if payload is not None:
        data += payload + b"\\n"
    out.write(data)
%s
'''

BEHAVIOURS = {
    # Keeps the protocol: the job's first argument is its result.
    "echo": '''
send({"hello": {"protocol": 1, "runtime": "echo"}})
for line in sock:
    f = json.loads(line)
    if f.get("args") == ["die"]:
        os._exit(5)
    if f.get("task") == "echo:pid":
        r = json.dumps(os.getpid()).encode()
    elif f.get("task") == "echo:uid":
        r = json.dumps([os.getuid(), os.getcwd()]).encode()
    else:
        r = json.dumps(f["args"][0] if "args" in f else f["items"]).encode()
    send({"job": f["job"], "result": len(r)}, r)
''',
    # Serves jobs, but does not exit at end of file.
    "noexit": '''
send({"hello": {"protocol": 1}})
for line in sock:
    f = json.loads(line)
    send({"job": f["job"], "result": 1}, b"1")
time.sleep(3600)
''',
    # Leaves a child holding the worker socket, and dies.
    "forker": '''
send({"hello": {"protocol": 1}})
for line in sock:
    if os.fork() == 0:
        time.sleep(3600)
        os._exit(0)
    os._exit(3)
''',
    "crash": '''
send({"hello": {"protocol": 1}})
for line in sock:
    os._exit(3)
''',
    "hang": '''
send({"hello": {"protocol": 1}})
for line in sock:
    time.sleep(3600)
''',
    "garbage": '''
send({"hello": {"protocol": 1}})
for line in sock:
    out.write(b"this is not a frame\\n")
    time.sleep(3600)
''',
    "silent": '''
sys.exit(0)
''',
    "nohello": '''
for line in sock:
    f = json.loads(line)
    send({"job": f["job"], "result": 1}, b"1")
''',
    "future": '''
send({"hello": {"protocol": 99}})
time.sleep(3600)
''',
    "wrongjob": '''
send({"hello": {"protocol": 1}})
for line in sock:
    f = json.loads(line)
    send({"job": f["job"] + 1000, "result": 1}, b"1")
    time.sleep(3600)
''',
}


def write_runtime(tmp, name):
    path = os.path.join(tmp, "runtime-" + name)
    with open(path, "w") as f:
        f.write(RUNTIME % (sys.executable, textwrap.dedent(BEHAVIOURS[name])))
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP |
             stat.S_IROTH | stat.S_IXOTH)
    return path


class Runtimes(MpdTestCase):
    """One daemon with a pool per behaviour."""

    def setUp(self):
        self.d = Daemon(1)
        for name in BEHAVIOURS:
            self.d.args += ["--pool", "%s=1:%s" % (
                name, write_runtime(self.d.tmp, name))]
        self.d.start()

    def run_in(self, pool, *args, **fields):
        r = self.d.call(dict({"op": "submit", "task": "echo:any",
                              "args": list(args), "pool": pool}, **fields))
        self.assertTrue(r["ok"], r)
        return self.d.call({"op": "get", "job": r["job"], "timeout": 30})

    def assert_alive(self):
        self.assertTrue(self.d.call({"op": "hello"})["ok"])
        self.assertEqual(self.run_in("echo", 7)["result"], 7)

    def test_a_runtime_serves_jobs_and_maps(self):
        self.assertEqual(self.run_in("echo", {"a": [1, 2]})["result"],
                         {"a": [1, 2]})
        r = self.d.call({"op": "map", "task": "echo:any", "pool": "echo",
                         "items": [1, 2, 3], "chunksize": 3})
        self.assertTrue(r["ok"], r)
        g = self.d.call({"op": "get", "job": r["job"], "timeout": 30})
        self.assertEqual(g["result"], [1, 2, 3])
        # Its slot started on demand, as the daemon's user, and says so.
        workers = [w for w in self.d.call({"op": "status"})["workers"]
                   if w["pool"] == "echo"]
        self.assertEqual(workers[0]["uid"], os.getuid())
        pools = {p["name"]: p for p in self.d.call({"op": "pools"})["pools"]}
        self.assertEqual(pools["echo"]["runtime"],
                         os.path.join(self.d.tmp, "runtime-echo"))
        self.assertEqual(pools["default"]["runtime"], "builtin")

    def test_short_calls_wait_in_line_and_survive_a_death(self):
        # Short calls are handed to the busy worker behind its job; when
        # the worker dies, those behind the dying job go back to the queue
        # and run, and only the job that killed it fails.
        c = self.d.client()
        self.addCleanup(c.close)
        args = list(range(40)) + ["die"] + list(range(40, 80))
        for i, a in enumerate(args):
            c.send({"op": "submit", "req": i, "task": "echo:any",
                    "args": [a], "pool": "echo"})
        jobs = [c.recv()["job"] for _ in args]
        for a, job in zip(args, jobs):
            g = self.d.call({"op": "get", "job": job, "timeout": 60})
            if a == "die":
                self.assertEqual(g["error"]["code"], "worker_died", g)
            else:
                self.assertEqual((g["state"], g["result"]), ("done", a), g)
        handed = [line for line in self.d.log().splitlines()
                  if "to worker-" in line and "behind its job" in line]
        self.assertTrue(handed, "no call was handed behind another")
        print("%d calls handed behind another; %d given back at the death"
              % (len(handed), self.d.log().count("goes back to the queue")))

    def test_a_crash_fails_the_job_and_not_the_daemon(self):
        # More deaths in a row than a builtin pool would bear (12).
        for _ in range(14):
            g = self.run_in("crash", 1)
            self.assertEqual(g["state"], "failed", g)
            self.assertEqual(g["error"]["code"], "worker_died", g)
            self.assertIn("exited with status 3", g["error"]["message"])
        self.assert_alive()

    def test_a_hang_past_the_limit_is_killed(self):
        g = self.run_in("hang", 1, timeout=0.5)
        self.assertEqual(g["state"], "timeout", g)
        self.assert_alive()

    def assert_killed(self, pool, reason):
        """A job of the pool fails as a worker death, and the log says
        why its runtime was killed."""
        g = self.run_in(pool, 1)
        self.assertEqual(g["state"], "failed", g)
        self.assertEqual(g["error"]["code"], "worker_died", g)
        wait_for(lambda: reason in self.d.log(), 10, "the reason in the log")
        self.assert_alive()

    def test_garbage_frames_kill_the_runtime(self):
        self.assert_killed("garbage", "sent a malformed frame; killing it")

    def test_exit_at_handshake(self):
        self.assert_killed("silent", "exited with status 0")

    def test_a_frame_before_hello(self):
        self.assert_killed("nohello",
                           "did not begin with its hello; killing it")

    def test_another_protocol_version(self):
        self.assert_killed("future",
                           "speaks worker protocol 99; this mpd speaks 1")

    def test_an_answer_for_another_job(self):
        self.assert_killed("wrongjob",
                           "sent a frame that does not answer its job")

    def test_cancel_kills_a_runtime_job(self):
        r = self.d.call({"op": "submit", "task": "echo:any", "args": [1],
                         "pool": "hang"})
        wait_for(lambda: self.d.call({"op": "status", "job": r["job"]})
                 ["job"]["state"] == "running", 10, "the job to run")
        self.assertTrue(self.d.call({"op": "cancel", "job": r["job"]})["ok"])
        g = self.d.call({"op": "get", "job": r["job"], "timeout": 30})
        self.assertEqual(g["state"], "cancelled", g)
        self.assert_alive()

    def test_no_zombie_and_no_stray(self):
        for pool in ("crash", "garbage", "silent", "echo"):
            self.run_in(pool, 1)
        # Every child of mpd is a live worker of the status.
        def settled():
            pids = {w["pid"] for w in self.d.call({"op": "status"})
                    ["workers"] if w["pid"]}
            live = {p for p, state, _ in children_of(self.d.pid)
                    if state != "Z"}
            return live == pids and not self.d.zombies()
        wait_for(settled, 10, "only live workers under mpd")

    def test_routing_of_tasks_and_functions(self):
        r = self.d.call({"op": "submit", "task": "square", "args": [2],
                         "pool": "echo"})
        self.assertEqual(r["error"]["code"], "unknown_task", r)
        self.assertIn("not mpd's task", r["error"]["message"])
        r = self.d.call({"op": "submit", "task": "m:f", "pool": "default"})
        self.assertEqual(r["error"]["code"], "unknown_task", r)
        self.assertIn("needs a pool with a runtime", r["error"]["message"])
        # With no pool named, a function goes to the first runtime's pool.
        r = self.d.call({"op": "submit", "task": "echo:any", "args": [5]})
        self.assertTrue(r["ok"], r)
        self.assertEqual(self.d.call({"op": "status", "job": r["job"]})
                         ["job"]["pool"], "echo")
        self.d.call({"op": "get", "job": r["job"], "timeout": 30})
        # Names that are not functions stay unknown tasks.
        for bad in ("nocolon", "a b:c", "x:\n"):
            r = self.d.call({"op": "submit", "task": bad})
            self.assertEqual(r["error"]["code"], "unknown_task", r)


class Settings(MpdTestCase):
    workers = 1

    def start_fails(self, *args):
        p = subprocess.run([MPD, "--config", os.devnull, "--socket",
                            os.path.join(self.d.tmp, "x.sock"), "--db",
                            os.path.join(self.d.tmp, "x.db")] + list(args),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        return p.stderr

    def test_bad_runtimes_stop_start_up(self):
        err = self.start_fails("--pool", "x=1:/nonexistent/runtime")
        self.assertIn("/nonexistent/runtime", err)
        self.assertIn("not a program mpd can run", err)
        err = self.start_fails("--pool", "x=1:perl")
        self.assertIn("neither builtin, python, nor the absolute path", err)
        err = self.start_fails("--pool", "default=1:python")
        self.assertIn("the default pool's runtime is builtin", err)

    def test_runtimes_are_recycled_like_builtin_workers(self):
        self.d.stop()
        self.d.args = ["--max-tasks-per-worker", "2", "--pool", "echo=1:" +
                       write_runtime(self.d.tmp, "echo")]
        self.d.start()
        pids = []
        for _ in range(5):
            r = self.d.call({"op": "submit", "task": "echo:pid",
                             "pool": "echo"})
            pids.append(self.d.call({"op": "get", "job": r["job"],
                                     "timeout": 30})["result"])
        self.assertEqual(pids[0], pids[1])
        self.assertEqual(pids[2], pids[3])
        self.assertEqual(len({pids[0], pids[2], pids[4]}), 3, pids)

    def test_a_runtime_that_does_not_exit_is_killed(self):
        # Recycled after each job, it ignores end of file: killed after
        # a few seconds, so the next job runs, and a stop does not hang.
        self.d.stop()
        self.d.args = ["--max-tasks-per-worker", "1", "--pool",
                       "noexit=1:" + write_runtime(self.d.tmp, "noexit")]
        self.d.start()
        t0 = time.monotonic()
        for _ in range(2):
            r = self.d.call({"op": "submit", "task": "x:y",
                             "pool": "noexit"})
            g = self.d.call({"op": "get", "job": r["job"], "timeout": 30})
            self.assertEqual(g["state"], "done", g)
        self.assertLess(time.monotonic() - t0, 20 * SLOW)
        wait_for(lambda: "did not exit at end of file in time; killing it"
                 in self.d.log(), 10, "the reason in the log")
        r = self.d.call({"op": "submit", "task": "x:y", "pool": "noexit"})
        self.d.call({"op": "get", "job": r["job"], "timeout": 30})
        t0 = time.monotonic()
        self.assertEqual(self.d.stop(), 0)
        self.assertLess(time.monotonic() - t0, 20 * SLOW)

    def test_a_child_holding_the_socket_does_not_hold_the_slot(self):
        self.d.stop()
        self.d.args = ["--pool", "forker=1:" + write_runtime(self.d.tmp,
                                                              "forker")]
        self.d.start()
        for _ in range(3):
            r = self.d.call({"op": "submit", "task": "x:y",
                             "pool": "forker"})
            g = self.d.call({"op": "get", "job": r["job"], "timeout": 30})
            self.assertEqual(g["error"]["code"], "worker_died", g)
        # The children went with their runtimes: no stray, no zombie.
        wait_for(lambda: not [p for p, state, _ in children_of(self.d.pid)
                              if state != "Z" and p not in {
                                  w["pid"] for w in self.d.call(
                                      {"op": "status"})["workers"]}]
                 and not self.d.zombies(), 10, "no process left")

    def test_pool_add_with_a_runtime_lasts(self):
        path = write_runtime(self.d.tmp, "echo")
        r = self.d.mpctl("pool", "add", "late", 1, path)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.d.mpctl("pool", "add", "bad", 1, "relative/path")
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertIn("absolute path", r.stderr)
        self.d.stop()
        self.d.start()
        pools = {p["name"]: p for p in self.d.call({"op": "pools"})["pools"]}
        self.assertEqual(pools["late"]["runtime"], path)
        r = self.d.call({"op": "submit", "task": "echo:any", "args": [3],
                         "pool": "late"})
        g = self.d.call({"op": "get", "job": r["job"], "timeout": 30})
        self.assertEqual(g["result"], 3, g)


if __name__ == "__main__":
    main()

"""A daemon session under valgrind: no invalid access, no definite leak.

Skipped (with a message) in sanitizer builds, where valgrind cannot run,
and when valgrind is not installed.
"""
import os
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import MPD, PYDIR, Daemon, main, wait_for  # noqa: E402

VALGRIND = shutil.which("valgrind")


@unittest.skipIf(os.environ.get("MPD_SANITIZE") == "1",
                 "sanitizer build: valgrind cannot run it")
@unittest.skipIf(VALGRIND is None, "valgrind is not installed")
class Valgrind(unittest.TestCase):
    def test_session_is_clean(self):
        d = Daemon(2)
        self.addCleanup(d.cleanup)
        vlog = os.path.join(d.tmp, "valgrind.log")
        cmd = [VALGRIND, "--leak-check=full", "--show-leak-kinds=definite",
               "--errors-for-leak-kinds=definite", "--error-exitcode=99",
               "--child-silent-after-fork=yes", "--log-file=" + vlog,
               MPD, "--socket", d.socket, "--db", d.db, "--workers", "2",
               "--test-tasks", "--grace", "1", "--kill-grace", "1",
               "--max-queue", "20000", "--config", os.devnull,
               "--pool", "py=1:python", "--log-cap", "1000",
               "--keep-max", "20", "--max-queued-per-user", "20000"]
        log = open(os.path.join(d.tmp, "mpd.log"), "ab")
        d.proc = subprocess.Popen(cmd, stdout=log, stderr=log,
                                  stdin=subprocess.DEVNULL,
                                  env=dict(os.environ, PYTHONPATH=PYDIR))
        log.close()
        # Under valgrind the workers are children of the valgrind process.
        def ready():
            try:
                return d.call({"op": "hello"})["ok"]
            except OSError:
                return False
        wait_for(ready, 60, "mpd under valgrind to answer")

        c = d.client()
        j = c.call({"op": "submit", "task": "square", "args": [3]})["job"]
        self.assertEqual(c.call({"op": "get", "job": j})["result"], 9)
        m = c.call({"op": "map", "task": "square",
                    "items": list(range(50))})["job"]
        self.assertEqual(len(c.call({"op": "get", "job": m})["result"]), 50)
        j = c.call({"op": "submit", "task": "crash"})["job"]
        self.assertEqual(c.call({"op": "get", "job": j})["state"], "failed")
        # Commands: output, logs, a time limit, a held cancel, a retry.
        j = c.call({"op": "submit", "task": "shell", "args": [
            "echo out; echo err >&2; exit 3"]})["job"]
        self.assertEqual(c.call({"op": "get", "job": j})["state"], "failed")
        self.assertTrue(c.call({"op": "logs", "job": j})["end"])
        j = c.call({"op": "submit", "task": "exec", "args": ["sleep", "30"],
                    "timeout": 0.2})["job"]
        r = c.call({"op": "get", "job": j})
        self.assertEqual(r["state"], "timeout", r)
        j = c.call({"op": "submit", "task": "exec",
                    "args": ["sleep", "30"]})["job"]
        wait_for(lambda: d.call({"op": "status", "job": j})["job"]["state"]
                 == "running", 60, "the command to run")
        self.assertEqual(c.call({"op": "cancel", "job": j})["state"],
                         "cancelled")
        j = c.call({"op": "submit", "task": "fail", "args": ["x"],
                    "max_attempts": 2, "retry_on": ["error"],
                    "retry_delay": 0})["job"]
        self.assertEqual(c.call({"op": "get", "job": j})["state"], "failed")
        self.assertEqual(len(d.call({"op": "status", "job": j})["job"]
                             ["history"]), 2)
        j = c.call({"op": "submit", "task": "sleep", "args": [30]})["job"]
        r = c.call({"op": "get", "job": j, "timeout": 0.1})
        self.assertEqual(r["error"]["code"], "timeout")
        c.send_raw(b"{broken\n[1]\n")
        c.recv()
        c.recv()
        # A runtime's functions: a result with output, an exception, a
        # map, and a pool added live.
        j = c.call({"op": "submit", "task": "builtins:print",
                    "args": ["hi"], "context": {"cwd": "/"}})["job"]
        self.assertTrue(c.call({"op": "get", "job": j})["output"])
        self.assertEqual(c.call({"op": "logs", "job": j})["stdout"]["data"],
                         "aGkK")
        j = c.call({"op": "submit", "task": "json:loads",
                    "args": ["{"]})["job"]
        self.assertEqual(c.call({"op": "get", "job": j})["error"]["type"],
                         "JSONDecodeError")
        m = c.call({"op": "map", "task": "math:sqrt", "items": [1, 4]})
        self.assertEqual(c.call({"op": "get", "job": m["job"]})["result"],
                         [1.0, 2.0])
        self.assertTrue(c.call({"op": "pool_add", "pool": "py2", "size": 1,
                                "runtime": "python"})["ok"])
        q = c.call({"op": "submit", "task": "square", "args": [1]})["job"]
        c.call({"op": "cancel", "job": q})
        c.call({"op": "forget", "job": q})
        # A log past its cap (head, tail and the line between).
        j = c.call({"op": "submit", "task": "shell",
                    "args": ["seq 1 3000"]})["job"]
        self.assertTrue(c.call({"op": "get", "job": j})["result"]
                        ["log_truncated"])
        # A big map stored in slices, then cancelled and forgotten in
        # slices, with the pool paused so its chunks wait.
        c.call({"op": "pool_pause", "pool": "default"})
        m = c.call({"op": "map", "task": "square", "chunksize": 1,
                    "items": list(range(3000))})["job"]
        self.assertEqual(c.call({"op": "cancel", "job": m})["state"],
                         "cancelled")
        self.assertTrue(c.call({"op": "forget", "job": m})["ok"])
        c.call({"op": "pool_resume", "pool": "default"})
        # A long submit's args kept as text.
        j = c.call({"op": "submit", "task": "echo",
                    "args": [list(range(3000))]})["job"]
        self.assertEqual(len(c.call({"op": "get", "job": j})["result"][0]),
                         3000)
        # Retention: past --keep-max 20 the oldest ended jobs go.
        for k in range(25):
            c.call({"op": "submit", "task": "echo", "args": [k]})
        wait_for(lambda: len(d.call({"op": "list", "state": "done"})
                             ["jobs"]) <= 20, 60, "retention to forget")
        c.call({"op": "status"})
        c.call({"op": "list"})
        c.send({"op": "get", "job": j})     # a waiter left at exit
        f = d.client()                        # and a log follower
        f.send({"op": "logs", "job": j, "wait": True})
        d.proc.send_signal(signal.SIGTERM)
        rc = d.proc.wait(120)
        c.close()
        f.close()
        with open(vlog) as f:
            report = f.read()
        if rc != 0:
            sys.stderr.write(report)
        self.assertEqual(rc, 0, "valgrind found errors (exit 99) or mpd "
                         "failed")
        self.assertIn("ERROR SUMMARY: 0 errors", report)
        print(report.strip().splitlines()[-1])


if __name__ == "__main__":
    main()

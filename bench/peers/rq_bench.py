#!/usr/bin/python3
"""RQ's side of bench/run.py: a private Redis, 2 workers, N jobs.

    rq_bench.py DIR N

Starts redis-server on a Unix socket in DIR (no TCP port, no persistence:
--save "" --appendonly no) and 2 `rq worker` processes of class
SimpleWorker (each job runs in the worker itself, no fork per job), waits
until both are registered, then times N enqueues of rq_tasks.square(i)
and the fetch of every result (each checked to be i*i), and prints
{"jobs": N, "seconds": S}. Everything it started is stopped before it
exits, on failure too.

Run it with Debian's /usr/bin/python3: python3-rq is installed for that
interpreter only.
"""
import json
import os
import signal
import subprocess
import sys
import time

import redis
import rq
from rq.job import JobStatus

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rq_tasks  # noqa: E402

QUEUE = "mpdbench"


def wait_for(cond, seconds, what):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            sys.exit("rq_bench.py: %s: not within %d s" % (what, seconds))
        time.sleep(0.01)


def stop(p, seconds=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(seconds)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def tail(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-2000:]
    except OSError:
        return ""


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: rq_bench.py DIR N")
    tmp, n = sys.argv[1], int(sys.argv[2])
    sock = os.path.join(tmp, "redis.sock")
    procs = []
    try:
        server = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", sock,
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", tmp, "--daemonize", "no", "--loglevel", "warning",
             "--logfile", os.path.join(tmp, "redis.log")],
            stdin=subprocess.DEVNULL)
        procs.append(server)
        r = redis.Redis(unix_socket_path=sock)

        def up():
            if server.poll() is not None:
                sys.exit("rq_bench.py: redis-server exited: %s"
                         % tail(os.path.join(tmp, "redis.log")))
            try:
                return r.ping()
            except redis.exceptions.ConnectionError:
                return False
        wait_for(up, 20, "redis-server start")
        logs = []
        for k in range(2):
            logs.append(os.path.join(tmp, "worker-%d.log" % k))
            with open(logs[-1], "w") as log:
                procs.append(subprocess.Popen(
                    ["/usr/bin/python3", "/usr/bin/rq", "worker",
                     "--url", "unix://" + sock,
                     "--worker-class", "rq.worker.SimpleWorker",
                     "--path", HERE, "--quiet", QUEUE],
                    stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT))

        def registered():
            for p, log in zip(procs[1:], logs):
                if p.poll() is not None:
                    sys.exit("rq_bench.py: rq worker exited: %s" % tail(log))
            return rq.Worker.count(connection=r) == 2
        wait_for(registered, 30, "rq workers start")

        q = rq.Queue(QUEUE, connection=r)
        t0 = time.monotonic()
        jobs = [q.enqueue(rq_tasks.square, i) for i in range(n)]
        deadline = time.monotonic() + 60 + n / 100
        for i, job in enumerate(jobs):
            while True:
                v = job.return_value(refresh=True)
                if v is not None:
                    break
                if job.get_status() == JobStatus.FAILED:
                    sys.exit("rq_bench.py: job %d failed: %s"
                             % (i, job.exc_info))
                if time.monotonic() > deadline:
                    sys.exit("rq_bench.py: results did not come in time")
                time.sleep(0.001)
            if v != i * i:
                sys.exit("rq_bench.py: job %d gave %r" % (i, v))
        t = time.monotonic() - t0
    finally:
        for p in reversed(procs):
            stop(p)
    print(json.dumps({"jobs": n, "seconds": t, "rq": rq.__version__,
                      "redis_py": redis.__version__}))


if __name__ == "__main__":
    main()

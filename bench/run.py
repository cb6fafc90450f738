#!/usr/bin/env python3
"""The side-by-side benchmark: mpd against its peers, in the same run.

Each workload runs for mpd and for each peer in turn, several rounds,
alternating; the table gives the median, min and max of each and the
mpd/peer ratio of the medians, oriented so that above 1 means mpd is
better, next to the goal it is held to. A second table gives what only mpd
is measured on (memory, start time, latency under concurrent clients). The
results also go to bench/results/latest.json. See bench/README.md.

    bench/run.py                 build Release into build-bench/, full sizes
    bench/run.py --tiny          tiny sizes, one round (the CTest smoke test)
    bench/run.py --build-dir B   use an existing build instead of building

Peers: Python's multiprocessing.Pool, xargs -P, a C fork/exec loop (the
floor), GNU parallel, task-spooler, beanstalkd (without and with its
binlog) and RQ on Redis. A peer that is not installed is skipped with a
message (./scripts/deps installs them all); a workload that fails fails
the run.
"""
import argparse
import json
import multiprocessing
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(HERE, "peers")
# python3-rq is a Debian package: importable by Debian's Python only.
SYS_PYTHON = "/usr/bin/python3"

FULL = {"map": 1000000, "submit": 20000, "rtt": 2000, "exec": 2000,
        "queue": 50000, "rq": 5000, "rtt_clients": 2000,
        "rss_small": 10000, "rss_big": 1000000, "map_get": 1000000,
        "retain": 100000,
        "pyapply": 20000}
TINY = {"map": 2000, "submit": 300, "rtt": 50, "exec": 40,
        "queue": 500, "rq": 100, "rtt_clients": 50,
        "rss_small": 100, "rss_big": 2000, "map_get": 2000, "pyapply": 200,
        "retain": 2000}
CLIENTS = 8             # concurrent clients of the latency workload
WINDOW = 512            # requests in flight of the Python client

# What the table says of each side's durability.
DURABILITY = {
    "normal": "NORMAL", "full": "FULL", "memory": "memory",
    "binlog": "binlog", "none": "-",
}


class BenchError(Exception):
    pass


# The workload under way, for the message when one fails.
STEP = ["start"]


def step(name):
    STEP[0] = name
    print("bench: %s" % name, file=sys.stderr, flush=True)


def square(x):
    return x * x


def run_json(cmd, timeout=3600, env=None):
    """Runs a helper that prints one JSON object; its failure is ours."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: no answer within %d s" % (" ".join(cmd),
                                                         timeout))
    if out.returncode != 0:
        raise BenchError("%s exited %d: %s" % (
            " ".join(cmd[:4]), out.returncode, out.stderr.strip()[-2000:]))
    try:
        return json.loads(out.stdout)
    except ValueError:
        raise BenchError("%s printed no JSON: %r" % (" ".join(cmd[:4]),
                                                      out.stdout[-500:]))


def proc_status(pid):
    """VmRSS and VmHWM of a process, in kB."""
    r = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                r[line[:5]] = int(line.split()[1])
    return r


def reset_hwm(pid):
    """Resets a process's VmHWM to its VmRSS (Linux 4.0+); False when the
    kernel does not let us."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def wait_until(cond, seconds, what, interval=0.002):
    deadline = time.monotonic() + seconds
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise BenchError("%s: not within %g s" % (what, seconds))
        time.sleep(interval)


class Conn:
    """One raw socket connection to mpd, a request at a time."""

    def __init__(self, sock, timeout=600):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(sock)
        self.f = self.s.makefile("rwb", buffering=1 << 16)

    def call(self, req):
        self.f.write(req if isinstance(req, bytes)
                     else json.dumps(req).encode() + b"\n")
        self.f.flush()
        line = self.f.readline()
        if not line:
            raise BenchError("mpd closed the connection")
        return json.loads(line)

    def ok(self, req):
        r = self.call(req)
        if not r.get("ok"):
            raise BenchError("mpd refused %s: %s" % (
                (req if isinstance(req, dict) else req[:80]), r))
        return r

    def close(self):
        self.f.close()
        self.s.close()


class Mpd:
    """A Release mpd with 2 workers on a private socket and database."""

    def __init__(self, build, sync, extra=(), notify=False):
        self.build = build
        self.sync = sync
        self.tmp = tempfile.mkdtemp(prefix="mpd-bench-")
        self.sock = os.path.join(self.tmp, "mpd.sock")
        self.db = os.path.join(self.tmp, "db")
        self.cmd = [os.path.join(build, "mpd"), "--config", os.devnull,
                    "--socket", self.sock, "--db", self.db,
                    "--workers", "2", "--sync", sync, "--log-level", "warn",
                    # A map of a million items is one 8 MB request line.
                    "--max-line", str(64 << 20)] + list(extra)
        self.proc = None
        self.stopping = False
        try:
            self.first_start = self.start(notify)
        except BaseException:
            self.close()
            raise

    def start(self, notify=False, deadline=120):
        """Starts mpd and times it: from exec to a hello answered, and to
        sd_notify's READY=1 when notify is set (None when it never came:
        mpd built without libsystemd). Returns (hello_s, ready_s)."""
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        ns = None
        if notify:
            path = os.path.join(self.tmp, "notify.sock")
            if os.path.exists(path):
                os.unlink(path)
            ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            ns.bind(path)
            env["NOTIFY_SOCKET"] = path
        try:
            t0 = time.monotonic()
            self.stopping = False
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                         env=env)
            hello = ready = None
            end = t0 + deadline
            while hello is None or (ns is not None and ready is None):
                now = time.monotonic()
                if self.proc.poll() is not None:
                    raise BenchError("mpd exited %d at start"
                                     % self.proc.returncode)
                if now > end:
                    raise BenchError("mpd did not answer hello within %d s"
                                     % deadline)
                if hello is not None and now > t0 + hello + 5:
                    break       # no READY=1: built without libsystemd
                if hello is None:
                    hello = self._try_hello(t0)
                # Waits 0.5 ms for the datagram, or just waits.
                rs = [ns] if ns is not None and ready is None else []
                if select.select(rs, [], [], 0.0005)[0]:
                    msg = ns.recv(4096)
                    if b"READY=1" in msg.split(b"\n"):
                        ready = time.monotonic() - t0
            return hello, ready
        finally:
            if ns is not None:
                ns.close()

    def _try_hello(self, t0):
        try:
            c = Conn(self.sock, timeout=30)
        except OSError:
            return None
        try:
            r = c.call({"op": "hello"})
        except OSError:
            return None
        finally:
            c.close()
        if not r.get("ok"):
            raise BenchError("mpd refused hello: %s" % r)
        return time.monotonic() - t0

    @property
    def pid(self):
        return self.proc.pid

    def mpbench(self, workload, n, *more, timeout=3600):
        return run_json([os.path.join(self.build, "bench", "mpbench"),
                         self.sock, workload, str(n)] +
                        [str(x) for x in more], timeout=timeout)

    def settle(self, quiet=0.1, deadline=10):
        """Waits until mpd has used no CPU for `quiet` seconds: its
        checkpointer copies a burst's pages to the database a moment after
        the burst, and a peer measured next must not share the machine
        with that."""
        def cpu():
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime
        end = time.monotonic() + deadline
        last, since = cpu(), time.monotonic()
        while time.monotonic() < end:
            time.sleep(0.02)
            now = cpu()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def died(self):
        """How mpd ended when it was not asked to, or None."""
        if self.stopping or self.proc is None or self.proc.poll() is None:
            return None
        rc = self.proc.returncode
        return ("mpd (pid %d) %s" % (self.proc.pid, "was killed by signal %d"
                                     % -rc if rc < 0 else "exited %d" % rc))

    def stop(self):
        if self.proc is None:
            return
        if self.died():
            raise BenchError(self.died())
        self.stopping = True
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise BenchError("mpd did not stop within 60 s of SIGTERM")
        if self.proc.returncode != 0:
            raise BenchError("mpd exited %d on SIGTERM" % self.proc.returncode)

    def close(self):
        """Stops mpd and removes its files; on the way out of a failure,
        says how mpd ended if it ended on its own."""
        try:
            if self.died():
                print("bench: %s" % self.died(), file=sys.stderr)
            else:
                self.stop()
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.tmp, ignore_errors=True)


def py_client_jobs(sock, n, line, check):
    """Submits n jobs, line(i) the request of the i-th, then gets each,
    over a raw socket, as a peer's Python client would: so that client
    language does not decide the comparison. check(i, reply) must hold for
    each get's reply."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(600)
    s.connect(sock)
    f = s.makefile("rwb", buffering=1 << 16)
    t0 = time.monotonic()
    ids = []
    for start in range(0, n, WINDOW):
        chunk = range(start, min(n, start + WINDOW))
        for i in chunk:
            f.write(line(i))
        f.flush()
        ids += [json.loads(f.readline())["job"] for _ in chunk]
    for start in range(0, n, WINDOW):
        chunk = ids[start:start + WINDOW]
        for j in chunk:
            f.write(b'{"op":"get","job":%d}\n' % j)
        f.flush()
        # A get of a job still running is answered when it ends: the
        # replies may come in any order.
        index = {j: start + k for k, j in enumerate(chunk)}
        for _ in chunk:
            r = json.loads(f.readline())
            if r.get("job") not in index or not check(
                    index.pop(r.get("job")), r):
                raise BenchError("get: %s" % r)
    t = time.monotonic() - t0
    s.close()
    return t


def py_client_submit_get(sock, n):
    """n square jobs, submitted then got by the Python client."""
    return py_client_jobs(
        sock, n, lambda i: b'{"op":"submit","task":"square","args":[%d]}\n'
        % i, lambda i, r: r.get("result") == i * i)


def py_client_task(sock, n, task, args):
    """n jobs of task with args, submitted then got; each must end done."""
    line = json.dumps({"op": "submit", "task": task,
                       "args": args}).encode() + b"\n"
    return py_client_jobs(sock, n, lambda i: line,
                          lambda i, r: r.get("state") == "done")


def plugin_vs_command(build, n, add):
    """The example plugin's numeric kernel, in the workers themselves,
    against the cheapest command there is: n jobs of each, from Python.
    Skipped (with a line) when the plugin is missing or mpd refuses it."""
    plugin = os.path.join(build, "plugins", "example.so")
    if not os.path.exists(plugin):
        print("bench: skipping the plugin row: no %s" % plugin,
              file=sys.stderr)
        return
    try:
        d = Mpd(build, "normal", extra=["--plugin", plugin])
    except BenchError as e:
        print("bench: skipping the plugin row: %s" % e, file=sys.stderr)
        return
    try:
        add("task plugin", py_client_task(d.sock, n, "mandelbrot",
                                          [16, 16, 50]))
        d.settle()
        add("task exec", py_client_task(d.sock, n, "exec", ["/bin/true"]))
        d.stop()
    finally:
        d.close()


# n apply_async of a function of the script's __main__, then each get:
# the same program for multiprocessing.Pool(2) and mpd.Pool (whose Python
# pool in the daemon has 2 workers); it prints its seconds.
PYAPPLY = """
import sys, time
from %s import Pool
def inc(x):
    return x + 1
n = int(sys.argv[1])
pool = Pool(%s)
t0 = time.monotonic()
rs = [pool.apply_async(inc, (i,)) for i in range(n)]
assert [r.get() for r in rs] == [i + 1 for i in range(n)]
print(time.monotonic() - t0)
pool.close()
pool.join()
"""


def python_apply(build, n, add):
    """n apply_async + get of a trivial Python function: mpd.Pool on a
    daemon whose Python pool has 2 workers, against multiprocessing.Pool(2)
    (fork), each in a fresh Python of the same version. mpd.Pool() leaves
    the concurrency to the daemon's pool; Pool(2) caps it in the client."""
    pydir = os.path.join(ROOT, "clients", "python")
    env = dict(os.environ, PYTHONPATH=pydir)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = pydir
    try:
        d = Mpd(build, "normal", extra=["--pool", "py=2:python"])
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    tmp = tempfile.mkdtemp(prefix="mpd-bench-py-")
    try:
        for key, module, arg in (("pyapply mpd", "mpd", ""),
                                 ("pyapply mpd-cap2", "mpd", "2"),
                                 ("pyapply pool", "multiprocessing", "2")):
            path = os.path.join(tmp, key.replace(" ", "-") + ".py")
            with open(path, "w") as f:
                f.write(PYAPPLY % (module, arg))
            r = subprocess.run([sys.executable, path, str(n)],
                               env=dict(env, MPD_SOCKET=d.sock),
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise BenchError("%s: %s" % (key, r.stderr[-2000:]))
            add(key, float(r.stdout))
        d.stop()
    finally:
        d.close()
        shutil.rmtree(tmp, ignore_errors=True)


def under_attack(d, n, add):
    """Another client's round trips (mpbench rtt, n of them) while one
    client attacks and never reads: a thousand gets of a 1 MB result, a
    hundred thousand follows of a running command's log, then maps of
    100,000 items asked in chunks of 1, back to back (at a lower priority,
    so that the round trips' jobs do not queue behind their chunks). The
    daemon's budget per client, shared results, and maps stored a slice
    per turn of the loop are what keep the p99 down."""
    c = Conn(d.sock)
    j = c.ok({"op": "submit", "task": "sleep",
              "args": [0.2, "A" * (1 << 20)]})["job"]
    cmd = c.ok({"op": "submit", "task": "shell",
                "args": ["echo started; sleep 600"]})["job"]
    attacks = (
        ("attack gets", [b'{"op":"get","job":%d}\n' % j] * 1000),
        ("attack follows",
         [b'{"op":"logs","job":%d,"stdout":8,"wait":true}\n' % cmd] *
         100000),
        ("attack maps",
         [json.dumps({"op": "map", "task": "square", "chunksize": 1,
                      "priority": -1, "items": list(range(100000))}
                     ).encode() + b"\n"] * 30),
    )
    for key, lines in attacks:
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        t = threading.Thread(target=lambda s=s, lines=lines: _send_quiet(
            s, b"".join(lines)), daemon=True)
        t.start()
        time.sleep(0.3)
        r = d.mpbench("rtt", n)
        add(key + " rtt99", r["p99_us"])
        s.shutdown(socket.SHUT_RDWR)    # wakes the sender
        t.join(30)
        s.close()
    c.ok({"op": "cancel", "job": cmd})
    c.close()


def _send_quiet(s, data):
    try:
        s.sendall(data)
    except OSError:
        pass


def py_client_queue(sock, n, window=WINDOW):
    """The mpd side of the beanstalkd workload: n square submits from the
    Python client (window requests in flight; 1: one at a time, as the
    beanstalkd producer does), timed until all have run. The end: a get of
    the last job, then the pool's counts until nothing is queued or
    running (the other worker may still run an earlier job). Needs a
    daemon whose earlier jobs have all ended."""
    c = Conn(sock)
    f = c.f
    t0 = time.monotonic()
    last = None
    for start in range(0, n, window):
        chunk = range(start, min(n, start + window))
        for i in chunk:
            f.write(b'{"op":"submit","task":"square","args":[%d]}\n' % i)
        f.flush()
        for _ in chunk:
            r = json.loads(f.readline())
            if not r.get("ok"):
                raise BenchError("submit: %s" % r)
            last = r["job"]
    r = c.call(b'{"op":"get","job":%d}\n' % last)
    if r.get("state") != "done":
        raise BenchError("last job: %s" % r)

    def drained():
        jobs = c.ok({"op": "status"})["jobs"]
        return jobs["queued"] == 0 and jobs["running"] == 0
    wait_until(drained, 120, "mpd running its queue", interval=0.0005)
    t = time.monotonic() - t0
    c.close()
    return t


def pool_map(n):
    with multiprocessing.Pool(2) as pool:
        t0 = time.monotonic()
        r = pool.map(square, range(n))
        t = time.monotonic() - t0
    assert len(r) == n
    return t


def pool_submit_get(n):
    with multiprocessing.Pool(2) as pool:
        t0 = time.monotonic()
        handles = [pool.apply_async(square, (i,)) for i in range(n)]
        for h in handles:
            h.get()
        return time.monotonic() - t0


def pool_rtt(n):
    with multiprocessing.Pool(2) as pool:
        lat = []
        for i in range(n):
            t0 = time.monotonic()
            pool.apply_async(square, (i,)).get()
            lat.append(time.monotonic() - t0)
    lat.sort()
    return lat[len(lat) // 2] * 1e6, lat[len(lat) * 99 // 100] * 1e6


def xargs_true(n):
    t0 = time.monotonic()
    subprocess.run("seq %d | xargs -P2 -n1 /bin/true" % n, shell=True,
                   check=True)
    return time.monotonic() - t0


def parallel_true(n):
    """GNU parallel, 2 at a time. --will-cite, and a HOME of its own so
    that it writes nothing in the user's (~/.parallel)."""
    with tempfile.TemporaryDirectory(prefix="mpd-bench-parallel-") as home:
        env = dict(os.environ, HOME=home, TMPDIR=home)
        t0 = time.monotonic()
        subprocess.run("seq %d | parallel --will-cite -j2 /bin/true" % n,
                       shell=True, check=True, env=env,
                       stdin=subprocess.DEVNULL)
        return time.monotonic() - t0


def tsp_list(env):
    """task-spooler's job list: id -> (state, exit level or None)."""
    out = subprocess.run(["tsp", "-l"], env=env, check=True,
                         capture_output=True, text=True).stdout
    jobs = {}
    for line in out.splitlines()[1:]:
        w = line.split()
        if w:
            jobs[int(w[0])] = (w[1], w[3] if w[1] == "finished" else None)
    return jobs


def tsp_kill_server(env, sock):
    """Stops this run's task-spooler server: tsp -K, then whatever process
    still has our TS_SOCKET in its environment (only ours can)."""
    subprocess.run(["tsp", "-K"], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)
    mark = b"TS_SOCKET=" + sock.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if mark in f.read().split(b"\0"):
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def tsp_true(n):
    """task-spooler with 2 slots: n /bin/true queued one tsp call each (a
    shell loop, as a user would), then waited for. The server is private:
    its own TS_SOCKET, output files and save list in a temporary
    directory, and room for all n finished jobs in its list."""
    tmp = tempfile.mkdtemp(prefix="mpd-bench-tsp-")
    sock = os.path.join(tmp, "ts.sock")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TS_")}
    env.update(TS_SOCKET=sock, TMPDIR=tmp, TS_SLOTS="2",
               TS_MAXFINISHED=str(n + 16), TS_SAVELIST=os.path.join(
                   tmp, "savelist"))
    try:
        subprocess.run(["tsp", "-S", "2"], env=env, check=True, timeout=30)
        t0 = time.monotonic()
        subprocess.run(
            ['sh', '-c', 'i=0; while [ $i -lt "$1" ]; do '
             'tsp /bin/true >/dev/null || exit 1; i=$((i+1)); done; '
             'tsp -w', 'sh', str(n)], env=env, check=True, timeout=600)
        # -w waited for the last job; the other slot may still run one.
        for job, (state, _) in tsp_list(env).items():
            if state != "finished":
                subprocess.run(["tsp", "-w", str(job)], env=env,
                               check=True, timeout=600)
        t = time.monotonic() - t0
        jobs = tsp_list(env)
        bad = [j for j, (s, e) in jobs.items() if s != "finished" or
               e != "0"]
        if len(jobs) != n or bad:
            raise BenchError("task-spooler: %d jobs listed, not finished "
                             "with 0: %s" % (len(jobs), bad[:10]))
        return t
    finally:
        tsp_kill_server(env, sock)
        shutil.rmtree(tmp, ignore_errors=True)


def free_port():
    """A free TCP port on 127.0.0.1, from the kernel's ephemeral range (so
    never beanstalkd's or Redis's default port)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def beanstalk_queue(n, binlog):
    """A private beanstalkd on a free localhost port, with or without its
    binlog in a temporary directory; peers/beanstalk.py puts n jobs and 2
    consumers reserve and delete them."""
    tmp = tempfile.mkdtemp(prefix="mpd-bench-beanstalkd-")
    p = None
    try:
        for _ in range(5):
            port = free_port()
            cmd = ["beanstalkd", "-l", "127.0.0.1", "-p", str(port)]
            if binlog:
                cmd += ["-b", tmp]
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)

            def up():
                if p.poll() is not None:
                    return "exited"
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    return "up"
                except OSError:
                    return None
            if wait_until(up, 20, "beanstalkd start") == "up":
                break
            p = None    # lost the port to someone else: another one
        if p is None:
            raise BenchError("beanstalkd did not start")
        r = run_json([sys.executable, os.path.join(PEERS, "beanstalk.py"),
                      "run", "127.0.0.1", str(port), str(n)], timeout=900)
        return r["seconds"]
    finally:
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def rq_queue(n):
    """RQ on a private Redis: peers/rq_bench.py, under Debian's Python."""
    tmp = tempfile.mkdtemp(prefix="mpd-bench-rq-")
    try:
        return run_json([SYS_PYTHON, os.path.join(PEERS, "rq_bench.py"),
                         tmp, str(n)], timeout=900)["seconds"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def first_line(cmd, env=None):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=30, env=env)
    except OSError:
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def find_peers():
    """The installed peers, name -> version, and why each missing one is
    skipped."""
    have, why = {}, {}
    hint = "; ./scripts/deps installs it"
    with tempfile.TemporaryDirectory(prefix="mpd-bench-parallel-") as home:
        v = (first_line(["parallel", "--will-cite", "--version"],
                        dict(os.environ, HOME=home))
             if shutil.which("parallel") else None)
    if v and v.startswith("GNU parallel"):
        have["parallel"] = v
    else:
        why["parallel"] = "GNU parallel not found (package parallel)" + hint
    if shutil.which("tsp"):
        have["tsp"] = (first_line(["tsp", "-V"]) or "").split(" - ")[0]
    else:
        why["tsp"] = "tsp not found (package task-spooler)" + hint
    if shutil.which("beanstalkd"):
        have["beanstalkd"] = first_line(["beanstalkd", "-v"])
    else:
        why["beanstalkd"] = "beanstalkd not found (package beanstalkd)" + hint
    rq = None
    if os.access(SYS_PYTHON, os.X_OK) and os.path.exists("/usr/bin/rq"):
        rq = first_line([SYS_PYTHON, "-c", "import rq, redis; print('RQ', "
                         "rq.__version__, 'redis-py', redis.__version__)"])
    if not shutil.which("redis-server"):
        why["rq"] = "redis-server not found (package redis-server)" + hint
    elif not rq or not rq.startswith("RQ"):
        why["rq"] = ("RQ not importable by %s (package python3-rq)"
                     % SYS_PYTHON) + hint
    else:
        v = (first_line(["redis-server", "--version"]) or "").split()
        have["rq"] = "%s, Redis %s" % (rq, v[2][2:] if len(v) > 2 else "?")
    return have, why


def summary(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "runs": values}


def mpd_alone_memory_start(build, sizes, rounds, add):
    """Daemon RSS with few and many queued jobs, then start time with them
    all in the store. Both workers are held by `sleep 1000` commands, so
    the jobs stay queued; --grace 0 lets a stop put those two back in the
    queue at once, and they hold the workers again after each start."""
    small, big = sizes["rss_small"], sizes["rss_big"]
    d = Mpd(build, "normal", extra=["--grace", "0"], notify=True)
    try:
        add("start empty hello", d.first_start[0])
        if d.first_start[1] is not None:
            add("start empty ready", d.first_start[1])
        c = Conn(d.sock)
        sleepers = [c.ok({"op": "submit", "task": "exec",
                          "args": ["sleep", "1000"]})["job"]
                    for _ in range(2)]

        def held():
            w = [x for x in c.ok({"op": "status"})["workers"]
                 if x["pool"] == "default"]
            return sorted(x["job"] or 0 for x in w) == sorted(sleepers)
        wait_until(held, 30, "both workers running sleep 1000")
        rss0 = proc_status(d.pid)
        r = d.mpbench("submit", small)
        add("submit small seconds", r["seconds"])
        rss_small = proc_status(d.pid)
        r = d.mpbench("submit", big - small)
        add("submit big seconds", r["seconds"])
        rss_big = proc_status(d.pid)
        queued = c.ok({"op": "status"})["jobs"]["queued"]
        c.close()
        if queued != big:
            raise BenchError("%d jobs queued, expected %d" % (queued, big))
        add("rss idle", rss0["VmRSS"])
        add("rss small", rss_small["VmRSS"])
        add("rss big", rss_big["VmRSS"])
        add("hwm big", rss_big["VmHWM"])
        add("rss ratio", rss_big["VmRSS"] / rss_small["VmRSS"])
        size = sum(os.path.getsize(os.path.join(d.tmp, f))
                   for f in os.listdir(d.tmp) if f.startswith("db"))
        add("db bytes", size)
        built = "SYSTEMD_FOUND:INTERNAL=1" in open(os.path.join(
            build, "CMakeCache.txt")).read()
        for _ in range(rounds):
            d.stop()
            hello, ready = d.start(notify=True)
            add("start big hello", hello)
            if ready is not None:
                add("start big ready", ready)
            elif built:
                raise BenchError("mpd was built with libsystemd but sent "
                                 "no READY=1 to NOTIFY_SOCKET")
            c = Conn(d.sock)
            queued = c.ok({"op": "status"})["jobs"]["queued"]
            c.close()
            if queued < big:
                raise BenchError("after a restart %d jobs queued, not %d"
                                 % (queued, big))
        d.stop()
    finally:
        d.close()


def mpd_alone_map_get(d, n, add):
    """The get of a map of n items that has ended: the client's peak RSS
    (mpbench's VmHWM) and the daemon's, from its VmHWM reset just before
    the get (and VmRSS sampled every 2 ms, where the reset is refused)."""
    c = Conn(d.sock)
    req = (b'{"op":"map","task":"square","items":[' +
           b",".join(b"%d" % i for i in range(n)) + b"]}\n")
    job = c.ok(req)["job"]
    wait_until(lambda: c.ok({"op": "status", "job": job})["job"]["state"]
               == "done", 600, "the map", interval=0.01)
    c.close()
    reset = reset_hwm(d.pid)
    before = proc_status(d.pid)["VmRSS"]
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.002):
            peak[0] = max(peak[0], proc_status(d.pid)["VmRSS"])
    t = threading.Thread(target=sample)
    t.start()
    try:
        r = d.mpbench("map-get", n, job)
    finally:
        stop.set()
        t.join()
    after = proc_status(d.pid)
    if reset:
        peak[0] = max(peak[0], after["VmHWM"])
    add("mapget seconds", r["seconds"])
    add("mapget client hwm", r["client_hwm_kb"])
    add("mapget daemon before", before)
    add("mapget daemon peak", peak[0])
    add("mapget daemon growth", peak[0] - before)


def mpd_alone_retention(build, n, rtt, add):
    """Round trips (mpbench rtt) while n ended jobs are forgotten at once
    (--keep-ended 2s, after n submit+gets), and again once they are all
    gone: forgetting, a slice per turn of the loop, must not move the
    p99."""
    d = Mpd(build, "normal", extra=["--keep-ended", "2s"])
    try:
        d.mpbench("submit-get", n)
        c = Conn(d.sock)

        def ended():
            st = c.ok({"op": "status"})["jobs"]
            return st["done"] + st["failed"]
        # The first ones are forgotten 2 s after they ended: measure then.
        wait_until(lambda: ended() < n, 60, "retention to begin",
                   interval=0.05)
        r = d.mpbench("rtt", rtt)
        left = ended()
        add("retain rtt99", r["p99_us"])
        wait_until(lambda: ended() <= rtt, 600, "retention to end",
                   interval=0.05)
        add("retain left", left)
        r = d.mpbench("rtt", rtt)
        add("retain after rtt99", r["p99_us"])
        c.close()
        d.stop()
    finally:
        d.close()


def fmt(s, key):
    if key not in s:
        return "skipped"
    x = s[key]
    if x["min"] == x["max"]:
        return "%.4g" % x["median"]
    return "%.4g [%.3g-%.3g]" % (x["median"], x["min"], x["max"])


def judge(goal, value, tiny):
    """'met', 'missed', or '-' (no goal, no value, or tiny sizes)."""
    if goal is None or value is None or tiny:
        return "-"
    kind, bound = goal
    ok = value >= bound if kind == ">=" else value <= bound
    return "met" if ok else "missed"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--build-dir")
    ap.add_argument("--out", default=os.path.join(HERE, "results",
                                                 "latest.json"))
    args = ap.parse_args()
    started = time.monotonic()
    sizes = TINY if args.tiny else FULL
    rounds = args.rounds or (1 if args.tiny else 5)
    build = args.build_dir
    if build is None:
        step("building Release into build-bench/")
        build = os.path.join(ROOT, "build-bench")
        subprocess.run(["cmake", "-S", ROOT, "-B", build,
                        "-DCMAKE_BUILD_TYPE=Release", "-DMPD_TESTS=OFF"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build, "-j",
                        str(os.cpu_count() or 2)], check=True,
                       stdout=subprocess.DEVNULL)
    build = os.path.abspath(build)
    floor_bin = os.path.join(build, "bench", "floor")
    for b in (os.path.join(build, "mpd"), floor_bin,
              os.path.join(build, "bench", "mpbench")):
        if not os.access(b, os.X_OK):
            raise BenchError("%s is missing: build first, or leave out "
                             "--build-dir" % b)
    version = subprocess.run([os.path.join(build, "mpd"), "--version"],
                             capture_output=True, text=True).stdout.strip()
    peers, skipped = find_peers()
    for name, why in sorted(skipped.items()):
        print("bench: skipping %s: %s" % (name, why), file=sys.stderr)

    # name -> list of measurements (seconds, µs for latency, kB for memory)
    m = {}

    def add(name, value):
        m.setdefault(name, []).append(value)

    for sync in ("normal", "full"):
        step("mpd, synchronous=%s: starting" % sync.upper())
        d = Mpd(build, sync)
        try:
            for k in range(rounds):
                tag = "round %d/%d, %s: " % (k + 1, rounds, sync.upper())
                if sync == "normal":
                    step(tag + "map")
                    add("map mpd", d.mpbench("map", sizes["map"])["seconds"])
                    d.settle()
                    add("map pool", pool_map(sizes["map"]))
                step(tag + "submits + gets")
                add("submit mpd-c " + sync,
                    d.mpbench("submit-get", sizes["submit"])["seconds"])
                add("submit mpd-py " + sync,
                    py_client_submit_get(d.sock, sizes["submit"]))
                if sync != "normal":
                    continue
                d.settle()
                add("submit pool", pool_submit_get(sizes["submit"]))
                step(tag + "round trips")
                r = d.mpbench("rtt", sizes["rtt"])
                add("rtt50 mpd", r["p50_us"])
                add("rtt99 mpd", r["p99_us"])
                d.settle()
                p50, p99 = pool_rtt(sizes["rtt"])
                add("rtt50 pool", p50)
                add("rtt99 pool", p99)
                r = d.mpbench("rtt", sizes["rtt_clients"], CLIENTS)
                add("rtt8 p50", r["p50_us"])
                add("rtt8 p99", r["p99_us"])
                add("rtt8 rate", r["calls"] / r["seconds"])
                step(tag + "exec /bin/true")
                add("exec mpd", d.mpbench("exec", sizes["exec"])["seconds"])
                d.settle()
                add("exec floor", run_json([floor_bin, str(sizes["exec"]),
                                            "2", "/bin/true"])["seconds"])
                add("exec xargs", xargs_true(sizes["exec"]))
                if "parallel" in peers:
                    add("exec parallel", parallel_true(sizes["exec"]))
                if "tsp" in peers:
                    add("exec tsp", tsp_true(sizes["exec"]))
                step(tag + "queue: put -> consumed")
                add("queue mpd", py_client_queue(d.sock, sizes["queue"]))
                add("queue mpd-seq", py_client_queue(d.sock, sizes["queue"],
                                                     window=1))
                d.settle()
                if "beanstalkd" in peers:
                    add("queue beanstalkd", beanstalk_queue(sizes["queue"],
                                                            False))
                    add("queue beanstalkd-binlog",
                        beanstalk_queue(sizes["queue"], True))
                step(tag + "RQ workload")
                add("rq mpd", py_client_submit_get(d.sock, sizes["rq"]))
                d.settle()
                if "rq" in peers:
                    add("rq rq", rq_queue(sizes["rq"]))
                add("rss round", proc_status(d.pid)["VmRSS"])
            if sync == "normal":
                step("mpd alone: memory of a %d-item map's get"
                     % sizes["map_get"])
                mpd_alone_map_get(d, sizes["map_get"], add)
                step("mpd alone: round trips while a client attacks")
                d.settle()
                under_attack(d, sizes["rtt"], add)
            d.stop()
        finally:
            d.close()
    for k in range(rounds):
        step("round %d/%d: a plugin's task against a command" % (k + 1,
                                                                rounds))
        plugin_vs_command(build, sizes["exec"], add)
    for k in range(rounds):
        step("round %d/%d: Python functions, mpd.Pool against "
             "multiprocessing.Pool" % (k + 1, rounds))
        python_apply(build, sizes["pyapply"], add)
    for k in range(rounds):
        step("round %d/%d: mpd alone: round trips while %d ended jobs are "
             "forgotten" % (k + 1, rounds, sizes["retain"]))
        mpd_alone_retention(build, sizes["retain"], sizes["rtt"], add)
    step("mpd alone: memory with %d and %d queued jobs, start time"
         % (sizes["rss_small"], sizes["rss_big"]))
    mpd_alone_memory_start(build, sizes, rounds, add)

    if "rss round" in m:
        m["rss round first"] = m["rss round"][:1]
        m["rss round last"] = m["rss round"][-1:]
    s = {k: summary(v) for k, v in m.items()}
    med = {k: v["median"] for k, v in s.items()}
    tiny = args.tiny
    n = sizes

    def ratio(a, b):
        if a not in med or b not in med:
            return None
        return med[b] / med[a]

    # title, mpd key, peer key, peer name, durability mpd/peer, goal:
    # (">=", r) on the ratio, or ("abs<=", v) on mpd's own value.
    rows = [
        ("map square, %d items" % n["map"], "map mpd", "map pool",
         "Pool.map", "normal/none", (">=", 0.5)),
        ("%d submits + gets, C client" % n["submit"],
         "submit mpd-c normal", "submit pool", "Pool.apply_async",
         "normal/none", (">=", 1.0)),
        ("%d submits + gets, Python client" % n["submit"],
         "submit mpd-py normal", "submit pool", "Pool.apply_async",
         "normal/none", (">=", 1.0)),
        ("same, C client", "submit mpd-c full", "submit pool",
         "Pool.apply_async", "full/none", None),
        ("same, Python client", "submit mpd-py full", "submit pool",
         "Pool.apply_async", "full/none", None),
        ("round trip p50 (µs)", "rtt50 mpd", "rtt50 pool",
         "apply_async().get()", "normal/none", (">=", 2.0)),
        ("round trip p99 (µs)", "rtt99 mpd", "rtt99 pool",
         "apply_async().get()", "normal/none", ("abs<=", 1000.0)),
        ("%d exec /bin/true, 2 at a time" % n["exec"], "exec mpd",
         "exec floor", "C fork/exec floor", "normal/none", (">=", 0.9)),
        ("same", "exec mpd", "exec xargs", "xargs -P2", "normal/none",
         (">=", 1.1)),
        ("same", "exec mpd", "exec tsp", "task-spooler -S 2",
         "normal/memory", (">=", 2.5)),
        ("same", "exec mpd", "exec parallel", "GNU parallel -j2",
         "normal/none", (">=", 5.0)),
        ("%d jobs put -> consumed, 2 consumers" % n["queue"], "queue mpd",
         "queue beanstalkd", "beanstalkd", "normal/memory", (">=", 2.0)),
        ("same", "queue mpd", "queue beanstalkd-binlog",
         "beanstalkd -b", "normal/binlog", None),
        ("same, mpd submits one at a time", "queue mpd-seq",
         "queue beanstalkd", "beanstalkd", "normal/memory", None),
        ("%d jobs enqueued, results fetched" % n["rq"], "rq mpd", "rq rq",
         "RQ SimpleWorker x2", "normal/memory", None),
        ("%d plugin mandelbrot(16,16,50) jobs" % n["exec"], "task plugin",
         "task exec", "mpd exec /bin/true", "normal/normal", (">=", 1.0)),
        ("%d apply_async+get, Python fn, 2 workers" % n["pyapply"],
         "pyapply mpd", "pyapply pool", "Pool(2).apply_async",
         "normal/none", (">=", 1.0)),
        ("same, mpd.Pool(2): 2 in flight", "pyapply mpd-cap2",
         "pyapply pool", "Pool(2).apply_async", "normal/none", None),
    ]
    print()
    print("machine: %d cores, Linux %s, Python %s (RQ under %s %s); %s" % (
        os.cpu_count(), platform.release(), platform.python_version(),
        SYS_PYTHON, first_line([SYS_PYTHON, "-c", "import platform; print("
                                "platform.python_version())"]) or "-",
        version))
    for name in ("parallel", "tsp", "beanstalkd", "rq"):
        print("peer %-10s %s" % (name + ":", peers.get(name) or
                                 "skipped: " + skipped[name]))
    print("rounds: %d; median [min-max]; ratio = peer/mpd time (µs: peer/"
          "mpd), > 1: mpd is better" % rounds)
    print("durability: NORMAL/FULL = mpd's SQLite synchronous setting "
          "(acknowledged after commit either way); memory = the peer keeps "
          "its queue in memory; binlog = beanstalkd -b (fsync at most every "
          "50 ms); - = nothing kept")
    if tiny:
        print("--tiny: sizes too small to mean anything; goals are shown "
              "but not judged")
    print()
    hdr = "%-40s %-24s %-24s %-20s %-20s %6s %8s %s"
    print(hdr % ("workload", "mpd", "peer", "peer name",
                 "durability mpd/peer", "ratio", "goal", "met"))
    table = []
    for title, a, b, peer, dur, goal in rows:
        r = ratio(a, b)
        if goal and goal[0] == "abs<=":
            value, gtext = med.get(a), "<=%g" % goal[1]
        else:
            value, gtext = r, (">=%g" % goal[1] if goal else "")
        met = judge((goal[0][-2:], goal[1]) if goal else None, value, tiny)
        durs = dur.split("/")
        dtext = "%s/%s" % (DURABILITY[durs[0]], DURABILITY[durs[1]])
        print(hdr % (title, fmt(s, a), fmt(s, b), peer, dtext,
                     "%.2f" % r if r is not None else "-", gtext, met))
        table.append({"workload": title, "mpd": a, "peer": b,
                      "peer_name": peer, "durability": dtext, "ratio": r,
                      "goal": gtext, "met": met})

    def mk(key, scale=1.0, unit=""):
        if key not in s:
            return None, "none"
        x = s[key]
        if x["min"] == x["max"]:
            return x["median"] * scale, "%.4g%s" % (x["median"] * scale,
                                                    unit)
        return x["median"] * scale, "%.4g%s [%.3g-%.3g]" % (
            x["median"] * scale, unit, x["min"] * scale, x["max"] * scale)
    ready_note = None if "start big ready" in s else "not built"
    alone = [
        ("daemon VmRSS, idle (MB)", "rss idle", 1 / 1024, None),
        ("daemon VmRSS, %d queued (MB)" % n["rss_small"], "rss small",
         1 / 1024, None),
        ("daemon VmRSS, %d queued (MB)" % n["rss_big"], "rss big", 1 / 1024,
         None),
        ("daemon VmHWM after them (MB)", "hwm big", 1 / 1024, None),
        ("VmRSS %d / VmRSS %d" % (n["rss_big"], n["rss_small"]),
         "rss ratio", 1, ("<=", 1.2)),
        ("database with them (MB)", "db bytes", 1 / 1048576, None),
        ("%d pipelined submits (s)" % (n["rss_big"] - n["rss_small"]),
         "submit big seconds", 1, None),
        ("start, empty store: hello answered (s)", "start empty hello", 1,
         None),
        ("start, empty store: READY=1 (s)", "start empty ready", 1, None),
        ("start, %d stored: hello answered (s)" % n["rss_big"],
         "start big hello", 1, ("<=", 0.5)),
        ("start, %d stored: READY=1 (s)" % n["rss_big"], "start big ready", 1,
         ("<=", 0.5)),
        ("get of a %d-item map (s)" % n["map_get"], "mapget seconds", 1,
         None),
        ("  client peak RSS, VmHWM (MB)", "mapget client hwm", 1 / 1024,
         None),
        ("  daemon RSS before the get (MB)", "mapget daemon before",
         1 / 1024, None),
        ("  daemon peak RSS during the get (MB)", "mapget daemon peak",
         1 / 1024, None),
        ("NORMAL daemon VmRSS after round 1 (MB)", "rss round first",
         1 / 1024, None),
        ("  after round %d (MB)" % rounds, "rss round last", 1 / 1024, None),
        ("%d clients, %d submit+get each: p50 (µs)" % (
            CLIENTS, n["rtt_clients"]), "rtt8 p50", 1, None),
        ("  p99 (µs)", "rtt8 p99", 1, None),
        ("  round trips per second", "rtt8 rate", 1, None),
        ("p99 under attack (µs): 1000 unread gets of 1 MB",
         "attack gets rtt99", 1, ("<=", 10000.0)),
        ("  100000 pipelined follows of a running job",
         "attack follows rtt99", 1, ("<=", 10000.0)),
        ("  maps of 100000 items in chunks of 1",
         "attack maps rtt99", 1, ("<=", 10000.0)),
        ("p99 while %d ended jobs are forgotten (µs)" % n["retain"],
         "retain rtt99", 1, ("<=", 10000.0)),
        ("  once they are gone (µs)", "retain after rtt99", 1, None),
        ("  ended jobs not yet forgotten when measured", "retain left", 1,
         None),
    ]
    print()
    hdr2 = "%-44s %-34s %8s %s"
    print(hdr2 % ("mpd alone", "value", "goal", "met"))
    alone_out = []
    for title, key, scale, goal in alone:
        value, text = mk(key, scale)
        if value is None and key.endswith("ready"):
            text = ready_note or "none"
        met = judge(goal, value, tiny)
        gtext = "%s%g" % goal if goal else ""
        print(hdr2 % (title, text, gtext, met))
        alone_out.append({"workload": title, "key": key, "value": value,
                          "goal": gtext, "met": met})
    elapsed = time.monotonic() - started
    print("\ntook %.0f s" % elapsed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"machine": {"cores": os.cpu_count(),
                               "kernel": platform.release(),
                               "python": platform.python_version(),
                               "mpd": version, "peers": peers},
                   "skipped": skipped, "tiny": tiny, "sizes": sizes,
                   "rounds": rounds, "seconds": elapsed,
                   "measurements": s, "table": table, "mpd_alone": alone_out},
                  f, indent=2)
    print("written: %s" % args.out)


def on_sigterm(signo, frame):
    raise SystemExit(128 + signo)


if __name__ == "__main__":
    # A SIGTERM (CTest's timeout) still runs every finally, so the peers'
    # servers and workers are stopped. Not in Pool's workers, which
    # Pool.terminate() ends with SIGTERM: a Python handler there can miss
    # a signal that lands just before the worker blocks on the queue's
    # lock, and the pool's exit then waits for ever.
    signal.signal(signal.SIGTERM, on_sigterm)
    os.register_at_fork(after_in_child=lambda: signal.signal(
        signal.SIGTERM, signal.SIG_DFL))
    try:
        main()
    except BenchError as e:
        print("bench: FAILED in %s: %s" % (STEP[0], e), file=sys.stderr)
        sys.exit(1)
    except subprocess.CalledProcessError as e:
        print("bench: FAILED in %s: %s exited %s" % (
            STEP[0], e.cmd if isinstance(e.cmd, str) else " ".join(e.cmd),
            e.returncode), file=sys.stderr)
        sys.exit(1)

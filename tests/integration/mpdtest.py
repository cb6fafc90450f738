"""Shared pieces of the integration tests: a real mpd in a private
temporary directory, the real mpctl, raw socket clients, and /proc scans.

Every wait here is on a condition with a deadline; nothing sleeps and hopes.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.environ.get("MPD_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
MPD = os.path.join(BUILD, "mpd")
MPCTL = os.path.join(BUILD, "mpctl")
# The Python package (mpd.Pool, the runtime python3 -m mpd.worker).
PYDIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..",
                                     "clients", "python"))
# Sanitizer builds run slower; deadlines scale with this.
SLOW = float(os.environ.get("MPD_TEST_SLOW", "1"))

EXIT_OK, EXIT_JOB_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_UNREACHABLE, EXIT_TIMEOUT, EXIT_NOT_FOUND, EXIT_REFUSED = 3, 4, 5, 6


def log_path(tmp, job, ext):
    """Where the daemon in tmp keeps a job's log (a directory per thousand
    jobs)."""
    return os.path.join(tmp, "logs", str(job // 1000), "%d.%s" % (job, ext))


def wait_for(pred, timeout=10.0, what="a condition"):
    """Calls pred until it returns something true; fails at the deadline."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


def proc_status(pid):
    """The fields of /proc/PID/status as a dict, or None when gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            fields = {}
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
            return fields
    except (FileNotFoundError, ProcessLookupError):
        return None


def children_of(pid):
    """[(pid, state letter, comm)] of the processes whose parent is pid."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_status(int(name))
        if st is None or st.get("PPid") != str(pid):
            continue
        found.append((int(name), st.get("State", "?")[0], st.get("Name")))
    return found


class RawClient:
    """A raw socket client: send lines, read reply lines, match req tags."""

    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout * SLOW)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""
        self.kept = []
        self.tag = 0

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        """Sends a request; gives it a req tag if it has none. Returns it."""
        if "req" not in obj:
            self.tag += 1
            obj = dict(obj, req=self.tag)
        self.send_raw(json.dumps(obj).encode() + b"\n")
        return obj["req"]

    def read_line(self):
        """The next raw reply line (bytes), or None at end of file."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                # A daemon that closes with our input unread resets.
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def recv(self):
        """The next reply as an object, or None at end of file."""
        if self.kept:
            return self.kept.pop(0)
        line = self.read_line()
        return None if line is None else json.loads(line)

    def wait(self, tag):
        """The reply carrying this req tag."""
        for i, r in enumerate(self.kept):
            if r.get("req") == tag:
                return self.kept.pop(i)
        while True:
            line = self.read_line()
            if line is None:
                raise AssertionError("connection closed before reply %r"
                                     % (tag,))
            r = json.loads(line)
            if r.get("req") == tag:
                return r
            self.kept.append(r)

    def call(self, obj):
        return self.wait(self.send(obj))


class Daemon:
    """A real mpd on a temporary socket and database."""

    def __init__(self, workers=2, args=(), tmp=None, env=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="mpdtest-")
        self.env = dict(env or {})      # added to the daemon's environment
        self.expect = None      # workers in all, when all_workers is wrong
        self.socket = os.path.join(self.tmp, "mpd.sock")
        self.db = os.path.join(self.tmp, "mpd.db")
        self.workers = workers
        self.args = list(args)
        self.proc = None
        self.logs = []

    def start(self, wait=True):
        log = open(os.path.join(self.tmp, "mpd.log"), "ab")
        # An empty configuration: a machine's own mpd.conf stays out.
        cmd = [MPD, "--config", os.devnull, "--socket", self.socket,
               "--db", self.db,
               "--workers", str(self.workers), "--test-tasks",
               "--log-level", "debug", "--grace", "1"] + self.args
        # The Python pool only where a test asks for one.
        if "--python-pool" not in self.args:
            cmd += ["--python-pool", "no"]
        env = dict(os.environ, **self.env)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (PYDIR, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, env=env)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("mpd exited with %d:\n%s"
                                     % (self.proc.returncode, self.log()))
            try:
                c = RawClient(self.socket)
            except OSError:
                return False
            r = c.call({"op": "hello"})
            c.close()
            return r.get("ok")
        wait_for(ready, 20, "mpd to answer hello")
        wait_for(lambda: len(self.worker_pids()) == self.all_workers(), 20,
                 "all workers to start")

    def all_workers(self):
        """Workers in all pools: --workers, and each --pool NAME=SIZE of
        the builtin runtime (a runtime's slots start on demand)."""
        if self.expect is not None:
            return self.expect
        n, pools = self.workers, {}
        for flag, value in zip(self.args, self.args[1:]):
            if flag == "--pool":
                name, _, size = value.partition("=")
                size, _, runtime = size.partition(":")
                pools[name] = int(size) if runtime in ("", "builtin") else 0
        if "default" in pools:
            n = pools.pop("default")
        return n + sum(pools.values())

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            with open(os.path.join(self.tmp, "mpd.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def client(self):
        return RawClient(self.socket)

    def call(self, obj):
        c = self.client()
        try:
            return c.call(obj)
        finally:
            c.close()

    def mpctl(self, *args, input=None, timeout=60):
        env = dict(os.environ, MPD_SOCKET=self.socket)
        return subprocess.run([MPCTL] + [str(a) for a in args], env=env,
                              input=input, capture_output=True, text=True,
                              timeout=timeout * SLOW)

    def status(self):
        r = self.call({"op": "status"})
        assert r["ok"], r
        return r

    def worker_pids(self):
        """Pids of live workers, read from /proc (comm "worker-N")."""
        return [p for p, state, comm in children_of(self.pid)
                if comm.startswith("worker-") and state != "Z"]

    def zombies(self):
        return [(p, comm) for p, state, comm in children_of(self.pid)
                if state == "Z"]

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            raise AssertionError("mpd did not exit:\n" + self.log())

    def stop(self, sig=signal.SIGTERM):
        """Stops the daemon; returns its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        return self.wait_exit()

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


class MpdTestCase(unittest.TestCase):
    """Starts a daemon per test; stops it cleanly and checks the exit."""

    workers = 2
    daemon_args = ()
    daemon_env = {}

    def setUp(self):
        self.d = Daemon(self.workers, self.daemon_args, env=self.daemon_env)
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def tearDown(self):
        if self.d.proc is not None and self.d.proc.poll() is None:
            rc = self.d.stop()
            if rc != 0:
                sys.stderr.write(self.d.log())
            self.assertEqual(rc, 0, "mpd should exit 0 after SIGTERM")
        self.assertFalse(os.path.exists(self.d.socket),
                         "the socket file should be removed at exit")

    def submit(self, task, *args, **fields):
        r = self.d.call(dict({"op": "submit", "task": task,
                              "args": list(args)}, **fields))
        self.assertTrue(r["ok"], r)
        return r["job"]

    def get(self, job, timeout=None):
        req = {"op": "get", "job": job}
        if timeout is not None:
            req["timeout"] = timeout
        return self.d.call(req)


# CTest's SKIP_RETURN_CODE: a file with a skipped test reports itself
# skipped, not passed, so that scripts/test sees every skip.
SKIP = 77


def main():
    """Runs the file's tests: exits 1 when one failed, else 77 when one was
    skipped (each reason printed), else 0."""
    result = unittest.main(verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped:
        for test, why in result.skipped:
            print("SKIPPED %s: %s" % (test.id(), why))
        sys.exit(SKIP)
    sys.exit(0)

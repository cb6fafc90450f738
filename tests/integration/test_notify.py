"""systemd notification, through a datagram socket as NOTIFY_SOCKET (no
running systemd needed): READY=1 once the socket accepts, STATUS= as jobs
run, WATCHDOG=1 at half of WATCHDOG_USEC from the loop (and none while the
loop does not turn), STOPPING=1 on SIGTERM. Skipped when mpd was built
without libsystemd (it then says nothing)."""
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (MPD, SLOW, Daemon, RawClient, main,  # noqa: E402
                     wait_for)


class Notify(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(2)
        self.addCleanup(self.d.cleanup)
        self.path = os.path.join(self.d.tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.addCleanup(self.sock.close)
        self.got = []       # (monotonic time, message)
        self.d.env.update(NOTIFY_SOCKET=self.path,
                          WATCHDOG_USEC=str(int(0.2e6)))

    def read(self, timeout):
        """Messages that arrive within timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return
            for line in data.decode().splitlines():
                self.got.append((time.monotonic(), line))

    def until(self, pred, timeout, what):
        deadline = time.monotonic() + timeout * SLOW
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError("no %s in %r" % (what, self.got[-20:]))
            self.read(0.05)

    def messages(self, prefix):
        return [m for _, m in self.got if m.startswith(prefix)]

    def test_ready_status_watchdog_stopping(self):
        self.d.start(wait=False)
        self.read(0.5 * SLOW)
        if not self.got:
            self.read(5 * SLOW)
        if not self.got:
            self.skipTest("mpd says nothing: built without libsystemd")
        self.until(lambda: self.messages("READY=1"), 20, "READY=1")
        # Ready means the socket takes clients at once.
        c = RawClient(self.d.socket)
        self.assertTrue(c.call({"op": "hello"})["ok"])
        self.until(lambda: self.messages("STATUS="), 10, "STATUS=")
        self.assertIn("default 0/2 busy", self.messages("STATUS=")[-1])
        j = c.call({"op": "submit", "task": "sleep", "args": [30]})["job"]
        self.until(lambda: "default 1/2 busy; 1 running" in
                   self.messages("STATUS=")[-1], 10, "a busy STATUS=")
        # The watchdog: every 0.1 s while the loop turns.
        n = len(self.messages("WATCHDOG=1"))
        self.read(1.0)
        self.assertGreaterEqual(len(self.messages("WATCHDOG=1")) - n, 5)
        # A loop that does not turn (the daemon stopped) sends none.
        self.d.send_signal(signal.SIGSTOP)
        time.sleep(0.05)
        self.got.clear()
        self.read(0.6)
        self.assertEqual(self.messages("WATCHDOG=1"), [])
        self.d.send_signal(signal.SIGCONT)
        self.until(lambda: self.messages("WATCHDOG=1"), 10, "WATCHDOG=1")
        c.call({"op": "cancel", "job": j})
        c.close()
        self.d.send_signal(signal.SIGTERM)
        self.until(lambda: self.messages("STOPPING=1"), 20, "STOPPING=1")
        self.assertEqual(self.d.wait_exit(), 0)


class SocketActivation(unittest.TestCase):
    """A listening socket passed as fd 3 with LISTEN_FDS=1 and LISTEN_PID,
    as systemd's socket units do: mpd serves on it, and leaves its file
    (systemd's) at exit. Skipped without libsystemd."""

    def test_jobs_run_through_the_passed_socket(self):
        d = Daemon(2)
        self.addCleanup(d.cleanup)
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(d.socket)
        lsock.listen(16)
        self.addCleanup(lsock.close)
        log = open(os.path.join(d.tmp, "mpd.log"), "ab")
        # sh's pid is mpd's once it execs: LISTEN_PID names mpd.
        d.proc = subprocess.Popen(
            ["sh", "-c", 'LISTEN_FDS=1 LISTEN_PID=$$ exec "$@" 3<&%d'
             % lsock.fileno(), "sh", MPD, "--config", os.devnull,
             "--socket", d.socket, "--db", d.db, "--workers", "2",
             "--test-tasks", "--python-pool", "no"],
            pass_fds=(lsock.fileno(),), stdout=log, stderr=log,
            stdin=subprocess.DEVNULL)
        log.close()
        lsock.close()
        wait_for(lambda: "ready" in d.log() or d.proc.poll() is not None,
                 20, "mpd to start")
        if "listening on the socket systemd passed" not in d.log():
            self.assertIsNone(d.proc.poll(), d.log())
            self.skipTest("mpd built without libsystemd")
        c = RawClient(d.socket)
        j = c.call({"op": "submit", "task": "square", "args": [7]})["job"]
        self.assertEqual(c.call({"op": "get", "job": j})["result"], 49)
        c.close()
        self.assertEqual(d.stop(), 0)
        # The socket's file is systemd's: it stays.
        self.assertTrue(os.path.exists(d.socket))

    def test_a_passed_socket_of_another_kind_is_refused(self):
        d = Daemon(1)
        self.addCleanup(d.cleanup)
        u = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(u.close)
        u.bind(("127.0.0.1", 0))
        u.listen(1)
        p = subprocess.run(
            ["sh", "-c", 'LISTEN_FDS=1 LISTEN_PID=$$ exec "$@" 3<&%d'
             % u.fileno(), "sh", MPD, "--config", os.devnull, "--socket",
             d.socket, "--db", d.db], pass_fds=(u.fileno(),),
            capture_output=True, text=True, timeout=30)
        if p.returncode == 0 or "systemd" not in p.stderr:
            self.skipTest("mpd built without libsystemd")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a listening Unix stream socket", p.stderr)


if __name__ == "__main__":
    main()

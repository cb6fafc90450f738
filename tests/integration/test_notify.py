"""systemd notification, through a datagram socket as NOTIFY_SOCKET (no
running systemd needed): READY=1 once the socket accepts, STATUS= as jobs
run, WATCHDOG=1 at half of WATCHDOG_USEC from the loop (and none while the
loop does not turn), STOPPING=1 on SIGTERM. Skipped when mpd was built
without libsystemd (it then says nothing)."""
import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import SLOW, Daemon, RawClient, main, wait_for  # noqa: E402


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


if __name__ == "__main__":
    main()

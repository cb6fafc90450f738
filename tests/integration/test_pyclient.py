"""The Python package's connection (clients/python/mpd) against a real mpd:
it finds the socket as mpd does, checks who answers, and carries requests
and pipelined replies."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
import mpd  # noqa: E402
from mpdtest import MpdTestCase, main  # noqa: E402


class PythonClient(MpdTestCase):
    def test_submit_and_get(self):
        with mpd.Client(self.d.socket) as c:
            hello = c.call({"op": "hello"})
            self.assertTrue(hello["ok"])
            job = c.call({"op": "submit", "task": "square", "args": [7]})
            r = c.call({"op": "get", "job": job["job"], "timeout": 30})
            self.assertEqual((r["state"], r["result"]), ("done", 49))

    def test_pipelined_replies_are_matched_by_tag(self):
        with mpd.Client(self.d.socket) as c:
            slow = c.send({"op": "submit", "task": "sleep",
                           "args": [0.2, "slow"]})
            fast = c.send({"op": "submit", "task": "echo", "args": ["x"]})
            ids = {c.wait(fast)["job"]: "fast", c.wait(slow)["job"]: "slow"}
            waits = {c.send({"op": "get", "job": j, "timeout": 30}): name
                     for j, name in ids.items()}
            for tag, name in waits.items():
                self.assertEqual(c.wait(tag)["state"], "done", name)

    def test_the_default_socket_follows_mpd_socket(self):
        old = os.environ.get("MPD_SOCKET")
        os.environ["MPD_SOCKET"] = self.d.socket
        try:
            self.assertEqual(mpd.default_socket(), self.d.socket)
            with mpd.Client() as c:
                self.assertTrue(c.call({"op": "hello"})["ok"])
        finally:
            if old is None:
                del os.environ["MPD_SOCKET"]
            else:
                os.environ["MPD_SOCKET"] = old

    def test_no_daemon_is_a_clear_error(self):
        with self.assertRaises(mpd.MpdError) as e:
            mpd.Client(self.d.socket + ".missing")
        self.assertIn("is mpd running?", str(e.exception))


if __name__ == "__main__":
    main()

"""The socket protocol through raw clients: pipelining, req tags, get
waits and timeouts, and every kind of bad input."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import MpdTestCase, RawClient, main, wait_for  # noqa: E402


class Pipelining(MpdTestCase):
    def test_many_requests_in_one_write(self):
        c = self.d.client()
        lines = b"".join(b'{"op":"submit","req":%d,"task":"square",'
                         b'"args":[%d]}\n' % (i, i) for i in range(200))
        c.send_raw(lines)
        ids = {}
        for _ in range(200):
            r = c.recv()
            self.assertTrue(r["ok"], r)
            ids[r["req"]] = r["job"]
        self.assertEqual(sorted(ids), list(range(200)))
        c.send_raw(b"".join(b'{"op":"get","req":"g%d","job":%d}\n'
                            % (i, ids[i]) for i in range(200)))
        seen = {}
        for _ in range(200):
            r = c.recv()
            seen[r["req"]] = r["result"]
        self.assertEqual(seen, {"g%d" % i: i * i for i in range(200)})
        c.close()

    def test_replies_to_get_come_as_jobs_end(self):
        c = self.d.client()
        slow = self.submit("sleep", 1, "slow")
        fast = self.submit("sleep", 0.01, "fast")
        c.send({"op": "get", "job": slow, "req": "slow"})
        c.send({"op": "get", "job": fast, "req": "fast"})
        c.send({"op": "hello", "req": "hello"})
        order = [c.recv()["req"] for _ in range(3)]
        self.assertEqual(order[-1], "slow")
        self.assertEqual(set(order[:2]), {"fast", "hello"})
        c.close()

    def test_string_and_integer_tags_echoed(self):
        c = self.d.client()
        for tag in (1, "abc", 0, -7, "x" * 100):
            self.assertEqual(c.call({"op": "hello", "req": tag})["req"], tag)
        r = c.call({"op": "hello", "req": 9})
        self.assertEqual(r["protocol"], 1)
        c.close()


class GetWaits(MpdTestCase):
    def test_timeout_reply_then_result(self):
        job = self.submit("sleep", 1.0, "late")
        t0 = time.monotonic()
        r = self.get(job, timeout=0.2)
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"]["code"], "timeout")
        self.assertIn(r["state"], ("queued", "running"))
        self.assertEqual(r["job"], job)
        self.assertLess(time.monotonic() - t0, 5)
        r = self.get(job)
        self.assertEqual((r["state"], r["result"]), ("done", "late"))

    def test_timeout_zero_answers_at_once(self):
        job = self.submit("sleep", 30)
        r = self.get(job, timeout=0)
        self.assertEqual(r["error"]["code"], "timeout")

    def test_many_waiters_on_one_job(self):
        job = self.submit("sleep", 0.5, 42)
        clients = [self.d.client() for _ in range(20)]
        tags = [c.send({"op": "get", "job": job}) for c in clients]
        for c, t in zip(clients, tags):
            self.assertEqual(c.wait(t)["result"], 42)
            c.close()

    def test_disconnected_waiter_is_freed(self):
        job = self.submit("sleep", 30)
        c = self.d.client()
        c.send({"op": "get", "job": job})
        wait_for(lambda: self.d.status()["waiters"] == 1, 10, "the waiter")
        c.close()
        wait_for(lambda: self.d.status()["waiters"] == 0, 10,
                 "the waiter to be freed")


class BadInput(MpdTestCase):
    CASES = [
        (b"{not json", "bad_json"),
        (b"[1,2,3]", "bad_request"),
        (b'"hello"', "bad_request"),
        (b"42", "bad_request"),
        (b"{}", "bad_request"),
        (b'{"op":7}', "bad_request"),
        (b'{"op":"frobnicate"}', "unknown_op"),
        (b'{"op":"submit"}', "bad_request"),
        (b'{"op":"submit","task":3}', "bad_request"),
        (b'{"op":"submit","task":"square","args":{}}', "bad_request"),
        (b'{"op":"submit","task":"square","kwargs":[]}', "bad_request"),
        (b'{"op":"submit","task":"square","bogus":1}', "bad_request"),
        (b'{"op":"submit","task":"nope","args":[1]}', "unknown_task"),
        (b'{"op":"map","task":"nope","items":[1]}', "unknown_task"),
        (b'{"op":"map","task":"square","items":3}', "bad_request"),
        (b'{"op":"map","task":"square","items":[1],"chunksize":0}',
         "bad_request"),
        (b'{"op":"get","job":"1"}', "bad_request"),
        (b'{"op":"get","job":0}', "bad_request"),
        (b'{"op":"get","job":1,"timeout":-1}', "bad_request"),
        (b'{"op":"get","job":424242}', "not_found"),
        (b'{"op":"status","job":424242}', "not_found"),
        (b'{"op":"cancel","job":424242}', "not_found"),
        (b'{"op":"forget","job":424242}', "not_found"),
        (b'{"op":"list","state":"bogus"}', "bad_request"),
        (b'{"op":"shutdown","mode":"later"}', "bad_request"),
        (b'{"op":"hello","version":99}', "unsupported_version"),
        (b'{"op":"hello","op":"hello"}', "bad_json"),
        (b'{"op":"hello","req":[1]}', "bad_request"),
        (b"\xff\xfe\x00garbage", "bad_json"),
    ]

    def test_each_bad_input_gets_an_error_and_service_goes_on(self):
        c = self.d.client()
        other = self.d.client()
        for line, code in self.CASES:
            c.send_raw(line + b"\n")
            r = c.recv()
            self.assertIsNotNone(r, line)
            self.assertFalse(r["ok"], line)
            self.assertEqual(r["error"]["code"], code, (line, r))
            self.assertTrue(r["error"]["message"], line)
            # The same connection and another one still work.
            self.assertTrue(c.call({"op": "hello"})["ok"])
            self.assertTrue(other.call({"op": "hello"})["ok"])
        c.close()
        other.close()

    def test_tag_echoed_on_errors(self):
        c = self.d.client()
        r = c.call({"op": "get", "job": 424242, "req": "t1"})
        self.assertEqual((r["req"], r["error"]["code"]), ("t1", "not_found"))
        r = c.call({"op": "submit", "req": 5, "task": "nope"})
        self.assertEqual((r["req"], r["error"]["code"]), (5, "unknown_task"))
        c.close()

    def test_messages_are_readable(self):
        r = self.d.call({"op": "get", "job": "7"})
        self.assertIn('"job"', r["error"]["message"])
        self.assertIn("positive integer", r["error"]["message"])
        r = self.d.call({"op": "submit", "task": "nope"})
        self.assertIn("nope", r["error"]["message"])

    def test_empty_lines_are_ignored(self):
        c = self.d.client()
        c.send_raw(b"\n\n\n")
        self.assertTrue(c.call({"op": "hello"})["ok"])
        c.close()


class LineCap(MpdTestCase):
    daemon_args = ("--max-line", "4096")

    def test_long_line_gets_error_and_close(self):
        c = self.d.client()
        c.send_raw(b'{"op":"hello","client":"' + b"x" * 5000 + b'"}\n')
        r = c.recv()
        self.assertEqual(r["error"]["code"], "line_too_long")
        self.assertIsNone(c.recv(), "the connection should be closed")
        c.close()
        self.assertTrue(self.d.call({"op": "hello"})["ok"])

    def test_endless_line_without_newline_is_cut(self):
        c = self.d.client()
        try:
            c.send_raw(b"x" * 100000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.recv()
        self.assertEqual(r["error"]["code"], "line_too_long")
        self.assertIsNone(c.recv())
        c.close()

    def test_just_under_the_cap_is_served(self):
        c = self.d.client()
        pad = 4096 - len(b'{"op":"hello","client":""}')
        c.send_raw(b'{"op":"hello","client":"' + b"y" * pad + b'"}\n')
        self.assertTrue(c.recv()["ok"])
        c.close()


class BackPressure(MpdTestCase):
    def test_client_that_does_not_read_is_not_buffered_without_bound(self):
        import threading
        from mpdtest import proc_status
        big = "x" * 10000
        job = self.submit("echo", big)
        self.assertEqual(self.get(job)["state"], "done")
        def rss_kib():
            return int(proc_status(self.d.pid)["VmRSS"].split()[0])
        base = rss_kib()
        c = self.d.client()
        n = 50000   # 500 MB of replies if the daemon buffered them all
        line = b'{"op":"get","job":%d}\n' % job
        sender = threading.Thread(target=c.send_raw, args=(line * n,))
        sender.start()
        # While we do not read, the daemon stops reading from us.
        wait_for(lambda: sender.is_alive() and rss_kib() > 0, 10,
                 "the sender to block")
        peak = 0
        for _ in range(20):
            peak = max(peak, rss_kib())
            if not sender.is_alive():
                break
            sender.join(0.05)
        self.assertTrue(sender.is_alive(),
                        "the daemon took every request without pushing back")
        # Buffering it all would add ~500 MB; back-pressure keeps it to a
        # few MiB (sanitizer builds add their own overhead on top).
        self.assertLess(peak - base, 150 * 1024,
                        "daemon RSS grew from %d to %d KiB" % (base, peak))
        for i in range(n):
            r = c.recv()
            self.assertEqual(len(r["result"][0]), len(big), i)
        sender.join(10)
        self.assertTrue(self.d.call({"op": "hello"})["ok"])
        c.close()


class ManyClients(MpdTestCase):
    def test_hundred_connections_at_once(self):
        clients = [self.d.client() for _ in range(100)]
        tags = [c.send({"op": "submit", "task": "square", "args": [i]})
                for i, c in enumerate(clients)]
        jobs = [c.wait(t)["job"] for c, t in zip(clients, tags)]
        for i, (c, j) in enumerate(zip(clients, jobs)):
            self.assertEqual(c.call({"op": "get", "job": j})["result"],
                             i * i)
            c.close()

    def test_client_vanishing_mid_line(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.d.socket)
        s.sendall(b'{"op":"sub')
        s.close()
        self.assertTrue(self.d.call({"op": "hello"})["ok"])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The WAL checkpointer: a thread of mpd's own copies a burst's pages from
the write-ahead log into the database file a moment after the burst, so the
event loop never does it inside a commit; at a stop nothing is left behind.

Run as: MPD_BUILD_DIR=build python3 tests/integration/test_checkpoint.py
"""
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mpdtest import MpdTestCase, main, wait_for  # noqa: E402


class Checkpoint(MpdTestCase):
    workers = 2

    def test_a_burst_reaches_the_database_file_soon_after(self):
        pid = self.d.pid
        # The loop and the checkpointer.
        self.assertEqual(len(os.listdir("/proc/%d/task" % pid)), 2)
        before = os.path.getsize(self.d.db)
        c = self.d.client()
        self.addCleanup(c.close)
        payload = "x" * 50000
        data = b"".join(json.dumps({"op": "submit", "task": "echo",
                                    "args": [payload, i], "req": i}).encode()
                        + b"\n" for i in range(100))
        c.send_raw(data)
        ids = [c.wait(i)["job"] for i in range(100)]
        for j in ids:
            self.assertEqual(c.call({"op": "get", "job": j,
                                     "timeout": 60})["state"], "done")
        # Some 10 MB went through the log (args and results: less than
        # the cap past which the loop would copy them itself); the file
        # gets them once the burst is over, with no request.
        wait_for(lambda: os.path.getsize(self.d.db) > before + 8e6, 20,
                 "the log's pages to reach the database file")
        self.assertTrue(c.call({"op": "hello"})["ok"])
        self.assertEqual(self.d.stop(), 0)
        self.assertFalse(os.path.exists(self.d.db + "-wal"))


    def burst(self, c, n, size):
        base = c.tag
        data = b"".join(json.dumps({"op": "submit", "task": "echo",
                                    "args": ["y" * size, i],
                                    "req": base + i + 1}).encode() + b"\n"
                        for i in range(n))
        c.tag += n
        c.send_raw(data)
        return [c.wait(base + i + 1) for i in range(n)]

    def test_a_reader_of_an_old_snapshot_does_not_stall_commits(self):
        # An admin's shell in the middle of a read holds the log back;
        # past the log's cap the daemon must go on committing, not wait
        # for it (a blocking checkpoint waited 2 s on every commit).
        reader = sqlite3.connect(self.d.db, isolation_level=None)
        self.addCleanup(reader.close)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM jobs").fetchone()
        c = self.d.client()
        self.addCleanup(c.close)
        for _ in range(3):
            replies = self.burst(c, 100, 60000)
            self.assertTrue(all(r["ok"] for r in replies))
        self.assertGreater(os.path.getsize(self.d.db + "-wal"), 40e6)
        self.assertTrue(c.call({"op": "hello"})["ok"])
        reader.execute("COMMIT")


if __name__ == "__main__":
    main()

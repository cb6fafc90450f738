#!/usr/bin/env python3
"""Long maps: a request line over 4 KiB has its items checked and cut into
chunks as text, never built item by item. What must hold: every kind of
item comes back exactly as jansson would have read it, items it does not
cut (objects) take the slow path with the same result, and a bad or
doubtful line gets the same answer as a short one would.

Run as: MPD_BUILD_DIR=build python3 tests/integration/test_bigmap.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mpdtest import MpdTestCase, main  # noqa: E402

# One of each kind of item, with the escapes and limits of each.
KINDS = [0, -0, 7, -9223372036854775808, 9223372036854775807, 2.5, -1e-300,
         1e308, "", "plain", "é€😀", "quote \" slash \\ nl \n tab \t",
         "\u0001\u001f", None, True, False, [], [1, [2, [3]]], ["a", None]]


class BigMap(MpdTestCase):
    workers = 2

    def map_raw(self, line):
        c = self.d.client()
        self.addCleanup(c.close)
        c.send_raw(line)
        return c.recv(), c

    def run_map(self, items, task="echo", **fields):
        r = self.d.call(dict({"op": "map", "task": task, "items": items},
                             **fields))
        self.assertTrue(r["ok"], r)
        g = self.d.call({"op": "get", "job": r["job"], "timeout": 60})
        self.assertEqual(g["state"], "done", g)
        return r, g["result"]

    def test_every_kind_of_item_comes_back_as_sent(self):
        items = KINDS * 300
        r, result = self.run_map(items, chunksize=7)
        self.assertEqual(r["items"], len(items))
        self.assertEqual(result, [[x] for x in items])

    def test_spacing_and_unicode_escapes_inside_the_array(self):
        inner = ' , '.join(['"\\u00e9\\ud83d\\ude00"', ' 1 ', '[ ]',
                            '-0.0e0'] * 400)
        line = ('{"op":"map","task":"echo","items":[ %s ],"req":1}\n'
                % inner).encode()
        self.assertGreater(len(line), 4096)
        r, c = self.map_raw(line)
        self.assertTrue(r["ok"], r)
        g = c.call({"op": "get", "job": r["job"], "timeout": 60})
        self.assertEqual(g["result"],
                         [["é😀"], [1], [[]], [-0.0]] * 400)

    def test_items_with_objects_take_the_slow_path_alike(self):
        items = [{"k": i, "v": [i, str(i)]} for i in range(500)]
        _, result = self.run_map(items)
        self.assertEqual(result, [[x] for x in items])

    def test_a_big_square_map_in_order(self):
        n = 100000
        _, result = self.run_map(list(range(n)), task="square")
        self.assertEqual(result, [i * i for i in range(n)])

    def test_bad_lines_get_the_answers_short_ones_get(self):
        good = ",".join(["1"] * 3000)
        cases = [
            # A bad number inside the items.
            ('{"op":"map","task":"echo","items":[%s,01]}' % good,
             "bad_json"),
            # A lone surrogate, and a NUL escape.
            ('{"op":"map","task":"echo","items":[%s,"\\ud800"]}' % good,
             "bad_json"),
            ('{"op":"map","task":"echo","items":[%s,"\\u0000"]}' % good,
             "bad_json"),
            # Items twice.
            ('{"op":"map","task":"echo","items":[%s],"items":[1]}' % good,
             "bad_json"),
            # A duplicate key inside an object item.
            ('{"op":"map","task":"echo","items":[%s,{"a":1,"a":2}]}' % good,
             "bad_json"),
            # Broken after the items.
            ('{"op":"map","task":"echo","items":[%s],"chunksize":}' % good,
             "bad_json"),
            # Fine JSON, but not a valid map.
            ('{"op":"map","task":"echo","items":[%s],"chunksize":0}' % good,
             "bad_request"),
            ('{"op":"map","task":"nope","items":[%s]}' % good,
             "unknown_task"),
        ]
        c = self.d.client()
        self.addCleanup(c.close)
        for line, code in cases:
            self.assertGreater(len(line), 4096)
            c.send_raw(line.encode() + b"\n")
            r = c.recv()
            self.assertFalse(r["ok"], line[-60:])
            self.assertEqual(r["error"]["code"], code, (line[-60:], r))
        # And it goes on serving on the same connection.
        self.assertTrue(c.call({"op": "hello"})["ok"])

    def test_the_item_cap_counts_items_left_as_text(self):
        self.d.stop()
        from mpdtest import Daemon
        self.d = Daemon(2, ["--max-items", "1000"], tmp=self.d.tmp)
        self.d.start()
        c = self.d.client()
        self.addCleanup(c.close)
        r = c.call({"op": "map", "task": "square",
                    "items": list(range(1001))})
        self.assertEqual(r["error"]["code"], "too_many_items", r)
        r = c.call({"op": "map", "task": "square",
                    "items": list(range(1000))})
        self.assertTrue(r["ok"], r)


if __name__ == "__main__":
    main()

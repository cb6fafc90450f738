"""Untrusted text never reaches a terminal raw. A job's name, an error
message or a command chosen by one user is printed by mpctl list, status
and get with its control characters escaped, so listing jobs cannot set
the lister's title or colours; --json stays exact, and a job's own output
(run, logs) stays raw, since the user asked for exactly that."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import MpdTestCase, main  # noqa: E402

NAME = "x\x1b]0;OWNED\x07\x1b[31mred\u009b2J"
SHOWN = "x\\x1b]0;OWNED\\x07\\x1b[31mred\\u009b2J"


class Escaped(MpdTestCase):
    def assert_clean(self, text):
        for ch in ("\x1b", "\x07", "\u009b"):
            self.assertNotIn(ch, text)

    def test_names_in_list_and_status(self):
        job = self.submit("echo", 1, name=NAME)
        self.get(job, timeout=30)
        r = self.d.mpctl("list")
        self.assert_clean(r.stdout)
        self.assertIn(SHOWN, r.stdout)
        r = self.d.mpctl("status", job)
        self.assert_clean(r.stdout)
        self.assertIn("name:     " + SHOWN, r.stdout)
        # --json is the exact text.
        listed = json.loads(self.d.mpctl("list", "--json").stdout)
        self.assertEqual(listed[0]["name"], NAME)

    def test_error_messages(self):
        job = self.submit("fail", "bad \x1b[2J\x1b]0;OWNED\x07 news")
        r = self.d.mpctl("get", "--timeout", "30", job)
        self.assertEqual(r.returncode, 1)
        self.assert_clean(r.stderr)
        self.assertIn("bad \\x1b[2J\\x1b]0;OWNED\\x07 news", r.stderr)
        r = self.d.mpctl("status", job)
        self.assert_clean(r.stdout)
        self.assertIn("\\x1b[2J", r.stdout)

    def test_results_in_json_carry_no_raw_controls(self):
        # jansson leaves DEL and the C1 controls raw; mpctl writes them as
        # \u escapes, which is the same JSON value.
        value = "a\u009b2Jb\x7fc\x1b[31m"
        job = self.submit("echo", value)
        r = self.d.mpctl("get", "--timeout", "30", job)
        self.assert_clean(r.stdout)
        self.assertNotIn("\x7f", r.stdout)
        self.assertEqual(json.loads(r.stdout), [value])

    def test_a_jobs_own_output_stays_raw(self):
        r = self.d.mpctl("run", "--", "printf", "\\033[1mbold\\033[0m\\n")
        self.assertEqual(r.stdout, "\x1b[1mbold\x1b[0m\n")
        r = self.d.mpctl("logs", 1)
        self.assertEqual(r.stdout, "\x1b[1mbold\x1b[0m\n")


if __name__ == "__main__":
    main(root=False)

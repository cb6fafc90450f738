#!/usr/bin/env python3
"""mpctl run, map exec and logs: the command-line side of exec jobs, through
the real mpctl against a real daemon.

Run as: MPD_BUILD_DIR=build python3 tests/integration/test_run.py
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mpdtest import (MPCTL, EXIT_JOB_FAILED, EXIT_TIMEOUT,  # noqa: E402
                     MpdTestCase, SLOW, main, wait_for)


class Run(MpdTestCase):
    daemon_args = ("--kill-grace", "1")

    def test_exit_code_and_streams_pass_through(self):
        r = self.d.mpctl("run", "--", "sh", "-c",
                         "echo out; echo err >&2; exit 3")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (3, "out\n", "err\n"))
        self.assertEqual(self.d.mpctl("run", "true").returncode, 0)

    def test_killed_by_a_signal_is_128_plus_it(self):
        r = self.d.mpctl("run", "--", "sh", "-c", "kill -TERM $$")
        self.assertEqual(r.returncode, 128 + 15)

    def test_not_found_is_127(self):
        r = self.d.mpctl("run", "--", "no-such-program-here")
        self.assertEqual(r.returncode, 127)
        self.assertIn("No such file or directory", r.stderr)

    def test_time_limit_is_the_timeout_code(self):
        start = time.monotonic()
        r = self.d.mpctl("run", "--timeout", "0.5", "--", "sleep", "60")
        took = time.monotonic() - start
        self.assertEqual(r.returncode, EXIT_TIMEOUT, r.stderr)
        self.assertIn("time limit", r.stderr)
        self.assertLess(took, 10 * SLOW)

    def test_cwd_env_and_stdin(self):
        with tempfile.TemporaryDirectory() as here:
            r = subprocess.run(
                [MPCTL, "run", "--stdin", "-e", "GREETING=hi", "--", "sh",
                 "-c", 'pwd; echo "$GREETING"; cat'], cwd=here,
                env=dict(os.environ, MPD_SOCKET=self.d.socket),
                input="from stdin\n", capture_output=True, text=True,
                timeout=60 * SLOW)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.splitlines(),
                             [os.path.realpath(here), "hi", "from stdin"])

    def test_binary_output_is_exact(self):
        r = subprocess.run([MPCTL, "run", "--", "sh", "-c",
                            "printf 'a\\000b\\377c'; head -c 300000 "
                            "/dev/zero"],
                           env=dict(os.environ, MPD_SOCKET=self.d.socket),
                           capture_output=True, timeout=60 * SLOW)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"a\0b\xffc" + b"\0" * 300000)

    def test_a_reader_that_goes_away_cancels_the_command(self):
        # "mpctl run yes | head -1": yes would run for ever.
        p = subprocess.run(
            "%s run yes | head -1; echo ${PIPESTATUS[0]}" % MPCTL,
            shell=True, executable="/bin/bash", capture_output=True,
            text=True, env=dict(os.environ, MPD_SOCKET=self.d.socket),
            timeout=60 * SLOW)
        self.assertEqual(p.stdout.splitlines(), ["y", "141"])
        jobs = self.d.call({"op": "list"})["jobs"]
        self.assertEqual(jobs[-1]["state"], "cancelled")

    def test_submit_args_are_words(self):
        job = int(self.d.mpctl("submit", "exec", "echo", "1", "[2]").stdout)
        r = self.d.call({"op": "get", "job": job})
        self.assertEqual(r["result"]["stdout"], "1 [2]\n")


class MapExec(MpdTestCase):
    def test_placeholders(self):
        r = self.d.mpctl("map", "exec", "--", "echo", "{}", "{.}", "{/}",
                         "{//}", "{/.}", "{#}", ":::", "a/b.c", "d.e/f",
                         "plain")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "a/b.c a/b b.c a b 1",
            "d.e/f d.e/f f d.e f 2",
            "plain plain plain . plain 3"])

    def test_item_appended_and_items_from_stdin_in_order(self):
        # Later items finish first; output still comes in item order.
        r = self.d.mpctl("map", "exec", "--", "sh", "-c",
                         'sleep "$1"; echo "$1"', "sh",
                         input="0.6\n0.3\n\n0\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["0.6", "0.3", "0"])

    def test_failures_are_summed_up(self):
        r = self.d.mpctl("map", "exec", "--", "sh", "-c", "exit {}", ":::",
                         "0", "3", "0", "5")
        self.assertEqual(r.returncode, EXIT_JOB_FAILED)
        self.assertIn("2 of 4 commands failed", r.stderr)
        self.assertIn("item 2", r.stderr)
        self.assertIn("item 4", r.stderr)
        self.assertIn("status 3", r.stderr)

    def test_json(self):
        r = self.d.mpctl("map", "--json", "exec", "--", "echo", ":::", "x",
                         "y")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual([o["stdout"] for o in out], ["x\n", "y\n"])


class Logs(MpdTestCase):
    def test_follow_a_running_job(self):
        with tempfile.TemporaryDirectory() as tmp:
            gate = os.path.join(tmp, "gate")
            job = int(self.d.mpctl(
                "submit", "shell", "echo first; while [ ! -e %s ]; do "
                "sleep 0.05; done; echo second >&2" % gate).stdout)
            p = subprocess.Popen([MPCTL, "logs", "--follow", str(job)],
                                 env=dict(os.environ,
                                          MPD_SOCKET=self.d.socket),
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            self.addCleanup(p.kill)
            # The first line comes while the job still runs.
            self.assertEqual(p.stdout.readline(), "first\n")
            self.assertEqual(self.d.call({"op": "status", "job": job})
                             ["job"]["state"], "running")
            self.assertIsNone(p.poll())
            open(gate, "w").close()
            out, err = p.communicate(timeout=30 * SLOW)
            self.assertEqual((p.returncode, out, err), (0, "", "second\n"))

    def test_logs_of_an_ended_job_and_a_missing_one(self):
        job = int(self.d.mpctl("submit", "exec", "echo", "done").stdout)
        wait_for(lambda: self.d.call({"op": "get", "job": job})
                 .get("state") == "done", 10, "the job")
        r = self.d.mpctl("logs", job)
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"))
        self.assertEqual(self.d.mpctl("logs", "99999").returncode, 5)


if __name__ == "__main__":
    main()

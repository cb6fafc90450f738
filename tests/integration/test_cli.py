"""mpctl end to end: output, argument parsing, exit codes, --help."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (EXIT_JOB_FAILED, EXIT_NOT_FOUND, EXIT_REFUSED,  # noqa
                     EXIT_TIMEOUT, EXIT_UNREACHABLE, EXIT_USAGE, MPCTL,
                     MpdTestCase, main, wait_for)
import subprocess  # noqa: E402

COMMANDS = ["submit", "get", "map", "status", "list", "cancel", "forget",
            "shutdown"]


class Cli(MpdTestCase):
    def test_submit_prints_id_alone_and_args_are_json_or_strings(self):
        r = self.d.mpctl("submit", "echo", "hello", "3", "[1,2]", "{x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^[0-9]+\n$")
        g = self.d.mpctl("get", r.stdout.strip())
        self.assertEqual(json.loads(g.stdout), ["hello", 3, [1, 2], "{x"])

    def test_submit_name_priority_kwargs(self):
        r = self.d.mpctl("submit", "--name", "n1", "--priority", "5",
                         "--kwargs", '{"k":1}', "square", "2")
        job = int(r.stdout)
        st = self.d.call({"op": "status", "job": job})["job"]
        self.assertEqual((st["name"], st["priority"], st["kwargs"]),
                         ("n1", 5, {"k": 1}))
        bad = self.d.mpctl("submit", "--kwargs", "[1]", "square", "2")
        self.assertEqual(bad.returncode, EXIT_USAGE)

    def test_failed_job_exit_code_and_stderr(self):
        job = self.d.mpctl("submit", "fail", "it broke").stdout.strip()
        r = self.d.mpctl("get", job)
        self.assertEqual(r.returncode, EXIT_JOB_FAILED)
        self.assertEqual(r.stdout, "")
        self.assertIn("it broke", r.stderr)

    def test_square_overflow_is_an_error_not_a_wrapped_number(self):
        job = self.d.mpctl("submit", "square", "4294967296").stdout.strip()
        r = self.d.mpctl("get", job)
        self.assertEqual(r.returncode, EXIT_JOB_FAILED, r.stdout)
        self.assertIn("64-bit", r.stderr)
        job = self.d.mpctl("submit", "square", "3037000499").stdout.strip()
        self.assertEqual(self.d.mpctl("get", job).stdout,
                         "9223372030926249001\n")
        job = self.d.mpctl("submit", "square", "1.5").stdout.strip()
        self.assertEqual(json.loads(self.d.mpctl("get", job).stdout), 2.25)

    def test_get_timeout_exit_code(self):
        job = self.d.mpctl("submit", "sleep", "30").stdout.strip()
        r = self.d.mpctl("get", "--timeout", "0.2", job)
        self.assertEqual(r.returncode, EXIT_TIMEOUT, r.stderr)
        self.assertIn("timeout", r.stderr)

    def test_not_found_and_unknown_task(self):
        r = self.d.mpctl("get", "999999")
        self.assertEqual(r.returncode, EXIT_NOT_FOUND)
        self.assertIn("999999", r.stderr)
        for cmd in ("status", "cancel", "forget"):
            self.assertEqual(self.d.mpctl(cmd, "999999").returncode,
                             EXIT_NOT_FOUND, cmd)
        r = self.d.mpctl("submit", "no-such-task")
        self.assertEqual(r.returncode, EXIT_REFUSED)
        self.assertIn("no-such-task", r.stderr)

    def test_usage_errors(self):
        for args in (["get"], ["get", "abc"], ["get", "0"], ["submit"],
                     ["map"], ["list", "--state", "bogus"], ["frobnicate"],
                     ["get", "--timeout", "-1", "3"], []):
            r = self.d.mpctl(*args)
            self.assertEqual(r.returncode, EXIT_USAGE, args)
            self.assertTrue(r.stderr, args)

    def test_help_everywhere(self):
        for args in (["--help"], ["help"]):
            r = self.d.mpctl(*args)
            self.assertEqual(r.returncode, 0)
            for c in COMMANDS:
                self.assertIn(c, r.stdout)
        for c in COMMANDS:
            for args in ([c, "--help"], ["help", c]):
                r = self.d.mpctl(*args)
                self.assertEqual(r.returncode, 0, args)
                self.assertIn("usage: mpctl " + c, r.stdout)

    def test_unreachable(self):
        sock = os.path.join(tempfile.mkdtemp(), "none.sock")
        r = subprocess.run([MPCTL, "--socket", sock, "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, EXIT_UNREACHABLE)
        self.assertIn("none.sock", r.stderr)

    def test_status_pool_json_and_text(self):
        r = self.d.mpctl("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = json.loads(r.stdout)
        self.assertEqual(len(st["workers"]), 2)
        for w in st["workers"]:
            self.assertIn(w["state"], ("idle", "busy"))
            self.assertTrue(w["name"].startswith("worker-"))
            self.assertIn(w["pid"], self.d.worker_pids())
        self.assertIn("queued", st["jobs"])
        # The store's size, as the files on disk have it, and its room.
        size = sum(os.path.getsize(p) for p in (self.d.db,
                                                self.d.db + "-wal")
                   if os.path.exists(p))
        # (The checkpointer may copy a page meanwhile.)
        self.assertGreater(st["store"]["db_bytes"], 0)
        self.assertAlmostEqual(st["store"]["db_bytes"], size, delta=1 << 20)
        st_vfs = os.statvfs(self.d.tmp)
        self.assertAlmostEqual(st["store"]["disk_free"],
                               st_vfs.f_bavail * st_vfs.f_frsize,
                               delta=64 << 20)
        text = self.d.mpctl("status").stdout
        self.assertIn("worker-1", text)
        self.assertIn("worker-2", text)
        self.assertIn("MB of database", text)

    def test_status_shows_busy_worker_and_job(self):
        job = int(self.d.mpctl("submit", "sleep", "30").stdout)
        wait_for(lambda: any(w["job"] == job and w["state"] == "busy"
                             for w in self.d.status()["workers"]),
                 10, "a busy worker running the job")
        st = json.loads(self.d.mpctl("status", "--json", job).stdout)
        self.assertEqual(st["state"], "running")
        self.assertIn(st["worker_pid"], self.d.worker_pids())
        self.assertIn("running", self.d.mpctl("status", job).stdout)

    def test_list_and_state_filter(self):
        a = int(self.d.mpctl("submit", "square", "2").stdout)
        b = int(self.d.mpctl("submit", "fail", "x").stdout)
        self.d.mpctl("get", a)
        self.d.mpctl("get", b)
        jobs = json.loads(self.d.mpctl("list", "--json").stdout)
        self.assertEqual([j["id"] for j in jobs], [a, b])
        failed = json.loads(self.d.mpctl("list", "--json", "--state",
                                         "failed").stdout)
        self.assertEqual([j["id"] for j in failed], [b])
        text = self.d.mpctl("list").stdout
        self.assertIn("square", text)
        self.assertIn("failed", text)

    def test_cancel_queued_and_forget(self):
        workers = [int(self.d.mpctl("submit", "sleep", "30").stdout)
                   for _ in range(2)]
        queued = int(self.d.mpctl("submit", "square", "3").stdout)
        self.assertEqual(self.d.mpctl("cancel", queued).returncode, 0)
        r = self.d.mpctl("get", queued)
        self.assertEqual(r.returncode, EXIT_JOB_FAILED)
        self.assertIn("cancelled", r.stderr)
        # Forget: refused while running, done after the end.
        wait_for(lambda: self.d.call({"op": "status", "job": workers[0]})
                 ["job"]["state"] == "running", 10, "the sleep to run")
        self.assertEqual(self.d.mpctl("forget", workers[0]).returncode,
                         EXIT_REFUSED)
        # A running job's cancel answers once it has ended.
        self.assertEqual(self.d.mpctl("cancel", workers[0]).returncode, 0)
        self.assertEqual(self.d.call({"op": "status", "job": workers[0]})
                         ["job"]["state"], "cancelled")
        self.assertEqual(self.d.mpctl("forget", queued).returncode, 0)
        self.assertEqual(self.d.mpctl("get", queued).returncode,
                         EXIT_NOT_FOUND)

    def test_forgotten_ids_are_never_reused(self):
        a = int(self.d.mpctl("submit", "square", "2").stdout)
        self.d.mpctl("get", a)
        self.assertEqual(self.d.mpctl("forget", a).returncode, 0)
        b = int(self.d.mpctl("submit", "square", "3").stdout)
        self.assertGreater(b, a)
        self.assertEqual(self.d.mpctl("get", a).returncode, EXIT_NOT_FOUND)

    def test_map_from_stdin_async_and_chunksize(self):
        r = self.d.mpctl("map", "square", "-", input="1\n2\n\n3\n")
        self.assertEqual(r.stdout, "[1,4,9]\n")
        r = self.d.mpctl("map", "--async", "--chunksize", "2", "square",
                         *range(10))
        self.assertEqual(r.returncode, 0, r.stderr)
        job = int(r.stdout)
        self.assertEqual(json.loads(self.d.mpctl("get", job).stdout),
                         [i * i for i in range(10)])
        st = self.d.call({"op": "status", "job": job})["job"]
        self.assertEqual(st["chunksize"], 2)
        self.assertEqual(st["progress"], {"done": 10, "total": 10})
        self.assertEqual(self.d.mpctl("map", "square").stdout, "[]\n")

    def test_map_failed_item_reports_index(self):
        r = self.d.mpctl("map", "--chunksize", "2", "square", "1", "2", "x",
                         "4")
        self.assertEqual(r.returncode, EXIT_JOB_FAILED)
        self.assertIn("item 2", r.stderr)
        job = json.loads(self.d.mpctl("list", "--json").stdout)[-1]["id"]
        g = self.get(job)
        self.assertEqual(g["state"], "failed")
        self.assertEqual(g["error"]["index"], 2)

    def test_shutdown_wait(self):
        r = self.d.mpctl("shutdown", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.wait_exit(), 0)



class Paths(MpdTestCase):
    def test_socket_is_private_by_default(self):
        import stat
        self.assertEqual(stat.S_IMODE(os.stat(self.d.socket).st_mode), 0o600)

    def test_socket_mode_and_directories_created(self):
        from mpdtest import Daemon
        d = Daemon(1, ["--socket-mode", "0660"])
        self.addCleanup(d.cleanup)
        d.socket = os.path.join(d.tmp, "run", "deep", "mpd.sock")
        d.db = os.path.join(d.tmp, "state", "mpd.db")
        d.start()
        import stat
        self.assertEqual(stat.S_IMODE(os.stat(d.socket).st_mode), 0o660)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(d.db))
                                      .st_mode), 0o700)
        self.assertEqual(d.stop(), 0)

    def test_config_file_then_command_line(self):
        from mpdtest import Daemon
        d = Daemon(2)
        self.addCleanup(d.cleanup)
        conf = os.path.join(d.tmp, "mpd.conf")
        with open(conf, "w") as f:
            f.write("# settings\nworkers = 3\n\n  socket-mode = 0640  \n"
                    "max-items = 5\n")
        # The harness passes --config /dev/null; a later --config wins.
        d.args = ["--config", conf]
        d.workers = 2       # --workers 2 on the command line beats 3
        d.start()
        self.assertEqual(len(d.status()["workers"]), 2)
        import stat
        self.assertEqual(stat.S_IMODE(os.stat(d.socket).st_mode), 0o640)
        r = d.call({"op": "map", "task": "square", "items": list(range(6))})
        self.assertEqual(r["error"]["code"], "too_many_items")
        self.assertEqual(d.stop(), 0)

    def test_config_file_errors_name_the_line(self):
        from mpdtest import MPD
        tmp = tempfile.mkdtemp()
        cases = [("workers = 2\nbogus = 1\n", ":2: no setting named"),
                 ("workers = none\n", ":1: workers takes a whole number"),
                 ("just words\n", ':1: expected "name = value"'),
                 ("test-tasks = maybe\n", ":1: test-tasks takes yes or no")]
        for text, want in cases:
            conf = os.path.join(tmp, "c.conf")
            with open(conf, "w") as f:
                f.write(text)
            r = subprocess.run([MPD, "--config", conf], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(conf + want, r.stderr)
        r = subprocess.run([MPD, "--config", os.path.join(tmp, "none")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read", r.stderr)

    def test_check_config_prints_what_is_in_effect(self):
        from mpdtest import MPD
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        conf = os.path.join(tmp, "c.conf")
        with open(conf, "w") as f:
            f.write("workers = 3\nkeep-ended = 2h\npool = batch=2\n")
        r = subprocess.run([MPD, "--config", conf, "--check-config",
                            "--workers", "4", "--python-pool", "no"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        for want in ("workers = 4", "keep-ended = 7200", "pool = batch=2",
                     "python-pool = no", "log-cap = 16777216",
                     "# limit-as = (none)", "serve-others = no"):
            self.assertIn(want, lines)
        # What it prints is a file that says the same.
        again = os.path.join(tmp, "again.conf")
        with open(again, "w") as f:
            f.write(r.stdout)
        r2 = subprocess.run([MPD, "--config", again, "--check-config"],
                            capture_output=True, text=True, timeout=30)
        self.assertEqual((r2.returncode, r2.stdout), (0, r.stdout))
        # A bad value is named as the start-up names it.
        with open(conf, "a") as f:
            f.write("keep-max = lots\n")
        r = subprocess.run([MPD, "--config", conf, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn(conf + ":4: keep-max takes a whole number", r.stderr)

    def test_mpd_usage_errors(self):
        from mpdtest import MPD
        for args in (["--workers", "0"], ["--socket-mode", "999"],
                     ["--log-level", "loud"], ["--sync", "maybe"],
                     ["extra"]):
            r = subprocess.run([MPD] + args, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("mpd", r.stderr)
        r = subprocess.run([MPD, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--workers", r.stdout)
        r = subprocess.run([MPD, "--version"], capture_output=True,
                           text=True)
        self.assertIn("SQLite", r.stdout)



class SmallDaemonCap(MpdTestCase):
    daemon_args = ("--max-line", "1000")

    def test_oversized_request_is_reported_not_a_sigpipe(self):
        items = "".join("%d\n" % i for i in range(300000))
        r = self.d.mpctl("map", "square", "-", input=items)
        self.assertIn(r.returncode, (EXIT_REFUSED, EXIT_UNREACHABLE))
        self.assertIn("longer than the limit", r.stderr)

    def test_non_utf8_argument_is_a_usage_error(self):
        env = dict(os.environ, MPD_SOCKET=self.d.socket)
        r = subprocess.run([MPCTL.encode(), b"map", b"echo", b"\xff", b"1"],
                           env=env, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertIn(b"UTF-8", r.stderr)



class Progress(MpdTestCase):
    def test_map_shows_progress_on_a_terminal(self):
        import pty
        master, slave = pty.openpty()
        env = dict(os.environ, MPD_SOCKET=self.d.socket)
        p = subprocess.Popen([MPCTL, "map", "--chunksize", "1", "sleep"] +
                             ["0.3"] * 12, env=env, stdout=subprocess.PIPE,
                             stderr=slave, text=True)
        os.close(slave)
        out, _ = p.communicate(timeout=60)
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        self.assertEqual(p.returncode, 0)
        results = json.loads(out)
        self.assertEqual(len(results), 12)
        self.assertTrue(all(r.endswith("Z") for r in results), results)
        self.assertRegex(err.decode(), r"\[[#.]{40}\] \d+/12 items")

    def test_no_progress_when_not_a_terminal(self):
        r = self.d.mpctl("map", "--chunksize", "1", "sleep",
                         *(["0.3"] * 8))
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stderr, "")

    def test_get_timeout_still_honoured_on_a_terminal(self):
        import pty
        job = self.submit("sleep", 30)
        master, slave = pty.openpty()
        env = dict(os.environ, MPD_SOCKET=self.d.socket)
        r = subprocess.run([MPCTL, "get", "--timeout", "1.5", str(job)],
                           env=env, stdout=subprocess.PIPE, stderr=slave,
                           timeout=60)
        os.close(slave)
        os.close(master)
        self.assertEqual(r.returncode, EXIT_TIMEOUT)


if __name__ == "__main__":
    main()

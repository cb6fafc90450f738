"""Exec jobs: the exec and shell tasks, time limits, cancel of running
jobs, output capture and the logs op, all over the raw socket protocol
against a real mpd running real commands.

Leftover processes are looked for in /proc: by the process group of the
job's command (its pid, which is also its group id), by unique arguments
given to the sleeps a job starts, and as zombies anywhere below the daemon.
Figures worth seeing (how fast a killed `sleep 60` dies) go to stderr with
a "[figure]" prefix: run ctest -V to see them.
"""
import base64
import grp
import json
import itertools
import os
import pwd
import random
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (SLOW, Daemon, MpdTestCase, log_path,  # noqa: E402
                     main, proc_status, wait_for)

KILL_GRACE = 1
SIGKILL, SIGTERM, SIGXCPU = 9, 15, 24
SIGSTOP, SIGCONT = 19, 18
FINAL = ("done", "failed", "timeout", "cancelled")

_serial = itertools.count(1)


def unique_seconds(base):
    """A duration of about base seconds that no other process on the
    machine is likely to pass to sleep: "60.004217" and the like."""
    return "%d.%03d%03d" % (base, next(_serial) % 1000,
                            random.randrange(1000))


def figure(text):
    sys.stderr.write("\n[figure] %s\n" % text)
    sys.stderr.flush()


def proc_table():
    """{pid: (state, ppid, pgrp, session, argv)} of every process now."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            with open("/proc/%d/stat" % pid, "rb") as f:
                raw = f.read().decode(errors="replace")
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = [a.decode(errors="replace")
                        for a in f.read().split(b"\0") if a]
        except (FileNotFoundError, ProcessLookupError):
            continue
        # The command name may hold spaces and parentheses: cut at the last.
        fields = raw[raw.rindex(")") + 2:].split()
        table[pid] = (fields[0], int(fields[1]), int(fields[2]),
                      int(fields[3]), argv)
    return table


def parse_stat(text):
    """(pid, pgrp, session) from the text of a /proc/PID/stat file."""
    pid = int(text.split(None, 1)[0])
    fields = text[text.rindex(")") + 2:].split()
    return pid, int(fields[2]), int(fields[3])


def descendants(table, root):
    """Pids of every process below root."""
    kids = {}
    for pid, (_, ppid, _, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for k in kids.get(todo.pop(), []):
            found.append(k)
            todo.append(k)
    return found


def socket_backlog(pid):
    """Bytes waiting unread in the receive queues of pid's sockets (from
    ss), or None when ss cannot tell."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = subprocess.run(["ss", "-xan"], capture_output=True, text=True,
                         timeout=30).stdout
    total, seen = 0, False
    for line in out.splitlines():
        f = line.split()
        # Netid State Recv-Q Send-Q Local Port Peer Port
        if len(f) >= 8 and f[0] == "u_str" and f[5] in inodes:
            total += int(f[2])
            seen = True
    return total if seen else None


def b64(part):
    return base64.b64decode(part["data"], validate=True)


class ExecCase(MpdTestCase):
    """A daemon with a short kill grace, and checks for what a job leaves."""

    daemon_args = ("--kill-grace", str(KILL_GRACE))

    def call(self, req):
        return self.d.call(req)

    def finish(self, job, within=20):
        """The get reply of a job, failing if it has not ended in time."""
        r = self.get(job, timeout=within * SLOW)
        self.assertTrue(r.get("ok"), r)
        self.assertIn(r["state"], FINAL, r)
        return r

    def run_job(self, task, args, within=20, **fields):
        return self.finish(self.submit(task, *args, **fields), within)

    def state(self, job):
        return self.call({"op": "status", "job": job})["job"]["state"]

    def wait_running(self, job):
        wait_for(lambda: self.state(job) == "running", 10,
                 "job %d to run" % job)

    def wait_process(self, token):
        """Waits until a process below the daemon has token as an argument;
        returns its pid."""
        def find():
            table = proc_table()
            for pid in descendants(table, self.d.pid):
                if token in table[pid][4]:
                    return pid
            return None
        return wait_for(find, 10, "a process with argument " + token)

    def kill_leftovers(self, tokens):
        """Cleanup: SIGKILL, by pid, what a failed test left running with
        one of its own unique arguments."""
        def kill():
            for pid, t in proc_table().items():
                if any(tok in t[4] for tok in tokens):
                    try:
                        os.kill(pid, SIGKILL)
                    except ProcessLookupError:
                        pass
        self.addCleanup(kill)

    def assert_nothing_left(self, group=None, tokens=(), pids=()):
        """No process of the job's group, none with one of the tokens as an
        argument, none of the given pids, no zombie below the daemon."""
        table = proc_table()
        if group is not None:
            self.assertIsNone(proc_status(group), "the command %d lives"
                              % group)
            members = [(p, t[0], t[4]) for p, t in table.items()
                       if t[2] == group]
            self.assertEqual(members, [], "processes left in group %d"
                             % group)
        for tok in tokens:
            left = [(p, t[0], t[4]) for p, t in table.items()
                    if tok in t[4]]
            self.assertEqual(left, [], "processes left running " + tok)
        for p in pids:
            self.assertNotIn(p, table, "process %d is still there" % p)
        zombies = [(p, table[p][4]) for p in descendants(table, self.d.pid)
                   if table[p][0] == "Z"]
        self.assertEqual(zombies, [], "zombies below the daemon")


class Outcomes(ExecCase):
    def test_tasks_are_listed(self):
        tasks = self.call({"op": "hello"})["tasks"]
        names = [t["name"] if isinstance(t, dict) else t for t in tasks]
        self.assertIn("exec", names)
        self.assertIn("shell", names)

    def test_exit_zero_is_done(self):
        r = self.run_job("exec", ["true"])
        self.assertEqual(r["state"], "done")
        self.assertNotIn("error", r)
        res = r["result"]
        self.assertEqual(res["exit_code"], 0)
        self.assertNotIn("signal", res)
        self.assertEqual((res["stdout"], res["stderr"], res["truncated"]),
                         ("", "", False))
        self.assertEqual((res["stdout_bytes"], res["stderr_bytes"]), (0, 0))
        self.assertIsInstance(res["duration_ms"], int)
        self.assertGreaterEqual(res["duration_ms"], 0)
        self.assertGreater(res["pid"], 0)
        self.assertNotIn(res["pid"], self.d.worker_pids())
        self.assert_nothing_left(group=res["pid"])

    def test_exit_three_fails_with_exit_status(self):
        r = self.run_job("exec", ["sh", "-c", "echo out; echo err >&2; "
                                  "exit 3"])
        self.assertEqual(r["state"], "failed")
        self.assertEqual(r["result"]["exit_code"], 3)
        self.assertEqual(r["result"]["stdout"], "out\n")
        self.assertEqual(r["result"]["stderr"], "err\n")
        self.assertEqual(r["error"]["code"], "exit_status")
        self.assertEqual(r["error"]["exit_code"], 3)
        self.assertIn("status 3", r["error"]["message"])

    def test_result_comes_before_error_in_the_reply(self):
        job = self.submit("shell", "exit 5")
        c = self.d.client()
        try:
            c.send({"op": "get", "job": job, "timeout": 20 * SLOW})
            line = c.read_line().decode()
        finally:
            c.close()
        self.assertIn('"result"', line)
        self.assertIn('"error"', line)
        self.assertLess(line.index('"result"'), line.index('"error"'), line)

    def test_a_command_killing_itself_is_killed(self):
        r = self.run_job("shell", ["kill -9 $$"])
        self.assertEqual(r["state"], "failed")
        self.assertEqual(r["result"]["signal"], SIGKILL)
        self.assertNotIn("exit_code", r["result"])
        self.assertEqual(r["error"]["code"], "killed")
        self.assertEqual(r["error"]["signal"], SIGKILL)
        r = self.run_job("shell", ["kill -USR1 $$"])
        self.assertEqual((r["state"], r["result"]["signal"],
                          r["error"]["code"]), ("failed", 10, "killed"))

    def test_a_missing_program_is_exec_failed(self):
        name = "mpd-no-such-program-%d" % os.getpid()
        r = self.run_job("exec", [name, "x"])
        self.assertEqual(r["state"], "failed")
        self.assertNotIn("result", r)
        self.assertEqual(r["error"]["code"], "exec_failed")
        self.assertIn(name, r["error"]["message"])
        self.assertIn("No such file or directory", r["error"]["message"])
        # A file that is not executable.
        path = os.path.join(self.d.tmp, "not-executable")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(path, 0o644)
        r = self.run_job("exec", [path])
        self.assertEqual(r["error"]["code"], "exec_failed")
        self.assertIn("Permission denied", r["error"]["message"])
        # The worker is fine afterwards.
        self.assertEqual(self.run_job("exec", ["true"])["state"], "done")
        self.assert_nothing_left()

    def test_bad_arguments_are_refused_at_submit(self):
        for task, args, kwargs in (
                ("exec", [], {}),
                ("exec", [1], {}),
                ("exec", [""], {}),
                ("shell", [], {}),
                ("shell", ["a", "b"], {}),
                ("exec", ["true"], {"nope": 1}),
                ("exec", ["true"], {"env": {"A=B": "x"}}),
                ("exec", ["true"], {"env": {"A": 1}}),
                ("exec", ["true"], {"limits": {"nofile": 0}}),
                ("exec", ["true"], {"limits": {"stack": 10}})):
            r = self.call({"op": "submit", "task": task, "args": args,
                           "kwargs": kwargs})
            self.assertFalse(r["ok"], (task, args, kwargs, r))
            self.assertEqual(r["error"]["code"], "bad_request", r)


class Output(ExecCase):
    daemon_args = ExecCase.daemon_args + ("--output-cap", "1000")

    def test_output_is_captured_and_cut_at_the_cap(self):
        r = self.run_job("shell", ["head -c 5000 /dev/zero | tr '\\0' a; "
                                   "printf 'e%.0s' $(seq 1 1500) >&2"])
        self.assertEqual(r["state"], "done", r)
        res = r["result"]
        self.assertEqual(res["stdout"], "a" * 1000)
        self.assertEqual(res["stderr"], "e" * 1000)
        self.assertTrue(res["truncated"])
        self.assertEqual((res["stdout_bytes"], res["stderr_bytes"]),
                         (5000, 1500))
        # The whole output is on disk and in the logs op.
        logs = self.call({"op": "logs", "job": r["job"]})
        self.assertTrue(logs["ok"], logs)
        self.assertEqual(b64(logs["stdout"]), b"a" * 5000)
        self.assertEqual(b64(logs["stderr"]), b"e" * 1500)
        self.assertTrue(logs["end"])
        with open(log_path(self.d.tmp, r["job"], "out"),
                  "rb") as f:
            self.assertEqual(f.read(), b"a" * 5000)

    def test_exactly_the_cap_is_not_truncated(self):
        r = self.run_job("shell", ["head -c 1000 /dev/zero | tr '\\0' z"])
        res = r["result"]
        self.assertEqual((len(res["stdout"]), res["stdout_bytes"],
                          res["truncated"]), (1000, 1000, False))
        r = self.run_job("shell", ["head -c 1001 /dev/zero | tr '\\0' z"])
        res = r["result"]
        self.assertEqual((len(res["stdout"]), res["stdout_bytes"],
                          res["truncated"]), (1000, 1001, True))

    def test_only_stderr_over_the_cap_sets_truncated(self):
        r = self.run_job("shell", ["echo hi; head -c 3000 /dev/zero | "
                                   "tr '\\0' e >&2"])
        res = r["result"]
        self.assertEqual(res["stdout"], "hi\n")
        self.assertEqual((len(res["stderr"]), res["stderr_bytes"]),
                         (1000, 3000))
        self.assertTrue(res["truncated"])

    def test_invalid_utf8_is_replaced(self):
        r = self.run_job("shell", ["printf 'ok \\377\\376 \\303\\251\\n'"])
        self.assertEqual(r["result"]["stdout"], "ok \ufffd\ufffd \u00e9\n")
        self.assertEqual(r["result"]["stdout_bytes"], 9)
        logs = self.call({"op": "logs", "job": r["job"]})
        self.assertEqual(b64(logs["stdout"]), b"ok \xff\xfe \xc3\xa9\n")

    def test_nul_bytes_in_output(self):
        # The result is text for people: NUL shows as U+FFFD, as invalid
        # UTF-8 does (many JSON readers refuse "\u0000"). The logs keep
        # the bytes.
        r = self.run_job("shell", ["printf 'a\\0b'; head -c 2000 /dev/zero "
                                   ">&2"])
        self.assertEqual(r["state"], "done", r)
        self.assertEqual(r["result"]["stdout"], "a\ufffdb")
        self.assertEqual(r["result"]["stderr"], "\ufffd" * 1000)
        self.assertEqual(r["result"]["stderr_bytes"], 2000)
        logs = self.call({"op": "logs", "job": r["job"]})
        self.assertEqual(b64(logs["stdout"]), b"a\0b")
        self.assertEqual(b64(logs["stderr"]), b"\0" * 2000)


class LogCap(ExecCase):
    """A job's log keeps the first and last halves of --log-cap per stream,
    with a line between saying what was left out; the result says so."""
    daemon_args = ExecCase.daemon_args + ("--log-cap", "1000")

    def test_the_log_keeps_head_and_tail(self):
        r = self.run_job("shell", ["seq 1 2000; seq 1 10 >&2"])
        self.assertEqual(r["state"], "done", r)
        res = r["result"]
        out = b"".join(b"%d\n" % i for i in range(1, 2001))
        self.assertEqual(res["stdout_bytes"], len(out))
        self.assertTrue(res["log_truncated"])
        logs = self.call({"op": "logs", "job": r["job"]})
        self.assertTrue(logs["ok"], logs)
        marker = ("\n[mpd: %d bytes left out here: the log keeps the first "
                  "500 and the last 500]\n" % (len(out) - 1000)).encode()
        self.assertEqual(b64(logs["stdout"]),
                         out[:500] + marker + out[-500:])
        self.assertEqual(b64(logs["stderr"]),
                         b"".join(b"%d\n" % i for i in range(1, 11)))

    def test_output_within_the_cap_is_whole(self):
        r = self.run_job("shell", ["head -c 1000 /dev/zero | tr '\\0' q"])
        self.assertFalse(r["result"]["log_truncated"])
        logs = self.call({"op": "logs", "job": r["job"]})
        self.assertEqual(b64(logs["stdout"]), b"q" * 1000)
        # One byte more and the middle byte makes way for the line.
        r = self.run_job("shell", ["head -c 1001 /dev/zero | tr '\\0' q"])
        self.assertTrue(r["result"]["log_truncated"])
        logs = self.call({"op": "logs", "job": r["job"]})
        self.assertTrue(b64(logs["stdout"]).startswith(b"q" * 500 + b"\n[mpd: 1 bytes"))
        self.assertTrue(b64(logs["stdout"]).endswith(b"]\n" + b"q" * 500))


class LogLayout(ExecCase):
    """A job's logs are in a directory per thousand jobs, which goes with
    its last files; logs of the flat layout before it are still read and
    removed."""

    def test_directories_and_the_flat_layout(self):
        r = self.run_job("shell", ["echo one"])
        job = r["job"]
        path = log_path(self.d.tmp, job, "out")
        with open(path) as f:
            self.assertEqual(f.read(), "one\n")
        self.assertEqual(sorted(os.listdir(os.path.join(self.d.tmp,
                                                        "logs"))), ["0"])
        self.assertEqual(self.d.stop(), 0)
        # As an older mpd left it: ID.out and ID.err in the log directory.
        flat = os.path.join(self.d.tmp, "logs", "%d.out" % job)
        os.rename(path, flat)
        os.rename(log_path(self.d.tmp, job, "err"),
                  os.path.join(self.d.tmp, "logs", "%d.err" % job))
        os.rmdir(os.path.dirname(path))
        self.d = Daemon(self.workers, self.daemon_args, tmp=self.d.tmp)
        self.d.start()
        lg = self.call({"op": "logs", "job": job})
        self.assertEqual(b64(lg["stdout"]), b"one\n")
        self.assertTrue(self.call({"op": "forget", "job": job})["ok"])
        self.assertFalse(os.path.exists(flat))
        r = self.run_job("shell", ["echo two"])
        self.assertTrue(os.path.exists(log_path(self.d.tmp, r["job"],
                                                "out")))
        self.assertTrue(self.call({"op": "forget", "job": r["job"]})["ok"])
        self.assertEqual(os.listdir(os.path.join(self.d.tmp, "logs")), [])


class Settings(ExecCase):
    def test_env_is_added_and_overrides(self):
        script = 'printf "%s|%s|%s" "$MPD_T_ADDED" "$HOME" "$PATH"'
        r = self.run_job("shell", [script], kwargs={"env": {
            "MPD_T_ADDED": "added value", "HOME": "/overridden"}})
        self.assertEqual(r["state"], "done", r)
        added, home, path = r["result"]["stdout"].split("|")
        self.assertEqual((added, home), ("added value", "/overridden"))
        # What is not overridden is the daemon's.
        self.assertEqual(path, os.environ["PATH"])

    def test_env_clear_starts_empty(self):
        env = shutil.which("env")
        r = self.run_job("exec", [env], kwargs={
            "env_clear": True, "env": {"ONLY": "this one"}})
        self.assertEqual(r["result"]["stdout"], "ONLY=this one\n")
        r = self.run_job("exec", [env], kwargs={"env_clear": True})
        self.assertEqual(r["result"]["stdout"], "")

    def test_cwd(self):
        where = tempfile.mkdtemp(dir=self.d.tmp)
        r = self.run_job("exec", ["pwd"], kwargs={"cwd": where})
        self.assertEqual(r["result"]["stdout"], os.path.realpath(where)
                         + "\n")
        r = self.run_job("exec", ["pwd"], kwargs={"cwd": where + "/nope"})
        self.assertEqual(r["state"], "failed")
        self.assertEqual(r["error"]["code"], "exec_failed")
        self.assertIn("directory", r["error"]["message"])

    def test_stdin(self):
        r = self.run_job("exec", ["cat"], kwargs={"stdin": "line 1\nline 2"})
        self.assertEqual(r["result"]["stdout"], "line 1\nline 2")
        # Without stdin, the command reads end of file at once.
        r = self.run_job("exec", ["cat"], within=10)
        self.assertEqual((r["state"], r["result"]["stdout"]), ("done", ""))
        # More than a pipe holds.
        big = "x" * 300000
        r = self.run_job("exec", ["wc", "-c"], kwargs={"stdin": big})
        self.assertEqual(r["result"]["stdout"].strip(), "300000")


class TimeLimits(ExecCase):
    def test_time_limit_kills_sleep_60(self):
        workers = sorted(self.d.worker_pids())
        token = unique_seconds(60)
        start = time.monotonic()
        job = self.submit("exec", "sleep", token, timeout=1)
        r = self.finish(job)
        elapsed = time.monotonic() - start
        figure("timeout: `sleep %s` with a 1 s limit ended %.3f s after "
               "submit (%.3f s past the limit; duration_ms %d)"
               % (token, elapsed, elapsed - 1, r["result"]["duration_ms"]))
        self.assertEqual(r["state"], "timeout")
        self.assertEqual(r["error"]["code"], "timeout")
        self.assertEqual(r["error"]["limit"], 1)
        self.assertIn("time limit of 1 s", r["error"]["message"])
        self.assertEqual(r["result"]["signal"], SIGTERM)
        self.assertGreaterEqual(elapsed, 0.95)
        self.assertLess(elapsed, 1 + 4 * SLOW)
        self.assert_nothing_left(group=r["result"]["pid"], tokens=[token])
        # A command's time limit does not cost a worker.
        self.assertEqual(sorted(self.d.worker_pids()), workers)
        st = self.call({"op": "status", "job": job})["job"]
        self.assertEqual((st["state"], st["timeout"]), ("timeout", 1))

    def test_sigterm_ignored_gets_sigkill_after_the_grace(self):
        token = unique_seconds(60)
        start = time.monotonic()
        r = self.run_job("shell", ["trap '' TERM; sleep %s; echo survived"
                                   % token], timeout=1)
        elapsed = time.monotonic() - start
        figure("timeout: `trap '' TERM; sleep 60` with a 1 s limit and "
               "%d s grace ended %.3f s after submit" % (KILL_GRACE,
                                                         elapsed))
        self.assertEqual(r["state"], "timeout")
        self.assertEqual(r["error"]["code"], "timeout")
        self.assertIn("SIGKILL", r["error"]["message"])
        self.assertEqual(r["result"]["signal"], SIGKILL)
        self.assertEqual(r["result"]["stdout"], "")
        # The grace was given, and no more than needed was waited.
        self.assertGreaterEqual(elapsed, 1 + KILL_GRACE - 0.05)
        self.assertLess(elapsed, 1 + KILL_GRACE + 4 * SLOW)
        self.assert_nothing_left(group=r["result"]["pid"], tokens=[token])

    def test_kwargs_timeout_is_used_without_a_request_timeout(self):
        token = unique_seconds(60)
        job = self.submit("exec", "sleep", token, kwargs={"timeout": 0.5})
        self.assertEqual(self.call({"op": "status", "job": job})["job"]
                         ["timeout"], 0.5)
        r = self.finish(job)
        self.assertEqual((r["state"], r["error"]["limit"]), ("timeout", 0.5))
        self.assert_nothing_left(group=r["result"]["pid"], tokens=[token])

    def test_request_timeout_wins_over_kwargs(self):
        r = self.run_job("exec", ["sleep", "0.3"], timeout=30,
                         kwargs={"timeout": 0.1})
        self.assertEqual(r["state"], "done", r)

    def test_no_timeout_is_null_in_status(self):
        job = self.submit("exec", "true")
        self.finish(job)
        self.assertIsNone(self.call({"op": "status", "job": job})["job"]
                          ["timeout"])

    def test_time_limit_of_a_function_task_replaces_the_worker(self):
        before = set(self.d.worker_pids())
        start = time.monotonic()
        r = self.run_job("sleep", [60], timeout=0.5)
        elapsed = time.monotonic() - start
        figure("timeout: function task sleep(60) with a 0.5 s limit ended "
               "%.3f s after submit" % elapsed)
        self.assertEqual(r["state"], "timeout")
        self.assertEqual(r["error"]["code"], "timeout")
        self.assertEqual(r["error"]["limit"], 0.5)
        self.assertIn("worker", r["error"]["message"])
        self.assertLess(elapsed, 0.5 + 4 * SLOW)
        wait_for(lambda: len(self.d.worker_pids()) == 2, 10,
                 "a replacement worker")
        after = set(self.d.worker_pids())
        self.assertEqual(len(before - after), 1, "one worker replaced")
        self.assertEqual(self.d.zombies(), [])
        self.assertEqual(self.run_job("square", [7])["result"], 49)


class Cancel(ExecCase):
    def test_cancel_of_a_running_command(self):
        workers = sorted(self.d.worker_pids())
        token = unique_seconds(60)
        job = self.submit("exec", "sleep", token)
        sleeper = self.wait_process(token)
        start = time.monotonic()
        r = self.call({"op": "cancel", "job": job})
        elapsed = time.monotonic() - start
        figure("cancel: `sleep %s` was cancelled; the reply came %.3f s "
               "after the request" % (token, elapsed))
        self.assertTrue(r["ok"], r)
        self.assertEqual((r["job"], r["state"]), (job, "cancelled"))
        self.assertEqual(r["error"]["code"], "cancelled")
        self.assertEqual(r["result"]["signal"], SIGTERM)
        self.assertEqual(r["result"]["pid"], sleeper)
        self.assertLess(elapsed, 4 * SLOW)
        # The reply came once the job had ended: nothing is left already.
        self.assert_nothing_left(group=sleeper, tokens=[token])
        g = self.finish(job)
        self.assertEqual((g["state"], g["error"]["code"]),
                         ("cancelled", "cancelled"))
        self.assertEqual(sorted(self.d.worker_pids()), workers)
        self.assertEqual(self.run_job("exec", ["true"])["state"], "done")

    def test_cancel_waits_for_the_kill_grace(self):
        token = unique_seconds(60)
        job = self.submit("shell", "trap '' TERM; sleep %s" % token)
        self.wait_process(token)
        start = time.monotonic()
        r = self.call({"op": "cancel", "job": job})
        elapsed = time.monotonic() - start
        figure("cancel: `trap '' TERM; sleep 60` with %d s grace: the "
               "reply came %.3f s after the request" % (KILL_GRACE, elapsed))
        self.assertEqual(r["state"], "cancelled", r)
        self.assertEqual(r["error"]["code"], "cancelled")
        self.assertIn("SIGKILL", r["error"]["message"])
        self.assertEqual(r["result"]["signal"], SIGKILL)
        self.assertGreaterEqual(elapsed, KILL_GRACE - 0.05)
        self.assertLess(elapsed, KILL_GRACE + 4 * SLOW)
        self.assert_nothing_left(group=r["result"]["pid"], tokens=[token])

    def test_cancel_of_a_running_function_task_replaces_the_worker(self):
        before = set(self.d.worker_pids())
        job = self.submit("sleep", 60)
        self.wait_running(job)
        st = self.call({"op": "status", "job": job})["job"]
        victim = st["worker_pid"]
        self.assertIn(victim, before)
        start = time.monotonic()
        r = self.call({"op": "cancel", "job": job})
        elapsed = time.monotonic() - start
        figure("cancel: function task sleep(60): the reply came %.3f s "
               "after the request" % elapsed)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["state"], "cancelled")
        self.assertEqual(r["error"]["code"], "cancelled")
        self.assertNotIn("result", r)
        self.assertIsNone(proc_status(victim), "the worker was killed")
        wait_for(lambda: len(self.d.worker_pids()) == 2, 10,
                 "a replacement worker")
        self.assertNotIn(victim, self.d.worker_pids())
        self.assertEqual(self.d.zombies(), [])
        self.assertEqual(self.run_job("square", [8])["result"], 64)
        self.assertEqual(len(self.d.status()["workers"]), 2)

    def test_cancel_of_an_ended_job_is_refused(self):
        job = self.submit("exec", "true")
        self.finish(job)
        r = self.call({"op": "cancel", "job": job})
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"]["code"], "bad_state")


class CancelQueued(ExecCase):
    workers = 1

    def test_cancel_of_a_queued_command_answers_at_once(self):
        token = unique_seconds(60)
        busy = self.submit("exec", "sleep", token)
        self.wait_process(token)
        queued = self.submit("exec", "sleep", "0")
        self.assertEqual(self.state(queued), "queued")
        r = self.call({"op": "cancel", "job": queued})
        self.assertEqual(r, {"req": r["req"], "ok": True, "job": queued,
                             "state": "cancelled"})
        r = self.call({"op": "cancel", "job": busy})
        self.assertEqual(r["state"], "cancelled")
        self.assert_nothing_left(group=r["result"]["pid"], tokens=[token])
        # The cancelled queued job never ran.
        self.assertEqual(self.finish(queued)["state"], "cancelled")
        self.assertNotIn("result", self.finish(queued))


class Escapes:
    """A helper script for commands that leave their session and group."""

    def setUp(self):
        super().setUp()
        # A command that leaves its session and group: it writes its own
        # /proc stat to $D/$1 (through a rename, so it is whole) and
        # becomes sleep $2.
        self.escape = os.path.join(self.d.tmp, "escape.sh")
        with open(self.escape, "w") as f:
            f.write('cat /proc/$$/stat > "$D/$1.tmp" && '
                    'mv "$D/$1.tmp" "$D/$1" && exec sleep "$2"\n')

    def marker(self, name):
        with open(os.path.join(self.d.tmp, name)) as f:
            return parse_stat(f.read())


class ProcessTrees(Escapes, ExecCase):
    def test_background_children_of_an_exited_shell_are_gone(self):
        a, b = unique_seconds(60), unique_seconds(60)
        r = self.run_job("shell", ["sleep %s & echo $!; sleep %s & echo $!; "
                                   "exit 0" % (a, b)])
        self.assertEqual(r["state"], "done", r)
        kids = [int(x) for x in r["result"]["stdout"].split()]
        self.assertEqual(len(kids), 2)
        self.assert_nothing_left(group=r["result"]["pid"], tokens=[a, b],
                                 pids=kids)

    def test_processes_that_left_the_group_are_gone(self):
        a, b = unique_seconds(61), unique_seconds(62)
        script = ('cat /proc/$$/stat > "$D/main"; '
                  'setsid sh "$E" a %s & (setsid sh -c \'sh "$E" b %s &\'); '
                  'while [ ! -e "$D/a" ] || [ ! -e "$D/b" ]; do '
                  'sleep 0.01; done; exit 0' % (a, b))
        r = self.run_job("shell", [script], kwargs={"env": {
            "D": self.d.tmp, "E": self.escape}})
        self.assertEqual(r["state"], "done", r)
        group = r["result"]["pid"]
        main_pid, main_pgrp, main_session = self.marker("main")
        self.assertEqual((main_pid, main_pgrp), (group, group))
        escaped = []
        for name in ("a", "b"):
            pid, pgrp, session = self.marker(name)
            # They really left the command's group and session.
            self.assertNotEqual(pgrp, group)
            self.assertNotEqual(session, main_session)
            escaped.append(pid)
        self.assert_nothing_left(group=group, tokens=[a, b], pids=escaped)

    def test_escaped_processes_of_a_timed_out_job_are_gone(self):
        a, main_sleep = unique_seconds(63), unique_seconds(60)
        script = ('setsid sh "$E" a %s & while [ ! -e "$D/a" ]; do '
                  'sleep 0.01; done; sleep %s' % (a, main_sleep))
        r = self.run_job("shell", [script], timeout=1, kwargs={"env": {
            "D": self.d.tmp, "E": self.escape}})
        self.assertEqual(r["state"], "timeout", r)
        pid, pgrp, _ = self.marker("a")
        self.assertNotEqual(pgrp, r["result"]["pid"])
        self.assert_nothing_left(group=r["result"]["pid"],
                                 tokens=[a, main_sleep], pids=[pid])

    def test_escaped_processes_of_a_cancelled_job_are_gone(self):
        a, main_sleep = unique_seconds(64), unique_seconds(60)
        script = ('setsid sh "$E" a %s & while [ ! -e "$D/a" ]; do '
                  'sleep 0.01; done; sleep %s' % (a, main_sleep))
        job = self.submit("shell", script, kwargs={"env": {
            "D": self.d.tmp, "E": self.escape}})
        self.wait_process(main_sleep)
        r = self.call({"op": "cancel", "job": job})
        self.assertEqual(r["state"], "cancelled", r)
        pid, _, _ = self.marker("a")
        self.assert_nothing_left(group=r["result"]["pid"],
                                 tokens=[a, main_sleep], pids=[pid])


class Maps(ExecCase):
    def test_map_over_argv_items_keeps_order(self):
        items = [["sh", "-c", "sleep 0.%d; echo %d" % ((7 - i) % 4, i)]
                 for i in range(8)]
        items[3] = ["echo", "three", "words here"]
        r = self.call({"op": "map", "task": "exec", "items": items,
                       "chunksize": 1})
        self.assertTrue(r["ok"], r)
        g = self.finish(r["job"])
        self.assertEqual(g["state"], "done", g)
        outs = [x["stdout"] for x in g["result"]]
        want = ["%d\n" % i for i in range(8)]
        want[3] = "three words here\n"
        self.assertEqual(outs, want)
        self.assertTrue(all(x["exit_code"] == 0 for x in g["result"]))
        # A map keeps no logs: empty data, and the end.
        logs = self.call({"op": "logs", "job": r["job"]})
        self.assertTrue(logs["ok"], logs)
        self.assertEqual((b64(logs["stdout"]), b64(logs["stderr"]),
                          logs["end"]), (b"", b"", True))
        self.assert_nothing_left()

    def test_map_with_bigger_chunks_keeps_order(self):
        items = [["echo", str(i)] for i in range(20)]
        r = self.call({"op": "map", "task": "exec", "items": items,
                       "chunksize": 3})
        g = self.finish(r["job"])
        self.assertEqual([x["stdout"] for x in g["result"]],
                         ["%d\n" % i for i in range(20)])

    def test_a_failing_item_fails_the_map_with_its_index(self):
        items = [["true"], ["true"], ["sh", "-c", "exit 4"], ["true"]]
        r = self.call({"op": "map", "task": "exec", "items": items,
                       "chunksize": 1})
        g = self.finish(r["job"])
        self.assertEqual(g["state"], "failed", g)
        self.assertEqual(g["error"]["code"], "exit_status")
        self.assertEqual(g["error"]["index"], 2)
        self.assertEqual(g["error"]["exit_code"], 4)

    def test_time_limit_is_per_item(self):
        token = unique_seconds(60)
        items = [["true"], ["sleep", token]]
        start = time.monotonic()
        r = self.call({"op": "map", "task": "exec", "items": items,
                       "chunksize": 1, "timeout": 1})
        g = self.finish(r["job"])
        elapsed = time.monotonic() - start
        self.assertEqual(g["state"], "timeout", g)
        self.assertEqual(g["error"]["code"], "timeout")
        self.assertLess(elapsed, 1 + 4 * SLOW)
        # The map ends with its chunk's report, after the command was
        # reaped; allow a moment all the same, then nothing may be left.
        wait_for(lambda: not any(token in t[4] for t in
                                 proc_table().values()),
                 5, "the timed-out item's sleep to go")
        self.assert_nothing_left(tokens=[token])


    def test_cancel_of_a_running_map_kills_its_commands_first(self):
        tokens = [unique_seconds(60), unique_seconds(60)]
        self.kill_leftovers(tokens)
        items = [["sh", "-c", "trap '' TERM; sleep %s" % t] for t in tokens]
        r = self.call({"op": "map", "task": "exec", "items": items,
                       "chunksize": 1})
        self.assertTrue(r["ok"], r)
        for t in tokens:
            self.wait_process(t)
        start = time.monotonic()
        c = self.call({"op": "cancel", "job": r["job"]})
        elapsed = time.monotonic() - start
        figure("cancel: a map of two `trap '' TERM; sleep 60` items: the "
               "reply came %.3f s after the request" % elapsed)
        self.assertTrue(c["ok"], c)
        self.assertEqual(c["state"], "cancelled")
        # As for a running job: the reply comes once the commands are gone,
        # and carries the error as get does.
        self.assert_nothing_left(tokens=tokens)
        self.assertEqual(c.get("error", {}).get("code"), "cancelled", c)


class Logs(ExecCase):
    def logs(self, job, **fields):
        r = self.call(dict({"op": "logs", "job": job}, **fields))
        self.assertTrue(r["ok"], r)
        return r

    def test_offsets_and_base64(self):
        r = self.run_job("shell", ["printf 'hello world\\n'; "
                                   "printf 'oops\\001\\377' >&2"])
        job = r["job"]
        lg = self.logs(job)
        self.assertEqual((lg["job"], lg["state"], lg["end"]),
                         (job, "done", True))
        self.assertEqual(lg["stdout"], {"offset": 0, "data": base64.
                                        b64encode(b"hello world\n").decode()})
        self.assertEqual(b64(lg["stderr"]), b"oops\x01\xff")
        lg = self.logs(job, stdout=6, stderr=4)
        self.assertEqual((lg["stdout"]["offset"], b64(lg["stdout"])),
                         (6, b"world\n"))
        self.assertEqual((lg["stderr"]["offset"], b64(lg["stderr"])),
                         (4, b"\x01\xff"))
        self.assertTrue(lg["end"])
        lg = self.logs(job, stdout=12, stderr=100)
        self.assertEqual((b64(lg["stdout"]), b64(lg["stderr"])), (b"", b""))
        self.assertEqual(lg["stderr"]["offset"], 100)
        self.assertTrue(lg["end"])
        # wait on an ended job with nothing left answers at once.
        lg = self.logs(job, stdout=12, stderr=6, wait=True)
        self.assertTrue(lg["end"])

    def test_big_output_comes_in_256k_pieces(self):
        total = 300000
        r = self.run_job("shell", ["head -c %d /dev/urandom" % total])
        job = r["job"]
        with open(log_path(self.d.tmp, job, "out"),
                  "rb") as f:
            whole = f.read()
        self.assertEqual(len(whole), total)
        lg = self.logs(job)
        first = b64(lg["stdout"])
        self.assertEqual(len(first), 256 * 1024)
        self.assertFalse(lg["end"], "bytes remain past this reply")
        lg = self.logs(job, stdout=len(first))
        rest = b64(lg["stdout"])
        self.assertEqual(lg["stdout"]["offset"], len(first))
        self.assertTrue(lg["end"])
        self.assertEqual(first + rest, whole)

    def test_follow_a_running_job(self):
        fifo = os.path.join(self.d.tmp, "go")
        os.mkfifo(fifo)
        job = self.submit("shell", 'echo first; read x < "$F"; '
                          'echo "second $x"; echo bye >&2',
                          kwargs={"env": {"F": fifo}})
        c = self.d.client()
        self.addCleanup(c.close)
        out = b""
        # The first line arrives while the job is blocked on the fifo:
        # it cannot have ended, as only this test opens the fifo.
        while out != b"first\n":
            lg = c.call({"op": "logs", "job": job, "stdout": len(out),
                         "wait": True})
            self.assertTrue(lg["ok"], lg)
            self.assertEqual(lg["state"], "running", lg)
            self.assertFalse(lg["end"])
            out += b64(lg["stdout"])
            self.assertTrue(b"first\n".startswith(out), out)
        self.assertEqual(self.state(job), "running")
        # Without wait, the answer is at once: nothing new, not the end.
        lg = c.call({"op": "logs", "job": job, "stdout": len(out)})
        self.assertEqual((lg["state"], b64(lg["stdout"]), b64(lg["stderr"]),
                          lg["end"]), ("running", b"", b"", False))
        # Nothing more to say: the next follow request is held.
        tag = c.send({"op": "logs", "job": job, "stdout": len(out),
                      "wait": True})
        readable, _, _ = select.select([c.sock], [], [], 0.3)
        self.assertEqual(readable, [], "a follow reply with no new bytes")
        # Let the job go on and end.
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"go\n")
        os.close(fd)
        err, ended = b"", False
        for _ in range(1000):
            lg = c.wait(tag)
            self.assertTrue(lg["ok"], lg)
            self.assertEqual(lg["stdout"]["offset"], len(out))
            self.assertEqual(lg["stderr"]["offset"], len(err))
            out += b64(lg["stdout"])
            err += b64(lg["stderr"])
            if lg["end"]:
                ended = True
                break
            tag = c.send({"op": "logs", "job": job, "stdout": len(out),
                          "stderr": len(err), "wait": True})
        self.assertTrue(ended)
        self.assertEqual(lg["state"], "done")
        self.assertEqual((out, err), (b"first\nsecond go\n", b"bye\n"))

    def test_follow_on_a_queued_job_gets_the_output_later(self):
        # With both workers busy, a job waits in the queue; a follower
        # waits with it.
        tokens = [unique_seconds(60), unique_seconds(60)]
        busy = [self.submit("exec", "sleep", t) for t in tokens]
        for t in tokens:
            self.wait_process(t)
        job = self.submit("shell", "echo late")
        c = self.d.client()
        self.addCleanup(c.close)
        tag = c.send({"op": "logs", "job": job, "wait": True})
        self.assertEqual(self.state(job), "queued")
        for b in busy:
            self.assertEqual(self.call({"op": "cancel", "job": b})["state"],
                             "cancelled")
        out = b""
        while True:
            lg = c.wait(tag)
            self.assertTrue(lg["ok"], lg)
            out += b64(lg["stdout"])
            if lg["end"]:
                break
            tag = c.send({"op": "logs", "job": job, "stdout": len(out),
                          "wait": True})
        self.assertEqual(out, b"late\n")

    def test_function_task_has_empty_logs(self):
        job = self.submit("square", 3)
        self.finish(job)
        lg = self.logs(job)
        self.assertEqual((b64(lg["stdout"]), b64(lg["stderr"]), lg["end"]),
                         (b"", b"", True))

    def test_forgotten_job_has_no_logs(self):
        r = self.run_job("shell", ["echo kept; echo also >&2"])
        job = r["job"]
        files = [log_path(self.d.tmp, job, ext)
                 for ext in ("out", "err")]
        for f in files:
            self.assertTrue(os.path.exists(f), f)
            self.assertEqual(stat.S_IMODE(os.stat(f).st_mode) & 0o077, 0,
                             "a log file others may read")
        f = self.call({"op": "forget", "job": job})
        self.assertTrue(f["ok"], f)
        for path in files:
            self.assertFalse(os.path.exists(path), path)
        lg = self.call({"op": "logs", "job": job})
        self.assertFalse(lg["ok"])
        self.assertEqual(lg["error"]["code"], "not_found")
        lg = self.call({"op": "logs", "job": 999999})
        self.assertEqual(lg["error"]["code"], "not_found")


@unittest.skipIf(shutil.which("ss") is None, "ss is missing")
class SignalBeforeTheWorkerReads(ExecCase):
    """A signal frame that reaches the worker together with its job frame
    (the worker was slow to be scheduled) must still be obeyed. The worker
    is held with SIGSTOP until both frames wait in its socket."""

    workers = 1

    def hold_worker(self):
        w = self.d.worker_pids()[0]
        os.kill(w, SIGSTOP)
        self.addCleanup(lambda: proc_status(w) and os.kill(w, SIGCONT))
        return w

    def wait_backlog(self, w, more_than):
        """Waits until more than more_than bytes wait for worker w; returns
        how many."""
        def more():
            n = socket_backlog(w) or 0
            return n if n > more_than else None
        return wait_for(more, 10, "more than %d bytes for worker %d"
                        % (more_than, w))

    def test_cancel(self):
        token = unique_seconds(60)
        self.kill_leftovers([token])
        w = self.hold_worker()
        c = self.d.client()
        self.addCleanup(c.close)
        job = c.call({"op": "submit", "task": "exec",
                      "args": ["sleep", token]})["job"]
        job_frame = self.wait_backlog(w, 0)
        start = time.monotonic()
        tag = c.send({"op": "cancel", "job": job})
        self.wait_backlog(w, job_frame)
        os.kill(w, SIGCONT)
        r = c.wait(tag)
        elapsed = time.monotonic() - start
        figure("cancel sent before the worker read its job: the reply came "
               "%.3f s after the request, the command got signal %s"
               % (elapsed, r.get("result", {}).get("signal")))
        self.assertEqual(r["state"], "cancelled", r)
        self.assertEqual(r["result"]["signal"], SIGTERM,
                         "the SIGTERM was lost: %r" % r)
        self.assertLess(elapsed, KILL_GRACE)
        self.assert_nothing_left(group=r["result"]["pid"], tokens=[token])

    def test_time_limit(self):
        token = unique_seconds(60)
        self.kill_leftovers([token])
        w = self.hold_worker()
        job = self.submit("exec", "sleep", token, timeout=0.2)
        job_frame = self.wait_backlog(w, 0)
        self.wait_backlog(w, job_frame)
        start = time.monotonic()
        os.kill(w, SIGCONT)
        r = self.finish(job)
        elapsed = time.monotonic() - start
        figure("time limit passed before the worker read its job: ended "
               "%.3f s after the worker went on, signal %s"
               % (elapsed, r.get("result", {}).get("signal")))
        self.assertEqual(r["state"], "timeout", r)
        self.assertEqual(r["result"]["signal"], SIGTERM,
                         "the SIGTERM was lost: %r" % r)
        self.assertLess(elapsed, KILL_GRACE)


class DaemonStops(Escapes, ExecCase):
    """A daemon that stops (SIGTERM, past its --grace of 1 s) or is killed
    while a command runs leaves none of the command's processes behind:
    neither those of its group nor those that left it."""

    workers = 1

    def start_job(self, escape):
        main_sleep = unique_seconds(60)
        tokens = [main_sleep]
        script = "sleep %s & " % main_sleep
        if escape:
            esc = unique_seconds(61)
            tokens.append(esc)
            script = ('setsid sh "$E" a %s & while [ ! -e "$D/a" ]; do '
                      'sleep 0.01; done; ' % esc) + script
        script += "exec sleep %s" % main_sleep
        self.kill_leftovers(tokens)
        self.submit("shell", script, kwargs={"env": {
            "D": self.d.tmp, "E": self.escape}})
        pids = [self.wait_process(main_sleep)]
        if escape:
            pids.append(self.marker("a")[0])
        return tokens, pids

    def wait_gone(self, tokens, pids):
        def gone():
            table = proc_table()
            return not any(p in table for p in pids) and not any(
                tok in t[4] for t in table.values() for tok in tokens)
        try:
            wait_for(gone, 5, "the job's processes to go")
        except AssertionError:
            pass
        self.assert_nothing_left(tokens=tokens, pids=pids)

    def stop(self):
        workers = self.d.worker_pids()
        self.assertEqual(self.d.stop(), 0)
        self.assertIn("goes back to the queue", self.d.log())
        for w in workers:
            wait_for(lambda: proc_status(w) is None, 10, "the worker to go")

    def kill(self):
        workers = self.d.worker_pids()
        self.d.kill()
        for w in workers:
            wait_for(lambda: proc_status(w) is None, 10, "the worker to go")
        os.unlink(self.d.socket)

    def test_stop_past_the_grace_kills_the_command(self):
        tokens, pids = self.start_job(escape=False)
        self.stop()
        self.wait_gone(tokens, pids)

    def test_stop_past_the_grace_kills_what_left_the_group(self):
        tokens, pids = self.start_job(escape=True)
        self.stop()
        self.wait_gone(tokens, pids)

    def test_killed_daemon_kills_the_command(self):
        tokens, pids = self.start_job(escape=False)
        self.kill()
        self.wait_gone(tokens, pids)

    def test_killed_daemon_kills_what_left_the_group(self):
        tokens, pids = self.start_job(escape=True)
        self.kill()
        self.wait_gone(tokens, pids)


def find_python_for(uid, gid):
    """An interpreter the given user may run, or None."""
    for py in ("/usr/bin/python3", "/usr/local/bin/python3",
               sys.executable):
        if not os.path.exists(py):
            continue
        r = subprocess.run(["setpriv", "--reuid=%d" % uid,
                            "--regid=%d" % gid, "--clear-groups", py,
                            "-c", "pass"], capture_output=True, cwd="/",
                           timeout=30)
        if r.returncode == 0:
            return py
    return None


USER_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rwb")
def call(o):
    f.write(json.dumps(o).encode() + b"\n")
    f.flush()
    return json.loads(f.readline())
r = call({"op": "submit", "task": "exec", "req": 1,
          "args": ["sh", "-c",
                   'id -u; id -g; id -G; echo "$USER $HOME"; echo "$PATH"']})
if not r.get("ok"):
    print(json.dumps(r))
    sys.exit(1)
g = call({"op": "get", "job": r["job"], "req": 2})
other = call({"op": "logs", "job": int(sys.argv[2]), "req": 3})
print(json.dumps({"get": g, "logs_of_root_job": other}))
"""


class RunAsOwner(ExecCase):
    daemon_args = ExecCase.daemon_args + ("--socket-mode", "0666")

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: creates a user with useradd and "
                          "acts as it with setpriv")
        for tool in ("useradd", "userdel", "groupadd", "groupdel",
                     "setpriv"):
            if shutil.which(tool) is None:
                self.skipTest("%s is missing" % tool)
        super().setUp()
        os.chmod(self.d.tmp, 0o711)
        suffix = "%d%04x" % (os.getpid() % 100000, random.randrange(65536))
        self.user = "mpdt" + suffix
        self.extra = "mpdg" + suffix
        subprocess.run(["groupadd", self.extra], check=True,
                       capture_output=True)
        self.addCleanup(subprocess.run, ["groupdel", self.extra],
                        capture_output=True)
        subprocess.run(["useradd", "-M", "-U", "-G", self.extra, "-d",
                        "/nonexistent-" + self.user, "-s", "/bin/sh",
                        self.user], check=True, capture_output=True)
        # LIFO: the user goes before its extra group.
        self.addCleanup(subprocess.run, ["userdel", "-r", self.user],
                        capture_output=True)
        pw = pwd.getpwnam(self.user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.extra_gid = grp.getgrnam(self.extra).gr_gid
        self.python = find_python_for(self.uid, self.gid)
        if self.python is None:
            self.skipTest("no python3 the throwaway user may run")

    def test_job_runs_as_its_owner(self):
        roots = self.run_job("shell", ["echo root secret"])["job"]
        r = subprocess.run(
            ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
             "--init-groups", self.python, "-c", USER_CLIENT, self.d.socket,
             str(roots)],
            capture_output=True, text=True, cwd="/", timeout=60 * SLOW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = json.loads(r.stdout)
        # Another user's logs do not exist for this user.
        self.assertEqual(out["logs_of_root_job"]["error"]["code"],
                         "not_found", out)
        g = out["get"]
        self.assertEqual(g["state"], "done", g)
        lines = g["result"]["stdout"].splitlines()
        self.assertEqual(int(lines[0]), self.uid)
        self.assertEqual(int(lines[1]), self.gid)
        self.assertEqual(sorted(int(x) for x in lines[2].split()),
                         sorted({self.gid, self.extra_gid}))
        self.assertEqual(lines[3], "%s /nonexistent-%s" % (self.user,
                                                            self.user))
        # A login's environment, not root's.
        self.assertEqual(lines[4], "/usr/local/bin:/usr/bin:/bin")
        st = self.call({"op": "status", "job": g["job"]})["job"]
        self.assertEqual(st["owner"], self.uid)

    def test_root_job_runs_as_root(self):
        r = self.run_job("exec", ["sh", "-c", "id -u; id -g"])
        self.assertEqual(r["result"]["stdout"], "0\n0\n")


class Isolation(ExecCase):
    def setUp(self):
        # The daemon starts with SIGALRM ignored, as a careless parent
        # might leave it; its commands must not inherit that.
        old = signal.signal(signal.SIGALRM, signal.SIG_IGN)
        try:
            super().setUp()
        finally:
            signal.signal(signal.SIGALRM, old)

    def test_a_command_has_a_session_of_its_own(self):
        # No controlling terminal of the daemon's can be reached from it.
        r = self.run_job("exec", ["sh", "-c",
                                  "echo $$; cut -d' ' -f6 /proc/$$/stat; "
                                  "cut -d' ' -f7 /proc/$$/stat"])
        pid, sid, tty = r["result"]["stdout"].split()
        self.assertEqual(pid, sid)
        self.assertEqual(tty, "0")

    def test_inherited_ignored_signals_are_reset(self):
        # The daemon ran with SIGALRM ignored; the command must not be.
        r = self.run_job("exec", ["sh", "-c", "kill -ALRM $$; sleep 5"])
        self.assertEqual(r["result"].get("signal"), signal.SIGALRM, r)

    def test_a_stale_log_file_is_not_a_jobs_log(self):
        job = self.submit("square", 4)
        self.finish(job)
        path = log_path(self.d.tmp, job, "out")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("someone else's output")
        r = self.call({"op": "logs", "job": job})
        self.assertEqual((r["stdout"]["data"], r["end"]), ("", True))


class Limits(ExecCase):
    def test_nofile(self):
        r = self.run_job("exec", ["sh", "-c", "ulimit -n"],
                         kwargs={"limits": {"nofile": 17}})
        self.assertEqual((r["state"], r["result"]["stdout"]), ("done", "17\n"))
        # Without a limit, the daemon's own.
        r = self.run_job("exec", ["sh", "-c", "ulimit -n"])
        self.assertNotEqual(r["result"]["stdout"], "17\n")

    def test_cpu_limit_ends_a_busy_loop(self):
        start = time.monotonic()
        r = self.run_job("shell", ["while :; do :; done"], within=40,
                         timeout=30 * SLOW, kwargs={"limits": {"cpu": 1}})
        elapsed = time.monotonic() - start
        self.assertEqual(r["state"], "failed", r)
        self.assertEqual(r["error"]["code"], "killed")
        self.assertIn(r["result"]["signal"], (SIGXCPU, SIGKILL))
        self.assertLess(elapsed, 15 * SLOW)
        self.assert_nothing_left(group=r["result"]["pid"])

    def test_address_space_limit(self):
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
            else sys.executable
        r = self.run_job("exec", [py, "-c", "bytearray(400 << 20)"],
                         kwargs={"limits": {"as": 200 << 20}})
        self.assertEqual(r["state"], "failed", r)
        self.assertIn("MemoryError", r["result"]["stderr"])


if __name__ == "__main__":
    main()

"""Fair shares on a root mpd: a user other than root gives priorities only
within --user-priority-max, and that user's jobs run no longer than
--user-job-timeout; the limit that was hit names itself. Root is not held
to either."""
import datetime
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import Daemon, Tools, User, main, wait_for  # noqa: E402

CALLS = """
import json, sys
sys.path.insert(0, %(pypath)r)
import mpd
c = mpd.Client(%(sock)r)
out = []
for req in %(reqs)r:
    req = dict(req)
    nowait = req.pop("_nowait", False)
    r = c.call(req)
    if r.get("ok") and req["op"] == "submit" and not nowait:
        r = c.call({"op": "get", "job": r["job"], "timeout": 60})
    out.append(r)
print(json.dumps(out))
"""


def stamp(text):
    """Seconds of a protocol time (2026-01-02T03:04:05.678Z)."""
    return datetime.datetime.strptime(
        text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


class Base(unittest.TestCase):
    """A root mpd with both limits set, and a way to call it as a user."""

    extra = ["--user-job-timeout", "1"]

    def setUp(self):
        self.tools = Tools()
        self.addCleanup(self.tools.cleanup)
        self.d = Daemon(2, ["--socket-mode", "0666", "--user-priority-max",
                            "10"] + self.extra)
        os.chmod(self.d.tmp, 0o711)
        self.d.start()
        self.addCleanup(self.d.stop)

    def calls(self, user, reqs):
        r = user.run(self.tools.python_argv(CALLS % {
            "pypath": self.tools.pypath, "sock": self.d.socket,
            "reqs": reqs}))
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)


class Fairness(Base):
    def test_priorities_and_time_limits_of_ordinary_users(self):
        u = User("fa")
        high, ok, late, long_ = self.calls(u, [
            {"op": "submit", "task": "square", "args": [2],
             "priority": 1000},
            {"op": "submit", "task": "square", "args": [3], "priority": 10},
            {"op": "submit", "task": "sleep", "args": [30]},
            {"op": "submit", "task": "sleep", "args": [30], "timeout": 600},
        ])
        self.assertEqual(high["error"]["code"], "permission_denied", high)
        self.assertIn("--user-priority-max", high["error"]["message"])
        self.assertEqual(ok["result"], 9, ok)
        for r in (late, long_):
            self.assertEqual(r["state"], "timeout", r)
            self.assertEqual(r["error"]["limit"], 1, r)
        # Root is held to neither.
        j = self.d.call({"op": "submit", "task": "sleep", "args": [1.5],
                         "priority": 1000})
        r = self.d.call({"op": "get", "job": j["job"], "timeout": 60})
        self.assertEqual(r["state"], "done", r)


class Usage(Base):
    def test_status_shows_owners_usage_to_root_and_each_their_own(self):
        u = User("fu")
        root_job = self.d.call({"op": "submit", "task": "sleep",
                                "args": [30]})["job"]
        _, status = self.calls(u, [
            {"op": "submit", "task": "sleep", "args": [0.8],
             "_nowait": True},
            {"op": "status"}])
        self.assertEqual([o["uid"] for o in status["owners"]], [u.uid],
                         status["owners"])
        owners = {o["uid"]: o for o in self.d.call({"op": "status"})
                  ["owners"]}
        self.assertEqual(owners[0]["running"], 1, owners)
        self.assertIn(u.uid, owners)
        self.d.call({"op": "cancel", "job": root_job})


class Shares(Base):
    """--max-running-per-user 1 on 2 workers: one user's queue never
    takes both, and another user's job runs beside it at once."""
    extra = ["--max-running-per-user", "1"]

    def test_one_users_queue_does_not_take_every_worker(self):
        a, b = User("sa"), User("sb")
        mine = self.calls(a, [{"op": "submit", "task": "sleep",
                               "args": [1], "_nowait": True}] * 3)
        theirs = self.calls(b, [{"op": "submit", "task": "sleep",
                                 "args": [0.2]}])
        self.assertEqual(theirs[0]["state"], "done", theirs)
        views = []
        for r in mine:
            self.d.call({"op": "get", "job": r["job"], "timeout": 60})
            views.append(self.d.call({"op": "status", "job": r["job"]})
                         ["job"])
        spans = sorted((v["started"], v["finished"]) for v in views)
        for x, y in zip(spans, spans[1:]):
            self.assertLessEqual(x[1], y[0], spans)   # one at a time
        b_view = self.d.call({"op": "status", "job": theirs[0]["job"]})
        # b's job did not wait for a's first to end.
        self.assertLess(b_view["job"]["started"], spans[0][1])


class QueueCap(Base):
    """--max-queued-per-user 3: a user's fourth queued item is refused
    with queue_full naming the cap; a map counts its items; root and
    another user are not held back."""
    extra = ["--max-queued-per-user", "3"]

    def test_one_user_cannot_fill_the_queue(self):
        a, b = User("qa"), User("qb")
        for _ in range(2):      # both workers busy: what follows queues
            self.d.call({"op": "submit", "task": "sleep", "args": [30]})
        sleep = {"op": "submit", "task": "sleep", "args": [30],
                 "_nowait": True}
        got = self.calls(a, [sleep] * 4 + [
            {"op": "map", "task": "square", "items": [1, 2]}])
        self.assertEqual([r["ok"] for r in got], [True] * 3 + [False] * 2)
        for r in got[3:]:
            self.assertEqual(r["error"]["code"], "queue_full", r)
            self.assertIn("--max-queued-per-user", r["error"]["message"])
        self.assertIn("has 3 items queued", got[3]["error"]["message"])
        theirs = self.calls(b, [sleep] * 3)
        self.assertEqual([r["ok"] for r in theirs], [True] * 3)
        for _ in range(5):
            r = self.d.call({"op": "submit", "task": "sleep", "args": [30]})
            self.assertTrue(r["ok"], r)
        # Once one of a's goes, a may queue one more.
        self.d.call({"op": "cancel", "job": got[0]["job"]})
        again = self.calls(a, [sleep, sleep])
        self.assertEqual([r["ok"] for r in again], [True, False])


WAITING = """
import json, sys
sys.path.insert(0, %(pypath)r)
from mpd.client import connect
s = connect(%(sock)r)
s.sendall(b"".join(json.dumps({"op": "submit", "task": "sleep",
                               "args": [30], "req": k}).encode() + b"\\n"
                   for k in range(4)))
f = s.makefile("rb")
print(json.dumps([json.loads(f.readline()) for _ in range(4)]))
"""


class QueueCapWaiting(Base):
    """--max-queue 3 and --max-queued-per-user 2: a user's submits that
    waited for room are held to the user's cap when they go in."""
    extra = ["--max-queue", "3", "--max-queued-per-user", "2"]

    def test_waiting_submits_go_in_within_the_users_cap(self):
        a = User("qw")
        for _ in range(2):      # both workers busy
            self.d.call({"op": "submit", "task": "sleep", "args": [30]})
        wait_for(lambda: self.d.call({"op": "status"})["jobs"]["running"]
                 == 2, 20, "both workers busy")
        mine = [self.d.call({"op": "submit", "task": "sleep",
                             "args": [30]})["job"] for _ in range(3)]
        p = a.popen(self.tools.python_argv(WAITING % {
            "pypath": self.tools.pypath, "sock": self.d.socket}),
            stdout=-1, text=True)
        self.addCleanup(p.kill)
        wait_for(lambda: self.d.log().count("waits for queue space") >= 4,
                 20, "the user's four submits to wait")
        for j in mine:          # room for three
            self.d.call({"op": "cancel", "job": j})
        out, _ = p.communicate(timeout=60)
        got = sorted(json.loads(out), key=lambda r: r["req"])
        self.assertEqual([r["ok"] for r in got], [True, True, False, False],
                         got)
        for r in got[2:]:
            self.assertEqual(r["error"]["code"], "queue_full", r)
            self.assertIn("--max-queued-per-user", r["error"]["message"])


class Turns(Base):
    """No cap: owners at one priority take turns, so a user's long queue
    holds another user's job back by one job's run at most."""
    extra = []

    def test_another_users_job_goes_at_the_next_free_worker(self):
        a, b = User("ta"), User("tb")
        mine = self.calls(a, [{"op": "submit", "task": "sleep",
                               "args": [0.5], "_nowait": True}] * 10)
        theirs = self.calls(b, [{"op": "submit", "task": "sleep",
                                 "args": [0.01]}])
        self.assertEqual(theirs[0]["state"], "done", theirs)
        b_view = self.d.call({"op": "status", "job": theirs[0]["job"]})["job"]
        between = []
        for r in mine:
            v = self.d.call({"op": "status", "job": r["job"]})["job"]
            if (v.get("started") is not None and
                    b_view["created"] < v["started"] < b_view["started"]):
                between.append(v["id"])
        # No job of a's started between b's submit and b's start.
        self.assertEqual(between, [], (b_view, between))
        # And b did not wait for a's queue: at most one 0.5 s job.
        waited = stamp(b_view["started"]) - stamp(b_view["created"])
        self.assertLess(waited, 0.5 + 0.4, b_view)
        for r in mine:
            self.d.call({"op": "cancel", "job": r["job"]})


if __name__ == "__main__":
    main()

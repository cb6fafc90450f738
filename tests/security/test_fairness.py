"""Fair shares on a root mpd: a user other than root gives priorities only
within --user-priority-max, and that user's jobs run no longer than
--user-job-timeout; the limit that was hit names itself. Root is not held
to either."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import Daemon, Tools, User, main  # noqa: E402

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


class Base(unittest.TestCase):
    """A root mpd with both limits set, and a way to call it as a user."""

    def setUp(self):
        self.tools = Tools()
        self.addCleanup(self.tools.cleanup)
        self.d = Daemon(2, ["--socket-mode", "0666", "--user-priority-max",
                            "10", "--user-job-timeout", "1"])
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


if __name__ == "__main__":
    main()

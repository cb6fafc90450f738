"""Workers: names, replacement after death, no zombies after crashes,
graceful and forced stops, and recovery after the parent is killed."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (Daemon, MpdTestCase, children_of, main,  # noqa: E402
                     proc_status, wait_for)


class Names(MpdTestCase):
    workers = 3

    def test_worker_names_in_proc_and_ps(self):
        names = sorted(comm for _, _, comm in children_of(self.d.pid))
        self.assertEqual(names, ["worker-1", "worker-2", "worker-3"])
        pids = self.d.worker_pids()
        out = subprocess.run(["ps", "-o", "args=", "-p",
                              ",".join(map(str, pids))],
                             capture_output=True, text=True).stdout
        for n in (1, 2, 3):
            self.assertIn("mpd: worker-%d" % n, out)

    def test_workers_are_reused(self):
        before = sorted(self.d.worker_pids())
        r = self.d.mpctl("map", "--chunksize", "1", "square", *range(30))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(self.d.worker_pids()), before)
        done = sum(w["jobs_done"] for w in self.d.status()["workers"])
        self.assertEqual(done, 30)


class Deaths(MpdTestCase):
    def test_crashing_job_fails_with_cause_and_worker_is_replaced(self):
        before = set(self.d.worker_pids())
        job = self.submit("crash")
        r = self.get(job)
        self.assertEqual(r["state"], "failed")
        self.assertEqual(r["error"]["code"], "worker_died")
        self.assertEqual(r["error"]["signal"], 9)
        self.assertIn("killed by signal 9", r["error"]["message"])
        self.assertIn("worker-", r["error"]["message"])
        wait_for(lambda: len(self.d.worker_pids()) == 2, 10,
                 "a replacement worker")
        self.assertNotEqual(set(self.d.worker_pids()), before)
        self.assertEqual(self.d.zombies(), [])
        # The pool still works.
        self.assertEqual(self.get(self.submit("square", 9))["result"], 81)

    def test_lost_attempts_are_retried_up_to_max_attempts(self):
        job = self.submit("crash", max_attempts=3)
        r = self.get(job)
        self.assertEqual((r["state"], r["error"]["code"]),
                         ("failed", "worker_died"))
        st = self.d.call({"op": "status", "job": job})["job"]
        self.assertEqual((st["attempts"], st["max_attempts"]), (3, 3))
        self.assertEqual(self.d.log().count("failed; retrying in"), 2)
        # Every attempt is on record, with its cause.
        self.assertEqual([(h["attempt"], h["state"], h["error"]["code"])
                          for h in st["history"]],
                         [(n, "failed", "worker_died") for n in (1, 2, 3)])

    def test_forgetting_an_ended_map_while_a_chunk_runs(self):
        r = self.d.call({"op": "map", "task": "sleep",
                         "items": ["bad", 0.5], "chunksize": 1})
        g = self.get(r["job"])
        self.assertEqual(g["state"], "failed")
        f = self.d.call({"op": "forget", "job": r["job"]})
        self.assertTrue(f["ok"], f)
        # The chunk still running ends after its map is gone: no harm.
        wait_for(lambda: all(w["state"] == "idle"
                             for w in self.d.status()["workers"]),
                 10, "the chunk to end")
        self.assertEqual(self.get(self.submit("square", 3))["result"], 9)

    def test_crash_by_other_signal(self):
        r = self.get(self.submit("crash", 15))
        self.assertEqual(r["error"]["signal"], 15)

    def test_idle_worker_killed_from_outside_is_replaced(self):
        victim = self.d.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in self.d.worker_pids() and
                 len(self.d.worker_pids()) == 2, 10, "the replacement")
        self.assertEqual(self.d.zombies(), [])
        self.assertEqual(self.get(self.submit("square", 4))["result"], 16)

    def test_crashing_map_item_fails_the_map(self):
        r = self.d.call({"op": "map", "task": "crash", "items": [9],
                         "chunksize": 1})
        g = self.get(r["job"])
        self.assertEqual(g["state"], "failed")
        self.assertEqual(g["error"]["code"], "worker_died")


class ThousandJobs(MpdTestCase):
    workers = 4

    def test_mixed_crashes_leave_no_zombie(self):
        c = self.d.client()
        crash_every = 20
        tags = {}
        for i in range(1000):
            if i % crash_every == 7:
                req = {"op": "submit", "task": "crash", "args": [9]}
            else:
                req = {"op": "submit", "task": "square", "args": [i]}
            tags[c.send(req)] = i
        jobs = {}
        for _ in range(1000):
            r = c.recv()
            self.assertTrue(r["ok"], r)
            jobs[tags[r["req"]]] = r["job"]
        gets = {c.send({"op": "get", "job": jobs[i]}): i for i in jobs}
        crashed = done = 0
        for _ in range(1000):
            r = c.recv()
            i = gets[r["req"]]
            if i % crash_every == 7:
                self.assertEqual(r["state"], "failed", r)
                self.assertEqual(r["error"]["code"], "worker_died")
                crashed += 1
            else:
                self.assertEqual((r["state"], r["result"]), ("done", i * i))
                done += 1
        c.close()
        self.assertEqual((crashed, done), (50, 950))
        wait_for(lambda: len(self.d.worker_pids()) == 4, 10,
                 "every worker slot filled")
        kids = children_of(self.d.pid)
        self.assertEqual([k for k in kids if k[1] == "Z"], [],
                         "zombies under mpd")
        self.assertEqual(sorted(k[2] for k in kids),
                         ["worker-%d" % n for n in (1, 2, 3, 4)])
        for w in self.d.status()["workers"]:
            self.assertEqual(proc_status(w["pid"])["Name"], w["name"])


class Stops(MpdTestCase):
    workers = 1

    def test_sigterm_lets_running_job_finish(self):
        job = self.submit("sleep", 0.5, "finished")
        wait_for(lambda: self.d.call({"op": "status", "job": job})["job"]
                 ["state"] == "running", 10, "the job to run")
        workers = self.d.worker_pids()
        self.assertEqual(self.d.stop(signal.SIGTERM), 0)
        for p in workers:
            wait_for(lambda: proc_status(p) is None, 10, "worker gone")
        d2 = Daemon(1, tmp=self.d.tmp).start()
        self.d = d2
        self.assertEqual(self.get(job)["result"], "finished")

    def test_grace_expiry_requeues_without_spending_an_attempt(self):
        job = self.submit("sleep", 30, "second run")
        wait_for(lambda: self.d.call({"op": "status", "job": job})["job"]
                 ["state"] == "running", 10, "the job to run")
        # The harness runs mpd with --grace 1: the stop cannot wait 30 s.
        self.assertEqual(self.d.stop(signal.SIGTERM), 0)
        self.assertIn("goes back to the queue", self.d.log())
        d2 = Daemon(1, tmp=self.d.tmp)
        st = None
        # Inspect the stored job before the new daemon runs it.
        import sqlite3
        db = sqlite3.connect(d2.db)
        st = db.execute("SELECT state, attempts FROM jobs WHERE id = ?",
                        (job,)).fetchone()
        db.close()
        self.assertEqual(st, (0, 0))

    def test_second_sigint_stops_at_once(self):
        self.submit("sleep", 60)
        wait_for(lambda: self.d.status()["workers"][0]["state"] == "busy",
                 10, "a busy worker")
        self.d.send_signal(signal.SIGINT)
        wait_for(lambda: not os.path.exists(self.d.socket), 10,
                 "the socket to go")
        self.d.send_signal(signal.SIGINT)
        self.assertEqual(self.d.wait_exit(5), 0)

    def test_shutdown_drain_runs_the_queue(self):
        jobs = [self.submit("sleep", 0.1, i) for i in range(5)]
        r = self.d.mpctl("shutdown", "--drain", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.wait_exit(), 0)
        import sqlite3
        db = sqlite3.connect(self.d.db)
        states = [db.execute("SELECT state FROM jobs WHERE id = ?",
                             (j,)).fetchone()[0] for j in jobs]
        db.close()
        self.assertEqual(states, [2] * 5)

    def test_sigterm_during_drain_turns_graceful(self):
        self.submit("sleep", 60)
        for i in range(3):
            self.submit("square", i)
        c = self.d.client()
        self.assertTrue(c.call({"op": "shutdown", "mode": "drain"})["ok"])
        self.d.send_signal(signal.SIGTERM)
        # Graceful now: the harness's 1 s grace, then the sleep is requeued.
        self.assertEqual(self.d.wait_exit(20), 0)
        c.close()
        self.assertIn("stopping (drain)", self.d.log())
        self.assertIn("goes back to the queue", self.d.log())

    def test_shutdown_refuses_new_work_while_stopping(self):
        job = self.submit("sleep", 0.5)
        c = self.d.client()
        c.call({"op": "shutdown"})
        r = c.call({"op": "submit", "task": "square", "args": [1]})
        self.assertEqual(r["error"]["code"], "shutting_down")
        self.assertEqual(c.call({"op": "get", "job": job})["state"], "done")
        c.close()


class ParentKilled(MpdTestCase):
    workers = 2

    def test_kill9_then_restart_recovers(self):
        done = self.submit("square", 6)
        self.get(done)
        running = self.submit("sleep", 60)
        retry = self.submit("sleep", 60, "again", max_attempts=2)
        wait_for(lambda: self.d.status()["jobs"]["running"] == 2, 10,
                 "both sleeps to run")
        self.assertEqual(self.d.status()["jobs"]["running"], 2)
        old_workers = self.d.worker_pids()
        queued = self.submit("square", 7)
        self.d.kill()
        # Workers notice the parent's death and exit.
        for p in old_workers:
            wait_for(lambda: proc_status(p) is None, 10,
                     "worker %d to exit" % p)
        d2 = Daemon(2, tmp=self.d.tmp)
        self.d = d2
        d2.start()
        self.assertIn("requeued", d2.log())
        self.assertEqual(self.get(done)["result"], 36)
        self.assertEqual(self.get(queued)["result"], 49)
        r = self.get(running)
        self.assertEqual((r["state"], r["error"]["code"]),
                         ("failed", "interrupted"))
        st = d2.call({"op": "status", "job": retry})["job"]
        self.assertIn(st["state"], ("queued", "running"))

    def test_second_daemon_on_same_db_refuses(self):
        other = Daemon(1, tmp=self.d.tmp)
        other.socket = self.d.socket + "2"
        other.start(wait=False)
        self.assertEqual(other.wait_exit(), 1)
        self.assertIn("in use by another mpd", other.log())

    def test_second_daemon_on_same_socket_refuses(self):
        other = Daemon(1)
        self.addCleanup(other.cleanup)
        other.socket = self.d.socket
        other.start(wait=False)
        self.assertEqual(other.wait_exit(), 1)
        self.assertIn("already listening", other.log())
        self.assertTrue(self.d.call({"op": "hello"})["ok"])


if __name__ == "__main__":
    main()

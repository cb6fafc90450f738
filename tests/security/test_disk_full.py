"""A full disk never stops the daemon (issue 19, attack 2).

The store and the logs live on a small tmpfs. A job whose output fills it
leaves the daemon up: new work is refused with disk_full, reads answer, and
once space is freed the reserve is made again and work goes on. A daemon
killed while the disk is full starts again on it (recovery has the
reserve's room), and the reserve's name cannot be used to make root write
elsewhere. Mounting needs root; without it, or where mounts are not
allowed, the file exits 77 (skipped)."""
import errno
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sectest import SKIP, Daemon, main, wait_for  # noqa: E402

SIZE_MB = 30


def mount_small_disk():
    """A fresh 30 MB tmpfs, mode 0700; its path, or None when not allowed."""
    where = tempfile.mkdtemp(prefix="mpd-disk-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=%dm,mode=0700" % SIZE_MB, "tmpfs", where],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(where)
        return None
    return where


def unmount(where):
    subprocess.run(["umount", "-l", where], capture_output=True)
    os.rmdir(where)


def fill(path):
    """Writes zeros to path until the disk is full; the bytes written."""
    chunk, n = b"\0" * (1 << 20), 0
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
            # A short write means the disk just ran out.
    return n


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class DiskFull(unittest.TestCase):
    def setUp(self):
        self.disk = mount_small_disk()
        if self.disk is None:
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(unmount, self.disk)
        self.d = self.daemon()

    def daemon(self, start=True):
        d = Daemon(2, ["--log-cap", "0"], tmp=self.disk)
        if start:
            d.start()
            self.addCleanup(d.stop)
        return d

    def call(self, **req):
        return self.d.call(req)

    def submit(self, *argv):
        return self.call(op="submit", task="exec", args=list(argv))

    def refused_for_disk(self):
        r = self.submit("true")
        self.assertFalse(r["ok"], r)
        self.assertEqual(r["error"]["code"], "disk_full", r)
        self.assertIn("disk holding the store is full", r["error"]["message"])

    def test_a_job_that_fills_the_disk_leaves_the_daemon_serving(self):
        pid = self.d.pid
        reserve = os.path.join(self.disk, "mpd.db.reserve")
        self.assertEqual(os.path.getsize(reserve), 4 << 20)
        r = self.submit("sh", "-c", "head -c 40000000 /dev/zero")
        self.assertTrue(r["ok"], r)
        job = r["job"]
        got = self.call(op="get", job=job, timeout=60)
        # The job ended as it would have: its output went where it could.
        self.assertTrue(got["ok"], got)
        self.assertEqual(got["result"]["exit_code"], 0)
        self.assertEqual(got["result"]["stdout_bytes"], 40000000)
        self.assertTrue(got["result"]["log_truncated"])
        self.assertIsNone(self.d.proc.poll(), self.d.log())
        self.assertEqual(self.d.pid, pid)
        self.assertIn("is full", self.d.log())
        self.assertFalse(os.path.exists(reserve))
        # New work is refused; reads answer.
        self.refused_for_disk()
        st = self.d.status()
        self.assertTrue(st["disk_full"])
        self.assertEqual(st["jobs"]["done"], 1)
        self.assertTrue(self.call(op="list")["ok"])
        self.assertTrue(self.call(op="logs", job=job)["ok"])
        # Forgetting the job frees its log: the reserve is made again and
        # new work runs, without a restart.
        self.assertTrue(self.call(op="forget", job=job)["ok"])
        wait_for(lambda: not self.d.status()["disk_full"], 10,
                 "the daemon to see the freed space")
        self.assertIn("has room again", self.d.log())
        self.assertEqual(os.path.getsize(reserve), 4 << 20)
        r = self.submit("echo", "again")
        self.assertTrue(r["ok"], r)
        got = self.call(op="get", job=r["job"], timeout=30)
        self.assertEqual(got["result"]["stdout"], "again\n")
        self.assertEqual(self.d.pid, pid)

    def test_killed_on_a_full_disk_it_starts_again_and_loses_nothing(self):
        # Both workers busy, two more jobs queued behind them.
        ids = [self.submit("sleep", "60")["job"] for _ in range(2)]
        wait_for(lambda: self.d.status()["jobs"]["running"] == 2, 20,
                 "two running jobs")
        ids += [self.submit("echo", "queued %d" % i)["job"] for i in range(2)]
        filler = os.path.join(self.disk, "filler")
        fill(filler)
        self.assertLess(free_bytes(self.disk), 1 << 20)
        self.d.kill()
        self.d = self.daemon()
        log = self.d.log()
        self.assertIn("is full", log)
        self.assertTrue(self.d.status()["disk_full"])
        # What was acknowledged is all there; queued jobs wait for space.
        st = self.d.status()["jobs"]
        self.assertEqual(sum(st.values()), 4, st)
        self.assertEqual(st["queued"], 2, st)
        self.refused_for_disk()
        os.unlink(filler)
        wait_for(lambda: not self.d.status()["disk_full"], 10,
                 "the daemon to see the freed space")
        for job in ids[2:]:
            got = self.call(op="get", job=job, timeout=30)
            self.assertTrue(got["ok"], got)
            self.assertTrue(got["result"]["stdout"].startswith("queued"))
        self.assertTrue(os.path.exists(os.path.join(self.disk,
                                                    "mpd.db.reserve")))


class ReservePath(unittest.TestCase):
    """The reserve is made with the database's directory held open and no
    link followed: a link planted in its place is removed, not written
    through."""

    def test_a_planted_link_is_not_followed(self):
        d = Daemon(1)
        self.addCleanup(d.cleanup)
        victim = tempfile.NamedTemporaryFile(prefix="mpd-victim-",
                                             delete=False)
        victim.write(b"precious\n")
        victim.close()
        self.addCleanup(os.unlink, victim.name)
        reserve = os.path.join(d.tmp, "mpd.db.reserve")
        os.symlink(victim.name, reserve)
        d.start()
        self.addCleanup(d.stop)
        with open(victim.name, "rb") as f:
            self.assertEqual(f.read(), b"precious\n")
        self.assertFalse(os.path.islink(reserve))
        self.assertEqual(os.path.getsize(reserve), 4 << 20)
        self.assertEqual(os.stat(reserve).st_mode & 0o777, 0o600)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("skipped: mounting a small tmpfs needs root")
        sys.exit(SKIP)
    main(root=False)

"""The seed notes' examples, as the demo runs them: Pool.map, ten
apply_async + get on ten workers, and a result that outlives a restart."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import Daemon, MpdTestCase, main  # noqa: E402


class PoolMap(MpdTestCase):
    def test_map_square(self):
        r = self.d.mpctl("map", "square", 1, 2, 3, 4, 5)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "[1,4,9,16,25]\n")


class ReadmeMpctl(MpdTestCase):
    """README's first way in, mpctl: its map line prints what README says."""

    def test_the_readme_map_line(self):
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "..", "..", "README.md")
        with open(readme) as f:
            lines = [line for line in f
                     if line.startswith("    mpctl map square 1 2 3 4 5 ")]
        self.assertEqual(len(lines), 1, "README lost its mpctl map line")
        command, _, comment = lines[0].partition("#")
        args = command.split()[1:]
        r = self.d.mpctl(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), comment.split()[0])


class ApplyAsync(MpdTestCase):
    workers = 10

    def test_ten_sleeps_run_together(self):
        t0 = time.monotonic()
        ids = []
        for n in range(10):
            r = self.d.mpctl("submit", "sleep", 2, '"hello %d"' % n)
            self.assertEqual(r.returncode, 0, r.stderr)
            ids.append(int(r.stdout))
        for n, job in enumerate(ids):
            r = self.d.mpctl("get", job)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, '"hello %d"\n' % n)
        elapsed = time.monotonic() - t0
        # The proof of parallelism: every job started before any ended.
        views = [self.d.call({"op": "status", "job": j})["job"]
                 for j in ids]
        last_start = max(v["started"] for v in views)
        first_end = min(v["finished"] for v in views)
        self.assertLess(last_start, first_end, views)
        print("ten 2 s sleeps on ten workers took %.2f s" % elapsed)
        self.assertLess(elapsed, 19, "the jobs ran one after another")


class Restart(MpdTestCase):
    def test_result_survives_restart(self):
        r = self.d.mpctl("submit", "square", 12)
        job = int(r.stdout)
        self.assertEqual(self.d.mpctl("get", job).stdout, "144\n")
        r = self.d.mpctl("submit", "echo", "kept", '{"a":1}')
        job2 = int(r.stdout)
        self.assertEqual(self.d.mpctl("get", job2).stdout,
                         '["kept",{"a":1}]\n')
        self.assertEqual(self.d.stop(), 0)

        d2 = Daemon(2, tmp=self.d.tmp)
        self.d = d2
        d2.start()
        self.assertEqual(d2.mpctl("get", job).stdout, "144\n")
        self.assertEqual(d2.mpctl("get", job2).stdout, '["kept",{"a":1}]\n')
        # New ids continue after the old ones.
        r = d2.mpctl("submit", "square", 3)
        self.assertGreater(int(r.stdout), job2)

    workers = 1

    def test_queued_jobs_survive_restart(self):
        # One worker busy for a while; the next job waits in the queue.
        busy = self.submit("sleep", 1.5, "busy")
        queued = self.submit("square", 5)
        self.assertEqual(self.d.call({"op": "status", "job": queued})
                         ["job"]["state"], "queued")
        self.d.stop()
        d2 = Daemon(1, tmp=self.d.tmp)
        self.d = d2
        d2.start()
        self.assertEqual(d2.mpctl("get", queued).stdout, "25\n")
        # The busy job finished within the grace period before the stop.
        self.assertEqual(d2.mpctl("get", busy).stdout, '"busy"\n')


if __name__ == "__main__":
    main()

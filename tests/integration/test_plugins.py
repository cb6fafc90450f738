"""Task plugins (<mpd/task.h>): the example plugin's tasks run in the
workers beside the built-ins; each way a plugin can be wrong stops the
start with a message naming the file; a plugin mpd cannot trust is never
loaded; and a plugin's file access is its job owner's, not root's."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (BUILD, MPD, MPCTL, Daemon, MpdTestCase,  # noqa: E402
                     main)

PLUGINS = os.path.join(BUILD, "plugins")
EXAMPLE = os.path.join(PLUGINS, "example.so")
NOBODY = 65534


def refused(*plugin_args):
    """Starts mpd with these plugins; it must refuse: its stderr."""
    tmp = tempfile.mkdtemp(prefix="mpdtest-plugin-")
    try:
        args = [MPD, "--config", os.devnull, "--socket",
                os.path.join(tmp, "s"), "--db", os.path.join(tmp, "db"),
                "--workers", "1"]
        for p in plugin_args:
            args += ["--plugin", p]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 1, (r.returncode, r.stderr)
        return r.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Example(MpdTestCase):
    daemon_args = ("--plugin", EXAMPLE)

    def test_its_tasks_run_beside_the_builtins(self):
        tasks = self.d.call({"op": "hello"})["tasks"]
        self.assertIn("wc", tasks)
        self.assertIn("mandelbrot", tasks)
        self.assertIn("square", tasks)
        text = os.path.join(self.d.tmp, "words.txt")
        words = "one two\nthree\n\n  four  five six\n"
        with open(text, "w") as f:
            f.write(words)
        r = self.get(self.submit("wc", text), timeout=30)
        self.assertEqual(r["result"], {"lines": 4, "words": 6,
                                       "bytes": len(words)}, r)
        r = self.get(self.submit("mandelbrot", 60, 40, 200), timeout=30)
        self.assertEqual(r["state"], "done", r)
        self.assertGreater(r["result"], 0)
        self.assertLess(r["result"], 60 * 40)
        # A map of plugin calls, through mpctl: each reads the file.
        r = self.d.mpctl("map", "wc", text, text)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), [
            {"lines": 4, "words": 6, "bytes": len(words)}] * 2)

    def test_a_task_reports_its_progress(self):
        job = self.submit("mandelbrot", 300, 250, 100)
        self.assertEqual(self.get(job, timeout=30)["state"], "done")
        st = self.d.call({"op": "status", "job": job})["job"]
        self.assertEqual(st["progress"], {"done": 250, "total": 250}, st)
        r = self.d.mpctl("status", job)
        self.assertIn("progress: 250 of 250", r.stdout)
        # A task that reports nothing shows nothing.
        job = self.submit("square", 2)
        self.get(job, timeout=30)
        st = self.d.call({"op": "status", "job": job})["job"]
        self.assertNotIn("progress", st)

    def test_its_check_refuses_bad_arguments_at_submit(self):
        r = self.d.call({"op": "submit", "task": "wc", "args": [1, 2]})
        self.assertEqual(r["error"]["code"], "bad_request", r)
        self.assertIn("one argument, a file's path", r["error"]["message"])
        r = self.d.call({"op": "submit", "task": "mandelbrot",
                         "args": [1, 2, 10 ** 9]})
        self.assertEqual(r["error"]["code"], "bad_request", r)

    def test_its_errors_fail_the_job(self):
        r = self.get(self.submit("wc", "/nonexistent/file"), timeout=30)
        self.assertEqual(r["state"], "failed", r)
        self.assertEqual(r["error"]["code"], "task_error", r)
        self.assertIn("No such file or directory", r["error"]["message"])

    @unittest.skipIf(os.geteuid() != 0, "needs root to act as another user")
    @unittest.skipIf(shutil.which("setpriv") is None, "setpriv is missing")
    def test_a_job_reads_files_as_its_owner(self):
        secret = os.path.join(self.d.tmp, "secret")
        with open(secret, "w") as f:
            f.write("root only\n")
        os.chmod(secret, 0o600)
        os.chmod(self.d.tmp, 0o711)
        os.chmod(self.d.socket, 0o666)
        mpctl = os.path.join(self.d.tmp, "mpctl")
        shutil.copy(MPCTL, mpctl)
        os.chmod(mpctl, 0o755)
        env = dict(os.environ, MPD_SOCKET=self.d.socket)
        job = subprocess.run(
            ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
             "--clear-groups", mpctl, "submit", "wc", secret], env=env,
            capture_output=True, text=True, timeout=60)
        self.assertEqual(job.returncode, 0, job.stderr)
        r = self.get(int(job.stdout), timeout=30)
        self.assertEqual(r["state"], "failed", r)
        self.assertIn("Permission denied", r["error"]["message"])
        # Root's own job reads it; the worker is root again after both.
        r = self.get(self.submit("wc", secret), timeout=30)
        self.assertEqual(r["result"]["lines"], 1, r)


class ReadmePlugin(unittest.TestCase):
    """README's plugin, built as README says, runs as README says."""

    def test_the_readme_snippet_builds_and_runs(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "..")
        with open(os.path.join(root, "README.md")) as f:
            readme = f.read()
        start = readme.index("    #include <mpd/task.h>")
        end = readme.index("    MPD_PLUGIN(init)", start)
        code = "\n".join(line[4:] for line in
                         readme[start:end].splitlines()) + "\nMPD_PLUGIN(init)\n"
        tmp = tempfile.mkdtemp(prefix="mpdtest-readme-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        src = os.path.join(tmp, "twice.c")
        with open(src, "w") as f:
            f.write(code)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                                "jansson"], capture_output=True, text=True,
                               check=True).stdout.split()
        so = os.path.join(tmp, "twice.so")
        r = subprocess.run(["cc", "-shared", "-fPIC", "-I",
                            os.path.join(root, "include"), "-o", so, src] +
                           flags, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        d = Daemon(1, ["--plugin", so])
        self.addCleanup(d.cleanup)
        d.start()
        r = d.mpctl("map", "twice", 1, 2, 3)
        self.assertEqual((r.returncode, r.stdout), (0, "[2,4,6]\n"),
                         r.stderr)
        self.assertEqual(d.stop(), 0)


class StartFailures(unittest.TestCase):
    def test_each_bad_plugin_stops_the_start_naming_it(self):
        for name, words in (
                ("bad-abi.so", "is built for task ABI 99; this mpd has "
                               "ABI 1"),
                ("bad-no_init.so", "has no mpd_plugin_init"),
                ("bad-taken.so", 'its task "square" has the name of a '
                                 "task mpd has already"),
                ("bad-init_fails.so", "its mpd_plugin_init failed"),
                ("missing.so", "No such file or directory")):
            path = os.path.join(PLUGINS, name)
            err = refused(path)
            self.assertIn("plugin ", err, name)
            self.assertIn(path, err, name)
            self.assertIn(words, err, name)

    def test_a_plugin_others_could_change_is_never_loaded(self):
        top = tempfile.mkdtemp(prefix="mpdtest-plugdir-")
        self.addCleanup(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        shared = os.path.join(top, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o777)
        copy = os.path.join(shared, "example.so")
        shutil.copy(EXAMPLE, copy)
        err = refused(copy)
        self.assertIn("can be written by every user", err)
        mine = os.path.join(top, "example.so")
        shutil.copy(EXAMPLE, mine)
        os.chmod(mine, 0o666)
        err = refused(mine)
        self.assertIn("can be written by every user (mode 0666)", err)
        os.chmod(mine, 0o644)
        link = os.path.join(top, "link.so")
        os.symlink(copy, link)
        err = refused(link)
        self.assertIn("can be written by every user", err)

    def test_the_config_file_loads_plugins(self):
        tmp = tempfile.mkdtemp(prefix="mpdtest-plugconf-")
        self.addCleanup(shutil.rmtree, tmp, True)
        conf = os.path.join(tmp, "mpd.conf")
        with open(conf, "w") as f:
            f.write("plugin = %s\n" % os.path.join(PLUGINS, "bad-abi.so"))
        r = subprocess.run([MPD, "--config", conf, "--socket",
                            os.path.join(tmp, "s"), "--db",
                            os.path.join(tmp, "db")], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("bad-abi.so is built for task ABI 99", r.stderr)


if __name__ == "__main__":
    main()

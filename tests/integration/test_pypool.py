"""mpd.Pool against multiprocessing.Pool's documented promises: each method,
errors with their remote tracebacks, timeouts, a function of a script's
__main__ (loaded without running the script), printed output relayed, and
the seed notes' Pool programs run with only their import changed, their
output compared with real multiprocessing's."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpdtest import (BUILD, MpdTestCase, PYDIR, SLOW, main,  # noqa: E402
                     wait_for)

SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "examples", "seeds")


class PyPool(MpdTestCase):
    workers = 1
    daemon_args = ("--python-pool", "4")

    def script(self, body, name="prog.py"):
        path = os.path.join(self.d.tmp, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(body))
        return path

    def python(self, path, *args, env=None, cwd=None, timeout=120):
        e = dict(os.environ, MPD_SOCKET=self.d.socket, PYTHONPATH=PYDIR,
                 **(env or {}))
        return subprocess.run([sys.executable, path] + list(args), env=e,
                              cwd=cwd or self.d.tmp, capture_output=True,
                              text=True, timeout=timeout * SLOW)

    def run_ok(self, body, **kw):
        r = self.python(self.script(body), **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def test_the_default_python_pool(self):
        pools = {p["name"]: p for p in self.d.call({"op": "pools"})["pools"]}
        self.assertEqual(pools["py"]["runtime"], "python")
        self.assertEqual(pools["py"]["size"], 4)

    def test_apply_and_apply_async(self):
        r = self.run_ok('''
            from mpd import Pool
            def add(a, b, scale=1):
                return (a + b) * scale
            p = Pool()
            print(p.apply(add, (1, 2)))
            print(p.apply(add, (1, 2), {"scale": 10}))
            seen = []
            r = p.apply_async(add, (3, 4), callback=seen.append)
            print(r.get(60), r.ready(), r.successful())
            r.wait()
            print(seen)
            print(p.apply("os.path:join", ("a", "b")))
            p.close()
            p.join()
        ''')
        self.assertEqual(r.stdout.split("\n")[:5],
                         ["3", "30", "7 True True", "[7]", "a/b"])

    def test_map_starmap_imap(self):
        r = self.run_ok('''
            from mpd import Pool
            def sq(x):
                return x * x
            def mul(a, b):
                return a * b
            with Pool(4) as p:
                print(p.map(sq, range(10)))
                print(p.map(sq, range(10), chunksize=3))
                print(p.map(sq, []))
                got = []
                p.map_async(sq, [1, 2], callback=got.append).wait()
                print(got)
                print(p.starmap(mul, [(1, 2), (3, 4)]))
                print(p.starmap_async(mul, [[5, 6]]).get())
                print(list(p.imap(sq, range(7), 2)))
                print(sorted(p.imap_unordered(sq, range(7))))
                print(list(p.imap(sq, [])))
        ''')
        self.assertEqual(r.stdout.split("\n")[:9], [
            str([x * x for x in range(10)]), str([x * x for x in range(10)]),
            "[]", "[[1, 4]]", "[2, 12]", "[30]",
            str([x * x for x in range(7)]), str([x * x for x in range(7)]),
            "[]"])

    def test_exceptions_keep_their_type_message_and_traceback(self):
        r = self.run_ok('''
            import traceback
            from mpd import Pool, RemoteError
            class Custom(Exception):
                pass
            def boom(x):
                raise Custom("bad %d" % x)
            def div(a, b):
                return a / b
            def odd(x):
                if x == 3:
                    raise ValueError("three")
                return x
            def unknown():
                import json
                class Local(Exception):
                    pass
                raise Local("from inside")
            p = Pool()
            for call in (lambda: p.apply(boom, (7,)),
                         lambda: p.apply(div, (1, 0)),
                         lambda: p.map(odd, range(6), 1),
                         lambda: p.apply(unknown)):
                try:
                    call()
                except Exception as e:
                    print(type(e).__name__, e, isinstance(e, RemoteError))
                    print("CAUSE", "".join(traceback.format_exception(
                        e.__cause__)).replace("\\n", "|"))
            errors = []
            r = p.apply_async(div, (1, 0), error_callback=errors.append)
            r.wait(60)
            print(r.ready(), r.successful(), type(errors[0]).__name__)
        ''')
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "Custom bad 7 False")
        self.assertIn("in boom", lines[1])
        self.assertIn('raise Custom("bad %d" % x)', lines[1])
        self.assertEqual(lines[2], "ZeroDivisionError division by zero False")
        self.assertIn("return a / b", lines[3])
        self.assertEqual(lines[4], "ValueError three False")
        self.assertEqual(lines[6], "Local from inside True")
        self.assertEqual(lines[8], "True False ZeroDivisionError")

    def test_timeouts_and_readiness(self):
        r = self.run_ok('''
            import multiprocessing
            from mpd import Pool
            p = Pool()
            r = p.apply_async("time:sleep", (30,))
            try:
                r.get(0.2)
            except multiprocessing.TimeoutError:
                print("timeout")
            print(r.ready())
            try:
                r.successful()
            except ValueError:
                print("not ready")
            p.terminate()
            print(r.ready(), r.successful())
            try:
                r.get()
            except Exception as e:
                print(type(e).__name__, e.code)
        ''')
        self.assertEqual(r.stdout.splitlines(), [
            "timeout", "False", "not ready", "True False",
            "JobError cancelled"])

    def test_close_join_terminate(self):
        r = self.run_ok('''
            from mpd import Pool
            p = Pool()
            try:
                p.join()
            except ValueError as e:
                print("join:", e)
            r = p.apply_async("time:sleep", (0.2,))
            p.close()
            try:
                p.apply_async(abs, (1,))
            except ValueError as e:
                print("closed:", e)
            p.join()
            print(r.ready())
        ''')
        self.assertEqual(r.stdout.splitlines(), [
            "join: Pool is still running", "closed: Pool not running",
            "True"])

    def test_only_json_goes(self):
        r = self.run_ok('''
            from mpd import Pool
            p = Pool()
            for args in ((b"x",), ({1, 2},), ({1: "a"},), (float("nan"),),
                         (object(),)):
                try:
                    p.apply_async(repr, args)
                except TypeError as e:
                    print("TypeError:", str(e)[:60])
            try:
                p.apply(lambda: 1)
            except TypeError as e:
                print("lambda:", "cannot be sent" in str(e))
            print(p.apply("json:loads", ('[1, [2, 3]]',)))
            def pair():
                return (1, 2)
        ''')
        out = r.stdout.splitlines()
        self.assertEqual(len(out), 7, r.stdout)
        self.assertTrue(all(x.startswith("TypeError:") for x in out[:5]))
        self.assertIn("bytes is not JSON", out[0])
        self.assertEqual(out[5], "lambda: True")
        self.assertEqual(out[6], "[1, [2, 3]]")

    def test_main_is_loaded_without_running_it(self):
        # No main guard, a side effect at the top, and a constant the
        # function needs: the worker runs the definitions only.
        marker = os.path.join(self.d.tmp, "ran")
        r = self.run_ok('''
            import os
            from mpd import Pool
            BASE = 100
            NAMES = ("a", "b")
            with open(%r, "a") as f:
                f.write("x")
            def f(x):
                return BASE + x, NAMES
            class K:
                @staticmethod
                def g(x):
                    return -x
            p = Pool()
            print(p.apply(f, (1,)), p.apply(K.g, (2,)))
        ''' % marker)
        self.assertEqual(r.stdout.splitlines()[0], "[101, ['a', 'b']] -2")
        with open(marker) as f:
            self.assertEqual(f.read(), "x")

    def test_cwd_and_sys_path_of_the_client(self):
        lib = os.path.join(self.d.tmp, "lib")
        os.makedirs(os.path.join(lib, "helpers"))
        with open(os.path.join(lib, "helpers", "__init__.py"), "w") as f:
            f.write("def where():\n    import os\n    return os.getcwd()\n")
        work = os.path.join(self.d.tmp, "work")
        os.mkdir(work)
        r = self.run_ok('''
            import sys
            sys.path.insert(0, %r)
            import helpers
            from mpd import Pool
            with Pool() as p:
                print(p.apply(helpers.where))
        ''' % lib, cwd=work)
        self.assertEqual(r.stdout.strip(), work)

    def test_printed_output_is_relayed_and_kept(self):
        r = self.run_ok('''
            import sys
            from mpd import Pool
            def talk(n):
                print("out", n)
                print("err", n, file=sys.stderr)
                return n
            p = Pool()
            rs = [p.apply_async(talk, (i,)) for i in range(3)]
            p.close()
            p.join()
            print("joined", [r.get() for r in rs], rs[0].job)
            q = Pool(relay=False)
            print("quiet", q.apply(talk, (9,)))
        ''')
        lines = r.stdout.splitlines()
        self.assertEqual(sorted(lines[:3]), ["out 0", "out 1", "out 2"])
        self.assertTrue(lines[3].startswith("joined [0, 1, 2]"), lines)
        self.assertEqual(lines[4], "quiet 9")
        self.assertEqual(sorted(r.stderr.splitlines()),
                         ["err 0", "err 1", "err 2"])
        job = lines[3].split()[-1]
        logs = self.d.mpctl("logs", job)
        self.assertEqual(logs.returncode, 0, logs.stderr)
        self.assertIn("out 0", logs.stdout)

    def test_processes_caps_concurrency(self):
        r = self.run_ok('''
            from mpd import Pool
            with Pool(1) as p:
                rs = [p.apply_async("time:sleep", (0.3,)) for _ in range(3)]
                [r.get() for r in rs]
                print(" ".join(str(r.job) for r in rs))
        ''')
        views = [self.d.call({"op": "status", "job": int(j)})["job"]
                 for j in r.stdout.split()]
        spans = sorted((v["started"], v["finished"]) for v in views)
        for a, b in zip(spans, spans[1:]):
            self.assertLessEqual(a[1], b[0], spans)

    def test_progress_of_a_function(self):
        r = self.run_ok('''
            import mpd
            from mpd import Pool
            def steps(n):
                for i in range(n):
                    mpd.progress(i + 1, n)
                return n
            with Pool() as p:
                r = p.apply_async(steps, (5,))
                r.get()
                print(r.job)
        ''')
        v = self.d.call({"op": "status", "job": int(r.stdout)})["job"]
        self.assertEqual(v["progress"], {"done": 5, "total": 5})

    def test_big_results_with_slow_callbacks_do_not_deadlock(self):
        # More unread replies than the daemon queues for a client (4 MiB)
        # while callbacks hold the reader: the Pool must keep reading.
        r = self.run_ok('''
            import time
            from mpd import Pool
            def big(i):
                return "x" * 100000
            seen = []
            def slow(value):
                time.sleep(0.002)
                seen.append(len(value))
            p = Pool()
            rs = [p.apply_async(big, (i,), callback=slow) for i in range(200)]
            p.close()
            p.join()
            print(len(seen), sum(seen))
        ''', timeout=120)
        self.assertEqual(r.stdout.split(), ["200", "20000000"])

    def test_a_failing_callback_does_not_stop_the_pool(self):
        r = self.run_ok('''
            from mpd import Pool
            def bad(value):
                raise RuntimeError("callback bug")
            p = Pool()
            p.apply_async(abs, (-1,), callback=bad).wait(60)
            print(p.apply(abs, (-2,)))
        ''')
        self.assertEqual(r.stdout.strip(), "2")
        self.assertIn("callback bug", r.stderr)

    def test_terminate_cancels_jobs_not_yet_acknowledged(self):
        r = self.run_ok('''
            import time
            from mpd import Pool
            p = Pool()
            rs = [p.apply_async("time:sleep", (5,)) for _ in range(8)]
            t0 = time.monotonic()
            p.terminate()
            print("%.1f" % (time.monotonic() - t0),
                  sorted({r.successful() for r in rs}))
        ''')
        took, rest = r.stdout.split(" ", 1)
        self.assertLess(float(took), 4.5)
        self.assertEqual(rest.strip(), "[False]")

    def test_output_is_relayed_whole_and_capped(self):
        r = self.run_ok('''
            import os, sys
            from mpd import Pool
            def much():
                sys.stdout.write("y" * 600001)
            def emoji():
                print("\\U0001F600" * 1000000)
                return 1
            def odd_name():
                print(os.fsdecode(b"caf\\xe9.txt"))
                return 2
            p = Pool(relay=True)
            p.apply(much)
            sys.stdout.write("\\n")
            q = Pool(relay=False)
            print(q.apply(emoji), q.apply(odd_name))
        ''')
        lines = r.stdout.split("\n")
        self.assertEqual(lines[0], "y" * 600001)
        self.assertEqual(lines[1], "1 2")

    def test_a_daemon_error_raises_with_its_code(self):
        r = self.run_ok('''
            from mpd import Pool, JobError
            try:
                Pool(pool="nosuch").apply(abs, (1,))
            except JobError as e:
                print(e.code)
        ''')
        self.assertEqual(r.stdout.strip(), "unknown_pool")


class ReadmePython(MpdTestCase):
    """README's Python snippet runs as README says it does."""
    workers = 1
    daemon_args = ("--python-pool", "2")

    def test_the_readme_snippet(self):
        with open(os.path.join(PYDIR, "..", "..", "README.md")) as f:
            readme = f.read()
        start = readme.index("    from mpd import Pool          # was")
        end = readme.index("\n\n", readme.index("r.get(timeout=30)", start))
        code = textwrap.dedent(readme[start:end])
        # The output README shows is in the comments of the prints.
        want = "".join(line.split("#")[1].strip() + "\n"
                       for line in code.splitlines()
                       if line.strip().startswith("print("))
        path = os.path.join(self.d.tmp, "readme.py")
        with open(path, "w") as f:
            f.write(code)
        r = subprocess.run([sys.executable, path], capture_output=True,
                           text=True, timeout=120 * SLOW,
                           env=dict(os.environ, MPD_SOCKET=self.d.socket,
                                    PYTHONPATH=PYDIR))
        self.assertEqual((r.returncode, r.stdout), (0, want), r.stderr)


class Install(unittest.TestCase):
    def test_cmake_install_puts_the_package_where_python_finds_it(self):
        prefix = tempfile.mkdtemp(prefix="mpdtest-install-")
        self.addCleanup(shutil.rmtree, prefix, True)
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        site = os.path.join(prefix, "lib", "python3", "dist-packages")
        self.assertEqual(sorted(f for f in os.listdir(os.path.join(
            site, "mpd")) if f.endswith(".py")),
            ["__init__.py", "client.py", "pool.py", "worker.py"])
        r = subprocess.run([sys.executable, "-c", "import mpd, mpd.worker; "
                            "print(mpd.__file__)"], capture_output=True,
                           text=True, env=dict(os.environ, PYTHONPATH=site),
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(site), r.stdout)


class WorkerFrames(unittest.TestCase):
    """python3 -m mpd.worker alone on a socketpair, as a slot starts it:
    its hello, outcomes, errors and progress, each checked against the
    worker protocol's schemas (proto/schema/worker-*.json)."""

    def setUp(self):
        self.ours, theirs = socket.socketpair()
        self.addCleanup(self.ours.close)
        os.set_inheritable(theirs.fileno(), True)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import os, sys; os.dup2(%d, 3); "
             "sys.argv = ['mpd.worker']; import runpy; "
             "runpy.run_module('mpd.worker', run_name='__main__')"
             % theirs.fileno()], pass_fds=(theirs.fileno(),),
            env=dict(os.environ, PYTHONPATH=PYDIR))
        theirs.close()
        self.addCleanup(self.proc.wait)
        self.f = self.ours.makefile("rb")
        try:
            from test_proto import Schemas, Validator
            self.schemas = Schemas() if Validator is not None else None
        except ImportError:
            self.schemas = None

    def check(self, schema, frame):
        if self.schemas is not None:
            self.assertEqual(self.schemas.errors(schema, frame), [], frame)

    def frame(self):
        head = json.loads(self.f.readline())
        self.check("worker-outcome.json", head)
        if "result" in head:
            payload = self.f.read(head["result"] + 1)
            self.assertEqual(payload[-1:], b"\n")
            return head, json.loads(payload)
        return head, None

    def send(self, frame):
        self.check("worker-job.json", frame)
        self.ours.sendall(json.dumps(frame).encode() + b"\n")

    def test_frames(self):
        hello = json.loads(self.f.readline())
        self.check("worker-hello.json", hello)
        self.assertEqual(hello["hello"]["protocol"], 1)
        base = {"kwargs": {}, "uid": os.getuid(), "gid": os.getgid()}
        self.send(dict(base, job=1, task="os.path:join", args=["a", "b"]))
        self.assertEqual(self.frame(), ({"job": 1, "result": 5}, "a/b"))
        self.send(dict(base, job=2, task="math:pow", items=[[2, 3], [3, 2]],
                       context={"star": True}))
        self.assertEqual(self.frame()[1], [8.0, 9.0])
        self.send(dict(base, job=3, task="json:loads", args=["{"]))
        head, _ = self.frame()
        self.assertEqual(head["error"]["type"], "JSONDecodeError")
        self.assertIn("Traceback", head["error"]["traceback"])
        self.send(dict(base, job=4, task="no_such_module:f", args=[]))
        head, _ = self.frame()
        self.assertEqual(head["error"]["type"], "ModuleNotFoundError")
        self.send(dict(base, job=5, task="builtins:print", args=["hi"]))
        head, value = self.frame()
        self.assertEqual((head["output"], value), ({"stdout": "hi\n"}, None))
        self.send(dict(base, job=6, task="builtins:repr", args=[],
                       kwargs={}))
        head, _ = self.frame()      # repr() takes one argument
        self.assertEqual(head["error"]["type"], "TypeError")
        self.send({"job": 6, "signal": 15})   # ignored: no command
        self.send(dict(base, job=7, task="builtins:abs", args=[-3]))
        self.assertEqual(self.frame()[1], 3)
        # End of file: the runtime exits, with status 0.
        self.ours.shutdown(socket.SHUT_WR)
        self.assertEqual(self.proc.wait(30), 0)


class Seeds(MpdTestCase):
    """The seed notes' two Pool programs, under multiprocessing and, with
    only their import changed, under mpd."""
    workers = 1
    daemon_args = ("--python-pool", "10")

    def both(self, name):
        with open(os.path.join(SEEDS, name)) as f:
            text = f.read()
        changed = text.replace("from  multiprocessing import Pool",
                               "from mpd import Pool")
        self.assertNotEqual(changed, text)
        diff = [a for a, b in zip(text.splitlines(), changed.splitlines())
                if a != b]
        self.assertEqual(len(diff), 1)      # one line, the import
        out = {}
        for which, body in (("mp", text), ("mpd", changed)):
            path = os.path.join(self.d.tmp, "%s-%s" % (which, name))
            with open(path, "w") as f:
                f.write(body)
            t0 = time.monotonic()
            r = subprocess.run(
                [sys.executable, path], capture_output=True, text=True,
                env=dict(os.environ, MPD_SOCKET=self.d.socket,
                         PYTHONPATH=PYDIR), timeout=120 * SLOW)
            self.assertEqual(r.returncode, 0, r.stderr)
            out[which] = (r.stdout, time.monotonic() - t0)
        print("%s: multiprocessing %.2f s, mpd %.2f s"
              % (name, out["mp"][1], out["mpd"][1]))
        return out["mp"][0], out["mpd"][0]

    def test_apply_async_program(self):
        mp, mine = self.both("pool_apply_async.py")
        stamp = re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$")
        for text in (mp, mine):
            lines = text.splitlines()
            # Each worker's print comes before the results, in any order
            # (multiprocessing's children may even write into one line).
            self.assertEqual(sorted(re.findall(r"hello \d", "".join(
                lines[:-10]))), sorted("hello %d" % i for i in range(10)))
            self.assertTrue(all(stamp.match(x) for x in lines[-10:]), text)
        # mpd relays each job's output whole: a line of its own each.
        self.assertEqual(len(mine.splitlines()), 20, mine)

    def test_map_program(self):
        mp, mine = self.both("pool_map.py")
        self.assertEqual(mine, mp)
        self.assertEqual(mine, "[1, 4, 9, 16, 25]\n")


if __name__ == "__main__":
    main()

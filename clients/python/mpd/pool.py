"""mpd.Pool: multiprocessing.Pool's interface, run by an mpd daemon.

Each call becomes a job of the daemon's Python pool (a pool whose runtime
is ``python``: ``python3 -m mpd.worker``). Functions are sent by name, as
"module:qualname"; arguments and results travel as JSON. One thread per
Pool reads the daemon's replies, resolves results and runs callbacks, as
multiprocessing's result handler thread does.
"""
import base64
import collections
import json
import os
import queue
import socket
import sys
import threading
from multiprocessing import TimeoutError

from .client import MpdError, connect

__all__ = ["Pool", "AsyncResult", "MapResult", "JobError", "RemoteError",
           "TimeoutError"]


class JobError(MpdError):
    """The daemon refused a request, or a job ended without a result
    (cancelled, timed out, its worker died). code is the daemon's error
    code; error the whole error object."""

    def __init__(self, error):
        self.error = dict(error or {})
        self.code = self.error.get("code", "unknown")
        super().__init__("%s: %s" % (self.code, self.error.get("message",
                                                                "")))


class RemoteError(Exception):
    """Base of the exceptions rebuilt from a worker's error when the
    original type cannot be found here; the type's name is the same."""


class RemoteTraceback(Exception):
    """The traceback text of an exception raised in a worker; it is the
    __cause__ of the exception get() raises, as in multiprocessing."""

    def __init__(self, tb):
        super().__init__(tb)
        self.tb = tb

    def __str__(self):
        return self.tb


_remote_types = {}


def _exception(error):
    """The exception get() raises for a job's error object."""
    if error.get("code") != "task_error" or "type" not in error:
        return JobError(error)
    name, module = error["type"], error.get("module", "builtins")
    args = error.get("args")
    if args is None:
        args = [error.get("message", "")]
    cls = None
    mod = sys.modules.get("__main__" if module == "__mp_main__" else module)
    if module == "builtins":
        import builtins
        mod = builtins
    candidate = getattr(mod, name, None) if mod is not None else None
    if isinstance(candidate, type) and issubclass(candidate, BaseException):
        cls = candidate
    exc = None
    if cls is not None:
        try:
            exc = cls(*args)
        except Exception:
            exc = None
    if exc is None:
        key = (module, name)
        if key not in _remote_types:
            _remote_types[key] = type(name, (RemoteError,),
                                      {"__module__": module})
        exc = _remote_types[key](*args)
    exc.code = "task_error"
    if error.get("traceback"):
        exc.__cause__ = RemoteTraceback("\n'''\n%s'''" % error["traceback"])
    return exc


def _check_json(value, where):
    """Raises TypeError for anything JSON would not carry as it is (bytes,
    sets, objects, non-string keys, NaN); tuples go as lists."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError("%s: %r is not JSON" % (where, value))
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_json(v, where)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError("%s: the key %r is not a string, and JSON "
                                "keys are" % (where, k))
            _check_json(v, where)
        return
    hint = ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        hint = " (send bytes as text: base64 or .decode('latin-1'))"
    raise TypeError("%s: a %s is not JSON%s; mpd carries arguments and "
                    "results as JSON" % (where, type(value).__name__, hint))


def function_name(func):
    """The "module:qualname" a worker imports for func (a callable or such
    a string), and the script's path when it lives in __main__."""
    if isinstance(func, str):
        if ":" not in func:
            raise TypeError("a function given as text is \"module:qualname\","
                            " not %r" % func)
        module = func.partition(":")[0]
    else:
        module = getattr(func, "__module__", None)
        qualname = getattr(func, "__qualname__", None)
        if module is None or qualname is None:
            raise TypeError("%r has no module and name a worker could import"
                            % (func,))
        if "<" in qualname:
            raise TypeError("%s cannot be sent to a worker: a lambda or a "
                            "function defined inside another cannot be "
                            "imported; define it at the top of its module"
                            % qualname)
        if module == "__mp_main__":
            module = "__main__"
        func = "%s:%s" % (module, qualname)
    main = None
    if module == "__main__":
        main = getattr(sys.modules.get("__main__"), "__file__", None)
        if main is None:
            raise TypeError("%s is defined in an interactive session; a "
                            "worker can only load functions from a file"
                            % func)
        main = os.path.abspath(main)
    return func, main


class AsyncResult:
    """The result of apply_async, as multiprocessing's AsyncResult."""

    def __init__(self, pool, callback=None, error_callback=None):
        self._pool = pool
        self._event = threading.Event()
        self._callback = callback
        self._error_callback = error_callback
        self._ok = None
        self._value = None
        self._on_end = None
        self.job = None     # the daemon's job id, once it answered

    def ready(self):
        return self._event.is_set()

    def successful(self):
        if not self.ready():
            raise ValueError("%r not ready" % self)
        return self._ok

    def wait(self, timeout=None):
        self._event.wait(timeout)

    def get(self, timeout=None):
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError
        if self._ok:
            return self._value
        raise self._value

    def _set(self, ok, value):
        self._ok, self._value = ok, value
        try:
            if ok and self._callback is not None:
                self._callback(value)
            elif not ok and self._error_callback is not None:
                self._error_callback(value)
        except Exception:
            # A callback's exception is the caller's bug: reported, and
            # the Pool goes on (its reader thread must not end).
            threading.excepthook(threading.ExceptHookArgs(
                (*sys.exc_info(), threading.current_thread())))
        finally:
            self._event.set()
            if self._on_end is not None:
                self._on_end(self)
            self._pool._finished(self)


class MapResult(AsyncResult):
    """The result of map_async and starmap_async: a list."""


class Pool:
    """multiprocessing.Pool, its work done by an mpd daemon's Python pool.

    processes caps how many of this Pool's jobs run at once (None: as many
    as the daemon's pool runs). pool names the daemon's pool (None: the
    first with a runtime, "py" by default). socket is the daemon's socket
    (None: $MPD_SOCKET or the default). relay, true by default, copies what
    a function printed to this process's stdout and stderr when its job
    ends. initializer and maxtasksperchild are not supported (the daemon's
    --max-tasks-per-worker recycles workers).
    """

    def __init__(self, processes=None, initializer=None, initargs=(),
                 maxtasksperchild=None, context=None, *, socket=None,
                 pool=None, relay=True):
        if processes is not None and processes < 1:
            raise ValueError("Number of processes must be at least 1")
        if initializer is not None:
            raise NotImplementedError("mpd.Pool runs functions in the "
                                      "daemon's workers: no initializer")
        self._processes = processes
        self._pool = pool
        self._relay = relay
        self._socket = socket
        self._conn = None
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._tag = 0
        self._pending = {}          # tag -> (kind, result, extra, text)
        self._waiting = collections.deque()   # over the cap
        self._running = 0           # submitted, not ended
        self._unfinished = set()
        self._state = "run"
        self._broken = None
        # The caller's import path, but for its interpreter's own
        # directories (the runtime has its own, perhaps of another version).
        base = tuple(os.path.join(os.path.realpath(p), "")
                     for p in {sys.base_prefix, sys.base_exec_prefix})
        self._path = [p for p in sys.path if p and os.path.isabs(p)
                      and os.path.isdir(p) and not os.path.join(
                          os.path.realpath(p), "").startswith(base)]
        self._contexts = {}
        self._names = {}
        self._outq = []             # requests for the writer thread
        self._wake = threading.Condition(self._lock)
        self._closing = False
        # Each call runs where the Pool was made, as multiprocessing's
        # workers, forked then, do.
        self._cwd = os.getcwd()
        self._connect()

    def _connect(self):
        """A connection, with its reader and writer threads. A connection
        the daemon closed while nothing was pending (its idle timeout) is
        replaced by the next request. Holds the lock, but at start."""
        self._conn = connect(self._socket)
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        args=(self._conn,),
                                        name="mpd.Pool results")
        self._writer = threading.Thread(target=self._write, daemon=True,
                                        args=(self._conn,),
                                        name="mpd.Pool requests")
        self._reader.start()
        self._writer.start()

    # Sending: requests are queued, and one writer thread sends them, so
    # that no thread holding the lock, nor the reader, ever waits on the
    # socket (the daemon stops reading a client that does not read).
    def _send(self, request, kind, result, extra=None):
        """Queues a request (a dict, or the text of a JSON object); its
        reply goes to _reply. Holds the lock."""
        if self._conn is None:
            self._connect()
        self._tag += 1
        if isinstance(request, dict):
            request = json.dumps(request, separators=(",", ":"))
        self._pending[self._tag] = (kind, result, extra, request)
        self._outq.append('{"req":%d,%s\n' % (self._tag, request[1:]))
        if len(self._outq) == 1:
            self._wake.notify()

    def _write(self, conn):
        while True:
            with self._lock:
                while not self._outq and not self._closing and \
                        self._conn is conn:
                    self._wake.wait()
                if not self._outq or self._conn is not conn:
                    return
                data, self._outq = "".join(self._outq).encode(), []
            try:
                conn.sendall(data)
            except OSError:
                # The reader sees the end, and whether the daemon closed
                # an idle connection (then nothing sent was read, and it
                # is sent again) or broke it (then what waits fails).
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return

    def _context(self, main, star=False):
        """The context's JSON text (kept while the directory stays)."""
        key = (self._cwd, main, star)
        text = self._contexts.get(key)
        if text is None:
            ctx = {"cwd": key[0], "path": self._path}
            if main is not None:
                ctx["main"] = main
            if star:
                ctx["star"] = True
            text = json.dumps(ctx, separators=(",", ":"))
            self._contexts[key] = text
        return text

    def _submit(self, request, result):
        with self._lock:
            if self._state != "run":
                raise ValueError("Pool not running")
            if self._broken is not None:
                raise self._broken
            self._unfinished.add(result)
            if self._processes is not None and \
                    self._running >= self._processes:
                self._waiting.append((request, result))
            else:
                self._running += 1
                self._send(request, "submit", result)
        return result

    def _request(self, op, func, fields, star=False):
        """The request's JSON text. Arguments are checked as they are
        encoded: what JSON cannot carry as it is is a TypeError."""
        try:
            name, main = self._names[func]
        except (KeyError, TypeError):
            name, main = function_name(func)
            try:
                self._names[func] = (name, main)
            except TypeError:
                pass
        try:
            text = json.dumps(fields, separators=(",", ":"),
                              allow_nan=False)
        except ValueError as e:
            raise TypeError("the arguments of %s: %s" % (name, e)) from None
        except TypeError:
            _check_json(fields, "the arguments of %s" % name)
            raise
        if text.count("{") > 2:     # keys JSON would turn into strings
            _check_json(fields, "the arguments of %s" % name)
        head = '{"op":"%s","task":%s,"context":%s' % (
            op, json.dumps(name), self._context(main, star))
        if self._pool is not None:
            head += ',"pool":%s' % json.dumps(self._pool)
        return head + "," + text[1:]

    # Multiprocessing's interface.
    def apply_async(self, func, args=(), kwds={}, callback=None,
                    error_callback=None):
        request = self._request("submit", func, {"args": list(args),
                                                 "kwargs": dict(kwds)})
        return self._submit(request, AsyncResult(self, callback,
                                                 error_callback))

    def apply(self, func, args=(), kwds={}):
        return self.apply_async(func, args, kwds).get()

    def map_async(self, func, iterable, chunksize=None, callback=None,
                  error_callback=None):
        return self._map(func, iterable, chunksize, callback,
                         error_callback, False)

    def starmap_async(self, func, iterable, chunksize=None, callback=None,
                      error_callback=None):
        return self._map(func, iterable, chunksize, callback,
                         error_callback, True)

    def map(self, func, iterable, chunksize=None):
        return self.map_async(func, iterable, chunksize).get()

    def starmap(self, func, iterable, chunksize=None):
        return self.starmap_async(func, iterable, chunksize).get()

    def _map(self, func, iterable, chunksize, callback, error_callback,
             star, on_end=None):
        items = [list(i) for i in iterable] if star else list(iterable)
        fields = {"items": items}
        if chunksize is not None:
            if chunksize < 1:
                raise ValueError("Chunksize must be 1+, not %d" % chunksize)
            fields["chunksize"] = chunksize
        request = self._request("map", func, fields, star)
        result = MapResult(self, callback, error_callback)
        result._on_end = on_end
        return self._submit(request, result)

    def imap(self, func, iterable, chunksize=1):
        """Results in order, each as soon as it and those before it are
        in; chunksize items go to a worker together."""
        return (v for r in self._chunks(func, iterable, chunksize)
                for v in r.get())

    def imap_unordered(self, func, iterable, chunksize=1):
        """Results as they come, in any order."""
        ended = queue.SimpleQueue()
        results = self._chunks(func, iterable, chunksize, ended.put)
        for _ in results:
            yield from ended.get().get()

    def _chunks(self, func, iterable, chunksize, ended=None):
        """map_async of each chunksize items; ended(result) is called as
        each ends."""
        if chunksize < 1:
            raise ValueError("Chunksize must be 1+, not %d" % chunksize)
        items = list(iterable)
        results = []
        for i in range(0, len(items), chunksize):
            results.append(self._map(func, items[i:i + chunksize],
                                     chunksize, None, None, False, ended))
        return results

    def close(self):
        """No more work may be submitted; join() then waits for the rest."""
        with self._lock:
            if self._state == "run":
                self._state = "close"

    def terminate(self):
        """Cancels this Pool's jobs that have not ended, and closes it."""
        with self._lock:
            self._state = "terminate"
            for request, result in self._waiting:
                self._unfinished.discard(result)
                result._ok, result._value = False, JobError(
                    {"code": "cancelled", "message": "the pool was "
                     "terminated before the job was sent"})
                result._event.set()
            self._waiting.clear()
            for result in list(self._unfinished):
                if result.job is not None:
                    self._send({"op": "cancel", "job": result.job},
                               "cancel", None)
        self.join()

    def join(self, timeout=None):
        """Waits until every job of this Pool ended and its output was
        relayed. Only after close() or terminate(), as in multiprocessing."""
        with self._lock:
            if self._state == "run":
                raise ValueError("Pool is still running")
            if not self._done.wait_for(lambda: not self._unfinished,
                                       timeout):
                raise TimeoutError
        self._close_connection()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.terminate()

    def _close_connection(self):
        with self._lock:
            self._closing = True
            self._wake.notify_all()
            conn, writer = self._conn, self._writer
        writer.join()
        if conn is not None:
            try:
                conn.shutdown(2)
            except OSError:
                pass

    def __del__(self):
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:
            pass

    # The reader thread.
    def _finished(self, result):
        with self._lock:
            self._unfinished.discard(result)
            self._running = max(0, self._running - 1)
            while self._waiting and (self._processes is None or
                                     self._running < self._processes):
                request, waiting = self._waiting.popleft()
                self._running += 1
                self._send(request, "submit", waiting)
            self._done.notify_all()

    def _fail_all(self, exc):
        """The connection broke: every result waiting fails. Lock held."""
        self._broken = exc
        pending, self._pending = self._pending, {}
        waiting = [r for _, r in self._waiting]
        self._waiting.clear()
        for _, result, _, _ in pending.values():
            if result is not None and not result.ready():
                threading.Thread(target=result._set, args=(False, exc),
                                 daemon=True).start()
        for result in waiting:
            threading.Thread(target=result._set, args=(False, exc),
                             daemon=True).start()

    def _read(self, conn):
        f = conn.makefile("rb")
        idle = False        # the daemon said it closes this one as idle
        while True:
            try:
                line = f.readline()
            except (OSError, ValueError):
                line = b""
            if not line.endswith(b"\n"):
                with self._lock:
                    if idle and self._conn is conn:
                        self._resend()
                    elif self._pending:
                        self._fail_all(MpdError("mpd closed the "
                                                "connection"))
                    elif self._conn is conn and not self._outq:
                        # Closed while idle: the next request reconnects.
                        self._conn = None
                        self._wake.notify_all()
                conn.close()
                return
            reply = json.loads(line)
            if "req" not in reply:
                # An event; or the notice of an idle close, after which
                # the daemon reads nothing more of this connection.
                if (reply.get("error") or {}).get("code") == \
                        "idle_timeout":
                    idle = True
                continue
            with self._lock:
                kind, result, extra, _ = self._pending.pop(
                    reply["req"], (None,) * 4)
            if kind is not None:
                self._reply(kind, result, extra, reply)

    def _resend(self):
        """The daemon closed the connection as idle: whatever was sent on
        it meanwhile was never read, so it goes again, in order, on a new
        one. Lock held."""
        pending, self._pending = self._pending, {}
        self._outq = []
        self._conn = None
        self._wake.notify_all()
        for tag in sorted(pending):
            kind, result, extra, text = pending[tag]
            self._send(text, kind, result, extra)

    def _reply(self, kind, result, extra, reply):
        if kind == "submit":
            if not reply.get("ok"):
                result._set(False, JobError(reply.get("error")))
                return
            result.job = reply["job"]
            with self._lock:
                if self._state == "terminate":
                    self._send({"op": "cancel", "job": result.job},
                               "cancel", None)
                self._send({"op": "get", "job": result.job}, "get", result)
        elif kind == "get":
            if not reply.get("ok"):
                result._set(False, JobError(reply.get("error")))
                return
            if reply.get("state") == "done":
                outcome = (True, reply.get("result"))
            else:
                outcome = (False, _exception(reply.get("error") or {}))
            if self._relay and reply.get("output"):
                with self._lock:
                    self._send({"op": "logs", "job": result.job}, "logs",
                               result, (outcome, [0, 0]))
            else:
                result._set(*outcome)
        elif kind == "logs":
            outcome, offsets = extra
            more = False
            if reply.get("ok"):
                for k, (name, stream) in enumerate((
                        ("stdout", sys.stdout), ("stderr", sys.stderr))):
                    data = base64.b64decode(reply[name]["data"])
                    if data:
                        stream.write(data.decode("utf-8", "replace"))
                        stream.flush()
                        offsets[k] += len(data)
                more = not reply.get("end", True)
            if more:
                with self._lock:
                    self._send({"op": "logs", "job": result.job,
                                "stdout": offsets[0], "stderr": offsets[1]},
                               "logs", result, (outcome, offsets))
            else:
                result._set(*outcome)

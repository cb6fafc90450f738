"""The Python runtime of mpd's worker pools: ``python3 -m mpd.worker``.

mpd forks a slot of a pool whose runtime is ``python`` and execs this
module in it, as the user whose jobs it will run, with the worker socket on
descriptor 3. It speaks the worker protocol (proto/WORKER.md): a hello
first, then for each job frame it imports the function the task names
("module:qualname"), calls it with the job's args and kwargs, and sends the
outcome; at end of file it exits.

A function of the submitting script's ``__main__`` is loaded without
running the script: only its imports, definitions (def, class),
assignments to names of constants (literals, names and operators: no
call, attribute or subscript) and try blocks made of these (an optional
import) are executed, in a module named ``__mp_main__``. Everything else at
the top level (calls, loops, an ``if __name__ == "__main__":`` block) is
skipped. So a script written for multiprocessing's fork start method, with
no main guard, works unchanged; a function that needs a global computed
by a call must compute it itself.
"""
import ast
import builtins
import importlib
import io
import json
import os
import sys
import time
import traceback
import types

PROTOCOL = 1
FD = 3
# Bytes of each stream a call's printed output may keep (the rest is cut),
# and of an error's message and traceback.
OUTPUT_CAP = 1 << 20
TEXT_CAP = 64 << 10

_out = None             # the socket to mpd, as a binary file
_job = None             # the job running now, for progress()
_progress_sent = 0.0
_mains = {}             # path -> (mtime, module)


def _send(head, payload=None):
    data = json.dumps(head, separators=(",", ":")).encode() + b"\n"
    if payload is not None:
        data += payload + b"\n"
    _out.write(data)
    _out.flush()


def progress(done, total):
    """Reports how far the running job is (done of total), at most ten
    times a second; mpd keeps the last report with the job."""
    global _progress_sent
    if _job is None or _out is None:
        return
    now = time.monotonic()
    if now - _progress_sent < 0.1 and done < total:
        return
    _progress_sent = now
    done, total = int(done), int(total)
    if not 0 <= done <= total <= 1 << 53:
        raise ValueError("progress takes 0 <= done <= total <= 2**53")
    _send({"job": _job, "progress": [done, total]})


# What a constant's value may be made of: literals, names already bound,
# and operators; no call, attribute or subscript, so nothing runs.
_CONSTANT_NODES = (ast.Constant, ast.Name, ast.Load, ast.Tuple, ast.List,
                   ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp, ast.BoolOp,
                   ast.Compare, ast.operator, ast.unaryop, ast.boolop,
                   ast.cmpop, ast.IfExp)


def _constant(node):
    return all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(node))


def _names(target):
    """Whether an assignment's target only binds names (no subscript or
    attribute, whose evaluation could run code)."""
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_names(t) for t in target.elts)
    return False


def _kept(node):
    """Whether a top-level statement of a __main__ script is run when its
    functions are loaded: imports, definitions (def, class), assignments
    of constants to names, and try blocks made of those (an optional
    import). Everything else is skipped."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                         ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign):
        return all(_names(t) for t in node.targets) and \
            _constant(node.value)
    if isinstance(node, ast.AnnAssign):
        return _names(node.target) and (node.value is None or
                                        _constant(node.value))
    if isinstance(node, ast.Try):
        return all(_kept(n) or isinstance(n, ast.Pass) for block in (
            node.body, node.orelse, node.finalbody, *(
                h.body for h in node.handlers)) for n in block)
    # A docstring.
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def load_main(path):
    """The definitions of the script at path, as a module, without running
    the script's other statements (cached until the file changes)."""
    mtime = os.stat(path).st_mtime_ns
    cached = _mains.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with open(path, "rb") as f:
        tree = ast.parse(f.read(), path)
    tree.body = [node for node in tree.body if _kept(node)]
    module = types.ModuleType("__mp_main__")
    module.__file__ = path
    module.__builtins__ = builtins
    sys.modules["__mp_main__"] = module
    exec(compile(tree, path, "exec"), module.__dict__)
    _mains[path] = (mtime, module)
    return module


def find_function(task, context):
    """The callable a task names: "module:qualname"."""
    modname, _, qualname = task.partition(":")
    if modname == "__main__":
        main = context.get("main")
        if not main:
            raise LookupError("the function %s is in a __main__ that has no "
                              "file (an interactive session?)" % qualname)
        obj = load_main(main)
    else:
        obj = importlib.import_module(modname)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError("%s is not callable" % task)
    return obj


def _enter(context):
    cwd = context.get("cwd")
    if cwd:
        os.chdir(cwd)
    for entry in reversed(context.get("path") or []):
        if isinstance(entry, str) and entry not in sys.path:
            sys.path.insert(0, entry)


def _text(text, cap):
    """Text as valid UTF-8 of at most cap bytes (a lone surrogate, as a
    file name may hold, is written as an escape)."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) > cap:
        data = data[:cap]
    return data.decode("utf-8", "ignore")


def _error(exc, index=None, ours=False):
    # The call's own frames, not the runtime's that made the call.
    frames = exc.__traceback__
    if ours and frames is not None and frames.tb_next is not None:
        frames = frames.tb_next
    tb = "".join(traceback.format_exception(type(exc), exc, frames))
    error = {"code": "task_error",
             "message": _text("%s: %s" % (type(exc).__name__, exc),
                              TEXT_CAP),
             "type": _text(type(exc).__name__, TEXT_CAP),
             "module": _text(str(type(exc).__module__), TEXT_CAP),
             "args": _json_args(exc.args),
             "traceback": _text(tb, TEXT_CAP)}
    if index is not None:
        error["index"] = index
    return error


def _json_args(args):
    try:
        if len(json.dumps(args)) <= TEXT_CAP:
            json.dumps(args).encode("utf-8")    # no lone surrogate
            return list(args)
    except (TypeError, ValueError, UnicodeError):
        pass
    return [_text(str(a), TEXT_CAP // max(1, len(args))) for a in args]


def _encode(value):
    return json.dumps(value, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=False).encode()


def run(frame):
    """Runs one job frame; returns (head, payload) of its outcome."""
    global _job, _progress_sent
    job = frame["job"]
    context = frame.get("context") or {}
    kwargs = frame.get("kwargs") or {}
    _job = job
    _progress_sent = 0.0
    stdout, stderr = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    head = {"job": job}
    payload = None
    try:
        sys.stdout, sys.stderr = stdout, stderr
        try:
            _enter(context)
            fn = find_function(frame["task"], context)
        except BaseException as e:
            head["error"] = _error(e)
            fn = None
        if fn is not None and "items" in frame:
            star = context.get("star")
            results = []
            for i, item in enumerate(frame["items"]):
                try:
                    results.append(fn(*item, **kwargs) if star
                                   else fn(item, **kwargs))
                except BaseException as e:
                    head["error"] = _error(e, i, True)
                    break
            if "error" not in head:
                payload = results
        elif fn is not None:
            try:
                payload = fn(*frame.get("args", []), **kwargs)
            except BaseException as e:
                head["error"] = _error(e, ours=True)
    finally:
        sys.stdout, sys.stderr = saved
        _job = None
    if "error" not in head:
        try:
            payload = _encode(payload)
            head["result"] = len(payload)
        except (TypeError, ValueError) as e:
            head["error"] = {"code": "task_error", "type": "TypeError",
                             "message": "the result of %s is not JSON: %s"
                             % (frame["task"], e)}
            payload = None
    else:
        payload = None
    output = {}
    for name, buf in (("stdout", stdout), ("stderr", stderr)):
        text = buf.getvalue()
        if text:
            output[name] = _text(text, OUTPUT_CAP)
    if output:
        head["output"] = output
    return head, payload


def main():
    global _out
    try:
        sock_in = os.fdopen(FD, "rb", buffering=65536)
        _out = os.fdopen(os.dup(FD), "wb", buffering=65536)
    except OSError as e:
        sys.stderr.write("mpd.worker: no worker socket on descriptor %d "
                         "(%s); mpd starts this program itself\n" % (FD, e))
        return 2
    _send({"hello": {"protocol": PROTOCOL, "runtime": "python",
                     "version": sys.version.split()[0],
                     "pid": os.getpid()}})
    start = "/"
    for line in sock_in:
        frame = json.loads(line)
        if "signal" in frame:
            continue        # for commands; a function is killed instead
        head, payload = run(frame)
        _send(head, payload)
        try:
            os.chdir(start)
        except OSError:
            pass
    # End of file: gone, whatever threads the calls left running.
    _out.flush()
    os._exit(0)


if __name__ == "__main__":
    # Run as the package's module, so mpd.progress() finds the socket.
    from mpd import worker as _worker
    sys.exit(_worker.main())

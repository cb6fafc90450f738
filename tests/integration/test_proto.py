#!/usr/bin/env python3
"""The protocol contract in proto/, checked against a real daemon.

Every proto/examples/*.ndjson transcript is replayed on one raw connection
to a fresh mpd (--workers 2 --test-tasks). A transcript line is one of

    {"send": REQUEST}        a request object, sent as one JSON line
    {"send_raw": "TEXT"}     a raw line (for malformed input), sent as is
    {"expect": PATTERN}      the next reply line must match PATTERN

Consecutive sends are written in one write, so they arrive as a pipeline.
A pattern matches when every key it names is present with an equal value,
recursively (arrays element by element, same length); the string "*"
matches any value that is present. Numbers and booleans are not mixed up.

When the python3 jsonschema module is importable, every request and reply
of the transcripts is also validated against proto/schema/: a request by
its op (a request the daemon refused as bad_request must fail its schema,
every other one must pass), a reply by the op of the request it answers,
and any ok:false reply by error.reply.json. Without jsonschema only that
validation is skipped, with a note.

Run as: MPD_BUILD_DIR=build python3 tests/integration/test_proto.py
"""
import collections
import glob
import json
import os
import socket
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from mpdtest import Daemon, RawClient, wait_for, main  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PROTO = os.path.join(ROOT, "proto")
SCHEMA_DIR = os.path.join(PROTO, "schema")
EXAMPLE_DIR = os.path.join(PROTO, "examples")

OPS = ("hello", "submit", "map", "get", "status", "list", "cancel", "forget",
       "logs", "shutdown", "pools", "pool_resize", "pool_pause", "pool_resume",
       "pool_add", "pool_remove")
REQUIRED_EXAMPLES = ("hello", "submit-get", "map", "errors", "failures",
                     "pipelining", "cancel-forget", "exec", "logs")
DRAFT = "https://json-schema.org/draft/2020-12/schema"

try:
    import jsonschema
    Validator = getattr(jsonschema, "Draft202012Validator", None)
    if Validator is None:
        NO_SCHEMA_WHY = ("jsonschema %s has no draft 2020-12 support"
                         % getattr(jsonschema, "__version__", "?"))
    else:
        NO_SCHEMA_WHY = None
except ImportError:
    jsonschema = None
    Validator = None
    NO_SCHEMA_WHY = "the python3 jsonschema module is not importable"

_noted = False


def note_no_schema():
    global _noted
    if not _noted:
        sys.stderr.write("note: %s (%s); JSON Schema validation skipped, "
                         "install python3-jsonschema to run it\n"
                         % (NO_SCHEMA_WHY, sys.executable))
        _noted = True


def load_schemas():
    """{file name: parsed schema} for every proto/schema/*.json."""
    schemas = {}
    for path in sorted(glob.glob(os.path.join(SCHEMA_DIR, "*.json"))):
        with open(path, encoding="utf-8") as f:
            schemas[os.path.basename(path)] = json.load(f)
    return schemas


class Schemas:
    """Validators for the schema files; refs between them are file names."""

    def __init__(self):
        self.docs = load_schemas()
        self.validators = {}
        self.registry = None
        try:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012
            self.registry = Registry().with_resources(
                (name, Resource.from_contents(
                    doc, default_specification=DRAFT202012))
                for name, doc in self.docs.items())
        except ImportError:
            pass

    def validator(self, name):
        if name not in self.validators:
            schema = self.docs[name]
            if self.registry is not None:
                v = Validator(schema, registry=self.registry)
            else:
                resolver = jsonschema.RefResolver(
                    base_uri="", referrer=schema, store=dict(self.docs))
                v = Validator(schema, resolver=resolver)
            self.validators[name] = v
        return self.validators[name]

    def errors(self, name, instance):
        """Messages of what in instance breaks schema name ([] if valid)."""
        return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "$",
                            e.message)
                for e in self.validator(name).iter_errors(instance)]


def match(pattern, actual, path="$"):
    """None when actual matches pattern, else where and how it does not."""
    if isinstance(pattern, str) and pattern == "*":
        return None
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return "%s: want an object, got %s" % (path, json.dumps(actual))
        for key, want in pattern.items():
            if key not in actual:
                return "%s.%s: missing" % (path, key)
            why = match(want, actual[key], "%s.%s" % (path, key))
            if why:
                return why
        return None
    if isinstance(pattern, list):
        if not isinstance(actual, list) or len(actual) != len(pattern):
            return "%s: want %s, got %s" % (path, json.dumps(pattern),
                                             json.dumps(actual))
        for i, (want, got) in enumerate(zip(pattern, actual)):
            why = match(want, got, "%s[%d]" % (path, i))
            if why:
                return why
        return None
    same = (isinstance(pattern, bool) == isinstance(actual, bool) and
            (pattern is None) == (actual is None) and pattern == actual)
    if isinstance(pattern, (int, float)) and not isinstance(pattern, bool):
        same = same and isinstance(actual, (int, float))
    if not same:
        return "%s: want %s, got %s" % (path, json.dumps(pattern),
                                         json.dumps(actual))
    return None


def strict_loads(text):
    """json.loads that refuses duplicate keys, as the daemon does."""
    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                raise ValueError("duplicate key %r" % k)
            obj[k] = v
        return obj
    return json.loads(text, object_pairs_hook=pairs)


def tag_key(obj):
    """How a reply to this request can be recognised: its usable tag."""
    if isinstance(obj, dict):
        tag = obj.get("req")
        if isinstance(tag, str) or (isinstance(tag, int) and
                                    not isinstance(tag, bool)):
            return ("tag", type(tag).__name__, tag)
    return ("untagged",)


def read_transcript(path):
    """[(line number, kind, value)] of a transcript file."""
    steps = []
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                step = json.loads(text)
            except ValueError as e:
                raise AssertionError("%s:%d: not JSON: %s" % (path, n, e))
            if (not isinstance(step, dict) or len(step) != 1 or
                    next(iter(step)) not in ("send", "send_raw", "expect")):
                raise AssertionError("%s:%d: a line must be {\"send\":..}, "
                                     "{\"send_raw\":..} or {\"expect\":..}"
                                     % (path, n))
            kind, value = next(iter(step.items()))
            if kind == "send_raw" and not isinstance(value, str):
                raise AssertionError("%s:%d: send_raw takes a string"
                                     % (path, n))
            steps.append((n, kind, value))
    return steps


class Request:
    def __init__(self, lineno, kind, value):
        self.lineno = lineno
        self.kind = kind
        self.reply = None
        if kind == "send":
            self.obj = value
            self.data = json.dumps(value).encode("utf-8") + b"\n"
        else:
            self.data = value.encode("utf-8") + b"\n"
            try:
                self.obj = strict_loads(value)
            except ValueError:
                self.obj = None
        self.op = None
        if isinstance(self.obj, dict) and isinstance(self.obj.get("op"), str):
            self.op = self.obj["op"]
        self.key = tag_key(self.obj)


def replay(test, path):
    """Replays one transcript against a fresh daemon; returns the pairs."""
    name = os.path.relpath(path, ROOT)
    steps = read_transcript(path)
    d = Daemon(workers=2)
    test.addCleanup(d.cleanup)
    d.start()
    c = RawClient(d.socket)
    test.addCleanup(c.close)
    batch = []
    waiting = collections.defaultdict(collections.deque)
    requests, replies = [], []

    def flush():
        if batch:
            c.send_raw(b"".join(r.data for r in batch))
            del batch[:]

    for lineno, kind, value in steps:
        if kind in ("send", "send_raw"):
            r = Request(lineno, kind, value)
            if r.data.count(b"\n") != 1:
                test.fail("%s:%d: a request must be one line" % (name, lineno))
            batch.append(r)
            requests.append(r)
            waiting[r.key].append(r)
            continue
        flush()
        try:
            line = c.read_line()
        except (socket.timeout, OSError) as e:
            test.fail("%s:%d: no reply (%s)\nexpected: %s\ndaemon log:\n%s"
                      % (name, lineno, e, json.dumps(value), d.log()[-3000:]))
        if line is None:
            test.fail("%s:%d: the daemon closed the connection\nexpected: "
                      "%s\ndaemon log:\n%s" % (name, lineno,
                                               json.dumps(value),
                                               d.log()[-3000:]))
        try:
            reply = json.loads(line)
        except ValueError:
            test.fail("%s:%d: the reply is not JSON: %r" % (name, lineno,
                                                           line))
        why = match(value, reply)
        if why:
            test.fail("%s:%d: reply does not match\nexpected: %s\nactual:   "
                      "%s\n%s" % (name, lineno, json.dumps(value),
                                  line.decode("utf-8", "replace"), why))
        queue = waiting[tag_key(reply)]
        req = queue.popleft() if queue else None
        if req is not None:
            req.reply = reply
        replies.append((lineno, reply, req))
    flush()
    test.assertEqual(c.buf, b"", "%s: replies left over after the last "
                     "expect: %r" % (name, c.buf))
    c.close()
    rc = d.stop()
    if rc != 0:
        sys.stderr.write(d.log())
    test.assertEqual(rc, 0, "%s: mpd should exit 0" % name)
    test.assertFalse(os.path.exists(d.socket),
                     "the socket file should be removed at exit")
    return requests, replies


def schema_problems(schemas, name, requests, replies):
    """Everything in a replayed transcript that breaks the schemas."""
    problems = []
    for lineno, reply, req in replies:
        where = "%s:%d reply %s" % (name, lineno, json.dumps(reply))
        checks = []
        if reply.get("ok") is False:
            checks.append("error.reply.json")
            if (req is not None and req.op == "get" and
                    isinstance(reply.get("error"), dict) and
                    reply["error"].get("code") == "timeout"):
                checks.append("get.reply.json")
        elif req is None or req.op not in OPS:
            problems.append(where + ": cannot tell which request it answers")
        else:
            checks.append(req.op + ".reply.json")
        for schema in checks:
            for e in schemas.errors(schema, reply):
                problems.append("%s against %s: %s" % (where, schema, e))
    for req in requests:
        if req.op not in OPS:
            continue        # no schema: the daemon must refuse it anyway
        schema = req.op + ".request.json"
        errs = schemas.errors(schema, req.obj)
        refused = (req.reply is not None and req.reply.get("ok") is False and
                   req.reply.get("error", {}).get("code") == "bad_request")
        where = "%s:%d request %s" % (name, req.lineno, json.dumps(req.obj))
        if refused and not errs:
            problems.append("%s: the daemon refused it as bad_request but "
                            "%s accepts it" % (where, schema))
        elif not refused:
            problems.extend("%s against %s: %s" % (where, schema, e)
                            for e in errs)
    return problems


class ProtoTest(unittest.TestCase):
    """One test per transcript, plus checks of the schema files."""

    def check_example(self, path):
        requests, replies = replay(self, path)
        if Validator is None:
            note_no_schema()
            return
        problems = schema_problems(Schemas(), os.path.relpath(path, ROOT),
                                   requests, replies)
        self.assertEqual(problems, [], "\n".join(problems))

    def test_required_examples_exist(self):
        for stem in REQUIRED_EXAMPLES:
            self.assertTrue(os.path.isfile(os.path.join(
                EXAMPLE_DIR, stem + ".ndjson")), stem + ".ndjson is missing")

    def test_schema_files(self):
        docs = load_schemas()
        for op in OPS:
            for suffix in (".request.json", ".reply.json"):
                self.assertIn(op + suffix, docs)
        for name in ("error.reply.json", "job-error.json"):
            self.assertIn(name, docs)
        for name, doc in docs.items():
            self.assertEqual(doc.get("$schema"), DRAFT, name)
            if name.endswith(".request.json"):
                op = name[:-len(".request.json")]
                self.assertIn(op, OPS, name)
                self.assertIs(doc.get("additionalProperties"), False, name)
                self.assertEqual(doc["properties"]["op"], dict(
                    doc["properties"]["op"], const=op), name)
                self.assertIn("op", doc.get("required", []), name)
        if Validator is None:
            note_no_schema()
            return
        schemas = Schemas()
        for name, doc in docs.items():
            with self.subTest(schema=name):
                Validator.check_schema(doc)
                # Every $ref must resolve: validate something through it.
                schemas.errors(name, {"op": "x", "ok": True, "job": {},
                                      "error": {}, "jobs": [{}],
                                      "workers": [{}]})

    def test_line_too_long(self):
        d = Daemon(workers=2, args=["--max-line", "64"])
        self.addCleanup(d.cleanup)
        d.start()
        c = d.client()
        self.addCleanup(c.close)
        exact = b'{"op":"hello","req":"%s"}' % (b"x" * 41)
        self.assertEqual(len(exact), 64)
        c.send_raw(exact + b"\n")
        self.assertTrue(json.loads(c.read_line())["ok"])
        c.send_raw(b'{"op":"hello","req":"%s"}\n' % (b"x" * 42))
        reply = json.loads(c.read_line())
        self.assertIsNone(match({"ok": False, "error": {
            "code": "line_too_long", "message": "*"}}, reply), reply)
        self.assertNotIn("req", reply)
        try:
            self.assertIsNone(c.read_line(), "the connection should close")
        except ConnectionResetError:
            pass
        if Validator is not None:
            self.assertEqual(Schemas().errors("error.reply.json", reply), [])
        self.assertEqual(d.stop(), 0)

    def test_half_close_keeps_waits(self):
        d = Daemon(workers=2)
        self.addCleanup(d.cleanup)
        d.start()
        c = d.client()
        self.addCleanup(c.close)
        c.send_raw(b'{"op":"submit","req":1,"task":"sleep","args":[0.2]}\n'
                   b'{"op":"get","req":2,"job":1}\n')
        c.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(json.loads(c.read_line()),
                         {"req": 1, "ok": True, "job": 1})
        r = json.loads(c.read_line())
        self.assertEqual((r["req"], r["state"]), (2, "done"))
        self.assertRegex(r["result"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIsNone(c.read_line(), "the session ends after the wait")
        self.assertEqual(d.stop(), 0)

    def test_full_close_drops_waits(self):
        d = Daemon(workers=1)
        self.addCleanup(d.cleanup)
        d.start()
        c = d.client()
        c.send_raw(b'{"op":"submit","req":1,"task":"sleep","args":[30]}\n'
                   b'{"op":"get","req":2,"job":1}\n')
        self.assertEqual(json.loads(c.read_line())["job"], 1)
        wait_for(lambda: d.call({"op": "status"})["waiters"] == 1, 10,
                 "the wait to register")
        c.close()
        wait_for(lambda: d.call({"op": "status"})["waiters"] == 0, 10,
                 "the wait to be dropped")
        self.assertEqual(d.stop(), 0)


def _add_example_tests():
    for path in sorted(glob.glob(os.path.join(EXAMPLE_DIR, "*.ndjson"))):
        stem = os.path.basename(path)[:-len(".ndjson")]
        name = "test_example_" + stem.replace("-", "_")

        def test(self, path=path):
            self.check_example(path)
        test.__doc__ = "replay proto/examples/%s.ndjson" % stem
        setattr(ProtoTest, name, test)


_add_example_tests()

if __name__ == "__main__":
    main()

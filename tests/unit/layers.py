"""The daemon's files call down only: no files call each other in a circle
(two ways, or round a longer loop), no call goes up a layer (tasks < store
< core < net), and the core library does not reach up into main.c and
loop.c.

Reads the daemon's library (libmpdcore.a) with nm: an object that uses a
symbol another object defines depends on it. Files that depend on each
other, directly or round a loop, make a cycle. Symbols the library uses
but only main.c and loop.c (the wiring on top) define are calls upwards.
What is still allowed is listed in KNOWN, KNOWN_CROSS and KNOWN_UP (empty
now): one not listed fails the test, and so does a listed one that is
gone, so the lists only ever shrink.

It also reads the sources for one owner per piece of a worker's state:
the job side (struct run) only in sched.c and limit.c, and the process
side (struct worker's own fields) written only in pool.c.

    python3 layers.py path/to/libmpdcore.a main.c.o loop.c.o [--graph]
"""
import collections
import os
import re
import subprocess
import sys

DAEMON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "daemon")
# Who may touch a worker's job side (w->run), and who may write its process
# fields.
RUN_USERS = {"sched.c", "limit.c"}
PROCESS_FIELDS = ("slot", "pool", "retire", "name", "pid", "bev", "state", "requeue",
                  "stopping", "eof", "reaped", "status", "ran", "fails",
                  "started", "respawn", "broken", "head", "have_head",
                  "skip", "left", "scanned", "jobs", "sealed")
PROCESS_WRITER = "pool.c"

# Groups (sorted tuples) of source files that still call each other in a
# circle, of any length.
KNOWN = set()

# main.c's and loop.c's symbols that the library may still use: none; it
# gets settings through init functions and reaches the top through
# callbacks.
KNOWN_UP = set()


# The layers, lowest first: a file may call its own layer and those below,
# and reaches a higher one only through callbacks it is given.
LAYERS = [
    # Tasks see only common/ and the task API (the worker's services
    # reach them through their job context).
    ("tasks", {"task.c", "builtin.c", "basic.c", "exec.c", "spawn.c",
               "capture.c", "owner.c"}),
    ("store", {"store.c", "store_common.c", "store_sqlite.c",
               "store_fault.c", "checkpoint.c"}),
    ("core", {"sched.c", "limit.c", "pool.c", "worker.c", "tick.c",
              "stopping.c", "logs.c", "paths.c", "disk.c", "sweep.c", "retain.c", "peer.c", "config.c", "plugins.c",
              "runtime.c",
              "notify.c", "proctitle.c"}),
    # The Unix socket's side: its clients, their requests and replies,
    # their waits for jobs and output, their submits waiting for room.
    ("net", {"server.c", "client.c", "reply.c", "ops.c", "waiter.c", "mapload.c",
             "admit.c"}),
]

# Calls (from, to) that still go up a layer: the core answering clients
# itself (waiters, logs, waiting submits) instead of through a callback
# the frontend registers.
KNOWN_CROSS = set()


def layer_of(name):
    """The rank of a file's layer, or None for a file in none."""
    for rank, (_, files) in enumerate(LAYERS):
        if name in files:
            return rank
    return None


def symbols(lib, *flags):
    """[(object's source name, symbol)] from nm -A with these flags."""
    out = subprocess.run(["nm", "-A"] + list(flags) + [lib], check=True,
                         capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        obj = fields[0].rsplit(":", 1)[0].split(":")[-1]
        found.append((obj[:-2] if obj.endswith(".o") else obj, fields[-1]))
    return found


def graph(lib):
    """{file: {file it uses: [symbols]}} among the library's objects."""
    where = {sym: obj for obj, sym in symbols(lib, "-g", "--defined-only")}
    uses = collections.defaultdict(lambda: collections.defaultdict(list))
    for obj, sym in symbols(lib, "-u"):
        if sym in where and where[sym] != obj:
            uses[obj][where[sym]].append(sym)
    return uses


def components(uses):
    """The strongly connected components of the graph (Tarjan), each a
    sorted tuple of files: a component of two or more is a cycle, of any
    length."""
    index, low, on, stack, found = {}, {}, set(), [], []
    nodes = set(uses) | {b for a in uses for b in uses[a]}

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in uses.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            found.append(tuple(sorted(comp)))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def upward(lib, tops):
    """{symbol: [library objects using it]} for symbols that the objects on
    top (main.c's and loop.c's) define."""
    out = subprocess.run(["nm", "-g", "--defined-only"] + tops, check=True,
                         capture_output=True, text=True).stdout
    on_top = {line.split()[-1] for line in out.splitlines()
              if len(line.split()) == 3}
    found = collections.defaultdict(list)
    for obj, sym in symbols(lib, "-u"):
        if sym in on_top:
            found[sym].append(obj)
    return found


def owners():
    """Places where a file touches worker state it does not own."""
    bad = []
    write = re.compile(r"\b(?:w|best|workers\[\w+\])(?:->|\.)(%s)\b\s*"
                       r"(?:=[^=]|\+\+|--|[-+|&]=)" % "|".join(PROCESS_FIELDS))
    run = re.compile(r"\b(?:w|best|workers\[\w+\])(?:->|\.)run\b")
    for name in sorted(os.listdir(DAEMON)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(DAEMON, name)) as f:
            for n, line in enumerate(f, 1):
                if name not in RUN_USERS and run.search(line):
                    bad.append("%s:%d: a worker's job side: %s" % (
                        name, n, line.strip()))
                if name != PROCESS_WRITER and write.search(line):
                    bad.append("%s:%d: writes a worker's process field: %s"
                               % (name, n, line.strip()))
    return bad


def main():
    lib = sys.argv[1]
    tops = [a for a in sys.argv[2:] if not a.startswith("--")]
    uses = graph(lib)
    if "--graph" in sys.argv:
        for a in sorted(uses):
            for b in sorted(uses[a]):
                print("%s -> %s: %s" % (a, b, ", ".join(sorted(uses[a][b]))))
        return 0
    cycles = {c for c in components(uses) if len(c) > 1}
    new, gone = cycles - KNOWN, KNOWN - cycles
    for c in sorted(new):
        print("cycle: %s" % ", ".join(c))
        for a in c:
            for b in c:
                if b in uses[a]:
                    print("  %s -> %s: %s" % (a, b,
                                             ", ".join(sorted(uses[a][b]))))
    for c in sorted(gone):
        print("gone: %s; remove it from KNOWN in %s" % (", ".join(c),
                                                         __file__))
    cross = {(a, b) for a in uses for b in uses[a]
             if layer_of(a) is not None and layer_of(b) is not None and
             layer_of(b) > layer_of(a)}
    unplaced = sorted({f for f in uses} - set().union(
        *(files for _, files in LAYERS)))
    new_cross, gone_cross = cross - KNOWN_CROSS, KNOWN_CROSS - cross
    for a, b in sorted(new_cross):
        print("up a layer: %s (%s) -> %s (%s): %s" % (
            a, LAYERS[layer_of(a)][0], b, LAYERS[layer_of(b)][0],
            ", ".join(sorted(uses[a][b]))))
    for a, b in sorted(gone_cross):
        print("gone: %s -> %s; remove it from KNOWN_CROSS in %s" % (
            a, b, __file__))
    for f in unplaced:
        print("no layer: %s; add it to LAYERS in %s" % (f, __file__))
    up = upward(lib, tops)
    new_up, gone_up = set(up) - KNOWN_UP, KNOWN_UP - set(up)
    for sym in sorted(new_up):
        print("upward: %s (defined by the program) used by %s" % (
            sym, ", ".join(sorted(set(up[sym])))))
    for sym in sorted(gone_up):
        print("gone: %s is no longer used upwards; remove it from KNOWN_UP "
              "in %s" % (sym, __file__))
    print("%d groups of files call each other in a circle (%d known, %d "
          "new, %d gone)" % (len(cycles), len(KNOWN), len(new), len(gone)))
    print("%d symbols of main.c and loop.c used by the library (%d known, "
          "%d new, %d gone)" % (len(up), len(KNOWN_UP), len(new_up),
                                len(gone_up)))
    print("%d calls go up a layer (%d known, %d new, %d gone)" % (
        len(cross), len(KNOWN_CROSS), len(new_cross), len(gone_cross)))
    bad = owners()
    for b in bad:
        print(b)
    print("%d touches of worker state by a file that does not own it"
          % len(bad))
    return 1 if (new or gone or new_up or gone_up or new_cross or
                 gone_cross or unplaced or bad) else 0


if __name__ == "__main__":
    sys.exit(main())

"""No two files of the daemon call each other in both directions.

Reads the daemon's library (libmpdcore.a) with nm: an object that uses a
symbol another object defines depends on it. A pair that depends on each
other both ways is a cycle. The cycles the house issue (10) is removing step
by step are listed in KNOWN: a cycle not listed fails the test, and so does
a listed one that is gone, so the list only ever shrinks.

    python3 layers.py path/to/libmpdcore.a [--graph]
"""
import collections
import subprocess
import sys

# Pairs (sorted) of source files that still call each other both ways.
KNOWN = {
    ("limit.c", "pool.c"),
    ("pool.c", "sched.c"),
}


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


def main():
    lib = sys.argv[1]
    uses = graph(lib)
    if "--graph" in sys.argv:
        for a in sorted(uses):
            for b in sorted(uses[a]):
                print("%s -> %s: %s" % (a, b, ", ".join(sorted(uses[a][b]))))
        return 0
    cycles = {tuple(sorted((a, b))) for a in uses for b in uses[a]
              if a in uses.get(b, {})}
    new, gone = cycles - KNOWN, KNOWN - cycles
    for a, b in sorted(new):
        print("cycle: %s -> %s (%s) and %s -> %s (%s)" % (
            a, b, ", ".join(sorted(uses[a][b])), b, a,
            ", ".join(sorted(uses[b][a]))))
    for a, b in sorted(gone):
        print("gone: %s <-> %s; remove it from KNOWN in %s" % (a, b,
                                                              __file__))
    print("%d file pairs call each other both ways (%d known, %d new, %d "
          "gone)" % (len(cycles), len(KNOWN), len(new), len(gone)))
    return 1 if new or gone else 0


if __name__ == "__main__":
    sys.exit(main())

"""No two files of the daemon call each other in both directions, and the
core library does not reach up into main.c and loop.c.

Reads the daemon's library (libmpdcore.a) with nm: an object that uses a
symbol another object defines depends on it. A pair that depends on each
other both ways is a cycle. Symbols the library uses but only the mpd
program defines (main.c, loop.c: the wiring on top) are calls upwards. The
ones the house issue (10) is still removing are listed in KNOWN and
KNOWN_UP: one not listed fails the test, and so does a listed one that is
gone, so the lists only ever shrink.

    python3 layers.py path/to/libmpdcore.a main.c.o loop.c.o [--graph]
"""
import collections
import subprocess
import sys

# Pairs (sorted) of source files that still call each other both ways.
KNOWN = set()

# main.c's globals and stop functions that the library still reads or
# calls, instead of getting settings through init functions and reaching
# the top through callbacks.
KNOWN_UP = {"cfg", "ev_base", "stop_mode", "store"}


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


def main():
    lib = sys.argv[1]
    tops = [a for a in sys.argv[2:] if not a.startswith("--")]
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
    up = upward(lib, tops)
    new_up, gone_up = set(up) - KNOWN_UP, KNOWN_UP - set(up)
    for sym in sorted(new_up):
        print("upward: %s (defined by the program) used by %s" % (
            sym, ", ".join(sorted(set(up[sym])))))
    for sym in sorted(gone_up):
        print("gone: %s is no longer used upwards; remove it from KNOWN_UP "
              "in %s" % (sym, __file__))
    print("%d file pairs call each other both ways (%d known, %d new, %d "
          "gone)" % (len(cycles), len(KNOWN), len(new), len(gone)))
    print("%d symbols of main.c and loop.c used by the library (%d known, "
          "%d new, %d gone)" % (len(up), len(KNOWN_UP), len(new_up),
                                len(gone_up)))
    return 1 if new or gone or new_up or gone_up else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The side-by-side benchmark: mpd against its peers, in the same run.

Each workload runs for mpd and for each peer in turn, several rounds,
alternating; the table gives the median, min and max of each and the
mpd/peer ratio of the medians, oriented so that above 1 means mpd is
better. The results also go to bench/results/latest.json.

    bench/run.py                 build Release into build-bench/, full sizes
    bench/run.py --tiny          tiny sizes, one round (the CTest smoke test)
    bench/run.py --build-dir B   use an existing build instead of building

Peers measured now: Python's multiprocessing.Pool, xargs -P, and a C
fork/exec loop (the floor). GNU parallel, task-spooler, beanstalkd and
RQ are the next to add.
"""
import argparse
import json
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

FULL = {"map": 1000000, "submit": 20000, "rtt": 2000, "exec": 2000}
TINY = {"map": 2000, "submit": 300, "rtt": 50, "exec": 40}


def square(x):
    return x * x


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


class Mpd:
    """A Release mpd with 2 workers on a private socket and database."""

    def __init__(self, build, sync):
        self.build = build
        self.tmp = tempfile.mkdtemp(prefix="mpd-bench-")
        self.sock = os.path.join(self.tmp, "mpd.sock")
        self.proc = subprocess.Popen(
            [os.path.join(build, "mpd"), "--config", os.devnull,
             "--socket", self.sock, "--db", os.path.join(self.tmp, "db"),
             "--workers", "2", "--sync", sync, "--log-level", "warn",
             # A map of a million items is one 8 MB request line.
             "--max-line", str(64 << 20)],
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                s.close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll():
                    raise SystemExit("bench: mpd did not start")
                time.sleep(0.02)

    def mpbench(self, workload, n):
        return run_json([os.path.join(self.build, "bench", "mpbench"),
                         self.sock, workload, str(n)])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        shutil.rmtree(self.tmp, ignore_errors=True)


def py_client_submit_get(sock, n):
    """Submits then gets over a raw socket, as a peer's Python client
    would: so that client language does not decide the comparison."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rwb", buffering=1 << 16)
    t0 = time.monotonic()
    ids = []
    for start in range(0, n, 512):
        chunk = range(start, min(n, start + 512))
        for i in chunk:
            f.write(b'{"op":"submit","task":"square","args":[%d]}\n' % i)
        f.flush()
        ids += [json.loads(f.readline())["job"] for _ in chunk]
    for start in range(0, n, 512):
        chunk = ids[start:start + 512]
        for j in chunk:
            f.write(b'{"op":"get","job":%d}\n' % j)
        f.flush()
        for _ in chunk:
            f.readline()
    t = time.monotonic() - t0
    s.close()
    return t


def pool_map(n):
    with multiprocessing.Pool(2) as pool:
        t0 = time.monotonic()
        r = pool.map(square, range(n))
        t = time.monotonic() - t0
    assert len(r) == n
    return t


def pool_submit_get(n):
    with multiprocessing.Pool(2) as pool:
        t0 = time.monotonic()
        handles = [pool.apply_async(square, (i,)) for i in range(n)]
        for h in handles:
            h.get()
        return time.monotonic() - t0


def pool_rtt(n):
    with multiprocessing.Pool(2) as pool:
        lat = []
        for i in range(n):
            t0 = time.monotonic()
            pool.apply_async(square, (i,)).get()
            lat.append(time.monotonic() - t0)
    lat.sort()
    return lat[len(lat) // 2] * 1e6, lat[len(lat) * 99 // 100] * 1e6


def xargs_true(n):
    t0 = time.monotonic()
    subprocess.run("seq %d | xargs -P2 -n1 /bin/true" % n, shell=True,
                   check=True)
    return time.monotonic() - t0


def summary(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "runs": values}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--build-dir")
    ap.add_argument("--out", default=os.path.join(HERE, "results",
                                                 "latest.json"))
    args = ap.parse_args()
    sizes = TINY if args.tiny else FULL
    rounds = args.rounds or (1 if args.tiny else 5)
    build = args.build_dir
    if build is None:
        build = os.path.join(ROOT, "build-bench")
        subprocess.run(["cmake", "-S", ROOT, "-B", build,
                        "-DCMAKE_BUILD_TYPE=Release", "-DMPD_TESTS=OFF"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build, "-j",
                        str(os.cpu_count() or 2)], check=True,
                       stdout=subprocess.DEVNULL)
    floor_bin = os.path.join(build, "bench", "floor")
    version = subprocess.run([os.path.join(build, "mpd"), "--version"],
                             capture_output=True, text=True).stdout.strip()

    # name -> list of measurements (seconds, or µs for latency)
    m = {}

    def add(name, value):
        m.setdefault(name, []).append(value)

    for sync in ("normal", "full"):
        d = Mpd(build, sync)
        try:
            for _ in range(rounds):
                if sync == "normal":
                    add("map mpd", d.mpbench("map", sizes["map"])["seconds"])
                    add("map pool", pool_map(sizes["map"]))
                add("submit mpd-c " + sync,
                    d.mpbench("submit-get", sizes["submit"])["seconds"])
                add("submit mpd-py " + sync,
                    py_client_submit_get(d.sock, sizes["submit"]))
                if sync == "normal":
                    add("submit pool", pool_submit_get(sizes["submit"]))
                    r = d.mpbench("rtt", sizes["rtt"])
                    add("rtt50 mpd", r["p50_us"])
                    add("rtt99 mpd", r["p99_us"])
                    p50, p99 = pool_rtt(sizes["rtt"])
                    add("rtt50 pool", p50)
                    add("rtt99 pool", p99)
                    add("exec mpd", d.mpbench("exec", sizes["exec"])
                        ["seconds"])
                    add("exec floor", run_json([floor_bin,
                                                str(sizes["exec"]), "2",
                                                "/bin/true"])["seconds"])
                    add("exec xargs", xargs_true(sizes["exec"]))
        finally:
            d.stop()

    s = {k: summary(v) for k, v in m.items()}

    def ratio(mpd, peer, lower_is_better=True):
        a, b = s[mpd]["median"], s[peer]["median"]
        return b / a if lower_is_better else a / b

    rows = [
        ("map square, %d items, 2 workers" % sizes["map"],
         "map mpd", "map pool", "Pool.map"),
        ("%d submits + gets, C client" % sizes["submit"],
         "submit mpd-c normal", "submit pool", "Pool.apply_async"),
        ("%d submits + gets, Python client" % sizes["submit"],
         "submit mpd-py normal", "submit pool", "Pool.apply_async"),
        ("same, synchronous=FULL, C client", "submit mpd-c full",
         "submit pool", "Pool.apply_async"),
        ("same, synchronous=FULL, Python client", "submit mpd-py full",
         "submit pool", "Pool.apply_async"),
        ("round trip p50 (µs)", "rtt50 mpd", "rtt50 pool",
         "apply_async().get()"),
        ("round trip p99 (µs)", "rtt99 mpd", "rtt99 pool",
         "apply_async().get()"),
        ("%d exec /bin/true, 2 at a time" % sizes["exec"], "exec mpd",
         "exec floor", "C fork/exec floor"),
        ("same", "exec mpd", "exec xargs", "xargs -P2"),
    ]
    print("machine: %d cores, Linux %s, Python %s; %s" % (
        os.cpu_count(), platform.release(), platform.python_version(),
        version))
    print("rounds: %d; medians, [min-max]; ratio > 1: mpd is better\n"
          % rounds)
    print("%-40s %-22s %-22s %-20s %s" % ("workload", "mpd", "peer",
                                          "peer name", "ratio"))
    table = []
    for title, a, b, peer in rows:
        r = ratio(a, b)
        print("%-40s %-22s %-22s %-20s %.2f" % (
            title, "%.4g [%.3g-%.3g]" % (s[a]["median"], s[a]["min"],
                                          s[a]["max"]),
            "%.4g [%.3g-%.3g]" % (s[b]["median"], s[b]["min"], s[b]["max"]),
            peer, r))
        table.append({"workload": title, "mpd": a, "peer": b,
                      "peer_name": peer, "ratio": r})
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"machine": {"cores": os.cpu_count(),
                               "kernel": platform.release(),
                               "mpd": version},
                   "sizes": sizes, "rounds": rounds, "measurements": s,
                   "table": table}, f, indent=2)
    print("\nwritten: %s" % args.out)


if __name__ == "__main__":
    main()

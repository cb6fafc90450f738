#!/usr/bin/env python3
"""beanstalkd's side of the put -> consumed workload of bench/run.py.

Debian has no beanstalk client for Python, so this is a small one, written
the way the usual library (greenstalk) works: one TCP socket, each command
sent whole with sendall, its reply read with readline on a buffered reader
of the socket, no pipelining.

    beanstalk.py run HOST PORT N     a producer puts N jobs while 2 consumer
                                     processes reserve and delete them;
                                     prints {"jobs": N, "seconds": S}
    beanstalk.py consume HOST PORT   one consumer (started by run)

The time runs from the first put until the last job is deleted. Two
sentinel jobs follow the N jobs in the same tube at the same priority, so
they are reserved after all N (beanstalkd serves a tube in priority, then
id order); each consumer stops at its sentinel, and since a consumer
deletes each job before it reserves the next, all N are deleted once both
have reserved theirs. Each consumer reports the monotonic time of its last
delete (CLOCK_MONOTONIC is the same clock in every process).
"""
import json
import os
import select
import socket
import subprocess
import sys
import time

PRIORITY = 2 ** 16      # greenstalk's defaults
TTR = 60
STOP = b"stop"
# How long a consumer waits for a job before it calls the run broken.
RESERVE_TIMEOUT = 60


class BeanstalkError(Exception):
    pass


class Client:
    """put, reserve and delete over one socket, one command at a time."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.reader = self.sock.makefile("rb")

    def close(self):
        self.reader.close()
        self.sock.close()

    def _call(self, cmd, expected):
        self.sock.sendall(cmd + b"\r\n")
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise BeanstalkError("connection closed (after %r)" % cmd[:40])
        words = line[:-2].split()
        if not words or words[0] != expected:
            raise BeanstalkError("%r answered %r" % (cmd[:40], line))
        return words[1:]

    def put(self, body, priority=PRIORITY, delay=0, ttr=TTR):
        (job,) = self._call(b"put %d %d %d %d\r\n%b" % (
            priority, delay, ttr, len(body), body), b"INSERTED")
        return int(job)

    def reserve(self, timeout=None):
        cmd = (b"reserve" if timeout is None
               else b"reserve-with-timeout %d" % timeout)
        job, size = (int(w) for w in self._call(cmd, b"RESERVED"))
        data = self.reader.read(size + 2)
        if len(data) != size + 2 or not data.endswith(b"\r\n"):
            raise BeanstalkError("short job body")
        return job, data[:-2]

    def delete(self, job):
        self._call(b"delete %d" % job, b"DELETED")


def consume(host, port):
    c = Client(host, port)
    print("ready", flush=True)
    done = 0
    last = time.monotonic()
    while True:
        job, body = c.reserve(RESERVE_TIMEOUT)
        if body == STOP:
            c.delete(job)
            break
        int(body) ** 2          # the work: square
        c.delete(job)
        done += 1
        last = time.monotonic()
    c.close()
    print(json.dumps({"done": done, "last": last}), flush=True)


def readline_by(f, deadline, what):
    """A line from the unbuffered pipe f, or an error once the deadline
    passes (a raw file reads a line byte by byte: nothing is left in a
    buffer that select cannot see)."""
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([f], [], [], left)[0]:
        raise BeanstalkError("%s: no answer in time" % what)
    line = f.readline()
    if not line:
        raise BeanstalkError("%s: exited early" % what)
    return line.decode()


def run(host, port, n):
    cons = []
    try:
        for _ in range(2):
            cons.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "consume", host,
                 str(port)], stdout=subprocess.PIPE, bufsize=0))
        deadline = time.monotonic() + 30
        for p in cons:
            if readline_by(p.stdout, deadline, "consumer").strip() != "ready":
                raise BeanstalkError("consumer did not start")
        prod = Client(host, port)
        t0 = time.monotonic()
        for i in range(n):
            prod.put(b"%d" % i)
        for _ in cons:
            prod.put(STOP)
        prod.close()
        deadline = time.monotonic() + RESERVE_TIMEOUT + 60
        ends = [json.loads(readline_by(p.stdout, deadline, "consumer"))
                for p in cons]
        for p in cons:
            if p.wait(max(1, deadline - time.monotonic())) != 0:
                raise BeanstalkError("consumer exited %d" % p.returncode)
    finally:
        for p in cons:
            if p.poll() is None:
                p.kill()
                p.wait()
    done = sum(e["done"] for e in ends)
    if done != n:
        raise BeanstalkError("consumed %d jobs of %d" % (done, n))
    print(json.dumps({"jobs": n, "seconds": max(e["last"] for e in ends) - t0,
                      "per_consumer": [e["done"] for e in ends]}))


def main():
    a = sys.argv[1:]
    try:
        if len(a) == 4 and a[0] == "run":
            run(a[1], int(a[2]), int(a[3]))
        elif len(a) == 3 and a[0] == "consume":
            consume(a[1], int(a[2]))
        else:
            sys.exit("usage: beanstalk.py run HOST PORT N | "
                     "consume HOST PORT")
    except (BeanstalkError, OSError) as e:
        sys.exit("beanstalk.py: %s" % e)


if __name__ == "__main__":
    main()

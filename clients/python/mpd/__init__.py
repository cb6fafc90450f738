"""mpd's Python package: talk to the mpd job-queue daemon over its socket.

- ``mpd.Pool``: multiprocessing.Pool's interface, its functions run by the
  daemon's Python pool (``from mpd import Pool`` in place of
  ``from multiprocessing import Pool``).
- ``mpd.Client``: one raw connection (proto/PROTOCOL.md).
- ``python3 -m mpd.worker``: the runtime a Python pool's workers run.

Standard library only. A connection checks who answers before it sends a
byte (see ``mpd.client.connect``)."""
from .client import Client, MpdError, UntrustedServer, connect, default_socket
from .pool import (AsyncResult, JobError, MapResult, Pool, RemoteError,
                   TimeoutError)


def progress(done, total):
    """In a function run by an mpd worker: reports how far its job is
    (done of total). Elsewhere it does nothing."""
    from . import worker
    worker.progress(done, total)


__all__ = ["AsyncResult", "Client", "JobError", "MapResult", "MpdError",
           "Pool", "RemoteError", "TimeoutError", "UntrustedServer",
           "connect", "default_socket", "progress"]

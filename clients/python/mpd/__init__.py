"""mpd's Python client: talk to the mpd job-queue daemon over its socket.

Standard library only. The connection checks who answers before it sends
a byte (see ``mpd.client.connect``)."""
from .client import Client, MpdError, UntrustedServer, connect, default_socket

__all__ = ["Client", "MpdError", "UntrustedServer", "connect",
           "default_socket"]

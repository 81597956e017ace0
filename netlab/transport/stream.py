"""The one seam between applications (mail) and the transport: a byte stream, as a small Protocol.

Mail sessions (SMTP, POP3, IMAP drivers) are written against :class:`Stream`, never against the TCP
connection's internals, so a fake stream from :mod:`netlab.testing` or another transport can stand in for it.
:class:`~netlab.transport.Connection` is one.

>>> from netlab.transport import Connection, Stream
>>> sorted(name for name in vars(Stream) if not name.startswith("_") and hasattr(Connection, name))
['abort', 'close', 'recv', 'recv_line', 'remote_address', 'send']
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import simpy

__all__ = ["Stream"]


@runtime_checkable
class Stream(Protocol):
    """A reliable, ordered byte stream between two hosts of a running network.

    Reads are SimPy events: ``data = yield stream.recv(timeout=30.0)`` succeeds with up to *max_bytes* bytes
    (``b""`` at the peer's FIN) or fails with a :class:`~netlab.transport.TransportError` (reset, timeout).
    """

    @property
    def remote_address(self) -> tuple[str, int]:
        """``(ip, port)`` of the other end."""
        ...

    def send(self, data: bytes) -> None:
        """Queue *data* for sending (never blocks; the transport paces it)."""
        ...

    def recv(self, max_bytes: int = 65536, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next bytes available, at most *max_bytes*; *timeout* in seconds of simulated time."""
        ...

    def recv_line(self, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next line, its line end (LF or CRLF) included."""
        ...

    def close(self) -> None:
        """Send what is queued, then FIN (a graceful close)."""
        ...

    def abort(self) -> None:
        """Drop the connection at once (RST)."""
        ...

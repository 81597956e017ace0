"""Transport errors: what an application sees when a connection cannot be made or breaks.

::

    NetlabError
    └── TransportError
        ├── ConnectionRefused   the peer answered the SYN with a RST (no listener on that port)
        ├── ConnectionReset     the peer reset an open connection (RST)
        ├── ConnectionTimeout   SYN or data retransmissions exhausted (host down, no route, link down too long)
        ├── ReceiveTimeout      a read or datagram receive with a ``timeout`` saw nothing in time
        ├── IncompleteRead      the peer closed before ``recv_exactly(n)`` had n bytes (``.partial`` has them)
        └── ConnectionClosed    send or read on a connection this side has closed or that already failed

The first three also derive from the matching built-ins (``ConnectionRefusedError``, ``ConnectionResetError``,
``TimeoutError``), so ``except ConnectionError`` / ``except TimeoutError`` work as with real sockets. Every class
is rebuilt from its message alone, as SimPy does when a failed event crashes the run.
"""

from __future__ import annotations

from netlab.errors import NetlabError

__all__ = [
    "ConnectionClosed",
    "ConnectionRefused",
    "ConnectionReset",
    "ConnectionTimeout",
    "IncompleteRead",
    "ReceiveTimeout",
    "TransportError",
]


class TransportError(NetlabError):
    """Base class of transport failures an application can handle (the mail layer turns them into 4xx)."""


class ConnectionRefused(TransportError, ConnectionRefusedError):
    """The destination host answered the SYN with a RST: nothing listens on that port."""


class ConnectionReset(TransportError, ConnectionResetError):
    """The peer reset the connection (RST) while it was open."""


class ConnectionTimeout(TransportError, TimeoutError):
    """The SYN or a data segment went unacknowledged through every allowed retransmission."""


class ReceiveTimeout(TransportError, TimeoutError):
    """Nothing arrived within the ``timeout`` the application gave to a read."""


class IncompleteRead(TransportError):
    """The peer closed its side before the requested number of bytes arrived; ``partial`` holds what did."""

    def __init__(self, message: str, partial: bytes = b"") -> None:
        super().__init__(message, partial)
        self.partial = partial

    def __str__(self) -> str:
        return str(self.args[0])


class ConnectionClosed(TransportError):
    """The connection is closed on this side (or failed earlier): no more sending, or no more data to read."""

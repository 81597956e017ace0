"""The application's side of a byte stream: reads as SimPy events, served in order from the receive buffer.

A read is queued until the bytes it needs are there (or the stream ends, or it fails); only the first read in
line is tried when data arrives, and only once enough bytes for it could be there (``_want``), so a large
``recv_exactly`` costs one check per arriving segment.

A read's timeout is a deadline, not a SimPy timeout of its own: the connection's one timer entry wakes up at the
earliest deadline (see ``Connection._on_timer``), so a session issuing thousands of reads with a 300 s timeout
keeps one heap entry alive instead of thousands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netlab.transport.errors import (
    ConnectionClosed,
    IncompleteRead,
    ReceiveTimeout,
    TransportError,
)
from netlab.transport.tcb import Tcb

if TYPE_CHECKING:
    import simpy

_INF = float("inf")

__all__ = ["StreamReading"]

_RECV, _EXACT, _UNTIL = 0, 1, 2


class StreamReading(Tcb):
    """Mixin of :class:`~netlab.transport.connection.Connection`: ``recv``, ``recv_exactly``, ``recv_until``,
    ``recv_line``. The connection appends arriving in-order bytes to ``_rbuf`` and calls :meth:`_feed`."""

    __slots__ = ()

    def recv(self, max_bytes: int = 65536, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next 1 to *max_bytes* bytes in order, or ``b""`` once the peer has closed."""
        return self._read(_RECV, max_bytes, timeout)

    def recv_exactly(self, n: int, *, timeout: float | None = None) -> simpy.Event:
        """Event: exactly *n* bytes; fails with :class:`IncompleteRead` if the peer closes first."""
        return self._read(_EXACT, n, timeout)

    def recv_until(self, delimiter: bytes, *, timeout: float | None = None) -> simpy.Event:
        """Event: the bytes up to and including *delimiter* (or what is left, possibly ``b""``, at end of stream)."""
        if not delimiter:
            raise ValueError("recv_until: empty delimiter")
        return self._read(_UNTIL, delimiter, timeout)

    def recv_line(self, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next line, ending ``b"\\n"`` included (``b"\\r\\n"`` lines keep both); ``b""`` at the end."""
        return self._read(_UNTIL, b"\n", timeout)

    def _read(self, kind: int, arg: Any, timeout: float | None) -> simpy.Event:
        ev = self.env.event()
        req = [kind, arg, ev, 0, _INF, timeout]  # kind, argument, event, search offset, deadline, timeout
        if self._error is not None:
            ev.fail(_again(self._error))
            return ev
        if not self._reads:
            if self._try(req):
                return ev
            self._want = arg if kind == _EXACT else len(self._rbuf) + 1
        if self.state == "CLOSED" and not self._eof:
            ev.fail(ConnectionClosed(f"{self.flow}: read on a closed connection"))
            return ev
        self._reads.append(req)
        if timeout is not None:
            req[4] = deadline = self.env._now + timeout
            if deadline < self._read_deadline:
                self._read_deadline = deadline
                self._wake_at(deadline)
        return ev

    def _expire_reads(self, now: float) -> None:
        """Fail the waiting reads whose deadline has come (in the order they were made); note the next deadline."""
        reads = self._reads
        expired = [req for req in reads if req[4] <= now]
        for req in expired:
            reads.remove(req)
            req[2].fail(ReceiveTimeout(f"{self.flow}: nothing to read within {req[5]:g} s"))
        if expired and reads:
            self._feed()  # the next read is now first in line
        self._read_deadline = min((req[4] for req in reads), default=_INF)

    def _deliver(self, data: bytes) -> None:
        buf = self._rbuf
        buf += data
        self.bytes_delivered += len(data)
        if len(buf) >= self._want and self._reads:
            self._feed()

    def _feed(self) -> None:
        reads = self._reads
        while reads and self._try(reads[0]):
            reads.popleft()
        if reads:
            # What the waiting read needs before it is worth trying again: its length, or some new bytes.
            head = reads[0]
            self._want = head[1] if head[0] == _EXACT else len(self._rbuf) + 1

    def _take(self, n: int) -> bytes:
        buf = self._rbuf
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def _try(self, req: list[Any]) -> bool:
        """Satisfy the read *req* from the receive buffer if possible (succeeding or failing its event)."""
        kind, arg, ev = req[0], req[1], req[2]
        buf = self._rbuf
        if kind == _RECV:
            if buf or self._eof:
                ev.succeed(self._take(min(arg, len(buf))))
                return True
        elif kind == _EXACT:
            if len(buf) >= arg:
                ev.succeed(self._take(arg))
                return True
            if self._eof:
                part = self._take(len(buf))
                ev.fail(IncompleteRead(f"{self.flow}: stream ended after {len(part)} of {arg} bytes", part))
                return True
        else:
            i = buf.find(arg, req[3])
            if i >= 0:
                ev.succeed(self._take(i + len(arg)))
                return True
            if self._eof:
                ev.succeed(self._take(len(buf)))
                return True
            req[3] = max(0, len(buf) - len(arg) + 1)  # search only new bytes next time
        return False


def _again(error: TransportError) -> TransportError:
    """A fresh copy of *error* (an exception instance is raised once per failure site)."""
    return type(error)(*error.args)

"""A connected pair of in-memory byte streams: drive a protocol session (SMTP, POP3, IMAP, your own) over the
:class:`~netlab.transport.Stream` seam without a network, a transport stack or a routing strategy.

Bytes sent on one end reach the other *delay_s* later (0 by default: at the same instant, after the sender
yields), in order; :meth:`FakeStream.close` is a FIN (the peer reads ``b""`` once the bytes before it are read),
:meth:`FakeStream.abort` a RST (the peer's reads and sends fail with :class:`~netlab.transport.ConnectionReset`).
Reads behave as a connection's: served in order, ``timeout`` in simulated seconds failing with
:class:`~netlab.transport.ReceiveTimeout`.

>>> import simpy
>>> env = simpy.Environment()
>>> client, server = stream_pair(env, delay_s=0.01)
>>> def serve():
...     line = yield server.recv_line()
...     server.send(b"250 " + line); server.close()
>>> def talk(out):
...     client.send(b"HELO a\\r\\n")
...     out.append((yield client.recv_line()))
...     out.append((yield client.recv()))
...     out.append(env.now)
>>> out = []; _ = env.process(serve()); _ = env.process(talk(out)); env.run()
>>> out
[b'250 HELO a\\r\\n', b'', 0.02]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import simpy

from netlab.transport.errors import ConnectionClosed, ConnectionReset, IncompleteRead, ReceiveTimeout, TransportError

__all__ = ["FakeStream", "stream_pair"]


class FakeStream:
    """One end of a :func:`stream_pair`: a :class:`~netlab.transport.Stream` held in memory.

    ``local_address`` and ``remote_address`` are ``(ip, port)``; ``sent`` holds every byte this end sent (for
    assertions); ``peer`` is the other end.
    """

    def __init__(self, env: simpy.Environment, local: tuple[str, int], remote: tuple[str, int], delay_s: float) -> None:
        self.env = env
        self.local_address = local
        self._remote = remote
        self.delay_s = delay_s
        self.peer: FakeStream = self
        self.sent = bytearray()
        self.closed = False  # this end closed or aborted: no more sending
        self._buf = bytearray()
        self._eof = False
        self._error: TransportError | None = None
        # (delimiter or None, byte count, exactly that many?, event)
        self._reads: deque[tuple[bytes | None, int, bool, simpy.Event]] = deque()

    def __repr__(self) -> str:
        return f"<FakeStream {self.local_address[0]}:{self.local_address[1]}>{self._remote[0]}:{self._remote[1]}>"

    @property
    def remote_address(self) -> tuple[str, int]:
        """``(ip, port)`` of the other end."""
        return self._remote

    # ------------------------------------------------------------------ the Stream protocol
    def send(self, data: bytes) -> None:
        """Queue *data*: it reaches the peer ``delay_s`` later."""
        if self._error is not None:
            raise type(self._error)(*self._error.args)
        if self.closed:
            raise ConnectionClosed(f"{self!r}: send after close")
        if data:
            self.sent += data
            self._later(self.peer._arrive, bytes(data))

    def recv(self, max_bytes: int = 65536, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next 1 to *max_bytes* bytes, or ``b""`` once the peer has closed."""
        return self._read(None, max_bytes, timeout)

    def recv_exactly(self, n: int, *, timeout: float | None = None) -> simpy.Event:
        """Event: exactly *n* bytes (an IMAP literal); fails with IncompleteRead if the peer closes first."""
        return self._read(None, n, timeout, exact=True)

    def recv_line(self, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next line, its ``b"\\n"`` included; what is left (maybe ``b""``) at the end of the stream."""
        return self._read(b"\n", 0, timeout)

    def close(self) -> None:
        """Send a FIN after the bytes already sent; reading goes on until the peer's."""
        if not self.closed:
            self.closed = True
            self._later(self.peer._arrive, b"")

    def abort(self) -> None:
        """Reset now: the peer's reads and sends fail with ConnectionReset (``delay_s`` later); ours end."""
        if not self.closed:
            self.closed = True
            self._later(self.peer._reset)
        self._eof = True
        self._feed()

    # ------------------------------------------------------------------ inside
    def _later(self, fn: Callable[..., None], *args: bytes) -> None:
        self.env.timeout(self.delay_s).callbacks.append(lambda _ev: fn(*args))

    def _arrive(self, data: bytes) -> None:
        if data:
            self._buf += data
        else:
            self._eof = True
        self._feed()

    def _reset(self) -> None:
        self._error = ConnectionReset(f"{self!r}: connection reset by peer")
        self.closed = True
        reads, self._reads = self._reads, deque()
        for *_request, ev in reads:
            ev.fail(ConnectionReset(*self._error.args))

    def _read(self, delimiter: bytes | None, n: int, timeout: float | None, *, exact: bool = False) -> simpy.Event:
        ev = self.env.event()
        if self._error is not None:
            return ev.fail(type(self._error)(*self._error.args))
        self._reads.append((delimiter, n, exact, ev))
        self._feed()
        if timeout is not None and not ev.triggered:
            self.env.timeout(timeout).callbacks.append(lambda _e: self._expire(ev, timeout))
        return ev

    def _expire(self, ev: simpy.Event, timeout: float) -> None:
        for req in self._reads:
            if req[3] is ev:
                self._reads.remove(req)
                ev.fail(ReceiveTimeout(f"{self!r}: nothing to read within {timeout:g} s"))
                return

    def _feed(self) -> None:
        buf = self._buf
        while self._reads:
            delimiter, n, exact, ev = self._reads[0]
            if exact:
                if len(buf) < n:
                    if not self._eof:
                        return
                    self._reads.popleft()
                    ev.fail(IncompleteRead(f"{self!r}: wanted {n} bytes, the peer closed after {len(buf)}", bytes(buf)))
                    continue
                size = n
            elif delimiter is None:
                if not buf and not self._eof:
                    return
                size = min(n, len(buf))
            else:
                i = buf.find(delimiter)
                if i < 0 and not self._eof:
                    return
                size = i + len(delimiter) if i >= 0 else len(buf)
            self._reads.popleft()
            out = bytes(buf[:size])
            del buf[:size]
            ev.succeed(out)


def stream_pair(
    env: simpy.Environment,
    *,
    delay_s: float = 0.0,
    client: tuple[str, int] = ("10.0.0.1", 49152),
    server: tuple[str, int] = ("10.0.0.2", 25),
) -> tuple[FakeStream, FakeStream]:
    """Two connected :class:`FakeStream` ends, ``(client end, server end)``, with the given ``(ip, port)``
    addresses; each byte takes *delay_s* seconds from one end to the other."""
    a = FakeStream(env, client, server, delay_s)
    b = FakeStream(env, server, client, delay_s)
    a.peer, b.peer = b, a
    return a, b

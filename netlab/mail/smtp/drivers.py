"""SMTP sessions over the simulated transport: the sans-IO state machines of :mod:`netlab.mail.smtp` driven by
real bytes on a :class:`~netlab.transport.Stream` (a TCP connection, or any fake stream).

After an accepted STARTTLS both drivers run the modelled TLS 1.3 handshake (:mod:`netlab.transport.tls`: its
three flights, one round trip) and from then on carry every command and reply inside TLS records.

Both drivers are SimPy generators. The server reads whatever the stream has (``recv``) and feeds it to the
session, which splits lines; the client parses replies with :class:`~netlab.mail.smtp.ReplyReader` and sends what
its session asks for, so every command, reply and dot-stuffed DATA line crosses the network as segments.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, cast

import simpy

from netlab.mail.errors import ProtocolError
from netlab.mail.smtp.client import SmtpClientSession, Stage
from netlab.mail.smtp.reply import Reply, ReplyReader
from netlab.mail.smtp.server import SmtpServerSession
from netlab.transport import Stream, TransportError
from netlab.transport.tls import (
    CLIENT_FINISHED,
    CLIENT_HELLO_BYTES,
    SERVER_FLIGHT_BYTES,
    TlsError,
    TlsRecords,
    client_hello,
    server_flight,
)

__all__ = ["ClientOutcome", "run_client", "serve"]


def serve(conn: Stream, session: SmtpServerSession, *, timeout_s: float = 300.0) -> Generator[simpy.Event, Any, None]:
    """Run *session* on the accepted connection *conn* until QUIT, 421, EOF, a transport error or an idle
    *timeout_s* (seconds); then close the connection. A policy check that suspends the session
    (:class:`~netlab.mail.smtp.server.Suspend`) holds its reply until its event (``session.pending``) is over."""
    tls: TlsRecords | None = None

    def send(replies: list[Reply]) -> None:
        if replies:
            out = b"".join(bytes(r) for r in replies)
            conn.send(tls.wrap(out) if tls is not None else out)

    try:
        conn.send(bytes(session.greeting()))
        while not session.closed:
            data = yield conn.recv(timeout=timeout_s)
            if not data:
                break  # the client went away without QUIT
            if tls is not None and not (data := tls.unwrap(data)):
                continue  # a record still partial
            replies = session.feed(data)
            while session.pending is not None:  # a policy check waits (DNS lookups): the client waits for its reply
                send(replies)
                yield cast(simpy.Event, session.pending)
                replies = session.resume()
            send(replies)
            if session.starttls_pending:
                hello = yield from _read(conn, CLIENT_HELLO_BYTES, timeout_s)
                if hello[:1] != b"\x16":
                    break  # not a TLS ClientHello: nothing more can be read in clear
                conn.send(server_flight(repr(conn.remote_address).encode()))
                finished = yield from _read(conn, len(CLIENT_FINISHED), timeout_s)
                session.tls_started()
                tls = TlsRecords()
                if leftover := tls.unwrap(finished[len(CLIENT_FINISHED) :]):
                    send(session.feed(leftover))
    except (TransportError, TlsError):
        pass  # reset, timeout, our own host crashed, or not TLS after STARTTLS: the session simply ends
    conn.close()


def _read(conn: Stream, n: int, timeout_s: float) -> Generator[simpy.Event, Any, bytes]:
    """At least *n* bytes from *conn* (a handshake flight; what came with it is returned too).

    Raises
    ------
    TlsError
        The peer closed before *n* bytes arrived.
    """
    got = b""
    while len(got) < n:
        data = yield conn.recv(timeout=timeout_s)
        if not data:
            raise TlsError("connection closed during the TLS handshake")
        got += data
    return got


@dataclass(slots=True)
class ClientOutcome:
    """What a client session ended with: the state machine, and the transport error if one cut it short."""

    session: SmtpClientSession
    error: str = ""
    last_reply: Reply | None = None


def run_client(conn: Stream, session: SmtpClientSession, *, timeout_s: float = 300.0,
               data_timeout_s: float = 600.0) -> Generator[simpy.Event, Any, ClientOutcome]:  # fmt: skip
    """Drive *session* over *conn* until it is done (it sends QUIT itself), then close the connection."""
    out = ClientOutcome(session)
    reader = ReplyReader()
    tls: TlsRecords | None = None
    session.start()
    try:
        while not session.done:
            data = yield conn.recv(timeout=data_timeout_s if _after_dot(session) else timeout_s)
            if not data:
                out.error = "lost connection"
                session.abort()
                break
            if tls is not None and not (data := tls.unwrap(data)):
                continue  # a record still partial
            for reply in reader.feed(data):
                out.last_reply = reply
                commands = session.on_reply(reply)
                if commands:
                    payload = b"".join(commands)
                    conn.send(tls.wrap(payload) if tls is not None else payload)
                if session.starttls_pending:  # the 220 to STARTTLS: the handshake, then EHLO again inside TLS
                    conn.send(client_hello(repr(conn.remote_address).encode()))
                    yield from _read(conn, SERVER_FLIGHT_BYTES, timeout_s)
                    conn.send(CLIENT_FINISHED)
                    tls, reader = TlsRecords(), ReplyReader()
                    conn.send(tls.wrap(b"".join(session.tls_started())))
                    break
                if session.done:
                    break
    except TlsError as exc:
        out.error = f"TLS handshake: {exc}"
        session.abort()
        conn.abort()
        return out
    except TransportError as exc:
        out.error = str(exc) or type(exc).__name__
        session.abort()
    except ProtocolError as exc:  # a peer that does not speak SMTP: end this session, not the run
        out.error = f"protocol error: {exc}"
        session.abort()
        conn.abort()
        return out
    conn.close()
    return out


def _after_dot(session: SmtpClientSession) -> bool:
    return session.stage is Stage.DOT

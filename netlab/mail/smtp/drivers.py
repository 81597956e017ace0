"""SMTP sessions over the simulated transport: the sans-IO state machines of :mod:`netlab.mail.smtp` driven by
real bytes on a :class:`~netlab.transport.Stream` (a TCP connection, or any fake stream).

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

__all__ = ["ClientOutcome", "run_client", "serve"]


def serve(conn: Stream, session: SmtpServerSession, *, timeout_s: float = 300.0) -> Generator[simpy.Event, Any, None]:
    """Run *session* on the accepted connection *conn* until QUIT, 421, EOF, a transport error or an idle
    *timeout_s* (seconds); then close the connection. A policy check that suspends the session
    (:class:`~netlab.mail.smtp.server.Suspend`) holds its reply until its event (``session.pending``) is over."""
    try:
        conn.send(bytes(session.greeting()))
        while not session.closed:
            data = yield conn.recv(timeout=timeout_s)
            if not data:
                break  # the client went away without QUIT
            replies = session.feed(data)
            while session.pending is not None:  # a policy check waits (DNS lookups): the client waits for its reply
                if replies:
                    conn.send(b"".join(bytes(r) for r in replies))
                yield cast(simpy.Event, session.pending)
                replies = session.resume()
            if replies:
                conn.send(b"".join(bytes(r) for r in replies))
    except TransportError:
        pass  # reset, timeout, or our own host crashed: the session simply ends
    conn.close()


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
    session.start()
    try:
        while not session.done:
            data = yield conn.recv(timeout=data_timeout_s if _after_dot(session) else timeout_s)
            if not data:
                out.error = "lost connection"
                session.abort()
                break
            for reply in reader.feed(data):
                out.last_reply = reply
                commands = session.on_reply(reply)
                if commands:
                    conn.send(b"".join(commands))
                if session.done:
                    break
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

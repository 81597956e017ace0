"""The inbox server of an mx host: POP3 (port 110) and IMAP (port 143) over the simulated transport.

The story ends on the recipient's screen: MX -> message store -> MDA -> mailbox -> POP3 or IMAP -> mail program.
The mx is its users' inbox server, as a small site runs Postfix and Dovecot on one host: its local delivery agent
hands each accepted message to the MDA of the host's :class:`~netlab.mail.mailbox.MessageStore` (``Return-Path``
from the MTA, ``Delivered-To`` and the quota from the MDA, unknown users refused at RCPT with 550 5.1.1), and
:class:`InboxServer` serves that store. Each accepted connection is a SimPy process that feeds the received lines
(and, for IMAP, literals read with ``recv_exactly``) to a sans-IO session (:class:`~netlab.mail.pop3.
Pop3ServerSession`, :class:`~netlab.mail.imap.ImapServerSession`) and sends back what it answers. A delivery
wakes the IMAP sessions idling on that mailbox (``store.subscribe``), which push ``* N EXISTS`` at once
(RFC 2177). A crash of the host resets every session; a POP3 session cut short never reaches UPDATE, so nothing
it marked is deleted; the store itself survives (it is on disk).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from netlab.mail.imap import ImapServerSession
from netlab.mail.mailbox.store import Mailbox, MessageStore, StoredEntry
from netlab.mail.pop3 import Pop3ServerSession
from netlab.transport import ReceiveTimeout, TransportError

if TYPE_CHECKING:
    from netlab.mail.context import MailContext, MailStream
    from netlab.transport import Listener

__all__ = ["IMAP_PORT", "POP3_PORT", "InboxServer"]

Serve = Callable[["MailStream"], Generator[simpy.Event, Any, None]]
"""A session process over one accepted connection."""

POP3_PORT = 110
IMAP_PORT = 143
POP3_TIMEOUT_S = 600.0  # RFC 1939 §3: an autologout timer of at least 10 minutes
IMAP_TIMEOUT_S = 1800.0  # RFC 3501 §5.4: at least 30 minutes, IDLE included (RFC 2177 §3)


class InboxServer:
    """The POP3 and IMAP servers of *host* (named *fqdn* in greetings) over its message *store*; see the module
    docstring."""

    def __init__(self, ctx: MailContext, *, host: str, fqdn: str, store: MessageStore) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.host = host
        self.fqdn = fqdn
        self.store = store
        self.up = True
        self.sessions: Counter[str] = Counter()  # sessions accepted, by protocol
        self._conns: dict[MailStream, None] = {}  # open sessions' connections, in the order accepted
        self._imap: list[tuple[ImapServerSession, MailStream]] = []
        self.store.subscribe(self._on_delivery)

    def __repr__(self) -> str:
        return f"<InboxServer {self.host} {self.store!r}>"

    def start(self) -> None:
        """Listen on 110 and 143."""
        for port, serve in ((POP3_PORT, self._pop3), (IMAP_PORT, self._imap_session)):
            self.env.process(self._accept_loop(self.ctx.listen(self.host, port), serve))

    def crash(self) -> None:
        """The host went down: every session is reset (the store stays)."""
        self.up = False
        for conn in list(self._conns):
            conn.abort()
        self._conns.clear()

    def restart(self) -> None:
        """The host is back: accept sessions again."""
        self.up = True

    def _accept_loop(self, listener: Listener, serve: Serve) -> Generator[simpy.Event, Any, None]:
        while True:
            conn: MailStream = yield listener.accept()
            if not self.up:
                conn.abort()
                continue
            self._conns[conn] = None
            self.env.process(serve(conn))

    def _pop3(self, conn: MailStream) -> Generator[simpy.Event, Any, None]:
        self.sessions["pop3"] += 1
        session = Pop3ServerSession(self.store, hostname=self.fqdn)
        try:
            conn.send(session.greeting())
            while not session.closed:
                line = yield conn.recv_line(timeout=POP3_TIMEOUT_S)
                if not line.endswith(b"\n"):
                    break  # the client went away (a partial last line is no command)
                conn.send(session.feed_line(line))
        except TransportError:
            pass  # reset, autologout or our crash: the session ends as if the line dropped
        if not session.closed:
            session.connection_lost()  # no QUIT, no UPDATE state: every DELE is forgotten
        self._end(conn)

    def _imap_session(self, conn: MailStream) -> Generator[simpy.Event, Any, None]:
        self.sessions["imap"] += 1
        session = ImapServerSession(self.store, hostname=self.fqdn, clock=lambda: float(self.env.now))
        pair = (session, conn)
        self._imap.append(pair)
        try:
            conn.send(session.greeting())
            while not session.closed:
                if session.literal_needed:
                    data = yield conn.recv_exactly(session.literal_needed, timeout=IMAP_TIMEOUT_S)
                    out = session.feed_literal(data)
                else:
                    line = yield conn.recv_line(timeout=IMAP_TIMEOUT_S)
                    if not line.endswith(b"\n"):
                        break
                    out = session.feed_line(line)
                if out:
                    conn.send(out)
        except ReceiveTimeout:
            _try_send(conn, b"* BYE Autologout; idle for too long\r\n")
        except TransportError:
            pass
        if not session.closed:
            session.connection_lost()
        self._imap.remove(pair)
        self._end(conn)

    def _end(self, conn: MailStream) -> None:
        self._conns.pop(conn, None)
        conn.close()

    def _on_delivery(self, user: str, box: Mailbox, entry: StoredEntry) -> None:
        """A message was filed: push ``* N EXISTS`` to every session idling on that mailbox."""
        for session, conn in self._imap:
            if session.mailbox is box and session.idling:
                out = session.notify_new(len(box))
                if out:
                    _try_send(conn, out)


def _try_send(conn: MailStream, data: bytes) -> None:
    # a connection that already failed raises here; its session process notices on its next read
    with contextlib.suppress(TransportError):
        conn.send(data)

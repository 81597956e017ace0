"""The inbox server of an mx host: POP3 (port 110) and IMAP (port 143) over the simulated transport.

The story ends on the recipient's screen: MX -> message store -> MDA -> mailbox -> POP3 or IMAP -> mail program.
The mx is its users' inbox server, as a small site runs Postfix and Dovecot on one host: its local delivery agent
hands each accepted message to the MDA of the host's :class:`~netlab.mail.mailbox.store.MessageStore` (``Return-Path`` from
the MTA, ``Delivered-To`` and the quota from the MDA, unknown users refused at RCPT with 550 5.1.1), and
:class:`InboxServer` serves that store. Each accepted connection is a SimPy process that feeds the received lines
(and, for IMAP, literals read with ``recv_exactly``) to a sans-IO session (:class:`~netlab.mail.pop3.
Pop3ServerSession`, :class:`~netlab.mail.imap.ImapServerSession`) and sends back what it answers. A delivery
wakes the IMAP sessions idling on that mailbox (``store.subscribe``), which push ``* N EXISTS`` at once
(RFC 2177). A crash of the host resets every session; a POP3 session cut short never reaches UPDATE, so nothing
it marked is deleted; the store itself survives (it is on disk).

After the run the stores become the ``mailboxes`` table (:func:`mailboxes_frame`), and :func:`read_mailbox`
parses a user's messages back into :class:`email.message.EmailMessage` objects from the results:

>>> import netlab
>>> from netlab.mail.config import *
>>> hosts = ("pc", "msa", "mx", "dns")
>>> topo = netlab.Topology(tuple(netlab.NodeSpec(n, "host") for n in hosts) + (netlab.NodeSpec("r"),),
...                        tuple(netlab.LinkSpec(n, "r", rate_bps=10e6, delay_s=0.002) for n in hosts))
>>> mail = MailSpec(dns_server="dns", domains=(DomainSpec("b.test", mx=((10, "mx"),)),),
...     servers=(ServerSpec("msa", role="msa", domains=("b.test",)), ServerSpec("mx", domains=("b.test",))),
...     users=(UserSpec("alice@b.test", client="pc"),
...            UserSpec("bob@b.test", client="pc", fetch=FetchSpec("imap", idle=True))),
...     send=(ScriptedMessage(sender="alice@b.test", to=("bob@b.test",)),))
>>> res = netlab.run(netlab.Scenario(topo, mail=mail))
>>> [(m["Delivered-To"], m["Subject"]) for m in read_mailbox(res, "bob@b.test")], res.mailboxes.imap_flags.tolist()
([('bob@b.test', 'Hello')], ['\\\\Seen'])
>>> res.fetch_sessions[["client", "server", "protocol", "fetch_mode", "messages"]].values.tolist()
[['pc', 'mx', 'imap', 'idle', 1]]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import simpy

from netlab.mail.content.message import parse
from netlab.mail.imap import ImapServerSession
from netlab.mail.mailbox.store import Mailbox, StoredEntry
from netlab.mail.pop3 import Pop3ServerSession
from netlab.mail.tracker import message_id_of
from netlab.transport import ReceiveTimeout, TransportError

if TYPE_CHECKING:
    import pandas as pd

    from netlab.mail.mta.master import Mta
    from netlab.mail.system import MailSystem

__all__ = ["IMAP_PORT", "MAILBOX_COLUMNS", "POP3_PORT", "InboxServer", "mailboxes_frame", "read_mailbox"]

POP3_PORT = 110
IMAP_PORT = 143
POP3_TIMEOUT_S = 600.0  # RFC 1939 §3: an autologout timer of at least 10 minutes
IMAP_TIMEOUT_S = 1800.0  # RFC 3501 §5.4: at least 30 minutes, IDLE included (RFC 2177 §3)


class InboxServer:
    """The POP3 and IMAP servers over the message store of *mta* (an mx); see the module docstring."""

    def __init__(self, system: MailSystem, mta: Mta) -> None:
        self.env = system.env
        self.stack = system.stack
        self.host = mta.host
        self.fqdn = mta.fqdn
        self.store = mta.store
        self.up = True
        self.sessions: Counter[str] = Counter()  # sessions accepted, by protocol
        self._conns: set[Any] = set()
        self._imap: list[tuple[ImapServerSession, Any]] = []
        self.store.subscribe(self._on_delivery)

    def __repr__(self) -> str:
        return f"<InboxServer {self.host} {self.store!r}>"

    def start(self) -> None:
        """Listen on 110 and 143."""
        for port, serve in ((POP3_PORT, self._pop3), (IMAP_PORT, self._imap_session)):
            self.env.process(self._accept_loop(self.stack.listen(self.host, port), serve))

    def crash(self) -> None:
        """The host went down: every session is reset (the store stays)."""
        self.up = False
        for conn in list(self._conns):
            conn.abort()
        self._conns.clear()

    def restart(self) -> None:
        """The host is back: accept sessions again."""
        self.up = True

    def _accept_loop(self, listener: Any, serve: Any) -> Generator[simpy.Event, Any, None]:
        while True:
            conn = yield listener.accept()
            if not self.up:
                conn.abort()
                continue
            self._conns.add(conn)
            self.env.process(serve(conn))

    def _pop3(self, conn: Any) -> Generator[simpy.Event, Any, None]:
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

    def _imap_session(self, conn: Any) -> Generator[simpy.Event, Any, None]:
        self.sessions["imap"] += 1
        session = ImapServerSession(self.store, hostname=self.fqdn)
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

    def _end(self, conn: Any) -> None:
        self._conns.discard(conn)
        conn.close()

    def _on_delivery(self, user: str, box: Mailbox, entry: StoredEntry) -> None:
        """A message was filed: push ``* N EXISTS`` to every session idling on that mailbox."""
        for session, conn in self._imap:
            if session.mailbox is box and session.idling:
                out = session.notify_new(len(box))
                if out:
                    _try_send(conn, out)


def _try_send(conn: Any, data: bytes) -> None:
    try:
        conn.send(data)
    except TransportError:
        pass  # the connection already failed; its session process notices on its next read


MAILBOX_COLUMNS = ["server", "user", "mailbox", "uidvalidity", "uid", "mailbox_uid", "stored_s", "imap_flags",
                   "size_bytes", "message_id", "raw"]  # fmt: skip


def mailboxes_frame(mtas: Iterable[Mta]) -> pd.DataFrame:
    """``Results.mailboxes``: one row per message still in a mailbox at the end of the run.

    ``raw`` is the stored message as text, one character per byte (latin-1), so that it survives pickling and
    CSV alike; ``raw.encode("latin-1")`` gives the bytes back (:func:`read_mailbox` does that).
    """
    import pandas as pd

    out = []
    for mta in mtas:
        for user in mta.store.users:
            box = mta.store.mailbox(user)  # the MDA files into INBOX only; nothing here creates other mailboxes
            for e in box.entries:
                out.append({
                    "server": mta.host, "user": user, "mailbox": box.name, "uidvalidity": box.uidvalidity,
                    "uid": e.uid, "mailbox_uid": f"{box.uidvalidity}.{e.uid}", "stored_s": e.internal_s,
                    "imap_flags": " ".join(sorted(e.flags)), "size_bytes": e.size, "message_id": message_id_of(e.raw),
                    "raw": e.raw.decode("latin-1"),
                })  # fmt: skip
    return pd.DataFrame(out, columns=MAILBOX_COLUMNS)


def read_mailbox(results: Any, address: str) -> list[EmailMessage]:
    """The messages in *address*'s mailbox at the end of the run, oldest first, parsed with ``policy.default``.

    *results* is a :class:`netlab.Results` of a run with a ``mail`` section (or one loaded back from disk).
    """
    from netlab.mail.mta.master import account

    boxes = results.mailboxes
    mine = boxes[boxes.user == account(address)].sort_values(["server", "uid"])
    return [parse(str(raw).encode("latin-1")) for raw in mine.raw]

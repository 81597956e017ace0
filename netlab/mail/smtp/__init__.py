"""SMTP as sans-IO state machines, shared by the simulation and the live bridge.

The server side is :class:`SmtpServerSession` (with its :class:`ServerPolicy`), the client side
:class:`SmtpClientSession`; both speak :class:`Reply` values. They live in :mod:`~netlab.mail.smtp.server` (with
:mod:`~netlab.mail.smtp.state`), :mod:`~netlab.mail.smtp.client` and :mod:`~netlab.mail.smtp.reply` and are
re-exported here, the import path agents use. :func:`converse` runs a client against a server in memory, through
the wire format, and :class:`RecordingPolicy` is the fake policy for tests and notebooks.

>>> from netlab.mail.content.message import Envelope
>>> policy = RecordingPolicy(local_domains={"b.example"})
>>> server = SmtpServerSession(policy, hostname="mx.b.example", peer_ip="10.0.0.1")
>>> client = SmtpClientSession(helo="mta.a.example", data=b"Subject: hi\\r\\n\\r\\nhello\\r\\n",
...                            envelope=Envelope("a@a.example", ("bob@b.example", "eve@c.example")))
>>> _ = converse(client, server)
>>> [(rcpt, str(reply)) for rcpt, reply in client.result.recipients]  # doctest: +NORMALIZE_WHITESPACE
[('bob@b.example', '250 2.0.0 Ok: queued as 0000000001'),
 ('eve@c.example', '554 5.7.1 <eve@c.example>: Relay access denied')]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping

from netlab.mail.content.message import Envelope
from netlab.mail.smtp.client import ClientResult, SmtpClientSession
from netlab.mail.smtp.reply import Replies, Reply, ReplyReader, parse_reply_lines
from netlab.mail.smtp.server import SmtpServerSession
from netlab.mail.smtp.state import DEFAULT_SIZE_LIMIT, ServerPolicy, SessionState

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "ClientResult",
    "RecordingPolicy",
    "Replies",
    "Reply",
    "ReplyReader",
    "ServerPolicy",
    "SessionState",
    "SmtpClientSession",
    "SmtpServerSession",
    "converse",
    "parse_reply_lines",
]

Transcript = list[tuple[str, bytes]]
"""``("S", bytes)`` for what the server sent, ``("C", bytes)`` for the client."""


def converse(client: SmtpClientSession, server: SmtpServerSession) -> Transcript:
    """Run *client* against *server* in memory until the client is done; return the wire transcript.

    Every reply is rendered to bytes and parsed back, and every command is fed to the server as bytes, so the
    wire format is exercised as on a socket. If the server closes while the client still waits, the client is
    aborted (a lost connection, RFC 5321 §3.8).
    """
    transcript: Transcript = []
    reader = ReplyReader()
    pending: deque[Reply] = deque()

    def server_says(replies: list[Reply]) -> None:
        wire = b"".join(bytes(reply) for reply in replies)
        if wire:
            transcript.append(("S", wire))
            pending.extend(reader.feed(wire))

    server_says([server.greeting()])
    client.start()
    while not client.done:
        if not pending:
            client.abort()
            break
        for chunk in client.on_reply(pending.popleft()):
            transcript.append(("C", chunk))
            server_says(server.feed(chunk))
    return transcript


class RecordingPolicy:
    """A :class:`ServerPolicy` fake: a user table, local domains, scripted refusals, and a record of messages.

    Parameters
    ----------
    users
        ``user -> password`` for AUTH.
    local_domains
        Domains this server is final destination for; others are relayed only for authenticated sessions
        (``554 5.7.1 Relay access denied`` otherwise). None accepts every recipient.
    rcpt_replies
        A scripted reply per recipient (``550 5.1.1`` for one, ``450`` for another ...).
    data_reply
        A scripted end-of-data reply instead of ``250 2.0.0 Ok: queued as <n>``.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        local_domains: Collection[str] | None = None,
        rcpt_replies: Mapping[str, Reply] | None = None,
        data_reply: Reply | None = None,
    ) -> None:
        self.users = dict(users or {})
        self.local_domains = None if local_domains is None else {d.lower() for d in local_domains}
        self.rcpt_replies = dict(rcpt_replies or {})
        self.data_reply = data_reply
        self.messages: list[tuple[Envelope, bytes]] = []

    def __repr__(self) -> str:
        return f"RecordingPolicy(users={sorted(self.users)}, local_domains={self.local_domains})"

    def authenticate(self, user: str, password: str) -> bool:
        return user in self.users and self.users[user] == password

    def check_mail(self, session: SmtpServerSession, sender: str, size: int | None) -> Reply | None:
        return None

    def check_rcpt(self, session: SmtpServerSession, rcpt: str) -> Reply | None:
        if rcpt in self.rcpt_replies:
            return self.rcpt_replies[rcpt]
        domain = rcpt.rpartition("@")[2].lower()
        if self.local_domains is None or domain in self.local_domains or session.authenticated_user:
            return None
        return Replies.relay_denied(rcpt)

    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes) -> Reply:
        if self.data_reply is not None:
            return self.data_reply
        self.messages.append((envelope, data))
        return Replies.queued(f"{len(self.messages):010X}")

"""SMTP as sans-IO state machines, shared by the simulation and the live bridge.

* :mod:`~netlab.mail.smtp.reply`: :class:`Reply`, its wire form (:class:`ReplyReader`) and Postfix's texts
  (:class:`Replies`);
* :mod:`~netlab.mail.smtp.server`: :class:`SmtpServerSession`, deciding through a :class:`ServerPolicy`;
* :mod:`~netlab.mail.smtp.client`: :class:`SmtpClientSession`, ending in a :class:`ClientResult`;
* :mod:`~netlab.mail.smtp.converse`: :func:`converse`, a client and a server in memory;
* :mod:`~netlab.mail.smtp.drivers`: the sessions driven over a :class:`~netlab.transport.Stream` (SimPy
  processes; not imported here, so ``import netlab.mail.smtp`` loads neither SimPy nor the transport).

This package is the import path agents use. The fake policy for tests and notebooks is
:class:`netlab.testing.RecordingPolicy`.

>>> from netlab.mail.content.message import Envelope
>>> from netlab.testing import RecordingPolicy
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

from netlab.mail.smtp.client import ClientResult, SmtpClientSession, Stage
from netlab.mail.smtp.converse import Transcript, converse
from netlab.mail.smtp.reply import Replies, Reply, ReplyReader, parse_reply_lines
from netlab.mail.smtp.server import DEFAULT_SIZE_LIMIT, ServerPolicy, SessionState, SmtpServerSession

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "ClientResult",
    "Replies",
    "Reply",
    "ReplyReader",
    "ServerPolicy",
    "SessionState",
    "SmtpClientSession",
    "SmtpServerSession",
    "Stage",
    "Transcript",
    "converse",
    "parse_reply_lines",
]

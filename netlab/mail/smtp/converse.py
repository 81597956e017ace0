"""A client session and a server session talking in memory, through the wire format (no network, no time).

Every reply is rendered to bytes and parsed back, and every command is fed to the server as bytes, so the wire
format is exercised as on a socket: the quickest way to see a whole SMTP dialogue in a notebook or a test.

>>> from netlab.mail.content.message import Envelope
>>> from netlab.mail.smtp import SmtpClientSession, SmtpServerSession
>>> from netlab.testing import RecordingPolicy
>>> server = SmtpServerSession(RecordingPolicy(), hostname="mx.b.example", peer_ip="10.0.0.1")
>>> client = SmtpClientSession(helo="a.example", data=b"hi\\r\\n", envelope=Envelope("a@a.example", ("b@b.example",)))
>>> transcript = converse(client, server)
>>> transcript[:2], transcript[-1], len(transcript)
([('S', b'220 mx.b.example ESMTP netlab\\r\\n'), ('C', b'EHLO a.example\\r\\n')], ('S', b'221 2.0.0 Bye\\r\\n'), 13)
"""

from __future__ import annotations

from collections import deque

from netlab.mail.smtp.client import SmtpClientSession
from netlab.mail.smtp.reply import Reply, ReplyReader
from netlab.mail.smtp.server import SmtpServerSession

__all__ = ["Transcript", "converse"]

Transcript = list[tuple[str, bytes]]
"""``("S", bytes)`` for what the server sent, ``("C", bytes)`` for the client."""


def converse(client: SmtpClientSession, server: SmtpServerSession) -> Transcript:
    """Run *client* against *server* in memory until the client is done; return the wire transcript.

    If the server closes while the client still waits, the client is aborted (a lost connection, RFC 5321 §3.8).
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

"""Fakes for the mail layer's extension points: an SMTP policy that records, a delivery agent that answers as told,
and a pair of in-memory streams.

* :class:`RecordingPolicy` is a :class:`~netlab.mail.smtp.ServerPolicy`: a user table, local domains, scripted
  refusals, and a record of the messages it took. Put it behind a :class:`~netlab.mail.smtp.SmtpServerSession`
  to test a client, a driver or a policy of your own against real SMTP.
* :class:`FakeDeliverer` is a :class:`~netlab.mail.mta.qmgr.Deliverer`: the queue manager's delivery agent,
  answering every job after a fixed time with a fixed outcome, recording each attempt.
* Streams to run the SMTP drivers, or any session of your own, over without a network are
  :func:`netlab.testing.stream_pair`'s :class:`~netlab.testing.FakeStream` ends.

>>> from netlab.mail.content.message import Envelope
>>> from netlab.mail.smtp import SmtpClientSession, SmtpServerSession, converse
>>> policy = RecordingPolicy(local_domains={"b.example"})
>>> client = SmtpClientSession(helo="a.example", data=b"hi\\r\\n", envelope=Envelope("a@a.example", ("b@b.example",)))
>>> _ = converse(client, SmtpServerSession(policy, hostname="mx.b.example", peer_ip="10.0.0.1"))
>>> policy
RecordingPolicy(users=[], local_domains={'b.example'}, messages=1)

The same session over a pair of in-memory streams, 10 ms each way, with the drivers the MTAs use:

>>> import simpy
>>> from netlab.mail.smtp.drivers import run_client, serve
>>> from netlab.testing.stream import stream_pair
>>> env = simpy.Environment(); a, b = stream_pair(env, delay_s=0.01)
>>> client = SmtpClientSession(helo="a.example", data=b"hi\\r\\n", envelope=Envelope("a@a.example", ("b@b.example",)))
>>> _ = env.process(serve(b, SmtpServerSession(policy, hostname="mx", peer_ip=b.remote_address[0])))
>>> out = env.run(until=env.process(run_client(a, client)))  # its 300 s read timers would still be pending
>>> out.error, client.result.ok, policy.messages[1][1], round(env.now, 3)  # 6 round trips of 20 ms + greeting
('', True, b'hi\\r\\n', 0.13)
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Mapping
from typing import Any

import simpy

from netlab.mail.content.address import Address
from netlab.mail.content.message import Envelope
from netlab.mail.mta.qmgr import Job, Outcome, OutcomeKind
from netlab.mail.smtp.reply import Replies, Reply
from netlab.mail.smtp.server import SmtpServerSession

__all__ = ["FakeDeliverer", "RecordingPolicy"]


class RecordingPolicy:
    """A :class:`~netlab.mail.smtp.ServerPolicy` fake: a user table, local domains, scripted refusals, and a record
    of messages.

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

    Attributes
    ----------
    messages
        ``(envelope, data)`` of every message taken, in order.
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
        return (f"RecordingPolicy(users={sorted(self.users)}, local_domains={self.local_domains}, "
                f"messages={len(self.messages)})")  # fmt: skip

    def authenticate(self, user: str, password: str) -> bool:
        return user in self.users and self.users[user] == password

    def check_mail(self, session: SmtpServerSession, sender: str, size: int | None) -> Reply | None:
        return None

    def check_rcpt(self, session: SmtpServerSession, rcpt: str) -> Reply | None:
        if rcpt in self.rcpt_replies:
            return self.rcpt_replies[rcpt]
        domain = Address.split(rcpt).domain
        if self.local_domains is None or domain in self.local_domains or session.authenticated_user:
            return None
        return Replies.relay_denied(rcpt)

    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes) -> Reply:
        if self.data_reply is not None:
            return self.data_reply
        self.messages.append((envelope, data))
        return Replies.queued(f"{len(self.messages):010X}")


_CODES = {OutcomeKind.DEFER: 451, OutcomeKind.SENT: 250, OutcomeKind.BOUNCE: 550}


class FakeDeliverer:
    """A :class:`~netlab.mail.mta.qmgr.Deliverer` that answers every job after *took* seconds with *kind*.

    Parameters
    ----------
    env
        The environment the queue manager runs in.
    kind
        ``defer`` (451), ``sent`` (250) or ``bounce`` (550) for every recipient.
    took
        Seconds each delivery attempt takes.
    ok_after
        From this simulated time on, every attempt is ``sent`` (a destination that recovers).
    refused
        Make each ``defer`` a refused connection (``4.4.1``, relay ``none``): the site failure the scheduler counts
        against the destination's concurrency window, where a plain ``defer`` is a 451 from a server that answered.

    Attributes
    ----------
    attempts
        ``(time_s, destination, recipients)`` of every job, in start order.
    running, peak, parallel
        Jobs running now, the most that ever ran at once, and how many ran (this one included) at each start.

    >>> from netlab.mail.config import QueueSpec
    >>> from netlab.mail.mta.qmgr import QueueEntry, QueueManager
    >>> env = simpy.Environment(); fake = FakeDeliverer(env, kind="sent")
    >>> qm = QueueManager(env, QueueSpec(), fake, on_done=lambda e, o, t: None, on_removed=lambda e: None)
    >>> qm.enqueue(QueueEntry("A1", "a@x.test", ["b@y.test"], b"m", 0.0)); env.run()
    >>> fake.attempts, qm.entries
    ([(0, 'y.test', ('b@y.test',))], {})
    """

    def __init__(self, env: simpy.Environment, kind: str = "defer", took: float = 0.2, ok_after: float | None = None,
                 *, refused: bool = False) -> None:  # fmt: skip
        self.env, self.kind, self.took, self.ok_after, self.refused = env, OutcomeKind(kind), took, ok_after, refused
        self.attempts: list[tuple[float, str, tuple[str, ...]]] = []
        self.running = 0
        self.peak = 0
        self.parallel: list[int] = []

    def __repr__(self) -> str:
        return f"FakeDeliverer(kind={self.kind.value!r}, took={self.took}, attempts={len(self.attempts)})"

    def destination(self, rcpt: str) -> str:
        """The recipient's domain (no smarthost, nothing local)."""
        return Address.split(rcpt).domain

    def deliver(self, job: Job) -> Generator[simpy.Event, Any, list[Outcome]]:
        """Wait *took* seconds, then answer *kind* (or ``sent`` from *ok_after* on) for every recipient."""
        self.attempts.append((self.env.now, job.dest, tuple(job.rcpts)))
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.parallel.append(self.running)
        yield self.env.timeout(self.took)
        self.running -= 1
        kind = self.kind
        if self.ok_after is not None and self.env.now >= self.ok_after:
            kind = OutcomeKind.SENT
        if kind is OutcomeKind.DEFER and self.refused:
            text = "connect to mx[10.0.0.1]:25: Connection refused"
            return [Outcome(r, kind, "4.4.1", text, "none", 0) for r in job.rcpts]
        code = _CODES[kind]
        return [Outcome(r, kind, f"{code // 100}.0.0", f"{code} test", "mx[10.0.0.1]:25", code) for r in job.rcpts]

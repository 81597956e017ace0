"""Fakes for the mail layer's extension points: an SMTP policy that records, a delivery agent that answers as told,
and a pair of in-memory streams.

* :class:`RecordingPolicy` is a :class:`~netlab.mail.smtp.ServerPolicy`: a user table, local domains, scripted
  refusals, and a record of the messages it took. Put it behind a :class:`~netlab.mail.smtp.SmtpServerSession`
  to test a client, a driver or a policy of your own against real SMTP.
* :class:`FakeDeliverer` is a :class:`~netlab.mail.mta.qmgr.Deliverer`: the queue manager's delivery agent,
  answering every job after a fixed time with a fixed outcome, recording each attempt.
* :func:`pipe` makes two connected :class:`MemoryStream` ends (each a :class:`~netlab.transport.Stream`): run
  the SMTP drivers, or any session of your own, over them without a network.

>>> from netlab.mail.content.message import Envelope
>>> from netlab.mail.smtp import SmtpClientSession, SmtpServerSession, converse
>>> policy = RecordingPolicy(local_domains={"b.example"})
>>> client = SmtpClientSession(helo="a.example", data=b"hi\\r\\n", envelope=Envelope("a@a.example", ("b@b.example",)))
>>> _ = converse(client, SmtpServerSession(policy, hostname="mx.b.example", peer_ip="10.0.0.1"))
>>> policy
RecordingPolicy(users=[], local_domains={'b.example'}, messages=1)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Generator, Mapping
from typing import Any

import simpy

from netlab.mail.content.address import Address
from netlab.mail.content.message import Envelope
from netlab.mail.mta.qmgr import Job, Outcome, OutcomeKind
from netlab.mail.smtp.reply import Replies, Reply
from netlab.mail.smtp.server import SmtpServerSession
from netlab.transport.errors import ConnectionClosed, ConnectionReset, IncompleteRead, ReceiveTimeout, TransportError

__all__ = ["FakeDeliverer", "MemoryStream", "RecordingPolicy", "pipe"]


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


_RECV, _LINE, _EXACT = 0, 1, 2  # the kinds of read a stream waits on


class MemoryStream:
    """One end of an in-memory byte stream (a :class:`~netlab.transport.Stream`); make two with :func:`pipe`.

    What one end sends reaches the other *delay_s* later, in order; :meth:`close` is a FIN (the peer reads
    ``b""`` once it has read everything), :meth:`abort` a RST (the peer's reads fail with ConnectionReset). Reads
    wait in order and may time out (:class:`~netlab.transport.ReceiveTimeout`). ``sent`` keeps every chunk sent.
    """

    __slots__ = ("_buf", "_closed", "_eof", "_error", "_reads", "delay_s", "env", "peer", "remote_address", "sent")

    def __init__(self, env: simpy.Environment, remote_address: tuple[str, int], delay_s: float = 0.0) -> None:
        self.env = env
        self.remote_address = remote_address
        self.delay_s = delay_s
        self.peer: MemoryStream | None = None
        self.sent: list[bytes] = []
        self._buf = bytearray()
        self._eof = False  # the peer's FIN has arrived
        self._closed = False  # we sent our FIN (or reset)
        self._error: TransportError | None = None
        self._reads: deque[tuple[int, int, simpy.Event]] = deque()

    def __repr__(self) -> str:
        return f"<MemoryStream to {self.remote_address[0]}:{self.remote_address[1]}, {len(self._buf)} bytes unread>"

    # ------------------------------------------------------------------ sending
    def send(self, data: bytes) -> None:
        """Send *data*; it arrives *delay_s* later. Raises ConnectionClosed after :meth:`close`."""
        if self._error is not None:
            raise ConnectionReset(str(self._error))
        if self._closed:
            raise ConnectionClosed("send after close")
        self.sent.append(bytes(data))
        self._later(lambda peer: peer._arrive(bytes(data)))

    def close(self) -> None:
        """Send a FIN after the data already sent (a second close does nothing)."""
        if not self._closed and self._error is None:
            self._closed = True
            self._later(lambda peer: peer._arrive(b"", fin=True))

    def abort(self) -> None:
        """Reset both ends: pending and later reads fail with ConnectionReset."""
        if self._error is None:
            self._closed = True
            self._fail(ConnectionReset("connection aborted"))
            self._later(lambda peer: peer._fail(ConnectionReset("connection reset by peer")))

    def _later(self, what: Any) -> None:
        peer = self.peer
        assert peer is not None, "a MemoryStream needs its peer: make them with pipe()"
        self.env.timeout(self.delay_s).callbacks.append(lambda _e: what(peer))

    # ------------------------------------------------------------------ receiving
    def recv(self, max_bytes: int = 65536, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next 1 to *max_bytes* bytes, or ``b""`` at the peer's FIN."""
        return self._read(_RECV, max_bytes, timeout)

    def recv_line(self, *, timeout: float | None = None) -> simpy.Event:
        """Event: the next line, its ``\\n`` included (what is left, possibly ``b""``, at the peer's FIN)."""
        return self._read(_LINE, 0, timeout)

    def recv_exactly(self, n: int, *, timeout: float | None = None) -> simpy.Event:
        """Event: exactly *n* bytes; fails with IncompleteRead if the peer's FIN comes first."""
        return self._read(_EXACT, n, timeout)

    def _read(self, kind: int, arg: int, timeout: float | None) -> simpy.Event:
        ev = self.env.event()
        self._reads.append((kind, arg, ev))
        self._serve()
        if timeout is not None and not ev.triggered:
            self.env.timeout(timeout).callbacks.append(lambda _e: self._expire(ev, timeout))
        return ev

    def _expire(self, ev: simpy.Event, timeout: float) -> None:
        if not ev.triggered:
            self._reads = deque(r for r in self._reads if r[2] is not ev)
            ev.fail(ReceiveTimeout(f"no data within {timeout:g} s"))

    def _arrive(self, data: bytes, *, fin: bool = False) -> None:
        if self._error is not None:
            return
        self._buf += data
        self._eof = self._eof or fin
        self._serve()

    def _fail(self, error: TransportError) -> None:
        if self._error is None:
            self._error = error
        self._serve()

    def _serve(self) -> None:
        """Satisfy the waiting reads, in order, from what has arrived."""
        while self._reads:
            kind, arg, ev = self._reads[0]
            if self._error is not None:
                self._reads.popleft()
                ev.fail(ConnectionReset(str(self._error)))
                continue
            buf = self._buf
            if kind == _RECV:
                n = min(arg, len(buf)) if buf else 0
            elif kind == _LINE:
                n = buf.find(b"\n") + 1 or (len(buf) if self._eof else 0)
            else:
                n = arg if len(buf) >= arg else 0
                if not n and self._eof:
                    self._reads.popleft()
                    ev.fail(IncompleteRead(f"wanted {arg} bytes, the peer closed after {len(buf)}", bytes(buf)))
                    continue
            if not n and not self._eof:
                return  # wait for more
            self._reads.popleft()
            ev.succeed(bytes(buf[:n]))
            del buf[:n]


def pipe(env: simpy.Environment, *, delay_s: float = 0.0, client: tuple[str, int] = ("10.0.0.1", 49152),
         server: tuple[str, int] = ("10.0.0.2", 25)) -> tuple[MemoryStream, MemoryStream]:  # fmt: skip
    """Two connected :class:`MemoryStream` ends, ``(client_end, server_end)``, each naming the other's address.

    >>> from netlab.mail.content.message import Envelope
    >>> from netlab.mail.smtp import SmtpClientSession
    >>> from netlab.mail.smtp.drivers import run_client, serve
    >>> env = simpy.Environment(); a, b = pipe(env, delay_s=0.01)
    >>> policy = RecordingPolicy()
    >>> envelope = Envelope("a@a.example", ("b@b.example",))
    >>> client = SmtpClientSession(helo="a.example", data=b"hi\\r\\n", envelope=envelope)
    >>> _ = env.process(serve(b, SmtpServerSession(policy, hostname="mx", peer_ip=b.remote_address[0])))
    >>> out = env.run(until=env.process(run_client(a, client)))  # its 300 s read timers would still be pending
    >>> out.error, client.result.ok, policy.messages[0][1], round(env.now, 3)  # 6 round trips of 20 ms + greeting
    ('', True, b'hi\\r\\n', 0.13)
    """
    a, b = MemoryStream(env, server, delay_s), MemoryStream(env, client, delay_s)
    a.peer, b.peer = b, a
    return a, b

"""The live submission port: the simulated MSA's own SMTP server session on a loopback socket.

The bytes a real mail program sends are fed to a :class:`~netlab.mail.smtp.SmtpServerSession` made by the MSA
exactly as it makes one for a simulated client (:meth:`Mta.server_session`), so there is one SMTP parser and
the replies on the socket are the simulation's, byte for byte: EHLO keywords, ``530 5.7.0`` at MAIL before AUTH
(RFC 6409 §4.3), ``535 5.7.8`` for bad credentials, ``552 5.3.4`` over the MSA's size limit (at MAIL SIZE= or on
the data itself, which is counted, not kept, past the limit), ``550 5.7.1`` for a sender the user does not own,
``214`` to HELP, ``221`` to QUIT, and at the end of DATA the MSA's spam and hop checks and
``250 2.0.0 Ok: queued as QID`` with the MSA's real queue id.

The session's policy is :class:`LivePolicy`: it asks the MSA's policy (:class:`~netlab.mail.mta.smtpd.SmtpdPolicy`)
in the socket thread, under the bridge's lock (the simulation steps under the same lock, so the checks never see
a half-processed event), except the end of DATA, which changes the simulation's state and so runs in the
simulation thread: the policy suspends the session (:class:`~netlab.mail.smtp.Suspend`) on a future that a job
on the bridge's queue completes at the next tick; the session holds every byte that arrives meanwhile and the
driver resumes it when the future is done. A client that pipelines the message and QUIT and then half-closes
still gets its ``250`` and its ``221`` (RFC 5321 §4.1.1.10).

Which MSA: the user's (``mail.users[].msa`` or the msa serving the user's domain). Before AUTH the session belongs
to the scenario's first MSA (it can only refuse: everything needs AUTH); a successful AUTH moves it to the user's,
with that MSA's name, size limit and default domain.

At the end of DATA the MSA's code runs as for a simulated client: ``Date``/``Message-ID`` added when missing, the
``Received:`` line of the loopback hop (``from <EHLO name> (localhost [127.0.0.1]) by <msa> with ESMTPA id QID``:
``localhost`` is what a reverse lookup of 127.0.0.1 verifies), the maillog lines, the queue. The mail tracker
gets the submission as a mail program's (rows created, then bound to the Message-ID or rejected), and the hop as
an SMTP transaction from ``localhost``.

A session silent for *idle_timeout_s* (RFC 5321 §4.5.3.2.7: at least 5 minutes; Postfix's ``smtpd_timeout``)
gets ``421 4.4.2 <host> Error: timeout exceeded`` and is closed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import re
import ssl
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, cast

import simpy

from netlab.errors import ConfigError, NetlabError
from netlab.live.tls import upgrade
from netlab.mail.config.servers import ServerRole
from netlab.mail.content.message import Envelope
from netlab.mail.mta.smtpd import SmtpdPolicy
from netlab.mail.smtp import Replies, Reply, SmtpServerSession
from netlab.mail.smtp.server import Suspend
from netlab.mail.tracker import HopRecord, MailStatus, message_id_of

if TYPE_CHECKING:
    import threading

    from netlab.mail.mta.master import Mta
    from netlab.mail.system import MailSystem

__all__ = ["SMTP_IDLE_TIMEOUT_S", "LivePolicy", "LiveStopped", "SubmissionPort", "default_msa", "msa_of"]

PEER_NAME = "localhost"
PEER_IP = "127.0.0.1"
SMTP_IDLE_TIMEOUT_S = 300.0
"""Wall seconds a live SMTP session may stay silent (RFC 5321 §4.5.3.2.7, Postfix ``smtpd_timeout``)."""
_READ = 65536  # bytes per read: a message arrives in a few reads, fed to the session as they come
_QUEUED = re.compile(r"queued as ([0-9A-Za-z]+)")
_tokens = itertools.count(1)

Submit = Callable[[Callable[[], Any]], "concurrent.futures.Future[Any]"]
"""Runs a function in the simulation thread (at the next tick); its future holds the result."""


class LiveStopped(NetlabError):
    """The live run stopped before a job handed to the simulation could run."""


def _when(wait: object) -> concurrent.futures.Future[None]:
    """A future done when the SimPy event *wait* has been processed (called under the lock, between steps)."""
    done: concurrent.futures.Future[None] = concurrent.futures.Future()
    if not isinstance(wait, simpy.Event) or wait.callbacks is None:  # already processed: ask again at once
        done.set_result(None)
    else:
        wait.callbacks.append(lambda _event: done.set_result(None))
    return done


class LivePolicy:
    """The user's MSA's decisions for one live SMTP session (a :class:`~netlab.mail.smtp.ServerPolicy`).

    Parameters
    ----------
    system
        The mail system of the run.
    submit
        Runs a function in the simulation thread (see :data:`Submit`): the end of DATA goes there.
    on_accepted
        Called in the simulation thread with the Message-ID of each accepted message.
    stats
        Counts ``submitted``, ``accepted`` and ``refused`` messages.
    """

    def __init__(self, system: MailSystem, submit: Submit, on_accepted: Callable[[str], None] = lambda mid: None,
                 stats: dict[str, int] | None = None) -> None:  # fmt: skip
        self.system = system
        self.submit = submit
        self.on_accepted = on_accepted
        self.stats = stats if stats is not None else {"submitted": 0, "accepted": 0, "refused": 0}
        self.mta = default_msa(system)
        self.inner = SmtpdPolicy(self.mta.smtpd, PEER_NAME)
        self.moved: Mta | None = None  # the user's MSA after a successful AUTH, until the driver follows
        self._taking: concurrent.futures.Future[Reply] | None = None  # the end of DATA in the simulation thread

    def __repr__(self) -> str:
        return f"<LivePolicy {self.mta.host}>"

    def authenticate(self, user: str, password: str) -> bool:
        mta = msa_of(self.system, user) or self.mta
        ok = mta.smtpd.authenticate(user, password)
        if ok and mta is not self.mta:
            self.mta, self.inner, self.moved = mta, SmtpdPolicy(mta.smtpd, PEER_NAME), mta
        return ok

    def check_mail(self, session: SmtpServerSession, sender: str, size: int | None) -> Reply | None:
        return self._ask(lambda: self.inner.check_mail(session, sender, size))

    def check_rcpt(self, session: SmtpServerSession, rcpt: str) -> Reply | None:
        return self._ask(lambda: self.inner.check_rcpt(session, rcpt))

    @staticmethod
    def _ask(check: Callable[[], Reply | None]) -> Reply | None:
        """A check in the socket thread; one that waits for the simulation (DNS) waits on a future instead."""
        try:
            return check()
        except Suspend as suspend:
            raise Suspend(_when(suspend.wait)) from None

    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes) -> Reply:
        """First call: hand the message to the simulation thread and suspend; the call after resume: its reply."""
        taking, self._taking = self._taking, None
        if taking is not None:
            try:
                reply = taking.result()
            except LiveStopped:  # the simulation stopped before it could take the message
                reply = Replies.shutdown(self.mta.fqdn)
            self.stats["accepted" if reply.is_positive else "refused"] += 1
            return reply
        self.stats["submitted"] += 1
        future: concurrent.futures.Future[Reply] = concurrent.futures.Future()
        mta = self.mta
        job = self.submit(lambda: self.system.env.process(self._take(mta, session, envelope, data, future)))
        job.add_done_callback(lambda job: future.set_exception(exc) if (exc := job.exception()) is not None else None)
        self._taking = future
        raise Suspend(future)

    def _take(self, mta: Mta, session: SmtpServerSession, envelope: Envelope, data: bytes,
              future: concurrent.futures.Future[Reply]) -> Generator[simpy.Event, Any, None]:  # fmt: skip
        """In the simulation thread: the MSA's end-of-data code, booked by the tracker as a mail program's
        submission (its DKIM or DNS waits, if any, are simulated time)."""
        system = self.system
        now = system.env.now
        sender, rcpts = envelope.mail_from, list(envelope.rcpt_to)
        if not mta.up:
            reply = Replies.shutdown(mta.fqdn)  # the MSA host is down (a scenario fault)
        else:
            token = ("live", next(_tokens))
            mid = message_id_of(data)
            rows = system.tracker.create(token, sender, rcpts, now, len(data), message_id=mid)
            while True:
                try:
                    reply = self.inner.end_of_data(session, envelope, data)
                    break
                except Suspend as suspend:
                    yield cast(simpy.Event, suspend.wait)  # a SimPy event in the simulation
            now = system.env.now
            if reply.is_positive:
                m = _QUEUED.search(reply.text)
                mid = system.accepted_mid(mta.host, m.group(1)) if m else mid
                system.tracker.bind(token, mid)
                self.on_accepted(mid)
            else:
                for row in rows:
                    system.tracker.finish(row, MailStatus.REJECTED, now, reply.enhanced or "5.0.0", str(reply))
            system.tracker.transaction(HopRecord(PEER_NAME, mta.host, mta.spec.port, now, now, reply.code,
                                                 reply.enhanced or "", mid, tuple(rcpts),
                                                 len(rcpts) if reply.is_positive else 0, len(data)))  # fmt: skip
        if not future.done():
            future.set_result(reply)


def default_msa(system: MailSystem) -> Mta:
    """The scenario's first MSA: the one a session belongs to before AUTH."""
    for mta in system.mtas.values():
        if mta.spec.role == ServerRole.MSA:
            return mta
    raise ConfigError("live mode needs a mail server with role msa in the scenario (the submission port is its)")


def msa_of(system: MailSystem, address: str) -> Mta | None:
    """The MSA *address* submits to (None for an unknown user or one without an MSA)."""
    user = system.spec.user(address) if "@" in address else None
    host = system.spec.msa_for(user) if user is not None else None
    return system.mta(host) if host is not None else None


class SubmissionPort:
    """The SMTP submission server on loopback (run inside the bridge's asyncio loop; see the module docstring).

    Parameters
    ----------
    system
        The mail system of the run.
    lock
        The lock the simulation steps under; every session call holds it.
    submit
        Runs a function in the simulation thread (see :data:`Submit`).
    stats
        Counters shared by all connections (``sessions``, ``submitted``, ``accepted``, ``refused``).
    on_accepted
        Called in the simulation thread with the Message-ID of each accepted message.
    is_open
        False once the simulation has stopped (sessions then get ``421`` and no more maillog lines are written).
    idle_timeout_s
        Wall seconds a session may stay silent before ``421 4.4.2 ... timeout exceeded``.
    tls
        The server context STARTTLS starts (None: no STARTTLS).
    plaintext_auth
        Offer AUTH before TLS (False: only after STARTTLS, ``538 5.7.11`` before; meaningless without *tls*).
    """

    def __init__(self, system: MailSystem, lock: threading.RLock, submit: Submit, stats: dict[str, int],
                 on_accepted: Callable[[str], None] = lambda mid: None, is_open: Callable[[], bool] = lambda: True,
                 idle_timeout_s: float = SMTP_IDLE_TIMEOUT_S, tls: ssl.SSLContext | None = None,
                 plaintext_auth: bool = True) -> None:  # fmt: skip
        self.tls = tls
        self.plaintext_auth = plaintext_auth or tls is None
        default_msa(system)  # fail now, not at the first connection, without an msa
        self.system = system
        self.lock = lock
        self.submit = submit
        self.stats = stats
        self.on_accepted = on_accepted
        self.is_open = is_open
        self.idle_timeout_s = idle_timeout_s
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<SubmissionPort {self.stats}>"

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen on *host*:*port* (0: the OS picks); return the server."""
        return await asyncio.start_server(self._spawn, host, port)

    async def close(self) -> None:
        """End every open session (as a dropped connection: a message not yet taken is not queued)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _log(self, mta: Mta, what: str) -> None:
        with self.lock:
            if self.is_open():
                self.system.log(mta.host, "smtpd", "", f"{what} from {PEER_NAME}[{PEER_IP}]")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats["sessions"] += 1
        policy = LivePolicy(self.system, self.submit, self.on_accepted, self.stats)
        with self.lock:
            # an MSA's session (submission, AUTH required); localhost is what 127.0.0.1 reverse-resolves to
            session = policy.mta.server_session(PEER_NAME, PEER_IP, peer_name=PEER_NAME)
        session.policy = policy
        session.tls, session.plaintext_auth = self.tls is not None, self.plaintext_auth
        self._log(policy.mta, "connect")
        try:
            writer.write(bytes(session.greeting()))
            await writer.drain()
            while not session.closed:
                try:
                    data = await asyncio.wait_for(reader.read(_READ), self.idle_timeout_s)
                except TimeoutError:
                    with self.lock:
                        writer.write(bytes(session.timed_out()))
                    break
                with self.lock:
                    replies = session.feed(data) if self.is_open() else [session.shutdown()]
                    self._follow(session, policy)
                while session.pending is not None:  # the end of DATA runs in the simulation thread
                    writer.write(b"".join(bytes(r) for r in replies))
                    with contextlib.suppress(Exception):  # its outcome is the reply resume() gives
                        await asyncio.wrap_future(session.pending)  # type: ignore[arg-type]
                    with self.lock:
                        replies = session.resume()
                        self._follow(session, policy)
                writer.write(b"".join(bytes(r) for r in replies))
                await writer.drain()
                if session.starttls_pending and self.tls is not None:
                    if not await upgrade(session, reader, writer, self.tls, self.idle_timeout_s, self.lock):
                        break
                    continue
                if not data:
                    break  # the client closed its side: everything it sent has been answered
        except ConnectionError:
            pass  # the client vanished
        finally:
            self._log(policy.mta, "disconnect")
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _follow(self, session: SmtpServerSession, policy: LivePolicy) -> None:
        """After AUTH moved the session to the user's MSA: its name, limits and maillog from now on."""
        mta, policy.moved = policy.moved, None
        if mta is None:
            return
        old = default_msa(self.system)
        self._log(old, "disconnect")
        self._log(mta, "connect")
        fresh = mta.server_session(PEER_NAME, PEER_IP, peer_name=PEER_NAME)
        session.hostname, session.size_limit = fresh.hostname, fresh.size_limit
        session.recipient_limit, session.default_domain = fresh.recipient_limit, fresh.default_domain

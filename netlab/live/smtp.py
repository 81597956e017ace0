"""The live submission port: aiosmtpd on loopback, deciding with the simulated MSA's own code.

aiosmtpd speaks the protocol with the real client (framing, AUTH exchanges, DATA). Every decision is taken by a
shadow :class:`~netlab.mail.smtp.SmtpServerSession` of the user's MSA with the MSA's policy
(:class:`~netlab.mail.mta.smtpd.SmtpdPolicy`): aiosmtpd's hooks feed it the same commands, and the reply it gives is
the reply the real client gets. So the codes and texts are the simulation's: ``530 5.7.0`` at MAIL before AUTH (RFC 6409
§4.3; enforced there as the simulated session does, not with aiosmtpd's ``auth_required``, which answers other
commands too), ``535 5.7.8`` for bad credentials, ``552 5.3.4`` over the MSA's size limit (SIZE= at MAIL, or the
data itself), ``550 5.7.1`` for a sender the user does not own, ``554 5.7.1`` for relaying without AUTH, and at the
end of DATA the MSA's spam and hop checks and ``250 2.0.0 Ok: queued as QID`` with the MSA's real queue id.

Which MSA: the user's (``mail.users[].msa`` or the msa serving the user's domain). Before AUTH the session belongs
to the scenario's first MSA (it can only refuse: everything needs AUTH); a successful AUTH moves it to the user's.

The message enters the simulation at the MSA: at the end of DATA the hook hands the shadow session's DATA to the
simulation thread (through the bridge's queue, drained every tick), where the MSA's end-of-data code runs as for a
simulated client: ``Date``/``Message-ID`` added when missing, the ``Received:`` line of the loopback hop
(``from <name> (<name> [127.0.0.1]) by <msa> with ESMTPA id QID``), the maillog lines, the queue. The mail tracker
gets the submission as a mail program's (rows created, then bound to the Message-ID or rejected), and the hop as
an SMTP transaction from ``localhost``.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import itertools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from netlab.errors import NetlabError
from netlab.mail.config.servers import ServerRole
from netlab.mail.content.message import dot_stuff
from netlab.mail.smtp import Replies, Reply, SessionState, SmtpServerSession
from netlab.mail.tracker import HopRecord, MailStatus, message_id_of

if TYPE_CHECKING:
    import threading

    from netlab.mail.mta.master import Mta
    from netlab.mail.system import MailSystem

__all__ = ["LiveStopped", "SubmissionHandler", "submission_factory"]

PEER_NAME = "localhost"
PEER_IP = "127.0.0.1"
_QUEUED = re.compile(r"queued as ([0-9A-Za-z]+)")
_tokens = itertools.count(1)

Submit = Callable[[Callable[[], Reply]], "concurrent.futures.Future[Reply]"]
"""Runs a function in the simulation thread (at the next tick); its future holds the result."""


class LiveStopped(NetlabError):
    """The live run stopped before a job handed to the simulation could run."""


def _wire(reply: Reply) -> str:
    """*reply* as the status text aiosmtpd pushes (it adds the final CRLF; multi-line replies keep theirs)."""
    return bytes(reply).decode("utf-8").removesuffix("\r\n")


class SubmissionHandler:
    """aiosmtpd handler for one connection (see the module docstring).

    Parameters
    ----------
    system
        The mail system of the run.
    lock
        The lock the simulation steps under (the policy reads the MSA's spec and message store).
    submit
        Runs the end of DATA in the simulation thread (see :data:`Submit`).
    stats
        Counters shared by all connections (``sessions``, ``submitted``, ``accepted``, ``refused``).
    on_accepted
        Called in the simulation thread with the Message-ID of each accepted message.
    is_open
        False once the simulation has stopped (no more maillog lines then: the results are being built).
    """

    def __init__(self, system: MailSystem, lock: threading.RLock, submit: Submit, stats: dict[str, int],
                 on_accepted: Callable[[str], None] = lambda mid: None,
                 is_open: Callable[[], bool] = lambda: True) -> None:  # fmt: skip
        self.system = system
        self.lock = lock
        self.submit = submit
        self.stats = stats
        self.on_accepted = on_accepted
        self.is_open = is_open
        self.helo: str | None = None
        self.mta = default_msa(system)
        self.session = self._new_session(self.mta)

    def __repr__(self) -> str:
        return f"<SubmissionHandler {self.mta.host} {self.session.state}>"

    # ------------------------------------------------------------------ the shadow session
    def _new_session(self, mta: Mta) -> SmtpServerSession:
        """A server session of *mta*'s MSA, the same one :meth:`Mta.server_session` makes for a simulated client."""
        self._log(mta, "connect")
        return mta.server_session(PEER_NAME, PEER_IP)  # an MSA's: submission, AUTH required

    def _feed(self, line: str) -> Reply:
        """Feed one command to the shadow session under the lock; return its (single) reply."""
        with self.lock:
            replies = self.session.feed_line(line.encode("utf-8") + b"\r\n")
        return replies[-1] if replies else Replies.UNKNOWN_COMMAND

    def closed(self) -> None:
        """The connection ended: the maillog's disconnect line."""
        self._log(self.mta, "disconnect")

    def _log(self, mta: Mta, what: str) -> None:
        with self.lock:
            if self.is_open():
                self.system.log(mta.host, "smtpd", "", f"{what} from {PEER_NAME}[{PEER_IP}]")

    # ------------------------------------------------------------------ aiosmtpd hooks
    async def handle_HELO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        session.host_name = hostname
        self.helo = hostname
        return _wire(self._feed(f"HELO {hostname}"))

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:  # fmt: skip
        session.host_name = hostname  # the 5-argument hook must set it (aiosmtpd's contract)
        self.helo = hostname
        self._feed(f"EHLO {hostname}")
        # aiosmtpd does not enforce the size (its texts differ from the MSA's); the MSA's limit is advertised here
        # and enforced by the shadow session at MAIL (SIZE=) and at the end of DATA.
        return [responses[0], f"250-SIZE {self.mta.spec.size_limit_bytes}", *responses[1:]]

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return _wire(self._feed("RSET"))

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:  # fmt: skip
        if self.session.state in (SessionState.MAIL, SessionState.RCPT):
            self._feed("RSET")  # aiosmtpd dropped a transaction on its own (a DATA error): follow it
        reply = self._feed(" ".join([f"MAIL FROM:<{address}>", *mail_options]))
        if reply.is_positive:
            envelope.mail_from = self.session.mail_from  # qualified by the MSA when it was a bare name
            envelope.mail_options.extend(mail_options)
        return _wire(reply)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        reply = self._feed(" ".join([f"RCPT TO:<{address}>", *rcpt_options]))
        if reply.is_positive:
            envelope.rcpt_tos.append(self.session.rcpt_to[-1])
            envelope.rcpt_options.extend(rcpt_options)
        return _wire(reply)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.stats["submitted"] += 1
        future = self.submit(lambda: self._end_of_data(content))
        try:
            reply = await asyncio.wrap_future(future)
        except LiveStopped:  # the simulation stopped before it could take the message
            reply = Replies.shutdown(self.mta.fqdn)
        self.stats["accepted" if reply.is_positive else "refused"] += 1
        return _wire(reply)

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: object) -> AuthResult:  # fmt: skip
        """aiosmtpd's authenticator: the user's MSA decides (its session's AUTH PLAIN, same reply texts)."""
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False, message=_wire(Replies.AUTH_FAILED))
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        mta = msa_of(self.system, user) or self.mta
        if mta is not self.mta:
            self.closed()
            self.mta, self.session = mta, self._new_session(mta)
            if self.helo is not None:
                self._feed(f"EHLO {self.helo}")
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
        reply = self._feed(f"AUTH PLAIN {token}")
        return AuthResult(success=reply.is_positive, handled=False, message=_wire(reply),
                          auth_data=auth_data)  # fmt: skip

    # ------------------------------------------------------------------ in the simulation thread
    def _end_of_data(self, content: bytes) -> Reply:
        """The MSA takes the message (runs at a tick, in the simulation thread): DATA fed to the shadow session,
        whose policy is the MSA's end-of-data code; the tracker books it as a mail program's submission would."""
        system, mta, session = self.system, self.mta, self.session
        if not mta.up:
            return Replies.shutdown(mta.fqdn)  # the MSA host is down (a scenario fault)
        now = system.env.now
        sender, rcpts = session.mail_from or "", list(session.rcpt_to)
        token = ("live", next(_tokens))
        rows = system.tracker.create(token, sender, rcpts, now, len(content), message_id=message_id_of(content))
        session.feed_line(b"DATA\r\n")
        replies = session.feed(dot_stuff(content))
        reply = replies[-1] if replies else Replies.LOST_CONNECTION
        mid = message_id_of(content)
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
                                             len(rcpts) if reply.is_positive else 0, len(content)))  # fmt: skip
        return reply


class _Session(Session):
    """aiosmtpd's session without the deprecated ``login_data`` property, which logs a warning on every AUTH."""

    @property
    def login_data(self) -> Any:  # aiosmtpd's own attribute, untyped there
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


def default_msa(system: MailSystem) -> Mta:
    """The scenario's first MSA: the one a session belongs to before AUTH."""
    for mta in system.mtas.values():
        if mta.spec.role == ServerRole.MSA:
            return mta
    from netlab.errors import ConfigError

    raise ConfigError("live mode needs a mail server with role msa in the scenario (the submission port is its)")


def msa_of(system: MailSystem, address: str) -> Mta | None:
    """The MSA *address* submits to (None for an unknown user or one without an MSA)."""
    user = system.spec.user(address) if "@" in address else None
    host = system.spec.msa_for(user) if user is not None else None
    return system.mta(host) if host is not None else None


def submission_factory(system: MailSystem, lock: threading.RLock, submit: Submit, stats: dict[str, int],
                       on_accepted: Callable[[str], None],
                       is_open: Callable[[], bool]) -> Callable[[], SMTP]:  # fmt: skip
    """The protocol factory for ``loop.create_server``: one aiosmtpd :class:`SMTP` and handler per connection."""
    loop = asyncio.get_running_loop()
    hostname = default_msa(system).fqdn

    class _Smtp(SMTP):
        def _create_session(self) -> Session:
            return _Session(self.loop)

        def connection_lost(self, error: Exception | None) -> None:
            super().connection_lost(error)
            self.event_handler.closed()

    def make() -> SMTP:
        stats["sessions"] += 1
        handler = SubmissionHandler(system, lock, submit, stats, on_accepted, is_open)
        # data_size_limit=None: the MSA's limit is advertised and enforced by the handler with the MSA's texts.
        # auth_require_tls=False: AUTH without STARTTLS, acceptable on loopback only (the bridge binds nothing else).
        return _Smtp(handler, data_size_limit=None, hostname=hostname, ident="ESMTP netlab",
                     auth_require_tls=False, authenticator=handler.authenticate, loop=loop)  # fmt: skip

    return make

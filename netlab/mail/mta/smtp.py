"""smtp of one MTA: the delivery agent for mail that leaves the host.

For each delivery job of the queue manager (the recipients of one message for one next hop) it takes the
smarthost, or the destination domain's MX hosts from DNS (RFC 5321 §5.1, through
:func:`~netlab.mail.dns.mx_targets`: preference order, equal preferences shuffled from the host's seeded stream
``mail/<host>/mx``, implicit MX, nothing at or below this host), and runs one SMTP transaction with every
recipient of the job, pipelined, falling back to the next address when a host does not answer or refuses the
session (at most ``mx_address_limit`` addresses). Each recipient ends ``sent`` (2xx), ``defer`` (4xx, lost
connection, no host answered) or ``bounce`` (5xx, no such domain, null MX, mail that loops back), logged as
Postfix's smtp logs it; each transaction is booked with the tracker.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from netlab.mail.content.message import Envelope
from netlab.mail.dns import DnsError, DnsTempFail, MxLoopsBack, NullMx, mx_targets
from netlab.mail.mta.qmgr import Job, Outcome, OutcomeKind, delivery_log
from netlab.mail.smtp.client import SmtpClientSession, Stage
from netlab.mail.smtp.drivers import run_client
from netlab.mail.smtp.reply import Replies
from netlab.mail.tracker import HopRecord
from netlab.transport import TransportError

if TYPE_CHECKING:
    from netlab.mail.config.servers import QueueSpec
    from netlab.mail.context import MailContext, MailStream

__all__ = ["SmtpClient"]

DEFER, BOUNCE = OutcomeKind.DEFER, OutcomeKind.BOUNCE
_HANDSHAKE = (Stage.GREETING, Stage.EHLO, Stage.HELO)  # stages before MAIL: a failure there means "try the next host"


class SmtpClient:
    """The smtp delivery agent of the MTA on *host* (see the module docstring).

    Parameters
    ----------
    ctx
        The run as the agent sees it.
    host, fqdn, ip
        The MTA's node, its name in HELO, its address (an MX list naming it is cut there).
    qspec
        Timeouts and the MX address limit.
    smarthost
        ``(name, ip)`` of the relay that takes all non-local mail, or None.
    """

    def __init__(self, ctx: MailContext, *, host: str, fqdn: str, ip: str, qspec: QueueSpec,
                 smarthost: tuple[str, str] | None = None) -> None:  # fmt: skip
        self.ctx = ctx
        self.host = host
        self.fqdn = fqdn
        self.ip = ip
        self.qspec = qspec
        self.smarthost = smarthost
        self.resolver = ctx.resolver(host)
        self._mx_rng = ctx.stream(host, "mx")
        self.conns: dict[MailStream, None] = {}  # open connections, in the order they were made (a crash resets them)

    def __repr__(self) -> str:
        return f"<SmtpClient {self.host}: {len(self.conns)} connections>"

    def crash(self) -> None:
        """The host went down: every open connection is reset."""
        for conn in list(self.conns):
            conn.abort()
        self.conns.clear()

    def deliver(self, job: Job) -> Generator[simpy.Event, Any, list[Outcome]]:
        """One delivery attempt of *job*; one Outcome per recipient."""
        env = self.ctx.env
        start = env.now
        targets: list[tuple[str, str]] = []  # (host name, ip)
        if job.dest.startswith("["):
            assert self.smarthost is not None  # trivial-rewrite names [smarthost] only when there is one
            targets = [self.smarthost]
        else:
            try:
                mxs = yield mx_targets(self.resolver, job.dest, rng=self._mx_rng, my_names=(self.fqdn, self.ip))
            except DnsTempFail as exc:
                return self._all(job, DEFER, "4.4.3", f"Host or domain name lookup failed: {exc}", 0)
            except NullMx:
                return self._all(job, BOUNCE, "5.1.10", f"Domain {job.dest} does not accept mail (nullMX)", 556)
            except MxLoopsBack:
                return self._all(job, BOUNCE, "5.4.6", f"mail for {job.dest} loops back to myself", 554)
            except DnsError as exc:
                return self._all(job, BOUNCE, "5.4.4", f"Host or domain name not found: {exc}", 550)
            for t in mxs[: self.qspec.mx_address_limit]:
                targets.extend((t.host, ip) for ip in t.ips)
        last: list[Outcome] | None = None
        for name, ip in targets[: self.qspec.mx_address_limit]:
            outcomes, final = yield from self._transaction(job, name, ip, start)
            if final:
                return outcomes
            last = outcomes
        if last is None:
            return self._all(job, DEFER, "4.4.1", "no MX host answered", 0)
        for o in last:
            self.ctx.log(self.host, "smtp", job.entry.qid, delivery_log(job.entry, o, env.now))
        return last

    def _transaction(self, job: Job, name: str, ip: str,
                     start: float) -> Generator[simpy.Event, Any, tuple[list[Outcome], bool]]:  # fmt: skip
        """One SMTP transaction to *ip*: its outcomes, and False when the host did not answer or refused the session
        (the outcomes then say why, unlogged, and the next address is tried)."""
        ctx, env, entry = self.ctx, self.ctx.env, job.entry
        relay = f"{name}[{ip}]:25"
        t_conn = env.now
        try:
            conn = yield from ctx.connect(self.host, (ip, 25), self.qspec.connect_timeout_s)
        except TransportError as exc:
            failed = self._all(job, DEFER, "4.4.1", f"connect to {relay}: {exc}", 0, relay, log=False)
            ctx.tracker.transaction(HopRecord(self.host, name, 25, t_conn, env.now, 0, "", entry.message_id,
                                              tuple(job.rcpts), 0, entry.size, None, str(exc)))  # fmt: skip
            return failed, False
        self.conns[conn] = None
        session = SmtpClientSession(helo=self.fqdn, envelope=Envelope(entry.sender, tuple(job.rcpts)), data=entry.raw,
                                    pipelining=True, crlf=True, starttls=True)  # fmt: skip
        t_setup = env.now
        out = yield from run_client(conn, session, timeout_s=self.qspec.command_timeout_s,
                                    data_timeout_s=2 * self.qspec.command_timeout_s)  # fmt: skip
        self.conns.pop(conn, None)
        res = session.result
        data_reply = res.data_reply
        code = data_reply.code if data_reply is not None else (out.last_reply.code if out.last_reply else 0)
        accepted = sum(1 for _, r in res.recipients if r.is_positive)
        enh = data_reply.enhanced if data_reply is not None else ""
        ctx.tracker.transaction(HopRecord(self.host, ctx.host_at(conn.remote_address[0]), 25, t_conn, env.now, code,
                                          enh or "", entry.message_id, tuple(job.rcpts), accepted, entry.size, conn,
                                          out.error))  # fmt: skip
        delays = (entry.activated_at - entry.arrival, t_conn - entry.activated_at, t_setup - t_conn, env.now - t_setup)
        stage = res.failed_stage
        if out.error and (stage is None or stage in _HANDSHAKE) and data_reply is None:
            stage = stage or Stage.GREETING
        if stage in _HANDSHAKE:
            # The host did not take the session (4xx/5xx banner, lost connection before MAIL): next MX.
            banner = out.last_reply if res.failed_stage is Stage.GREETING else None
            if banner is not None and not banner.is_positive:  # a 4xx/5xx greeting (anvil's 421): Postfix's words
                return self._all(job, DEFER, banner.enhanced or "4.4.2", f"host {relay} refused to talk to me: "
                                 f"{banner}", banner.code, relay, log=False), False  # fmt: skip
            why = out.error or (str(out.last_reply) if out.last_reply else "session failed")
            return self._all(job, DEFER, "4.4.2", f"{relay}: {why}", 0, relay, log=False), False
        outcomes = []
        for r, said in res.recipients:
            reply = said
            if out.error and not (data_reply is not None and data_reply.is_positive) and reply.is_positive:
                reply = Replies.LOST_CONNECTION
            kind = OutcomeKind.SENT if reply.is_positive else (DEFER if reply.is_transient else BOUNCE)
            dsn = reply.enhanced or f"{reply.code // 100}.0.0"
            text = f"{reply}" if kind == OutcomeKind.SENT else f"host {relay} said: {reply}"
            if out.error and reply.is_transient:
                text = f"lost connection with {relay} ({out.error})"
            outcomes.append(Outcome(r, kind, dsn, text, relay, reply.code))
        for o in outcomes:
            ctx.log(self.host, "smtp", entry.qid, delivery_log(entry, o, env.now, delays))
        return outcomes, True

    def _all(self, job: Job, kind: OutcomeKind, dsn: str, text: str, code: int, relay: str = "none",
             log: bool = True) -> list[Outcome]:  # fmt: skip
        """The same outcome for every recipient of *job* (logged unless *log* is False)."""
        outcomes = [Outcome(r, kind, dsn, text, relay, code) for r in job.rcpts]
        if log:
            for o in outcomes:
                self.ctx.log(self.host, "smtp", job.entry.qid, delivery_log(job.entry, o, self.ctx.env.now))
        return outcomes

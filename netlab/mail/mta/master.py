"""The mail server of one host, as Postfix's master runs it: its programs, wired together, and their daemons.

:class:`Mta` builds the programs of the server described by a :class:`~netlab.mail.config.ServerSpec` and holds
what they share, nothing more:

* :mod:`~netlab.mail.mta.smtpd` takes mail on the role's port (587 on an msa, 25 otherwise): master listens there
  and runs one server session per accepted connection;
* :mod:`~netlab.mail.mta.cleanup` writes accepted and locally made mail into the queue;
* :mod:`~netlab.mail.mta.rewrite` (trivial-rewrite) tells local recipients from remote ones and names next hops;
* :mod:`~netlab.mail.mta.qmgr` (with :mod:`~netlab.mail.mta.scheduler`) schedules the deliveries, retries and
  expiry, and hands each job to the delivery agent of its next hop:
* :mod:`~netlab.mail.mta.local` for the domains an mx serves, :mod:`~netlab.mail.mta.smtp` for the rest;
* :mod:`~netlab.mail.mta.bounce` writes the DSN for what failed for good.

The queue manager's outcomes come back here: final recipients are booked with the tracker (delivered when filed
locally, bounced, or discarded when the bounced mail was itself a bounce) and bounce is called. A crash of the host
(told by the mail system) resets every session and connection; the queue survives, as Postfix's queue files do,
and the queue manager resumes at the restart.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import simpy

from netlab.mail.config.servers import ServerRole
from netlab.mail.maillog import format_qmgr_active
from netlab.mail.mta.anvil import Anvil, too_many_connections
from netlab.mail.mta.bounce import Bounce
from netlab.mail.mta.cleanup import Cleanup
from netlab.mail.mta.local import LocalDelivery
from netlab.mail.mta.qmgr import Job, Outcome, OutcomeKind, QueueEntry, QueueManager, delivery_log
from netlab.mail.mta.rewrite import LOCAL, TrivialRewrite
from netlab.mail.mta.smtp import SmtpClient
from netlab.mail.mta.smtpd import Smtpd
from netlab.mail.smtp.drivers import serve
from netlab.mail.tracker import MailStatus

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from netlab.mail.config.section import MailSpec
    from netlab.mail.config.servers import ServerSpec
    from netlab.mail.content.spam import SpamFilter
    from netlab.mail.context import MailContext, MailStream
    from netlab.mail.mailbox.agent import DeliveryAgent
    from netlab.mail.mta.dkimkey import DkimKey
    from netlab.mail.smtp.server import SmtpServerSession
    from netlab.transport import Listener

__all__ = ["Mta"]


class Mta:
    """The mail server described by *spec* (see the module docstring).

    Parameters
    ----------
    ctx
        The run as the agents see it.
    spec
        The server: host, role, domains, relaying rules, limits.
    mail
        The scenario's mail section (users, queue defaults, the other servers for a smarthost's name).
    spam
        The spam filter smtpd scores with.
    mailboxes
        The MDA of the host (an mx's message store), or None on a server that delivers nothing locally.
    fetching
        Accounts whose mail program fetches (their filed mail holds the run until retrieved).
    dsn_serial
        The run's DSN counter (shared by every host).
    dkim_keys
        The run's DKIM keys by domain (smtpd signs with those of its ``dkim_sign`` domains).
    """

    def __init__(self, ctx: MailContext, spec: ServerSpec, *, mail: MailSpec, spam: SpamFilter,
                 mailboxes: DeliveryAgent | None, fetching: Collection[str],
                 dsn_serial: Iterator[int],
                 dkim_keys: Mapping[str, tuple[DkimKey, ...]] | None = None) -> None:  # fmt: skip
        self.ctx = ctx
        self.spec = spec
        self.host = spec.host
        self.ip = ctx.ip_of(spec.host)
        self.fqdn: str = spec.fqdn or spec.host
        ctx.name_host(spec.host, self.fqdn)
        self.qspec = mail.queue_for(spec.host)
        msa = spec.role == ServerRole.MSA
        self.rewrite = TrivialRewrite(
            local_domains=spec.domains if spec.role == ServerRole.MX else (), relay_domains=spec.relay_domains,
            smarthost=spec.smarthost,
            # an MSA completes bare user names with its own domain (RFC 6409 §4.2); other roles refuse them (501)
            myorigin=(spec.domains[0] if spec.domains else self.fqdn.partition(".")[2] or None) if msa else None,
        )  # fmt: skip
        self.queue = QueueManager(ctx.env, self.qspec, self, self._on_done, self._on_removed,
                                  on_suspended=self._on_suspended, on_reactivated=self._on_reactivated)  # fmt: skip
        self.local = (None if mailboxes is None else
                      LocalDelivery(ctx, host=self.host, agent=mailboxes, fetching=fetching))  # fmt: skip
        smarthost = None
        if spec.smarthost is not None:
            smarthost = (mail.server(spec.smarthost).fqdn or spec.smarthost, ctx.ip_of(spec.smarthost))
        self.smtp = SmtpClient(ctx, host=self.host, fqdn=self.fqdn, ip=self.ip, qspec=self.qspec, smarthost=smarthost)
        self.cleanup = Cleanup(ctx, host=self.host, fqdn=self.fqdn, rewrite=self.rewrite, qmgr=self.queue,
                               fold_local_parts=mail.fold_local_parts)  # fmt: skip
        self.smtpd = Smtpd(ctx, spec, fqdn=self.fqdn, ip=self.ip, users=mail, rewrite=self.rewrite,
                           local_user=None if self.local is None else self.local.has_user, spam=spam,
                           cleanup=self.cleanup, dkim_keys=dkim_keys or {})  # fmt: skip
        self.bounce = Bounce(ctx, host=self.host, fqdn=self.fqdn, cleanup=self.cleanup, serial=dsn_serial)
        self.anvil = (Anvil(spec.connection_count_limit, spec.connection_rate_limit, spec.anvil_rate_time_unit_s)
                      if spec.connection_count_limit or spec.connection_rate_limit else None)  # fmt: skip
        self.sessions: dict[MailStream, None] = {}  # smtpd's open connections, in the order accepted
        self.up = True
        self.listener: Listener | None = None

    def __repr__(self) -> str:
        return f"<Mta {self.host} {self.spec.role} {self.queue!r}>"

    # ------------------------------------------------------------------ master: the daemons
    def start(self) -> None:
        """Listen on the role's port."""
        self.listener = self.ctx.listen(self.host, self.spec.port)
        self.ctx.env.process(self._accept_loop(self.listener))

    def _accept_loop(self, listener: Listener) -> Generator[simpy.Event, Any, None]:
        while True:
            conn: MailStream = yield listener.accept()
            if not self.up:
                conn.abort()
                continue
            self.ctx.env.process(self._session(conn))

    def _session(self, conn: MailStream) -> Generator[simpy.Event, Any, None]:
        self.sessions[conn] = None
        ip = conn.remote_address[0]
        peer = self.ctx.host_at(ip)
        self.ctx.log(self.host, "smtpd", "", f"connect from {peer}[{ip}]")
        anvil = self.anvil if peer not in self.spec.trusted else None
        over = anvil.connect(ip, self.ctx.env.now) if anvil is not None else None
        if over is not None:
            assert anvil is not None
            kind, n = ("rate", anvil.rate(ip)) if over == "rate" else ("concurrency", anvil.active.get(ip, 0) + 1)
            self.ctx.log(self.host, "smtpd", "", f"warning: Connection {kind} limit exceeded: {n} from {peer}[{ip}] "
                         "for service smtp")  # fmt: skip
            conn.send(bytes(too_many_connections(self.fqdn, ip)))
            conn.close()
        else:
            session = self.server_session(peer, ip)
            yield from serve(conn, session, timeout_s=self.qspec.command_timeout_s)
            if anvil is not None:
                anvil.disconnect(ip)
        self.sessions.pop(conn, None)
        self.ctx.log(self.host, "smtpd", "", f"disconnect from {peer}[{ip}]")

    def server_session(self, peer: str, peer_ip: str, *, peer_name: str | None = None) -> SmtpServerSession:
        """A fresh SMTP server session of this MTA for a client *peer* at *peer_ip* (see :meth:`Smtpd.session`)."""
        return self.smtpd.session(peer, peer_ip, peer_name=peer_name)

    def crash(self) -> None:
        """The host went down: sessions and connections die, the queue stays on disk."""
        self.up = False
        for conn in list(self.sessions):
            conn.abort()
        self.sessions.clear()
        self.smtp.crash()
        self.queue.crash()

    def restart(self) -> None:
        """The host is back: the queue manager resumes. A host that is up already is left alone: restarting its
        queue manager would move its deferred-queue scans to a new grid (and log a start that did not happen)."""
        if self.up:
            return
        self.up = True
        self.ctx.log(self.host, "master", "", "daemon started -- queue manager resumes")
        self.queue.restart()

    # ------------------------------------------------------------------ qmgr's delivery agents (the Deliverer)
    def destination(self, rcpt: str) -> str:
        """Next-hop group of *rcpt*: ``local``, ``[smarthost]`` or the recipient's domain (trivial-rewrite)."""
        return self.rewrite.next_hop(rcpt)

    def deliver(self, job: Job) -> Generator[simpy.Event, Any, list[Outcome]]:
        """One delivery attempt of *job* by the agent of its next hop: local, or smtp."""
        if job.dest == LOCAL:
            assert self.local is not None  # trivial-rewrite names local only the domains of an mx
            return self.local.deliver(job)
        return (yield from self.smtp.deliver(job))

    # ------------------------------------------------------------------ qmgr's outcomes
    def _on_done(self, entry: QueueEntry, outcomes: list[Outcome], now: float) -> None:
        ctx = self.ctx
        bounced = [o for o in outcomes if o.kind == OutcomeKind.BOUNCE]
        if any(o.dsn == "4.4.7" for o in bounced):
            ctx.log(self.host, "qmgr", entry.qid, f"from=<{entry.sender}>, status=expired, returned to sender")
        for o in outcomes:
            if o.kind == OutcomeKind.SENT and o.relay == LOCAL:
                ctx.tracker.final(entry.message_id, o.rcpt, MailStatus.DELIVERED, now, o.dsn, o.text)
            elif o.kind == OutcomeKind.BOUNCE:
                # a bounce that bounced is dropped, never returned (RFC 5321 §6.1)
                status = MailStatus.DISCARDED if entry.sender == "" else MailStatus.BOUNCED
                ctx.tracker.final(entry.message_id, o.rcpt, status, now, o.dsn, o.text)
        if bounced and entry.sender != "":
            self.bounce.send(entry, bounced, now)

    def _on_suspended(self, entry: QueueEntry, outcomes: list[Outcome]) -> None:
        # The queue manager itself defers mail for a dead destination (no delivery agent ran): qmgr logs it.
        for o in outcomes:
            self.ctx.log(self.host, "qmgr", entry.qid, delivery_log(entry, o, self.ctx.env.now))

    def _on_reactivated(self, entry: QueueEntry) -> None:
        # nrcpt counts the recipients still to do, as Postfix's does for a queue file with some already done
        self.ctx.log(self.host, "qmgr", entry.qid,
                     format_qmgr_active(sender=entry.sender, size=entry.size, nrcpt=len(entry.rcpts)))  # fmt: skip

    def _on_removed(self, entry: QueueEntry) -> None:
        self.ctx.log(self.host, "qmgr", entry.qid, "removed")

    def queued_pairs(self) -> set[tuple[str, str]]:
        """(Message-ID, recipient) of every recipient still in this queue (for the conservation check)."""
        return {(e.message_id, r) for e in self.queue.entries.values() for r in e.rcpts}

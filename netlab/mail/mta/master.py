"""A mail server on one host: SMTP server (msa on 587, mx/relay on 25), queue manager and delivery agents.

The server side is :class:`Smtpd`, one :class:`~netlab.mail.smtp.ServerPolicy` per session, deciding per role:
AUTH and sender ownership on the MSA (530/535 come from the session, 550 5.7.1 from here), no open relay on 25
(554 5.7.1 or 454 4.7.1), unknown local users (550 5.1.1), the hop limit (554 5.4.0), spam (outbound at the MSA,
inbound at the final MX: reject 550 5.7.1 or tag ``X-Spam-Status``). An accepted message gets a ``Received:``
line and a queue id, enters the queue and the tracker, and only then is 250 sent.

The client side (:meth:`Mta.deliver`, called by the queue manager per destination) delivers locally for the
domains this MX serves, with no DNS lookup: the MX is also its users' inbox server, and its local delivery agent
adds ``Return-Path`` and hands the message to the MDA of the host's :class:`~netlab.mail.mailbox.store.MessageStore`
(``Delivered-To``, quota; :mod:`netlab.mail.mailbox.inbox` serves the store over POP3 and IMAP). Otherwise it takes the
smarthost or the MX list from DNS (RFC 5321 §5.1, through :func:`~netlab.mail.dns.mx_targets`) and runs one
SMTP transaction with every recipient of that destination, falling back to the next MX when a host does not
answer or refuses the session.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from netlab.mail.content.address import parse_address
from netlab.mail.content.message import (
    Envelope,
    count_received,
    ensure_date_and_message_id,
    prepend_header,
    received_header,
    return_path,
    sim_datetime,
)
from netlab.mail.dns import DnsError, DnsTempFail, MxLoopsBack, NullMx, mx_targets
from netlab.mail.errors import MailAddressError
from netlab.mail.mailbox.store import MessageStore
from netlab.mail.mta.qmgr import Job, Outcome, QueueEntry, QueueManager
from netlab.mail.smtp import Replies, Reply, SmtpClientSession, SmtpServerSession
from netlab.mail.smtp.drivers import connect, run_client, serve
from netlab.mail.tracker import HopRecord, message_id_of
from netlab.transport import TransportError

if TYPE_CHECKING:
    from netlab.mail.config.servers import ServerSpec
    from netlab.mail.mailbox.inbox import InboxServer
    from netlab.mail.system import MailSystem

__all__ = ["Mta", "Smtpd"]


class Smtpd:
    """The decisions of one server session of *mta* (the ServerPolicy of :class:`SmtpServerSession`)."""

    def __init__(self, mta: Mta, peer: str) -> None:
        self.mta = mta
        self.peer = peer  # client node name

    def authenticate(self, user: str, password: str) -> bool:
        u = self.mta.system.spec.user(user) if "@" in user else None
        return u is not None and u.password == password and self.mta.spec.role == "msa"

    def check_mail(self, session: SmtpServerSession, sender: str, size: int | None) -> Reply | None:
        user = session.authenticated_user
        if self.mta.spec.role == "msa" and user is not None:
            u = self.mta.system.spec.user(user)
            allowed = {user.lower(), *(a.lower() for a in (u.may_send_as if u else ()))}
            if sender.lower() not in allowed:
                return Reply(550, f"<{sender}>: Sender address rejected: not owned by user {user}", "5.7.1")
        return None

    def check_rcpt(self, session: SmtpServerSession, rcpt: str) -> Reply | None:
        mta = self.mta
        domain = rcpt.rpartition("@")[2]
        if mta.is_local(domain):
            return None if mta.store.has_user(account(rcpt)) else Replies.unknown_user(rcpt)
        if session.authenticated_user is not None or self.peer in mta.spec.trusted:
            return None
        if domain in mta.relay_domains:
            return None
        if mta.spec.relay_refusal == "defer":
            return Reply(454, f"<{rcpt}>: Relay access denied", "4.7.1")
        return Replies.relay_denied(rcpt)

    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes) -> Reply:
        return self.mta.accept(session, envelope, data, self.peer)


class Mta:
    """The mail server described by *spec*, run by *system* (see the module docstring)."""

    def __init__(self, system: MailSystem, spec: ServerSpec) -> None:
        self.system = system
        self.spec = spec
        self.env = system.env
        self.host = spec.host
        self.node = system.net.nodes[spec.host]
        self.ip = self.node.ip
        self.fqdn: str = spec.fqdn or spec.host
        # An MSA completes bare user names with its own domain (RFC 6409 §4.2); other roles refuse them (501).
        self._qualify_domain = (
            (spec.domains[0] if spec.domains else self.fqdn.partition(".")[2] or None) if spec.role == "msa" else None
        )
        self.domains = {d.lower() for d in spec.domains} if spec.role == "mx" else set()
        self.relay_domains = {d.lower() for d in spec.relay_domains}
        # The message store of the inbox server on this host (empty unless this is an mx), keyed by address.
        self.store = MessageStore({account(a): pw for a, pw in system.local_accounts(self.domains).items()},
                                  quota_bytes=spec.quota_bytes, quota_permanent=spec.quota_action == "bounce",
                                  epoch=system.epoch)  # fmt: skip
        self.inbox: InboxServer | None = None  # the POP3/IMAP servers, set by the mail system on an mx
        self.qspec = system.spec.queue_for(spec.host)
        self.queue = QueueManager(self.env, self.qspec, self, self._on_done, self._on_removed, self._on_deferred,
                                  self._on_suspended)  # fmt: skip
        self.resolver = system.resolver(spec.host)
        self._qids = system.net.stream("mail", spec.host, "qid")
        self._mx_rng = system.net.stream("mail", spec.host, "mx")
        self._counter = 0
        self.conns: set[Any] = set()
        self.up = True
        self.generation = 0
        self.accepted = 0
        self.refused = 0

    def __repr__(self) -> str:
        return f"<Mta {self.host} {self.spec.role} {self.queue!r}>"

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        """Listen on the role's port."""
        self.listener = self.system.stack.listen(self.host, self.spec.port)
        self.env.process(self._accept_loop())

    def _accept_loop(self) -> Generator[simpy.Event, Any, None]:
        while True:
            conn = yield self.listener.accept()
            if not self.up:
                conn.abort()
                continue
            self.env.process(self._session(conn))

    def _session(self, conn: Any) -> Generator[simpy.Event, Any, None]:
        self.conns.add(conn)
        peer = conn.remote.name
        self.system.log(self.host, "smtpd", "", f"connect from {peer}[{conn.remote.ip}]")
        session = self.server_session(peer, conn.remote.ip)
        yield from serve(conn, session, timeout_s=self.qspec.command_timeout_s)
        self.conns.discard(conn)
        self.system.log(self.host, "smtpd", "", f"disconnect from {peer}[{conn.remote.ip}]")

    def server_session(self, peer: str, peer_ip: str) -> SmtpServerSession:
        """A fresh SMTP server session of this MTA for a client *peer* at *peer_ip* (its policy, limits and
        role); the simulated sessions and the live bridge both take theirs from here."""
        return SmtpServerSession(Smtpd(self, peer), hostname=self.fqdn, peer_ip=peer_ip,
                                 submission=self.spec.role == "msa", size_limit=self.spec.size_limit_bytes,
                                 default_domain=self._qualify_domain)  # fmt: skip

    def crash(self) -> None:
        """The host went down: sessions die, the queue stays on disk."""
        self.up = False
        self.generation += 1
        for conn in list(self.conns):
            conn.abort()
        self.conns.clear()
        self.queue.crash()
        if self.inbox is not None:
            self.inbox.crash()

    def restart(self) -> None:
        """The host is back: the queue manager resumes."""
        self.up = True
        if self.inbox is not None:
            self.inbox.restart()
        self.system.log(self.host, "master", "", "daemon started -- queue manager resumes")
        self.queue.restart()

    # ------------------------------------------------------------------ receiving
    def is_local(self, domain: str) -> bool:
        """True if this server is final destination for *domain* (local delivery, no DNS)."""
        return domain.lower() in self.domains

    def new_qid(self) -> str:
        """A Postfix-style queue id: 10 upper-case hex digits from this host's seeded stream."""
        return f"{self._qids.getrandbits(40):010X}"

    def accept(self, session: SmtpServerSession, envelope: Envelope, data: bytes, peer: str) -> Reply:
        """End of DATA: checks, then queue the message and answer 250 (or refuse it)."""
        system, now = self.system, self.env.now
        spec = self.spec
        if count_received(data) >= spec.hop_limit:
            self.refused += 1
            return Replies.TOO_MANY_HOPS
        when = sim_datetime(system.epoch, now)
        if spec.role == "msa":
            self._counter += 1
            data = ensure_date_and_message_id(data, when=when, host_fqdn=self.fqdn, counter=self._counter)
        score = None
        local_rcpts = any(self.is_local(r.rpartition("@")[2]) for r in envelope.rcpt_to)
        if spec.spam != "off" and (spec.role == "msa" or local_rcpts):
            verdict = system.spam_score(data, session, peer)
            score = verdict.score
            if verdict.is_spam and spec.spam == "reject":
                self.refused += 1
                return Reply(550, f"Message content rejected (spam score {verdict.score:.1f})", "5.7.1")
            if spec.spam == "tag" and local_rcpts:
                data = prepend_header(data, "X-Spam-Status", system.spam_status(verdict))
        qid = self.new_qid()
        rcpts = list(envelope.rcpt_to)
        data = received_header(by_host=self.fqdn, by_ip=self.ip, helo=session.helo or "unknown",
                               peer_ip=session.peer_ip, protocol=session.protocol, queue_id=qid,
                               for_rcpt=rcpts[0] if len(rcpts) == 1 else None, when=when) + data  # fmt: skip
        mid = message_id_of(data)
        system.qid_mids[(self.host, qid)] = mid
        entry = QueueEntry(qid, envelope.mail_from, rcpts, data, now, message_id=mid)
        entry.info["client"] = peer
        self.accepted += 1
        user = session.authenticated_user
        sasl = f", sasl_method=PLAIN, sasl_username={user}" if user else ""
        system.log(self.host, "smtpd", qid, f"client={peer}[{session.peer_ip}]{sasl}")
        system.log(self.host, "cleanup", qid, f"message-id={mid}")
        system.log(self.host, "qmgr", qid, f"from=<{envelope.mail_from}>, size={len(data)}, nrcpt={len(rcpts)} "
                   "(queue active)")  # fmt: skip
        for r in rcpts:
            system.tracker.received(mid, r, self.host, qid, now, final=self.is_local(r.rpartition("@")[2]),
                                    spam_score=score)  # fmt: skip
        self.queue.enqueue(entry)
        return Replies.queued(qid)

    # ------------------------------------------------------------------ the queue manager's side
    def destination(self, rcpt: str) -> str:
        """Next-hop group of *rcpt*: ``local``, ``[smarthost]`` or the recipient's domain."""
        domain = rcpt.rpartition("@")[2].lower()
        if self.is_local(domain):
            return "local"
        if self.spec.smarthost is not None:
            return f"[{self.spec.smarthost}]"
        return domain

    def deliver(self, job: Job) -> Generator[simpy.Event, Any, list[Outcome]]:
        """One delivery attempt of *job* (see the module docstring); one Outcome per recipient."""
        if job.dest == "local":
            return self._deliver_local(job)
        start = self.env.now
        targets: list[tuple[str, str]] = []  # (node name or fqdn, ip)
        if job.dest.startswith("["):
            smart = job.dest[1:-1]
            targets = [(self.system.mta(smart).fqdn, self.system.net.nodes[smart].ip)]
        else:
            try:
                mxs = yield mx_targets(self.resolver, job.dest, rng=self._mx_rng, my_names=(self.fqdn, self.ip))
            except DnsTempFail as exc:
                return self._all(job, "defer", "4.4.3", f"Host or domain name lookup failed: {exc}", 0)
            except NullMx:
                return self._all(job, "bounce", "5.1.10", f"Domain {job.dest} does not accept mail (nullMX)", 556)
            except MxLoopsBack:
                return self._all(job, "bounce", "5.4.6", f"mail for {job.dest} loops back to myself", 554)
            except DnsError as exc:
                return self._all(job, "bounce", "5.4.4", f"Host or domain name not found: {exc}", 550)
            for t in mxs[: self.qspec.mx_address_limit]:
                targets.extend((t.host, ip) for ip in t.ips)
        last = None
        for name, ip in targets[: self.qspec.mx_address_limit]:
            result = yield from self._transaction(job, name, ip, start)
            if result is not None:
                return result
            last = self._last_failure
        if last is None:
            return self._all(job, "defer", "4.4.1", "no MX host answered", 0)
        for o in last:
            self._log_delivery(job.entry, o, (job.entry.activated_at - job.entry.arrival, 0.0, 0.0, 0.0))
        return last

    _last_failure: list[Outcome]

    def _transaction(self, job: Job, name: str, ip: str, start: float) -> Generator[simpy.Event, Any,
                                                                                  list[Outcome] | None]:  # fmt: skip
        """One SMTP transaction to *ip*; None when the host did not answer or refused the session (next MX)."""
        system, env, entry = self.system, self.env, job.entry
        relay = f"{name}[{ip}]:25"
        t_conn = env.now
        try:
            conn = yield from connect(system.stack, self.host, (ip, 25), self.qspec.connect_timeout_s)
        except TransportError as exc:
            self._last_failure = self._all(job, "defer", "4.4.1", f"connect to {relay}: {exc}", 0, relay, log=False)
            system.tracker.transaction(HopRecord(self.host, name, 25, t_conn, env.now, 0, "", entry.message_id,
                                                 tuple(job.rcpts), 0, entry.size, None, str(exc)))  # fmt: skip
            return None
        self.conns.add(conn)
        session = SmtpClientSession(helo=self.fqdn, envelope=Envelope(entry.sender, tuple(job.rcpts)), data=entry.raw,
                                    pipelining=True, crlf=True)  # fmt: skip
        t_setup = env.now
        out = yield from run_client(conn, session, timeout_s=self.qspec.command_timeout_s,
                                    data_timeout_s=2 * self.qspec.command_timeout_s)  # fmt: skip
        self.conns.discard(conn)
        res = session.result
        data_reply = res.data_reply
        code = data_reply.code if data_reply is not None else (out.last_reply.code if out.last_reply else 0)
        accepted = sum(1 for _, r in res.recipients if r.is_positive)
        enh = data_reply.enhanced if data_reply is not None else ""
        system.tracker.transaction(HopRecord(self.host, conn.remote.name, 25, t_conn, env.now, code, enh or "",
                                             entry.message_id, tuple(job.rcpts), accepted, entry.size, conn,
                                             out.error))  # fmt: skip
        delays = (entry.activated_at - entry.arrival, t_conn - entry.activated_at, t_setup - t_conn, env.now - t_setup)
        stage = res.failed_stage
        if out.error and (stage is None or stage in ("greeting", "ehlo", "helo")) and data_reply is None:
            stage = stage or "greeting"
        if stage in ("greeting", "ehlo", "helo"):
            # The host did not take the session (4xx/5xx banner, lost connection before MAIL): next MX.
            why = out.error or (str(out.last_reply) if out.last_reply else "session failed")
            self._last_failure = self._all(job, "defer", "4.4.2", f"{relay}: {why}", 0, relay, log=False)
            return None
        outcomes = []
        for r, reply in res.recipients:
            if out.error and not (data_reply is not None and data_reply.is_positive) and reply.is_positive:
                reply = Replies.LOST_CONNECTION
            kind = "sent" if reply.is_positive else ("defer" if reply.is_transient else "bounce")
            dsn = reply.enhanced or f"{reply.code // 100}.0.0"
            text = f"{reply}" if kind == "sent" else f"host {relay} said: {reply}"
            if out.error and reply.is_transient:
                text = f"lost connection with {relay} ({out.error})"
            outcomes.append(Outcome(r, kind, dsn, text, relay, reply.code))
        for o in outcomes:
            self._log_delivery(entry, o, delays)
        return outcomes

    def _deliver_local(self, job: Job) -> list[Outcome]:
        entry, now = job.entry, self.env.now
        outcomes = []
        for r in job.rcpts:
            user = account(r)
            reply = self.store.deliver(user, return_path(entry.raw, entry.sender), now)
            if reply.is_positive:
                box = self.store.mailbox(user)
                stored = box.entries[-1]  # deliver() just appended it: nothing runs in between
                self.system.filed(entry.message_id, r, (self.host, user, f"{box.uidvalidity}.{stored.uid}"), now)
                o = Outcome(r, "sent", "2.0.0", f"delivered to mailbox as UID {stored.uid}", "local", reply.code)
            else:
                # over quota for now (452 4.2.2) is retried from the queue; unknown user and 552 5.2.2 bounce
                kind = "defer" if reply.is_transient else "bounce"
                o = Outcome(r, kind, reply.enhanced or "5.1.1", str(reply), "local", reply.code)
            self._log_delivery(entry, o, (entry.activated_at - entry.arrival, 0.0, 0.0, now - entry.activated_at),
                              program="local")  # fmt: skip
            outcomes.append(o)
        return outcomes

    def _all(self, job: Job, kind: str, dsn: str, text: str, code: int, relay: str = "none",
             log: bool = True) -> list[Outcome]:  # fmt: skip
        outcomes = [Outcome(r, kind, dsn, text, relay, code) for r in job.rcpts]
        if log:
            for o in outcomes:
                self._log_delivery(job.entry, o, (job.entry.activated_at - job.entry.arrival, 0.0, 0.0, 0.0))
        return outcomes

    def _log_delivery(self, entry: QueueEntry, o: Outcome, delays: tuple[float, ...], program: str = "smtp") -> None:
        status = {"sent": "sent", "defer": "deferred", "bounce": "bounced"}[o.kind]
        self.system.log_delivery(self.host, program, entry.qid, o.rcpt, o.relay, self.env.now - entry.arrival, delays,
                                 o.dsn, status, o.text)  # fmt: skip

    # ------------------------------------------------------------------ outcomes
    def _on_done(self, entry: QueueEntry, outcomes: list[Outcome], now: float) -> None:
        system = self.system
        bounced = [o for o in outcomes if o.kind == "bounce"]
        if any(o.dsn == "4.4.7" for o in bounced):
            system.log(self.host, "qmgr", entry.qid, f"from=<{entry.sender}>, status=expired, returned to sender")
        for o in outcomes:
            if o.kind == "sent" and o.relay == "local":
                system.tracker.final(entry.message_id, o.rcpt, "delivered", now, o.dsn, o.text)
            elif o.kind == "bounce":
                status = "discarded" if entry.sender == "" else "bounced"
                system.tracker.final(entry.message_id, o.rcpt, status, now, o.dsn, o.text)
        if bounced and entry.sender != "":
            system.send_dsn(self, entry, bounced, now)

    def _on_deferred(self, entry: QueueEntry, last: list[Outcome]) -> None:
        pass  # each deferral was logged by the delivery agent (status=deferred)

    def _on_suspended(self, entry: QueueEntry, outcomes: list[Outcome]) -> None:
        # The queue manager itself defers mail for a dead destination (no delivery agent ran): qmgr logs it.
        for o in outcomes:
            self._log_delivery(entry, o, (entry.activated_at - entry.arrival, 0.0, 0.0, 0.0), program="qmgr")

    def _on_removed(self, entry: QueueEntry) -> None:
        self.system.log(self.host, "qmgr", entry.qid, "removed")

    def enqueue_local(self, sender: str, rcpts: list[str], raw: bytes) -> QueueEntry:
        """Queue a message made on this host (a DSN), as Postfix's bounce daemon does through cleanup."""
        qid = self.new_qid()
        entry = QueueEntry(qid, sender, rcpts, raw, self.env.now, message_id=message_id_of(raw))
        self.system.log(self.host, "cleanup", qid, f"message-id={entry.message_id}")
        self.system.log(self.host, "qmgr", qid, f"from=<{sender}>, size={len(raw)}, nrcpt={len(rcpts)} (queue active)")
        for r in rcpts:
            self.system.tracker.received(entry.message_id, r, self.host, qid, self.env.now,
                                         final=self.is_local(r.rpartition("@")[2]))  # fmt: skip
        self.queue.enqueue(entry)
        return entry

    def queued_pairs(self) -> set[tuple[str, str]]:
        """(Message-ID, recipient) of every recipient still in this queue (for the conservation check)."""
        return {(e.message_id, r) for e in self.queue.entries.values() for r in e.rcpts}


def account(address: str) -> str:
    """The message-store user of *address*: the local part as given (case matters), the domain in lower case.

    >>> account("Bob@B.Test")
    'Bob@b.test'
    """
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def qualify_rcpt(addr: str, domain: str) -> str:
    """*addr* made fully qualified with *domain* (RFC 6409 §4.2), unchanged when it is malformed."""
    try:
        return str(parse_address(addr, default_domain=domain))
    except MailAddressError:
        return addr

"""smtpd of one MTA: what its SMTP server accepts, and the end of DATA.

The protocol itself is :class:`~netlab.mail.smtp.SmtpServerSession`'s; the decisions are here, one
:class:`SmtpdPolicy` (a :class:`~netlab.mail.smtp.ServerPolicy`) per session, by role:

* AUTH only on the MSA, with the user's password; a user may send as itself and its ``may_send_as`` addresses
  (``550 5.7.1`` otherwise; 530/535 come from the session);
* no open relay on 25: a recipient whose domain is not local is taken from an authenticated or ``trusted`` client,
  or for a ``relay_domains`` domain, else refused (``554 5.7.1``, or ``454 4.7.1`` with ``relay_refusal: defer``);
* unknown local users ``550 5.1.1`` (the local delivery agent's recipient table);
* at the end of DATA: the hop limit (``554 5.4.0``), an MSA's header completion, spam (outbound at the MSA,
  inbound at the final MX: ``550 5.7.1`` with ``reject``, ``X-Spam-Status`` with ``tag``), then the ``Received:``
  line under a fresh queue id; cleanup queues the message, and only then is 250 sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from netlab.mail.config.servers import RelayRefusal, ServerRole, SpamAction
from netlab.mail.content.message import Envelope, count_received, prepend_header, received_header, sim_datetime
from netlab.mail.content.spam import SessionInfo, x_spam_status
from netlab.mail.smtp.reply import Replies, Reply
from netlab.mail.smtp.server import SmtpServerSession

if TYPE_CHECKING:
    from netlab.mail.config.section import MailSpec
    from netlab.mail.config.servers import ServerSpec
    from netlab.mail.content.spam import SpamFilter
    from netlab.mail.context import MailContext
    from netlab.mail.mta.cleanup import Cleanup
    from netlab.mail.mta.rewrite import TrivialRewrite

__all__ = ["Smtpd", "SmtpdPolicy"]


class Smtpd:
    """The SMTP server of the MTA described by *spec* on *ip* (see the module docstring).

    Parameters
    ----------
    ctx
        The run as the agent sees it (clock, log, epoch).
    spec
        The server's role, limits, relaying rules and spam action.
    users
        The scenario's mail section, for the users' passwords and sender addresses.
    rewrite
        Which recipient domains are local or relayed.
    local_user
        True when a local recipient has a mailbox (the local delivery agent's table); None on a server that
        delivers nothing locally.
    spam
        The spam filter scoring messages.
    cleanup
        Where accepted messages go.
    """

    def __init__(self, ctx: MailContext, spec: ServerSpec, *, fqdn: str, ip: str, users: MailSpec,
                 rewrite: TrivialRewrite, local_user: Callable[[str], bool] | None, spam: SpamFilter,
                 cleanup: Cleanup) -> None:  # fmt: skip
        self.ctx = ctx
        self.spec = spec
        self.host = spec.host
        self.fqdn = fqdn
        self.ip = ip
        self.users = users
        self.rewrite = rewrite
        self.local_user = local_user
        self.spam = spam
        self.cleanup = cleanup
        self.submission = spec.role == ServerRole.MSA
        self.accepted = 0  # messages taken (250 after DATA)
        self.refused = 0  # messages refused at the end of DATA (hops, spam)

    def __repr__(self) -> str:
        return f"<Smtpd {self.host} {self.spec.role}: {self.accepted} accepted, {self.refused} refused>"

    def session(self, peer: str, peer_ip: str) -> SmtpServerSession:
        """A fresh server session for a client *peer* at *peer_ip*, with this server's policy, limits and role; the
        simulated sessions and the live bridge both take theirs from here."""
        return SmtpServerSession(SmtpdPolicy(self, peer), hostname=self.fqdn, peer_ip=peer_ip,
                                 submission=self.submission, size_limit=self.spec.size_limit_bytes,
                                 default_domain=self.rewrite.myorigin)  # fmt: skip

    # ------------------------------------------------------------------ the checks
    def authenticate(self, user: str, password: str) -> bool:
        """True for a user's own password, on an MSA."""
        u = self.users.user(user) if "@" in user else None
        return u is not None and u.password == password and self.submission

    def check_sender(self, session: SmtpServerSession, sender: str) -> Reply | None:
        """On an MSA, an authenticated user sends only as itself or its ``may_send_as`` addresses."""
        user = session.authenticated_user
        if self.submission and user is not None:
            u = self.users.user(user)
            allowed = {user.lower(), *(a.lower() for a in (u.may_send_as if u else ()))}
            if sender.lower() not in allowed:
                return Reply(550, f"<{sender}>: Sender address rejected: not owned by user {user}", "5.7.1")
        return None

    def check_recipient(self, session: SmtpServerSession, rcpt: str, peer: str) -> Reply | None:
        """Local users must exist; anything else is relayed only for those allowed to (see the module docstring)."""
        if self.rewrite.is_local(rcpt):
            return None if self.local_user is not None and self.local_user(rcpt) else Replies.unknown_user(rcpt)
        if session.authenticated_user is not None or peer in self.spec.trusted:
            return None
        if self.rewrite.is_relay_domain(rcpt):
            return None
        if self.spec.relay_refusal == RelayRefusal.DEFER:
            return Reply(454, f"<{rcpt}>: Relay access denied", "4.7.1")
        return Replies.relay_denied(rcpt)

    # ------------------------------------------------------------------ the end of DATA
    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes, peer: str) -> Reply:
        """The last checks, then the ``Received:`` line and the queue; ``250 ... queued as QID`` or a refusal."""
        ctx, spec, now = self.ctx, self.spec, self.ctx.env.now
        if count_received(data) >= spec.hop_limit:
            self.refused += 1
            return Replies.TOO_MANY_HOPS
        when = sim_datetime(ctx.epoch, now)
        if self.submission:
            data = self.cleanup.complete_headers(data, when)
        score = None
        local_rcpts = any(self.rewrite.is_local(r) for r in envelope.rcpt_to)
        action = spec.spam
        if action is not SpamAction.OFF and (self.submission or local_rcpts):
            # inbound unless the client authenticated: an MSA's own users are scored as outbound mail
            verdict = self.spam.score(data, SessionInfo.of(session, inbound=session.authenticated_user is None))
            score = verdict.score
            if verdict.is_spam and action is SpamAction.REJECT:
                self.refused += 1
                return Reply(550, f"Message content rejected (spam score {verdict.score:.1f})", "5.7.1")
            if action is SpamAction.TAG and local_rcpts:
                data = prepend_header(data, "X-Spam-Status", x_spam_status(verdict, self.spam.threshold))
        qid = self.cleanup.new_qid()
        rcpts = list(envelope.rcpt_to)
        data = received_header(by_host=self.fqdn, by_ip=self.ip, helo=session.helo or "unknown",
                               peer_ip=session.peer_ip, protocol=session.protocol, queue_id=qid,
                               for_rcpt=rcpts[0] if len(rcpts) == 1 else None, when=when) + data  # fmt: skip
        self.accepted += 1
        user = session.authenticated_user
        sasl = f", sasl_method=PLAIN, sasl_username={user}" if user else ""
        ctx.log(self.host, "smtpd", qid, f"client={peer}[{session.peer_ip}]{sasl}")
        self.cleanup.enqueue(qid, envelope.mail_from, rcpts, data, client=peer, spam_score=score,
                             given=session.rcpt_given)  # fmt: skip
        return Replies.queued(qid)


class SmtpdPolicy:
    """The decisions of one server session of *smtpd* with the client node *peer* (a ServerPolicy)."""

    __slots__ = ("peer", "smtpd")

    def __init__(self, smtpd: Smtpd, peer: str) -> None:
        self.smtpd = smtpd
        self.peer = peer

    def __repr__(self) -> str:
        return f"<SmtpdPolicy {self.smtpd.host} <- {self.peer}>"

    def authenticate(self, user: str, password: str) -> bool:
        return self.smtpd.authenticate(user, password)

    def check_mail(self, session: SmtpServerSession, sender: str, size: int | None) -> Reply | None:
        return self.smtpd.check_sender(session, sender)

    def check_rcpt(self, session: SmtpServerSession, rcpt: str) -> Reply | None:
        return self.smtpd.check_recipient(session, rcpt, self.peer)

    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes) -> Reply:
        return self.smtpd.end_of_data(session, envelope, data, self.peer)

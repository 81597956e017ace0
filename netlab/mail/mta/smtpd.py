"""smtpd of one MTA: what its SMTP server accepts, and the end of DATA.

The protocol itself is :class:`~netlab.mail.smtp.SmtpServerSession`'s; the decisions are here, one
:class:`SmtpdPolicy` (a :class:`~netlab.mail.smtp.ServerPolicy`) per session, by role:

* AUTH only on the MSA, with the user's password; a user may send as itself and its ``may_send_as`` addresses
  (``550 5.7.1`` otherwise; 530/535 come from the session); logins and addresses compare as the mail section
  looks users up (domains in any case; local parts too with ``fold_local_parts``, as Postfix does);
* no open relay on 25: a recipient whose domain is not local is taken from an authenticated or ``trusted`` client,
  or for a ``relay_domains`` domain, else refused (``554 5.7.1``, or ``454 4.7.1`` with ``relay_refusal: defer``);
* unknown local users ``550 5.1.1`` (the local delivery agent's recipient table);
* at the end of DATA: the hop limit (``554 5.4.0``), an MSA's header completion, spam (outbound at the MSA,
  inbound at the final MX: ``550 5.7.1`` with ``reject``, ``X-Spam-Status`` with ``tag``), then the ``Received:``
  line under a fresh queue id; cleanup queues the message, and only then is 250 sent.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from netlab.mail.config.servers import RelayRefusal, ServerRole, SpamAction, SpfAction, dnsbl_sites
from netlab.mail.content.message import (
    Envelope,
    count_received,
    normalize_crlf,
    prepend_header,
    received_header,
    sim_datetime,
)
from netlab.mail.content.spam import SessionInfo, x_spam_status
from netlab.mail.dns.lookups import Answers, resolve_with
from netlab.mail.dns.resolver import DnsTempFail
from netlab.mail.mta.dkimkey import signing_key
from netlab.mail.mta.opendkim import DkimResult, dkim_sign, dkim_verify, from_domain
from netlab.mail.mta.opendmarc import DmarcAction, DmarcVerdict, evaluate_dmarc
from netlab.mail.mta.policyd_spf import SpfVerdict, check_spf, received_spf, spf_reject
from netlab.mail.mta.postgrey import Postgrey, greylisted_reply
from netlab.mail.smtp.reply import Replies, Reply
from netlab.mail.smtp.server import SmtpServerSession, Suspend
from netlab.mail.tracker import message_id_of

if TYPE_CHECKING:
    import simpy

    from netlab.mail.config.section import MailSpec
    from netlab.mail.config.servers import ServerSpec
    from netlab.mail.content.spam import SpamFilter
    from netlab.mail.context import MailContext
    from netlab.mail.mta.cleanup import Cleanup
    from netlab.mail.mta.dkimkey import DkimKey
    from netlab.mail.mta.rewrite import TrivialRewrite

__all__ = ["Smtpd", "SmtpdPolicy"]

# OpenDKIM's log wording for a verdict
_OPENDKIM_SAYS = {"pass": "DKIM verification successful", "fail": "bad signature data",
                  "permerror": "signature error", "temperror": "key retrieval failed"}  # fmt: skip


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
                 cleanup: Cleanup, dkim_keys: Mapping[str, tuple[DkimKey, ...]] | None = None) -> None:  # fmt: skip
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
        self.dkim_keys: Mapping[str, tuple[DkimKey, ...]] = {
            d: k for d, k in (dkim_keys or {}).items() if d in spec.dkim_sign
        }
        self.submission = spec.role == ServerRole.MSA
        self.spf_action = SpfAction(spec.spf)  # the spec's member (or its string, for a spec built by hand)
        # The footer as SMTP lines, made once: LF and CRLF line ends alike become CRLF (as normalize_crlf does)
        self.footer = None if spec.footer is None else normalize_crlf(spec.footer.encode()) or b"\r\n"
        self.spf_rejected = 0  # recipients refused for an SPF fail
        self.postgrey = (Postgrey(spec.greylist_delay_s, spec.greylist_retry_window_s, spec.greylist_max_age_s,
                                  spec.greylist_awl) if spec.greylist else None)  # fmt: skip
        self.dnsbl_sites = dnsbl_sites(spec.dnsbl)
        self.dnsbl_rejected = 0
        self.dmarc_action = spec.dmarc
        self.dmarc_rng = ctx.stream(self.host, "dmarc")  # pct sampling (RFC 7489 §6.6.4)
        self.dmarc_rejected = 0
        #: DMARC outcomes counted as an aggregate report's rows: (header_from, source_ip, disposition, dkim, spf,
        #: dmarc) -> messages
        self.dmarc_counts: dict[tuple[str, str, str, str, str, str], int] = {}
        self.accepted = 0  # messages taken (250 after DATA)
        self.refused = 0  # messages refused at the end of DATA (hops, spam)

    def __repr__(self) -> str:
        return f"<Smtpd {self.host} {self.spec.role}: {self.accepted} accepted, {self.refused} refused>"

    def session(self, peer: str, peer_ip: str, *, peer_name: str | None = None) -> SmtpServerSession:
        """A fresh server session for a client *peer* at *peer_ip*, with this server's policy, limits and role; the
        simulated sessions and the live bridge both take theirs from here. *peer_name* is the client's verified
        name (default: the name netlab's DNS gives the peer host, :meth:`MailContext.host_name`)."""
        return SmtpServerSession(SmtpdPolicy(self, peer), hostname=self.fqdn, peer_ip=peer_ip,
                                 submission=self.submission, size_limit=self.spec.size_limit_bytes,
                                 default_domain=self.rewrite.myorigin, tls=self.spec.starttls,
                                 peer_name=self.ctx.host_name(peer) if peer_name is None else peer_name)  # fmt: skip

    # ------------------------------------------------------------------ the checks
    def authenticate(self, user: str, password: str) -> bool:
        """True for a user's own password, on an MSA (the login's local part in any case with
        ``fold_local_parts``, its domain in any case always)."""
        u = self.users.user(user) if "@" in user else None
        return u is not None and u.password == password and self.submission

    def check_sender(self, session: SmtpServerSession, sender: str) -> Reply | None:
        """On an MSA, an authenticated user sends only as itself or its ``may_send_as`` addresses (compared as
        users are looked up: domains in any case, local parts too with ``fold_local_parts``)."""
        user = session.authenticated_user
        if self.submission and user is not None:
            u = self.users.user(user)
            key = self.users.user_key
            allowed = {key(user), *(key(a) for a in (u.may_send_as if u else ()))}
            if u is not None:
                allowed.add(key(u.address))
            if key(sender) not in allowed:
                return Reply(550, f"<{sender}>: Sender address rejected: not owned by user {user}", "5.7.1")
        return None

    def check_recipient(self, session: SmtpServerSession, rcpt: str, policy: SmtpdPolicy) -> Reply | None:
        """The recipient checks in Postfix's order: relay control and local users, then (for clients neither
        authenticated nor trusted: ``permit_sasl_authenticated``, ``permit_mynetworks`` come first) SPF
        (policyd-spf) and greylisting (postgrey)."""
        reply = self._relay_check(session, rcpt, policy.peer)
        if reply is not None:
            return reply
        if session.authenticated_user is not None or policy.peer in self.spec.trusted:
            return None
        return (self._dnsbl_check(session, rcpt, policy) or self._spf_check(session, rcpt, policy)
                or self._greylist_check(session, rcpt, policy))  # fmt: skip

    def _dnsbl_check(self, session: SmtpServerSession, rcpt: str, policy: SmtpdPolicy) -> Reply | None:
        """reject_rbl_client with postscreen's weights: refuse a client the lists name with weight >= threshold."""
        if not self.dnsbl_sites:
            return None
        if policy.dnsbl is None:  # once per connection: the client's address does not change
            raise Suspend(self.ctx.env.process(self._dnsbl_lookups(session.peer_ip, policy)))
        listed = policy.dnsbl
        if sum(w for _, w, _ in listed) < self.spec.dnsbl_threshold or not listed:
            return None
        self.dnsbl_rejected += 1
        zones = ", ".join(z for z, _, _ in listed)
        defer = self.spec.dnsbl_action == "defer"  # maps_rbl_reject_code = 450: the sender keeps it and retries
        reply = Reply(450 if defer else 554, f"Service unavailable; Client host [{session.peer_ip}] blocked using "
                      f"{zones}; {listed[0][2]}", "4.7.1" if defer else "5.7.1")  # fmt: skip
        self._noqueue(session, rcpt, policy, reply)
        return reply

    def _noqueue(self, session: SmtpServerSession, rcpt: str, policy: SmtpdPolicy, reply: Reply) -> None:
        """smtpd's log line for a recipient refused before any queue file existed."""
        self.ctx.log(self.host, "smtpd", "", f"NOQUEUE: reject: RCPT from {policy.peer}[{session.peer_ip}]: {reply}; "
                     f"from=<{session.mail_from}> to=<{rcpt}> proto={session.protocol} "
                     f"helo=<{session.helo}>")  # fmt: skip

    def _dnsbl_lookups(self, ip: str, policy: SmtpdPolicy) -> Generator[simpy.Event, Any, None]:
        """Ask each list about *ip* (RFC 5782 §2.1: A of the reversed address under the zone; 127/8 = listed)."""
        reverse = ".".join(reversed(ip.split(".")))
        sites = self.dnsbl_sites

        def check(a: Answers) -> tuple[tuple[str, int, str], ...]:
            out = []
            for zone, weight in sites:
                try:
                    got = a.get(f"{reverse}.{zone}", "A") or ()
                except DnsTempFail:
                    continue  # a list that does not answer names nobody
                if any(v.startswith("127.") for v in got):
                    try:
                        why = (a.get(f"{reverse}.{zone}", "TXT") or ("",))[0]
                    except DnsTempFail:
                        why = ""
                    out.append((zone, weight, why))
            return tuple(out)

        policy.dnsbl = yield from resolve_with(self.ctx.resolver(self.host), check)

    def _greylist_check(self, session: SmtpServerSession, rcpt: str, policy: SmtpdPolicy) -> Reply | None:
        if self.postgrey is None:
            return None
        sender = session.mail_from or ""
        d = self.postgrey.check(session.peer_ip, sender, rcpt, self.ctx.env.now)
        delay = "" if d.delay_s is None else f", delay={d.delay_s:.0f}"
        self.ctx.log(self.host, "postgrey", "", f"action={d.action}, reason={d.reason}{delay}, client_name="
                     f"{policy.peer}, client_address={session.peer_ip}, sender={sender}, recipient={rcpt}")  # fmt: skip
        if d.action == "pass":
            return None
        return greylisted_reply(rcpt, rcpt.rpartition("@")[2])

    def _spf_check(self, session: SmtpServerSession, rcpt: str, policy: SmtpdPolicy) -> Reply | None:
        if self.spf_action is SpfAction.OFF:
            return None
        verdicts = policy.spf_verdicts(session)
        if verdicts is None:
            raise Suspend(self.ctx.env.process(self._spf_lookups(session, policy)))
        if self.spf_action is SpfAction.REJECT:
            for v in verdicts:
                refusal = spf_reject(v)
                if refusal is not None:
                    self.spf_rejected += 1
                    reply = Reply(refusal.code, f"<{rcpt}>: Recipient address rejected: {refusal.text}",
                                  refusal.enhanced)  # fmt: skip
                    self.ctx.log(self.host, "policyd-spf", "", str(refusal))
                    self._noqueue(session, rcpt, policy, reply)
                    return reply
        return None

    def _spf_lookups(self, session: SmtpServerSession, policy: SmtpdPolicy) -> Generator[simpy.Event, Any, None]:
        """Evaluate SPF for the transaction's HELO and MAIL FROM identities through this host's resolver."""
        ctx = self.ctx
        sender, helo, ip = session.mail_from or "", session.helo or "", session.peer_ip
        when = ctx.epoch.timestamp() + ctx.env.now
        answers = Answers()
        resolver = ctx.resolver(self.host)
        if "." in helo and not helo.startswith("["):
            helo_v = yield from resolve_with(resolver, lambda a: check_spf(
                a, client_ip=ip, sender=sender, helo=helo, identity="helo", now_epoch_s=when), answers)  # fmt: skip
        else:  # no domain to check (RFC 7208 §2.3: an address literal or a bare name)
            helo_v = SpfVerdict("helo", "none", f"postmaster@{helo}", ip, helo, "no domain in HELO", 0)
        if sender:
            mail_v = yield from resolve_with(resolver, lambda a: check_spf(
                a, client_ip=ip, sender=sender, helo=helo, identity="mailfrom", now_epoch_s=when), answers)  # fmt: skip
        else:  # the null sender: the MAIL FROM identity is postmaster@<helo> (RFC 7208 §2.4)
            mail_v = replace(helo_v, identity="mailfrom")
        policy.spf = ((sender, helo), (helo_v, mail_v))
        header = received_spf(mail_v, self.fqdn)
        ctx.log(self.host, "policyd-spf", "", f"prepend Received-SPF: {header}")

    def _auth_lookups(self, data: bytes, policy: SmtpdPolicy,
                      spf: SpfVerdict | None) -> Generator[simpy.Event, Any, None]:  # fmt: skip
        """Verify the message's DKIM signatures and, with DMARC on, judge it by its From domain's policy; the keys
        and the policy are looked up through this host's resolver."""
        when = self.ctx.epoch.timestamp() + self.ctx.env.now
        resolver, answers = self.ctx.resolver(self.host), Answers()
        results = yield from resolve_with(resolver, lambda a: dkim_verify(a, data, now_epoch_s=when), answers)
        dmarc = None
        if self.dmarc_action != DmarcAction.OFF:
            domain = from_domain(data)
            dmarc = yield from resolve_with(resolver, lambda a: evaluate_dmarc(
                a, from_domain=domain, spf=spf, dkim=results, rng=self.dmarc_rng), answers)  # fmt: skip
            if self.dmarc_action == DmarcAction.MONITOR:
                dmarc = replace(dmarc, disposition="none")
        policy.eod = (data, (results, dmarc))

    def _count_dmarc(self, v: DmarcVerdict, source_ip: str) -> None:
        if v.result != "none":
            key = (v.domain, source_ip, v.disposition, "pass" if v.dkim_aligned else "fail",
                   "pass" if v.spf_aligned else "fail", v.result)  # fmt: skip
            self.dmarc_counts[key] = self.dmarc_counts.get(key, 0) + 1

    def _relay_check(self, session: SmtpServerSession, rcpt: str, peer: str) -> Reply | None:
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
    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes, policy: SmtpdPolicy) -> Reply:
        """The last checks, then the ``Received:`` line and the queue; ``250 ... queued as QID`` or a refusal."""
        ctx, spec, now, peer = self.ctx, self.spec, self.ctx.env.now, policy.peer
        dkim_results: tuple[DkimResult, ...] = ()
        dmarc: DmarcVerdict | None = None
        spf = policy.spf_verdicts(session)
        if self.spec.dkim_verify and session.authenticated_user is None and peer not in self.spec.trusted:
            found = policy.message_auth(data)
            if found is None:  # the key and policy lookups go through this host's resolver first
                raise Suspend(ctx.env.process(self._auth_lookups(data, policy, spf[1] if spf else None)))
            dkim_results, dmarc = found
        if dmarc is not None:
            self._count_dmarc(dmarc, session.peer_ip)
            if dmarc.result == "fail" and self.dmarc_action == DmarcAction.ENFORCE and dmarc.disposition == "reject":
                self.refused += 1
                self.dmarc_rejected += 1
                found_auth = (spf[1].result if spf else "", ",".join(r.result for r in dkim_results), dmarc.result)
                ctx.tracker.authentication(message_id_of(data), envelope.rcpt_to, found_auth)
                ctx.log(self.host, "opendmarc", "", f"{dmarc.domain} fail (p={dmarc.policy}): rejected")
                return Reply(550, f"Email rejected per DMARC policy for {dmarc.domain}", "5.7.1")
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
        if self.footer is not None:
            data = data + self.footer
        signer = from_domain(data) if self.dkim_keys else None
        key = signing_key(self.dkim_keys[signer], now) if signer is not None and signer in self.dkim_keys else None
        if key is not None:
            data = dkim_sign(data, domain=key.domain, selector=key.selector, key=key.key,
                             now_epoch_s=ctx.epoch.timestamp() + now) + data  # fmt: skip
        quarantined = dmarc is not None and dmarc.disposition == "quarantine"
        if quarantined and self.dmarc_action == DmarcAction.ENFORCE:
            # the flag local delivery files into the recipient's Junk folder by (see netlab.mail.mta.local)
            data = prepend_header(data, "X-Spam-Flag", "YES")
        if spf is not None:
            data = prepend_header(data, "Received-SPF", received_spf(spf[1], self.fqdn))
        if dkim_results:
            clauses = [f"spf={spf[1].result} smtp.mailfrom={spf[1].sender}"] if spf is not None else []
            clauses += [r.properties() for r in dkim_results]
            clauses += [dmarc.properties()] if dmarc is not None and dmarc.result != "none" else []
            data = prepend_header(data, "Authentication-Results", f"{self.fqdn}; " + "; ".join(clauses))
        qid = self.cleanup.new_qid()
        rcpts = list(envelope.rcpt_to)
        data = received_header(by_host=self.fqdn, by_ip=self.ip, helo=session.helo or "unknown",
                               client_name=session.peer_name or "unknown",
                               peer_ip=session.peer_ip, protocol=session.protocol, queue_id=qid,
                               for_rcpt=rcpts[0] if len(rcpts) == 1 else None, when=when) + data  # fmt: skip
        self.accepted += 1
        user = session.authenticated_user
        sasl = f", sasl_method=PLAIN, sasl_username={user}" if user else ""
        ctx.log(self.host, "smtpd", qid, f"client={peer}[{session.peer_ip}]{sasl}")
        for r in dkim_results:
            if r.result != "none":
                ctx.log(self.host, "opendkim", qid, f"{peer} [{session.peer_ip}] s={r.selector} d={r.domain}: "
                        + _OPENDKIM_SAYS.get(r.result, r.reason))  # fmt: skip
        if key is not None:
            ctx.log(self.host, "opendkim", qid, f"DKIM-Signature field added (s={key.selector}, d={key.domain})")
        auth = None
        if spf is not None or dkim_results:
            dkim_text = ",".join(r.result for r in dkim_results)
            auth = (spf[1].result if spf else "", dkim_text, dmarc.result if dmarc is not None else "")
        self.cleanup.enqueue(qid, envelope.mail_from, rcpts, data, client=peer, spam_score=score, auth=auth,
                             given=session.rcpt_given)  # fmt: skip
        return Replies.queued(qid)


class SmtpdPolicy:
    """The decisions of one server session of *smtpd* with the client node *peer* (a ServerPolicy)."""

    __slots__ = ("dnsbl", "eod", "peer", "smtpd", "spf")

    def __init__(self, smtpd: Smtpd, peer: str) -> None:
        self.smtpd = smtpd
        self.peer = peer
        #: ((sender, helo), (HELO verdict, MAIL FROM verdict)) of the last transaction SPF was evaluated for
        self.spf: tuple[tuple[str, str], tuple[SpfVerdict, SpfVerdict]] | None = None
        #: the blocklists naming the client: (zone, weight, TXT reason); None until asked
        self.dnsbl: tuple[tuple[str, int, str], ...] | None = None
        #: (message, (DKIM verdicts, DMARC verdict)) of the last message whose signatures were verified
        self.eod: tuple[bytes, tuple[tuple[DkimResult, ...], DmarcVerdict | None]] | None = None

    def __repr__(self) -> str:
        return f"<SmtpdPolicy {self.smtpd.host} <- {self.peer}>"

    def authenticate(self, user: str, password: str) -> bool:
        return self.smtpd.authenticate(user, password)

    def check_mail(self, session: SmtpServerSession, sender: str, size: int | None) -> Reply | None:
        return self.smtpd.check_sender(session, sender)

    def check_rcpt(self, session: SmtpServerSession, rcpt: str) -> Reply | None:
        return self.smtpd.check_recipient(session, rcpt, self)

    def message_auth(self, data: bytes) -> tuple[tuple[DkimResult, ...], DmarcVerdict | None] | None:
        """The DKIM verdicts on *data*, if already evaluated (the end of DATA asks again after its lookups)."""
        if self.eod is not None and self.eod[0] == data:
            return self.eod[1]
        return None

    def spf_verdicts(self, session: SmtpServerSession) -> tuple[SpfVerdict, SpfVerdict] | None:
        """The (HELO, MAIL FROM) SPF verdicts of the session's current transaction, if already evaluated."""
        if self.spf is not None and self.spf[0] == (session.mail_from or "", session.helo or ""):
            return self.spf[1]
        return None

    def end_of_data(self, session: SmtpServerSession, envelope: Envelope, data: bytes) -> Reply:
        return self.smtpd.end_of_data(session, envelope, data, self)

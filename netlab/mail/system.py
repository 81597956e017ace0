"""The mail system of a run: a runner extension that builds DNS, the MTAs, the inbox servers (POP3 and IMAP on
every mx) and the mail programs from the scenario's ``mail:`` section, runs the workload, checks mail conservation
and reports the mail tables.

It holds the run while any (message, recipient) is neither delivered, bounced, rejected nor discarded, and while a
message filed into the mailbox of a user whose mail program fetches has not been retrieved; at ``run.until``
whatever is queued stays queued and is reported as ``queued``. Conservation ends in the mailboxes: every delivered
(message, recipient) is still in its mailbox or was retrieved before its mail program deleted it.

>>> import netlab
>>> from netlab.mail.config import *
>>> topo = netlab.Topology(tuple(netlab.NodeSpec(n, "host") for n in ("pc", "msa", "mx", "dns")) +
...                        (netlab.NodeSpec("r"),),
...                        tuple(netlab.LinkSpec(n, "r", rate_bps=10e6, delay_s=0.002) for n in ("pc", "msa", "mx", "dns")))
>>> mail = MailSpec(dns_server="dns",
...     domains=(DomainSpec("a.test", mx=((10, "mx"),)), DomainSpec("b.test", mx=((10, "mx"),))),
...     servers=(ServerSpec("msa", role="msa", domains=("a.test",)),
...              ServerSpec("mx", role="mx", domains=("a.test", "b.test"))),
...     users=(UserSpec("alice@a.test", client="pc"), UserSpec("bob@b.test")),
...     send=(ScriptedMessage(sender="alice@a.test", to=("bob@b.test",)),))
>>> res = netlab.run(netlab.Scenario(topo, mail=mail))
>>> res.messages[["rcpt_to", "status", "mail_hops"]].values.tolist()
[['bob@b.test', 'delivered', 2]]
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from netlab.mail.config import MailSpec
from netlab.mail.config.check import zone_records
from netlab.mail.tracker import Tracker

if TYPE_CHECKING:
    import pandas as pd

    from netlab.experiment.runner import Simulation
    from netlab.mail.clients.fetch import FetchClient
    from netlab.mail.clients.mua import Mua
    from netlab.mail.content.spam import SpamVerdict
    from netlab.mail.dns import Resolver
    from netlab.mail.mta.master import Mta
    from netlab.mail.mta.qmgr import Outcome, QueueEntry

__all__ = ["MailSystem"]


class MailSystem:
    """Runner extension for the scenario's ``mail:`` section (see the module docstring)."""

    name = "mail"

    def __init__(self, spec: MailSpec) -> None:
        self.spec = spec
        self.qid_mids: dict[tuple[str, str], str] = {}
        self._dsn_counter = 0

    def __repr__(self) -> str:
        return f"<MailSystem {len(self.spec.servers)} servers, {len(self.spec.users)} users>"

    # ------------------------------------------------------------------ building
    def start(self, sim: Simulation) -> None:
        """Build the transport, DNS, MTAs and mail programs; schedule the workload and MTA crashes."""
        from datetime import datetime

        from netlab.mail.clients.fetch import FetchClient
        from netlab.mail.content.spam import SpamFilter
        from netlab.mail.dns import DnsServer
        from netlab.mail.mailbox.inbox import InboxServer
        from netlab.mail.maillog import MailLog
        from netlab.mail.mta.master import Mta
        from netlab.mail.workload import MailWorkload
        from netlab.transport import TransportStack

        self.sim = sim
        self.env = sim.env
        self.net = sim.net
        self.epoch = datetime.fromisoformat(self.spec.epoch)
        self.stack = TransportStack(sim.net)
        self.tracker = Tracker(sim.hold, sim.release)
        self.maillog = MailLog(epoch=self.epoch)
        self.spam = SpamFilter(threshold=self.spec.spam_threshold)
        self.dns = DnsServer(self.stack, self.spec.dns_server, zone_records(self.spec, sim.scenario.topology))
        self._resolvers: dict[str, Resolver] = {}
        self._muas: dict[str, Mua] = {}
        self.mtas: dict[str, Mta] = {s.host: Mta(self, s) for s in self.spec.servers}
        for mta in self.mtas.values():
            mta.start()
            if mta.spec.role == "mx":
                mta.inbox = InboxServer(self, mta)
                mta.inbox.start()
        self.fetchers: dict[str, FetchClient] = {}
        for u in self.spec.users:
            if u.fetch is not None:
                client = FetchClient(self, u)
                self.fetchers[client.user] = client
                client.start()
        for fault in sim.scenario.faults:
            if fault.node in self.mtas:
                mta = self.mtas[fault.node]
                action = mta.crash if fault.action == "down" else mta.restart
                self.env.timeout(fault.at_s).callbacks.append(lambda _e, a=action: a())
        self.workload = MailWorkload(self)
        self.workload.start()

    def resolver(self, host: str) -> Resolver:
        """The stub resolver of *host* (one per host, made on first use)."""
        r = self._resolvers.get(host)
        if r is None:
            from netlab.mail.dns import Resolver

            r = self._resolvers[host] = Resolver(self.stack, host, (self.spec.dns_server, 53),
                                                 timeout_s=self.spec.resolver_timeout_s,
                                                 retries=self.spec.resolver_retries)  # fmt: skip
        return r

    def mua(self, host: str) -> Mua:
        """The mail programs of client *host*."""
        m = self._muas.get(host)
        if m is None:
            from netlab.mail.clients.mua import Mua

            m = self._muas[host] = Mua(self, host)
        return m

    def mta(self, host: str) -> Mta:
        """The MTA on *host*."""
        return self.mtas[host]

    def local_accounts(self, domains: set[str]) -> dict[str, str]:
        """Address -> password of the users whose domain is one of *domains* (the mailboxes of an mx)."""
        return {u.address: u.password for u in self.spec.users if u.address.rpartition("@")[2].lower() in domains}

    def filed(self, mid: str, rcpt: str, where: tuple[str, str, str], now: float) -> None:
        """The MDA on an mx filed *mid* to *rcpt* at *where* = (host, user, ``UIDVALIDITY.UID``)."""
        self.tracker.filed(mid, rcpt, where, now, fetched=where[1] in self.fetchers)

    def accepted_mid(self, host: str, qid: str) -> str:
        """The Message-ID of what *host* queued as *qid*."""
        return self.qid_mids.get((host, qid), "")

    # ------------------------------------------------------------------ services for the agents
    def spam_score(self, raw: bytes, session: Any, peer: str) -> SpamVerdict:
        """Score *raw* received in *session* (inbound unless the client authenticated)."""
        from netlab.mail.content.spam import SessionInfo

        return self.spam.score(raw, SessionInfo.of(session, inbound=session.authenticated_user is None))

    def spam_status(self, verdict: SpamVerdict) -> str:
        """The ``X-Spam-Status`` value for *verdict*."""
        from netlab.mail.content.spam import x_spam_status

        return x_spam_status(verdict, self.spec.spam_threshold)

    def log(self, host: str, program: str, qid: str, text: str) -> None:
        """One maillog line now."""
        self.maillog.add(self.env.now, host, program, qid or None, text)

    def log_delivery(self, host: str, program: str, qid: str, to: str, relay: str, delay: float,
                     delays: tuple[float, ...], dsn: str, status: str, reply: str) -> None:  # fmt: skip
        """A delivery agent's ``to=<..>, relay=.., delay=.., delays=a/b/c/d, dsn=.., status=..`` line."""
        from netlab.mail.maillog import format_delivery

        self.log(host, program, qid, format_delivery(to=to, relay=relay, delay=delay, delays=delays, dsn=dsn,
                                                     status=status, reply=reply))  # fmt: skip

    def send_dsn(self, mta: Mta, entry: QueueEntry, bounced: list[Outcome], now: float) -> None:
        """Bounce: queue a DSN from ``<>`` to the envelope sender on *mta* (never for a null sender)."""
        from netlab.mail.content.dsn import RecipientStatus, build_dsn
        from netlab.mail.content.message import sim_datetime

        when = sim_datetime(self.epoch, now)
        recipients = []
        for o in bounced:
            host = o.relay.split("[")[0] if o.relay not in ("none", "local") else None
            diag = f"smtp; {o.text}" if o.code else f"x-netlab; {o.text}"
            status = o.dsn if o.dsn[:1] in "45" else "5.0.0"
            if status.startswith("4"):
                status = "5" + status[1:] if o.dsn != "4.4.7" else status
            recipients.append(RecipientStatus(o.rcpt, "failed", status, diagnostic=diag, remote_mta=host,
                                              last_attempt=when))  # fmt: skip
        self._dsn_counter += 1
        mid = f"<{int(now * 1e6)}.{self._dsn_counter}.dsn@{mta.fqdn}>"
        raw = build_dsn(reporting_mta=mta.fqdn, original=entry.raw, envelope_from=entry.sender,
                        recipients=recipients, arrival=sim_datetime(self.epoch, entry.arrival), when=when,
                        message_id=mid, queue_id=entry.qid)  # fmt: skip
        self.tracker.create(None, "", [entry.sender], now, len(raw), kind="dsn", message_id=mid,
                            origin=entry.message_id)  # fmt: skip
        dsn_entry = mta.enqueue_local("", [entry.sender], raw)
        self.log(mta.host, "bounce", entry.qid, f"sender non-delivery notification: {dsn_entry.qid}")

    # ------------------------------------------------------------------ after the run
    def _queued(self) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for mta in self.mtas.values():
            out |= mta.queued_pairs()
        return out

    def _in_transit(self) -> set[int]:
        out: set[int] = set()
        for m in self._muas.values():
            out |= m.in_transit()
        return out

    def check(self, sim: Simulation) -> None:
        """Mail conservation per (message, recipient), down to the mailboxes; raises MailConservationError."""
        from netlab.mail.tracker import MailConservationError

        self.counts = self.tracker.check(self._queued(), self._in_transit())
        stored: set[tuple[str, str, str]] = set()
        deleted: set[tuple[str, str, str]] = set()
        for m in self.mtas.values():
            for user in m.store.users:
                box = m.store.mailbox(user)
                stored |= {(m.host, user, f"{box.uidvalidity}.{e.uid}") for e in box.entries}
                deleted |= {(m.host, user, f"{box.uidvalidity}.{uid}") for uid in box.expunged}
        ends: Counter[str] = Counter()
        for row in self.tracker.rows:
            if row.status != "delivered":
                continue
            if row.mailbox in stored:
                ends["in_mailboxes"] += 1
            elif row.mailbox in deleted:
                # removed by a session of its owner (POP3 DELE + QUIT, IMAP EXPUNGE), read first or not
                ends["retrieved_and_deleted" if row.retrieved_s == row.retrieved_s else "deleted_unread"] += 1
            else:
                raise MailConservationError(
                    f"mail conservation violated: {row.message_id} to <{row.rcpt}> was delivered at "
                    f"{row.delivered_s:.6g} s but is neither in its mailbox ({row.mailbox}) nor was it deleted "
                    "from there by a POP3 or IMAP session")  # fmt: skip
        self.counts.update(dict.fromkeys(("in_mailboxes", "retrieved_and_deleted", "deleted_unread"), 0), **ends)

    def tables(self, sim: Simulation) -> dict[str, pd.DataFrame]:
        """``messages``, ``mail_hops``, ``maillog`` (with the full syslog ``line``), ``connections``,
        ``fetch_sessions`` (one row per POP3/IMAP session of a mail program) and ``mailboxes`` (the stores)."""
        from netlab.mail.mailbox.inbox import mailboxes_frame
        from netlab.transport import connections_table

        log = self.maillog.frame()
        log.insert(0, "line", [line.render(self.epoch) for line in self.maillog.lines])
        return {
            "messages": self.tracker.messages_frame(self._queued()),
            "mail_hops": self.tracker.hops_frame(),
            "maillog": log,
            "connections": connections_table(self.stack),
            "fetch_sessions": self.tracker.fetches_frame(),
            "mailboxes": mailboxes_frame(self.mtas.values()),
        }

    def summary(self, sim: Simulation) -> dict[str, Any]:
        """Counts by status (mail and DSNs apart), delivery time percentiles (s), queue and DNS figures."""
        queued = self._queued()
        by_kind: dict[str, Counter[str]] = {"mail": Counter(), "dsn": Counter()}
        delays = []
        for row in self.tracker.rows:
            by_kind[row.kind][self.tracker.status_of(row, queued)] += 1
            if row.kind == "mail" and row.status == "delivered":
                delays.append(row.delivered_s - row.submitted_s)
        delays.sort()

        def pct(p: float) -> float:
            if not delays:
                return float("nan")
            return delays[min(len(delays) - 1, int(p / 100 * len(delays)))]

        return {
            "messages": dict(by_kind["mail"]), "dsns": dict(by_kind["dsn"]),
            "submissions": sum(m.submitted for m in self._muas.values()),
            "delivery_p50_s": pct(50), "delivery_p95_s": pct(95), "delivery_p99_s": pct(99),
            "smtp_transactions": len(self.tracker.hops), "duplicates": self.tracker.duplicates,
            "queued_messages": sum(len(m.queue.entries) for m in self.mtas.values()),
            "dns_queries": int(self.dns.stats["queries"]), "maillog_lines": len(self.maillog),
            "in_mailboxes": sum(m.store.count() for m in self.mtas.values()),
            "retrieved": sum(1 for r in self.tracker.rows if r.retrieved_s == r.retrieved_s),
            "fetch_sessions": dict(Counter(f.protocol for f in self.tracker.fetches)),
            # where the delivered (message, recipient) pairs ended (the conservation check counted them)
            "delivered_ends": {k: getattr(self, "counts", {}).get(k, 0)
                               for k in ("in_mailboxes", "retrieved_and_deleted", "deleted_unread")},
        }  # fmt: skip

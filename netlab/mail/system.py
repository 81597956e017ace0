"""The mail system of a run: a runner extension that builds DNS, the MTAs, the inbox servers (POP3 and IMAP on
every mx) and the mail programs from the scenario's ``mail:`` section, runs the workload, checks mail conservation
and reports the mail tables.

It is the one place that knows every agent. It takes from the run only what :class:`RunHandle` says (the clock,
the network, the topology and faults, hold and release), gives each agent a :class:`~netlab.mail.context.MailContext`
and its own configuration, and carries what crosses between agents: a host's crash and restart reach its MTA and
its inbox server from here.

It holds the run while any (message, recipient) is neither delivered, bounced, rejected nor discarded, and while a
message filed into the mailbox of a user whose mail program fetches has not been retrieved; at ``run.until``
whatever is queued stays queued and is reported as ``queued``. Conservation ends in the mailboxes: every delivered
(message, recipient) is still in its mailbox or was retrieved before its mail program deleted it.

>>> import netlab
>>> from netlab.mail.config import *
>>> hosts = ("pc", "msa", "mx", "dns")
>>> topo = netlab.Topology(tuple(netlab.NodeSpec(n, "host") for n in hosts) + (netlab.NodeSpec("r"),),
...                        tuple(netlab.LinkSpec(n, "r", rate_bps=10e6, delay_s=0.002) for n in hosts))
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

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from netlab._quantile import percentiles
from netlab.mail.config.check import dns_change_times, zone_records
from netlab.mail.config.servers import QuotaAction, ServerRole
from netlab.mail.content.address import Address
from netlab.mail.mailbox.store import account
from netlab.mail.tracker import MailStatus, MessageKind, MessageRow, Tracker

if TYPE_CHECKING:
    import pandas as pd
    import simpy

    from netlab.mail.clients.fetch import FetchClient
    from netlab.mail.clients.mua import Mua
    from netlab.mail.config.section import MailSpec
    from netlab.mail.context import MailContext
    from netlab.mail.dns import DnsServer, Resolver, ZoneSet
    from netlab.mail.mailbox.inbox import InboxServer
    from netlab.mail.mailbox.store import MessageStore
    from netlab.mail.maillog import MailLog
    from netlab.mail.mta.dkimkey import DkimKey
    from netlab.mail.mta.master import Mta
    from netlab.mail.workload import MailWorkload
    from netlab.network.faults import FaultSpec
    from netlab.network.network import Network
    from netlab.topology.spec import Topology
    from netlab.transport import TransportStack
    from netlab.transport.config import TcpConfig

__all__ = ["MailSystem", "RunHandle", "ScenarioView"]


class RunLimits(Protocol):
    """The part of ``run:`` the mail system reads."""

    @property
    def until_s(self) -> float | None: ...


class ScenarioView(Protocol):
    """The parts of the scenario the mail system reads besides its own section."""

    @property
    def topology(self) -> Topology: ...

    @property
    def faults(self) -> Sequence[FaultSpec]: ...

    @property
    def run(self) -> RunLimits: ...

    @property
    def transport(self) -> TcpConfig: ...


class RunHandle(Protocol):
    """What the mail system needs of the run it is part of (the runner's ``Simulation`` is one)."""

    @property
    def env(self) -> simpy.Environment: ...

    @property
    def net(self) -> Network: ...

    @property
    def scenario(self) -> ScenarioView: ...

    def hold(self) -> None:
        """Keep the run from ending idle until a matching :meth:`release`."""
        ...

    def release(self) -> None:
        """Undo one :meth:`hold`."""
        ...

    @property
    def snapshots(self) -> Sequence[tuple[float, Any]]:
        """The link statistics' samples, the first element of each its time (s): the run's bin boundaries."""
        ...


class MailSystem:
    """Runner extension for the scenario's ``mail:`` section (see the module docstring).

    After :meth:`start`: ``stack`` (the transport), ``tracker``, ``maillog``, ``dns``, ``mtas`` (host -> Mta),
    ``stores`` (mx host -> its message store), ``inboxes`` (mx host -> InboxServer), ``fetchers`` (account ->
    the mail program fetching it), and :meth:`resolver` and :meth:`mua` by host.
    """

    name = "mail"

    def __init__(self, spec: MailSpec) -> None:
        self.spec = spec

    def __repr__(self) -> str:
        return f"<MailSystem {len(self.spec.servers)} servers, {len(self.spec.users)} users>"

    # ------------------------------------------------------------------ building
    def start(self, run: RunHandle) -> None:
        """Build the transport, DNS, MTAs and mail programs; schedule the workload and the hosts' crashes."""
        from datetime import datetime

        from netlab.mail.clients.fetch import FetchClient
        from netlab.mail.content.spam import SpamFilter
        from netlab.mail.context import MailContext
        from netlab.mail.dns import DnsServer, Record
        from netlab.mail.mailbox.inbox import InboxServer
        from netlab.mail.mailbox.store import MessageStore
        from netlab.mail.maillog import MailLog
        from netlab.mail.mta.master import Mta
        from netlab.mail.workload import MailWorkload
        from netlab.transport import TransportStack

        spec = self.spec
        self.env = run.env
        self.epoch = datetime.fromisoformat(spec.epoch)
        # A day of mail opens hundreds of thousands of connections: once closed, only their statistics rows stay.
        self.stack: TransportStack = TransportStack(run.net, run.scenario.transport, keep_closed=False)
        self.tracker = Tracker(run.hold, run.release)
        self.maillog: MailLog = MailLog(epoch=self.epoch)
        self.ctx: MailContext = MailContext(run.net, self.stack, self.tracker, self.maillog,
                                            dns_server=spec.dns_server, epoch=self.epoch,
                                            resolver_timeout_s=spec.resolver_timeout_s,
                                            resolver_retries=spec.resolver_retries, hold=run.hold,
                                            release=run.release)  # fmt: skip
        spam = SpamFilter(threshold=spec.spam_threshold)
        self.dkim_keys = self._dkim_keys(run.net.seed)
        key_records = [(Record(k.name, "TXT", k.key.dns_txt(), spec.dns_ttl_s), k.publish_s, k.withdraw_s)
                       for keys in self.dkim_keys.values() for k in keys]  # fmt: skip
        topology = run.scenario.topology
        self.dns: DnsServer = DnsServer(self.stack, spec.dns_server, zone_records(spec, topology, key_records))
        for t in dns_change_times(spec, key_records):  # the zone as it is from t (timed records, key rotations)
            zones = zone_records(spec, topology, key_records, at=t)
            self.env.timeout(t).callbacks.append(partial(self._new_zone, zones))
        self._muas: dict[str, Mua] = {}
        # The message store of each mx, keyed by account: the mailboxes of the users of its domains.
        self.stores: dict[str, MessageStore] = {
            s.host: MessageStore(self._mailbox_users(s.domains), quota_bytes=s.quota_bytes,
                                 quota_permanent=s.quota_action == QuotaAction.BOUNCE, epoch=self.epoch,
                                 fold_local_parts=spec.fold_local_parts)
            for s in spec.servers if s.role == ServerRole.MX
        }  # fmt: skip
        fetching = {account(u.address) for u in spec.users if u.fetch is not None}
        dsns = itertools.count(1)
        self.mtas: dict[str, Mta] = {
            s.host: Mta(self.ctx, s, mail=spec, spam=spam, mailboxes=self.stores.get(s.host), fetching=fetching,
                        dsn_serial=dsns, dkim_keys=self.dkim_keys)
            for s in spec.servers
        }  # fmt: skip
        self.inboxes: dict[str, InboxServer] = {}
        for mta in self.mtas.values():
            mta.start()
            store = self.stores.get(mta.host)
            if store is not None:
                inbox = self.inboxes[mta.host] = InboxServer(self.ctx, host=mta.host, fqdn=mta.fqdn, store=store)
                inbox.start()
        self.fetchers: dict[str, FetchClient] = {}
        for u in spec.users:
            if u.fetch is not None:
                server = spec.mailbox_host(Address.split(u.address).domain)
                assert server is not None  # validate_mail: every user has a mailbox
                client = FetchClient(self.ctx, u, server=server, give_up_s=spec.submit_give_up_s,
                                     connect_timeout_s=spec.queue.connect_timeout_s)  # fmt: skip
                self.fetchers[client.user] = client
                client.start()
        for fault in run.scenario.faults:
            if fault.node is not None and fault.node in self.mtas:
                action = self.crash if fault.action == "down" else self.restart
                self.env.timeout(fault.at_s).callbacks.append(partial(_at_event, action, fault.node))
        self.workload: MailWorkload = MailWorkload(self.ctx, spec, self.mua)
        self.workload.start(until_s=run.scenario.run.until_s)

    def _new_zone(self, zones: ZoneSet, _event: simpy.Event) -> None:
        self.dns.zones = zones

    def _dkim_keys(self, seed: int) -> dict[str, tuple[DkimKey, ...]]:
        """The DKIM keys of each domain some server signs for (its rotations too), made from the run's seed (none:
        nothing imported)."""
        spec = self.spec
        domains = sorted({d for s in spec.servers for d in s.dkim_sign})
        if not domains:
            return {}
        from netlab.mail.mta.dkimkey import key_schedule

        return {d: key_schedule(seed, d, selector=spec.dkim_selector, bits=spec.dkim_key_bits,
                                rotations=[(r.at_s, r.selector, r.publish_s) for r in spec.dkim_rotations
                                           if r.domain.lower() == d])
                for d in domains}  # fmt: skip

    def _mailbox_users(self, domains: Sequence[str]) -> dict[str, str]:
        """Account -> password of the users whose domain is one of *domains* (the mailboxes of an mx)."""
        wanted = {d.lower() for d in domains}
        return {account(u.address): u.password for u in self.spec.users if Address.split(u.address).domain in wanted}

    # ------------------------------------------------------------------ the agents
    def resolver(self, host: str) -> Resolver:
        """The stub resolver of *host* (one per host, made on first use)."""
        return self.ctx.resolver(host)

    def mua(self, host: str) -> Mua:
        """The mail programs of client *host*."""
        m = self._muas.get(host)
        if m is None:
            from netlab.mail.clients.mua import Mua

            spec = self.spec
            m = self._muas[host] = Mua(self.ctx, host, retry_s=spec.submit_retry_s, give_up_s=spec.submit_give_up_s,
                                       connect_timeout_s=spec.queue.connect_timeout_s,
                                       command_timeout_s=spec.queue.command_timeout_s)  # fmt: skip
        return m

    def mta(self, host: str) -> Mta:
        """The MTA on *host*."""
        return self.mtas[host]

    def accepted_mid(self, host: str, qid: str) -> str:
        """The Message-ID of what *host* queued as *qid*."""
        return self.tracker.message_id_at(host, qid)

    def log(self, host: str, program: str, qid: str, text: str) -> None:
        """One maillog line now."""
        self.ctx.log(host, program, qid, text)

    # ------------------------------------------------------------------ what crosses between agents
    def crash(self, host: str) -> None:
        """*host* went down: its MTA's sessions die (the queue stays on disk), then its inbox server's."""
        self.mtas[host].crash()
        inbox = self.inboxes.get(host)
        if inbox is not None:
            inbox.crash()

    def restart(self, host: str) -> None:
        """*host* is back: its inbox server accepts sessions again and its queue manager resumes."""
        inbox = self.inboxes.get(host)
        if inbox is not None:
            inbox.restart()
        self.mtas[host].restart()

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

    def _log_of(self, row: MessageRow) -> list[str]:
        """The maillog lines of *row*: those of the queue files that held it and those naming its Message-ID."""
        files = {(host, qid) for host, qid, _ in row.hops}
        mid = row.message_id
        return [line.render(self.epoch) for line in self.maillog.lines
                if (line.host, line.queue_id) in files or (mid and mid in line.text)]  # fmt: skip

    def check(self, run: RunHandle) -> None:
        """Mail conservation per (message, recipient), down to the mailboxes; raises MailConservationError."""
        from netlab.mail.tracker import MailConservationError

        self.counts = self.tracker.check(self._queued(), self._in_transit(), self._log_of)
        stored: set[tuple[str, str, str]] = set()
        deleted: set[tuple[str, str, str]] = set()
        for host, store in self.stores.items():
            for user in store.users:
                # every folder: quarantined mail is in Junk (UIDVALIDITY tells a user's mailboxes apart)
                for box in store.mailboxes(user):
                    stored |= {(host, user, f"{box.uidvalidity}.{e.uid}") for e in box.entries}
                    deleted |= {(host, user, f"{box.uidvalidity}.{uid}") for uid in box.expunged}
        ends: Counter[str] = Counter()
        for row in self.tracker.rows:
            if row.status != MailStatus.DELIVERED:
                continue
            if row.mailbox in stored:
                ends["in_mailboxes"] += 1
            elif row.mailbox in deleted:
                # removed by a session of its owner (POP3 DELE + QUIT, IMAP EXPUNGE), read first or not
                ends["retrieved_and_deleted" if row.retrieved_s == row.retrieved_s else "deleted_unread"] += 1
            else:
                err = MailConservationError(
                    f"mail conservation violated: {row.message_id} to <{row.rcpt}> was delivered at "
                    f"{row.delivered_s:.6g} s but is neither in its mailbox ({row.mailbox}) nor was it deleted "
                    "from there by a POP3 or IMAP session:\n"
                    + self.tracker.diagnosis([row], self._log_of))  # fmt: skip
                err.lost = [(row.message_id, row.rcpt)]
                raise err
        self.counts.update(dict.fromkeys(("in_mailboxes", "retrieved_and_deleted", "deleted_unread"), 0), **ends)

    def tables(self, run: RunHandle) -> dict[str, pd.DataFrame]:
        """``messages``, ``mail_hops``, ``maillog`` (with the full syslog ``line``), ``connections``,
        ``fetch_sessions`` (one row per POP3/IMAP session of a mail program), ``mailboxes`` (the stores) and
        ``mail_queues`` (each MTA's queue sizes at every bin boundary of the run) and ``mail_attempts`` (one row per
        delivery attempt of one recipient of one queue file, from the delivery agents' ``status=`` lines)."""
        from netlab.mail.mailbox.table import mailboxes_frame
        from netlab.mail.maillog import attempts_frame
        from netlab.transport import connections_table
        from netlab.transport.stats import cwnd_table

        log = self.maillog.frame()
        log.insert(0, "line", [line.render(self.epoch) for line in self.maillog.lines])
        tables = {
            "messages": self.tracker.messages_frame(self._queued()),
            "mail_hops": self.tracker.hops_frame(),
            "maillog": log,
            "connections": connections_table(self.stack),
            "fetch_sessions": self.tracker.fetches_frame(),
            "mailboxes": mailboxes_frame(self.stores.items()),
            "mail_queues": self.queues_frame([t for t, _ in run.snapshots]),
            "mail_attempts": attempts_frame(log),
            **({"cwnd": cwnd_table(self.stack)} if self.stack.config.trace else {}),
        }
        if any(s.dmarc != "off" for s in self.spec.servers):
            tables["dmarc_reports"] = self.dmarc_report()
        return tables

    def queues_frame(self, times: Sequence[float]) -> pd.DataFrame:
        """``Results.mail_queues``: per time of *times* (s; the run's bin boundaries, ``link_bins.bin_start_s``
        and the end) and MTA, the messages in its ``incoming``, ``active`` and ``deferred`` queues at that instant,
        after every queue move made at it. Counted per message (queue file), not per recipient."""
        import pandas as pd

        rows = [(t, host, *mta.queue.sizes_at(t)) for t in times for host, mta in self.mtas.items()]
        return pd.DataFrame(rows, columns=["time_s", "mta", "incoming", "active", "deferred"])

    def dmarc_report(self) -> pd.DataFrame:
        """The run's DMARC aggregate counts, one row per (reporting server, header From domain, source IP,
        disposition, aligned DKIM, aligned SPF, result), like the records of an RFC 7489 Appendix C report."""
        import pandas as pd

        cols = ["reporter", "header_from", "source_ip", "count", "disposition", "dkim", "spf", "dmarc"]
        rows = [(host, k[0], k[1], n, k[2], k[3], k[4], k[5])
                for host, mta in self.mtas.items() for k, n in sorted(mta.smtpd.dmarc_counts.items())]  # fmt: skip
        return pd.DataFrame(rows, columns=cols)

    def summary(self, run: RunHandle) -> dict[str, Any]:
        """Counts by status (mail and DSNs apart), delivery time percentiles (s), queue and DNS figures."""
        queued = self._queued()
        by_kind: dict[MessageKind, Counter[str]] = {MessageKind.MAIL: Counter(), MessageKind.DSN: Counter()}
        delays = []
        for row in self.tracker.rows:
            by_kind[row.kind][self.tracker.status_of(row, queued).value] += 1
            if row.kind == MessageKind.MAIL and row.status == MailStatus.DELIVERED:
                delays.append(row.delivered_s - row.submitted_s)
        p50, p95, p99 = percentiles(delays, (50, 95, 99))  # numpy's linear definition, as compare's metrics
        return {
            "messages": dict(by_kind[MessageKind.MAIL]), "dsns": dict(by_kind[MessageKind.DSN]),
            "submissions": sum(m.submitted for m in self._muas.values()),
            "scripted_after_until": self.workload.after_until,
            "delivery_p50_s": p50, "delivery_p95_s": p95, "delivery_p99_s": p99,
            "smtp_transactions": len(self.tracker.hops), "duplicates": self.tracker.duplicates,
            "merged_recipients": self.tracker.merged,
            "queued_messages": sum(len(m.queue.entries) for m in self.mtas.values()),
            "dns_queries": int(self.dns.stats["queries"]), "maillog_lines": len(self.maillog),
            "in_mailboxes": sum(store.count() for store in self.stores.values()),
            "retrieved": sum(1 for r in self.tracker.rows if r.retrieved_s == r.retrieved_s),
            "fetch_sessions": dict(Counter(f.protocol.value for f in self.tracker.fetches)),
            # where the delivered (message, recipient) pairs ended (the conservation check counted them)
            "delivered_ends": {k: getattr(self, "counts", {}).get(k, 0)
                               for k in ("in_mailboxes", "retrieved_and_deleted", "deleted_unread")},
        }  # fmt: skip


def _at_event(action: Callable[[str], None], host: str, _event: simpy.Event) -> None:
    """A timer's callback: *action* (a crash or a restart) of *host*."""
    action(host)

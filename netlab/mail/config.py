"""The ``mail:`` section of a scenario as frozen values: domains, servers, users, DNS records, queue, workload.

Field metadata (``option(key=, unit=, doc=)``) drives the YAML format and the reference page, as for the rest of
the scenario. :func:`validate_mail` checks the section against the topology when the scenario is built, so a
bad file fails at load time with the key that is wrong.

>>> spec = MailSpec(dns_server="dns", domains=(DomainSpec("b.test", mx=((10, "mx1"),)),),
...                 servers=(ServerSpec("mx1", role="mx", domains=("b.test",)),),
...                 users=(UserSpec("bob@b.test"),))
>>> spec.server("mx1").fqdn, spec.queue.maximal_backoff_s
('mx1.b.test', 4000.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netlab.errors import ConfigError, TopologyError
from netlab.topology.spec import option

if TYPE_CHECKING:
    from netlab.topology.spec import Topology

__all__ = [
    "ROLES",
    "DomainSpec",
    "FetchSpec",
    "MailSpec",
    "MailWorkloadSpec",
    "QueueSpec",
    "RecordSpec",
    "ScriptedMessage",
    "ServerSpec",
    "UserSpec",
    "validate_mail",
]

#: Mail server roles: ``msa`` takes authenticated submissions on 587; ``mx`` is final destination for its
#: domains on 25 and the inbox server of their users (message store, MDA, POP3 on 110, IMAP on 143); ``relay``
#: passes mail on (smarthost, backup MX) on 25.
ROLES = ("msa", "mx", "relay")
_DEFAULT_EPOCH = "2026-01-01T00:00:00+00:00"


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """Queue manager and SMTP client parameters, Postfix's defaults (``postconf`` names in the docs)."""

    queue_run_delay_s: float = option(300.0, key="queue_run_delay", unit="time", doc="deferred queue scan interval")
    minimal_backoff_s: float = option(300.0, key="minimal_backoff", unit="time", doc="least wait after a failure")
    maximal_backoff_s: float = option(4000.0, key="maximal_backoff", unit="time", doc="most wait after a failure")
    maximal_queue_lifetime_s: float = option(432000.0, key="maximal_queue_lifetime", unit="time",
                                             doc="a message still undelivered after this bounces")  # fmt: skip
    bounce_queue_lifetime_s: float = option(432000.0, key="bounce_queue_lifetime", unit="time",
                                            doc="the same for bounces (sender <>)")  # fmt: skip
    destination_concurrency_limit: int = option(20, doc="parallel deliveries per destination")
    initial_destination_concurrency: int = option(5, doc="parallel deliveries a destination starts with; +1 per "
                                                  "delivery that got past the greeting (slow start)")  # fmt: skip
    destination_concurrency_failed_cohort_limit: float = option(
        1.0, doc="connection or handshake failures, in pseudo-cohorts of window size, that make a destination "
        "dead: its mail is deferred without attempts for minimal_backoff (0: never)")  # fmt: skip
    connect_timeout_s: float = option(30.0, key="connect_timeout", unit="time", doc="smtp_connect_timeout")
    command_timeout_s: float = option(300.0, key="command_timeout", unit="time",
                                      doc="wait for any reply (600 s after the final dot)")  # fmt: skip
    mx_address_limit: int = option(5, doc="MX hosts tried per delivery attempt")

    def __post_init__(self) -> None:
        for name in ("queue_run_delay_s", "minimal_backoff_s", "maximal_backoff_s", "maximal_queue_lifetime_s",
                     "bounce_queue_lifetime_s", "connect_timeout_s", "command_timeout_s"):  # fmt: skip
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ConfigError(f"queue.{name.removesuffix('_s')}: expected a positive time, got {v!r}")
        if self.minimal_backoff_s > self.maximal_backoff_s:
            raise ConfigError("queue: minimal_backoff must not exceed maximal_backoff")
        cohorts = self.destination_concurrency_failed_cohort_limit
        if isinstance(cohorts, bool) or not isinstance(cohorts, int | float) or not (0 <= cohorts < math.inf):
            raise ConfigError("queue.destination_concurrency_failed_cohort_limit: expected a number >= 0, "
                              f"got {cohorts!r}")  # fmt: skip
        for name in ("destination_concurrency_limit", "initial_destination_concurrency", "mx_address_limit"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"queue.{name}: expected a whole number >= 1, got {v!r}")


@dataclass(frozen=True, slots=True)
class DomainSpec:
    """A mail domain and its MX records (preference, server host)."""

    name: str = option(doc="domain name, e.g. example.org")
    mx: tuple[tuple[int, str], ...] = option((), doc="MX records as [preference, server host] pairs")
    null_mx: bool = option(False, doc="publish `MX 0 .` (RFC 7505: the domain accepts no mail)")


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """A mail server on a host: its role, the domains it serves, relaying rules, checks and queue."""

    host: str = option(doc="the node running it")
    role: str = option("mx", doc="msa (587, AUTH), mx (25, final destination) or relay (25)")
    domains: tuple[str, ...] = option((), doc="mx: domains delivered to the local mailbox; msa: domains whose "
                                      "users submit here")  # fmt: skip
    relay_domains: tuple[str, ...] = option((), doc="domains accepted from anyone and passed on (backup MX)")
    trusted: tuple[str, ...] = option((), doc="client hosts allowed to relay anywhere (mynetworks)")
    smarthost: str | None = option(None, doc="send all non-local mail through this server host")
    fqdn: str | None = option(None, doc="host name in DNS and HELO; default <host>.<first domain>")
    size_limit_bytes: int = option(10240000, key="size_limit", unit="size", doc="message_size_limit")
    hop_limit: int = option(50, doc="Received: headers beyond which mail is refused (554 5.4.0)")
    spam_action: str | None = option(None, doc="reject, tag or off; default reject on msa (outbound), tag on mx")
    relay_refusal: str = option("reject", doc="foreign domain from an unauthenticated client: reject "
                                "(554 5.7.1) or defer (454 4.7.1)")  # fmt: skip
    queue: QueueSpec | None = option(None, doc="overrides mail.queue for this server")
    quota_bytes: int | None = option(None, key="quota", unit="size", doc="mx: octets each user's mailbox may hold "
                                     "(none: no limit)")  # fmt: skip
    quota_action: str = option("defer", doc="mx, mailbox over quota: defer (452 4.2.2, retried) or bounce "
                               "(552 5.2.2)")  # fmt: skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "domains", tuple(self.domains))
        object.__setattr__(self, "relay_domains", tuple(self.relay_domains))
        object.__setattr__(self, "trusted", tuple(self.trusted))
        if self.role not in ROLES:
            raise ConfigError(f"server {self.host}: role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if self.spam_action is not None and self.spam_action not in ("reject", "tag", "off"):
            raise ConfigError(f"server {self.host}: spam_action must be reject, tag or off, got {self.spam_action!r}")
        if self.relay_refusal not in ("reject", "defer"):
            raise ConfigError(f"server {self.host}: relay_refusal must be reject or defer, got {self.relay_refusal!r}")
        if self.fqdn is None:
            zone = (self.domains or self.relay_domains or ("net.test",))[0]
            object.__setattr__(self, "fqdn", f"{self.host}.{zone}".lower())
        if self.hop_limit < 1 or self.size_limit_bytes < 0:
            raise ConfigError(f"server {self.host}: hop_limit must be >= 1 and size_limit >= 0")
        if self.quota_action not in ("defer", "bounce"):
            raise ConfigError(f"server {self.host}: quota_action must be defer or bounce, got {self.quota_action!r}")
        if self.quota_bytes is not None and self.quota_bytes < 0:
            raise ConfigError(f"server {self.host}: quota must be >= 0")

    @property
    def port(self) -> int:
        """587 for an MSA, 25 otherwise."""
        return 587 if self.role == "msa" else 25

    @property
    def spam(self) -> str:
        """The effective spam action."""
        return self.spam_action or {"msa": "reject", "mx": "tag"}.get(self.role, "off")


FETCH_PROTOCOLS = ("pop3", "imap")


@dataclass(frozen=True, slots=True)
class FetchSpec:
    """How a user's mail program fetches mail from the inbox server (its domain's mx) over the network."""

    protocol: str = option("imap", doc="pop3 (port 110) or imap (port 143)")
    interval_s: float = option(60.0, key="interval", unit="time", doc="between the starts of two polls; with "
                               "idle, the wait before reconnecting after a failure")  # fmt: skip
    idle: bool = option(False, doc="imap: stay logged in and wait in IDLE for the server's push (RFC 2177)")
    delete: bool = option(False, doc="delete fetched mail on the server (POP3 DELE, IMAP \\Deleted + EXPUNGE); "
                          "default: leave it there")  # fmt: skip

    def __post_init__(self) -> None:
        if self.protocol not in FETCH_PROTOCOLS:
            raise ConfigError(f"fetch.protocol: expected pop3 or imap, got {self.protocol!r}")
        if not (self.interval_s > 0 and math.isfinite(self.interval_s)):
            raise ConfigError(f"fetch.interval: expected a positive time, got {self.interval_s!r}")
        if self.idle and self.protocol != "imap":
            raise ConfigError("fetch.idle: IDLE is an IMAP extension; use protocol imap or poll")


@dataclass(frozen=True, slots=True)
class UserSpec:
    """A mail user: address (its domain's MX holds the mailbox), password, the client host its mail program runs
    on (to send, and to fetch with ``fetch``)."""

    address: str = option(doc="user@domain")
    password: str = option("secret", doc="AUTH password at the MSA")
    client: str | None = option(None, doc="host the user's mail program runs on (none: receives only)")
    msa: str | None = option(None, doc="MSA host it submits to; default the msa serving its domain")
    may_send_as: tuple[str, ...] = option((), doc="other sender addresses the MSA lets this user use")
    fetch: FetchSpec | None = option(None, doc="how the mail program on `client` fetches the user's mail (POP3 or "
                                     "IMAP); none: the mail stays in the mailbox")  # fmt: skip


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """An extra DNS record (A, MX, TXT or CNAME); servers' A and domains' MX records are made automatically."""

    name: str = option(doc="owner name")
    type: str = option("A", doc="A, MX, TXT or CNAME")
    value: str = option("", doc="address, target name or text ('.' for a null MX)")
    ttl_s: float | None = option(None, key="ttl", unit="time", doc="default mail.dns_ttl")
    preference: int | None = option(None, doc="MX preference")


@dataclass(frozen=True, slots=True)
class ScriptedMessage:
    """One message a user's mail program submits at a given time (lessons and tests)."""

    at_s: float = option(0.0, key="at", unit="time", doc="submission time")
    sender: str = option(key="from", doc="envelope and From: address (a user, or a bare local part)")
    to: tuple[str, ...] = option((), doc="envelope recipients")
    subject: str = option("Hello", doc="Subject:")
    body: str = option("Hello,\nthis is a test.\n", doc="text body")
    attachment_bytes: int = option(0, key="attachment", unit="size", doc="size of a binary attachment (0: none)")
    password: str | None = option(None, doc="AUTH password (default the user's; 'none' skips AUTH)")
    headers: bool = option(True, doc="false: leave Date and Message-ID for the MSA to add")


@dataclass(frozen=True, slots=True)
class MailWorkloadSpec:
    """Random mail traffic: Poisson submissions per user, lognormal sizes, attachments, spam."""

    mean_interval_s: float = option(600.0, key="mean_interval", unit="time", doc="mean time between a user's mails")
    count: int | None = option(None, doc="stop after this many messages in all (none: until stop)")
    start_s: float = option(0.0, key="start", unit="time", doc="first possible submission")
    stop_s: float | None = option(None, key="stop", unit="time", doc="no submissions after this")
    senders: tuple[str, ...] = option((), doc="sending users (default every user with a client and an msa)")
    recipients: tuple[str, ...] = option((), doc="possible recipients (default every user)")
    extra_recipients_mean: float = option(0.5, doc="mean of the extra recipients beyond the first (geometric)")
    max_recipients: int = option(5, doc="most recipients per message")
    body_median_bytes: float = option(2000.0, key="body_median", unit="size", doc="lognormal body size median")
    body_sigma: float = option(1.0, doc="lognormal sigma of the body size")
    attachment_probability: float = option(0.15, doc="chance that a message has an attachment")
    attachment_median_bytes: float = option(50000.0, key="attachment_median", unit="size", doc="lognormal median")
    attachment_sigma: float = option(1.2, doc="lognormal sigma of the attachment size")
    max_size_bytes: int = option(20_000_000, key="max_size", unit="size", doc="sizes are capped here")
    spam_fraction: float = option(0.05, doc="share of messages with spam content (GTUBE)")
    missing_headers_fraction: float = option(0.1, doc="share submitted without Date and Message-ID")

    def __post_init__(self) -> None:
        object.__setattr__(self, "senders", tuple(self.senders))
        object.__setattr__(self, "recipients", tuple(self.recipients))
        for name in ("spam_fraction", "attachment_probability", "missing_headers_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"mail.workload.{name}: expected a probability in [0, 1], got {v!r}")
        if not (self.mean_interval_s > 0 and math.isfinite(self.mean_interval_s)):
            raise ConfigError(f"mail.workload.mean_interval: expected a positive time, got {self.mean_interval_s!r}")
        if self.count is not None and self.count < 0:
            raise ConfigError("mail.workload.count must be >= 0")
        if self.max_recipients < 1 or self.extra_recipients_mean < 0:
            raise ConfigError("mail.workload: max_recipients must be >= 1, extra_recipients_mean >= 0")

    @property
    def finite(self) -> bool:
        """True when the workload ends by itself (a count or a stop time)."""
        return self.count is not None or self.stop_s is not None


@dataclass(frozen=True, slots=True)
class MailSpec:
    """Everything mail in a scenario (``mail:``); see docs/scenario-reference.md."""

    dns_server: str = option(doc="host running the DNS server (port 53)")
    domains: tuple[DomainSpec, ...] = option((), doc="mail domains and their MX records")
    servers: tuple[ServerSpec, ...] = option((), doc="mail servers (msa, mx, relay)")
    users: tuple[UserSpec, ...] = option((), doc="mail users (mailboxes at their domain's mx)")
    records: tuple[RecordSpec, ...] = option((), doc="extra DNS records")
    queue: QueueSpec = option(key="queue", doc="queue defaults for every server", default_factory=QueueSpec)
    dns_ttl_s: float = option(3600.0, key="dns_ttl", unit="time", doc="TTL of the generated records")
    resolver_timeout_s: float = option(2.0, key="resolver_timeout", unit="time", doc="wait per DNS query")
    resolver_retries: int = option(2, doc="DNS query retransmissions")
    spam_threshold: float = option(5.0, doc="spam score at or above which a message is spam")
    epoch: str = option(_DEFAULT_EPOCH, doc="wall-clock date of simulated time 0 (ISO 8601)")
    submit_retry_s: float = option(60.0, key="submit_retry", unit="time", doc="a mail program retries after this")
    submit_give_up_s: float = option(3600.0, key="submit_give_up", unit="time", doc="and gives up after this")
    send: tuple[ScriptedMessage, ...] = option((), doc="scripted submissions")
    workload: MailWorkloadSpec | None = option(None, doc="random mail traffic")

    def __post_init__(self) -> None:
        for name in ("domains", "servers", "users", "records", "send"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        from datetime import datetime

        try:
            when = datetime.fromisoformat(self.epoch)
        except (TypeError, ValueError):
            raise ConfigError(f"mail.epoch: expected an ISO 8601 date like {_DEFAULT_EPOCH!r}, got {self.epoch!r}")
        if when.tzinfo is None:
            raise ConfigError(f"mail.epoch: give a zone offset (e.g. +00:00), got {self.epoch!r}")

    def server(self, host: str) -> ServerSpec:
        """The server running on *host* (KeyError if none)."""
        for s in self.servers:
            if s.host == host:
                return s
        raise KeyError(host)

    def domain(self, name: str) -> DomainSpec | None:
        """The domain called *name* (case-insensitive), or None."""
        name = name.lower()
        for d in self.domains:
            if d.name.lower() == name:
                return d
        return None

    def mailbox_host(self, domain: str) -> str | None:
        """The mx host that is final destination for *domain*, or None."""
        domain = domain.lower()
        for s in self.servers:
            if s.role == "mx" and domain in (d.lower() for d in s.domains):
                return s.host
        return None

    def msa_for(self, user: UserSpec) -> str | None:
        """The MSA host *user* submits to."""
        if user.msa is not None:
            return user.msa
        domain = user.address.rpartition("@")[2].lower()
        for s in self.servers:
            if s.role == "msa" and domain in (d.lower() for d in s.domains):
                return s.host
        msas = [s.host for s in self.servers if s.role == "msa"]
        return msas[0] if len(msas) == 1 else None

    def default_senders(self) -> tuple[str, ...]:
        """The workload's senders when it names none: every user with a client host and an MSA."""
        return tuple(u.address for u in self.users if u.client is not None and self.msa_for(u) is not None)

    def queue_for(self, host: str) -> QueueSpec:
        """The queue parameters of the server on *host*."""
        return self.server(host).queue or self.queue

    def user(self, address: str) -> UserSpec | None:
        """The user with *address* (case-insensitive domain), or None."""
        local, _, dom = address.rpartition("@")
        for u in self.users:
            ul, _, ud = u.address.rpartition("@")
            if ul == local and ud.lower() == dom.lower():
                return u
        return None


def _hosts(topology: Topology) -> dict[str, str]:
    return {n.name: n.role for n in topology.nodes}


def _known(name: str | None, hosts: Iterable[str], where: str) -> None:
    if name is not None and name not in hosts:
        from netlab.experiment.registry import did_you_mean

        raise TopologyError(f"{where}: unknown host {name!r}" + did_you_mean(name, hosts))


def validate_mail(mail: MailSpec, topology: Topology) -> None:
    """Check *mail* against *topology*: hosts exist, addresses parse, domains are known, every user has a
    mailbox, MX records point at hosts that run an MTA, the DNS zone is consistent (no CNAME loops).

    Raises
    ------
    ConfigError
        (or TopologyError) naming the key at fault, e.g. ``mail.users[2].address``.
    """
    from netlab.mail.address import parse_address

    hosts = _hosts(topology)
    _known(mail.dns_server, hosts, "mail.dns_server")
    seen: set[str] = set()
    for i, s in enumerate(mail.servers):
        where = f"mail.servers[{i}]"
        _known(s.host, hosts, f"{where}.host")
        if s.host in seen:
            raise ConfigError(f"{where}.host: a second server on {s.host!r} (one per host)")
        seen.add(s.host)
        for key in ("domains", "relay_domains"):
            for j, d in enumerate(getattr(s, key)):
                if mail.domain(d) is None:
                    raise ConfigError(f"{where}.{key}[{j}]: unknown domain {d!r} (not in mail.domains)")
        if s.domains and s.role == "relay":
            raise ConfigError(f"{where}.domains: a relay is final destination for nothing; use role mx")
        for j, t in enumerate(s.trusted):
            _known(t, hosts, f"{where}.trusted[{j}]")
        if s.smarthost is not None:
            _known(s.smarthost, hosts, f"{where}.smarthost")
            if s.smarthost not in {x.host for x in mail.servers}:
                raise ConfigError(f"{where}.smarthost: {s.smarthost!r} runs no mail server")
            if s.smarthost == s.host:
                raise ConfigError(f"{where}.smarthost: a server cannot relay through itself")
    servers = {s.host for s in mail.servers}
    names = set()
    for i, d in enumerate(mail.domains):
        where = f"mail.domains[{i}]"
        try:
            parse_address(f"postmaster@{d.name}")
        except ConfigError as exc:
            raise ConfigError(f"{where}.name: malformed domain {d.name!r} ({exc})") from None
        if d.name.lower() in names:
            raise ConfigError(f"{where}.name: duplicate domain {d.name!r}")
        names.add(d.name.lower())
        for j, (_pref, host) in enumerate(d.mx):
            _known(host, hosts, f"{where}.mx[{j}]")
            if host not in servers:
                raise ConfigError(f"{where}.mx[{j}]: MX host {host!r} runs no mail server (MTA)")
            if mail.server(host).role == "msa":
                raise ConfigError(f"{where}.mx[{j}]: MX host {host!r} is an msa (port 587); an MX must listen on 25")
        if d.null_mx and d.mx:
            raise ConfigError(f"{where}: null_mx and mx records exclude each other")
    addrs: set[str] = set()
    for i, u in enumerate(mail.users):
        where = f"mail.users[{i}]"
        try:
            a = parse_address(u.address)
        except ConfigError as exc:
            raise ConfigError(f"{where}.address: malformed address {u.address!r} ({exc})") from None
        if not a.domain:
            raise ConfigError(f"{where}.address: expected user@domain, got {u.address!r}")
        if mail.domain(a.domain) is None:
            raise ConfigError(f"{where}.address: unknown domain {a.domain!r} (not in mail.domains)")
        if mail.mailbox_host(a.domain) is None:
            raise ConfigError(f"{where}.address: user {u.address!r} has no mailbox: no mx server lists "
                              f"{a.domain!r} in its domains")  # fmt: skip
        if str(a).lower() in addrs:
            raise ConfigError(f"{where}.address: duplicate user {u.address!r}")
        addrs.add(str(a).lower())
        _known(u.client, hosts, f"{where}.client")
        if u.fetch is not None and u.client is None:
            raise ConfigError(f"{where}.fetch: the mail program needs a client host (set client)")
        if u.client is not None:
            msa = mail.msa_for(u)
            # A mail program that only fetches (its domain has no MSA) is fine; one that sends needs an MSA.
            if msa is None and u.fetch is None:
                raise ConfigError(f"{where}: no msa serves {a.domain!r}; give the user an msa")
            if msa is not None and (msa not in servers or mail.server(msa).role != "msa"):
                raise ConfigError(f"{where}.msa: {msa!r} is not an msa server")
        for j, other in enumerate(u.may_send_as):
            try:
                parse_address(other)
            except ConfigError as exc:
                raise ConfigError(f"{where}.may_send_as[{j}]: malformed address {other!r} ({exc})") from None
    for i, m in enumerate(mail.send):
        where = f"mail.send[{i}]"
        for key, value in [("from", m.sender), *((f"to[{j}]", t) for j, t in enumerate(m.to))]:
            try:
                parse_address(value, default_domain="localhost")
            except ConfigError as exc:
                raise ConfigError(f"{where}.{key}: malformed address {value!r} ({exc})") from None
        if not m.to:
            raise ConfigError(f"{where}.to: at least one recipient")
        user = mail.user(m.sender) if "@" in m.sender else None
        if user is None or user.client is None:
            raise ConfigError(f"{where}.from: {m.sender!r} is not a user with a client host")
        if mail.msa_for(user) is None:
            raise ConfigError(f"{where}.from: no msa serves {m.sender!r}; give the user an msa")
    if mail.workload is not None:
        w = mail.workload
        for key in ("senders", "recipients"):
            for j, addr in enumerate(getattr(w, key)):
                if mail.user(addr) is None:
                    raise ConfigError(f"mail.workload.{key}[{j}]: unknown user {addr!r}")
        senders = w.senders or mail.default_senders()
        for s in senders:
            u = mail.user(s)
            if u is None or u.client is None or mail.msa_for(u) is None:
                raise ConfigError(f"mail.workload.senders: {s!r} cannot send: every sender needs a client host "
                                  "and an msa")  # fmt: skip
        if not senders or not (w.recipients or mail.users):
            raise ConfigError("mail.workload: needs at least one sender with a client and one recipient")
    zone_records(mail, topology)  # builds and validates the zone (CNAME loops, MX targets without A)


def zone_records(mail: MailSpec, topology: Topology) -> object:
    """The DNS zone of *mail*: an A record per server (its fqdn), the domains' MX records, the extra records;
    validated by :func:`netlab.mail.dns.build_zones` (returns its ``ZoneSet``)."""
    from netlab.mail.dns import Record, build_zones
    from netlab.network.network import assign_ips

    ips = assign_ips(topology)
    ttl = mail.dns_ttl_s
    recs = [Record(s.fqdn, "A", ips[s.host], ttl) for s in mail.servers]  # type: ignore[arg-type]
    for d in mail.domains:
        if d.null_mx:
            recs.append(Record(d.name, "MX", ".", ttl, 0))
        for pref, host in d.mx:
            recs.append(Record(d.name, "MX", mail.server(host).fqdn, ttl, pref))  # type: ignore[arg-type]
    for r in mail.records:
        recs.append(Record(r.name, r.type.upper(), r.value, r.ttl_s if r.ttl_s is not None else ttl, r.preference))
    by_fqdn = {s.fqdn: s.host for s in mail.servers}
    by_ip = {ips[s.host] for s in mail.servers}
    for i, r in enumerate(mail.records):
        if r.type.upper() == "MX" and r.value not in (".", "") and r.value.lower().rstrip(".") not in by_fqdn:
            targets = [x for x in mail.records if x.type.upper() == "A" and x.name.lower() == r.value.lower()]
            if targets and not any(t.value in by_ip for t in targets):
                raise ConfigError(f"mail.records[{i}]: MX target {r.value!r} is a host that runs no mail server")
    try:
        return build_zones(recs)
    except ConfigError as exc:
        raise ConfigError(f"mail DNS zone: {exc}") from None


"""The mail infrastructure in a scenario's ``mail:`` section: servers (role, domains, relaying rules, checks), their
queue parameters, the mail domains with their MX records, and extra DNS records.

Frozen values whose field metadata drives the YAML format and the reference page; each checks its own fields when
made (a ConfigError naming the key). :mod:`~netlab.mail.config` re-exports them with the rest of the section.

>>> ServerSpec("mx1", domains=("b.test",)).fqdn, ServerSpec("msa", role="msa").port
('mx1.b.test', 587)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from netlab.errors import ConfigError
from netlab.mail.content.address import is_dns_name
from netlab.options import Choice, key_aliases
from netlab.topology.spec import option

__all__ = [
    "ROLES",
    "BlocklistSpec",
    "DkimRotationSpec",
    "DmarcMode",
    "DnsblAction",
    "DomainSpec",
    "QueueSpec",
    "QuotaAction",
    "RecordSpec",
    "RelayRefusal",
    "ServerRole",
    "ServerSpec",
    "SpamAction",
    "SpfAction",
    "dnsbl_sites",
]  # fmt: skip


class ServerRole(Choice):
    """What a mail server does (``role:``); compares equal to its name (``spec.role == "mx"``)."""

    MSA = "msa"  # takes authenticated submissions on 587
    MX = "mx"  # final destination for its domains on 25, and the inbox server of their users (POP3 110, IMAP 143)
    RELAY = "relay"  # passes mail on (smarthost, backup MX) on 25


#: The role names, as ``role:`` takes them.
ROLES = tuple(r.value for r in ServerRole)


class SpamAction(Choice):
    """What a server does with mail its spam filter scores as spam (``spam_action:``)."""

    REJECT = "reject"  # 550 5.7.1 at the end of DATA
    TAG = "tag"  # accept, with an X-Spam-Status header for the recipient's filters
    OFF = "off"  # do not score


class RelayRefusal(Choice):
    """How a server refuses to relay for an unauthenticated client (``relay_refusal:``)."""

    REJECT = "reject"  # 554 5.7.1: for good
    DEFER = "defer"  # 454 4.7.1: try later


class QuotaAction(Choice):
    """What an mx answers for a mailbox over its quota (``quota_action:``)."""

    DEFER = "defer"  # 452 4.2.2: the sending MTA retries from its queue
    BOUNCE = "bounce"  # 552 5.2.2: bounce now


class SpfAction(Choice):
    """What a server does with SPF (``spf:``), as policyd-spf."""

    OFF = "off"  # no check
    TAG = "tag"  # check and record (Received-SPF), refuse nothing
    REJECT = "reject"  # 550 5.7.23 on fail


class DmarcMode(Choice):
    """What a server does with DMARC (``dmarc:``), as OpenDMARC."""

    OFF = "off"
    MONITOR = "monitor"  # judge and report, act on nothing
    ENFORCE = "enforce"  # apply the domain's policy: reject or quarantine


class DnsblAction(Choice):
    """What a server answers a client its blocklists name (``dnsbl_action:``)."""

    REJECT = "reject"  # 554 5.7.1 (maps_rbl_reject_code)
    DEFER = "defer"  # 450: the sender keeps the mail and retries


@key_aliases
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


@key_aliases
@dataclass(frozen=True, slots=True)
class ServerSpec:
    """A mail server on a host: its role, the domains it serves, relaying rules, checks and queue."""

    host: str = option(doc="the node running it")
    role: ServerRole | str = option(ServerRole.MX, doc="msa (587, AUTH), mx (25, final destination) or relay (25)")
    domains: tuple[str, ...] = option((), doc="mx: domains delivered to the local mailbox; msa: domains whose "
                                      "users submit here")  # fmt: skip
    relay_domains: tuple[str, ...] = option((), doc="domains accepted from anyone and passed on (backup MX)")
    trusted: tuple[str, ...] = option((), doc="client hosts allowed to relay anywhere (mynetworks)")
    smarthost: str | None = option(None, doc="send all non-local mail through this server host")
    fqdn: str | None = option(None, doc="host name in DNS and HELO; default <host>.<first domain>")
    size_limit_bytes: int = option(10240000, key="size_limit", unit="size", doc="message_size_limit")
    hop_limit: int = option(50, doc="Received: headers beyond which mail is refused (554 5.4.0)")
    spam_action: SpamAction | str | None = option(
        None, doc="reject, tag or off; default reject on msa (outbound), tag on mx"
    )
    relay_refusal: RelayRefusal | str = option(
        RelayRefusal.REJECT,
        doc="foreign domain from an unauthenticated client: reject (554 5.7.1) or defer (454 4.7.1)",
    )
    queue: QueueSpec | None = option(None, doc="overrides mail.queue for this server")
    quota_bytes: int | None = option(None, key="quota", unit="size", doc="mx: octets each user's mailbox may hold "
                                     "(none: no limit)")  # fmt: skip
    quota_action: QuotaAction | str = option(
        QuotaAction.DEFER, doc="mx, mailbox over quota: defer (452 4.2.2, retried) or bounce (552 5.2.2)"
    )
    dkim_sign: tuple[str, ...] = option((), doc="DKIM-sign (RFC 6376) mail whose From: domain is one of these, "
                                        "as OpenDKIM; the keys are published in DNS")  # fmt: skip
    dkim_verify: bool = option(False, doc="verify DKIM signatures of arriving mail (Authentication-Results header)")
    starttls: bool = option(False, doc="offer STARTTLS (RFC 3207); clients that see it start TLS 1.3 first: "
                            "one round trip and the handshake's bytes, then 22 octets per record")  # fmt: skip
    footer: str | None = option(None, doc="text appended to the body of every message passing through (a list "
                                "server's footer; it breaks DKIM signatures made before)")  # fmt: skip
    dmarc: DmarcMode | str = option(
        DmarcMode.OFF,
        doc="DMARC (RFC 7489) of arriving mail, as OpenDMARC: off, monitor (judge and "
        "report) or enforce (the domain's policy: reject 550 5.7.1, quarantine); needs spf and "
        "dkim_verify",
    )
    greylist: bool = option(False, doc="greylist at RCPT as postgrey does: a new (client /24, sender, recipient) "
                            "is deferred 450 4.2.0 until retried after greylist_delay")  # fmt: skip
    greylist_delay_s: float = option(300.0, key="greylist_delay", unit="time", doc="postgrey --delay")
    greylist_retry_window_s: float = option(172800.0, key="greylist_retry_window", unit="time",
                                            doc="postgrey --retry-window: a later first retry starts over")  # fmt: skip
    greylist_max_age_s: float = option(3024000.0, key="greylist_max_age", unit="time",
                                       doc="postgrey --max-age: a triplet unseen this long is forgotten")  # fmt: skip
    greylist_awl: int = option(5, doc="postgrey --auto-whitelist-clients: passes after which a client is no longer "
                               "greylisted (0: never)")  # fmt: skip
    connection_count_limit: int = option(0, doc="anvil: simultaneous connections per client address, 421 4.7.0 "
                                         "beyond (Postfix's default is 50; 0: no limit)")  # fmt: skip
    connection_rate_limit: int = option(0, doc="anvil: connections per client address per anvil_rate_time_unit, "
                                        "421 4.7.0 beyond (0: no limit)")  # fmt: skip
    anvil_rate_time_unit_s: float = option(60.0, key="anvil_rate_time_unit", unit="time",
                                           doc="the time unit of connection_rate_limit")  # fmt: skip
    dnsbl: tuple[str, ...] = option((), doc="DNS blocklists consulted at RCPT (reject_rbl_client): zone names, "
                                    "each optionally *weight as postscreen_dnsbl_sites (zone*2)")  # fmt: skip
    dnsbl_action: DnsblAction | str = option(
        DnsblAction.REJECT,
        doc="a listed client: reject (554 5.7.1, maps_rbl_reject_code) or defer (450 4.7.1: the sender retries)",
    )
    dnsbl_threshold: int = option(1, doc="sum of the weights of the lists naming a client at which it is refused "
                                  "(554 5.7.1), as postscreen_dnsbl_threshold")  # fmt: skip
    spf: SpfAction | str = option(
        SpfAction.OFF,
        doc="SPF check (RFC 7208) of HELO and MAIL FROM at RCPT time, as policyd-spf: off, "
        "tag (Received-SPF header) or reject (550 5.7.23 on fail)",
    )

    def __post_init__(self) -> None:
        # The choices as their enums, whether given as members or as the scenario file's strings.
        where = f"server {self.host}"
        object.__setattr__(self, "role", ServerRole.parse(self.role, f"{where}: role"))
        if self.spam_action is not None:
            object.__setattr__(self, "spam_action", SpamAction.parse(self.spam_action, f"{where}: spam_action"))
        object.__setattr__(self, "relay_refusal", RelayRefusal.parse(self.relay_refusal, f"{where}: relay_refusal"))
        object.__setattr__(self, "quota_action", QuotaAction.parse(self.quota_action, f"{where}: quota_action"))
        object.__setattr__(self, "dmarc", DmarcMode.parse(self.dmarc, f"{where}: dmarc"))
        object.__setattr__(self, "dnsbl_action", DnsblAction.parse(self.dnsbl_action, f"{where}: dnsbl_action"))
        object.__setattr__(self, "spf", SpfAction.parse(self.spf, f"{where}: spf"))
        object.__setattr__(self, "domains", tuple(self.domains))
        object.__setattr__(self, "relay_domains", tuple(self.relay_domains))
        object.__setattr__(self, "trusted", tuple(self.trusted))
        object.__setattr__(self, "dkim_sign", tuple(d.lower() for d in self.dkim_sign))
        object.__setattr__(self, "dnsbl", tuple(self.dnsbl))
        for entry in self.dnsbl:
            zone, star, weight = str(entry).partition("*")
            if not zone or (star and not re.fullmatch(r"-?[0-9]+", weight)):  # isdigit() takes "²"
                raise ConfigError(f"server {self.host}: dnsbl entry {entry!r}: expected zone or zone*weight "
                                  "(a whole number)")  # fmt: skip
        if isinstance(self.dnsbl_threshold, bool) or not isinstance(self.dnsbl_threshold, int):
            raise ConfigError(
                f"server {self.host}: dnsbl_threshold must be a whole number, got {self.dnsbl_threshold!r}"
            )
        if self.fqdn is None:
            zone = (self.domains or self.relay_domains or ("net.test",))[0]
            object.__setattr__(self, "fqdn", f"{self.host}.{zone}".lower())
        if self.hop_limit < 1 or self.size_limit_bytes < 0:
            raise ConfigError(f"server {self.host}: hop_limit must be >= 1 and size_limit >= 0")
        for name in ("greylist_delay_s", "greylist_retry_window_s", "greylist_max_age_s"):
            v = getattr(self, name)
            if not (v >= 0 and math.isfinite(v)):
                raise ConfigError(f"server {self.host}: {name.removesuffix('_s')} must be a time >= 0, got {v!r}")
        if isinstance(self.greylist_awl, bool) or not isinstance(self.greylist_awl, int) or self.greylist_awl < 0:
            raise ConfigError(
                f"server {self.host}: greylist_awl must be a whole number >= 0, got {self.greylist_awl!r}"
            )
        for name in ("connection_count_limit", "connection_rate_limit"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(f"server {self.host}: {name} must be a whole number >= 0, got {v!r}")
        if not (self.anvil_rate_time_unit_s > 0 and math.isfinite(self.anvil_rate_time_unit_s)):
            raise ConfigError(f"server {self.host}: anvil_rate_time_unit must be a positive time")
        if self.quota_bytes is not None and self.quota_bytes < 0:
            raise ConfigError(f"server {self.host}: quota must be >= 0")

    @property
    def port(self) -> int:
        """587 for an MSA, 25 otherwise."""
        return 587 if self.role == ServerRole.MSA else 25

    @property
    def spam(self) -> SpamAction:
        """The effective spam action: ``spam_action``, else reject on an MSA (outbound), tag on an mx, off."""
        return SpamAction(self.spam_action or _DEFAULT_SPAM.get(self.role, SpamAction.OFF))


_DEFAULT_SPAM: dict[str, SpamAction] = {ServerRole.MSA: SpamAction.REJECT, ServerRole.MX: SpamAction.TAG}


@key_aliases
@dataclass(frozen=True, slots=True)
class RecordSpec:
    """An extra DNS record (A, MX, TXT or CNAME); servers' A and domains' MX records are made automatically."""

    name: str = option(doc="owner name")
    type: str = option("A", doc="A, MX, TXT or CNAME")
    value: str = option("", doc="address, target name or text ('.' for a null MX)")
    ttl_s: float | None = option(None, key="ttl", unit="time", doc="default mail.dns_ttl")
    preference: int | None = option(None, doc="MX preference")
    from_s: float = option(0.0, key="from", unit="time", doc="the record exists from this time (a change in DNS)")
    until_s: float | None = option(None, key="until", unit="time", doc="and until this time (none: to the end)")

    def __post_init__(self) -> None:
        _check_window(self.from_s, self.until_s, f"record {self.name}")


@key_aliases
@dataclass(frozen=True, slots=True)
class BlocklistSpec:
    """A DNS blocklist zone (RFC 5782) served by the scenario's DNS server: ``A 127.0.0.2`` and a TXT reason at
    ``<reversed IPv4>.<zone>`` for each listed host, and the test entry ``2.0.0.127.<zone>`` every list must carry."""

    zone: str = option(doc="the list's zone, e.g. bl.example")
    listed: tuple[str, ...] = option((), doc="hosts (node names) or IPv4 addresses on the list")
    reason: str = option("Listed", doc="the TXT text of each entry")
    ttl_s: float | None = option(None, key="ttl", unit="time", doc="default mail.dns_ttl")
    from_s: float = option(0.0, key="from", unit="time", doc="the hosts are listed from this time")
    until_s: float | None = option(None, key="until", unit="time", doc="and until this time (none: to the end)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "listed", tuple(self.listed))
        _check_window(self.from_s, self.until_s, f"blocklist {self.zone}")


@key_aliases
@dataclass(frozen=True, slots=True)
class DkimRotationSpec:
    """A DKIM key rotation: from *at* the domain's signers use a new key (made from the run's seed), published in DNS
    from *publish* under *selector* (the same selector: the new key replaces the old record, as a rotation in place)."""

    domain: str = option(doc="the signing domain")
    at_s: float = option(key="at", unit="time", doc="signers switch to the new key")
    selector: str | None = option(None, doc="the new key's selector (default: the one in use, replaced in place)")
    publish_s: float | None = option(None, key="publish", unit="time", doc="the new key is in DNS from this time "
                                     "(default: at)")  # fmt: skip

    def __post_init__(self) -> None:
        if self.selector is not None and not (isinstance(self.selector, str) and is_dns_name(self.selector)):
            raise ConfigError(f"dkim_rotations {self.domain}: selector: expected a DNS name (letters, digits, "
                              f"hyphens, dots), got {self.selector!r:.80}")  # fmt: skip
        _check_window(self.at_s, None, f"dkim_rotations {self.domain}")
        if self.publish_s is not None:
            _check_window(self.publish_s, None, f"dkim_rotations {self.domain}")
            if self.publish_s > self.at_s:
                raise ConfigError(f"dkim_rotations {self.domain}: publish must not come after at")


def _check_window(start: float, end: float | None, where: str) -> None:
    if isinstance(start, bool) or not isinstance(start, int | float) or not (start >= 0 and math.isfinite(start)):
        raise ConfigError(f"{where}: from must be a time >= 0, got {start!r}")
    if end is not None and not (isinstance(end, int | float) and math.isfinite(end) and end > start):
        raise ConfigError(f"{where}: until must be a time after from, got {end!r}")


def dnsbl_sites(entries: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``("bl.example*2", "other.example")`` -> ``(("bl.example", 2), ("other.example", 1))``."""
    out = []
    for entry in entries:
        zone, _, weight = entry.partition("*")
        out.append((zone.lower().rstrip("."), int(weight) if weight else 1))
    return tuple(out)
